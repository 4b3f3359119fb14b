"""Hostile or odd customer text is made safe before it reaches the model."""

from bot.text import MAX_CHARS, clauses, clean_text, has_words, plain_words


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


def test_clauses_end_at_stops_commas_and_the_conjunctions_that_turn_a_sentence():
    found = clauses("No va, qué mal. No quiero un robot sino una persona pero ya")
    assert [c.words for c in found] == [
        ("no", "va"), ("que", "mal"), ("no", "quiero", "un", "robot"), ("una", "persona"), ("ya",),
    ]  # fmt: skip


def test_a_clause_knows_it_was_asked_as_a_question():
    found = clauses("Hola. ¿Hay alguien de verdad? gracias")
    assert [(c.words, c.asked) for c in found] == [
        (("hola",), False), (("hay", "alguien", "de", "verdad"), True), (("gracias",), False),
    ]  # fmt: skip


def test_plain_words_are_unaccented_and_without_punctuation():
    assert plain_words("¿Qué TAL, señora?") == ["que", "tal", "senora"]
