"""Loudness, pitch and speaking rate of a caller's turn."""

from __future__ import annotations

import numpy as np
import pytest

from bot.audio.pcm import SAMPLE_RATE
from bot.audio.prosody import loudness_db, measure, pitch_hz, words_per_second


def voiced(f0: float, seconds: float, level: float) -> np.ndarray:
    """A buzz with harmonics at `f0`, like a vowel, at peak `level` (0..1)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
    return level * wave / np.max(np.abs(wave))


def pcm(samples: np.ndarray) -> bytes:
    return (samples * 32767).astype("<i2").tobytes()


def test_loudness_follows_the_level_and_ignores_pauses():
    quiet, loud = voiced(120, 1.0, 0.1), voiced(120, 1.0, 0.2)
    assert loudness_db(loud) - loudness_db(quiet) == pytest.approx(6.02, abs=0.1)
    with_pause = np.concatenate([quiet, np.zeros(SAMPLE_RATE // 2)])
    assert loudness_db(with_pause) == pytest.approx(loudness_db(quiet), abs=0.5)
    assert loudness_db(np.zeros(SAMPLE_RATE)) is None
    assert loudness_db(np.zeros(10)) is None


@pytest.mark.parametrize("f0", [110.0, 220.0])
def test_pitch_is_the_fundamental(f0: float):
    assert pitch_hz(voiced(f0, 0.8, 0.3)) == pytest.approx(f0, rel=0.02)


def test_no_pitch_in_noise_or_in_a_click():
    noise = np.random.default_rng(1).normal(0, 0.05, SAMPLE_RATE)
    assert pitch_hz(noise) is None
    assert pitch_hz(voiced(150, 0.05, 0.3)) is None


def test_speaking_rate_from_word_times_within_the_speech():
    words = [(0.0, 0.3), (0.35, 0.7), (0.8, 1.0)]
    assert words_per_second(words, speech_s=2.0) == pytest.approx(3.0)
    assert words_per_second(words, speech_s=0.5) == pytest.approx(6.0)  # capped by the VAD
    assert words_per_second(words[:2], speech_s=2.0) is None  # too few words to say


def test_measure_takes_pipeline_audio():
    features = measure(
        pcm(voiced(200, 1.0, 0.25)) + b"\x00", [(0.0, 0.5), (0.5, 0.8), (0.8, 1.0)], 1.0
    )
    assert features.pitch_hz == pytest.approx(200, rel=0.02)
    assert -20 < features.loudness_db < -10
    assert features.words_per_s == pytest.approx(3.0)
    assert not features.barged_in
