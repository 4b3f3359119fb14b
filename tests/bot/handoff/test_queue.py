"""The handoff queue: order (priority, then arrival), places, wait estimates and presence."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.handoff.models import Agent, Conversation, State
from bot.handoff.queue import HandoffQueue, Presence, waiting_seconds
from bot.handoff.store import GatewayStore

HANDLE_S = 240.0  # four minutes per conversation until measured


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GatewayStore]:
    built = GatewayStore(tmp_path / "gw.db")
    yield built
    built.close()


@pytest.fixture
def presence() -> Presence:
    return Presence()


@pytest.fixture
def queue(store: GatewayStore, presence: Presence) -> HandoffQueue:
    return HandoffQueue(store, presence, HANDLE_S)


def agent(agent_id: int, *departments: str) -> Agent:
    return Agent(agent_id, f"agent{agent_id}", f"Agente {agent_id}", "agent", departments)


def enqueue(
    store: GatewayStore,
    conversation_id: str,
    department: str = "sales",
    priority: str = "normal",
    queued_at: float = 0.0,
) -> Conversation:
    store.create_conversation(Conversation(conversation_id, "webchat", State.BOT, 0.0), "t")
    conversation = store.conversation(conversation_id)
    conversation.state, conversation.department = State.QUEUED, department
    conversation.priority, conversation.queued_at = priority, queued_at
    store.save(conversation)
    return conversation


def held_by(store: GatewayStore, conversation_id: str, agent_id: int) -> None:
    store.create_conversation(Conversation(conversation_id, "webchat", State.BOT, 0.0), "t")
    conversation = store.conversation(conversation_id)
    conversation.state, conversation.agent_id, conversation.department = State.AGENT, agent_id, "x"
    store.save(conversation)


def test_high_priority_goes_ahead_of_earlier_normal_ones(store: GatewayStore, queue: HandoffQueue):
    enqueue(store, "first", queued_at=1.0)
    enqueue(store, "second", queued_at=2.0)
    enqueue(store, "angry", priority="high", queued_at=3.0)
    enqueue(store, "angrier-later", priority="high", queued_at=4.0)

    assert [c.id for c in queue.waiting("sales")] == ["angry", "angrier-later", "first", "second"]
    # the places (read lightly, ordered by the database) follow the same order
    places = queue.places("sales")
    assert list(places) == ["angry", "angrier-later", "first", "second"]
    assert [place.position for place in places.values()] == [1, 2, 3, 4]


def test_waiting_filters_by_department(store: GatewayStore, queue: HandoffQueue):
    enqueue(store, "s1", "sales", queued_at=1.0)
    enqueue(store, "c1", "complaints", queued_at=2.0)

    assert [c.id for c in queue.waiting("complaints")] == ["c1"]
    assert [c.id for c in queue.waiting()] == ["s1", "c1"]


def test_place_counts_only_the_same_department(store: GatewayStore, queue: HandoffQueue):
    enqueue(store, "c1", "complaints", queued_at=1.0)
    enqueue(store, "s1", "sales", queued_at=2.0)
    second = enqueue(store, "s2", "sales", queued_at=3.0)

    place = queue.place(second)

    assert (place.department, place.position, place.ahead) == ("sales", 2, 1)


def test_no_place_outside_the_queue(store: GatewayStore, queue: HandoffQueue):
    store.create_conversation(Conversation("c1", "webchat", State.BOT, 0.0), "t")

    assert queue.place(store.conversation("c1")) is None


def test_nobody_online_means_no_estimate(store: GatewayStore, queue: HandoffQueue):
    place = queue.place(enqueue(store, "c1"))

    assert place.wait_minutes is None and place.agents_online == 0


def test_an_agent_of_another_department_does_not_count(
    store: GatewayStore, queue: HandoffQueue, presence: Presence
):
    presence.arrive(agent(1, "complaints"))

    place = queue.place(enqueue(store, "c1", "sales"))

    assert place.wait_minutes is None and place.agents_online == 0


def test_a_free_agent_takes_the_first_in_about_a_minute(
    store: GatewayStore, queue: HandoffQueue, presence: Presence
):
    presence.arrive(agent(1))  # no departments: serves all

    place = queue.place(enqueue(store, "c1"))

    assert place.wait_minutes == 1 and place.agents_online == 1


def test_the_estimate_grows_with_busy_agents_and_position(
    store: GatewayStore, queue: HandoffQueue, presence: Presence
):
    presence.arrive(agent(1, "sales"))
    presence.arrive(agent(2, "sales"))
    held_by(store, "busy-1", 1)
    held_by(store, "busy-2", 2)
    enqueue(store, "c1", queued_at=1.0)
    enqueue(store, "c2", queued_at=2.0)
    third = enqueue(store, "c3", queued_at=3.0)

    # 3 waiting, no agent free, 2 agents, 4 minutes each: 3 × 4 / 2 = 6 minutes
    assert queue.place(third).wait_minutes == 6


def test_measured_handling_times_replace_the_default_after_three(
    store: GatewayStore, queue: HandoffQueue
):
    store.record_handle_time("sales", 600.0)
    store.record_handle_time("sales", 600.0)
    assert queue.handle_time_s("sales") == HANDLE_S

    store.record_handle_time("sales", 900.0)
    assert queue.handle_time_s("sales") == pytest.approx(700.0)
    assert queue.handle_time_s("complaints") == HANDLE_S


def test_presence_counts_each_open_desk(presence: Presence):
    lucia = agent(1, "sales")
    presence.arrive(lucia)
    presence.arrive(lucia)  # a second tab

    presence.leave(lucia)
    assert presence.is_online(1) and presence.online("sales") == [lucia]

    presence.leave(lucia)
    assert not presence.is_online(1) and presence.online() == []


def test_presence_online_by_department(presence: Presence):
    sales, everything = agent(1, "sales"), agent(2)
    presence.arrive(sales)
    presence.arrive(everything)

    assert presence.online("complaints") == [everything]
    assert presence.online("sales") == [sales, everything]


def test_waiting_seconds_counts_from_joining_the_queue():
    now = time.time()
    queued = Conversation("c1", "webchat", State.QUEUED, now - 100, queued_at=now - 30)

    assert 29 <= waiting_seconds(queued) <= 31
