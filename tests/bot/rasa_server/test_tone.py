"""The tone of a customer's words (data/frustration/tone.yml), negation and intensity applied."""

from __future__ import annotations

import pytest

from bot.rasa_server.tone import load_tone_words, tone


@pytest.mark.parametrize(
    ("bitter", "milder"),
    [
        ("un servicio pésimo", "un servicio malo"),
        ("muy mal", "mal"),  # "muy" makes the next word count more
        ("la web no va, qué mal!", "la web no va, qué mal"),  # "!" on a bitter message
        ("no me ayudan nada, fatal", "no me ayudan"),
    ],
)
def test_more_bitter_words_sound_more_bitter(bitter, milder):
    assert tone(bitter) < tone(milder) < 0


def test_negation_turns_a_word_round():
    assert tone("no funciona bien") < 0 < tone("funciona bien")
    assert tone("no está mal") > tone("está mal")  # a bitter word negated is mildly pleased
    assert tone("nunca más") < 0  # "nunca" is bitter itself, not a negated word


def test_pleased_words_and_emoji():
    assert tone("muchas gracias, muy amables") > 2
    assert tone("ya funciona 😍") > tone("ya funciona")
    assert tone("otra vez sin línea 😡") < tone("otra vez sin línea")


def test_facts_of_a_fault_are_only_faintly_bitter():
    # what customers call about, calm or not: the register of a negation, nothing more
    assert -1 <= tone("no tengo internet desde ayer") < 0
    assert tone("quiero pedir una cita para el martes") == 0


def test_phrases_are_read_before_their_words(tmp_path):
    path = tmp_path / "tone.yml"
    path.write_text("bitter:\n  -3: [tomadura de pelo]\npleased:\n  1: [pelo]\n", "utf-8")
    words = load_tone_words(path)
    assert tone("esto es una tomadura de pelo", words) == -3
    assert tone("un corte de pelo", words) == 1
