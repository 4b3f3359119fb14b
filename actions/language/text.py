"""Normalising customer text before matching: case, accents, spoken numbers."""

from __future__ import annotations

import re
import unicodedata

from text_to_num import alpha2digit

_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower case, no accents but ñ, single spaces: 'Mañana, a las DIEZ' -> 'mañana, a las diez'."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    kept = []
    for index, char in enumerate(decomposed):
        if unicodedata.combining(char):
            # keep the tilde of ñ, drop every other accent
            if char == "\u0303" and index and decomposed[index - 1] == "n":
                kept.append(char)
            continue
        kept.append(char)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", "".join(kept))).strip()


def with_digits(text: str) -> str:
    """Spoken numbers as digits: 'uno dos tres' -> '1 2 3', 'cero cero siete' -> '007'."""
    return alpha2digit(text, "es")
