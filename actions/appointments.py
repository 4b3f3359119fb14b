"""Booking an appointment: the form that collects service, place, date, time, name and phone."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import bot_spoke_this_turn
from actions.language.matching import find_named
from actions.language.numbers import find_phone
from actions.language.phrases import join_words, say_date, say_time, spell_code
from actions.replies import say
from actions.scheduling import (
    BEFORE_CONTACT,
    WhenValidation,
    appointment_target,
    free_times_on,
    offer_alternatives,
    say_start,
    say_where,
    start_of,
    start_payload,
    taken_meanwhile,
)
from actions.services.appointments import Booking
from actions.services.registry import services

BOOKING_SLOTS = (
    "service",
    "place",
    "date",
    "time",
    "part_of_day",
    "customer_name",
    "phone",
    "booking_code",
    "cancel_confirmed",
    "alternatives",
)
APPOINTMENT_INTENTS = frozenset(
    {"book_appointment", "reschedule_appointment", "cancel_appointment", "check_appointment"}
)
MAX_NAME_WORDS = 6
_NAME_LEAD = re.compile(
    r"^(me llamo|mi nombre es|soy|a nombre de|pues|es|eh|el nombre es)\s+", re.I
)


def clear_booking_slots() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


def booking_incomplete(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """A step found the booking's data missing: say so, start afresh and offer a person."""
    say(dispatcher, tracker, "booking_incomplete")
    return [*clear_booking_slots(), SlotSet("handoff_offered", True)]


def booking_facts(booking: Booking) -> dict[str, str]:
    """Template values describing a booking in plain words."""
    catalog = services().catalog
    service, shop = catalog.service(booking.service_id), catalog.shop(booking.place_id)
    return {
        "service": service.name,
        "where": say_where(service, shop),
        "when": say_start(booking.starts_at, services().hours.now().date()),
        "code": booking.code,
        "code_spoken": spell_code(booking.code),
    }


class ValidateAppointmentForm(WhenValidation):
    """Collects service, place, date, time, name and phone, checking availability on the way."""

    own_intents = APPOINTMENT_INTENTS

    def name(self) -> str:
        return "validate_appointment_form"

    async def extract_service(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        if text is None or tracker.get_slot("requested_slot") not in BEFORE_CONTACT:
            return {}  # "Carmen Colón" answers the name; it does not move the booking to Colón
        found = find_named(text, services().catalog.services)
        return {"service": found.id} if found else {}

    async def extract_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        if text is None or tracker.get_slot("requested_slot") not in BEFORE_CONTACT:
            return {}
        found = find_named(text, services().catalog.shops)
        return {"place": found.id} if found else {}

    async def extract_customer_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker, "customer_name")
        if text is None:
            return {}
        name = _NAME_LEAD.sub("", text.strip(" .,!¡¿?")).strip()
        return {"customer_name": name}

    async def validate_customer_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        name = str(value)
        if (
            not 2 <= len(name) <= 80
            or len(name.split()) > MAX_NAME_WORDS
            or not re.fullmatch(r"[^\W\d_]+(?:[\s'.-]+[^\W\d_]+)*", name)
        ):
            return self.reject(dispatcher, tracker, "customer_name", "name_unclear")
        return {"customer_name": name if name != name.lower() else name.title()}

    async def extract_phone(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker, "phone")
        if text is None:
            return {}
        return {"phone": find_phone(text) or "bad"}

    async def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "bad":
            return self.reject(dispatcher, tracker, "phone", "phone_unclear")
        return {"phone": value}


class ActionAskPlace(Action):
    """Asks where, naming the shops from the operator's data."""

    def name(self) -> str:
        return "action_ask_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        shops = services().catalog.shops
        service_id = tracker.get_slot("service")
        at_home = service_id and services().catalog.service(service_id).at_home
        cities = [shop.zone or shop.name for shop in shops]
        buttons = [{"title": city, "payload": city} for city in cities]
        key = "ask_place_home" if at_home else "ask_place_shop"
        if not bot_spoke_this_turn(tracker):
            say(dispatcher, tracker, key, buttons, places=join_words(cities, last="o"))
        return []


class ActionAskTime(Action):
    """Asks for the time, offering the free ones of that day."""

    def name(self) -> str:
        return "action_ask_time"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if bot_spoke_this_turn(tracker):
            return []
        target = appointment_target(tracker)
        day = tracker.get_slot("date")
        if target is None or not day:
            say(dispatcher, tracker, "ask_time")
            return []
        free = free_times_on(*target, dt.date.fromisoformat(day), tracker.get_slot("part_of_day"))
        if not free:  # the day filled up since it was accepted
            wanted = dt.datetime.combine(
                dt.date.fromisoformat(day), dt.time(), tzinfo=services().hours.zone
            )
            options = services().appointments.alternatives(*target, wanted)
            today = services().hours.now().date()
            say(
                dispatcher,
                tracker,
                "slot_day_full",
                day=say_date(wanted.date(), today),
                where=say_where(*target),
            )
            slots = {"date": None, **offer_alternatives(dispatcher, tracker, options)}
            return [SlotSet(name, value) for name, value in slots.items()]
        shown = free[:4]
        buttons = [{"title": f"{s:%H:%M}", "payload": start_payload(s)} for s in shown]
        # the day and the place said again, so that a change ("¿y para el martes?", "no,
        # perdón, en Valencia") is seen to have been understood
        today = services().hours.now().date()
        say(
            dispatcher,
            tracker,
            "ask_time_with_options",
            buttons,
            day=say_date(dt.date.fromisoformat(day), today).capitalize(),
            where=say_where(*target),
            options=join_words([say_time(s.time()) for s in shown], last="o"),
        )
        return []


class ActionBookAppointment(Action):
    """Books the collected appointment and gives the booking code."""

    def name(self) -> str:
        return "action_book_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        service, place = appointment_target(tracker) or (None, None)
        start = start_of(tracker)
        if service is None or place is None or start is None:
            return booking_incomplete(dispatcher, tracker)
        booking = services().appointments.book(
            service,
            place,
            start,
            tracker.get_slot("customer_name"),
            tracker.get_slot("phone"),
            conversation_id=tracker.sender_id,
        )
        if booking is None:
            return taken_meanwhile(dispatcher, tracker, (service, place), start, "appointment_form")
        say(dispatcher, tracker, "booking_confirmed", **booking_facts(booking))
        return clear_booking_slots()
