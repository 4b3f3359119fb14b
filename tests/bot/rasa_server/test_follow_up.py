"""Follow-ups read in the context of the previous question (the Rasa channels' step)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bot.rasa_server.follow_up import FollowUp, as_follow_up, read_follow_up, shape_of


def user(intent: str | None) -> Any:
    return SimpleNamespace(type_name="user", parse_data={"intent": {"name": intent}})


def agent_with(*events: Any, form: str | None = None) -> Any:
    tracker = SimpleNamespace(events=list(events), active_loop_name=form)

    async def retrieve(sender: str) -> Any:
        return tracker

    return SimpleNamespace(tracker_store=SimpleNamespace(retrieve=retrieve))


def parsed(intent: str, confidence: float = 0.9) -> dict[str, Any]:
    return {"intent": {"name": intent, "confidence": confidence}, "entities": []}


def read(agent: Any, text: str, parse: dict[str, Any]) -> FollowUp | None:
    return asyncio.run(read_follow_up(agent, "c1", text, parse))


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("¿y el domingo?", "ellipsis"), ("¿Y mañana?", "ellipsis"),
        ("y la de valencia", "ellipsis"),
        ("¿el domingo también?", "ellipsis"), ("no, perdón, en Valencia", "correction"),
        ("perdona, quería decir el martes", "correction"), ("no, el 48213", "correction"),
        ("no", None), ("¿a qué hora abren?", None), ("no tengo internet", None),
        ("y " + "palabra " * 20, None),  # too long to be a follow-up
    ],
)  # fmt: skip
def test_the_shape_of_a_follow_up(text, shape):
    assert shape_of(text) == shape


def test_an_ellipsis_after_an_answered_question_asks_it_again():
    agent = agent_with(user("ask_opening_hours"))
    found = read(agent, "¿y el domingo?", parsed("nlu_fallback", 0.3))
    assert found == FollowUp("ask_opening_hours", "ellipsis")
    turn, metadata = as_follow_up(parsed("nlu_fallback", 0.3), {"channel": "x"}, found)
    assert turn["intent"] == {"name": "ask_opening_hours", "confidence": 1.0}
    assert metadata == {
        "channel": "x",
        "follow_up": {"topic": "ask_opening_hours", "kind": "ellipsis",
                      "understood_intent": "nlu_fallback"},
    }  # fmt: skip


def test_a_thanks_in_between_keeps_the_context_but_another_topic_ends_it():
    assert read(agent_with(user("track_order"), user("thank")), "¿y el otro?", parsed("inform"))
    assert not read(
        agent_with(user("track_order"), user("complain")), "¿y el otro?", parsed("inform")
    )
    old = agent_with(user("ask_opening_hours"), user("inform"), user("inform"), user("inform"))
    assert not read(old, "¿y el domingo?", parsed("inform"))


def test_a_new_question_a_person_a_running_form_or_nothing_before_are_not_follow_ups():
    hours = agent_with(user("ask_opening_hours"))
    assert not read(hours, "¿y cómo anulo mi cita?", parsed("cancel_appointment", 0.6))
    assert not read(hours, "y con una persona", parsed("request_human", 0.4))
    assert not read(agent_with(user("ask_opening_hours"), form="appointment_form"), "¿y el martes?",
                    parsed("inform"))  # fmt: skip
    assert not read(agent_with(), "¿y el domingo?", parsed("nlu_fallback", 0.3))
    paused = agent_with(user("ask_opening_hours"), SimpleNamespace(type_name="pause"))
    assert not read(paused, "¿y el domingo?", parsed("nlu_fallback", 0.3))


def test_an_unreadable_conversation_leaves_the_turn_as_it_is():
    async def broken(sender: str) -> Any:
        raise RuntimeError("tracker store down")

    agent = SimpleNamespace(tracker_store=SimpleNamespace(retrieve=broken))
    assert read(agent, "¿y el domingo?", parsed("nlu_fallback", 0.3)) is None
