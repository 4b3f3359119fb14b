"""Spanish dates and times as customers say them."""

import datetime as dt

import pytest

from actions.language.dates import AFTERNOON, MORNING, parse_when

SUNDAY = dt.date(2026, 11, 22)


@pytest.mark.parametrize(
    "text, day, time",
    [
        ("mañana por la tarde", dt.date(2026, 11, 23), None),
        ("el lunes que viene a las diez", dt.date(2026, 11, 23), dt.time(10, 0)),
        ("pasado mañana", dt.date(2026, 11, 24), None),
        ("a las cinco y media", None, dt.time(17, 30)),
        ("Mañana a la una y cuarto", dt.date(2026, 11, 23), dt.time(13, 15)),
        ("el 14 de marzo a las 10:30", dt.date(2027, 3, 14), dt.time(10, 30)),
        ("el primero de diciembre", dt.date(2026, 12, 1), None),
        ("el 3/12 a las nueve menos cuarto", dt.date(2026, 12, 3), dt.time(8, 45)),
        ("el martes de la semana que viene", dt.date(2026, 11, 24), None),
        ("el viernes a las 5 de la tarde", dt.date(2026, 11, 27), dt.time(17, 0)),
        ("mañana a las diez de la mañana", dt.date(2026, 11, 23), dt.time(10, 0)),
        ("hoy a mediodía", SUNDAY, dt.time(12, 0)),
        ("el día 5", dt.date(2026, 12, 5), None),
        ("dentro de 3 días", dt.date(2026, 11, 25), None),
        ("03/03/2027 a las 10:30", dt.date(2027, 3, 3), dt.time(10, 30)),
        ("el martes 1 de diciembre", dt.date(2026, 12, 1), None),
    ],
)
def test_reads_spanish_dates_and_times(text, day, time):
    when = parse_when(text, SUNDAY)
    assert (when.day, when.time) == (day, time)


def test_part_of_day_without_exact_time():
    assert parse_when("mañana por la tarde", SUNDAY).part_of_day == AFTERNOON
    assert parse_when("el lunes por la mañana", SUNDAY).part_of_day == MORNING
    # "mañana" as "tomorrow" is not confused with "por la mañana"
    assert parse_when("por la mañana", SUNDAY).day is None


@pytest.mark.parametrize(
    "text, said", [("el 31 de febrero", "31 de febrero"), ("el 30/02/2027", "30/02/2027")]
)
def test_impossible_dates_are_reported_not_guessed(text, said):
    when = parse_when(text, SUNDAY)
    assert when.day is None and when.bad_date == said


def test_impossible_time_is_reported():
    when = parse_when("a las 25:00", SUNDAY)
    assert when.time is None and when.bad_time == "25:00"


def test_text_without_date_or_time():
    assert parse_when("me llamo Lucía", SUNDAY) == parse_when("", SUNDAY)
