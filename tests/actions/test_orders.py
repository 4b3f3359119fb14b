"""Tracking: numbers typed or spoken, a postcode check before any detail."""

from actions.orders import ActionTrackOrder, ValidateOrderForm
from tests.helpers.actions import run_action, slots_set, texts, tracker_for


def validate(text, slots, requested, intent="inform"):
    tracker = tracker_for(
        text, intent, slots={**slots, "requested_slot": requested}, active_loop="order_form"
    )
    return run_action(ValidateOrderForm(), tracker)


def test_spoken_digits_in_the_opening_message(services):
    _, events = validate("dónde está mi pedido cuatro ocho dos uno tres", {}, None, "track_order")
    assert slots_set(events)["order_number"] == "48213"


def test_unknown_and_malformed_numbers(services):
    messages, events = validate("99999", {}, "order_number")
    assert "No encuentro ningún pedido con el número 99999" in texts(messages)
    assert slots_set(events)["order_number"] is None
    messages, _ = validate("no lo sé", {}, "order_number")
    assert "entre cinco y ocho cifras" in texts(messages)


def test_postcode_must_match_and_tries_are_limited(services):
    messages, events = validate("28001", {"order_number": "48213"}, "postcode")
    assert "no coincide" in texts(messages) and slots_set(events)["postcode"] is None
    _, events = validate(
        "28001", {"order_number": "48213", "verification_failures": 1.0}, "postcode"
    )
    assert slots_set(events)["postcode"] == "28001"  # form ends; the action refuses
    messages, events = run_action(
        ActionTrackOrder(),
        tracker_for("28001", slots={"order_number": "48213", "postcode": "28001"}),
    )
    assert "Por seguridad, no puedo darle los datos" in texts(messages)
    assert "router" not in texts(messages)
    assert slots_set(events)["handoff_offered"] is True


def test_status_history_and_estimate_after_the_check(services):
    messages, _ = run_action(
        ActionTrackOrder(),
        tracker_for("28013", slots={"order_number": "48213", "postcode": "28013"}),
    )
    reply = texts(messages)
    assert (
        "Su pedido 48213 (router Wi-Fi 6) está en camino. Le llegará mañana con Correos Express"
        in reply
    )
    assert "recibido el viernes 27 de febrero" in reply


def test_voice_variant_is_short(services):
    messages, _ = run_action(
        ActionTrackOrder(),
        tracker_for("28013", slots={"order_number": "48213", "postcode": "28013"}, channel="voice"),
    )
    assert texts(messages) == "Su pedido está en camino. Le llegará mañana."


def test_second_failed_answer_offers_a_person_and_yes_reaches_one(services):
    messages, events = validate("no lo sé", {"failed_answers": 1.0}, "order_number")
    assert "le paso con una persona" in texts(messages).lower()
    assert slots_set(events)["handoff_offered"] is True
    _, events = validate("sí", {"handoff_offered": True}, "order_number", intent="affirm")
    assert "order_number" not in slots_set(events)  # the form lets the handoff rule answer


def test_an_order_without_estimate_or_history_reads_well(services):
    from actions.orders import describe_order
    from actions.services.orders import Order

    order = Order("11111", "28001", "router", "GLS", "returned", None, ())
    key, facts = describe_order(order, services.hours.now().date())
    assert key == "order_status" and facts["history"] == "sin movimientos todavía"


def test_another_order_to_a_postcode_already_proved_needs_no_second_check(services):
    messages, events = run_action(
        ActionTrackOrder(),
        tracker_for("28013", slots={"order_number": "48213", "postcode": "28013"}),
    )
    assert slots_set(events)["verified_postcode"] == "28013"
    _, events = validate("¿y el 48213?", {"verified_postcode": "28013"}, None, "track_order")
    assert slots_set(events)["postcode"] == "28013"  # the form is complete: the answer follows
    _, events = validate("¿y el 12345?", {"verified_postcode": "28013"}, None, "track_order")
    assert "postcode" not in slots_set(events)  # another address: asked as usual
