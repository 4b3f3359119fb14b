"""The pipeline's one audio format (16 kHz, 16-bit, mono PCM) and conversion at the edges.

Everything that enters a call (WAV files, microphones at 44.1/48 kHz, 8 kHz telephony, stereo)
is converted here, once, so the stages never see another format.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soxr

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes: 16-bit signed little-endian
_DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}
MIN_INPUT_RATE = 8_000


class AudioFormatError(ValueError):
    """Audio that cannot be used; the message says why in Spanish, for the person who gave it."""


def seconds(pcm: bytes | bytearray, rate: int = SAMPLE_RATE) -> float:
    """Duration of pipeline-format (mono 16-bit) audio."""
    return len(pcm) / (SAMPLE_WIDTH * rate)


def silence(duration_s: float, rate: int = SAMPLE_RATE) -> bytes:
    """Digital silence of the given length."""
    return bytes(SAMPLE_WIDTH * round(duration_s * rate))


def chunks(pcm: bytes, frame_ms: int, rate: int = SAMPLE_RATE) -> Iterator[bytes]:
    """Fixed-length frames; the last partial frame is padded with silence (webrtcvad needs
    exact 10/20/30 ms frames)."""
    size = SAMPLE_WIDTH * rate * frame_ms // 1000
    for start in range(0, len(pcm), size):
        frame = pcm[start : start + size]
        yield frame + bytes(size - len(frame))


def to_samples(data: bytes, width: int, channels: int) -> np.ndarray:
    """Interleaved integer PCM of any common width to mono float32 in [-1, 1]."""
    if width == 3:  # 24-bit: widen each sample to 32 bits by adding a low zero byte
        raw = np.frombuffer(data[: len(data) // 3 * 3], np.uint8).reshape(-1, 3)
        data = np.pad(raw, ((0, 0), (1, 0))).tobytes()
        width = 4
    if width not in _DTYPES:
        raise AudioFormatError(f"El audio tiene muestras de {width * 8} bits; use PCM de 16 bits.")
    values = np.frombuffer(data[: len(data) // width * width], _DTYPES[width]).astype(np.float32)
    if width == 1:  # 8-bit WAV is unsigned, centred on 128
        values = (values - 128.0) * 256.0
        width = 2
    values /= float(2 ** (8 * width - 1))
    frames = len(values) // channels
    return values[: frames * channels].reshape(frames, channels).mean(axis=1)


def from_samples(samples: np.ndarray) -> bytes:
    """Mono float samples back to 16-bit PCM, clipped rather than wrapped around; the exact
    inverse of `to_samples` for 16-bit audio."""
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype("<i2").tobytes()


def to_pipeline(data: bytes, rate: int, channels: int = 1, width: int = SAMPLE_WIDTH) -> bytes:
    """Any integer PCM (8-48 kHz, mono or stereo) to the pipeline format."""
    if rate < MIN_INPUT_RATE:
        raise AudioFormatError(
            f"El audio está a {rate} Hz; hace falta al menos {MIN_INPUT_RATE} Hz (telefonía)."
        )
    if channels < 1:
        raise AudioFormatError("El audio no tiene ningún canal.")
    if (rate, channels, width) == (SAMPLE_RATE, 1, SAMPLE_WIDTH):
        return data[: len(data) // SAMPLE_WIDTH * SAMPLE_WIDTH]  # already the pipeline format
    samples = to_samples(data, width, channels)
    if rate != SAMPLE_RATE:
        samples = soxr.resample(samples, rate, SAMPLE_RATE)
    return from_samples(samples)


class StreamConverter:
    """Converts a live stream chunk by chunk (microphone, telephony) without clicks at chunk
    edges: the resampler keeps its state between chunks."""

    def __init__(self, rate: int, channels: int = 1, width: int = SAMPLE_WIDTH) -> None:
        self._channels = channels
        self._width = width
        self._resampler = None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1)

    def convert(self, data: bytes, last: bool = False) -> bytes:
        samples = to_samples(data, self._width, self._channels)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples, last=last)
        return from_samples(samples)


def read_wav(path: Path) -> bytes:
    """A WAV file in the pipeline format, or AudioFormatError saying what is wrong with it."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
            expected = wav.getnframes() * channels * width
            data = wav.readframes(wav.getnframes())
    except FileNotFoundError as error:
        raise AudioFormatError(f"No encuentro el fichero {path}.") from error
    except (wave.Error, EOFError) as error:
        raise AudioFormatError(
            f"{path} no es un WAV PCM válido ({error or 'cabecera incompleta'}). Conviértalo, "
            f"por ejemplo con «sox {path.name} -r 16000 -c 1 -b 16 llamada.wav»."
        ) from error
    except OSError as error:
        raise AudioFormatError(f"No puedo leer {path}: {error.strerror or error}.") from error
    if not data:
        raise AudioFormatError(f"{path} no contiene audio.")
    if len(data) < expected:
        raise AudioFormatError(f"{path} está incompleto: le falta parte del audio.")
    return to_pipeline(data, rate, channels, width)


def write_wav(path: Path, pcm: bytes, rate: int = SAMPLE_RATE, channels: int = 1) -> None:
    """Writes 16-bit PCM as a WAV file, creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(SAMPLE_WIDTH)
        wav.setframerate(rate)
        wav.writeframes(pcm)


def interleave(left: bytes, right: bytes) -> bytes:
    """Two mono tracks as one stereo track; the shorter one is padded with silence."""
    length = max(len(left), len(right)) // SAMPLE_WIDTH
    stereo = np.zeros((length, 2), "<i2")
    stereo[: len(left) // SAMPLE_WIDTH, 0] = np.frombuffer(left, "<i2")
    stereo[: len(right) // SAMPLE_WIDTH, 1] = np.frombuffer(right, "<i2")
    return stereo.tobytes()
