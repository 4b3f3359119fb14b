"""One call, from the first sample of caller audio to the goodbye.

Builds the pipeline (VAD ▶ STT ▶ turn-taking ▶ dialogue ▶ TTS ▶ playback), greets the caller,
feeds the caller's audio (paced in real time, or as fast as possible for a recording), and ends
the call when the caller's audio ends and the bot has finished, after a handoff, or after too
long a silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.audio.recognition import Recognizer
from bot.clock import Clock, MediaClock
from bot.frames import (
    AudioFrame,
    BotTextFrame,
    EndFrame,
    Frame,
    HandoffFrame,
    IgnoredSpeechFrame,
    KeypadFrame,
    SpeechStartedFrame,
    TranscriptFrame,
)
from bot.pipeline import prompts
from bot.pipeline.dialogue import DialogueClient, DialogueStage
from bot.pipeline.output import AudioOutput, PlaybackStage
from bot.pipeline.pipeline import FrameObserver, Pipeline, Stage
from bot.pipeline.stt import SttStage
from bot.pipeline.tts import PromptCache, Synthesizer, TtsStage
from bot.pipeline.turns import TurnStage
from bot.pipeline.vad import SpeechDetector, VadStage
from bot.settings import VoiceSettings

MAX_TAIL_S = 60.0  # after the caller's audio ends, the longest wait for the bot to finish
QUIET_TAIL_S = 1.0  # and the quiet that shows the conversation is over


@dataclass
class CallEngines:
    """The engines of a call, built in one place (`bot.pipeline.engines`), swapped for fakes in
    tests.

    Attributes:
        detector: voice activity detector (stateless per frame, may be shared).
        recognizer: this call's recogniser.
        synthesizer: speech synthesis, only ever called from `tts_executor`.
        dialogue: the assistant.
        stt_executor: one worker thread for this call's recogniser (its calls stay in order).
        tts_executor: single-worker executor for the synthesiser.
        prompts: pre-rendered fixed prompts.
    """

    detector: SpeechDetector
    recognizer: Recognizer
    synthesizer: Synthesizer
    dialogue: DialogueClient
    stt_executor: Executor
    tts_executor: Executor
    prompts: PromptCache

    def close(self) -> None:
        """Stops the engines' threads. Waits for a decode in progress: freeing a Kaldi
        recogniser while its thread still decodes crashes the process."""
        for executor in (self.stt_executor, self.tts_executor):
            executor.shutdown(wait=True, cancel_futures=True)


class Call:
    """A call in progress.

    Args:
        engines: the call's engines.
        settings: voice settings.
        output: where the bot's voice goes.
        clock: the call's timeline (MediaClock for recordings replayed as fast as possible).
        conversation_id: the assistant's conversation for this call.
        metadata: call facts sent with every turn.
        observers: see every frame that leaves the pipeline (call log, live display).
        keep_caller_audio: keep what the caller said in `caller_audio` (for a call recording;
            a live call that is not recorded should not grow in memory).
        bot_holds_line: whether the assistant holds the call (see TurnStage).
        handoff_ends_call: a handoff ends the call (a call straight to the assistant, which has
            nobody to pass it to); False where people take over on the same line (the gateway).
        on_engine_failure: called once when the recogniser or the voice fails on a frame: the
            call can no longer be trusted to hear or speak (the gateway hands it to a person).
    """

    def __init__(
        self,
        engines: CallEngines,
        settings: VoiceSettings,
        output: AudioOutput,
        clock: Clock,
        conversation_id: str,
        metadata: dict[str, Any],
        observers: Sequence[FrameObserver] = (),
        keep_caller_audio: bool = True,
        bot_holds_line: Callable[[], bool] = lambda: True,
        handoff_ends_call: bool = True,
        on_engine_failure: Callable[[], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_engine_failure = on_engine_failure
        self._engine_failed = False
        self._keep_caller_audio = keep_caller_audio
        self._handoff_ends_call = handoff_ends_call
        self._output = output
        self._frame_s = settings.frame_ms / 1000
        stt = SttStage(engines.recognizer, engines.stt_executor, clock)
        self._turn_taking = TurnStage(output, clock, settings, bot_holds_line)
        stages = [
            VadStage(engines.detector, settings, stt.words_look_complete),
            stt,
            self._turn_taking,
            DialogueStage(engines.dialogue, conversation_id, metadata, clock),
            TtsStage(engines.synthesizer, engines.tts_executor, clock, engines.prompts),
            PlaybackStage(output),
        ]
        self._stt = stt
        self._pipeline = Pipeline(stages, [self._watch, *observers], self._stage_failed)
        self._finishing: str | None = None  # why the call is ending, once it is
        self._caller_speaking = False
        self._last_at = 0.0
        self._turn = 0
        self.caller_audio = bytearray()

    async def run(self, caller: AsyncIterator[AudioFrame], hang_up_at_end: bool = False) -> str:
        """Runs the call until it ends; returns why it ended.

        Args:
            caller: the caller's audio.
            hang_up_at_end: the end of the caller's audio means they hung up (a live line), so
                nobody is left to hear the bot finish; a recording's end waits for the bot.
        """
        self._pipeline.start()
        try:
            await self._pipeline.push(
                BotTextFrame(prompts.GREETING, self._clock.now(), 0, prompt=True)
            )
            async for frame in caller:
                if self._finishing:
                    break
                await self._feed(frame)
            reason = self._finishing or ("hangup" if hang_up_at_end else "caller_done")
            if not hang_up_at_end:
                await self._wait_for_bot()
            if not self._pipeline.ended.is_set():
                await self._pipeline.push(EndFrame(self._clock.now(), reason))
            await self._settle()
            return reason
        finally:
            await self._pipeline.stop()

    async def say(self, text: str) -> None:
        """Speaks a line that does not answer a caller turn: a queue update, an agent's typed
        words, a notice. It belongs to the caller's latest turn (as turn-taking has decided it;
        the frames that tell this call may still be on their way out), so a barge-in drops it
        like any reply to that turn."""
        turn = max(self._turn, self._turn_taking.turn)
        await self._pipeline.push(BotTextFrame(text, self._clock.now(), turn))

    async def keypad(self, digits: str) -> None:
        """A keypad entry (DTMF): a caller turn, as if the digits had been said."""
        await self._pipeline.push(KeypadFrame(digits, self._clock.now()))

    def _stage_failed(self, stage: Stage) -> None:
        if not isinstance(stage, (SttStage, TtsStage)) or self._engine_failed:
            return
        self._engine_failed = True
        if self._on_engine_failure is not None:
            self._on_engine_failure()

    def _watch(self, frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and frame.final:
            self._turn = max(self._turn, frame.turn)
        if isinstance(frame, SpeechStartedFrame):
            self._caller_speaking = True
        elif isinstance(frame, (IgnoredSpeechFrame, TranscriptFrame)) and (
            not isinstance(frame, TranscriptFrame) or frame.final
        ):
            self._caller_speaking = False
        elif isinstance(frame, HandoffFrame) and self._handoff_ends_call:
            self._finishing = self._finishing or "handoff"
        elif isinstance(frame, EndFrame):
            self._finishing = self._finishing or frame.reason

    async def _feed(self, frame: AudioFrame) -> None:
        """Pushes caller audio at the pace of the clock: real time, or one frame at a time."""
        end = frame.at + seconds(frame.pcm)
        if isinstance(self._clock, MediaClock):
            self._clock.advance_to(end)
            await self._pipeline.push(frame)
            await self._pipeline.drain()
        else:  # a live caller's frame exists once its last sample is spoken
            await asyncio.sleep(max(0.0, end - self._clock.now()))
            await self._pipeline.push(frame)
        if self._keep_caller_audio:
            self.caller_audio += frame.pcm
        self._last_at = end

    async def _wait_for_bot(self) -> None:
        """Keeps the line open (silence) until the bot has answered and finished speaking."""
        quiet_since: float | None = None
        silence = bytes(SAMPLE_WIDTH * round(SAMPLE_RATE * self._frame_s))
        deadline = self._last_at + MAX_TAIL_S
        while self._last_at < deadline:
            if self._busy():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = self._last_at
            elif self._last_at - quiet_since >= (0.0 if self._finishing else QUIET_TAIL_S):
                return
            await self._feed(AudioFrame(silence, self._last_at))

    @property
    def recognition_load(self) -> tuple[float, float]:
        """Caller audio decoded so far and the recogniser's time on it (s)."""
        return self._stt.audio_s, self._stt.decode_s

    @property
    def bot_busy(self) -> bool:
        """The bot still has something to say: being worked out, synthesised or played."""
        return self._output.speaking or not self._pipeline.idle

    def _busy(self) -> bool:
        return self._caller_speaking or self.bot_busy

    async def _settle(self) -> None:
        if isinstance(self._clock, MediaClock):
            await self._pipeline.drain()
        else:
            while not self._pipeline.idle:
                await asyncio.sleep(0.01)
