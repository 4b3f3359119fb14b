"""A conversation's frustration, turn by turn, with the reasons that moved it.

Each customer turn brings signs: what they wrote or said (bot.rasa_server.frustration), what the
assistant understood (the frustration and complaint intents, misunderstandings, the same request
again, minutes without progress) and, on calls, how they said it against their own first turns
(louder, higher, faster, interrupting). The new score is the turn's signs on top of what is left
of the previous score, so calm turns let it fall:

    score = 1 - (1 - decay * previous) * Π(1 - weight of each sign)

The meter's state is plain JSON, so it can travel with each turn (the Rasa channel keeps it in
the turn's metadata, where the tracker stores it and the actions read it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.frames import VoiceFeatures
from bot.rasa_server.frustration import (
    FrustrationWeights,
    Lexicon,
    Sign,
    combined,
    normalise,
    text_signs,
)

# The customer's matters: asking for one of them again means the first try did not solve it.
REQUEST_INTENTS = frozenset(
    {
        "ask_opening_hours",
        "book_appointment",
        "reschedule_appointment",
        "cancel_appointment",
        "check_appointment",
        "track_order",
        "report_problem",
    }
)
MISUNDERSTOOD = "nlu_fallback"
REMEMBERED_TEXTS = 8  # the repetition check looks this far back
REMEMBERED_REASONS = 6
BASELINE_TURNS = 2  # a caller's voice is compared with their first calm turns
BARGE_IN_WINDOW = 4
ACKNOWLEDGE_EVERY_TURNS = 3  # "Entiendo que es frustrante" once, not on every turn
# a sign weaker than this (a faintly bitter tone) moves the score but is no reason to tell the
# agent, nor a sign that the conversation is stuck; a pleased tone (negative weight) never is
MIN_REASON_WEIGHT = 0.15
# the NLU's intent and the wording model: two readings of what the words mean
WORD_READINGS = frozenset({"intent", "wording"})

# Voice changes that count as a sign (against the caller's baseline).
LOUDER_DB = 6.0
HIGHER_SEMITONES = 2.5
FASTER_RATIO = 1.3


@dataclass(frozen=True)
class Turn:
    """One customer turn as the meter sees it.

    Attributes:
        at: when it was said (seconds, any fixed origin: Unix time in production).
        intent: what the assistant understood (None where no classifier ran).
    """

    text: str
    at: float = 0.0
    intent: str | None = None
    confidence: float = 0.0
    voice: VoiceFeatures | None = None
    follow_up: bool = False  # "¿y el domingo?": the same topic again, asked on purpose


@dataclass
class MeterState:
    """Everything the meter remembers between turns (JSON-able)."""

    score: float = 0.0
    reasons: dict[str, str] = field(default_factory=dict)  # sign kind -> its latest wording
    turns: int = 0
    said: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    misunderstood_in_a_row: int = 0
    misunderstood: int = 0
    progress_at: float | None = None
    voice_baseline: list[dict[str, Any]] = field(default_factory=list)
    barge_ins: list[bool] = field(default_factory=list)
    acknowledged_turn: int = -ACKNOWLEDGE_EVERY_TURNS

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> MeterState:
        """The state saved with the previous turn; a missing or damaged one starts afresh."""
        if not isinstance(data, dict):
            return cls()
        fresh = cls()
        kept = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        # each value must have the type of its default (an int may stand for a float)
        for key, value in kept.items():
            default = getattr(fresh, key)
            expected = float if default is None else type(default)  # progress_at: float | None
            numeric = expected is float and isinstance(value, int) and not isinstance(value, bool)
            if not (isinstance(value, expected) or numeric or (value is None and default is None)):
                return fresh
        return cls(**kept)


@dataclass(frozen=True)
class Assessment:
    """The meter after one turn.

    Attributes:
        signs: this turn's signs.
        reasons: the conversation's reasons so far, as the agent reads them.
        crossed: hand off now.
        acknowledge: the score is rising but below the threshold: say it is understood and
            offer a person.
        upset: at or over the acknowledgement level and rising this turn (below the threshold):
            the assistant's answer should sound it.
    """

    score: float
    signs: list[Sign]
    reasons: list[str]
    crossed: bool
    acknowledge: bool
    upset: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 3),
            "signs": [sign.kind for sign in self.signs],
            "reasons": self.reasons,
            "handoff": self.crossed,
            "acknowledge": self.acknowledge,
        }


class FrustrationMeter:
    """Scores each customer turn of one conversation.

    Args:
        lexicon: the word lists.
        weights: weights and thresholds.
        state: where the conversation stood (default: its start).
    """

    def __init__(
        self,
        lexicon: Lexicon,
        weights: FrustrationWeights | None = None,
        state: MeterState | None = None,
    ) -> None:
        self._lexicon = lexicon
        self._weights = weights or FrustrationWeights()
        self.state = state or MeterState()

    @property
    def score(self) -> float:
        return self.state.score

    @property
    def reasons(self) -> list[str]:
        return list(self.state.reasons.values())

    @property
    def crossed(self) -> bool:
        return self.state.score >= self._weights.threshold

    def update(self, turn: Turn) -> Assessment:
        """Scores one customer turn and returns where the conversation now stands."""
        weights, state = self._weights, self.state
        repeated = self._repetition(turn.text)
        signs = text_signs(turn.text, self._lexicon, weights)
        signs += [repeated] if repeated else []
        signs = _one_reading_of_the_words(signs + self._understanding(turn, repeated is not None))
        telling = any(sign.weight >= MIN_REASON_WEIGHT for sign in signs)
        signs += self._no_progress(turn, stuck=telling or turn.intent == MISUNDERSTOOD)
        signs += self._voice(turn.voice)

        previous = state.score
        raised = 1.0 - (1.0 - previous * weights.decay) * (1.0 - combined(signs))
        state.score = min(1.0, max(0.0, raised))  # calm signs may outweigh what was left
        state.turns += 1
        state.said = [*state.said, turn.text[:300]][-REMEMBERED_TEXTS:]
        for sign in (
            s for s in signs if s.weight >= MIN_REASON_WEIGHT
        ):  # latest wording, newest last
            state.reasons.pop(sign.kind, None)
            state.reasons[sign.kind] = sign.reason
        state.reasons = dict(list(state.reasons.items())[-REMEMBERED_REASONS:])
        crossed = state.score >= weights.threshold
        # the wording model hears a complaint, not how the customer feels about it: alone it
        # raises the score but does not make the assistant say "entiendo que es frustrante" to a
        # polite "me han cobrado dos veces la cuota"
        felt = any(s.weight >= MIN_REASON_WEIGHT and s.kind != "wording" for s in signs)
        acknowledge = (
            not crossed
            and felt
            and state.score >= weights.acknowledge
            and state.score > previous
            and state.turns - state.acknowledged_turn >= ACKNOWLEDGE_EVERY_TURNS
        )
        if acknowledge:
            state.acknowledged_turn = state.turns
        upset = not crossed and state.score >= weights.acknowledge and state.score > previous
        return Assessment(state.score, signs, self.reasons, crossed, acknowledge, upset)

    # the dialogue

    def _repetition(self, text: str) -> Sign | None:
        repeats = sum(1 for earlier in self.state.said if same_request(earlier, text))
        if not repeats:
            return None
        weight = min(0.9, self._weights.repetition * repeats)
        return Sign("repetition", weight, f"repitió {repeats + 1} veces lo mismo")

    def _understanding(self, turn: Turn, repeated: bool) -> list[Sign]:
        weights, state = self._weights, self.state
        signs = []
        if turn.intent == "express_frustration":
            confidence = min(1.0, max(0.0, turn.confidence))
            signs.append(
                Sign("intent", weights.frustration_intent * confidence, "dijo que está molesto")
            )
        elif turn.intent == "complain":
            signs.append(Sign("intent", weights.complaint_intent, "quiere reclamar"))
        if turn.intent == MISUNDERSTOOD:
            state.misunderstood_in_a_row += 1
            state.misunderstood += 1
            if state.misunderstood_in_a_row >= 2:
                times = _times(state.misunderstood_in_a_row)
                signs.append(
                    Sign(
                        "misunderstood",
                        weights.misunderstood_twice,
                        f"no se le entendió {times} seguidas",
                    )
                )
            elif state.misunderstood >= 3:
                times = _times(state.misunderstood)
                signs.append(
                    Sign("misunderstood", weights.misunderstood_often, f"no se le entendió {times}")
                )
        elif turn.intent is not None:
            state.misunderstood_in_a_row = 0
        if turn.intent in REQUEST_INTENTS:
            if turn.intent in state.requests and not repeated and not turn.follow_up:
                signs.append(
                    Sign("same_request", weights.same_request_again, "volvió a pedir lo mismo")
                )
            state.requests = [*state.requests, turn.intent][-REMEMBERED_TEXTS:]
        return signs

    def _no_progress(self, turn: Turn, stuck: bool) -> list[Sign]:
        """Minutes since the conversation last moved forward (a turn without any sign)."""
        state = self.state
        if state.progress_at is None or not stuck:
            state.progress_at = turn.at
            return []
        minutes = (turn.at - state.progress_at) / 60
        if minutes < self._weights.no_progress_minutes:
            return []
        return [
            Sign(
                "no_progress", self._weights.no_progress, f"lleva {minutes:.0f} minutos sin avanzar"
            )
        ]

    # the voice

    def _voice(self, voice: VoiceFeatures | None) -> list[Sign]:
        if voice is None:
            return []
        weights, state = self._weights, self.state
        signs = []
        raised = _raised(voice, _baseline(state.voice_baseline))
        if "loudness_db" in raised:
            signs.append(Sign("louder", weights.louder, "subió la voz"))
        if "pitch_hz" in raised:
            signs.append(Sign("higher_pitch", weights.higher_pitch, "habla en un tono más agudo"))
        if "words_per_s" in raised:
            signs.append(Sign("faster", weights.faster, "habla más deprisa"))
        if not signs and len(state.voice_baseline) < BASELINE_TURNS:
            state.voice_baseline = [*state.voice_baseline, voice.to_json()]
        state.barge_ins = [*state.barge_ins, voice.barged_in][-BARGE_IN_WINDOW:]
        if voice.barged_in and sum(state.barge_ins) >= 2:
            times = _times(sum(state.barge_ins))
            signs.append(Sign("barge_ins", weights.barge_ins, f"interrumpió al asistente {times}"))
        return signs


def _one_reading_of_the_words(signs: list[Sign]) -> list[Sign]:
    """The wording model and the NLU's intent read the same words for the same thing: only the
    stronger of them counts, or "esto no hay quien lo aguante" would count twice."""
    readings = [sign for sign in signs if sign.kind in WORD_READINGS]
    if len(readings) < 2:
        return signs
    strongest = max(readings, key=lambda sign: sign.weight)
    return [sign for sign in signs if sign.kind not in WORD_READINGS or sign is strongest]


def same_request(earlier: str, now: str) -> bool:
    """The customer says the same thing again: both at least three words (not "sí" or "no"
    twice) and, in any order, mostly the same words."""
    a, b = normalise(earlier), normalise(now)
    if min(len(a.split()), len(b.split())) < 3:
        return False
    return fuzz.token_set_ratio(a, b) >= 85


def _raised(voice: VoiceFeatures, baseline: dict[str, float]) -> set[str]:
    """The features of this turn clearly above the caller's baseline."""
    measured = {
        "loudness_db": voice.loudness_db,
        "pitch_hz": voice.pitch_hz,
        "words_per_s": voice.words_per_s,
    }
    changes = {
        "loudness_db": lambda now, before: now - before >= LOUDER_DB,
        "pitch_hz": lambda now, before: 12 * math.log2(now / before) >= HIGHER_SEMITONES,
        "words_per_s": lambda now, before: now >= FASTER_RATIO * before,
    }
    raised = {
        key
        for key, rose in changes.items()
        if measured[key] is not None and key in baseline and rose(measured[key], baseline[key])
    }
    return raised


def _baseline(turns: list[dict[str, Any]]) -> dict[str, float]:
    """The mean of each feature over the caller's first calm turns."""
    baseline = {}
    for key in ("loudness_db", "pitch_hz", "words_per_s"):
        values = [t[key] for t in turns if isinstance(t.get(key), (int, float))]
        if values:
            baseline[key] = sum(values) / len(values)
    return baseline


def _times(count: int) -> str:
    return "dos veces" if count == 2 else f"{count} veces"
