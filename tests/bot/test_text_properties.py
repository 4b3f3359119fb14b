"""The customer-text helpers on any text at all, fuzzed with hypothesis: every code point
(control characters, lone surrogates, bidi marks, line and paragraph separators), markup and
character references, and texts far over the length limit.

The properties: nothing raises; what is shown keeps every visible character the customer typed,
in order, and only their line breaks; what the assistant reads is one plain, bounded line.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import MAX_CHARS, clean_text, has_words, printable

FUZZ = settings(max_examples=300, deadline=None, derandomize=True, database=None)

any_text = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=200),
    st.text(
        st.sampled_from("\x00\x07\x1b\x7f\x85\r\n\t \u00a0\u2028\u2029\u200b\ufeff"), max_size=30
    ),
    st.lists(
        st.sampled_from(["<b>", "</p>", "&lt;", "&amp;lt;", "&#0;", "&#x85;", "hola", " "])
    ).map("".join),
    st.integers(MAX_CHARS - 2, 3 * MAX_CHARS).map(lambda n: "ñ" * n),
    # many words over the limit: the cut may fall anywhere, on a space too
    st.builds(
        lambda words, times: " ".join(words * times),
        st.lists(st.sampled_from(["a", "sí", "hola", "<i>", "\x00"]), min_size=1, max_size=4),
        st.integers(150, 700),
    ),
)


def is_control(character: str) -> bool:
    return unicodedata.category(character)[0] == "C"


def visible(text: str) -> list[str]:
    return [c for c in text if not c.isspace() and not is_control(c)]


@FUZZ
@given(raw=any_text)
def test_what_is_shown_keeps_every_visible_character_and_only_line_breaks(raw: str):
    shown = printable(raw)

    assert visible(shown) == visible(raw)  # nothing the customer typed and could see is lost
    assert not any(is_control(c) for c in shown if c != "\n")
    assert shown == shown.strip() and all(line == line.rstrip() for line in shown.split("\n"))
    assert printable(shown) == shown


@FUZZ
@given(raw=any_text)
def test_what_the_assistant_reads_is_one_plain_bounded_line(raw: str):
    clean = clean_text(raw)

    assert len(clean) <= MAX_CHARS
    assert not any(is_control(c) for c in clean)
    assert "\n" not in clean and clean == clean.strip() and "  " not in clean
    assert has_words(clean) == any(c.isalnum() for c in clean)


@FUZZ
@given(value=st.one_of(st.none(), st.integers(), st.lists(st.text()), st.binary()))
def test_anything_that_is_no_text_reads_as_nothing(value: object):
    assert clean_text(value) == ""
