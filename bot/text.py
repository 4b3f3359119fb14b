"""Text helpers shared by every part: making customer text safe to process (no markup, no control
characters, bounded length) and matching it without accents."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

# Rasa's entity marks in a training sentence: "[Sevilla](city)", "[mañana]{"entity": "time"}"
_ENTITY_MARK = re.compile(r"\[(?P<text>[^\]]+)\](\([^)]*\)|\{[^}]*\})")


def without_entity_marks(text: str) -> str:
    """A training sentence as a customer would say it: "en [Sevilla](city)" -> "en Sevilla"."""
    return _ENTITY_MARK.sub(lambda match: match.group("text"), text)


def unaccented(text: str) -> str:
    """Lower case without accents: 'Sí, CAMIÓN' -> 'si, camion' (for matching, not for showing)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_PUNCTUATION = re.compile(r"[^\w\s]")


def spoken_form(text: str) -> str:
    """'¿A qué hora abre la tienda de Sevilla mañana?' -> 'a que hora abre la tienda de sevilla
    mañana': text as a recogniser delivers it, without capitals, punctuation or accents but with
    the ñ, a letter of its own. Typed and spoken messages are compared in this form."""
    plain = unaccented(text.replace("ñ", "\0").replace("Ñ", "\0")).replace("\0", "ñ")
    return " ".join(_PUNCTUATION.sub(" ", plain).split())


_PLAIN_WORD = re.compile(r"[a-z0-9]+")
# commas and stops, and the conjunctions that turn a sentence round: "no va, qué mal", "no es
# que no funcione, pero tardan", "no quiero un robot sino una persona"
_CLAUSE_BREAK = re.compile(r"[.,;:!?¡¿()\[\]\n]+|\bpero\b|\bsino\b")


def plain_words(text: str) -> list[str]:
    """'¿Qué TAL?' -> ['que', 'tal']: the words for matching, unaccented (ñ as n)."""
    return _PLAIN_WORD.findall(unaccented(text))


@dataclass(frozen=True)
class Clause:
    """A stretch of a message a negation can reach, as plain words."""

    words: tuple[str, ...]
    asked: bool  # written as a question ("¿…?")


def clauses(text: str) -> list[Clause]:
    """The clauses of a message, in order; those without words are left out."""
    plain = unaccented(text)
    found = []
    position = 0
    for piece in _CLAUSE_BREAK.split(plain):
        position = plain.find(piece, position)
        after = plain[position + len(piece) : position + len(piece) + 3]
        before = plain[max(0, position - 2) : position]
        if words := _PLAIN_WORD.findall(piece):
            found.append(Clause(tuple(words), "?" in after or "¿" in before))
        position += len(piece)
    return found


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
