"""Reads Spanish dates and times as customers say them: 'pasado mañana', 'el lunes que viene
a las diez', 'mañana por la tarde', 'el 14 de marzo', 'a las cinco y media'."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import dateparser

from actions.language.phrases import MONTH_NAMES
from actions.language.text import fold, with_digits

EARLY, MORNING, AFTERNOON, EVENING = "early", "morning", "afternoon", "evening"

_WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
_PARTS = (
    (re.compile(r"\b(por|de|en|a) la (mañana|manana)\b"), MORNING),
    (re.compile(r"\besta (mañana|manana)\b"), MORNING),
    (re.compile(r"\b(por|de|en|a) la tarde\b|\besta tarde\b"), AFTERNOON),
    (re.compile(r"\b(por|de|en|a) la noche\b|\besta noche\b"), EVENING),
    (re.compile(r"\b(por|de|en|a) la madrugada\b"), EARLY),
)
_MONTHS = "|".join(fold(month) for month in MONTH_NAMES) + "|setiembre"
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}}|primero) (?:de )?({_MONTHS})(?: (?:de |del )?(\d{{4}}))?\b")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/\-](\d{1,2})(?:[/\-](\d{2,4}))?\b")
_DAY_ONLY = re.compile(r"\b(?:el )?dia (\d{1,2})\b")
_CLOCK = re.compile(r"\b(\d{1,2})[:h.](\d{2})\b")
_SPOKEN_TIME = re.compile(
    r"\b(?:a|sobre|hacia|para|de|desde) (?:las|la) (\d{1,2}|una|uno|dos)"
    r"(?: y (media|cuarto|4º|\d{1,2})| menos (cuarto|4º|\d{1,2}))?"
)
_SMALL = {"una": 1, "uno": 1, "dos": 2}


@dataclass(frozen=True)
class When:
    """What a customer said about a date and time; every field is optional.

    Attributes:
        part_of_day: EARLY, MORNING, AFTERNOON or EVENING when said without an exact time.
        bad_date: the words of a date that does not exist ('31 de febrero').
        bad_time: the words of a time that does not exist ('25:70').
    """

    day: dt.date | None = None
    time: dt.time | None = None
    part_of_day: str | None = None
    bad_date: str | None = None
    bad_time: str | None = None


def parse_when(text: str, today: dt.date) -> When:
    """Finds a date and a time in `text`, relative to `today`."""
    folded = fold(text)
    part_of_day = None
    for pattern, part in _PARTS:
        if pattern.search(folded):
            part_of_day = part
            folded = pattern.sub(" ", folded)
    if re.search(r"\bmediodia\b", folded):
        folded += " a las 12:00"
    numbered = with_digits(folded)
    day, bad_date = _find_day(numbered, today)
    moment, bad_time = _find_time(numbered, part_of_day)
    return When(day, moment, part_of_day if moment is None else None, bad_date, bad_time)


def _find_day(text: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    if re.search(r"\bpasado (mañana|manana)\b", text):
        return today + dt.timedelta(days=2), None
    if re.search(r"\b(mañana|manana)\b", text):
        return today + dt.timedelta(days=1), None
    if re.search(r"\bhoy\b", text):
        return today, None
    in_days = re.search(r"\bdentro de (\d+) dias?\b", text)
    if in_days:
        return today + dt.timedelta(days=int(in_days.group(1))), None
    # an explicit date wins over its weekday: "el lunes 2 de marzo" is the 2nd, not next Monday
    calendar_date = _find_calendar_date(text, today)
    if calendar_date != (None, None):
        return calendar_date
    return _find_weekday(text, today), None


def _find_weekday(text: str, today: dt.date) -> dt.date | None:
    match = re.search(r"\b(" + "|".join(_WEEKDAYS) + r")\b", text)
    if not match:
        return None
    target = _WEEKDAYS.index(match.group(1))
    if re.search(r"\b(semana que viene|proxima semana|semana proxima|siguiente semana)\b", text):
        next_monday = today + dt.timedelta(days=7 - today.weekday())
        return next_monday + dt.timedelta(days=target)
    # "el lunes", "el lunes que viene", "el próximo lunes": the next one after today
    return today + dt.timedelta(days=(target - today.weekday() - 1) % 7 + 1)


def _find_calendar_date(text: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    match = _DAY_MONTH.search(text) or _NUMERIC_DATE.search(text)
    if match:
        said = match.group(0).replace("primero", "1")
        parsed = dateparser.parse(
            said,
            languages=["es"],
            settings={
                "RELATIVE_BASE": dt.datetime.combine(today, dt.time()),
                "PREFER_DATES_FROM": "future",
                "DATE_ORDER": "DMY",
                "STRICT_PARSING": False,
            },
        )
        return (parsed.date(), None) if parsed else (None, match.group(0))
    day_only = _DAY_ONLY.search(text)
    if day_only:
        return _next_day_of_month(int(day_only.group(1)), today, f"día {day_only.group(1)}")
    return None, None


def _next_day_of_month(number: int, today: dt.date, said: str) -> tuple[dt.date | None, str | None]:
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = dt.date(year, month, number)
        except ValueError:
            candidate = None
        if candidate and candidate >= today:
            return candidate, None
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None, said


def _find_time(text: str, part_of_day: str | None) -> tuple[dt.time | None, str | None]:
    clock = _CLOCK.search(text)
    spoken = None if clock else _SPOKEN_TIME.search(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
    elif spoken:
        hour = _SMALL.get(spoken.group(1)) or int(spoken.group(1))
        minute = _minutes(spoken.group(2), spoken.group(3))
        if minute < 0:
            hour, minute = hour - 1, 60 + minute
    else:
        return None, None
    if hour > 23 or minute > 59:
        return None, f"{hour}:{minute:02d}"
    return dt.time(_twenty_four(hour, part_of_day), minute), None


def _minutes(after: str | None, before: str | None) -> int:
    words = {"media": 30, "cuarto": 15, "4º": 15}
    if after:
        return words.get(after) or int(after)
    if before:
        return -(words.get(before) or int(before))
    return 0


def _twenty_four(hour: int, part_of_day: str | None) -> int:
    """Business hours resolve '12-hour' times: 'a las cinco' is 17:00, 'a las nueve' 09:00,
    unless the customer said 'de la madrugada' or 'de la mañana'."""
    if hour >= 12 or hour == 0 or part_of_day == EARLY:
        return hour
    if part_of_day in (AFTERNOON, EVENING) or (part_of_day is None and hour <= 7):
        return hour + 12
    return hour
