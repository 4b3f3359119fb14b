"""Rate limits: sliding windows per key (a conversation, an address, a username)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Allows at most `limit` events per `window_s` seconds for each key.

    Args:
        limit: events allowed in a window.
        window_s: the window's length.
        clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        """Counts one event for the key; False (and not counted) when over the limit."""
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self._window_s:
            events.popleft()
        if len(events) >= self._limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:  # forget idle keys so memory stays bounded
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self._window_s]:
            del self._events[key]
