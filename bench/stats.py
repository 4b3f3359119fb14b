"""Percentiles as the benchmarks report them."""

from __future__ import annotations

import math
from collections.abc import Sequence


def summary(values: Sequence[float], digits: int = 1) -> dict[str, float]:
    """n, p50, p95 and max (nearest rank, rounded to `digits`); just n=0 when there is nothing."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}

    def rank(p: int) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": round(rank(50), digits),
        "p95": round(rank(95), digits),
        "max": round(ordered[-1], digits),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator to 3 decimals, or None when either is missing or zero."""
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)
