"""Signs of frustration in what a customer writes, each with its weight and its reason.

This is the text part of the frustration meter: profanity and insults (spanlp's per-country
lists of Spanish swear words, minus ordinary words of a contact centre), anger and exhaustion
from data/frustration/lexicon.yml, sarcasm (praise next to a failure), shouting in capitals and
"!!!"/"???", the tone of the words (bot.rasa_server.tone: bitter words count for, pleased
ones against), and the wording as a whole, read by a small model trained on the project's own
labelled messages (bot.rasa_server.complaint_wording), which finds the plain, bitter sentences
no word list holds. A message's score combines its signs as independent evidence (noisy-or):
1 - Π(1 - weight), so one strong sign or several weak ones cross the threshold; a pleased tone
has a negative weight and lowers it.
"""

from __future__ import annotations

import importlib.resources
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import yaml

from bot.rasa_server.complaint_wording import ComplaintWording, load_complaint_wording
from bot.rasa_server.tone import tone
from bot.settings import PROJECT_ROOT, SettingsError
from bot.text import unaccented

LEXICON_FILE = PROJECT_ROOT / "data" / "frustration" / "lexicon.yml"


@dataclass(frozen=True)
class FrustrationWeights:
    """How much each sign counts (0..1), when the score hands off and when the assistant first
    acknowledges it. Each can be set with BOT_FRUSTRATION_<NAME> (e.g. BOT_FRUSTRATION_THRESHOLD).

    The defaults come from `python -m bot eval frustration` on tests/data (see docs/frustration.md):
    one strong sign (a swear word, "es la tercera vez") or two weak ones hand off; a weak sign
    alone only makes the assistant acknowledge it.
    """

    # what the customer writes or says
    profanity: float = 0.7
    anger: float = 0.6
    exhaustion: float = 0.6
    exhaustion_weak: float = 0.3
    sarcasm: float = 0.6
    shouting: float = 0.35
    punctuation: float = 0.3
    bitter_tone: float = 0.12  # per point of bitter tone (bot.rasa_server.tone)
    bitter_tone_max: float = 0.5
    pleased_tone: float = 0.1  # per point of pleased tone: thanks and praise calm the score
    pleased_tone_max: float = 0.4
    complaint_wording: float = 0.5  # at a certain complaint (bot.rasa_server.complaint_wording)
    complaint_wording_from: float = 0.6  # the probability below which the wording is no sign
    # the dialogue
    frustration_intent: float = 0.45  # times the classifier's confidence
    complaint_intent: float = 0.15  # most complaints are polite
    repetition: float = 0.3  # per earlier time the customer said the same
    misunderstood_twice: float = 0.35  # two misunderstandings in a row
    misunderstood_often: float = 0.25  # three or more in the conversation
    same_request_again: float = 0.3  # the same request, again, later on
    no_progress: float = 0.3  # minutes without getting anywhere
    no_progress_minutes: float = 4.0
    # the voice, against the caller's own first turns
    louder: float = 0.35  # at least 6 dB louder
    higher_pitch: float = 0.25  # at least 2.5 semitones higher
    faster: float = 0.25  # at least 30 % more words per second
    barge_ins: float = 0.3  # interrupted the assistant twice in the last four turns
    # decisions
    threshold: float = 0.5
    acknowledge: float = 0.25
    decay: float = 0.5  # the share of the score a calm turn keeps

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FrustrationWeights:
        env = os.environ if environ is None else environ
        values = {}
        for item in fields(cls):
            name = f"BOT_FRUSTRATION_{item.name.upper()}"
            if name in env:
                try:
                    values[item.name] = float(env[name])
                except ValueError as error:
                    raise SettingsError(f"{name} must be a number, not {env[name]!r}") from error
        weights = cls(**values)
        if not 0 < weights.acknowledge <= weights.threshold <= 1:
            raise SettingsError(
                "BOT_FRUSTRATION_ACKNOWLEDGE must be above 0 and at most BOT_FRUSTRATION_THRESHOLD"
                ", which must be at most 1"
            )
        return weights


@dataclass(frozen=True)
class Sign:
    """One reason the score moved, as the agent reads it ("usó palabras malsonantes")."""

    kind: str
    weight: float
    reason: str


def normalise(text: str) -> str:
    """Lower case, no accents, words separated by single spaces."""
    return " ".join(re.findall(r"\w+", unaccented(text)))


@dataclass(frozen=True)
class Lexicon:
    """The word lists, normalised and compiled once."""

    profanity: frozenset[str]
    anger: frozenset[str]
    exhaustion: tuple[re.Pattern[str], ...]
    exhaustion_weak: tuple[re.Pattern[str], ...]
    sarcasm_praise: tuple[str, ...]
    failure_context: tuple[str, ...]
    wording: ComplaintWording | None = None


@lru_cache(maxsize=4)
def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    ordinary = {normalise(word) for word in data.get("not_offensive", [])}
    profanity = {w for w in _spanlp_words() if w not in ordinary and len(w) > 2}
    return Lexicon(
        profanity=frozenset(profanity),
        anger=frozenset(normalise(word) for word in data.get("anger", [])),
        exhaustion=tuple(re.compile(rf"\b(?:{p})\b") for p in data.get("exhaustion", [])),
        exhaustion_weak=tuple(re.compile(rf"\b(?:{p})\b") for p in data.get("exhaustion_weak", [])),
        sarcasm_praise=tuple(normalise(word) for word in data.get("sarcasm_praise", [])),
        failure_context=tuple(normalise(word) for word in data.get("failure_context", [])),
        wording=load_complaint_wording(),
    )


def _spanlp_words() -> set[str]:
    words: set[str] = set()
    for entry in importlib.resources.files("spanlp.dataset").iterdir():
        if entry.name.endswith(".txt"):
            lines = entry.read_bytes().decode("utf-8", errors="replace").splitlines()
            words.update(normalise(line) for line in lines if line.strip())
    return words


def text_signs(
    text: str, lexicon: Lexicon, weights: FrustrationWeights | None = None
) -> list[Sign]:
    """The signs of frustration in one message."""
    weights = weights or FrustrationWeights()
    plain = f" {normalise(text)} "
    signs = []
    if found := _phrases_in(plain, lexicon.profanity):
        signs.append(Sign("profanity", weights.profanity, f"palabras malsonantes («{found}»)"))
    if found := _phrases_in(plain, lexicon.anger):
        signs.append(Sign("anger", weights.anger, f"palabras de enfado («{found}»)"))
    if match := _first_match(plain, lexicon.exhaustion):
        signs.append(Sign("exhaustion", weights.exhaustion, f"dijo «{match}»"))
    elif match := _first_match(plain, lexicon.exhaustion_weak):
        signs.append(Sign("exhaustion_weak", weights.exhaustion_weak, f"dijo «{match}»"))
    if _sarcastic(plain, lexicon):
        signs.append(Sign("sarcasm", weights.sarcasm, "ironía tras un fallo"))
    if _shouting(text):
        signs.append(Sign("shouting", weights.shouting, "escribió en mayúsculas"))
    elif re.search(r"\b[^\W\d_]{2,}(?: [^\W\d_]{2,})+\b", text) and _capital_run(text):
        signs.append(Sign("shouting", weights.shouting / 2 + 0.15, "recalcó en mayúsculas"))
    if re.search(r"([a-z])\1{3,}", plain):
        signs.append(Sign("punctuation", weights.punctuation, "alargó las letras («noooo»)"))
    if re.search(r"[!?¡¿]{3,}|!!|\?\?", text):
        signs.append(Sign("punctuation", weights.punctuation, "signos repetidos («!!!», «???»)"))
    signs += _tone_signs(text, weights, sarcastic=any(s.kind == "sarcasm" for s in signs))
    if lexicon.wording is not None and (sign := _wording_sign(text, lexicon.wording, weights)):
        signs.append(sign)
    return signs


# "no", "nada", "vale": too few words for their wording to say anything (the word lists still
# read "¡inútiles!")
WORDING_MIN_WORDS = 3


def _wording_sign(text: str, wording: ComplaintWording, weights: FrustrationWeights) -> Sign | None:
    """The complaint model's probability above `complaint_wording_from`, scaled to its weight."""
    start = weights.complaint_wording_from
    if len(normalise(text).split()) < WORDING_MIN_WORDS:
        return None
    probability = wording.probability(text)
    if weights.complaint_wording <= 0 or probability <= start or start >= 1:
        return None
    weight = weights.complaint_wording * (probability - start) / (1 - start)
    return Sign("wording", round(weight, 3), "sus palabras suenan a queja")


def _tone_signs(text: str, weights: FrustrationWeights, sarcastic: bool) -> list[Sign]:
    """A bitter tone counts for frustration, in proportion; a pleased one against it (unless
    the praise is sarcasm)."""
    value = tone(text)
    if value < 0 and weights.bitter_tone > 0:
        weight = min(weights.bitter_tone_max, weights.bitter_tone * -value)
        return [Sign("tone", weight, "tono de queja")]
    if value > 0 and weights.pleased_tone > 0 and not sarcastic:
        weight = min(weights.pleased_tone_max, weights.pleased_tone * value)
        return [Sign("pleased", -weight, "tono satisfecho")]
    return []


def combined(signs: list[Sign]) -> float:
    """Independent signs as a noisy-or: 1 - Π(1 - weight); below 0 when calm signs outweigh."""
    return 1.0 - math.prod(1.0 - sign.weight for sign in signs)


def _phrases_in(plain: str, phrases: frozenset[str]) -> str | None:
    words = plain.split()
    for size in (6, 5, 4, 3, 2, 1):  # longest first: "me cago en" before "cago"
        for start in range(len(words) - size + 1):
            candidate = " ".join(words[start : start + size])
            for form in (candidate, _singular(candidate)):
                if form in phrases:
                    return candidate
    return None


def _singular(phrase: str) -> str:
    """'boludos' → 'boludo', 'rateros' → 'ratero': the lists hold singulars."""
    if phrase.endswith("es") and len(phrase) > 5:
        return phrase[:-2]
    return phrase[:-1] if phrase.endswith("s") and len(phrase) > 4 else phrase


def _capital_run(text: str) -> bool:
    """Two or more words in capitals inside a lower-case message: "plantado OTRA VEZ"."""
    return bool(re.search(r"\b[^\W\d_a-z]{2,} [^\W\d_a-z]{2,}\b", text)) and any(
        c.islower() for c in text
    )


def _first_match(plain: str, patterns: tuple[re.Pattern[str], ...]) -> str | None:
    for pattern in patterns:
        if match := pattern.search(plain):
            return match.group(0).strip()
    return None


def _sarcastic(plain: str, lexicon: Lexicon) -> bool:
    praised = any(f" {word} " in plain for word in lexicon.sarcasm_praise)
    return praised and any(f" {word} " in plain for word in lexicon.failure_context)


def _shouting(text: str) -> bool:
    """Mostly capitals over several words: shouting, not an acronym ("DNI", "ADSL")."""
    letters = [c for c in text if c.isalpha()]
    words = [w for w in re.findall(r"[^\W\d_]{2,}", text)]
    shouted = [w for w in words if w.isupper()]
    return len(letters) >= 12 and len(shouted) >= 3 and len(shouted) >= 0.6 * len(words)
