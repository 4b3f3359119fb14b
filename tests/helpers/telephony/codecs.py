"""Audio codecs of the phone peers: the pipeline's 16 kHz PCM as a phone line carries it.

Asterisk's AudioSocket carries 8 kHz signed linear 16-bit audio and Twilio's Media Streams 8 kHz
G.711 mulaw; `slin8k_from_16k` low-passes the pipeline's 16 kHz audio below 4 kHz before taking
every second sample, `ulaw_encode_16k` then encodes it to mulaw and `ulaw_decode` turns what the
server sends back into 16-bit PCM.
"""

from __future__ import annotations

import audioop

import numpy as np
import numpy.typing as npt

PIPELINE_RATE = 16_000
PHONE_RATE = 8_000
SAMPLE_WIDTH = 2
FRAME_S = 0.02
ULAW_FRAME_BYTES = 160  # 20 ms of 8 kHz mulaw, one byte a sample
SLIN_FRAME_BYTES = 320  # 20 ms of 8 kHz signed linear, two bytes a sample
ULAW_SILENCE = 0xFF  # mulaw code of a zero sample


def _lowpass_taps(taps: int = 63, cutoff_hz: float = 3_600.0) -> npt.NDArray[np.float64]:
    """A Hamming-windowed sinc low-pass for 16 kHz audio, unit gain at DC."""
    cutoff = cutoff_hz / PIPELINE_RATE  # cycles per sample
    n = np.arange(taps) - (taps - 1) / 2
    kernel: npt.NDArray[np.float64] = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    normalised: npt.NDArray[np.float64] = kernel / kernel.sum()
    return normalised


_ANTI_ALIAS = _lowpass_taps()


def slin8k_from_16k(pcm16k: bytes) -> bytes:
    """Convert 16 kHz 16-bit PCM to 8 kHz 16-bit PCM: low-pass below 4 kHz, then every 2nd sample.

    Args:
        pcm16k: Signed 16-bit little-endian mono samples at 16 kHz.

    Returns:
        Signed 16-bit little-endian mono samples at 8 kHz (half as many).

    Raises:
        ValueError: If the input is not a whole number of samples.
    """
    if len(pcm16k) % SAMPLE_WIDTH:
        raise ValueError(f"{len(pcm16k)} bytes is not a whole number of 16-bit samples")
    samples = np.frombuffer(pcm16k, "<i2").astype(np.float64)
    if samples.size == 0:
        return b""
    delay = (len(_ANTI_ALIAS) - 1) // 2  # the filter is symmetric: centre it on each sample
    filtered = np.convolve(samples, _ANTI_ALIAS)[delay : delay + samples.size]
    pcm8k: bytes = np.clip(np.rint(filtered[::2]), -32768, 32767).astype("<i2").tobytes()
    return pcm8k


def ulaw_encode_16k(pcm16k: bytes) -> bytes:
    """Convert the pipeline's 16 kHz 16-bit PCM to what Twilio carries: 8 kHz G.711 mulaw.

    Args:
        pcm16k: Signed 16-bit little-endian mono samples at 16 kHz.

    Returns:
        One mulaw byte per 8 kHz sample.
    """
    return audioop.lin2ulaw(slin8k_from_16k(pcm16k), SAMPLE_WIDTH)


def ulaw_decode(ulaw: bytes) -> bytes:
    """Decode G.711 mulaw to 16-bit PCM at the same rate (8 kHz on a phone line).

    Args:
        ulaw: One mulaw byte per sample.

    Returns:
        Signed 16-bit little-endian samples, two bytes per input byte.
    """
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)
