"""Live events between gateways, over Redis pub/sub (BOT_REDIS_URL).

Every gateway publishes what its hub delivers and subscribes to what the others publish, so a
customer's page on one gateway and the agent's desk on another see the same conversation.
Publishing never blocks a request: events wait in a bounded outbox that a task empties. Redis
holds no truth (the database does): when Redis is away the events of that moment are dropped,
each gateway keeps serving its own subscribers, and once Redis is back every page and desk on
this gateway is sent a fresh snapshot (`on_resumed`), so nothing said is missing from them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot import metrics

logger = logging.getLogger(__name__)

CHANNEL = "contact-bot:events"
RECONNECT_S = 0.5  # how soon a lost connection to Redis is tried again
STOP_WAIT_S = 2.0
MAX_OUTBOX = 10_000  # events waiting to be published; beyond, the oldest are dropped


class RedisRelay:
    """Carries hub events to and from the other gateways.

    Args:
        url: redis://host:port/db.
        on_event: called with each envelope another gateway published.
        on_resumed: called when the subscription is back after Redis was away.
    """

    def __init__(
        self,
        url: str,
        on_event: Callable[[dict[str, Any]], None],
        on_resumed: Callable[[], None] = lambda: None,
    ) -> None:
        self.url = url
        self.origin = uuid.uuid4().hex  # our own events come back too: recognised by this
        self._on_event = on_event
        self._on_resumed = on_resumed
        self._outbox: asyncio.Queue[str] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()
        self._stopping = False

    def publish(self, envelope: dict[str, Any]) -> None:
        if self._outbox is None:  # not started (a command, a test without a loop)
            return
        if self._outbox.full():
            self._outbox.get_nowait()
            metrics.ERRORS.labels("relay_dropped").inc()
        self._outbox.put_nowait(json.dumps({**envelope, "origin": self.origin}))

    async def start(self) -> None:
        self._outbox = asyncio.Queue(MAX_OUTBOX)
        self._tasks = [
            asyncio.create_task(self._publishing(), name="relay-publish"),
            asyncio.create_task(self._subscribing(), name="relay-subscribe"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        _, pending = await asyncio.wait(self._tasks, timeout=STOP_WAIT_S)
        for task in pending:  # the Redis client may swallow one cancellation mid-command
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=STOP_WAIT_S)
        self._tasks = []

    @property
    def connected(self) -> bool:
        return self.subscribed.is_set()

    async def _publishing(self) -> None:
        assert self._outbox is not None
        client = aioredis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)
        try:
            while not self._stopping:
                message = await self._outbox.get()
                try:
                    await client.publish(CHANNEL, message)
                except (RedisError, OSError) as error:
                    # live updates of this moment are lost; the snapshot at resumption mends them
                    metrics.ERRORS.labels("relay_dropped").inc()
                    logger.warning("relay.publish_failed error=%s", error)
                    await asyncio.sleep(RECONNECT_S)
        finally:
            await client.close()

    async def _subscribing(self) -> None:
        was_down = False
        while not self._stopping:
            client = aioredis.from_url(self.url, socket_connect_timeout=1)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    self.subscribed.set()
                    if was_down:
                        logger.info("relay.resumed")
                        self._on_resumed()
                        was_down = False
                    async for message in pubsub.listen():
                        self._receive(message)
            except (RedisError, OSError) as error:
                if not was_down:
                    logger.warning("relay.unavailable error=%s (live updates stay on this "
                                   "gateway until Redis is back)", error)  # fmt: skip
                was_down = True
            finally:
                self.subscribed.clear()
                with contextlib.suppress(RedisError, OSError):
                    await client.close()
            await asyncio.sleep(RECONNECT_S)

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return
        try:
            envelope = json.loads(message["data"])
        except (TypeError, ValueError):
            logger.warning("relay.malformed_event")
            return
        if envelope.get("origin") == self.origin:
            return
        try:
            self._on_event(envelope)
        except Exception:  # one bad event must not stop the relay
            logger.exception("relay.delivery_failed")
