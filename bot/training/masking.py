"""Personal data out of customer sentences before trainers see them.

Trainers need the shape of what customers say, not who said it: e-mail addresses, phone numbers,
order numbers and other codes, ID documents and names become placeholders such as «teléfono».
A sentence saved as a training example gets a neutral stand-in instead of each placeholder
(`unmask`), so the model learns from a realistic sentence that names nobody.
"""

from __future__ import annotations

import re

# (placeholder, stand-in for training data, pattern); the order matters: e-mails hold digits,
# ID documents hold a number, phones are longer than order numbers.
_SPOKEN_DIGIT = r"(?:cero|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve)"
_NAME_WORD = r"[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+"
_ANY_WORD = r"[^\W\d_]+"
# the rest of a name after a sure cue, up to the words that start the rest of the sentence
_FOLLOWING_WORD = (
    r"(?!(?i:y|e|que|quiero|quería|para|por|con|mi|me|le|necesito|tengo|llamo|y|no|es)\b)"
    r"[^\W\d_]+"
)
PLACEHOLDERS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("«correo»", "cliente@ejemplo.com", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("«documento»", "12345678Z", re.compile(r"\b[XYZxyz]?\d{7,8}[ -]?[A-Za-z]\b")),
    ("«cuenta»", "ES00 0000 0000 0000 0000 0000", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?\d{4}){5}\b")),
    (
        "«teléfono»",
        "600 123 456",
        re.compile(r"(?:\+|\b00)?\d{2,3}(?:[ .-]?\d{2,3}){2,4}\b"),
    ),
    ("«número»", "48213", re.compile(r"\b\d{4,}\b|\b[A-Za-z]{1,3}-?\d{4,}\b")),
    (
        "«número»",
        "cuatro ocho dos uno tres",
        re.compile(rf"(?i)\b{_SPOKEN_DIGIT}(?:[ ,]+{_SPOKEN_DIGIT}){{3,}}\b"),
    ),
    # "me llamo josé": any word after a sure cue; after "soy" only a capitalised one
    # ("soy cliente" names nobody)
    (
        "«nombre»",
        "Ana García",
        re.compile(
            rf"(?P<cue>(?i:me llamo|mi nombre es|a nombre de|de parte de) )"
            rf"(?P<name>{_ANY_WORD}(?: (?:de la |de |del )?{_FOLLOWING_WORD}){{0,3}})"
        ),
    ),
    (
        "«nombre»",
        "Ana García",
        re.compile(rf"(?P<cue>\b(?i:soy|habla) )(?P<name>{_NAME_WORD}(?: {_NAME_WORD}){{0,2}})"),
    ),
)
_STAND_INS: dict[str, str] = {}
for _placeholder, _stand_in, _ in PLACEHOLDERS:
    _STAND_INS.setdefault(_placeholder, _stand_in)  # the written form of a number


def mask(text: str) -> str:
    """'Soy Marta Ruiz, mi móvil es 612 345 678' -> 'Soy «nombre», mi móvil es «teléfono»'."""
    for placeholder, _, pattern in PLACEHOLDERS:
        text = _replace_digits_aware(pattern, placeholder, text)
    return text


def _replace_digits_aware(pattern: re.Pattern[str], placeholder: str, text: str) -> str:
    # a phone pattern must not eat a short number ("a las 10 30"): 8 digits at least
    if placeholder == "«teléfono»":
        return pattern.sub(
            lambda m: placeholder if sum(c.isdigit() for c in m.group(0)) >= 8 else m.group(0),
            text,
        )
    if "name" in pattern.groupindex:
        return pattern.sub(lambda m: m.group("cue") + placeholder, text)
    return pattern.sub(placeholder, text)


def unmask(text: str) -> str:
    """Placeholders back to neutral stand-ins, for a sentence that becomes training data."""
    for placeholder, stand_in in _STAND_INS.items():
        text = text.replace(placeholder, stand_in)
    return text


def has_placeholder(text: str) -> bool:
    return any(placeholder in text for placeholder in _STAND_INS)
