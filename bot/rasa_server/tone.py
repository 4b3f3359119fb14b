"""How bitter or pleased a customer's words sound: a sentiment score that knows negation.

The frustration meter's word lists find strong signs (insults, "es la tercera vez"); most angry
customers write plain, bitter sentences instead ("la página no abre, un día perdido, ni una
respuesta"). This scorer adds up the tone of every word and phrase of data/frustration/tone.yml
(-3 very bitter … +3 very pleased):

- a negation up to three words before turns a word round, at half strength for bitter words
  ("no está mal" is mildly pleased) and at full strength for pleased ones ("no funciona bien",
  "nada amables");
- "muy", "tan", "nada"... before a word make it count one and a half times;
- every negation counts a little bitter by itself (-0.5): complaints are written in negatives
  ("no contestan", "ni un correo", "sin respuesta", "todavía no");
- "!" makes a bitter message count a fifth more, and angry or pleased emoji count too.

The sum is the message's tone: below zero bitter, above zero pleased.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT
from bot.text import clauses, plain_words

TONE_FILE = PROJECT_ROOT / "data" / "frustration" / "tone.yml"
NEGATIONS = frozenset({"no", "nunca", "jamas", "ni", "sin", "tampoco", "nadie"})
NEGATION_REACH = 3
INTENSIFIERS = frozenset(
    [
        "muy",
        "tan",
        "super",
        "totalmente",
        "absolutamente",
        "completamente",
        "realmente",
        "demasiado",
        "bastante",
        "increiblemente",
        "extremadamente",
        "nada",
        "tremendamente",
    ]
)
INTENSITY = 1.5
EXCLAMATION = 1.2
NEGATED_BITTER = -0.5  # "no está mal": a little pleased, not very
NEGATION_TONE = -0.5  # the register of complaints
COMPLAINT_NEGATIONS = NEGATIONS | {"todavia", "aun"}
BITTER_EMOJI = "😡🤬😤😠👎💩🙄😒😑😞😩😫🤦"
PLEASED_EMOJI = "😍😊🙂👍❤🥰😀😃😄🎉🤗😘💞"
EMOJI_TONE = 2.0


@dataclass(frozen=True)
class ToneWords:
    """Phrases of data/frustration/tone.yml and their weights, longest first."""

    weights: dict[tuple[str, ...], float]
    longest: int


@lru_cache(maxsize=4)
def load_tone_words(path: Path = TONE_FILE) -> ToneWords:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    weights: dict[tuple[str, ...], float] = {}
    for group in ("bitter", "pleased"):
        for weight, phrases in (data.get(group) or {}).items():
            for phrase in phrases or []:
                words = tuple(plain_words(str(phrase)))
                if words:
                    weights[words] = float(weight)
    return ToneWords(weights, max((len(words) for words in weights), default=1))


def tone(text: str, words: ToneWords | None = None) -> float:
    """The tone of a message: the sum of its words' weights, negation and intensity applied."""
    words = words or load_tone_words()
    total = sum(_clause_tone(list(clause.words), words) for clause in clauses(text))
    total += EMOJI_TONE * (_count(text, PLEASED_EMOJI) - _count(text, BITTER_EMOJI))
    if total < 0 and "!" in text:
        total *= EXCLAMATION
    return total


def _clause_tone(tokens: list[str], words: ToneWords) -> float:
    """A negation reaches no further than its clause: "no va, qué mal" is bitter twice."""
    total = 0.0
    index = 0
    while index < len(tokens):
        size, weight = _phrase_at(tokens, index, words)
        if weight is None:
            index += 1
            continue
        before = tokens[max(0, index - NEGATION_REACH) : index]
        if before and before[-1] in INTENSIFIERS:
            weight *= INTENSITY
        if any(word in NEGATIONS for word in before) and not _is_negation_phrase(tokens, index):
            weight = weight * NEGATED_BITTER if weight < 0 else -weight
        total += weight
        index += size
    return total + NEGATION_TONE * sum(1 for token in tokens if token in COMPLAINT_NEGATIONS)


def _phrase_at(tokens: list[str], index: int, words: ToneWords) -> tuple[int, float | None]:
    """The longest phrase of the list starting at `index`, and its weight."""
    for size in range(min(words.longest, len(tokens) - index), 0, -1):
        weight = words.weights.get(tuple(tokens[index : index + size]))
        if weight is not None:
            return size, weight
    return 1, None


def _is_negation_phrase(tokens: list[str], index: int) -> bool:
    """ "nunca", "nadie", "sin respuesta" are bitter by themselves, not negated words."""
    return tokens[index] in NEGATIONS


def _count(text: str, emoji: str) -> int:
    return sum(text.count(symbol) for symbol in emoji)
