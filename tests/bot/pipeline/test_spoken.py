"""Spanish between speech and text: transcripts, complete turns, backchannels, spoken replies."""

from __future__ import annotations

import pytest

from bot.pipeline.spoken import (
    for_speech,
    is_backchannel,
    looks_complete,
    normalize_transcript,
    say_clock,
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
    ("hour", "minute", "spoken"),
    [
        (10, 0, "diez"),
        (17, 30, "diecisiete y media"),
        (1, 0, "una"),
        (1, 30, "una y media"),
        (9, 5, "nueve y cinco"),
        (13, 15, "trece y cuarto"),
        (20, 45, "veinte y cuarenta y cinco"),
        (21, 0, "veintiuna"),  # hours are feminine: "las veintiuna"
        (21, 30, "veintiuna y media"),
    ],
)
def test_say_clock(hour, minute, spoken):
    assert say_clock(hour, minute) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Abrimos a las 10:30.", "Abrimos a las diez y media."),
        (
            "De 10:00 a 14:00 y de 17:00 a 20:30.",
            "De diez a catorce y de diecisiete a veinte y media.",
        ),
        ("Hoy cerramos a las 9.05h.", "Hoy cerramos a las nueve y cinco."),
        ("Abrimos a la 1:00", "Abrimos a la una"),
        ("De 17:00 a 21:00.", "De diecisiete a veintiuna."),
        ("Vea **«horarios»** en https://ejemplo.es/horarios ahora", "Vea horarios en ahora"),
        ("Su pedido 48213 está en camino.", "Su pedido 48213 está en camino."),
    ],
)
def test_for_speech(text, spoken):
    assert for_speech(text) == spoken


@pytest.mark.parametrize("text", ["Son 1.500 euros.", "La referencia es 12:345."])
def test_for_speech_leaves_longer_numbers_alone(text):
    assert for_speech(text) == text


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
