"""Telephone audio: G.711 μ-law at 8 kHz (Twilio Media Streams) and 8 kHz signed linear
(Asterisk AudioSocket), to and from the pipeline's 16 kHz 16-bit PCM.

μ-law uses the standard library's `audioop` (C, ITU-T G.711 tables): Rasa pins this project to
Python ≤ 3.10, where it is present; on 3.13+ the `audioop-lts` package provides the same module.
Rate conversion keeps its state between chunks (soxr streams), so 20 ms telephone frames join
without clicks.
"""

from __future__ import annotations

import audioop

import numpy as np
import soxr

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, from_samples, to_samples

PHONE_RATE = 8_000


def ulaw_to_linear(ulaw: bytes) -> bytes:
    """μ-law bytes (one per sample) to 16-bit signed little-endian PCM at the same rate."""
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)


def linear_to_ulaw(pcm: bytes) -> bytes:
    """16-bit signed little-endian PCM to μ-law, one byte per sample."""
    return audioop.lin2ulaw(pcm, SAMPLE_WIDTH)


class _Resampler:
    """16-bit PCM from one rate to another, chunk by chunk.

    soxr's "quick" quality: a few samples of delay instead of HQ's milliseconds, and telephone
    audio has nothing above 3.4 kHz for a sharper filter to keep."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        self._stream = soxr.ResampleStream(rate_in, rate_out, 1, dtype="float32", quality="QQ")

    def convert(self, pcm: bytes, last: bool = False) -> bytes:
        samples = to_samples(pcm, SAMPLE_WIDTH, 1).astype(np.float32)
        return from_samples(self._stream.resample_chunk(samples, last=last))


class PhoneToPipeline:
    """Caller audio from the phone line (8 kHz linear; μ-law decoded first) to 16 kHz.

    Each 20 ms in comes out as exactly 20 ms: the resampler holds back a few samples of its
    first chunk, which are given as silence instead. Otherwise every chunk would end a few
    samples short of a 20 ms VAD frame, and each VAD frame would wait for the next chunk,
    deciding everything (the end of the caller's turn too) 20 ms late."""

    def __init__(self) -> None:
        self._resampler = _Resampler(PHONE_RATE, SAMPLE_RATE)
        self._started = False

    def from_linear(self, pcm8k: bytes) -> bytes:
        pcm = self._resampler.convert(pcm8k)
        if not self._started:
            self._started = True
            held_back = 2 * len(pcm8k) - len(pcm)  # bytes: twice the samples, two bytes each
            pcm = bytes(max(0, held_back)) + pcm
        return pcm


class PipelineToPhone:
    """The bot's (or the agent's) 16 kHz voice to the phone line's 8 kHz."""

    def __init__(self) -> None:
        self._resampler = _Resampler(SAMPLE_RATE, PHONE_RATE)

    def to_linear(self, pcm16k: bytes) -> bytes:
        return self._resampler.convert(pcm16k)
