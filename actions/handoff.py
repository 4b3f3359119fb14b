"""Handing over to a person: on request, when the frustration meter says so, after two
misunderstandings in a row.

The handoff pauses the conversation and sends one custom message that the gateway queues:
{"handoff": {"reason", "department", "priority", "summary", "intents", "slots"}}, plus
`department_name`, `department_open` (whether it works now) and `department_hours` (its week,
in words), so the gateway can tell a queued customer honestly when nobody will come soon.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import (
    filled_slots,
    intents_seen,
    latest_intent,
    latest_text,
    trailing_intent_count,
)
from actions.hours import describe_week, say_next_opening
from actions.language.matching import find_named
from actions.replies import is_voice, say
from actions.services.catalog import Catalog
from actions.services.registry import services

REASON_BY_INTENT = {
    "request_human": "user_request",
    "express_frustration": "frustration",
    "nlu_fallback": "repeated_fallback",
}
HIGH_PRIORITY_REASONS = {"frustration", "complaint", "error"}
FALLBACKS_BEFORE_HANDOFF = 2
TOPIC_NAMES = {
    "ask_opening_hours": "horarios",
    "book_appointment": "pedir cita",
    "reschedule_appointment": "cambiar una cita",
    "cancel_appointment": "anular una cita",
    "check_appointment": "consultar una cita",
    "track_order": "seguimiento de pedido",
    "complain": "reclamación",
    "report_problem": "avería",
}
SUMMARY_OPENINGS = {
    "user_request": "Pide hablar con una persona",
    "frustration": "Cliente molesto",
    "repeated_fallback": "El asistente no le entendió dos veces seguidas",
    "complaint": "Quiere reclamar",
    "error": "Fallo técnico del asistente",
}


def handoff_payload(tracker: Tracker, reason: str, catalog: Catalog) -> dict[str, Any]:
    """Everything an agent needs to continue without asking the customer again."""
    intents = [i for i in intents_seen(tracker) if i != "nlu_fallback"]
    department = _department(tracker, intents, catalog)
    slots = filled_slots(tracker)
    meter = frustration_of(tracker)
    high = reason in HIGH_PRIORITY_REASONS or bool(meter.get("handoff"))
    payload = {
        "reason": reason,
        "department": department,
        "priority": "high" if high else "normal",
        "summary": _summary(tracker, reason, intents),
        "intents": intents,
        "slots": slots,
        "details": slot_details(slots, catalog),
    }
    if meter.get("reasons"):
        payload["frustration"] = {"score": meter.get("score"), "reasons": meter["reasons"]}
    return payload


def frustration_of(tracker: Tracker) -> dict[str, Any]:
    """What the channel's frustration meter said about the latest turn (empty without one)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    meter = metadata.get("frustration")
    return meter if isinstance(meter, dict) else {}


SLOT_LABELS = {
    "service": "Servicio",
    "place": "Lugar",
    "date": "Fecha",
    "time": "Hora",
    "part_of_day": "Franja",
    "customer_name": "Nombre",
    "phone": "Teléfono",
    "booking_code": "Código de cita",
    "order_number": "Pedido",
    "postcode": "Código postal",
    "complaint_category": "Motivo de la reclamación",
    "complaint_description": "Reclamación",
    "problem_description": "Avería",
}


def slot_details(slots: dict[str, Any], catalog: Catalog) -> list[dict[str, str]]:
    """The collected data as an agent reads it: 'Lugar: tienda de Madrid Gran Vía', not
    'place: madrid_gran_via'."""
    names = {
        "service": {s.id: s.name for s in catalog.services},
        "place": {p.id: p.name for p in catalog.places},
        "complaint_category": {c.id: c.name for c in catalog.complaints.categories},
    }
    return [
        {
            "slot": slot,
            "label": SLOT_LABELS.get(slot, slot.replace("_", " ")),
            "value": names.get(slot, {}).get(str(value), str(value)),
        }
        for slot, value in slots.items()
    ]


def _department(tracker: Tracker, intents: list[str], catalog: Catalog) -> str:
    named = find_named(latest_text(tracker), catalog.departments)
    if named:
        return named.id
    for intent in reversed(intents):
        if intent in catalog.handoff.department_by_intent:
            return catalog.handoff.department_by_intent[intent]
    return catalog.handoff.default_department


def _summary(tracker: Tracker, reason: str, intents: list[str]) -> str:
    topics = [TOPIC_NAMES[i] for i in intents if i in TOPIC_NAMES]
    parts = [SUMMARY_OPENINGS[reason]]
    if topics:
        parts.append(f"temas: {', '.join(topics)}")
    said = _last_request(tracker) if reason == "user_request" else latest_text(tracker).strip()
    if said:
        parts.append(f"dijo: «{said[:120]}{'…' if len(said) > 120 else ''}»")
    return "; ".join(parts) + "."


# Messages that say nothing about the customer's matter ("operador", "sí", "gracias").
NOT_THE_MATTER = {"request_human", "affirm", "deny", "greet", "thank", "goodbye", "bot_challenge"}


def _last_request(tracker: Tracker) -> str:
    """The customer's latest message about their matter, not the request for a person."""
    for event in reversed(tracker.events):
        text = (event.get("text") or "").strip()
        intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
        about_the_matter = text and not text.startswith("/") and intent not in NOT_THE_MATTER
        if event.get("event") == "user" and about_the_matter:
            return text
    return ""


def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    """Tells the customer, sends the handoff message and pauses the conversation."""
    catalog, hours = services().catalog, services().hours
    payload = handoff_payload(tracker, reason, catalog)
    department = catalog.department(payload["department"])
    say(dispatcher, tracker, f"handoff_{reason}", department=department.name)
    department_open = hours.open_range_at(department, hours.now()) is not None
    # the gateway tells the customer about the queue; it needs to know whether anyone can come
    week = hours.week_for(department, hours.now().date())
    payload.update(
        department_name=department.name,
        department_open=department_open,
        department_hours=describe_week(week, is_voice(tracker)),
    )
    if not department_open:
        next_opening = say_next_opening(hours, department, hours.now())
        say(
            dispatcher,
            tracker,
            "handoff_department_closed",
            department=department.name,
            next=next_opening,
        )
    dispatcher.utter_message(json_message={"handoff": payload})
    return [
        ActiveLoop(None),
        SlotSet("requested_slot", None),
        SlotSet("handoff_offered", False),
        SlotSet("failed_answers", 0.0),
        ConversationPaused(),
    ]


class ActionHandoff(Action):
    """Hands off at once, without '¿está seguro?'; the reason comes from the latest intent."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent, _ = latest_intent(tracker)
        reason = REASON_BY_INTENT.get(intent or "", "user_request")
        if intent == "affirm" and frustration_of(tracker).get("reasons"):
            reason = "frustration"  # "sí" to a person offered to a customer who was upset
        return hand_off(dispatcher, tracker, reason)


class ActionFrustration(Action):
    """The customer sounds frustrated. Over the meter's threshold: a person, at once, with high
    priority. Below it (or with no meter, as in `rasa shell`): say it is understood and offer a
    person; "sí" hands off."""

    def name(self) -> str:
        return "action_frustration"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if frustration_of(tracker).get("handoff"):
            return hand_off(dispatcher, tracker, "frustration")
        say(dispatcher, tracker, "acknowledge_frustration")
        return [SlotSet("handoff_offered", True)]


class ActionHandleFallback(Action):
    """First misunderstanding: ask again and say what is possible. Second in a row: a person."""

    def name(self) -> str:
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if trailing_intent_count(tracker, "nlu_fallback") >= FALLBACKS_BEFORE_HANDOFF:
            return hand_off(dispatcher, tracker, "repeated_fallback")
        say(dispatcher, tracker, "fallback_rephrase")
        return []


class ActionDeclineHandoff(Action):
    """The customer prefers to go on with the assistant."""

    def name(self) -> str:
        return "action_decline_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        say(dispatcher, tracker, "handoff_declined")
        return [SlotSet("handoff_offered", False)]
