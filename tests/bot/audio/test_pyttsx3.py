"""Real speech synthesis with pyttsx3 over espeak-ng."""

from __future__ import annotations

import numpy as np
import pytest

from bot.audio.pcm import seconds
from bot.audio.pyttsx3 import Pyttsx3Synthesizer, VoiceNotFoundError


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, "<i2").astype(np.float64) ** 2)))


def test_a_spanish_sentence_becomes_pipeline_audio(capfd: pytest.CaptureFixture[str]) -> None:
    pcm = Pyttsx3Synthesizer("es", 175).synthesize("Su cita queda para el martes a las diez.")
    assert 1.0 < seconds(pcm) < 5.0
    assert rms(pcm) > 500
    assert capfd.readouterr().out == ""  # pyttsx3's "Audio saved to …" is silenced


def test_longer_text_takes_longer_and_a_faster_rate_is_shorter() -> None:
    short = Pyttsx3Synthesizer("es", 175).synthesize("Hola.")
    long = Pyttsx3Synthesizer("es", 175).synthesize("Hola, le paso ahora mismo con una persona.")
    fast = Pyttsx3Synthesizer("es", 260).synthesize("Hola, le paso ahora mismo con una persona.")
    assert seconds(short) < seconds(long)
    assert seconds(fast) < seconds(long)


def test_every_sentence_is_complete_even_when_the_driver_returns_early(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pyttsx3's runAndWait returns once espeak starts; on a busy machine the WAV file was not
    written yet. Without the driver's 10 ms pause, that happens every time."""
    import pyttsx3.drivers.espeak

    monkeypatch.setattr(pyttsx3.drivers.espeak.time, "sleep", lambda _: None)
    synthesizer = Pyttsx3Synthesizer("es", 175)
    lengths = [len(synthesizer.synthesize("Le paso con un agente.")) for _ in range(8)]
    # espeak's output varies by a few samples from run to run; a cut file would be far shorter
    assert min(lengths) > 0.99 * max(lengths) and min(lengths) > 16000


def test_an_unknown_voice_lists_the_spanish_ones() -> None:
    with pytest.raises(VoiceNotFoundError) as error:
        Pyttsx3Synthesizer("klingon", 175).synthesize("hola")
    assert "es-419" in str(error.value) and "BOT_TTS_VOICE" in str(error.value)
