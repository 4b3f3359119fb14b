"""Speech to text: the caller's audio of each turn becomes partial and final transcripts.

SpeechStartedFrame, AudioFrame… UtteranceEndFrame -> TranscriptFrame(partial)…,
TranscriptFrame("a qué hora abren", final=True)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from typing import Any

from bot.audio.pcm import seconds
from bot.audio.prosody import measure
from bot.audio.recognition import Recognition, Recognizer
from bot.clock import Clock
from bot.frames import (
    AudioFrame,
    Frame,
    KeypadFrame,
    SpeechStartedFrame,
    TranscriptFrame,
    UtteranceEndFrame,
    Word,
)
from bot.pipeline.pipeline import Stage
from bot.pipeline.spoken import looks_complete, normalize_transcript

PRE_ROLL_S = 0.3  # audio kept from before the VAD's onset: it notices speech a little late
# The recogniser gets audio every 100 ms rather than every 20 ms frame: a fifth less decoding
# time with a large Vosk model, a fifth of the thread hops, and partial words often enough for
# the early end of turn. What is left is fed at the end of the turn, so nothing waits for it.
FEED_EVERY_S = 0.1
# Silence within a turn after which the recogniser is told the caller paused: one that reads
# whole utterances (Whisper) starts decoding then, while the VAD still waits for the end of turn.
PAUSE_S = 0.2


class SttStage(Stage):
    """Feeds each caller turn to the recogniser and emits its transcripts.

    Decoding runs in the background: audio and the speech-start signal pass straight on, so a
    recogniser that falls behind never delays the barge-in. Partial words are emitted with the
    next frame after they are ready; only the end of a turn waits for the final result.

    Args:
        recognizer: this call's recogniser.
        executor: one worker for this call, so the recogniser's calls run in order.
        clock: the call's clock, to stamp when each transcript is ready.

    Attributes:
        audio_s / decode_s: caller audio given to the recogniser and the time it spent on it
            (their ratio is the call's real-time factor).
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
        self._new_partial = False
        self._unfed = bytearray()  # utterance audio not yet given to the recogniser
        self._utterance = bytearray()  # all of it, to measure how it was said
        self._last_call: asyncio.Future[object] | None = None
        self._turns = 0
        self._keys_meanwhile: list[KeypadFrame] = []
        self._warmed_up = False
        self._silent_since: float | None = None  # start of the silence within the utterance
        self._paused = False
        self._queued_s = 0.0  # audio handed to the worker
        self.audio_s = 0.0  # ... and decoded
        self.decode_s = 0.0

    def words_look_complete(self) -> bool:
        """Whether the words heard so far could end the turn (asked by the VAD)."""
        return self._in_utterance and looks_complete(self._partial)

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if not self._warmed_up:  # on the worker, while the greeting plays
            self._warmed_up = True
            self._call(self._recognizer.warm_up)
        if isinstance(frame, AudioFrame):
            self._remember(frame)
            yield frame
            if self._new_partial:
                self._new_partial = False
                yield TranscriptFrame(self._partial, final=False, at=self._clock.now())
            if self._in_utterance:
                self._unfed += frame.pcm
                self._utterance += frame.pcm
                if seconds(self._unfed) >= FEED_EVERY_S:
                    self._feed()
                self._follow_pauses(frame)
        elif isinstance(frame, SpeechStartedFrame):
            yield frame
            self._start(frame.at)
        elif isinstance(frame, UtteranceEndFrame) and self._in_utterance:
            yield await self._finish(frame)
            yield frame
            while self._keys_meanwhile:  # keyed while the caller was still speaking
                for produced in self._keypad(self._keys_meanwhile.pop(0)):
                    yield produced
        elif isinstance(frame, KeypadFrame) and self._in_utterance:
            self._keys_meanwhile.append(frame)
        elif isinstance(frame, KeypadFrame):
            for produced in self._keypad(frame):
                yield produced
        else:
            yield frame

    def _follow_pauses(self, frame: AudioFrame) -> None:
        """Tells the recogniser when the caller pauses and when they go on (see `pause`)."""
        if frame.speech or frame.speech is None:
            self._silent_since = None
            if self._paused:
                self._paused = False
                self._call(self._recognizer.pause, False)
            return
        if self._silent_since is None:
            self._silent_since = frame.at
        elif not self._paused and frame.at + seconds(frame.pcm) - self._silent_since >= PAUSE_S:
            self._paused = True
            if self._unfed:
                self._feed()  # the recogniser must have every sample before it starts
            self._call(self._recognizer.pause, True)

    def _keypad(self, frame: KeypadFrame) -> list[Frame]:
        """A keypad entry is a turn of its own, as certain as typed text (one keyed while the
        caller speaks waits for the end of that turn)."""
        self._turns += 1
        transcript = TranscriptFrame(
            text=frame.digits,
            final=True,
            at=self._clock.now(),
            confidence=1.0,
            speech_start=frame.at,
            speech_end=frame.at,
            endpoint_at=frame.at,
            endpoint="keypad",
            raw=frame.digits,
            turn=self._turns,
        )
        return [SpeechStartedFrame(frame.at), transcript]

    async def settle(self) -> None:
        if self._last_call is not None:
            await asyncio.wait([self._last_call])

    def _remember(self, frame: AudioFrame) -> None:
        self._recent.append(frame)
        while self._recent and self._recent[0].at < frame.at - PRE_ROLL_S - 1.0:
            self._recent.popleft()

    def _call(self, method: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Queues a recogniser call on this call's worker, behind the earlier ones."""
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self._timed, method, *args
        )
        self._last_call = future
        return future

    def _timed(self, method: Callable[..., Any], *args: Any) -> Any:
        """Runs on the worker: one call at a time, so the sums need no lock."""
        start = time.perf_counter()
        try:
            return method(*args)
        finally:
            self.decode_s += time.perf_counter() - start
            if method == self._recognizer.accept:
                self.audio_s += seconds(args[0])

    def _feed(self) -> None:
        pcm, self._unfed = bytes(self._unfed), bytearray()
        self._queued_s += seconds(pcm)
        self._call(self._recognizer.accept, pcm).add_done_callback(self._heard)

    def _heard(self, future: asyncio.Future[str]) -> None:
        if future.cancelled() or future.exception() is not None or not self._in_utterance:
            return
        if future.result() != self._partial:
            self._partial, self._new_partial = future.result(), True

    def _start(self, onset: float) -> None:
        backlog = [frame for frame in self._recent if frame.at >= onset - PRE_ROLL_S]
        self._audio_start = backlog[0].at if backlog else onset
        self._call(self._recognizer.start, self._audio_start)
        self._in_utterance, self._partial, self._speech_start = True, "", onset
        self._silent_since, self._paused = None, False
        self._unfed = bytearray(b"".join(frame.pcm for frame in backlog))
        self._utterance = bytearray(self._unfed)
        self._feed()

    async def _finish(self, end: UtteranceEndFrame) -> TranscriptFrame:
        backlog = self._queued_s - self.audio_s
        if self._unfed:
            self._feed()
        result: Recognition = await self._call(self._recognizer.finish)
        self._in_utterance, self._new_partial = False, False
        self._turns += 1
        words = tuple(
            Word(w.word, self._audio_start + w.start, self._audio_start + w.end, w.confidence)
            for w in result.words
        )
        audio, self._utterance = bytes(self._utterance), bytearray()
        voice = None
        if result.text:  # measured on this call's worker: a pitch track takes a few ms
            times = [(w.start, w.end) for w in words]
            voice = await self._call(measure, audio, times, end.speech_end - self._speech_start)
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
            voice=voice,
            decode_backlog=backlog,
        )
