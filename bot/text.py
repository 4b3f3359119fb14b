"""Text helpers shared by the gateway's parts (and the Rasa components under bot/nlu)."""

from __future__ import annotations

import unicodedata


def unaccented(text: str) -> str:
    """Lower case without accents: 'Sí, CAMIÓN' -> 'si, camion' (for matching, not for showing)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
