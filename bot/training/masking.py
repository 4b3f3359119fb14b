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
# number words as callers say phone numbers and codes ("seis doce treinta y cuatro…")
_SPOKEN_DIGIT = (
    r"(?:cero|uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|trece|catorce"
    r"|quince|dieci\w+|veinte|veinti\w+|treinta|cuarenta|cincuenta|sesenta|setenta|ochenta"
    r"|noventa|cien|ciento|\w+cientos|\w+cientas)"
)
# after "soy", words that say what the customer is, not who ("soy cliente de fibra")
_NOT_A_NAME = (
    r"(?!(?i:cliente|clienta|de|del|el|la|un|una|yo|usuario|usuaria|titular|socio|socia|nuevo"
    r"|nueva|autónomo|autónoma|particular|empresa|muy|bastante|mayor|jubilado|jubilada|incapaz"
    r"|capaz|consciente|la titular|el titular|quien|quién|su|tu|otro|otra|así|asi)\b)"
)
_NAME_WORD = r"[A-ZÁÉÍÓÚÑ][a-záéíóúñü]+"
_ANY_WORD = r"[^\W\d_]+"
# the rest of a name after a sure cue, up to the words that start the rest of the sentence
_FOLLOWING_WORD = (
    r"(?!(?i:y|e|que|quiero|quería|para|por|con|mi|me|le|necesito|tengo|llamo|y|no|es)\b)"
    r"[^\W\d_]+"
)
PLACEHOLDERS: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("«correo»", "cliente@ejemplo.com", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    (
        "«correo»",
        "cliente@ejemplo.com",
        re.compile(r"(?i)\b(?:[\w.]+ (?:punto|guion|guión) )*[\w.]+ arroba [\w.]+(?: punto \w+)+"),
    ),
    ("«tarjeta»", "4000 0000 0000 0002", re.compile(r"\b(?:\d{4}[ -]?){3}\d{1,7}\b")),
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
        re.compile(rf"(?i)\b{_SPOKEN_DIGIT}(?:(?:[ ,]+|[ ,]*\by\b[ ,]*){_SPOKEN_DIGIT}){{3,}}\b"),
    ),
    # "me llamo josé": any word after a sure cue; after "soy" any word that is not what the
    # customer is ("soy cliente" names nobody)
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
        re.compile(
            rf"(?P<cue>\b(?i:soy|habla|le habla) ){_NOT_A_NAME}"
            rf"(?P<name>{_ANY_WORD}(?: (?:de la |de |del )?{_FOLLOWING_WORD}){{0,2}})"
        ),
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


def given_names(texts: list[str]) -> list[str]:
    """The names customers gave ("me llamo Marta Ruiz" -> "Marta Ruiz", "Marta", "Ruiz"),
    longest first, to mask wherever they come back ("Gracias, Marta")."""
    found: set[str] = set()
    for _, _, pattern in PLACEHOLDERS:
        if "name" not in pattern.groupindex:
            continue
        for text in texts:
            for match in pattern.finditer(text):
                name = match.group("name")
                found.add(name)
                found.update(w for w in name.split() if len(w) > 2 and w.lower() not in ("del",))
    return sorted(found, key=len, reverse=True)


def mask_with_names(text: str, names: list[str]) -> str:
    """`mask`, and also every name in `names` wherever it appears."""
    for name in names:
        text = re.sub(rf"(?i)(?<!\w){re.escape(name)}(?!\w)", "«nombre»", text)
    return mask(text)


PERSONAL = ("«correo»", "«documento»", "«cuenta»", "«tarjeta»", "«teléfono»", "«nombre»")


def scrub(text: str) -> str:
    """A sentence a trainer saves as training data (kept in git): placeholders and any personal
    data typed in become neutral stand-ins; order numbers and codes stay as written."""
    for placeholder, _, pattern in PLACEHOLDERS:
        if placeholder in PERSONAL:
            text = _replace_digits_aware(pattern, placeholder, text)
    return unmask(text)
