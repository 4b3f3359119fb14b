"""What the gateway tells customers about the queue, in Spanish, honestly."""

from __future__ import annotations

import pytest

from bot.handoff import notices
from bot.handoff.queue import QueuePlace


def place(position: int, wait_minutes: int | None, agents_online: int = 1) -> QueuePlace:
    return QueuePlace("sales", position, wait_minutes, agents_online)


@pytest.mark.parametrize(
    ("n", "said"), [(1, "una persona"), (2, "dos personas"), (7, "siete personas")]
)
def test_count_people(n: int, said: str):
    assert notices.count_people(n) == said


@pytest.mark.parametrize(
    ("minutes", "said"),
    [(0, "menos de un minuto"), (1, "menos de un minuto"), (4, "unos cuatro minutos")],
)
def test_say_wait(minutes: int, said: str):
    assert notices.say_wait(minutes) == said


@pytest.mark.parametrize(
    ("n", "said"), [(21, "veintiuna personas"), (31, "treinta y una personas")]
)
def test_count_people_agrees_with_personas(n: int, said: str):
    assert notices.count_people(n) == said


@pytest.mark.parametrize(
    ("minutes", "said"), [(21, "unos veintiún minutos"), (31, "unos treinta y un minutos")]
)
def test_say_wait_apocopates_before_minutos(minutes: int, said: str):
    assert notices.say_wait(minutes) == said


def test_say_place_for_the_next_one_and_for_people_ahead():
    assert (
        notices.say_place(place(1, 1))
        == "No tiene a nadie delante; le atenderán en menos de un minuto."
    )
    assert notices.say_place(place(3, 6)) == "Tiene a dos personas delante; unos seis minutos."


def test_queued_notice_tells_place_and_wait():
    notice = notices.queued_notice(place(2, 4), "ventas", "webchat", True, offer_callback=False)

    assert notice == "Tiene a una persona delante; unos cuatro minutos."


def test_queued_notice_offers_a_callback_on_a_long_wait():
    notice = notices.queued_notice(place(1, 10), "ventas", "webchat", True, offer_callback=True)

    assert notice.startswith("No tiene a nadie delante; le atenderán en unos diez minutos.")
    assert "déjenos su teléfono y le llamamos" in notice


def test_queued_notice_says_honestly_that_nobody_is_connected():
    notice = notices.queued_notice(place(1, None, 0), "ventas", "webchat", True, True)

    assert notice.startswith("Ahora mismo no hay nadie de ventas conectado.")
    assert "le atenderán en cuanto se conecte alguien" in notice
    assert "minuto" not in notice  # no made-up estimate


def test_nobody_connected_comes_with_the_departments_hours():
    hours = "de lunes a viernes, de 09:00 a 19:00; el sábado y el domingo, cerrado"
    notice = notices.queued_notice(place(1, None, 0), "ventas", "webchat", True, True, hours)

    assert notice.startswith(
        f"Ahora mismo no hay nadie de ventas conectado. El horario de ventas es {hours}."
    )


def test_queued_notice_when_the_department_is_closed():
    chat = notices.queued_notice(place(1, None, 0), "ventas", "webchat", False, True)
    call = notices.queued_notice(place(1, None, 0), "ventas", "voice", False, True)

    assert "le llamamos cuando abra" in chat and "seguir con el asistente" in chat
    assert "en la página de la llamada" in call and "le llamamos cuando abra" in call


def test_calls_are_told_where_to_leave_their_number():
    notice = notices.queued_notice(place(1, 10), "ventas", "voice", True, offer_callback=True)

    assert "deje su teléfono en la página de la llamada" in notice


def test_place_update():
    next_one, third = notices.place_update(place(1, 2)), notices.place_update(place(3, 8))

    assert next_one == "Ya no tiene a nadie delante; le atenderán en unos dos minutos."
    assert third == "Ahora tiene a dos personas delante; unos ocho minutos."


def test_place_update_makes_no_promise_when_nobody_is_connected():
    update = notices.place_update(place(1, None, agents_online=0))

    assert "minuto" not in update
    assert "conecte" in update
