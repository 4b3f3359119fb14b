"""Finds which shop, department, service or category a customer named, typos included."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from rapidfuzz import fuzz

from actions.language.text import fold

MIN_SCORE = 88  # partial-ratio score; below it "gran bia" still matches, "granada" does not


class Named(Protocol):
    """Anything with an id, a name and aliases: shops, departments, services, categories."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...


NamedT = TypeVar("NamedT", bound=Named)


def find_named(text: str, items: Iterable[NamedT]) -> NamedT | None:
    """The item whose name or alias appears in `text`; the longest matching alias wins,
    so 'tienda de gran vía' picks the Gran Vía shop, not any shop called 'tienda'."""
    folded = f" {fold(text)} "
    best: tuple[int, float, NamedT] | None = None
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
