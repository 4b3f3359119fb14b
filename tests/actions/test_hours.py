"""Answers about opening hours from the clock (fixed: Monday 2 March 2026, 09:00 Madrid)."""

import datetime as dt

from actions.hours import ActionAnswerOpeningHours, describe_week
from tests.helpers.actions import MADRID, run_action, slots_set, texts, tracker_for


def answer(text: str, channel: str = "webchat") -> str:
    tracker = tracker_for(text, "ask_opening_hours", channel=channel)
    messages, _ = run_action(ActionAnswerOpeningHours(), tracker)
    return texts(messages)


def test_closed_now_says_when_it_opens(services):
    assert answer("¿está abierta ahora la tienda de gran vía?") == (
        "Ahora mismo la tienda de Madrid Gran Vía no atiende. Abre hoy a las diez de la mañana."
    )


def test_open_now(services, clock):
    clock.now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=MADRID)
    assert "atiende, hasta las 19:00" in answer("¿facturación está abierto ahora?")


def test_tomorrow_and_holidays(services):
    assert answer("a qué hora abren mañana en barcelona") == (
        "Mañana, la tienda de Barcelona Diagonal abre de 09:30 a 20:30."
    )
    closed = answer("¿abre la tienda de valencia el 19 de marzo?")
    assert "no abre por San José" in closed and "Vuelve a abrir el viernes 20 de marzo" in closed


def test_weekly_schedule_with_summer_hours(services):
    reply = answer("horario de la tienda de gran vía")
    assert "de lunes a sábado, de 10:00 a 21:00; el domingo, cerrado" in reply
    assert "En verano" in reply


def test_on_the_phone_times_are_said_in_words_and_summer_hours_left_out(services, clock):
    reply = answer("horario de la tienda de gran vía", channel="voice")
    assert reply == (
        "La tienda de Madrid Gran Vía abre de lunes a sábado, de diez de la mañana a nueve de "
        "la noche; el domingo, cerrado."
    )
    clock.now = dt.datetime(2026, 3, 2, 12, 0, tzinfo=MADRID)
    assert "hasta las siete de la tarde" in answer("¿facturación está abierto ahora?", "voice")


def test_without_a_place_lists_what_is_open_and_asks(services):
    reply = answer("¿están abiertos ahora?")
    assert "el departamento de soporte técnico hasta las 23:00" in reply
    assert "¿De qué tienda o departamento" in reply


def test_describe_week_groups_days():
    ten_to_two = ((dt.time(10), dt.time(14)),)
    week = (ten_to_two,) * 5 + ((), ())
    assert (
        describe_week(week)
        == "de lunes a viernes, de 10:00 a 14:00; el sábado y el domingo, cerrado"
    )


def follow_up(text: str, asked: dict | None) -> tuple[str, dict]:
    """A follow-up as the Rasa channel passes it on: the metadata says so, the slot holds the
    question before."""
    tracker = tracker_for(text, "ask_opening_hours", slots={"hours_asked": asked})
    tracker.latest_message["metadata"] = {"follow_up": {"topic": "ask_opening_hours"}}
    messages, events = run_action(ActionAnswerOpeningHours(), tracker)
    return texts(messages), slots_set(events).get("hours_asked")


def test_a_follow_up_changes_only_what_it_names(services):
    first = tracker_for("¿a qué hora abre la tienda de sevilla el sábado?", "ask_opening_hours")
    _, events = run_action(ActionAnswerOpeningHours(), first)
    asked = slots_set(events)["hours_asked"]
    assert asked == {"place": "sevilla_nervion", "day": "2026-03-07", "now": False}
    said, asked = follow_up("¿y el domingo?", asked)
    assert said.startswith("El domingo 8 de marzo, la tienda de Sevilla Nervión no abre")
    said, asked = follow_up("¿y la de valencia?", asked)
    assert said.startswith("El domingo 8 de marzo, la tienda de Valencia Colón")
    said, _ = follow_up("no, perdón, ¿está abierta ahora?", asked)
    assert said.startswith("Ahora mismo la tienda de Valencia Colón")


def test_without_the_follow_up_mark_or_with_a_damaged_slot_nothing_carries_over(services):
    alone = tracker_for("¿y el domingo?", "ask_opening_hours",
                        slots={"hours_asked": {"place": "sevilla_nervion"}})  # fmt: skip
    messages, _ = run_action(ActionAnswerOpeningHours(), alone)
    assert "¿De qué tienda o departamento" in texts(messages)
    said, _ = follow_up("¿y el domingo?", {"place": 7, "day": "el sábado"})
    assert "¿De qué tienda o departamento" in said
