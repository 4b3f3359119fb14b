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
    hour, minute = moment.hour, moment.minute
    if minute == 45:
        hour += 1
    twelve = hour % 12 or 12
    article = "a la" if twelve == 1 else "a las"
    words = "una" if twelve == 1 else num2words(twelve, lang="es")
    if minute in _MINUTES:
        words += _MINUTES[minute]
    else:
        words += f" y {num2words(minute, lang='es')}"
    return f"{article} {words}{_part_of_day(hour)}"


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


def say_clock(moment: dt.time) -> str:
    """'10:00' style for written lists such as weekly schedules."""
    return moment.strftime("%H:%M")


def say_ranges(ranges: tuple[tuple[dt.time, dt.time], ...]) -> str:
    """'de 10:00 a 14:00 y de 17:00 a 21:00'."""
    return join_words([f"de {say_clock(start)} a {say_clock(end)}" for start, end in ranges])


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
