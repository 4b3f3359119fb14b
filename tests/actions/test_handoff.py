"""Handoff: immediate, with the contract's message, on request, frustration or repeated fallback."""

from actions.handoff import (
    SUMMARY_OPENINGS,
    ActionFrustration,
    ActionHandleFallback,
    ActionHandoff,
)
from bot.handoff.models import REASON_TEXTS
from tests.helpers.actions import run_action, texts, tracker_for, user_event


def handoff_of(messages):
    return next(m["custom"]["handoff"] for m in messages if m.get("custom"))


def test_request_in_the_middle_of_the_booking_form(services):
    tracker = tracker_for(
        "quiero hablar con una persona",
        "request_human",
        slots={
            "service": "fibre_installation",
            "place": "madrid_gran_via",
            "requested_slot": "date",
        },
        history=[user_event("quiero instalar la fibra", "book_appointment")],
        active_loop="appointment_form",
    )
    messages, events = run_action(ActionHandoff(), tracker)
    assert "Le paso con una persona de soporte técnico" in texts(messages)
    handoff = handoff_of(messages)
    assert handoff["reason"] == "user_request" and handoff["priority"] == "normal"
    assert handoff["department"] == "technical_support"
    assert handoff["intents"] == ["book_appointment", "request_human"]
    assert handoff["slots"] == {"service": "fibre_installation", "place": "madrid_gran_via"}
    assert handoff["details"] == [  # as the agent reads them
        {"slot": "service", "label": "Servicio", "value": "instalación de fibra"},
        {"slot": "place", "label": "Lugar", "value": "tienda de Madrid Gran Vía"},
    ]
    assert "pedir cita" in handoff["summary"]
    # what the gateway needs to tell a queued customer honestly (fixed clock: Monday 9:00)
    assert handoff["department_name"] == "soporte técnico" and handoff["department_open"]
    assert handoff["department_hours"].startswith("de lunes a sábado, de 08:00 a 23:00")
    kinds = [e["event"] for e in events]
    assert "pause" in kinds and {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events if e["event"] == "active_loop"
    ]
    assert "¿está seguro?" not in texts(messages)


def test_frustration_is_high_priority_with_empathy(services):
    messages, _ = run_action(
        ActionHandoff(), tracker_for("es una vergüenza", "express_frustration")
    )
    assert texts(messages).startswith("Entiendo")
    assert handoff_of(messages)["reason"] == "frustration"
    assert handoff_of(messages)["priority"] == "high"


def with_meter(tracker, **meter):
    tracker.latest_message["metadata"] = {"frustration": meter}
    return tracker


def test_over_the_meters_threshold_frustration_hands_off_with_its_reasons(services):
    reasons = ["repitió 3 veces lo mismo", "subió la voz"]
    tracker = with_meter(
        tracker_for("¿DÓNDE ESTÁ MI PEDIDO?", "express_frustration"),
        score=0.72, handoff=True, reasons=reasons,
    )  # fmt: skip
    messages, events = run_action(ActionFrustration(), tracker)
    handoff = handoff_of(messages)
    assert (handoff["reason"], handoff["priority"]) == ("frustration", "high")
    assert handoff["frustration"] == {"score": 0.72, "reasons": reasons}
    assert "pause" in [e["event"] for e in events]


def test_below_the_threshold_frustration_is_acknowledged_with_the_offer_of_a_person(services):
    tracker = with_meter(
        tracker_for("esto no hay quien lo aguante", "express_frustration"),
        score=0.4, handoff=False, reasons=["dijo que está molesto"],
    )  # fmt: skip
    messages, events = run_action(ActionFrustration(), tracker)
    assert texts(messages).startswith("Entiendo que es frustrante")
    assert "¿Quiere que le pase con una persona?" in texts(messages)
    assert not any(m.get("custom") for m in messages)
    assert events == [
        {"event": "slot", "name": "handoff_offered", "value": True, "timestamp": None}
    ]
    # without any meter (as in `rasa shell`) the same: no handoff on one message alone
    messages, _ = run_action(
        ActionFrustration(), tracker_for("qué vergüenza", "express_frustration")
    )
    assert not any(m.get("custom") for m in messages)


def test_an_angry_request_for_a_person_keeps_its_reason_but_goes_first(services):
    tracker = with_meter(
        tracker_for("PÁSEME CON UNA PERSONA YA, JODER", "request_human"),
        score=0.9, handoff=True, reasons=["palabras malsonantes («joder»)"],
    )  # fmt: skip
    handoff = handoff_of(run_action(ActionHandoff(), tracker)[0])
    assert (handoff["reason"], handoff["priority"]) == ("user_request", "high")
    assert handoff["frustration"]["reasons"] == ["palabras malsonantes («joder»)"]


def test_named_department_wins(services):
    messages, _ = run_action(
        ActionHandoff(), tracker_for("páseme con facturación", "request_human")
    )
    assert handoff_of(messages)["department"] == "billing"


def test_first_misunderstanding_asks_again_second_hands_off(services):
    once = tracker_for("blorf", "nlu_fallback", history=[user_event("hola", "greet")])
    messages, events = run_action(ActionHandleFallback(), once)
    assert "no le he entendido" in texts(messages) and "persona" in texts(messages)
    assert not events and not any(m.get("custom") for m in messages)

    twice = tracker_for(
        "blorf blorf", "nlu_fallback", history=[user_event("blorf", "nlu_fallback")]
    )
    messages, events = run_action(ActionHandleFallback(), twice)
    assert handoff_of(messages)["reason"] == "repeated_fallback"
    assert any(e["event"] == "pause" for e in events)


def test_voice_channel_gets_no_buttons(services):
    messages, _ = run_action(
        ActionHandleFallback(), tracker_for("blorf", "nlu_fallback", channel="voice")
    )
    assert messages and all(not m.get("buttons") for m in messages)


def test_a_closed_department_is_said_honestly(services, clock):
    clock.now = clock.now.replace(hour=20)  # Monday 20:00: billing closed at 19:00
    messages, _ = run_action(ActionHandoff(), tracker_for("con facturación", "request_human"))
    assert "Ahora mismo no hay nadie en facturación: abre mañana a las nueve de la mañana" in texts(
        messages
    )


def test_summary_quotes_the_matter_not_the_request_for_a_person(services):
    tracker = tracker_for(
        "operador",
        "request_human",
        history=[user_event("me han cobrado dos veces la factura", "complain")],
    )
    messages, _ = run_action(ActionHandoff(), tracker)
    assert "dijo: «me han cobrado dos veces la factura»" in handoff_of(messages)["summary"]


def test_yes_to_the_person_offered_to_an_upset_customer_is_a_frustration_handoff(services):
    upset = with_meter(tracker_for("sí", "affirm"), score=0.2, reasons=["dijo que está molesto"])
    handoff = handoff_of(run_action(ActionHandoff(), upset)[0])
    assert (handoff["reason"], handoff["priority"]) == ("frustration", "high")
    calm = tracker_for("sí", "affirm")
    assert handoff_of(run_action(ActionHandoff(), calm)[0])["reason"] == "user_request"


def test_the_action_server_and_the_gateway_share_one_list_of_handoff_reasons():
    """Each process words a reason its own way (a summary's opening, a label on the desk), but
    a reason the action server sends is one the desk can name."""
    assert set(SUMMARY_OPENINGS) == set(REASON_TEXTS)
