"""Every frame that flows through a call's pipeline.

Times (`at`, `start`, `end`…) are seconds on the call's timeline: 0 is the start of the call.
Audio is always the pipeline format of `bot.audio.pcm` (16 kHz, 16-bit, mono).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class VoiceFeatures:
    """How a caller said one turn; None where it could not be measured.

    Attributes:
        barged_in: the caller spoke over the assistant to take this turn.
    """

    loudness_db: float | None = None
    pitch_hz: float | None = None
    words_per_s: float | None = None
    barged_in: bool = False

    def to_json(self) -> dict[str, Any]:
        return {k: round(v, 2) if isinstance(v, float) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: Any) -> VoiceFeatures | None:
        """Tolerant: the features come over HTTP; anything malformed is left out."""
        if not isinstance(data, dict):
            return None

        def number(key: str, low: float, high: float) -> float | None:
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None
            return float(value) if math.isfinite(value) and low <= value <= high else None

        return cls(
            loudness_db=number("loudness_db", -120.0, 0.0),
            pitch_hz=number("pitch_hz", 40.0, 1000.0),
            words_per_s=number("words_per_s", 0.1, 15.0),
            barged_in=data.get("barged_in") is True,
        )


@dataclass(frozen=True)
class Frame:
    """Base of all frames."""


@dataclass(frozen=True)
class AudioFrame(Frame):
    """Caller audio; `speech` is filled in by the VAD (None before it)."""

    pcm: bytes
    at: float
    speech: bool | None = None


@dataclass(frozen=True)
class SpeechStartedFrame(Frame):
    """The caller started speaking; `at` is the first voiced sample."""

    at: float


@dataclass(frozen=True)
class UtteranceEndFrame(Frame):
    """The caller's turn ended: `speech_end` is the last voiced sample, `at` when it was decided,
    `endpoint` why: "silence" (the full trailing silence) or "early" (complete words)."""

    at: float
    speech_end: float
    endpoint: str = "silence"


@dataclass(frozen=True)
class Word:
    """One recognised word with its times on the call timeline and the recogniser's confidence."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class TranscriptFrame(Frame):
    """What the caller said: partial while they speak, final once per turn.

    `speech_start`/`speech_end` are the utterance's first and last voiced samples, `endpoint_at`
    when the turn was declared over ("silence", or "early" on complete words), `at` when the
    text was ready. `raw` is the recogniser's text before normalisation; `voice` how it was said.
    `decode_backlog` is the caller audio (s) the recogniser had still to decode at the endpoint:
    near zero while it keeps up with the caller in real time.
    """

    text: str
    final: bool
    at: float
    words: tuple[Word, ...] = ()
    confidence: float | None = None
    speech_start: float = 0.0
    speech_end: float = 0.0
    endpoint_at: float = 0.0
    endpoint: str = "silence"
    raw: str = ""
    turn: int = 0
    voice: VoiceFeatures | None = None
    decode_backlog: float = 0.0


@dataclass(frozen=True)
class KeypadFrame(Frame):
    """Keys the caller pressed on the phone's keypad (DTMF) as one entry, e.g. "48213"."""

    digits: str
    at: float


@dataclass(frozen=True)
class BotTextFrame(Frame):
    """Text for the caller: the assistant's reply to caller turn `turn`, or, with `prompt`, a
    line of the pipeline's own (greeting, "¿Sigue en la línea?", goodbye) said after that turn."""

    text: str
    at: float
    turn: int = 0
    prompt: bool = False


@dataclass(frozen=True)
class BotAudioFrame(Frame):
    """Synthesised speech of one sentence."""

    pcm: bytes
    text: str
    at: float
    turn: int = 0


@dataclass(frozen=True)
class BotStartedSpeakingFrame(Frame):
    """The first sample of a reply left the speaker (or the call recording) at `at`."""

    at: float
    turn: int = 0


@dataclass(frozen=True)
class InterruptFrame(Frame):
    """The caller barged in: the bot stopped talking at `at`, `onset` after the caller began,
    and what it had not said yet is dropped."""

    at: float
    onset: float
    turn: int = 0


@dataclass(frozen=True)
class IgnoredSpeechFrame(Frame):
    """Caller sound that is not a turn: a backchannel ("vale") while the bot spoke, or noise.

    `paused_s` is how long the bot paused before carrying on (0 if it was not speaking).
    """

    transcript: TranscriptFrame
    reason: str
    paused_s: float = 0.0


@dataclass(frozen=True)
class HandoffFrame(Frame):
    """The assistant handed the call to a person (the contract's `handoff` message)."""

    at: float
    handoff: dict[str, Any] = field(default_factory=dict)
    turn: int = 0


@dataclass(frozen=True)
class EndFrame(Frame):
    """The call is over: "caller_done", "silence", "handoff", "hangup" or "error"."""

    at: float
    reason: str
