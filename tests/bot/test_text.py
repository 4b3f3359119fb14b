"""Hostile or odd customer text is made safe before it reaches the model."""

from bot.text import MAX_CHARS, clean_text, has_words


def test_markup_and_control_characters_are_removed():
    assert (
        clean_text("<script>alert('hola')</script> quiero una cita")
        == "alert('hola') quiero una cita"
    )
    assert clean_text("hola\x00\x1b[31m  mundo\n") == "hola [31m mundo"
    assert clean_text("&lt;b&gt;cita&lt;/b&gt;") == "cita"


def test_length_is_bounded_and_non_text_is_empty():
    assert len(clean_text("a" * 10_000)) == MAX_CHARS
    assert clean_text(None) == "" and clean_text(123) == "" and clean_text("   ") == ""


def test_has_words():
    assert not has_words("😀😀👍") and not has_words("?!...")
    assert has_words("cita 😀") and has_words("48213")
