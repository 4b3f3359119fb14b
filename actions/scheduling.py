"""Choosing a date and time inside a form: reading it, checking it, offering alternatives.

Shared by the booking and the rescheduling forms. The customer may give the date and the time
together or apart, in any order; the full availability check runs once both are known.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import latest_text
from actions.forms import TopicFormValidation
from actions.language.dates import AFTERNOON, EVENING, MORNING, parse_when
from actions.language.phrases import join_words, say_date, say_time
from actions.language.text import fold
from actions.replies import say
from actions.services.appointments import Booking, SlotProblem
from actions.services.catalog import Place, Service
from actions.services.registry import services

BAD = "bad:"  # prefix of a date or time the customer said that does not exist
_ORDINALS = {"primer": 0, "primera": 0, "primero": 0, "segunda": 1, "segundo": 1,
             "tercera": 2, "tercero": 2, "tercer": 2}  # fmt: skip
# Slots asked before the contact details: while they are asked, any message may name the
# service, the place, the day or the time; a name or phone number must not move them.
BEFORE_CONTACT = (None, "service", "place", "date", "time", "booking_code")
_PARTS = {MORNING: (0, 14), AFTERNOON: (14, 20), EVENING: (20, 24)}


def say_start(start: dt.datetime, today: dt.date) -> str:
    """'el martes 3 de marzo a las diez y media de la mañana'."""
    return f"{say_date(start.date(), today)} {say_time(start.time())}"


def say_where(service: Service, shop: Place) -> str:
    """'en la tienda de Madrid Gran Vía', or for visits at home 'en la zona de Madrid'."""
    if service.at_home:
        return f"en la zona de {shop.zone or shop.name}"
    return f"en la {shop.name}"


def start_payload(start: dt.datetime) -> str:
    """A button payload the date parser reads back exactly: '03/03/2026 a las 10:30'."""
    return f"{start:%d/%m/%Y} a las {start:%H:%M}"


class WhenValidation(TopicFormValidation):
    """Extracts and checks the `date` and `time` slots against a service and a place."""

    def service_and_place(self, tracker: Tracker) -> tuple[Service, Place] | None:
        """What the appointment is for; None while not known yet."""
        return appointment_target(tracker)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """As any form validation, plus `part_of_day` ('por la tarde'), which is not a form slot
        and so would be dropped by rasa_sdk; the time question uses it to offer fitting times."""
        events = await super().run(dispatcher, tracker, domain)
        text = self.answer_for(tracker)
        part = parse_when(text, services().hours.now().date()).part_of_day if text else None
        # added only to a turn that set slots already: an empty one must stay empty (see above)
        return events + [SlotSet("part_of_day", part)] if part and events else events

    async def extract_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._extract_when(tracker)

    async def extract_time(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return {}  # extract_date fills both, so one message is read once

    def _extract_when(self, tracker: Tracker) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") not in BEFORE_CONTACT:
            return {}  # a name or a phone number is not a date
        text = self.answer_for(tracker)
        if text is None:
            return {}
        chosen = _chosen_alternative(text, tracker.get_slot("alternatives") or [])
        if chosen:
            return {
                "date": chosen.date().isoformat(),
                "time": chosen.strftime("%H:%M"),
                "alternatives": None,
            }
        when = parse_when(text, services().hours.now().date())
        slots: dict[str, Any] = {}
        if when.bad_date:
            slots["date"] = BAD + when.bad_date
        elif when.day:
            slots["date"] = when.day.isoformat()
        if when.bad_time:
            slots["time"] = BAD + when.bad_time
        elif when.time:
            slots["time"] = when.time.strftime("%H:%M")
        return slots

    async def validate_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if str(value).startswith(BAD):
            return self.reject(
                dispatcher, tracker, "date", "date_impossible", said=str(value)[len(BAD) :]
            )
        target = self.service_and_place(tracker)
        if target is None:
            return {"date": value}
        day = dt.date.fromisoformat(value)
        problem = services().appointments.day_problem(*target, day)
        if problem:
            return self._refuse(
                dispatcher,
                tracker,
                target,
                problem,
                dt.datetime.combine(day, dt.time(9), tzinfo=services().hours.zone),
            )
        if tracker.get_slot("time") and parse_when(latest_text(tracker), day).time is None:
            return self._check_start(dispatcher, tracker, target, value, tracker.get_slot("time"))
        return {"date": value}

    async def validate_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if str(value).startswith(BAD):
            return self.reject(
                dispatcher, tracker, "time", "time_impossible", said=str(value)[len(BAD) :]
            )
        target, day = self.service_and_place(tracker), tracker.get_slot("date")
        if target is None or not day or str(day).startswith(BAD):
            return {"time": value}
        return self._check_start(dispatcher, tracker, target, day, value)

    def _check_start(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        target: tuple[Service, Place],
        day: str,
        clock: str,
    ) -> dict[str, Any]:
        zone = services().hours.zone
        start = dt.datetime.combine(
            dt.date.fromisoformat(day), dt.time.fromisoformat(clock), tzinfo=zone
        )
        problem = services().appointments.slot_problem(*target, start)
        if problem is None:
            return {"date": day, "time": clock, "alternatives": None}
        return self._refuse(dispatcher, tracker, target, problem, start)

    def _refuse(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        target: tuple[Service, Place],
        problem: SlotProblem,
        wanted: dt.datetime,
    ) -> dict[str, Any]:
        """Says why the time cannot be had and offers the nearest free ones."""
        service, place = target
        today = services().hours.now().date()
        reason = services().hours.closed_reason(place, wanted.date())
        say(
            dispatcher,
            tracker,
            f"slot_{problem.value}",
            day=say_date(wanted.date(), today),
            time=say_time(wanted.time()),
            service=service.name,
            where=say_where(service, place),
            reason=f" por {reason}" if reason else "",
            days=services().catalog.booking.horizon_days,
            hours=services().catalog.booking.min_notice_hours,
        )
        options = services().appointments.alternatives(service, place, max(wanted, _now()))
        return {"date": None, "time": None, **offer_alternatives(dispatcher, tracker, options)}


def offer_alternatives(
    dispatcher: CollectingDispatcher, tracker: Tracker, options: list[dt.datetime]
) -> dict[str, Any]:
    """Offers `options` (buttons on chat) and returns the slots that remember them; with none
    left, offers a person instead."""
    today = services().hours.now().date()
    if not options:
        say(dispatcher, tracker, "no_alternatives")
        return {"alternatives": None, "handoff_offered": True}
    spoken = [say_start(o, today) for o in options]
    buttons = [
        {"title": s[0].upper() + s[1:], "payload": start_payload(o)}
        for s, o in zip(spoken, options, strict=True)
    ]
    say(dispatcher, tracker, "alternatives", buttons, options=join_words(spoken, last="o"))
    return {"alternatives": [option.isoformat() for option in options]}


def taken_meanwhile(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    target: tuple[Service, Place],
    wanted: dt.datetime,
    form: str,
) -> list[dict[str, Any]]:
    """The chosen time was taken between the question and the booking: say so, offer the
    nearest free ones and go back to the form's date question."""
    say(dispatcher, tracker, "slot_just_taken")
    options = services().appointments.alternatives(*target, wanted)
    slots = {"date": None, "time": None, **offer_alternatives(dispatcher, tracker, options)}
    return [*(SlotSet(name, value) for name, value in slots.items()), FollowupAction(form)]


def free_times_on(
    service: Service, place: Place, day: dt.date, part_of_day: str | None
) -> list[dt.datetime]:
    """Free starts on `day`, only in the part of the day the customer asked for, if any."""
    free = services().appointments.free_starts(service, place, day)
    if part_of_day in _PARTS:
        low, high = _PARTS[part_of_day]
        free = [start for start in free if low <= start.hour < high] or free
    return free


def _chosen_alternative(text: str, alternatives: list[str]) -> dt.datetime | None:
    """'la segunda', 'el primero', 'esa': one of the times just offered."""
    if not alternatives:
        return None
    if parse_when(text, services().hours.now().date()).day:
        return None  # "el primero de abril" names a date, not the first option
    words = re.findall(r"[a-zñ]+", fold(text))
    for word in words:
        if word in _ORDINALS and _ORDINALS[word] < len(alternatives):
            return dt.datetime.fromisoformat(alternatives[_ORDINALS[word]])
    if len(alternatives) == 1 and words and words[0] in ("esa", "ese", "vale", "si", "perfecto"):
        return dt.datetime.fromisoformat(alternatives[0])
    return None


def _now() -> dt.datetime:
    return services().hours.now()


def appointment_target(tracker: Tracker) -> tuple[Service, Place] | None:
    """The service and place being booked, or those of the booking whose code was given."""
    service_id, place_id = tracker.get_slot("service"), tracker.get_slot("place")
    if service_id and place_id:
        return services().catalog.service(service_id), services().catalog.shop(place_id)
    booking = booking_of(tracker)
    if booking:
        return services().catalog.service(booking.service_id), services().catalog.shop(
            booking.place_id
        )
    return None


def booking_of(tracker: Tracker) -> Booking | None:
    """The booking whose code the customer gave, if any."""
    code = tracker.get_slot("booking_code")
    return services().appointments.get(code) if code and code != "bad" else None


def start_of(tracker: Tracker) -> dt.datetime | None:
    """The start chosen in the `date` and `time` slots, in the business time zone."""
    day, clock = tracker.get_slot("date"), tracker.get_slot("time")
    if not day or not clock:
        return None
    return dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time.fromisoformat(clock), tzinfo=services().hours.zone
    )
