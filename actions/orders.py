"""Order and shipment tracking: number (typed, spoken or keyed), postcode check, status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import TopicFormValidation
from actions.language.numbers import find_number
from actions.language.phrases import join_words, say_date, spell_code
from actions.replies import say
from actions.services.orders import Order
from actions.services.registry import services

ORDER_DIGITS = (5, 8)
MAX_POSTCODE_TRIES = 2
STATUS_NAMES = {
    "received": "recibido",
    "preparing": "en preparación",
    "shipped": "enviado",
    "in_transit": "en camino",
    "out_for_delivery": "en reparto",
    "delivered": "entregado",
    "incident": "con una incidencia en la entrega",
    "returned": "devuelto",
}


class ValidateOrderForm(TopicFormValidation):
    """Finds the order by number, then checks the delivery postcode before any detail."""

    own_intents = frozenset({"track_order"})

    def name(self) -> str:
        return "validate_order_form"

    async def extract_order_number(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") not in (None, "order_number"):
            return {}
        text = self.answer_for(tracker)
        if text is None:
            return {}
        number = find_number(text, *ORDER_DIGITS)
        if number is None and tracker.get_slot("requested_slot") == "order_number":
            return {"order_number": "bad"}
        return {"order_number": number} if number else {}

    async def validate_order_number(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "bad":
            return self.reject(dispatcher, tracker, "order_number", "order_number_unclear")
        order = services().orders.get(value)
        if order is None:
            return self.reject(
                dispatcher,
                tracker,
                "order_number",
                "order_unknown",
                number=value,
                number_spoken=spell_code(value),
            )
        if order.postcode == tracker.get_slot("verified_postcode"):
            # "¿y el otro pedido?": the customer proved this delivery postcode a moment ago
            return {"order_number": value, "postcode": order.postcode}
        return {"order_number": value}

    async def extract_postcode(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker, "postcode")
        if text is None:
            return {}
        return {"postcode": find_number(text, 5, 5) or "bad"}

    async def validate_postcode(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "bad":
            return self.reject(dispatcher, tracker, "postcode", "postcode_unclear")
        order = services().orders.get(tracker.get_slot("order_number") or "")
        if order and order.postcode == value:
            return {"postcode": value, "verification_failures": 0.0}
        failures = self.failed(tracker)
        if failures["verification_failures"] >= MAX_POSTCODE_TRIES:
            return {"postcode": value, **failures}  # the action refuses the details
        say(dispatcher, tracker, "postcode_mismatch")
        return {"postcode": None, **failures}


class ActionTrackOrder(Action):
    """Gives status, history and delivery estimate once the postcode matched."""

    def name(self) -> str:
        return "action_track_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        order = services().orders.get(tracker.get_slot("order_number") or "")
        reset = [
            SlotSet("order_number", None),
            SlotSet("postcode", None),
            SlotSet("verification_failures", 0.0),
        ]
        if order is None or order.postcode != tracker.get_slot("postcode"):
            say(dispatcher, tracker, "order_verification_failed")
            return [*reset, SlotSet("handoff_offered", True)]
        key, facts = describe_order(order, services().hours.now().date())
        say(dispatcher, tracker, key, **facts)
        # every answer but "on its way" ends by offering a person
        offer = SlotSet("handoff_offered", key != "order_on_its_way")
        return [*reset, offer, SlotSet("verified_postcode", order.postcode)]


def describe_order(order: Order, today: dt.date) -> tuple[str, dict[str, str]]:
    """The reply that fits the order's state, and the words to fill it with."""
    facts = {
        "number": order.number,
        "item": order.item,
        "carrier": order.carrier,
        "status": STATUS_NAMES.get(order.status, order.status),
        "history": join_words(
            [
                f"{STATUS_NAMES.get(e.status, e.status)} {say_date(e.day, today)}"
                for e in order.history
            ]
        )
        or "sin movimientos todavía",
    }
    delivery = say_date(order.estimated_delivery, today) if order.estimated_delivery else ""
    if order.status == "delivered" and order.history:
        return "order_delivered", {**facts, "day": say_date(order.history[-1].day, today)}
    if order.status == "incident":
        note = order.history[-1].note if order.history else ""
        estimate = f" La nueva previsión de entrega es {delivery}." if delivery else ""
        return "order_incident", {
            **facts,
            "note": f": {note}" if note else "",
            "estimate": estimate,
        }
    if delivery:
        return "order_on_its_way", {**facts, "day": delivery}
    return "order_status", facts
