"""Rate limits: a sliding window per key, with a clock the test sets by hand."""

from __future__ import annotations

from bot.edge.limits import MAX_KEYS, RateLimiter
from tests.helpers.voice_fakes import ManualClock


def limiter(limit: int = 2, window_s: float = 10.0) -> tuple[RateLimiter, ManualClock]:
    clock = ManualClock()
    return RateLimiter(limit, window_s, clock.now), clock


def test_allows_up_to_the_limit_in_a_window():
    limits, clock = limiter(limit=2)

    assert limits.allow("a")
    clock.set(1.0)
    assert limits.allow("a")
    clock.set(2.0)
    assert not limits.allow("a")


def test_the_window_slides():
    limits, clock = limiter(limit=2, window_s=10.0)
    limits.allow("a")  # t=0
    clock.set(1.0)
    limits.allow("a")

    clock.set(10.0)  # the event at 0 has left the window
    assert limits.allow("a")
    clock.set(10.5)  # the one at 1 has not
    assert not limits.allow("a")
    clock.set(11.0)
    assert limits.allow("a")


def test_refused_events_do_not_count():
    limits, clock = limiter(limit=1, window_s=10.0)
    limits.allow("a")
    for second in range(1, 10):
        clock.set(second)
        assert not limits.allow("a")

    clock.set(10.0)  # were refusals counted, the window would still be full
    assert limits.allow("a")


def test_keys_are_independent():
    limits, _ = limiter(limit=1)

    assert limits.allow("conversation-1")
    assert limits.allow("conversation-2")
    assert not limits.allow("conversation-1")


def test_forgetting_idle_keys_does_not_forgive_active_ones():
    limits, clock = limiter(limit=1, window_s=10.0)
    limits.allow("busy")
    for n in range(10_001):  # enough keys to make the limiter forget the idle ones
        limits.allow(f"key-{n}")

    assert not limits.allow("busy")
    clock.set(20.0)
    limits.allow("newcomer")
    assert limits.allow("key-5")  # forgotten or not, an idle key starts afresh


def test_a_flood_of_new_keys_cannot_grow_memory_without_bound():
    limits, _ = limiter(limit=1, window_s=10.0)
    for n in range(MAX_KEYS + 10):
        limits.allow(f"key-{n}")

    assert len(limits._events) <= MAX_KEYS
    assert not limits.allow(f"key-{MAX_KEYS + 9}")  # the newest are still limited
