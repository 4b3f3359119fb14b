"""Real speech synthesis with pyttsx3 over espeak-ng."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bot.audio.pcm import seconds
from bot.audio.pyttsx3 import Pyttsx3Synthesizer, VoiceNotFoundError


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, "<i2").astype(np.float64) ** 2)))


def test_a_spanish_sentence_becomes_pipeline_audio(capfd: pytest.CaptureFixture[str]) -> None:
    pcm = Pyttsx3Synthesizer("es", 1.0).synthesize("Su cita queda para el martes a las diez.")
    assert 1.0 < seconds(pcm) < 5.0
    assert rms(pcm) > 500
    assert capfd.readouterr().out == ""


def test_longer_text_takes_longer_and_a_faster_rate_is_shorter() -> None:
    short = Pyttsx3Synthesizer("es", 1.0).synthesize("Hola.")
    long = Pyttsx3Synthesizer("es", 1.0).synthesize("Hola, le paso ahora mismo con una persona.")
    fast = Pyttsx3Synthesizer("es", 1.5).synthesize("Hola, le paso ahora mismo con una persona.")
    assert seconds(short) < seconds(long)
    assert seconds(fast) < seconds(long)


def test_calls_speaking_at_once_each_get_their_whole_sentence() -> None:
    """espeak-ng is one per process: synthesisers on several threads (one per call) share it."""
    voices = {"es": Pyttsx3Synthesizer("es", 1.0), "fast": Pyttsx3Synthesizer("es-419", 1.5)}
    expected = {name: len(s.synthesize("Le paso con un agente.")) for name, s in voices.items()}
    results: list[tuple[str, int]] = []

    def speak(name: str) -> None:
        for _ in range(5):
            results.append((name, len(voices[name].synthesize("Le paso con un agente."))))

    threads = [threading.Thread(target=speak, args=(name,)) for name in voices for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    # each with its own voice and rate (the two differ by a third), none cut short; espeak's
    # output length varies by up to a few hundred samples from run to run
    assert expected["fast"] < 0.8 * expected["es"]
    for name, length in results:
        assert abs(length - expected[name]) < 0.05 * expected[name], (name, length)


def test_an_unknown_voice_lists_the_spanish_ones() -> None:
    with pytest.raises(VoiceNotFoundError) as error:
        Pyttsx3Synthesizer("klingon").synthesize("hola")
    assert "es-419" in str(error.value) and "BOT_TTS_VOICE" in str(error.value)
