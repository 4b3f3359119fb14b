"""What Whisper writes when nobody said it, and how to tell.

Whisper was trained on subtitled video: on silence, breath, hold music or line noise it tends to
write the credits and sign-offs of its training data ("Subtítulos realizados por la comunidad de
Amara.org", "Gracias por ver el vídeo"), to repeat a phrase in a loop, or to answer in another
language. None of that may become a caller's turn, or stop the bot mid-sentence. Each check
here is one of those failure modes; `rejection` names the first that applies.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

from bot.audio.recognition import RecognizedWord

# Sign-offs and credits Whisper writes over non-speech (Spanish, and the English ones it also
# produces on Spanish audio); compared without accents, case or punctuation, as whole phrases
# or as the start of one.
_INVENTED_PHRASES = (
    "subtitulos realizados por la comunidad de amara org",
    "subtitulos por la comunidad de amara org",
    "subtitulado por la comunidad de amara org",
    "amara org",
    "gracias por ver el video",
    "gracias por ver",
    "gracias por vernos",
    "gracias por su atencion y hasta la proxima",
    "suscribete al canal",
    "suscribete",
    "no olvides suscribirte",
    "dale like",
    "nos vemos en el proximo video",
    "hasta el proximo video",
    "musica",
    "musica de fondo",
    "aplausos",
    "risas",
    "thank you for watching",
    "thanks for watching",
    "please subscribe",
    "www mooji org",
)
NO_SPEECH_PROB = 0.6  # Whisper's own "this window has no speech", with a low log-probability
LOW_LOGPROB = -1.0
VERY_LOW_LOGPROB = -1.5  # whatever the no-speech probability: the words are guesses
MAX_COMPRESSION_RATIO = 2.4  # zlib ratio of the text: above it, a loop (Whisper's own limit)
# the same word group said more than this many times in a row: a loop. Callers do say
# "operador, operador, operador", and Whisper often writes one more than was said
MAX_REPEATS = 4
# Wrong language: Spanish all but excluded and another language clearly ahead, on a sentence
# long enough to tell (on "sí" or "vale" the language guess is noise: "hi" or "pt" often wins).
MAX_SPANISH_PROBABILITY = 0.01
MIN_OTHER_PROBABILITY = 0.5
MIN_WORDS_FOR_LANGUAGE = 3
MAX_WORDS_PER_SECOND = 6.0  # nobody speaks faster; more words than that were invented
_NOT_WORD = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class Decoded:
    """Whisper's output for one utterance, with the scores the checks need.

    Attributes:
        text: the words as written (punctuation, capitals).
        words: each word with times and probability.
        duration: seconds of audio decoded.
        avg_logprob: the lowest average log-probability of its segments.
        no_speech_prob: the highest no-speech probability of its segments.
        compression_ratio: the highest zlib compression ratio of its segments' text.
        language: the most likely language of the audio ("es" when not detected).
        language_probability: the probability of Spanish.
        top_language_probability: the probability of the most likely language.
    """

    text: str
    words: tuple[RecognizedWord, ...] = ()
    duration: float = 0.0
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    compression_ratio: float = 0.0
    language: str = "es"
    language_probability: float = 1.0
    top_language_probability: float = 1.0


def plain(text: str) -> str:
    """Lower case, no accents, no punctuation, single spaces: for comparing phrases."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_NOT_WORD.sub(" ", letters).split())


def rejection(decoded: Decoded) -> str:
    """Why `decoded` must not become a caller's words, or "" when it may.

    Returns:
        "empty", "no_speech", "low_confidence", "invented_phrase", "repetition",
        "wrong_language", "too_fast" or "".
    """
    text = plain(decoded.text)
    if not text:
        return "empty"
    if decoded.no_speech_prob > NO_SPEECH_PROB and decoded.avg_logprob < LOW_LOGPROB:
        return "no_speech"
    if decoded.avg_logprob < VERY_LOW_LOGPROB:
        return "low_confidence"
    if is_invented_phrase(text):
        return "invented_phrase"
    if is_loop(text, decoded.compression_ratio):
        return "repetition"
    if is_wrong_language(decoded):
        return "wrong_language"
    if decoded.duration > 0 and len(text.split()) / decoded.duration > MAX_WORDS_PER_SECOND:
        return "too_fast"
    return ""


def is_invented_phrase(text: str) -> bool:
    """Credits and sign-offs, alone or leading the text ("gracias por ver el video hasta…")."""
    return any(text == phrase or text.startswith(f"{phrase} ") for phrase in _INVENTED_PHRASES)


def is_loop(text: str, compression_ratio: float = 0.0) -> bool:
    """A phrase repeated over and over ("no no no no no", "el pedido el pedido el pedido…")."""
    if compression_ratio > MAX_COMPRESSION_RATIO or _compression(text) > MAX_COMPRESSION_RATIO:
        return True
    words = text.split()
    for size in range(1, 5):
        for start in range(len(words) - size * (MAX_REPEATS + 1) + 1):
            group = words[start : start + size]
            repeats = 1
            while words[start + repeats * size : start + (repeats + 1) * size] == group:
                repeats += 1
            if repeats > MAX_REPEATS:
                return True
    return False


def said_again(words: list[str], shortest: int = 3) -> int:
    """The length of a phrase that `words` only repeat ("a qué hora abre mañana a qué hora
    abre mañana": 5), or 0. Whisper, given silence after the words, sometimes writes the whole
    turn twice; a short "no no" or "sí sí" is how people talk and is left alone."""
    for period in range(shortest, len(words) // 2 + 1):
        if len(words) % period == 0 and words == words[:period] * (len(words) // period):
            return period
    return 0


def is_wrong_language(decoded: Decoded) -> bool:
    """The caller spoke another language (Whisper, told to write Spanish, still writes what it
    hears: English words, or a guess in Spanish at German)."""
    return (
        decoded.language != "es"
        and decoded.language_probability < MAX_SPANISH_PROBABILITY
        and decoded.top_language_probability >= MIN_OTHER_PROBABILITY
        and len(plain(decoded.text).split()) >= MIN_WORDS_FOR_LANGUAGE
    )


def _compression(text: str) -> float:
    data = text.encode()
    return len(data) / len(zlib.compress(data)) if len(data) > 40 else 0.0
