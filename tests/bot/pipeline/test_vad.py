"""The VAD stage: when the caller starts speaking and when their turn is over."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, to_pipeline
from bot.frames import (
    AudioFrame,
    BotTextFrame,
    EndFrame,
    SpeechStartedFrame,
    TranscriptFrame,
    UtteranceEndFrame,
)
from bot.pipeline.vad import VadStage, WebrtcSpeechDetector
from bot.settings import VoiceSettings
from tests.helpers.voice_fakes import (
    FakeSpeechDetector,
    audio_frames,
    of_type,
    quiet,
    run_stage,
    speech,
)


def settings(**overrides: int) -> VoiceSettings:
    return VoiceSettings(vosk_model=Path("unused"), **overrides)


def run(stage: VadStage, pcm: bytes, frame_ms: int = 20, start: float = 0.0) -> list:
    return asyncio.run(run_stage(stage, audio_frames(pcm, frame_ms, start)))


@pytest.mark.parametrize(("speech_start_ms", "frames_needed"), [(80, 4), (100, 5), (30, 2)])
def test_speech_starts_after_speech_start_ms_of_voiced_frames(speech_start_ms, frames_needed):
    stage = VadStage(FakeSpeechDetector(), settings(speech_start_ms=speech_start_ms))

    out = run(stage, quiet(0.5) + speech(0.4))

    started = of_type(out, SpeechStartedFrame)
    assert len(started) == 1
    assert started[0].at == pytest.approx(0.5)  # the first voiced sample, not the decision
    before = out[out.index(started[0]) - 1]
    assert isinstance(before, AudioFrame) and before.speech is True
    assert before.at == pytest.approx(0.5 + 0.02 * (frames_needed - 1))


def test_every_frame_is_marked_speech_or_not():
    out = run(VadStage(FakeSpeechDetector(), settings()), quiet(0.1) + speech(0.1))

    marks = [frame.speech for frame in of_type(out, AudioFrame)]
    assert marks == [False] * 5 + [True] * 5


def test_a_noise_burst_shorter_than_speech_start_is_not_speech():
    stage = VadStage(FakeSpeechDetector(), settings(speech_start_ms=80))
    # 60 ms bursts, twice with 20 ms of silence between: never 80 ms in a row
    pcm = quiet(0.3) + speech(0.06) + quiet(0.02) + speech(0.06) + quiet(1.0)

    out = run(stage, pcm)

    assert of_type(out, SpeechStartedFrame) == []
    assert of_type(out, UtteranceEndFrame) == []
    assert sum(frame.speech for frame in of_type(out, AudioFrame)) == 6


def test_the_turn_ends_after_end_silence_with_the_last_voiced_sample():
    stage = VadStage(FakeSpeechDetector(), settings(end_silence_ms=500))

    out = run(stage, quiet(0.2) + speech(0.6) + quiet(1.0))

    ends = of_type(out, UtteranceEndFrame)
    assert len(ends) == 1
    assert ends[0].speech_end == pytest.approx(0.8)
    assert ends[0].at == pytest.approx(1.3)
    assert ends[0].endpoint == "silence"
    before = out[out.index(ends[0]) - 1]
    assert isinstance(before, AudioFrame) and before.at == pytest.approx(1.28)
    # a short pause inside the turn does not end it
    out = run(VadStage(FakeSpeechDetector(), settings()), speech(0.3) + quiet(0.4) + speech(0.3))
    assert of_type(out, UtteranceEndFrame) == []


def test_each_utterance_gets_its_own_start_and_end():
    stage = VadStage(FakeSpeechDetector(), settings())

    out = run(stage, speech(0.5) + quiet(0.8) + speech(0.3) + quiet(0.8))

    assert [frame.at for frame in of_type(out, SpeechStartedFrame)] == pytest.approx([0.0, 1.3])
    ends = of_type(out, UtteranceEndFrame)
    assert [frame.speech_end for frame in ends] == pytest.approx([0.5, 1.6])
    kinds = [type(f) for f in out if isinstance(f, (SpeechStartedFrame, UtteranceEndFrame))]
    assert kinds == [SpeechStartedFrame, UtteranceEndFrame] * 2


def test_early_end_when_the_words_look_complete():
    asked: list[bool] = []

    def complete() -> bool:
        asked.append(True)
        return True

    stage = VadStage(
        FakeSpeechDetector(), settings(end_silence_ms=500, early_end_silence_ms=250), complete
    )

    out = run(stage, quiet(0.2) + speech(0.6) + quiet(1.0))

    ends = of_type(out, UtteranceEndFrame)
    assert len(ends) == 1
    assert ends[0].endpoint == "early"
    assert ends[0].speech_end == pytest.approx(0.8)
    assert ends[0].at == pytest.approx(1.06)  # the first 20 ms frame ending >= 250 ms after
    assert len(asked) == 1  # only asked once the early silence had passed


def test_no_early_end_when_the_words_are_incomplete():
    stage = VadStage(
        FakeSpeechDetector(), settings(end_silence_ms=500, early_end_silence_ms=250), lambda: False
    )

    ends = of_type(run(stage, quiet(0.2) + speech(0.6) + quiet(1.0)), UtteranceEndFrame)

    assert [(end.endpoint, round(end.at, 3)) for end in ends] == [("silence", 1.3)]


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_odd_sized_input_is_rechunked_into_exact_frames(frame_ms):
    detector = FakeSpeechDetector()
    stage = VadStage(detector, settings(frame_ms=frame_ms))
    # a ramp so the order of the samples can be checked; cut into pieces of odd lengths
    samples = np.arange(1, 16_001, dtype="<i2")
    pcm = samples.tobytes()
    sizes = [7, 13, 33, 1, 50, 3, 21]  # ms
    pieces, offset, at, i = [], 0, 1.5, 0
    while offset < len(pcm):
        size = SAMPLE_WIDTH * SAMPLE_RATE * sizes[i % len(sizes)] // 1000
        piece = pcm[offset : offset + size]
        pieces.append(AudioFrame(piece, at))
        offset, at, i = offset + size, at + len(piece) / (SAMPLE_WIDTH * SAMPLE_RATE), i + 1

    out = asyncio.run(run_stage(stage, pieces))

    frames = of_type(out, AudioFrame)
    frame_bytes = SAMPLE_WIDTH * SAMPLE_RATE * frame_ms // 1000
    assert len(frames) == len(pcm) // frame_bytes
    assert {len(frame.pcm) for frame in frames} == {frame_bytes}
    assert set(detector.frame_sizes) == {frame_bytes}
    for k, frame in enumerate(frames):
        assert frame.at == pytest.approx(1.5 + k * frame_ms / 1000, abs=1e-6)
    assert b"".join(frame.pcm for frame in frames) == pcm[: len(frames) * frame_bytes]


def test_non_audio_frames_pass_through_unchanged_and_in_order():
    stage = VadStage(FakeSpeechDetector(), settings())
    text = BotTextFrame("Hola", 0.0, prompt=True)
    transcript = TranscriptFrame("hola", final=True, at=0.1)
    end = EndFrame(0.2, "hangup")
    audio = audio_frames(quiet(0.04))

    out = asyncio.run(run_stage(stage, [text, audio[0], transcript, audio[1], end]))

    assert out[0] is text
    assert out[2] is transcript
    assert out[4] is end
    assert [type(frame) for frame in out] == [
        BotTextFrame,
        AudioFrame,
        TranscriptFrame,
        AudioFrame,
        EndFrame,
    ]


def test_webrtc_detector_never_hears_speech_in_digital_silence():
    stage = VadStage(WebrtcSpeechDetector(3), settings())

    out = run(stage, quiet(2.0))

    assert len(of_type(out, AudioFrame)) == 100
    assert not any(frame.speech for frame in of_type(out, AudioFrame))
    assert of_type(out, SpeechStartedFrame) == []


def espeak(text: str) -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    wav_bytes = subprocess.run(
        ["espeak-ng", "-v", "es", "--stdout", text], capture_output=True, check=True
    ).stdout
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        data = wav.readframes(wav.getnframes())  # espeak's header claims "endless" data
    return to_pipeline(data, rate, channels, width)


def test_webrtc_detector_finds_one_utterance_in_espeak_speech():
    spoken = espeak("hola buenos días")
    stage = VadStage(WebrtcSpeechDetector(2), settings())

    out = run(stage, quiet(0.5) + spoken + quiet(1.0))

    started = of_type(out, SpeechStartedFrame)
    ends = of_type(out, UtteranceEndFrame)
    assert len(started) == 1
    assert len(ends) == 1
    duration = len(spoken) / (SAMPLE_WIDTH * SAMPLE_RATE)
    assert 0.45 <= started[0].at <= 0.8
    assert started[0].at < ends[0].speech_end <= 0.5 + duration + 0.05
    assert ends[0].at == pytest.approx(ends[0].speech_end + 0.5)
