"""The turn-taking stage: barge-in, backchannels, noise and silence."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.audio.timeline_output import TimelineOutput
from bot.frames import (
    AudioFrame,
    BotTextFrame,
    EndFrame,
    IgnoredSpeechFrame,
    InterruptFrame,
    SpeechStartedFrame,
    TranscriptFrame,
)
from bot.pipeline import prompts
from bot.pipeline.turns import TurnStage
from bot.settings import VoiceSettings
from tests.helpers.voice_fakes import (
    FakeOutput,
    ManualClock,
    audio_frames,
    of_type,
    quiet,
    run_stage,
)

SETTINGS = VoiceSettings(vosk_model=Path("unused"), backchannel_max_ms=700, reprompt_after_s=8.0)


def make(speaking: bool = False, now: float = 0.0) -> tuple[TurnStage, FakeOutput, ManualClock]:
    clock = ManualClock(now)
    output = FakeOutput(clock, speaking=speaking)
    return TurnStage(output, clock, SETTINGS), output, clock


def said(text: str, start: float, end: float, turn: int = 1, at: float | None = None):
    at = end + 0.5 if at is None else at
    return TranscriptFrame(
        text, final=True, at=at, speech_start=start, speech_end=end, endpoint_at=at, turn=turn
    )


def run(stage: TurnStage, frames) -> list:
    return asyncio.run(run_stage(stage, frames))


def test_barge_in_pauses_at_once_then_stops_on_a_real_turn():
    stage, output, clock = make(speaking=True, now=5.08)

    async def first_frame_out():
        gen = stage.process(SpeechStartedFrame(5.0))
        first = await gen.__anext__()
        calls_then = list(output.calls)  # before the frame has even left the stage
        rest = [frame async for frame in gen]
        return first, calls_then, rest

    first, calls_then, rest = asyncio.run(first_frame_out())
    assert first == SpeechStartedFrame(5.0)
    assert rest == []
    assert calls_then == ["pause"]

    clock.set(6.9)
    transcript = said("quiero hablar con una persona", 5.0, 6.4, turn=3)
    out = run(stage, [transcript])

    assert output.calls == ["pause", ("stop", 3)]
    assert out == [InterruptFrame(at=5.08, onset=5.0, turn=3), transcript]


def test_a_second_onset_while_paused_does_not_pause_again():
    stage, output, _ = make(speaking=True, now=1.0)

    run(stage, [SpeechStartedFrame(0.9), SpeechStartedFrame(0.95)])

    assert output.calls == ["pause"]


@pytest.mark.parametrize("word", ["vale", "sí", "mhm", "de acuerdo"])
def test_a_backchannel_lets_the_bot_carry_on(word):
    stage, output, clock = make(speaking=True, now=2.08)
    output.remaining_s = 2.5
    run(stage, [SpeechStartedFrame(2.0)])
    clock.set(2.9)
    transcript = said(word, 2.0, 2.4, turn=2)

    out = run(stage, [transcript])

    assert output.calls == ["pause", "resume"]
    assert out == [IgnoredSpeechFrame(transcript, "backchannel", pytest.approx(0.82))]
    assert of_type(out, TranscriptFrame) == []


def test_a_backchannel_near_the_end_of_the_bot_sentence_is_an_answer():
    stage, output, clock = make(speaking=True, now=2.08)
    output.remaining_s = 0.6  # "¿Le paso con una persona?" … "Sí"
    run(stage, [SpeechStartedFrame(2.0)])
    clock.set(2.9)
    transcript = said("sí", 2.0, 2.4, turn=4)

    out = run(stage, [transcript])

    assert output.calls == ["pause", ("stop", 4)]
    assert out == [InterruptFrame(2.08, 2.0, 4), transcript]


def test_a_long_backchannel_word_string_is_a_turn():
    stage, output, clock = make(speaking=True, now=2.08)
    output.remaining_s = 3.0
    run(stage, [SpeechStartedFrame(2.0)])
    transcript = said("vale", 2.0, 3.0, turn=2)  # 1 s: longer than backchannel_max_ms

    out = run(stage, [transcript])

    assert output.calls == ["pause", ("stop", 2)]
    assert of_type(out, InterruptFrame) and out[-1] is transcript


def test_noise_while_the_bot_speaks_is_ignored():
    stage, output, clock = make(speaking=True, now=3.08)
    output.remaining_s = 0.2  # noise never takes the turn, however little is left
    run(stage, [SpeechStartedFrame(3.0)])
    clock.set(3.5)
    transcript = said("", 3.0, 3.1)

    out = run(stage, [transcript])

    assert output.calls == ["pause", "resume"]
    assert out == [IgnoredSpeechFrame(transcript, "noise", pytest.approx(0.42))]


def test_a_turn_while_the_bot_is_silent_is_passed_on_untouched():
    stage, output, _ = make()
    transcript = said("a qué hora abren", 1.0, 2.0)

    out = run(stage, [SpeechStartedFrame(1.0), transcript])

    assert out == [SpeechStartedFrame(1.0), transcript]
    assert output.calls == ["pause", "resume"]  # held while the caller spoke, nothing dropped


def test_partial_transcripts_pass_through():
    stage, output, _ = make(speaking=True)
    partial = TranscriptFrame("a qué", final=False, at=1.0)

    assert run(stage, [partial]) == [partial]
    assert output.calls == []


def test_a_long_unclear_utterance_asks_the_caller_to_repeat():
    stage, output, _ = make()
    transcript = said("", 1.0, 2.5, turn=2, at=3.0)

    out = run(stage, [SpeechStartedFrame(1.0), transcript])

    assert out[1:] == [
        IgnoredSpeechFrame(transcript, "unclear"),
        BotTextFrame(prompts.NOT_HEARD, 3.0, 2, prompt=True),
    ]
    assert output.calls == ["pause", "resume"]


def test_a_short_noise_while_the_bot_is_silent_is_just_ignored():
    stage, _, _ = make()
    transcript = said("", 1.0, 1.2)

    out = run(stage, [SpeechStartedFrame(1.0), transcript])

    assert out[1:] == [IgnoredSpeechFrame(transcript, "noise")]


def test_audio_frames_are_consumed():
    stage, _, _ = make()

    out = run(stage, audio_frames(quiet(1.0)))

    assert out == []


def silence_from(start: float, duration: float) -> list[AudioFrame]:
    return audio_frames(quiet(duration), start=start)


def test_silence_brings_a_reprompt_and_then_a_goodbye():
    stage, _, _ = make()

    out = run(stage, silence_from(0.0, 20.0))

    assert out == [
        BotTextFrame(prompts.REPROMPT, pytest.approx(8.0), 0, prompt=True),
        BotTextFrame(prompts.SILENCE_GOODBYE, pytest.approx(16.0), 0, prompt=True),
        EndFrame(pytest.approx(16.0), "silence"),
    ]


def test_the_reprompt_says_which_caller_turn_it_follows():
    stage, _, _ = make()
    run(stage, [SpeechStartedFrame(0.5), said("hola", 0.5, 1.0, turn=1, at=1.5)])

    out = run(stage, silence_from(1.5, 8.1))

    assert out == [BotTextFrame(prompts.REPROMPT, pytest.approx(9.5), 1, prompt=True)]


def test_no_reprompt_while_the_bot_speaks():
    stage, output, _ = make(speaking=True)

    assert run(stage, silence_from(0.0, 20.0)) == []

    output.speaking = False
    out = run(stage, silence_from(20.0, 10.0))
    # eight seconds after the bot's last audible moment (the frame at 19.98)
    assert [(frame.text, round(frame.at, 2)) for frame in of_type(out, BotTextFrame)] == [
        (prompts.REPROMPT, 27.98)
    ]


def test_no_reprompt_while_the_caller_speaks():
    stage, _, _ = make()
    run(stage, [SpeechStartedFrame(1.0)])

    assert run(stage, silence_from(1.0, 12.0)) == []  # a long turn still being recognised


def test_caller_speech_resets_the_reprompt_count():
    stage, _, _ = make()
    first = run(stage, silence_from(0.0, 9.0))
    assert [frame.text for frame in first] == [prompts.REPROMPT]

    run(stage, [SpeechStartedFrame(9.0), said("sí, aquí estoy", 9.0, 9.8, turn=1, at=10.0)])
    out = run(stage, silence_from(10.0, 9.0))

    assert [frame.text for frame in of_type(out, BotTextFrame)] == [prompts.REPROMPT]
    assert of_type(out, EndFrame) == []


def test_after_the_goodbye_nothing_more_happens():
    stage, _, _ = make()
    run(stage, silence_from(0.0, 17.0))

    assert run(stage, silence_from(17.0, 30.0)) == []


def test_a_reply_arriving_while_the_caller_speaks_waits_for_them():
    """The caller paused, the turn ended early, and they carried on talking: the reply to the
    first half is held, then dropped because the second half is a turn of its own."""
    clock = ManualClock(1.0)
    output = TimelineOutput(clock)
    stage = TurnStage(output, clock, SETTINGS)
    run(stage, [SpeechStartedFrame(1.0)])

    assert output.play(bytes(32000), turn=1) is None  # held, not spoken over the caller
    clock.set(2.5)
    out = run(stage, [said("para instalar la fibra", 1.0, 2.0, turn=2, at=2.5)])

    assert of_type(out, InterruptFrame) == [InterruptFrame(2.5, 1.0, 2)]
    assert output.remaining() == 0 and output.track() == b""


def test_a_reply_held_during_a_backchannel_is_then_spoken():
    clock = ManualClock(1.0)
    output = TimelineOutput(clock)
    stage = TurnStage(output, clock, SETTINGS)
    run(stage, [SpeechStartedFrame(1.0)])
    output.play(bytes(64000), turn=1)  # two seconds of reply while the caller says "vale"
    clock.set(1.8)

    out = run(stage, [said("vale", 1.0, 1.4, turn=2, at=1.8)])

    assert [frame.reason for frame in of_type(out, IgnoredSpeechFrame)] == ["backchannel"]
    assert output.speaking and abs(output.remaining() - 2.0) < 0.01
