"""Voice activity: when the caller starts speaking and when their turn is over.

AudioFrame… -> AudioFrame(speech=True|False)…, SpeechStartedFrame, UtteranceEndFrame
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.frames import AudioFrame, Frame, SpeechStartedFrame, UtteranceEndFrame
from bot.pipeline.pipeline import Stage
from bot.settings import VoiceSettings


class SpeechDetector(Protocol):
    """Says whether one 10/20/30 ms frame of pipeline audio holds speech."""

    def is_speech(self, pcm: bytes) -> bool: ...


class WebrtcSpeechDetector:
    """webrtcvad behind the SpeechDetector protocol."""

    def __init__(self, aggressiveness: int) -> None:
        import webrtcvad  # the C extension is loaded only by processes that handle audio

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, pcm: bytes) -> bool:
        return bool(self._vad.is_speech(pcm, SAMPLE_RATE))


class VadStage(Stage):
    """Marks each frame as speech or not and finds the start and end of caller turns.

    Speech starts after `speech_start_ms` of consecutive voiced frames (shorter noise bursts are
    ignored). The turn ends after `end_silence_ms` of silence, or after the shorter
    `early_end_silence_ms` when `words_complete()` says the recogniser's words form a whole
    sentence.

    Args:
        detector: the per-frame speech detector.
        settings: frame size and timing thresholds.
        words_complete: asks the recogniser whether the words so far look complete.
    """

    def __init__(
        self,
        detector: SpeechDetector,
        settings: VoiceSettings,
        words_complete: Callable[[], bool] = lambda: False,
    ) -> None:
        self._detector = detector
        self._frame_bytes = SAMPLE_WIDTH * SAMPLE_RATE * settings.frame_ms // 1000
        self._start_frames = max(1, math.ceil(settings.speech_start_ms / settings.frame_ms))
        self._end_silence = settings.end_silence_ms / 1000
        self._early_silence = settings.early_end_silence_ms / 1000
        self._words_complete = words_complete
        self._pending = b""
        self._pending_at = 0.0
        self._voiced_run: list[float] = []  # start times of the current run of voiced frames
        self._in_speech = False
        self._last_voiced_end = 0.0

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if not isinstance(frame, AudioFrame):
            yield frame
            return
        # what is left over from earlier chunks came just before this one: stamped from it, so
        # chunks that do not fill whole VAD frames (a phone line's 8 kHz audio resampled) never
        # let the VAD's timeline drift from the call's
        self._pending_at = frame.at - seconds(self._pending)
        self._pending += frame.pcm
        while len(self._pending) >= self._frame_bytes:
            pcm = self._pending[: self._frame_bytes]
            self._pending = self._pending[self._frame_bytes :]
            at = self._pending_at
            self._pending_at += seconds(pcm)
            for produced in self._classify(pcm, at):
                yield produced

    def _classify(self, pcm: bytes, at: float) -> list[Frame]:
        speech = self._detector.is_speech(pcm)
        end = at + seconds(pcm)
        produced: list[Frame] = [AudioFrame(pcm, at, speech)]
        if speech:
            self._voiced_run.append(at)
            self._last_voiced_end = end
            if not self._in_speech and len(self._voiced_run) >= self._start_frames:
                self._in_speech = True
                produced.append(SpeechStartedFrame(self._voiced_run[0]))
            return produced
        self._voiced_run.clear()
        endpoint = self._endpoint(end - self._last_voiced_end) if self._in_speech else None
        if endpoint:
            self._in_speech = False
            produced.append(UtteranceEndFrame(end, self._last_voiced_end, endpoint))
        return produced

    def _endpoint(self, silence: float) -> str | None:
        """Why the turn is over after `silence` seconds, or None if it is not."""
        if silence >= self._end_silence - 1e-9:
            return "silence"
        if silence >= self._early_silence - 1e-9 and self._words_complete():
            return "early"
        return None
