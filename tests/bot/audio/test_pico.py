"""SVOX Pico, the bot's voice: real synthesis, hostile text, settings."""

from __future__ import annotations

import numpy as np

from bot.audio.pico import TAIL_S, PicoSynthesizer


def test_a_sentence_becomes_pipeline_audio_without_clipping_or_a_long_tail() -> None:
    pcm = PicoSynthesizer().synthesize("Su cita queda para el martes a las diez.")
    samples = np.frombuffer(pcm, "<i2")
    assert len(pcm) % 2 == 0 and 1.5 < len(samples) / 16000 < 6.0
    assert np.mean(np.abs(samples.astype(np.int32)) >= 32700) < 0.0005
    loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > 64)
    assert (len(samples) - loud[-1]) / 16000 <= TAIL_S + 0.01


def test_markup_in_the_text_is_spoken_as_words_not_obeyed() -> None:
    plain = PicoSynthesizer().synthesize("Hola Ana.")
    hostile = PicoSynthesizer().synthesize('Hola <speed level="500">Ana</speed>.')
    assert len(hostile) > len(plain)  # the tag's words are read out; a speed-up would shorten it
    assert len(PicoSynthesizer().synthesize("<>")) > 0  # nothing to say: silence, no error


def test_speed_changes_the_audio_and_the_cache_key() -> None:
    normal, fast = PicoSynthesizer(), PicoSynthesizer(speed=1.5)
    text = "Le paso con una persona. Un momento, por favor."
    assert len(fast.synthesize(text)) < len(normal.synthesize(text))
    assert fast.cache_key != normal.cache_key
