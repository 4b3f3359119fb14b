"""Says dates, times, codes and lists the way a Spanish agent would, never as ISO strings."""

from __future__ import annotations

import datetime as dt

from num2words import num2words

from actions.language.text import fold

WEEKDAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTH_NAMES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
_MINUTES = {0: "", 15: " y cuarto", 30: " y media", 45: " menos cuarto"}


def say_date(day: dt.date, today: dt.date | None = None) -> str:
    """'hoy', 'mañana', or 'el martes 3 de marzo' (with the year only when it is not this one)."""
    if today is not None:
        if day == today:
            return "hoy"
        if day == today + dt.timedelta(days=1):
            return "mañana"
    text = f"el {WEEKDAY_NAMES[day.weekday()]} {day.day} de {MONTH_NAMES[day.month - 1]}"
    if today is not None and day.year != today.year:
        text += f" de {day.year}"
    return text


def say_time(moment: dt.time) -> str:
    """'a las diez y media', 'a la una', 'a las cinco de la tarde'."""
    return f"a {hour_article(moment)} {clock_words(moment)}"


def hour_article(moment: dt.time) -> str:
    """'la' for the one o'clock hour ('la una', 'la una menos cuarto'), 'las' otherwise."""
    hour = moment.hour + (1 if moment.minute == 45 else 0)
    return "la" if hour % 12 == 1 else "las"


def clock_words(moment: dt.time) -> str:
    """'diez y media de la mañana', 'una de la tarde', 'nueve de la noche': a time as said."""
    hour, minute = moment.hour, moment.minute
    if minute == 45:
        hour += 1
    twelve = hour % 12 or 12
    words = "una" if twelve == 1 else num2words(twelve, lang="es")
    if minute in _MINUTES:
        words += _MINUTES[minute]
    else:
        words += f" y {num2words(minute, lang='es')}"
    return f"{words}{_part_of_day(hour)}"


def _part_of_day(hour: int) -> str:
    if hour == 12:
        return " del mediodía"
    if hour < 6:
        return " de la madrugada"
    if 6 <= hour < 12:
        return " de la mañana"
    if 13 <= hour < 21:
        return " de la tarde"
    return " de la noche"


def say_clock(moment: dt.time, spoken: bool = False) -> str:
    """'10:00' for written lists such as weekly schedules; on the phone 'diez de la mañana'."""
    return clock_words(moment) if spoken else moment.strftime("%H:%M")


def say_until(moment: dt.time, spoken: bool = False) -> str:
    """What follows 'hasta': 'las 21:00'; on the phone 'las nueve de la noche', 'la una…'."""
    return f"{hour_article(moment) if spoken else 'las'} {say_clock(moment, spoken)}"


def say_ranges(ranges: tuple[tuple[dt.time, dt.time], ...], spoken: bool = False) -> str:
    """'de 10:00 a 14:00 y de 17:00 a 21:00'; on the phone 'de diez de la mañana a dos de la
    tarde…'."""
    return join_words(
        [f"de {say_clock(start, spoken)} a {say_clock(end, spoken)}" for start, end in ranges]
    )


def join_words(items: list[str], last: str = "y") -> str:
    """'a', 'a y b', 'a, b y c'; 'y' becomes 'e' before an i sound, 'o' becomes 'u' before an
    o sound ('Sevilla e Ibiza', 'Madrid u Oviedo')."""
    if len(items) <= 1:
        return "".join(items)
    sound = fold(items[-1]).removeprefix("h")
    if last == "y" and sound.startswith("i") and not sound.startswith("ie"):
        last = "e"
    elif last == "o" and sound.startswith("o"):
        last = "u"
    return f"{', '.join(items[:-1])} {last} {items[-1]}"


def spell_code(code: str) -> str:
    """'KP4821' -> 'K, P, cuatro, ocho, dos, uno': easy to follow on the phone."""
    return ", ".join(
        num2words(int(c), lang="es") if c.isdigit() else c for c in code if c.isalnum()
    )
