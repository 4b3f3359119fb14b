"""Which agents have the desk open, across every gateway (BOT_REDIS_URL): queue places,
estimated waits and the supervisor's figures count the same agents whichever gateway computes
them.

Each gateway keeps its own desks as `Presence` does and mirrors them into a Redis hash of its
own that expires unless refreshed (`keep_alive`), so the agents of a gateway that died stop
counting within `TTL_S`. Reading the union costs two round trips to Redis (a scan, then every
hash in one pipeline), done afresh each time so that no gateway counts an agent who just
left; while Redis is away a gateway counts only its own desks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any

from redis.exceptions import RedisError

from bot.handoff.models import Agent
from bot.handoff.queue import Presence

logger = logging.getLogger(__name__)

PREFIX = "contact-bot:presence:"
TTL_S = 15  # a dead gateway's agents stop counting after this
REFRESH_S = 5.0


class SharedPresence(Presence):
    """Presence of the agents of every gateway.

    Args:
        client: a Redis client with short timeouts (`redis.Redis`).
    """

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client
        self._key = PREFIX + uuid.uuid4().hex
        self._retry_at = 0.0

    def arrive(self, agent: Agent) -> None:
        super().arrive(agent)
        self._mirror()

    def leave(self, agent: Agent) -> None:
        super().leave(agent)
        self._mirror()

    def online(self, department: str | None = None) -> list[Agent]:
        agents = self._everyone().values()
        return [a for a in agents if department is None or a.serves(department)]

    def is_online(self, agent_id: int) -> bool:
        return agent_id in self._everyone()

    async def keep_alive(self) -> None:
        """Refreshes this gateway's entry while the gateway runs."""
        while True:
            self._mirror()
            await asyncio.sleep(REFRESH_S)

    def _mirror(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        here = {str(agent.id): json.dumps(agent.to_json()) for agent in super().online()}
        try:
            with self._client.pipeline() as pipe:
                pipe.delete(self._key)
                if here:
                    pipe.hset(self._key, mapping=here)
                    pipe.expire(self._key, TTL_S)
                pipe.execute()
        except RedisError as error:
            self._unavailable(error)

    def _everyone(self) -> dict[int, Agent]:
        here = {agent.id: agent for agent in super().online()}
        if time.monotonic() < self._retry_at:
            return here
        try:
            keys = list(self._client.scan_iter(match=PREFIX + "*", count=1000))
            with self._client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(key)
                gateways = pipe.execute()
        except RedisError as error:
            self._unavailable(error)
            return here
        everyone = dict(here)
        for agents in gateways:
            for raw in agents.values():
                agent = _agent(json.loads(raw))
                everyone[agent.id] = agent
        return everyone

    def _unavailable(self, error: RedisError) -> None:
        logger.warning("presence.shared_unavailable error=%s (counting this gateway's desks)",
                       error)  # fmt: skip
        self._retry_at = time.monotonic() + REFRESH_S


def _agent(data: dict[str, Any]) -> Agent:
    return Agent(data["id"], data["username"], data["name"], data["role"],
                 tuple(data["departments"]))  # fmt: skip
