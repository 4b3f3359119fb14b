"""Sounds that are not speech, as a phone line carries them: for the recogniser's failure modes.

Each generator returns 16 kHz 16-bit mono PCM, seeded so every run hears the same sound.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

RATE = 16000


def _pcm(signal: np.ndarray, level: float) -> bytes:
    peak = float(np.max(np.abs(signal))) or 1.0
    return (signal / peak * level * 32767).astype("<i2").tobytes()


def silence(seconds: float, seed: int = 0) -> bytes:
    """A quiet line: dither far below speech, as a codec's comfort noise."""
    rng = np.random.default_rng(seed)
    return _pcm(rng.normal(0, 1, int(seconds * RATE)), 0.002)


def line_noise(seconds: float, seed: int = 0) -> bytes:
    """Hiss with mains hum and crackle, loud enough for the VAD to take it for speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    hum = 0.5 * np.sin(2 * np.pi * 50 * t) + 0.25 * np.sin(2 * np.pi * 150 * t)
    crackle = np.where(rng.random(t.size) < 0.002, rng.normal(0, 4, t.size), 0.0)
    return _pcm(hum + rng.normal(0, 0.4, t.size) + crackle, 0.3)


def breathing(seconds: float, seed: int = 0) -> bytes:
    """Breaths into the handset: low-passed noise swelling and fading every ~1.8 s."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    noise = np.convolve(rng.normal(0, 1, t.size), np.ones(12) / 12, mode="same")
    envelope = np.clip(np.sin(2 * np.pi * t / 1.8), 0, None) ** 2
    return _pcm(noise * envelope, 0.4)


def hold_music(seconds: float, seed: int = 0) -> bytes:
    """A looping tune of chords with a melody on top, as hold music sounds down a phone."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    roots = [261.6, 349.2, 392.0, 329.6]  # C F G E
    beat = (t / 0.5).astype(int)
    chord_root = np.array(roots)[(beat // 4) % len(roots)]
    melody = np.array([523.3, 587.3, 659.3, 784.0, 659.3, 587.3])[beat % 6]
    signal = sum(np.sin(2 * np.pi * chord_root * ratio * t) for ratio in (1.0, 1.26, 1.5))
    signal = signal + 0.8 * np.sin(2 * np.pi * melody * t) * np.exp(-3 * (t % 0.5))
    return _pcm(signal + rng.normal(0, 0.05, t.size), 0.5)


GENERATORS: dict[str, Callable[..., bytes]] = {
    "silence": silence,
    "line_noise": line_noise,
    "breathing": breathing,
    "hold_music": hold_music,
}
