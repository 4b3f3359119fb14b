"""Opening hours: '¿están abiertos ahora?', '¿a qué hora abren mañana?', weekly schedules."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.conversation import is_follow_up, latest_text
from actions.language.dates import parse_when
from actions.language.matching import find_named
from actions.language.phrases import (
    MONTH_NAMES,
    WEEKDAY_NAMES,
    join_words,
    say_date,
    say_ranges,
    say_time,
    say_until,
)
from actions.language.text import fold
from actions.replies import is_voice, say
from actions.services.catalog import Place, TimeRange
from actions.services.hours import HoursService
from actions.services.registry import services

_NOW_WORDS = re.compile(r"\b(ahora|abiertos?|abiertas?|en este momento|ya)\b")


class ActionAnswerOpeningHours(Action):
    """Answers about the shop or department the customer named, from the live clock."""

    def name(self) -> str:
        return "action_answer_opening_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        catalog, hours = services().catalog, services().hours
        # "¿abren mañana?" … "¿De qué tienda?" … "la de gran vía": read both messages together
        text = f"{tracker.get_slot('hours_question') or ''} {latest_text(tracker)}".strip()
        question = HoursQuestion.read(text, hours.now().date())
        if is_follow_up(tracker, "ask_opening_hours"):
            # "¿y el domingo?", "no, perdón, en Valencia": only what was said again changes
            question = question.over(HoursQuestion.from_slot(tracker.get_slot("hours_asked")))
        place, day = question.place, question.day
        done = [
            SlotSet("hours_question", None),
            SlotSet("hours_place_asked", False),
            SlotSet("handoff_offered", False),
        ]
        if place is None and tracker.get_slot("hours_place_asked"):
            # asked back once already: list the places rather than ask again and again
            names = [p.zone or p.name for p in catalog.shops] + [
                d.name for d in catalog.departments
            ]
            say(dispatcher, tracker, "hours_place_unknown", places=join_words(names))
            return done
        if place is None:
            if day is None:  # "¿están abiertos?": say what is open now, then ask which
                self._answer_without_place(dispatcher, tracker, hours, list(catalog.places))
            say(dispatcher, tracker, "hours_which_place")
            return [
                SlotSet("hours_question", text),
                SlotSet("hours_place_asked", True),
                SlotSet("handoff_offered", False),
            ]
        if day is not None:
            self._answer_day(dispatcher, tracker, hours, place, day)
        elif question.now:
            self._answer_now(dispatcher, tracker, hours, place)
        else:
            self._answer_week(dispatcher, tracker, hours, place)
        return [*done, SlotSet("hours_asked", question.to_slot())]

    def _answer_now(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, hours: HoursService, place: Place
    ) -> None:
        now = hours.now()
        current = hours.open_range_at(place, now)
        if current:
            say(
                dispatcher,
                tracker,
                "hours_open_now",
                place=subject(place),
                until=say_until(current[1], is_voice(tracker)),
            )
            return
        say(
            dispatcher,
            tracker,
            "hours_closed_now",
            place=subject(place),
            next=say_next_opening(hours, place, now),
        )

    def _answer_day(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        hours: HoursService,
        place: Place,
        day: dt.date,
    ) -> None:
        today = hours.now().date()
        ranges = hours.ranges_on(place, day)
        if ranges:
            say(
                dispatcher,
                tracker,
                "hours_on_day",
                day=say_date(day, today),
                place=subject(place),
                ranges=say_ranges(ranges, is_voice(tracker)),
            )
            return
        reason = hours.closed_reason(place, day)
        start_of_day = dt.datetime.combine(day, dt.time(), tzinfo=hours.zone)
        say(
            dispatcher,
            tracker,
            "hours_closed_on_day",
            day=say_date(day, today),
            place=subject(place),
            reason=f" por {reason}" if reason else "",
            next=say_next_opening(hours, place, start_of_day),
        )

    def _answer_week(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, hours: HoursService, place: Place
    ) -> None:
        today = hours.now().date()
        schedule = describe_week(hours.week_for(place, today), is_voice(tracker))
        say(
            dispatcher,
            tracker,
            "hours_week",
            place=subject(place),
            schedule=schedule,
            holidays=_holiday_note(hours, place, today),
        )
        if place.summer_week and not hours.is_summer(today):
            say(
                dispatcher,
                tracker,
                "hours_summer",
                period=_say_summer(services().catalog.summer),
                schedule=describe_week(place.summer_week, is_voice(tracker)),
            )

    def _answer_without_place(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        hours: HoursService,
        places: list[Place],
    ) -> None:
        now = hours.now()
        open_now = [
            f"{subject(p)} hasta {say_until(r[1], is_voice(tracker))}"
            for p in places
            if (r := hours.open_range_at(p, now))
        ]
        if open_now:
            say(dispatcher, tracker, "hours_open_list", places=join_words(open_now))
        else:
            openings = [(o, p) for p in places if (o := hours.next_opening(p, now))]
            if not openings:
                say(dispatcher, tracker, "hours_all_closed_long")
                return
            first = min(openings, key=lambda pair: pair[0])[1]
            say(
                dispatcher,
                tracker,
                "hours_all_closed",
                place=subject(first),
                next=say_next_opening(hours, first, now),
            )


@dataclass(frozen=True)
class HoursQuestion:
    """What an hours question asks: which place, which day, or whether it is open now."""

    place: Place | None = None
    day: dt.date | None = None
    now: bool = False

    @classmethod
    def read(cls, text: str, today: dt.date) -> HoursQuestion:
        catalog = services().catalog
        place = find_named(text, catalog.departments) or find_named(text, catalog.shops)
        day = parse_when(text, today).day
        return cls(place, day, day is None and bool(_NOW_WORDS.search(fold(text))))

    def over(self, earlier: HoursQuestion) -> HoursQuestion:
        """This follow-up on top of the question before it: what it names replaces, what it
        leaves out carries over ("¿y el domingo?" keeps the shop, "¿y la de Valencia?" the
        day)."""
        if self.day is not None or self.now:
            return HoursQuestion(self.place or earlier.place, self.day, self.now)
        return HoursQuestion(self.place or earlier.place, earlier.day, earlier.now)

    def to_slot(self) -> dict[str, Any]:
        day = self.day.isoformat() if self.day else None
        return {"place": self.place.id if self.place else None, "day": day, "now": self.now}

    @classmethod
    def from_slot(cls, value: Any) -> HoursQuestion:
        """The question kept in the `hours_asked` slot; anything unreadable is no question."""
        if not isinstance(value, dict):
            return cls()
        by_id = {place.id: place for place in services().catalog.places}
        try:
            day = dt.date.fromisoformat(value["day"]) if value.get("day") else None
        except (TypeError, ValueError):
            day = None
        return cls(by_id.get(str(value.get("place"))), day, value.get("now") is True)


def subject(place: Place) -> str:
    """'la tienda de Madrid Gran Vía', 'el departamento de facturación'."""
    return f"la {place.name}" if place.kind == "shop" else f"el departamento de {place.name}"


def describe_week(week: tuple[tuple[TimeRange, ...], ...], spoken: bool = False) -> str:
    """'de lunes a viernes, de 10:00 a 21:00; el sábado, de 10:00 a 14:00; el domingo, cerrado'."""
    groups: list[tuple[int, int]] = []
    for day in range(7):
        if groups and week[groups[-1][1]] == week[day]:
            groups[-1] = (groups[-1][0], day)
        else:
            groups.append((day, day))
    parts = []
    for first, last in groups:
        days = _say_days(first, last)
        ranges = say_ranges(week[first], spoken) if week[first] else "cerrado"
        parts.append(f"{days}, {ranges}")
    return "; ".join(parts)


def _say_days(first: int, last: int) -> str:
    if first == last:
        return f"el {WEEKDAY_NAMES[first]}"
    if last == first + 1:
        return f"el {WEEKDAY_NAMES[first]} y el {WEEKDAY_NAMES[last]}"
    return f"de {WEEKDAY_NAMES[first]} a {WEEKDAY_NAMES[last]}"


def say_next_opening(hours: HoursService, place: Place, after: dt.datetime) -> str:
    """'hoy a las diez de la mañana', 'el lunes 9 de marzo a las ocho de la mañana'."""
    opening = hours.next_opening(place, after)
    if opening is None:
        return "más adelante; le recomiendo consultarlo con una persona"
    return f"{say_date(opening.date(), hours.now().date())} {say_time(opening.time())}"


def _say_summer(summer: tuple[tuple[int, int], tuple[int, int]] | None) -> str:
    """'del 1 de julio al 31 de agosto'."""
    if summer is None:
        return ""
    (start_month, start_day), (end_month, end_day) = summer
    return (
        f"del {start_day} de {MONTH_NAMES[start_month - 1]} "
        f"al {end_day} de {MONTH_NAMES[end_month - 1]}"
    )


def _holiday_note(hours: HoursService, place: Place, today: dt.date) -> str:
    """Closed days in the next four weeks: ' Próximos días cerrados: el martes 8 de diciembre
    (Inmaculada Concepción).'"""
    closed = []
    for offset in range(28):
        day = today + dt.timedelta(days=offset)
        reason = hours.closed_reason(place, day)
        if reason and hours.week_for(place, day)[day.weekday()]:
            closed.append(f"{say_date(day)} ({reason})")
    if not closed:
        return (
            " También atiende en festivos." if place.open_on_holidays else " En festivos, cerrado."
        )
    return f" Próximos días cerrados: {join_words(closed)}."
