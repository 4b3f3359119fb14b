"""The handoff queue: who is waiting for which department, their place and the expected wait.

Order within a department: high priority first (frustration, complaints, errors), then by the
time they joined. The estimate assumes each busy agent frees up once per average handling time:
`(position - free agents) × handling time / agents online`, at least one minute.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

from bot.handoff.models import Agent, Conversation, State
from bot.handoff.store import GatewayStore

MIN_SAMPLES = 3  # finished conversations needed before measured handling times replace the default


@dataclass(frozen=True)
class QueuePlace:
    """A waiting conversation's place, as the customer is told it.

    Attributes:
        wait_minutes: expected wait; None when nobody who serves the department is online.
    """

    department: str
    position: int
    wait_minutes: int | None
    agents_online: int

    @property
    def ahead(self) -> int:
        return self.position - 1


class Presence:
    """Agents with the desk open (one count per open desk socket)."""

    def __init__(self) -> None:
        self._sockets: Counter[int] = Counter()
        self._agents: dict[int, Agent] = {}

    def arrive(self, agent: Agent) -> None:
        self._sockets[agent.id] += 1
        self._agents[agent.id] = agent

    def leave(self, agent: Agent) -> None:
        self._sockets[agent.id] -= 1
        if self._sockets[agent.id] <= 0:
            del self._sockets[agent.id]
            self._agents.pop(agent.id, None)

    def online(self, department: str | None = None) -> list[Agent]:
        agents = self._agents.values()
        return [a for a in agents if department is None or a.serves(department)]

    def is_online(self, agent_id: int) -> bool:
        return agent_id in self._agents


class HandoffQueue:
    """Reads the queue from the store and estimates waits.

    Args:
        store: where queued conversations live.
        presence: who is online.
        default_handle_s: handling time assumed until enough conversations were measured.
    """

    def __init__(self, store: GatewayStore, presence: Presence, default_handle_s: float) -> None:
        self._store = store
        self._presence = presence
        self._default_handle_s = default_handle_s

    def waiting(self, department: str | None = None) -> list[Conversation]:
        queued = self._store.in_state(State.QUEUED)
        if department is not None:
            queued = [c for c in queued if c.department == department]
        return sorted(queued, key=lambda c: (not c.high_priority, c.queued_at or 0.0))

    def place(self, conversation: Conversation) -> QueuePlace | None:
        if conversation.state != State.QUEUED or conversation.department is None:
            return None
        return self.places(conversation.department).get(conversation.id)

    def places(self, department: str | None = None) -> dict[str, QueuePlace]:
        """Every waiting conversation's place (of one department, or all) in queue order, from
        one light read of the queue: announcing a change to n customers costs one pass, not n."""
        lines: dict[str, list[str]] = {}
        for conversation_id, line_department in self._store.queue_order():
            if department is None or line_department == department:
                lines.setdefault(line_department or "", []).append(conversation_id)
        busy = self._store.busy_agent_ids()
        places = {}
        for line_department, line in lines.items():
            online = self._presence.online(line_department)
            free = sum(1 for agent in online if agent.id not in busy)
            handle_s = self.handle_time_s(line_department) if online else 0.0
            for position, conversation_id in enumerate(line, start=1):
                wait = _estimate(position, free, len(online), handle_s)
                places[conversation_id] = QueuePlace(line_department, position, wait, len(online))
        return places

    def handle_time_s(self, department: str | None) -> float:
        measured = self._store.recent_handle_times(department)
        if len(measured) < MIN_SAMPLES:
            return self._default_handle_s
        return sum(measured) / len(measured)


def _estimate(position: int, free: int, online: int, handle_s: float) -> int | None:
    """Minutes until a person takes the conversation at `position`; None with nobody online."""
    if not online:
        return None
    if position <= free:
        return 1
    return max(1, math.ceil((position - free) * handle_s / online / 60))


def waiting_seconds(conversation: Conversation) -> int:
    return int(time.time() - (conversation.queued_at or conversation.created_at))
