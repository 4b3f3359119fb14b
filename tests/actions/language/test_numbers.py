"""Order numbers, phones and codes, typed or spoken."""

import pytest

from actions.language.numbers import (
    digit_sequences,
    find_code,
    find_number,
    find_phone,
    keyed,
    keypad_entry,
)


@pytest.mark.parametrize(
    "text, digits",
    [
        ("mi pedido es el cuatro ocho dos uno tres", ["48213"]),
        ("cero cero siete tres uno", ["00731"]),
        ("612 34 56 78", ["612345678"]),
        ("pedido 48213 y código postal 28013", ["48213", "28013"]),
        ("ninguno", []),
    ],
)
def test_digit_sequences(text, digits):
    assert digit_sequences(text) == digits


def test_find_number_respects_length():
    assert find_number("el 12 de mayo, pedido 55501", 5, 8) == "55501"
    assert find_number("pedido 123", 5, 8) is None


def test_find_phone_spoken_and_with_prefix():
    assert find_phone("seis uno dos tres cuatro cinco seis siete ocho") == "612345678"
    assert find_phone("+34 612 345 678") == "+34612345678"
    assert find_phone("no sé") is None


@pytest.mark.parametrize(
    "text, code",
    [
        ("KP4821", "KP4821"),
        ("kp-4821", "KP4821"),
        ("ka pe cuatro ocho dos uno", "KP4821"),
        ("el código de ka pe 4821", "KP4821"),
        ("no lo tengo", None),
    ],
)
def test_find_code(text, code):
    assert find_code(text, 2, 4) == code


def test_codes_as_the_phone_keypad_types_them():
    assert keyed("KP4821") == "574821"  # K on 5, P on 7 (ITU-T E.161)
    assert keyed("zy0000") == "990000"
    assert keypad_entry("574821", 6) == "574821"
    assert keypad_entry("5748 21", 6) == "574821"
    assert keypad_entry("57482", 6) is None and keypad_entry("KP4821", 6) is None
