"""Rate limits: sliding windows per key (a conversation, an address, a username)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

MAX_KEYS = 50_000  # far above the keys a busy hour makes; a flood of new keys cannot grow memory


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
        if len(self._events) > MAX_KEYS:
            self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        """Memory stays bounded: idle keys go first, then the oldest (a flood of new keys
        forgets its own early ones, never the limiter as a whole)."""
        for key in [k for k, v in self._events.items() if not v or v[-1] <= now - self._window_s]:
            del self._events[key]
        for key in list(self._events)[: max(0, len(self._events) - MAX_KEYS // 2)]:
            del self._events[key]
