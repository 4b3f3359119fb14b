"""Turn-taking: barge-in, backchannels, noise and silence.

SpeechStartedFrame while the bot talks -> the bot pauses at once
TranscriptFrame(final) -> InterruptFrame + TranscriptFrame (a real turn), or
                          IgnoredSpeechFrame and the bot carries on ("vale", a cough)
AudioFrame… with nobody talking -> BotTextFrame("¿Sigue en la línea?"), later a goodbye and EndFrame

Whether the caller meant to interrupt is only clear once their words are known, so the bot
pauses at the first sign of speech (meeting the 150 ms stop) and then either gives up the turn or
picks up where it stopped. Audio frames end here: later stages only need words.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from bot.clock import Clock
from bot.frames import (
    AudioFrame,
    BotTextFrame,
    EndFrame,
    Frame,
    IgnoredSpeechFrame,
    InterruptFrame,
    SpeechStartedFrame,
    TranscriptFrame,
)
from bot.pipeline import prompts
from bot.pipeline.output import AudioOutput
from bot.pipeline.pipeline import Stage
from bot.pipeline.spoken import is_backchannel
from bot.settings import VoiceSettings

# A backchannel right at the end of the bot's sentence is more likely an answer ("¿Le paso con
# una persona?" "Sí"): below this much audio left, the caller's word is taken as their turn.
MIN_REMAINING_TO_CARRY_ON_S = 1.0


class TurnStage(Stage):
    """Decides what the caller's sounds mean for the conversation.

    Args:
        output: the bot's speaker, paused and stopped directly for fast barge-in.
        clock: the call's clock.
        settings: backchannel length and silence timeout.
        bot_holds_line: whether the assistant holds the call; while a person does (or the caller
            waits for one) the bot neither asks "¿Sigue en la línea?" nor says it did not hear.
    """

    def __init__(
        self,
        output: AudioOutput,
        clock: Clock,
        settings: VoiceSettings,
        bot_holds_line: Callable[[], bool] = lambda: True,
    ) -> None:
        self._output = output
        self._bot_holds_line = bot_holds_line
        self._clock = clock
        self._backchannel_max = settings.backchannel_max_ms / 1000
        self._reprompt_after = settings.reprompt_after_s
        self._paused_at = 0.0  # when the bot's voice was last held for the caller's speech
        self._onset = 0.0
        self._bot_was_speaking = False
        self._caller_speaking = False
        self._last_activity = 0.0
        self._reprompts = 0
        self._turn = 0
        self._ended = False

    @property
    def turn(self) -> int:
        """The caller's latest turn (what the bot says next answers it, or follows it)."""
        return self._turn

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, AudioFrame):
            for produced in self._on_audio(frame):
                yield produced
        elif isinstance(frame, SpeechStartedFrame):
            self._on_speech_started(frame)
            yield frame
        elif isinstance(frame, TranscriptFrame) and frame.final:
            for produced in self._on_transcript(frame):
                yield produced
        else:
            yield frame

    def _on_audio(self, frame: AudioFrame) -> list[Frame]:
        busy = self._caller_speaking or self._output.speaking
        if busy or self._ended or not self._bot_holds_line():
            self._last_activity = frame.at
            return []
        if frame.at - self._last_activity < self._reprompt_after:
            return []
        self._last_activity = frame.at
        self._reprompts += 1
        if self._reprompts == 1:
            return [BotTextFrame(prompts.REPROMPT, frame.at, self._turn, prompt=True)]
        self._ended = True
        return [
            BotTextFrame(prompts.SILENCE_GOODBYE, frame.at, self._turn, prompt=True),
            EndFrame(frame.at, "silence"),
        ]

    def _on_speech_started(self, frame: SpeechStartedFrame) -> None:
        """Holds the bot's voice while the caller speaks: a reply that is playing pauses at
        once, and one that arrives meanwhile waits instead of talking over the caller."""
        if self._caller_speaking:
            return  # already holding for this utterance
        self._caller_speaking = True
        self._reprompts = 0
        self._bot_was_speaking = self._output.speaking
        self._output.pause()
        self._paused_at, self._onset = self._clock.now(), frame.at

    def _on_transcript(self, frame: TranscriptFrame) -> list[Frame]:
        self._caller_speaking = False
        self._last_activity = frame.at
        held = self._output.remaining()
        if frame.text and not self._is_backchannel(frame, held):
            return self._take_turn(frame, interrupted=held > 0 or self._bot_was_speaking)
        self._output.resume()
        paused = self._clock.now() - self._paused_at if held else 0.0
        if frame.text:
            return [IgnoredSpeechFrame(frame, "backchannel", paused)]
        short = frame.speech_end - frame.speech_start <= self._backchannel_max
        if held or short or not self._bot_holds_line():
            return [IgnoredSpeechFrame(frame, "noise", paused)]
        not_heard = BotTextFrame(prompts.NOT_HEARD, frame.at, frame.turn, prompt=True)
        return [IgnoredSpeechFrame(frame, "unclear"), not_heard]

    def _is_backchannel(self, frame: TranscriptFrame, held: float) -> bool:
        """ "vale" over a bot with more to say; with little left it may be an answer ("sí")."""
        short = frame.speech_end - frame.speech_start <= self._backchannel_max
        return short and held >= MIN_REMAINING_TO_CARRY_ON_S and is_backchannel(frame.text)

    def _take_turn(self, frame: TranscriptFrame, interrupted: bool) -> list[Frame]:
        """The caller's words are a turn: what the bot had left to say is dropped."""
        self._turn = frame.turn
        if not interrupted:
            self._output.resume()
            return [frame]
        self._output.stop(stale_before=frame.turn)
        stopped_at = self._paused_at if self._bot_was_speaking else frame.at
        return [InterruptFrame(stopped_at, self._onset, frame.turn), frame]
