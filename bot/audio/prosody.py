"""How a caller said a turn: loudness, pitch and speaking rate, for the frustration meter.

Each is only meaningful against the same caller's earlier turns (phones and microphones differ
far more than voices), so these are raw measures and the meter compares them.

- Loudness: dBFS of the louder half of the utterance's 20 ms frames, so pauses and the
  pre-roll do not dilute it.
- Pitch: the median fundamental frequency of the voiced frames, from Praat's autocorrelation
  tracker (praat-parselmouth), 75-500 Hz.
- Speaking rate: words per second over the span the words were spoken in (the recogniser's word
  times, within the VAD's speech span), from three words up.
"""

from __future__ import annotations

import math

import numpy as np

from bot.audio.pcm import SAMPLE_RATE
from bot.frames import VoiceFeatures

FRAME = SAMPLE_RATE // 50  # 20 ms
MIN_PITCHED_FRAMES = 5
MIN_WORDS_FOR_RATE = 3
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 500.0


def measure(pcm: bytes, word_times: list[tuple[float, float]], speech_s: float) -> VoiceFeatures:
    """Loudness, pitch and rate of one utterance (16 kHz mono int16).

    Args:
        word_times: (start, end) of each recognised word, in seconds.
        speech_s: how long the VAD heard speech (caps the span the words were spoken in).
    """
    samples = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float64) / 32768.0
    return VoiceFeatures(
        loudness_db=loudness_db(samples),
        pitch_hz=pitch_hz(samples),
        words_per_s=words_per_second(word_times, speech_s),
    )


def loudness_db(samples: np.ndarray) -> float | None:
    frames = len(samples) // FRAME
    if frames == 0:
        return None
    energy = np.mean(samples[: frames * FRAME].reshape(frames, FRAME) ** 2, axis=1)
    louder = np.sort(energy)[frames // 2 :]
    mean = float(np.mean(louder))
    return 10 * math.log10(mean) if mean > 1e-10 else None


def pitch_hz(samples: np.ndarray) -> float | None:
    import parselmouth  # loaded on first use: only calls need it

    if len(samples) < SAMPLE_RATE // 10:
        return None
    sound = parselmouth.Sound(samples, sampling_frequency=SAMPLE_RATE)
    track = sound.to_pitch(
        time_step=0.01, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ
    )
    frequencies = track.selected_array["frequency"]
    voiced = frequencies[frequencies > 0]
    return float(np.median(voiced)) if len(voiced) >= MIN_PITCHED_FRAMES else None


def words_per_second(word_times: list[tuple[float, float]], speech_s: float) -> float | None:
    if len(word_times) < MIN_WORDS_FOR_RATE:
        return None
    span = word_times[-1][1] - word_times[0][0]
    span = min(span, speech_s) if speech_s > 0 else span
    return len(word_times) / span if span > 0.1 else None
