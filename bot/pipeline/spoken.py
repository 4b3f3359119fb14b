"""Spanish between speech and text: transcripts for the assistant, replies for the voice.

Recognisers write numbers as words ("cuatro ocho dos uno tres"); these helpers turn them into
digits for the assistant, clean replies for speech synthesis, and judge whether a caller's words
look finished (early end of turn) or are only a backchannel ("sí", "vale").
"""

from __future__ import annotations

import re

from text_to_num import alpha2digit

# Words after which a Spanish sentence cannot be over: articles, prepositions, conjunctions,
# clitics, and verbs that announce what comes next ("quiero…", "es…").
_OPEN_ENDINGS = frozenset(
    """a al ante con contra de del desde e el en entre es esta está hacia hasta la las le les lo
    los me mi mis muy ni nos o para pero por porque que qué se si sin sobre son su sus te tu
    tus u un una unas unos y yo quiero quería querría necesito necesitaría tengo mire oiga
    pues bueno este eh em mm""".split()  # noqa: SIM905 - a word list reads best as text
)
_NUMBER_WORDS = frozenset(
    """cero uno una dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce
    quince dieciséis dieciseis diecisiete dieciocho diecinueve veinte treinta cuarenta
    cincuenta sesenta setenta ochenta noventa cien ciento mil""".split()  # noqa: SIM905
)
BACKCHANNELS = frozenset(
    "sí si ajá aja vale ya claro mhm mmm mm hmm ok okey bien entiendo exacto eso acuerdo".split()  # noqa: SIM905, E501
)
# Three or more digit groups in a row ("4 8 2 1 3"), or groups glued by a leading zero
# ("28 001"), are one code said in pieces.
_DIGIT_GROUPS = re.compile(r"\b\d+(?: \d+){2,}\b|\b\d+(?: 0\d*)+\b")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def normalize_transcript(text: str) -> str:
    """A recogniser's words as the assistant reads them best: numbers as digits, codes joined."""
    text = " ".join(text.split())
    if not text:
        return ""
    digits = alpha2digit(text, "es")
    return _DIGIT_GROUPS.sub(lambda match: match.group(0).replace(" ", ""), digits)


def looks_complete(words: str) -> bool:
    """Whether a partial transcript can end a turn early.

    Not after an article, preposition or conjunction ("quiero una cita para el…"), nor after a
    number: callers dictate digits with pauses.
    """
    tokens = words.lower().split()
    if not tokens:
        return False
    last = tokens[-1]
    return last not in _OPEN_ENDINGS and last not in _NUMBER_WORDS and not last.isdigit()


def is_backchannel(text: str) -> bool:
    """A listener's short acknowledgement that should not interrupt the bot."""
    tokens = re.findall(r"\w+", text.lower().replace("de acuerdo", "acuerdo"))
    return 0 < len(tokens) <= 3 and all(token in BACKCHANNELS for token in tokens)


def for_speech(text: str) -> str:
    """A reply made fit to be spoken: no links or typographic marks. (Times, dates and codes
    already come in words from the actions' voice variants: `actions.language.phrases`.)"""
    text = re.sub(r"https?://\S+|www\.\S+", "", text)
    text = re.sub(r"[«»*_#`]", "", text)
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Sentences to synthesise one by one, so the caller hears the first one sooner."""
    return [sentence for sentence in _SENTENCE_END.split(text.strip()) if sentence]
