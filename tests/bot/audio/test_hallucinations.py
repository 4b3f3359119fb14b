"""The checks that keep what Whisper invents from becoming a caller's words."""

from __future__ import annotations

import pytest

from bot.audio.hallucinations import Decoded, is_loop, plain, rejection, said_again


def spoken(text: str, **scores: float | str) -> Decoded:
    """A plausible decode of `text`, one word every 0.4 s, with `scores` overriding."""
    values: dict = {"duration": 0.4 * len(text.split()) + 0.8, "avg_logprob": -0.3}
    return Decoded(text=text, **{**values, **scores})


def test_ordinary_spanish_is_kept() -> None:
    assert rejection(spoken("¿A qué hora abre la tienda de Sevilla el sábado?")) == ""
    assert rejection(spoken("Sí.", language="hi", language_probability=0.007)) == ""
    assert rejection(spoken("Gracias.")) == ""


@pytest.mark.parametrize(
    "text",
    [
        "Subtítulos realizados por la comunidad de Amara.org",
        "Gracias por ver el vídeo.",
        "¡Suscríbete al canal!",
        "Thank you for watching.",
        "Música",
        "Gracias por ver el video, hasta la próxima",
    ],
)
def test_credits_and_sign_offs_are_rejected(text: str) -> None:
    assert rejection(spoken(text)) == "invented_phrase"


def test_a_caller_thanking_is_not_a_sign_off() -> None:
    assert rejection(spoken("Muchas gracias, ya lo he visto")) == ""


def test_repetition_loops_are_rejected() -> None:
    assert rejection(spoken("no no no no no no")) == "repetition"
    assert rejection(spoken("el pedido " * 6)) == "repetition"
    assert rejection(spoken("quiero", compression_ratio=3.1)) == "repetition"
    assert not is_loop("no no quiero eso no")


def test_a_caller_insisting_on_a_person_is_not_a_loop() -> None:
    # Pico saying "agente agente agente" came back from Whisper with one "agente" more
    assert rejection(spoken("agente agente agente agente")) == ""


def test_no_speech_with_low_confidence_is_rejected() -> None:
    assert rejection(spoken("y", no_speech_prob=0.7, avg_logprob=-1.2)) == "no_speech"
    assert rejection(spoken("¡Ahhhhhh!", avg_logprob=-1.7)) == "low_confidence"
    # Whisper unsure whether it is speech, but sure of the words: kept
    assert rejection(spoken("vale", no_speech_prob=0.7, avg_logprob=-0.2)) == ""


def test_another_language_is_rejected_only_when_clear() -> None:
    english = spoken(
        "Hello, I would like to know when the shop opens.",
        language="en",
        language_probability=0.0004,
        top_language_probability=0.97,
    )
    assert rejection(english) == "wrong_language"
    # a Spanish sentence on a narrow phone line, taken for Latin with little conviction: kept
    unsure = spoken(
        "Actualmente solo hay otro participante",
        language="la",
        language_probability=0.029,
        top_language_probability=0.4,
    )
    assert rejection(unsure) == ""


def test_more_words_than_anyone_can_say_are_rejected() -> None:
    assert rejection(spoken("uno dos tres cuatro cinco seis siete ocho", duration=1.0)) == (
        "too_fast"
    )


def test_empty_and_punctuation_only_output_is_nothing() -> None:
    assert rejection(spoken("")) == "empty"
    assert rejection(spoken("¡¡¡¡¡¡ ...")) == "empty"
    assert plain("¿Dónde está?") == "donde esta"


def test_a_turn_written_twice_is_said_once() -> None:
    def period(text: str) -> int:
        return said_again(text.split())

    assert period("a qué hora abre mañana a qué hora abre mañana") == 5
    assert period("quiero una cita quiero una cita quiero una cita") == 3
    assert period("no no") == 0  # how people talk
    assert period("quiero una cita para mañana") == 0
