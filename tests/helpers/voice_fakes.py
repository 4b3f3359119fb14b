"""Test doubles for the voice pipeline: engines, output and clock, plus audio builders.

"Speech" in these tests is constant nonzero PCM and silence is zeros: `FakeSpeechDetector`
calls a frame speech when any sample is nonzero, and `FakeRecognizer` hears a word per stretch
of nonzero audio.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.frames import AudioFrame, Frame
from bot.pipeline.pipeline import Stage
from bot.pipeline.stt import Recognition, RecognizedWord
from bot.rasa_client import BotReply, DialogueUnavailable

SPEECH_LEVEL = 3000


def speech(duration_s: float, level: int = SPEECH_LEVEL) -> bytes:
    """Constant nonzero PCM: "speech" for the fake detector."""
    samples = round(duration_s * SAMPLE_RATE)
    return np.full(samples, level, "<i2").tobytes()


def quiet(duration_s: float) -> bytes:
    """Digital silence."""
    return bytes(SAMPLE_WIDTH * round(duration_s * SAMPLE_RATE))


def audio_frames(pcm: bytes, frame_ms: int = 20, start: float = 0.0) -> list[AudioFrame]:
    """`pcm` cut into AudioFrames of `frame_ms` (the last one may be shorter), stamped from
    `start` on the call timeline."""
    size = SAMPLE_WIDTH * SAMPLE_RATE * frame_ms // 1000
    return [
        AudioFrame(pcm[offset : offset + size], start + seconds(pcm[:offset]))
        for offset in range(0, len(pcm), size)
    ]


def is_voiced(pcm: bytes) -> bool:
    return any(pcm)


async def run_stage(stage: Stage, frames: Iterable[Frame]) -> list[Frame]:
    """Feeds `frames` one by one through `stage.process` and collects everything it yields."""
    produced: list[Frame] = []
    for frame in frames:
        async for out in stage.process(frame):
            produced.append(out)
    return produced


async def run_chain(stages: Sequence[Stage], frames: Iterable[Frame]) -> list[Frame]:
    """Like `run_stage` through several stages in order, each frame all the way through before
    the next one (as the pipeline does when it is drained after every frame)."""
    produced: list[Frame] = []
    for frame in frames:
        current = [frame]
        for stage in stages:
            current = await run_stage(stage, current)
        produced.extend(current)
    return produced


def of_type(frames: Iterable[Frame], kind: type) -> list[Any]:
    return [frame for frame in frames if isinstance(frame, kind)]


class ManualClock:
    """A call clock the test sets by hand: `clock.at = 3.2`, or `advance(0.5)`."""

    def __init__(self, at: float = 0.0) -> None:
        self.at = at

    def now(self) -> float:
        return self.at

    def set(self, at: float) -> None:
        self.at = at

    def advance(self, seconds_: float) -> None:
        self.at += seconds_


class FakeSpeechDetector:
    """Speech is any frame with a nonzero sample; records the size of every frame it judged."""

    def __init__(self) -> None:
        self.frame_sizes: list[int] = []

    def is_speech(self, pcm: bytes) -> bool:
        self.frame_sizes.append(len(pcm))
        return is_voiced(pcm)


class FakeRecognizer:
    """Recognises the scripted texts, one per utterance, in order ("" once the script is over).

    Words appear in the partial results as voiced audio arrives: one word per `word_s` seconds
    of nonzero audio. The final result gives each word `confidence` (or the scripted
    Recognition as it is), with word times spread over the voiced audio of the utterance.

    Attributes:
        calls: ("start", at), ("accept", bytes), ("finish",) in the order they happened.
        starts: the `at` of every utterance.
        fed: the audio fed to each utterance.
        threads: names of the threads the recogniser was called on.
    """

    name = "fake"

    def __init__(
        self,
        script: Sequence[str | Recognition],
        word_s: float = 0.1,
        confidence: float | Sequence[float] = 0.9,
    ) -> None:
        self._script = list(script)
        self._word_s = word_s
        self._confidence = confidence
        self.calls: list[tuple[Any, ...]] = []
        self.starts: list[float] = []
        self.fed: list[bytearray] = []
        self.threads: set[str] = set()
        self._current: str | Recognition = ""
        self._voiced_s = 0.0
        self._first_voiced: float | None = None
        self._heard_s = 0.0

    def start(self, at: float) -> None:
        self._note(("start", at))
        self.starts.append(at)
        self.fed.append(bytearray())
        self._current = self._script.pop(0) if self._script else ""
        self._voiced_s, self._heard_s, self._first_voiced = 0.0, 0.0, None

    def accept(self, pcm: bytes) -> str:
        self._note(("accept", len(pcm)))
        self.fed[-1] += pcm
        if is_voiced(pcm):
            if self._first_voiced is None:
                self._first_voiced = self._heard_s
            self._voiced_s += seconds(pcm)
        self._heard_s += seconds(pcm)
        heard = int(self._voiced_s / self._word_s + 1e-9)
        return " ".join(self._text().split()[:heard])

    def finish(self) -> Recognition:
        self._note(("finish",))
        if isinstance(self._current, Recognition):
            return self._current
        tokens = self._current.split()
        start = self._first_voiced or 0.0
        step = self._voiced_s / max(1, len(tokens))
        confidences = (
            [self._confidence] * len(tokens)
            if isinstance(self._confidence, (int, float))
            else list(self._confidence)
        )
        words = tuple(
            RecognizedWord(token, start + i * step, start + (i + 1) * step, confidences[i])
            for i, token in enumerate(tokens)
        )
        return Recognition(self._current, words)

    def _text(self) -> str:
        return self._current.text if isinstance(self._current, Recognition) else self._current

    def _note(self, call: tuple[Any, ...]) -> None:
        self.calls.append(call)
        self.threads.add(threading.current_thread().name)


class FakeSynthesizer:
    """Speech of `seconds_per_char` per character: silence, or a constant `level` so the
    test can see it on a track. Records every text it was asked to say."""

    def __init__(
        self, seconds_per_char: float = 0.04, level: int = 0, cache_key: str = "fake-voice|175"
    ) -> None:
        self.seconds_per_char = seconds_per_char
        self.level = level
        self.cache_key = cache_key
        self.texts: list[str] = []
        self.threads: set[str] = set()

    @property
    def calls(self) -> int:
        return len(self.texts)

    def duration(self, text: str) -> float:
        return round(len(text) * self.seconds_per_char * SAMPLE_RATE) / SAMPLE_RATE

    def synthesize(self, text: str) -> bytes:
        self.texts.append(text)
        self.threads.add(threading.current_thread().name)
        samples = round(len(text) * self.seconds_per_char * SAMPLE_RATE)
        return np.full(samples, self.level, "<i2").tobytes()


class FakeDialogueClient:
    """Answers from a script of BotReply (or raises the scripted exception, e.g.
    DialogueUnavailable); records every turn it was sent."""

    def __init__(self, replies: Sequence[BotReply | Exception] = ()) -> None:
        self._replies = list(replies)
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    @property
    def texts(self) -> list[str]:
        return [text for _, text, _ in self.sent]

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        self.sent.append((conversation_id, text, metadata))
        if not self._replies:
            raise DialogueUnavailable("no scripted reply left")
        reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FakeOutput:
    """An AudioOutput whose state the test sets (`speaking`, `remaining_s`); records calls.

    Attributes:
        calls: "pause", "resume", ("stop", stale_before), ("play", turn) in order.
        played: (pcm, turn) of everything accepted by `play`.
    """

    def __init__(self, clock: ManualClock | None = None, speaking: bool = False) -> None:
        self._clock = clock or ManualClock()
        self.speaking = speaking
        self.remaining_s = 0.0
        self.calls: list[Any] = []
        self.played: list[tuple[bytes, int]] = []

    def remaining(self) -> float:
        return self.remaining_s

    def play(self, pcm: bytes, turn: int) -> float | None:
        self.calls.append(("play", turn))
        self.played.append((pcm, turn))
        return self._clock.now()

    def pause(self) -> None:
        self.calls.append("pause")

    def resume(self) -> None:
        self.calls.append("resume")

    def stop(self, stale_before: int) -> None:
        self.calls.append(("stop", stale_before))
