"""Saying dates, times and codes in plain Spanish."""

import datetime as dt

import pytest

from actions.language.phrases import (
    join_words,
    say_date,
    say_ranges,
    say_time,
    say_until,
    spell_code,
)


@pytest.mark.parametrize(
    "moment, words",
    [
        (dt.time(10, 30), "a las diez y media de la mañana"),
        (dt.time(13, 0), "a la una de la tarde"),
        (dt.time(12, 0), "a las doce del mediodía"),
        (dt.time(16, 45), "a las cinco menos cuarto de la tarde"),
        (dt.time(9, 10), "a las nueve y diez de la mañana"),
        (dt.time(21, 0), "a las nueve de la noche"),
    ],
)
def test_say_time(moment, words):
    assert say_time(moment) == words


def test_times_are_written_for_chat_and_said_in_words_for_the_phone():
    ranges = ((dt.time(10, 0), dt.time(14, 0)), (dt.time(17, 30), dt.time(21, 0)))
    assert say_ranges(ranges) == "de 10:00 a 14:00 y de 17:30 a 21:00"
    assert say_ranges(ranges, spoken=True) == (
        "de diez de la mañana a dos de la tarde y de cinco y media de la tarde a nueve de la noche"
    )
    assert say_until(dt.time(21, 0)) == "las 21:00"
    assert say_until(dt.time(21, 0), spoken=True) == "las nueve de la noche"
    assert say_until(dt.time(13, 0), spoken=True) == "la una de la tarde"


def test_say_date_relative_and_absolute():
    today = dt.date(2026, 3, 2)
    assert say_date(today, today) == "hoy"
    assert say_date(dt.date(2026, 3, 3), today) == "mañana"
    assert say_date(dt.date(2026, 3, 10), today) == "el martes 10 de marzo"
    assert say_date(dt.date(2027, 1, 5), today) == "el martes 5 de enero de 2027"


def test_spell_code_and_join():
    assert spell_code("KP4821") == "K, P, cuatro, ocho, dos, uno"
    assert join_words(["a", "b", "c"], last="o") == "a, b o c"
    assert join_words(["a"]) == "a"
    assert join_words(["Sevilla", "Ibiza"]) == "Sevilla e Ibiza"
    assert join_words(["Madrid", "Oviedo"], last="o") == "Madrid u Oviedo"
    assert join_words(["agua", "hielo"]) == "agua y hielo"
