"""Finds which shop, department, service or category a customer named, typos included."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from rapidfuzz import fuzz

from actions.language.text import fold

MIN_SCORE = 88  # partial-ratio score; below it "gran bia" still matches, "granada" does not


class Named(Protocol):
    id: str
    name: str
    aliases: tuple[str, ...]


def find_named(text: str, items: Iterable[Named]) -> Named | None:
    """The item whose name or alias appears in `text`; the longest matching alias wins,
    so 'tienda de gran vía' picks the Gran Vía shop, not any shop called 'tienda'."""
    folded = f" {fold(text)} "
    best: tuple[int, float, Named] | None = None
    for item in items:
        for alias in (item.name, *item.aliases):
            wanted = f" {fold(alias)} "
            if wanted in folded:
                score = 100.0
            elif 6 < len(wanted) <= len(folded):  # only the alias inside the text, never reversed
                score = fuzz.partial_ratio(wanted, folded)
            else:
                score = 0.0
            if score >= MIN_SCORE and (best is None or (len(wanted), score) > best[:2]):
                best = (len(wanted), score, item)
    return best[2] if best else None
