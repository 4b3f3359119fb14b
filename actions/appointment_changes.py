"""Changing an appointment by its booking code: check it, cancel it (after a yes) or move it."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import (
    APPOINTMENT_INTENTS,
    booking_facts,
    booking_incomplete,
    clear_booking_slots,
)
from actions.conversation import bot_spoke_this_turn, latest_intent
from actions.language.numbers import find_code, keypad_entry
from actions.language.phrases import spell_code
from actions.replies import say
from actions.scheduling import (
    WhenValidation,
    appointment_target,
    booking_of,
    start_of,
    taken_meanwhile,
)
from actions.services.registry import services

YES_NO_CONFIDENCE = 0.6


class BookingCodeValidation(WhenValidation):
    """Reads a booking code and checks that a confirmed booking has it."""

    own_intents = APPOINTMENT_INTENTS

    async def extract_booking_code(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        text = self.answer_for(tracker)
        code = find_code(text, 2, 4) if text else None
        keys = keypad_entry(text, 6) if text and code is None else None
        if keys is not None:  # keyed on the phone: letters as their keys, if only one fits
            matches = services().appointments.find_keyed(keys)
            code = matches[0] if len(matches) == 1 else None
        if code is None and text and tracker.get_slot("requested_slot") == "booking_code":
            return {"booking_code": "bad"}
        return {"booking_code": code} if code else {}

    async def validate_booking_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value == "bad":
            return self.reject(dispatcher, tracker, "booking_code", "code_unclear")
        booking = services().appointments.get(value)
        if booking is None or (booking.status != "confirmed" and self.needs_confirmed):
            key = "code_unknown" if booking is None else "booking_already_cancelled"
            return self.reject(
                dispatcher, tracker, "booking_code", key, code=value, code_spoken=spell_code(value)
            )
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
    """'¿Anulo su instalación de fibra prevista para el martes 3 de marzo a las diez…?'."""

    def name(self) -> str:
        return "action_ask_cancel_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        booking = booking_of(tracker)
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
        booking = booking_of(tracker)
        if booking is None:
            return booking_incomplete(dispatcher, tracker)
        key = "booking_is_cancelled" if booking.status == "cancelled" else "booking_details"
        say(dispatcher, tracker, key, **booking_facts(booking))
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
        booking = services().appointments.cancel(code, tracker.sender_id) if code else None
        if booking is None:
            return booking_incomplete(dispatcher, tracker)
        say(dispatcher, tracker, "booking_cancelled", **booking_facts(booking))
        return clear_booking_slots()


class ActionRescheduleAppointment(Action):
    """Moves the booking to the new date and time."""

    def name(self) -> str:
        return "action_reschedule_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        code, start = tracker.get_slot("booking_code"), start_of(tracker)
        if not code or start is None:
            return booking_incomplete(dispatcher, tracker)
        booking = services().appointments.reschedule(code, start, tracker.sender_id)
        target = appointment_target(tracker)
        if booking is None and target is not None:
            return taken_meanwhile(dispatcher, tracker, target, start, "reschedule_form")
        if booking is None:
            return booking_incomplete(dispatcher, tracker)
        say(dispatcher, tracker, "booking_moved", **booking_facts(booking))
        return clear_booking_slots()
