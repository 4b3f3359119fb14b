"""The booking form's validation and the booking, check, cancel and reschedule actions."""

import datetime as dt
import re

from actions.appointment_changes import (
    ActionCancelAppointment,
    ActionCheckAppointment,
    ValidateCancelForm,
)
from actions.appointments import ActionAskTime, ActionBookAppointment, ValidateAppointmentForm
from tests.helpers.actions import MADRID, bot_event, run_action, slots_set, texts, tracker_for

SEVILLA_SHOP = {"service": "shop_appointment", "place": "sevilla_nervion"}


def validate(text, slots, requested, intent="inform"):
    tracker = tracker_for(
        text, intent, slots={**slots, "requested_slot": requested}, active_loop="appointment_form"
    )
    return run_action(ValidateAppointmentForm(), tracker)


def test_first_message_fills_service_place_date_and_time(services):
    _, events = validate(
        "quiero cita en la tienda de sevilla mañana a las doce", {}, None, "book_appointment"
    )
    assert slots_set(events) == {
        **SEVILLA_SHOP,
        "date": "2026-03-03",
        "time": "12:00",
        "alternatives": None,
    }


def test_taken_slot_offers_the_nearest_alternatives(services):
    start = dt.datetime(2026, 3, 3, 12, 0, tzinfo=MADRID)
    service, shop = (
        services.catalog.service("shop_appointment"),
        services.catalog.shop("sevilla_nervion"),
    )
    for _ in range(2):
        services.appointments.book(service, shop, start, "Ana", "600000000")
    messages, events = validate("mañana a las doce", SEVILLA_SHOP, "date")
    assert "ya no queda hueco en la tienda de Sevilla Nervión" in texts(messages)
    assert "Lo más cercano que tengo libre es" in texts(messages)
    assert [b["title"] for b in messages[-1]["buttons"]][0].startswith("Mañana a las once")
    slots = slots_set(events)
    assert slots["date"] is None and slots["time"] is None and len(slots["alternatives"]) == 3


def test_choosing_an_offered_alternative_by_ordinal(services):
    offered = ["2026-03-03T11:00:00+01:00", "2026-03-03T11:30:00+01:00"]
    _, events = validate("la segunda", {**SEVILLA_SHOP, "alternatives": offered}, "date")
    assert slots_set(events)["time"] == "11:30"


def test_impossible_and_closed_dates_get_a_clear_answer(services):
    messages, events = validate("el 31 de febrero", SEVILLA_SHOP, "date")
    assert "No existe el 31 de febrero" in texts(messages) and slots_set(events)["date"] is None
    messages, _ = validate("el domingo", SEVILLA_SHOP, "date")
    assert "no tenemos huecos en la tienda de Sevilla Nervión" in texts(messages)
    messages, _ = validate("el lunes 2 de marzo de 2026 a las ocho", SEVILLA_SHOP, "date")
    assert "Esa fecha ya ha pasado" in texts(messages)


def test_name_and_phone_validation(services):
    _, events = validate("me llamo lucía fernández", {}, "customer_name")
    assert slots_set(events)["customer_name"] == "Lucía Fernández"
    messages, events = validate("12345", {}, "customer_name")
    assert slots_set(events)["customer_name"] is None and "nombre" in texts(messages)
    _, events = validate("seis uno dos tres cuatro cinco seis siete ocho", {}, "phone")
    assert slots_set(events)["phone"] == "612345678"
    messages, events = validate("no me acuerdo", {}, "phone")
    assert slots_set(events)["phone"] is None and "teléfono" in texts(messages)


def test_a_request_for_a_person_never_fills_a_slot(services):
    _, events = validate("quiero hablar con una persona", {}, "customer_name", "request_human")
    assert "customer_name" not in slots_set(events)


def test_time_question_offers_free_times_in_the_asked_part_of_day(services):
    tracker = tracker_for(
        "mañana por la tarde",
        slots={**SEVILLA_SHOP, "date": "2026-03-03", "part_of_day": "afternoon"},
    )
    messages, _ = run_action(ActionAskTime(), tracker)
    assert texts(messages) == (
        "Mañana, en la tienda de Sevilla Nervión, tengo libre a las dos de la tarde, "
        "a las dos y media de la tarde, "
        "a las tres de la tarde o a las tres y media de la tarde. ¿Cuál prefiere?"
    )
    quiet = tracker_for("x", history=[], slots=SEVILLA_SHOP)
    quiet.events.append(bot_event("Ese hueco está ocupado. ¿Le viene bien otro?"))
    assert run_action(ActionAskTime(), quiet)[0] == []


def book(services, time="12:00"):
    tracker = tracker_for(
        "612345678",
        slots={
            **SEVILLA_SHOP,
            "date": "2026-03-03",
            "time": time,
            "customer_name": "Ana",
            "phone": "612345678",
        },
    )
    return run_action(ActionBookAppointment(), tracker)


def test_booking_gives_a_code_then_check_and_cancel(services):
    messages, events = book(services)
    code = re.search(r"\b[A-Z]{2}\d{4}\b", texts(messages)).group(0)
    assert (
        "Su cita en la tienda de Sevilla Nervión queda para mañana a las doce del mediodía"
        in texts(messages)
    )
    assert all(value is None for value in slots_set(events).values())

    messages, _ = run_action(
        ActionCheckAppointment(), tracker_for(code, slots={"booking_code": code})
    )
    assert "mañana a las doce" in texts(messages)

    _, events = run_action(
        ValidateCancelForm(),
        tracker_for(
            "sí",
            "affirm",
            slots={"booking_code": code, "requested_slot": "cancel_confirmed"},
            active_loop="cancel_form",
        ),
    )
    assert slots_set(events)["cancel_confirmed"] is True
    messages, _ = run_action(
        ActionCancelAppointment(),
        tracker_for("sí", "affirm", slots={"booking_code": code, "cancel_confirmed": True}),
    )
    assert "queda anulada" in texts(messages)
    assert services.appointments.get(code).status == "cancelled"


def test_a_doubtful_yes_does_not_cancel(services):
    tracker = tracker_for(
        "zzz",
        "affirm",
        confidence=0.4,
        slots={"booking_code": "KP4821", "requested_slot": "cancel_confirmed"},
        active_loop="cancel_form",
    )
    _, events = run_action(ValidateCancelForm(), tracker)
    assert "cancel_confirmed" not in slots_set(events)


def test_unknown_booking_code(services):
    tracker = tracker_for(
        "ZZ9999", slots={"requested_slot": "booking_code"}, active_loop="cancel_form"
    )
    messages, events = run_action(ValidateCancelForm(), tracker)
    assert "No encuentro ninguna cita con el código ZZ9999" in texts(messages)
    assert slots_set(events)["booking_code"] is None


def test_slot_taken_between_question_and_booking(services):
    service, shop = (
        services.catalog.service("shop_appointment"),
        services.catalog.shop("sevilla_nervion"),
    )
    start = dt.datetime(2026, 3, 3, 12, 0, tzinfo=MADRID)
    for _ in range(2):
        services.appointments.book(service, shop, start, "Ana", "600000000")
    messages, events = book(services)
    assert "se acaba de ocupar" in texts(messages)
    assert any(e["event"] == "followup" and e["name"] == "appointment_form" for e in events)


def test_a_question_about_another_topic_is_not_taken_as_an_answer(services):
    tracker = tracker_for(
        "¿a qué hora abren el sábado en barcelona?",
        "ask_opening_hours",
        slots={"requested_slot": "booking_code"},
        active_loop="cancel_form",
    )
    messages, events = run_action(ValidateCancelForm(), tracker)
    assert messages == [] and "booking_code" not in slots_set(events)
    name = validate("a qué hora abren el sábado", {}, "customer_name", "ask_opening_hours")
    assert "customer_name" not in slots_set(name[1])


def test_a_name_that_sounds_like_a_place_does_not_move_the_booking(services):
    _, events = validate("Carmen Colón", SEVILLA_SHOP, "customer_name")
    assert slots_set(events) == {"customer_name": "Carmen Colón"}


def test_a_date_is_not_mistaken_for_an_offered_option(services):
    offered = ["2026-03-03T11:00:00+01:00", "2026-03-03T11:30:00+01:00"]
    _, events = validate("el primero de abril", {**SEVILLA_SHOP, "alternatives": offered}, "date")
    assert slots_set(events)["date"] == "2026-04-01"


def test_a_day_that_filled_up_offers_other_days(services):
    service, shop = (
        services.catalog.service("fibre_installation"),
        services.catalog.shop("madrid_gran_via"),
    )
    for start in services.appointments.starts_on(service, shop, dt.date(2026, 3, 3)):
        for _ in range(service.capacity):
            services.appointments.book(service, shop, start, "Ana", "600000000")
    tracker = tracker_for(
        "a las diez",
        slots={"service": "fibre_installation", "place": "madrid_gran_via", "date": "2026-03-03"},
    )
    messages, events = run_action(ActionAskTime(), tracker)
    assert "Mañana ya no queda ningún hueco en la zona de Madrid" in texts(messages)
    assert "Lo más cercano que tengo libre es el miércoles 4 de marzo" in texts(messages)
    assert slots_set(events)["date"] is None


def test_a_missing_booking_offers_a_person_so_yes_reaches_one(services):
    messages, events = run_action(
        ActionCheckAppointment(), tracker_for("x", slots={"booking_code": "ZZ0000"})
    )
    assert "le paso con una persona" in texts(messages)
    assert slots_set(events)["handoff_offered"] is True
