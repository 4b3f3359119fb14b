"""The STT stage: the caller's audio of each turn becomes partial and final transcripts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.audio.recognition import Recognition, RecognizedWord
from bot.frames import (
    AudioFrame,
    BotTextFrame,
    KeypadFrame,
    SpeechStartedFrame,
    TranscriptFrame,
    UtteranceEndFrame,
    Word,
)
from bot.pipeline.stt import PRE_ROLL_S, SttStage
from bot.pipeline.vad import VadStage
from bot.settings import VoiceSettings
from tests.helpers.voice_fakes import (
    FakeRecognizer,
    FakeSpeechDetector,
    ManualClock,
    audio_frames,
    of_type,
    quiet,
    run_chain,
    run_stage,
    speech,
)

SETTINGS = VoiceSettings(vosk_model=Path("unused"))


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(1, thread_name_prefix="stt")
    yield pool
    pool.shutdown(wait=True)


def listen(stt: SttStage, pcm: bytes) -> list:
    """Caller audio through a fake-detector VAD and the STT stage."""
    vad = VadStage(FakeSpeechDetector(), SETTINGS, stt.words_look_complete)
    return asyncio.run(run_chain([vad, stt], audio_frames(pcm)))


def finals(frames: list) -> list[TranscriptFrame]:
    return [frame for frame in of_type(frames, TranscriptFrame) if frame.final]


def partials(frames: list) -> list[TranscriptFrame]:
    return [frame for frame in of_type(frames, TranscriptFrame) if not frame.final]


def test_partial_transcripts_while_the_caller_speaks(executor):
    recognizer = FakeRecognizer(["hola buenos días"], word_s=0.15)
    stt = SttStage(recognizer, executor, ManualClock())

    out = listen(stt, quiet(0.5) + speech(0.6) + quiet(1.0))

    assert [frame.text for frame in partials(out)] == ["hola", "hola buenos", "hola buenos días"]
    started = out.index(of_type(out, SpeechStartedFrame)[0])
    ended = out.index(of_type(out, UtteranceEndFrame)[0])
    assert all(started < out.index(frame) < ended for frame in partials(out))
    assert "MainThread" not in recognizer.threads  # blocking calls stay off the event loop


def test_final_transcript_on_utterance_end_with_normalised_text(executor):
    clock = ManualClock(7.25)
    stt = SttStage(FakeRecognizer(["cuatro ocho dos uno tres"]), executor, clock)

    out = listen(stt, quiet(0.5) + speech(1.0) + quiet(1.0))

    [final] = finals(out)
    [end] = of_type(out, UtteranceEndFrame)
    assert out.index(final) == out.index(end) - 1  # the transcript comes just before the end
    assert "48213" in final.text
    assert final.raw == "cuatro ocho dos uno tres"
    assert final.at == 7.25
    assert final.speech_start == pytest.approx(0.5)
    assert final.speech_end == pytest.approx(1.5) == end.speech_end
    assert final.endpoint_at == end.at == pytest.approx(2.0)
    assert final.endpoint == "silence"
    assert final.turn == 1


def test_word_times_are_on_the_call_timeline_and_confidence_is_their_mean(executor):
    recognition = Recognition(
        "hola buenos días",
        (
            RecognizedWord("hola", 0.30, 0.55, 0.9),
            RecognizedWord("buenos", 0.55, 0.80, 0.6),
            RecognizedWord("días", 0.80, 1.10, 0.3),
        ),
    )
    stt = SttStage(FakeRecognizer([recognition]), executor, ManualClock())

    [final] = finals(listen(stt, quiet(2.0) + speech(0.8) + quiet(1.0)))

    # audio fed from 0.3 s before the onset at 2.0: the recogniser's 0 is 1.7 on the call
    assert final.words == (
        Word("hola", pytest.approx(2.0), pytest.approx(2.25), 0.9),
        Word("buenos", pytest.approx(2.25), pytest.approx(2.5), 0.6),
        Word("días", pytest.approx(2.5), pytest.approx(2.8), 0.3),
    )
    assert final.confidence == pytest.approx(0.6)


def test_no_words_means_no_confidence(executor):
    stt = SttStage(FakeRecognizer([""]), executor, ManualClock())

    [final] = finals(listen(stt, quiet(0.5) + speech(0.3) + quiet(1.0)))

    assert final.text == ""
    assert final.words == ()
    assert final.confidence is None


def test_turns_are_numbered_from_one(executor):
    stt = SttStage(FakeRecognizer(["hola", "quiero una cita", "gracias"]), executor, ManualClock())
    pcm = quiet(0.5) + speech(0.4) + quiet(1.0) + speech(0.6) + quiet(1.0) + speech(0.3)

    out = listen(stt, pcm + quiet(1.0))

    assert [(frame.turn, frame.text) for frame in finals(out)] == [
        (1, "hola"),
        (2, "quiero una cita"),
        (3, "gracias"),
    ]


def test_the_audio_before_the_onset_is_fed_to_the_recogniser(executor):
    recognizer = FakeRecognizer(["quiero"])  # not complete: the turn ends after 500 ms
    stt = SttStage(recognizer, executor, ManualClock())

    listen(stt, quiet(1.0) + speech(0.5) + quiet(1.0))

    assert recognizer.starts == [pytest.approx(1.0 - PRE_ROLL_S)]
    fed = bytes(recognizer.fed[0])
    pre_roll = quiet(PRE_ROLL_S)
    assert fed.startswith(pre_roll + speech(0.5))  # the pre-roll, then all of the speech
    assert len(fed) == len(pre_roll + speech(0.5) + quiet(0.5))  # up to the end of the turn
    assert recognizer.calls[1] == ("start", pytest.approx(0.7))  # after the warm-up
    assert recognizer.calls[-1] == ("finish",)


def test_pre_roll_is_only_what_there_is_at_the_start_of_the_call(executor):
    recognizer = FakeRecognizer(["hola"])
    stt = SttStage(recognizer, executor, ManualClock())

    listen(stt, quiet(0.1) + speech(0.5) + quiet(1.0))

    assert recognizer.starts == [0.0]
    assert bytes(recognizer.fed[0]).startswith(quiet(0.1) + speech(0.5))


def test_words_look_complete_follows_the_partial_words(executor):
    recognizer = FakeRecognizer(["quiero una cita para el lunes"], word_s=0.1)
    stt = SttStage(recognizer, executor, ManualClock())
    assert stt.words_look_complete() is False  # nobody is speaking

    async def scenario() -> tuple[list[str], list[bool]]:
        texts, complete = [], []
        await run_stage(stt, [SpeechStartedFrame(0.0)])
        # the words of each 100 ms are known once it is decoded, and sent with the next frame
        for frame in [*audio_frames(speech(0.6), frame_ms=100), AudioFrame(bytes(3200), 0.6)]:
            texts += [partial.text for partial in partials(await run_stage(stt, [frame]))]
            complete.append(stt.words_look_complete())
        await run_stage(stt, [UtteranceEndFrame(1.0, 0.6)])
        return texts, complete[:-1]

    texts, complete = asyncio.run(scenario())

    assert texts == [
        "quiero",
        "quiero una",
        "quiero una cita",
        "quiero una cita para",
        "quiero una cita para el",
        "quiero una cita para el lunes",
    ]
    assert complete == [False, False, True, False, False, True]
    assert stt.words_look_complete() is False  # the turn is over


def test_a_number_at_the_end_does_not_look_complete(executor):
    stt = SttStage(FakeRecognizer(["mi código es cuatro ocho"]), executor, ManualClock())

    async def scenario() -> bool:
        await run_stage(stt, [SpeechStartedFrame(0.0), *audio_frames(speech(1.0))])
        return stt.words_look_complete()

    assert asyncio.run(scenario()) is False


def test_frames_it_does_not_handle_pass_through(executor):
    recognizer = FakeRecognizer(["hola"])
    stt = SttStage(recognizer, executor, ManualClock())
    text = BotTextFrame("Hola", 0.0)
    stray_end = UtteranceEndFrame(1.0, 0.5)  # no utterance in progress
    audio = AudioFrame(quiet(0.02), 0.0, False)

    out = asyncio.run(run_stage(stt, [text, audio, stray_end]))

    assert out == [text, audio, stray_end]
    assert recognizer.calls == [("warm_up",)]  # and nothing else


def test_a_slow_recogniser_never_holds_up_audio_or_the_speech_start(executor):
    """The barge-in depends on SpeechStartedFrame reaching the turn-taking stage at once,
    however far behind the recogniser is."""
    release = threading.Event()

    class StuckRecognizer(FakeRecognizer):
        def accept(self, pcm: bytes) -> str:
            release.wait(5)
            return super().accept(pcm)

    stt = SttStage(StuckRecognizer(["hola"]), executor, ManualClock())
    frames = [SpeechStartedFrame(0.0), *audio_frames(speech(0.5), frame_ms=100)]

    async def without_waiting() -> list:
        out = []
        for frame in frames:
            out += [produced async for produced in stt.process(frame)]
        release.set()
        await stt.settle()
        return out

    out = asyncio.run(asyncio.wait_for(without_waiting(), timeout=2))
    assert out[: len(frames)] == frames  # everything passed on while decoding was stuck


def test_the_recogniser_warms_up_on_its_worker_before_the_first_utterance(executor):
    recognizer = FakeRecognizer(["hola"])
    stt = SttStage(recognizer, executor, ManualClock())

    listen(stt, quiet(0.5) + speech(0.6) + quiet(1.0))

    assert recognizer.calls[0] == ("warm_up",)
    assert [call for call in recognizer.calls if call == ("warm_up",)] == [("warm_up",)]
    assert "MainThread" not in recognizer.threads


def test_the_time_spent_decoding_and_the_backlog_at_the_endpoint_are_measured(executor):
    recognizer = FakeRecognizer(["hola"])
    stt = SttStage(recognizer, executor, ManualClock())

    out = listen(stt, quiet(0.5) + speech(0.6) + quiet(1.0))

    (final,) = finals(out)
    assert stt.audio_s == pytest.approx(len(recognizer.fed[0]) / 32000)
    assert stt.decode_s > 0
    assert 0.0 <= final.decode_backlog <= 0.2  # a fast recogniser keeps up


def test_a_keypad_entry_is_a_turn_of_its_own_and_one_keyed_mid_sentence_waits_for_its_end(
    executor,
):
    stt = SttStage(FakeRecognizer(["mi pedido es"]), executor, ManualClock())
    vad = VadStage(FakeSpeechDetector(), SETTINGS, stt.words_look_complete)
    frames: list = [KeypadFrame("0", 0.1)]
    frames += audio_frames(quiet(0.5) + speech(0.6), start=0.2)
    frames.append(KeypadFrame("48213", 1.0))  # keyed while still speaking
    frames += audio_frames(quiet(1.0), start=1.3)

    out = asyncio.run(run_chain([vad, stt], frames))

    turns = [(f.turn, f.text, f.endpoint) for f in finals(out)]
    assert turns == [(1, "0", "keypad"), (2, "mi pedido es", "silence"), (3, "48213", "keypad")]
    keyed = finals(out)[0]
    assert keyed.confidence == 1.0 and keyed.speech_start == keyed.speech_end == 0.1
    # each keypad turn starts like speech (the bot stops talking) and ends at once
    starts = of_type(out, SpeechStartedFrame)
    assert [s.at for s in starts][0] == 0.1 and len(starts) == 3


def test_the_recogniser_is_told_when_the_caller_pauses_and_goes_on(executor):
    recognizer = FakeRecognizer(["quiero pedir cita para mañana"])
    stt = SttStage(recognizer, executor, ManualClock())

    # a 220 ms pause mid-turn (shorter than even the early end of turn), then the end
    listen(stt, quiet(0.5) + speech(0.8) + quiet(0.22) + speech(0.6) + quiet(1.0))

    pauses = [call for call in recognizer.calls if call[0] == "pause"]
    assert pauses == [("pause", True), ("pause", False), ("pause", True)]
    # every sample of the turn so far reached the recogniser before it was told of the pause
    first_pause = recognizer.calls.index(("pause", True))
    fed = sum(call[1] for call in recognizer.calls[:first_pause] if call[0] == "accept")
    assert fed >= (0.8 + 0.2) * 32000
    # silence before anyone speaks is no pause
    assert recognizer.calls.index(("start", pytest.approx(0.2, abs=0.1))) < first_pause
