"""Telephone audio: μ-law and 8 kHz to and from the pipeline's 16 kHz, chunk by chunk."""

from __future__ import annotations

import numpy as np

from bot.audio.g711 import (
    PhoneToPipeline,
    PipelineToPhone,
    linear_to_ulaw,
    ulaw_to_linear,
)


def tone(rate: int, seconds: float, hz: float = 440.0, level: float = 0.3) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype("<i2").tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.float64)


def test_ulaw_is_one_byte_a_sample_and_round_trips_within_its_step():
    pcm = tone(8000, 0.1)
    ulaw = linear_to_ulaw(pcm)
    assert len(ulaw) == len(pcm) // 2
    back = samples(ulaw_to_linear(ulaw))
    # G.711 keeps about 3 % of the amplitude near full scale: a 0.3 tone stays within 400
    assert np.max(np.abs(back - samples(pcm))) < 400


def test_telephone_audio_reaches_the_pipeline_at_16_khz_without_delay_or_clicks():
    to_pipeline = PhoneToPipeline()
    source = tone(8000, 1.0)
    frames = [source[i : i + 320] for i in range(0, len(source), 320)]  # 20 ms frames
    converted = [to_pipeline.from_linear(frame) for frame in frames]
    # every 20 ms comes out as exactly 20 ms from the first frame on: whole VAD frames, none
    # waiting for the next chunk (a resampler with a long filter would hold back tens of ms)
    assert {len(chunk) for chunk in converted} == {640}
    joined = samples(b"".join(converted))
    assert abs(len(joined) - 16000) <= 8
    expected = samples(tone(16000, 1.0))
    # the same tone, a few samples (well under a millisecond) late: the resampler's own delay
    best = max(
        np.corrcoef(joined[800 + lag : 15000 + lag], expected[800:15000])[0, 1]
        for lag in range(0, 9)
    )
    assert best > 0.99


def test_the_bots_voice_goes_down_to_8_khz_in_20_ms_frames():
    to_phone = PipelineToPhone()
    source = tone(16000, 0.5, hz=300)
    out = b"".join(to_phone.to_linear(source[i : i + 640]) for i in range(0, len(source), 640))
    assert abs(len(out) // 2 - 4000) <= 8
    assert (
        np.corrcoef(samples(out)[400:3500], samples(tone(8000, 0.5, hz=300))[400:3500])[0, 1] > 0.99
    )
