"""Spanish between speech and text: transcripts, complete turns, backchannels, spoken replies."""

from __future__ import annotations

import pytest

from bot.pipeline.spoken import (
    for_speech,
    is_backchannel,
    looks_complete,
    normalize_transcript,
    split_sentences,
)


@pytest.mark.parametrize(
    ("heard", "expected"),
    [
        ("cuatro ocho dos uno tres", "48213"),
        ("mi pedido es el cuatro ocho dos uno tres", "mi pedido es el 48213"),
        ("el código postal es veintiocho cero cero uno", "el código postal es 28001"),
        ("  a qué   hora abren ", "a qué hora abren"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_transcript(heard, expected):
    assert normalize_transcript(heard) == expected


@pytest.mark.parametrize(
    ("words", "complete"),
    [
        ("quiero una cita para mañana", True),
        ("a qué hora abren", True),
        ("hola", True),
        ("quiero una cita para el", False),
        ("quiero una cita para", False),
        ("quería", False),
        ("mi pedido es el cuatro ocho", False),
        ("el código es 48", False),
        ("", False),
    ],
)
def test_looks_complete(words, complete):
    assert looks_complete(words) is complete


@pytest.mark.parametrize("text", ["vale", "sí", "mhm", "Vale.", "sí, vale", "de acuerdo", "ajá"])
def test_backchannels(text):
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text", ["", "no", "sí quiero una cita", "vale vale vale vale", "a qué hora abren"]
)
def test_not_backchannels(text):
    assert not is_backchannel(text)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Vea **«horarios»** en https://ejemplo.es/horarios ahora", "Vea horarios en ahora"),
        ("Escriba a www.ejemplo.es  o   llame", "Escriba a o llame"),
        ("Su pedido 48213 está en camino.", "Su pedido 48213 está en camino."),
    ],
)
def test_for_speech(text, spoken):
    assert for_speech(text) == spoken


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Hola. ¿Qué tal? ¡Bien! Vale… Adiós", ["Hola.", "¿Qué tal?", "¡Bien!", "Vale…", "Adiós"]),
        ("Abrimos a las diez y media.", ["Abrimos a las diez y media."]),
        ("Sin punto final", ["Sin punto final"]),
        ("  Uno.   Dos.  ", ["Uno.", "Dos."]),
        ("", []),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences
