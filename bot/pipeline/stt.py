"""Speech to text: the caller's audio of each turn becomes partial and final transcripts.

SpeechStartedFrame, AudioFrame… UtteranceEndFrame -> TranscriptFrame(partial)…,
TranscriptFrame("a qué hora abren", final=True)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

from bot.audio.pcm import seconds
from bot.frames import (
    AudioFrame,
    Frame,
    SpeechStartedFrame,
    TranscriptFrame,
    UtteranceEndFrame,
    Word,
)
from bot.pipeline.clock import Clock
from bot.pipeline.pipeline import Stage
from bot.pipeline.spoken import looks_complete, normalize_transcript

PRE_ROLL_S = 0.3  # audio kept from before the VAD's onset: it notices speech a little late
# The recogniser gets audio every 100 ms rather than every 20 ms frame: a fifth less decoding
# time with a large Vosk model, a fifth of the thread hops, and partial words often enough for
# the early end of turn. What is left is fed at the end of the turn, so nothing waits for it.
FEED_EVERY_S = 0.1


@dataclass(frozen=True)
class RecognizedWord:
    """A word with times in seconds from the start of the audio fed for its utterance."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Recognition:
    """A recogniser's final result for one utterance."""

    text: str
    words: tuple[RecognizedWord, ...] = ()


class Recognizer(Protocol):
    """Streaming recognition for one call; blocking calls, run off the event loop."""

    name: str

    def start(self, at: float) -> None:
        """A new utterance begins; its audio starts at `at` on the call's timeline."""

    def accept(self, pcm: bytes) -> str:
        """Feeds audio; returns the words heard so far in this utterance."""

    def finish(self) -> Recognition:
        """Ends the utterance and returns its final result."""


class SttStage(Stage):
    """Feeds each caller turn to the recogniser and emits its transcripts.

    Args:
        recognizer: this call's recogniser.
        executor: where the blocking recogniser runs (a thread pool shared by calls).
        clock: the call's clock, to stamp when each transcript is ready.
    """

    def __init__(self, recognizer: Recognizer, executor: Executor, clock: Clock) -> None:
        self._recognizer = recognizer
        self._executor = executor
        self._clock = clock
        self._recent: deque[AudioFrame] = deque()
        self._in_utterance = False
        self._audio_start = 0.0
        self._speech_start = 0.0
        self._partial = ""
        self._unfed = bytearray()  # utterance audio not yet given to the recogniser
        self._turns = 0

    def words_look_complete(self) -> bool:
        """Whether the words heard so far could end the turn (asked by the VAD)."""
        return self._in_utterance and looks_complete(self._partial)

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, AudioFrame):
            self._remember(frame)
            yield frame
            self._unfed += frame.pcm if self._in_utterance else b""
            if self._in_utterance and seconds(self._unfed) >= FEED_EVERY_S:
                partial = await self._feed()
                if partial != self._partial:
                    self._partial = partial
                    yield TranscriptFrame(partial, final=False, at=self._clock.now())
        elif isinstance(frame, SpeechStartedFrame):
            yield frame
            await self._start(frame.at)
        elif isinstance(frame, UtteranceEndFrame) and self._in_utterance:
            yield await self._finish(frame)
            yield frame
        else:
            yield frame

    def _remember(self, frame: AudioFrame) -> None:
        self._recent.append(frame)
        while self._recent and self._recent[0].at < frame.at - PRE_ROLL_S - 1.0:
            self._recent.popleft()

    async def _feed(self) -> str:
        pcm, self._unfed = bytes(self._unfed), bytearray()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._recognizer.accept, pcm)

    async def _start(self, onset: float) -> None:
        backlog = [frame for frame in self._recent if frame.at >= onset - PRE_ROLL_S]
        self._audio_start = backlog[0].at if backlog else onset
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._recognizer.start, self._audio_start)
        self._in_utterance, self._partial, self._speech_start = True, "", onset
        self._unfed = bytearray(b"".join(frame.pcm for frame in backlog))
        self._partial = await self._feed()

    async def _finish(self, end: UtteranceEndFrame) -> TranscriptFrame:
        if self._unfed:
            await self._feed()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._executor, self._recognizer.finish)
        self._in_utterance = False
        self._turns += 1
        words = tuple(
            Word(w.word, self._audio_start + w.start, self._audio_start + w.end, w.confidence)
            for w in result.words
        )
        confidence = sum(w.confidence for w in words) / len(words) if words else None
        return TranscriptFrame(
            text=normalize_transcript(result.text),
            final=True,
            at=self._clock.now(),
            words=words,
            confidence=confidence,
            speech_start=self._speech_start,
            speech_end=end.speech_end,
            endpoint_at=end.at,
            endpoint=end.endpoint,
            raw=result.text,
            turn=self._turns,
        )
