"""Text to speech, sentence by sentence, so the caller hears the first sentence of a reply
while the rest is still being synthesised.

BotTextFrame("Abrimos a las 10:00. ¿Algo más?") -> BotAudioFrame("Abrimos a las diez."),
                                                   BotAudioFrame("¿Algo más?")
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import Executor
from pathlib import Path
from typing import Protocol

from bot.audio.pcm import AudioFormatError, read_wav, write_wav
from bot.clock import Clock
from bot.frames import BotAudioFrame, BotTextFrame, Frame, InterruptFrame
from bot.pipeline.pipeline import Stage
from bot.pipeline.spoken import for_speech, split_sentences


class Synthesizer(Protocol):
    """Blocking speech synthesis of one sentence to pipeline audio."""

    cache_key: str  # voice and rate: cached audio is only valid for the same ones

    def synthesize(self, text: str) -> bytes: ...


class PromptCache:
    """Fixed prompts rendered once to WAV files and kept in memory.

    Args:
        directory: where the WAV files live (audio/prompts, git-ignored).
        synthesizer: renders prompts that are not on disk yet.
    """

    def __init__(self, directory: Path, synthesizer: Synthesizer) -> None:
        self._directory = directory
        self._synthesizer = synthesizer
        self._audio: dict[str, bytes] = {}

    def prepare(self, texts: Iterable[str]) -> None:
        """Loads (or renders and saves) every sentence of `texts`; blocking."""
        for text in texts:
            for sentence in split_sentences(for_speech(text)):
                self._audio[sentence] = self._load_or_render(sentence)

    def get(self, sentence: str) -> bytes | None:
        return self._audio.get(sentence)

    def _load_or_render(self, sentence: str) -> bytes:
        key = f"{self._synthesizer.cache_key}|{sentence}".encode()
        path = self._directory / f"{hashlib.sha256(key).hexdigest()[:16]}.wav"
        if path.exists():
            try:
                return read_wav(path)
            except AudioFormatError:
                pass  # a damaged cache file is simply rendered again
        pcm = self._synthesizer.synthesize(sentence)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.part")
        write_wav(partial, pcm)
        partial.replace(path)  # atomic: other calls never read a half-written prompt
        return pcm


class TtsStage(Stage):
    """Speaks the bot's text.

    Args:
        synthesizer: the speech engine, called only from `executor`.
        executor: a single-worker executor (pyttsx3 engines are not thread-safe).
        clock: the call's clock.
        prompts: pre-rendered fixed prompts, used instead of synthesis when the text matches.
    """

    def __init__(
        self, synthesizer: Synthesizer, executor: Executor, clock: Clock, prompts: PromptCache
    ) -> None:
        self._synthesizer = synthesizer
        self._executor = executor
        self._clock = clock
        self._prompts = prompts
        self._stale_before = 0

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        yield frame
        if isinstance(frame, InterruptFrame):
            self._stale_before = frame.turn
        if not isinstance(frame, BotTextFrame):
            return
        for sentence in split_sentences(for_speech(frame.text)):
            if frame.turn < self._stale_before:
                return  # the caller interrupted this reply
            pcm = self._prompts.get(sentence) or await self._synthesize(sentence)
            yield BotAudioFrame(pcm, sentence, self._clock.now(), frame.turn)

    async def _synthesize(self, sentence: str) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._synthesizer.synthesize, sentence)
