"""One hypothesis profile for every fuzz test: reproducible (derandomized, no example
database), no per-example deadline on 2 shared cores, bounded by `max_examples`."""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
