"""Audio at the edges of a call: WAV files and streams become 16 kHz, 16-bit mono PCM."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from bot.audio.pcm import (
    SAMPLE_RATE,
    AudioFormatError,
    StreamConverter,
    chunks,
    interleave,
    read_wav,
    seconds,
    silence,
    to_pipeline,
    write_wav,
)

TONE_HZ = 440.0


def tone(rate: int, duration: float = 1.0, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * duration)) / rate
    return amplitude * np.sin(2 * np.pi * TONE_HZ * t)


def encode(samples: np.ndarray, width: int) -> bytes:
    """Float samples in [-1, 1] as WAV sample bytes of `width` (8-bit unsigned, 16/24-bit)."""
    if width == 1:
        return np.round(samples * 127 + 128).astype(np.uint8).tobytes()
    if width == 2:
        return np.round(samples * 32767).astype("<i2").tobytes()
    values = np.round(samples * (2**23 - 1)).astype("<i4")
    return b"".join(value.to_bytes(3, "little", signed=True) for value in values.tolist())


def make_wav(path: Path, rate: int, channels: int, width: int, duration: float = 1.0) -> Path:
    mono = tone(rate, duration)
    interleaved = np.repeat(mono, channels)  # the same tone on every channel
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(encode(interleaved, width))
    return path


def raw_wav(format_tag: int, channels: int, rate: int, bits: int, data: bytes) -> bytes:
    """A WAV file written by hand, for formats the wave module will not write."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def samples_of(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.float64) / 32768


def peak_hz(pcm: bytes) -> float:
    samples = samples_of(pcm)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / SAMPLE_RATE)[np.argmax(spectrum)])


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(samples_of(pcm) ** 2)))


FORMATS = [
    pytest.param(8_000, 1, 2, id="8kHz-mono-16bit"),
    pytest.param(16_000, 1, 2, id="16kHz-mono-16bit"),
    pytest.param(44_100, 2, 2, id="44.1kHz-stereo-16bit"),
    pytest.param(48_000, 2, 2, id="48kHz-stereo-16bit"),
    pytest.param(22_050, 1, 1, id="22.05kHz-mono-8bit"),
    pytest.param(11_025, 2, 1, id="11.025kHz-stereo-8bit"),
    pytest.param(48_000, 2, 3, id="48kHz-stereo-24bit"),
    pytest.param(44_100, 1, 3, id="44.1kHz-mono-24bit"),
]


@pytest.mark.parametrize(("rate", "channels", "width"), FORMATS)
def test_read_wav_gives_16khz_mono_of_the_same_length(tmp_path, rate, channels, width):
    path = make_wav(tmp_path / "in.wav", rate, channels, width, duration=1.5)

    pcm = read_wav(path)

    frames_in = round(1.5 * rate)
    assert len(pcm) % 2 == 0
    assert abs(len(pcm) // 2 - frames_in * SAMPLE_RATE / rate) <= 1  # ±1 sample frame
    assert seconds(pcm) == pytest.approx(1.5, abs=2 / SAMPLE_RATE)


@pytest.mark.parametrize(("rate", "channels", "width"), FORMATS)
def test_a_tone_keeps_its_pitch_and_level(tmp_path, rate, channels, width):
    pcm = read_wav(make_wav(tmp_path / "in.wav", rate, channels, width))

    assert peak_hz(pcm) == pytest.approx(TONE_HZ, abs=2.0)
    assert rms(pcm) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)  # a 0.5 sine, not half of it


def test_stereo_is_mixed_down_to_mono():
    left = encode(tone(SAMPLE_RATE), 2)
    stereo = np.stack([np.frombuffer(left, "<i2"), np.zeros(SAMPLE_RATE, "<i2")], axis=1)

    pcm = to_pipeline(stereo.tobytes(), SAMPLE_RATE, channels=2)

    assert len(pcm) == len(left)
    assert rms(pcm) == pytest.approx(rms(left) / 2, rel=0.01)


def test_a_pipeline_format_wav_is_read_back_unchanged(tmp_path):
    pcm = np.array([0, 700, -700, 12345, -32768, 32767], "<i2").tobytes() * 100
    write_wav(tmp_path / "same.wav", pcm)

    assert read_wav(tmp_path / "same.wav") == pcm


def spanish(error: pytest.ExceptionInfo[AudioFormatError]) -> str:
    message = str(error.value)
    assert message and any(word in message for word in ("fichero", "audio", "WAV", "Hz"))
    return message


def test_a_text_file_named_wav_is_refused(tmp_path):
    path = tmp_path / "llamada.wav"
    path.write_text("esto no es audio\n", encoding="utf-8")

    with pytest.raises(AudioFormatError) as error:
        read_wav(path)

    assert "no es un WAV PCM válido" in spanish(error)
    assert "sox llamada.wav -r 16000 -c 1 -b 16" in str(error.value)


def test_a_float32_wav_is_refused(tmp_path):
    path = tmp_path / "float.wav"
    floats = struct.pack("<1600f", *tone(SAMPLE_RATE, 0.1).tolist())
    path.write_bytes(raw_wav(3, 1, SAMPLE_RATE, 32, floats))  # WAVE_FORMAT_IEEE_FLOAT

    with pytest.raises(AudioFormatError) as error:
        read_wav(path)

    assert "no es un WAV PCM válido" in spanish(error)


def test_an_empty_wav_is_refused(tmp_path):
    path = tmp_path / "vacio.wav"
    write_wav(path, b"")

    with pytest.raises(AudioFormatError) as error:
        read_wav(path)

    assert "no contiene audio" in spanish(error)


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "cero.wav"
    path.write_bytes(b"")

    with pytest.raises(AudioFormatError):
        read_wav(path)


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(AudioFormatError) as error:
        read_wav(tmp_path / "no_existe.wav")

    assert "No encuentro el fichero" in spanish(error)


def test_a_4khz_wav_is_refused(tmp_path):
    path = make_wav(tmp_path / "4k.wav", 4_000, 1, 2)

    with pytest.raises(AudioFormatError) as error:
        read_wav(path)

    message = spanish(error)
    assert "4000 Hz" in message and "8000 Hz" in message


def test_interleave_pads_the_shorter_track():
    left = np.array([1, 2, 3], "<i2").tobytes()
    right = np.array([-1], "<i2").tobytes()

    stereo = np.frombuffer(interleave(left, right), "<i2").reshape(-1, 2)

    assert stereo.tolist() == [[1, -1], [2, 0], [3, 0]]
    assert np.frombuffer(interleave(right, left), "<i2").reshape(-1, 2).tolist() == [
        [-1, 1],
        [0, 2],
        [0, 3],
    ]


@pytest.mark.parametrize(("rate", "channels"), [(44_100, 2), (48_000, 1), (8_000, 1)])
def test_stream_conversion_matches_one_shot_conversion(rate, channels):
    data = encode(np.repeat(tone(rate, 2.0), channels), 2)
    block = 2 * channels * rate // 100  # 10 ms chunks, as a sound card delivers them
    converter = StreamConverter(rate, channels)

    parts = [
        converter.convert(data[start : start + block], last=start + block >= len(data))
        for start in range(0, len(data), block)
    ]

    streamed = b"".join(parts)
    whole = to_pipeline(data, rate, channels)
    assert abs(len(streamed) - len(whole)) <= 2 * 2  # within two samples
    n = min(len(streamed), len(whole)) // 2
    a, b = samples_of(streamed)[:n], samples_of(whole)[:n]
    middle = slice(1_000, n - 1_000)  # away from the filters' edges
    assert np.max(np.abs(a[middle] - b[middle])) < 0.01
    assert peak_hz(streamed) == pytest.approx(TONE_HZ, abs=2.0)


def test_chunks_pads_the_last_frame_and_silence_has_the_right_length():
    pcm = bytes(range(10)) * 100  # 1000 bytes: 500 samples

    frames = list(chunks(pcm, 20))

    assert [len(frame) for frame in frames] == [640, 640]
    assert frames[1][: 1000 - 640] == pcm[640:] and not any(frames[1][360:])
    assert len(silence(0.5)) == 16_000 and not any(silence(0.5))
