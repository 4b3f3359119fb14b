"""Finds order numbers, postcodes, phones and booking codes in written or spoken text."""

from __future__ import annotations

import re

from actions.language.text import fold, with_digits

# Digit groups separated only by spaces, dots or dashes are one number said in pieces:
# "612 345 678", "4 8 2 1 3", "28 01 3".
_DIGIT_RUN = re.compile(r"\d+(?:[ .\-]+\d+)*")

LETTER_NAMES = {
    "a": "A",
    "be": "B",
    "ce": "C",
    "de": "D",
    "e": "E",
    "efe": "F",
    "ge": "G",
    "hache": "H",
    "i": "I",
    "jota": "J",
    "ka": "K",
    "ele": "L",
    "eme": "M",
    "ene": "N",
    "o": "O",
    "pe": "P",
    "cu": "Q",
    "erre": "R",
    "ere": "R",
    "ese": "S",
    "te": "T",
    "u": "U",
    "uve": "V",
    "be baja": "V",
    "equis": "X",
    "ye": "Y",
    "zeta": "Z",
    "ceta": "Z",
}


def digit_sequences(text: str) -> list[str]:
    """Every number in `text`, spoken or written, as a string of digits (leading zeros kept)."""
    return [re.sub(r"\D", "", run) for run in _DIGIT_RUN.findall(with_digits(text))]


def find_number(text: str, min_digits: int, max_digits: int) -> str | None:
    """The first number with an allowed length, e.g. an order number of 5 to 8 digits."""
    for digits in digit_sequences(text):
        if min_digits <= len(digits) <= max_digits:
            return digits
    return None


def find_phone(text: str) -> str | None:
    """A phone number: 9 digits in Spain, 8 to 12 in Latin America, optional '+' prefix."""
    plus = "+" if re.search(r"(\+|\bmas\b)\s*\d", fold(with_digits(text))) else ""
    digits = find_number(text, 8, 13)
    return f"{plus}{digits}" if digits else None


def find_code(text: str, letters: int, digits: int) -> str | None:
    """A code of `letters` letters then `digits` digits, typed ('kp-4821') or spelled
    ('ka pe cuatro ocho dos uno')."""
    # Spelled first: in "de ka pe 4821" the typed reading would wrongly take "pe" as the letters.
    symbols = "".join(_spelled_symbols(with_digits(fold(text))))
    spelled = re.search(rf"[A-Z]{{{letters}}}\d{{{digits}}}", symbols)
    if spelled:
        return spelled.group(0)
    typed = re.search(rf"\b([a-z]{{{letters}}})[\s\-]*(\d{{{digits}}})\b", fold(text))
    return (typed.group(1) + typed.group(2)).upper() if typed else None


def _spelled_symbols(text: str) -> list[str]:
    """Letter names and single letters to capitals, digit groups kept, anything else a break."""
    symbols = []
    for word in re.findall(r"[a-zñ]+|\d+", text):
        if word.isdigit():
            symbols.append(word)
        elif word in LETTER_NAMES:
            symbols.append(LETTER_NAMES[word])
        elif len(word) == 1:
            symbols.append(word.upper())
        else:
            symbols.append(" ")
    return symbols


# The letters on a phone's keys (ITU-T E.161): a caller keys "KP4821" as 5 7 4 8 2 1.
KEYPAD_LETTERS = {
    letter: digit
    for digit, letters in {
        "2": "ABC", "3": "DEF", "4": "GHI", "5": "JKL",
        "6": "MNO", "7": "PQRS", "8": "TUV", "9": "WXYZ",
    }.items()
    for letter in letters
}  # fmt: skip


def keyed(code: str) -> str:
    """A code as the keypad types it: 'KP4821' → '574821'."""
    return "".join(KEYPAD_LETTERS.get(symbol, symbol) for symbol in code.upper())


def keypad_entry(text: str, length: int) -> str | None:
    """Digits only, exactly `length` of them: a code keyed on the phone, letters as their keys."""
    compact = re.sub(r"\s", "", text)
    return compact if compact.isdigit() and len(compact) == length else None
