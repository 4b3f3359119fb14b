"""Appointments: book (a form), then check, cancel or reschedule by booking code."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import bot_spoke_this_turn, latest_intent
from actions.language.matching import find_named
from actions.language.numbers import find_code, find_phone
from actions.language.phrases import join_words, say_time, spell_code
from actions.replies import say
from actions.scheduling import (
    WhenValidation,
    free_times_on,
    offer_alternatives,
    say_start,
    say_where,
    start_payload,
)
from actions.services.appointments import Booking
from actions.services.catalog import Place, Service
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
YES_NO_CONFIDENCE = 0.6
MAX_NAME_WORDS = 6
_NAME_LEAD = re.compile(
    r"^(me llamo|mi nombre es|soy|a nombre de|pues|es|eh|el nombre es)\s+", re.I
)


def clear_booking_slots() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in BOOKING_SLOTS]


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

    def service_and_place(self, tracker: Tracker) -> tuple[Service, Place] | None:
        service_id, place_id = tracker.get_slot("service"), tracker.get_slot("place")
        if not service_id or not place_id:
            return None
        return services().catalog.service(service_id), services().catalog.shop(place_id)

    async def extract_service(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        found = find_named(text, services().catalog.services) if text else None
        return {"service": found.id} if found else {}

    async def extract_place(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        found = find_named(text, services().catalog.shops) if text else None
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
            say(dispatcher, tracker, "name_unclear")
            return {"customer_name": None}
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
            say(dispatcher, tracker, "phone_unclear")
            return {"phone": None}
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


class ActionAskDate(Action):
    """Asks for the day, unless a reply of this turn asked already (e.g. offering alternatives)."""

    def name(self) -> str:
        return "action_ask_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not bot_spoke_this_turn(tracker):
            say(dispatcher, tracker, "ask_date")
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
        target = _target(tracker)
        day = tracker.get_slot("date")
        if target is None or not day:
            say(dispatcher, tracker, "ask_time")
            return []
        free = free_times_on(*target, dt.date.fromisoformat(day), tracker.get_slot("part_of_day"))
        shown = free[:4]
        buttons = [{"title": f"{s:%H:%M}", "payload": start_payload(s)} for s in shown]
        say(
            dispatcher,
            tracker,
            "ask_time_with_options",
            buttons,
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
        service, place = _target(tracker) or (None, None)
        start = _start(tracker)
        if service is None or place is None or start is None:
            say(dispatcher, tracker, "booking_incomplete")
            return clear_booking_slots()
        booking = services().appointments.book(
            service, place, start, tracker.get_slot("customer_name"), tracker.get_slot("phone")
        )
        if booking is None:
            say(dispatcher, tracker, "slot_just_taken")
            options = services().appointments.alternatives(service, place, start)
            offer_alternatives(dispatcher, tracker, options)
            return [
                SlotSet("date", None),
                SlotSet("time", None),
                SlotSet("alternatives", [o.isoformat() for o in options] or None),
                FollowupAction("appointment_form"),
            ]
        say(dispatcher, tracker, "booking_confirmed", **booking_facts(booking))
        return clear_booking_slots()


class BookingCodeValidation(WhenValidation):
    """Reads a booking code and checks that a confirmed booking has it."""

    own_intents = APPOINTMENT_INTENTS

    def service_and_place(self, tracker: Tracker) -> tuple[Service, Place] | None:
        booking = _booking(tracker)
        if booking is None:
            return None
        catalog = services().catalog
        return catalog.service(booking.service_id), catalog.shop(booking.place_id)

    async def extract_booking_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        code = find_code(text, 2, 4) if text else None
        if code is None and text and tracker.get_slot("requested_slot") == "booking_code":
            return {"booking_code": "bad"}
        return {"booking_code": code} if code else {}

    async def validate_booking_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "bad":
            say(dispatcher, tracker, "code_unclear")
            return {"booking_code": None}
        booking = services().appointments.get(value)
        if booking is None or (booking.status != "confirmed" and self.needs_confirmed):
            key = "code_unknown" if booking is None else "booking_already_cancelled"
            say(dispatcher, tracker, key, code=value, code_spoken=spell_code(value))
            return {"booking_code": None}
        return {"booking_code": value}

    needs_confirmed = True


class ValidateCheckForm(BookingCodeValidation):
    """Asks for the code of the booking to look up; cancelled ones are found too."""

    needs_confirmed = False

    def name(self) -> str:
        return "validate_check_form"


class ValidateCancelForm(BookingCodeValidation):
    """Asks for the code, then for a yes or no before cancelling."""

    def name(self) -> str:
        return "validate_cancel_form"

    async def extract_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != "cancel_confirmed":
            return {}
        intent, confidence = latest_intent(tracker)
        if confidence < YES_NO_CONFIDENCE:
            return {}  # cancelling on a doubtful "yes" would lose the customer's booking
        return {"affirm": {"cancel_confirmed": True}, "deny": {"cancel_confirmed": False}}.get(
            intent or "", {}
        )


class ValidateRescheduleForm(BookingCodeValidation):
    """Asks for the code, then for the new date and time."""

    def name(self) -> str:
        return "validate_reschedule_form"


class ActionAskCancelConfirmed(Action):
    """'¿Anulo su cita de instalación de fibra del martes 3 de marzo a las diez?'."""

    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        booking = _booking(tracker)
        if booking and not bot_spoke_this_turn(tracker):
            say(dispatcher, tracker, "ask_cancel_confirmed", **booking_facts(booking))
        return []


class ActionCheckAppointment(Action):
    """Tells the customer what their booking is."""

    def name(self) -> str:
        return "action_check_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        booking = _booking(tracker)
        if booking is None:
            say(dispatcher, tracker, "booking_incomplete")
        elif booking.status == "cancelled":
            say(dispatcher, tracker, "booking_is_cancelled", **booking_facts(booking))
        else:
            say(dispatcher, tracker, "booking_details", **booking_facts(booking))
        return clear_booking_slots()


class ActionCancelAppointment(Action):
    """Cancels the booking once the customer said yes."""

    def name(self) -> str:
        return "action_cancel_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code = tracker.get_slot("booking_code")
        if not tracker.get_slot("cancel_confirmed"):
            say(dispatcher, tracker, "booking_kept")
            return clear_booking_slots()
        booking = services().appointments.cancel(code) if code else None
        if booking is None:
            say(dispatcher, tracker, "booking_incomplete")
        else:
            say(dispatcher, tracker, "booking_cancelled", **booking_facts(booking))
        return clear_booking_slots()


class ActionRescheduleAppointment(Action):
    """Moves the booking to the new date and time."""

    def name(self) -> str:
        return "action_reschedule_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code, start = tracker.get_slot("booking_code"), _start(tracker)
        if not code or start is None:
            say(dispatcher, tracker, "booking_incomplete")
            return clear_booking_slots()
        booking = services().appointments.reschedule(code, start)
        if booking is None:
            say(dispatcher, tracker, "slot_just_taken")
            return [SlotSet("date", None), SlotSet("time", None), FollowupAction("reschedule_form")]
        say(dispatcher, tracker, "booking_moved", **booking_facts(booking))
        return clear_booking_slots()


def _target(tracker: Tracker) -> tuple[Service, Place] | None:
    service_id, place_id = tracker.get_slot("service"), tracker.get_slot("place")
    if service_id and place_id:
        return services().catalog.service(service_id), services().catalog.shop(place_id)
    booking = _booking(tracker)
    if booking:
        return services().catalog.service(booking.service_id), services().catalog.shop(
            booking.place_id
        )
    return None


def _booking(tracker: Tracker) -> Booking | None:
    code = tracker.get_slot("booking_code")
    return services().appointments.get(code) if code and code != "bad" else None


def _start(tracker: Tracker) -> dt.datetime | None:
    day, clock = tracker.get_slot("date"), tracker.get_slot("time")
    if not day or not clock:
        return None
    return dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time.fromisoformat(clock), tzinfo=services().hours.zone
    )
