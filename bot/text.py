"""Text helpers shared by every part: making customer text safe to process (no markup, no control
characters, bounded length) and matching it without accents."""

from __future__ import annotations

import html
import re
import unicodedata


def unaccented(text: str) -> str:
    """Lower case without accents: 'Sí, CAMIÓN' -> 'si, camion' (for matching, not for showing)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


MAX_CHARS = 1000  # longer messages are cut: nobody types more in a chat turn, and NLU stays fast
_TAGS = re.compile(r"<[^>]{0,500}>")


def clean_text(raw: object) -> str:
    """Plain, printable, bounded text from whatever the client sent."""
    if not isinstance(raw, str):
        return ""
    text = _TAGS.sub(" ", html.unescape(raw))
    text = "".join(c if unicodedata.category(c)[0] != "C" else " " for c in text)
    return " ".join(text.split())[:MAX_CHARS].rstrip()  # the cut may fall on a space


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (not only emoji or symbols)."""
    return any(c.isalnum() for c in text)


def printable(raw: str) -> str:
    """The customer's text as typed, minus control characters: stored and shown (always as
    text, never as markup), while the assistant gets `clean_text`."""
    kept = "".join(c if c == "\n" or unicodedata.category(c)[0] != "C" else " " for c in raw)
    return "\n".join(line.rstrip() for line in kept.strip().splitlines())
