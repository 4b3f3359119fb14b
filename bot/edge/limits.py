"""Rate limits: sliding windows per key (a conversation, an address, a username), kept by one
gateway or shared by all of them through Redis."""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_S = 2.0  # a Redis that failed is not asked again for this long (no wait on every request)
MAX_KEYS = 50_000  # far above the keys a busy hour makes; a flood of new keys cannot grow memory


class Limiter(Protocol):
    def allow(self, key: str) -> bool: ...


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


# A sliding window in a sorted set: drop what left the window, refuse when full, else count.
# KEYS[1]: the key; ARGV: now (ms), window (ms), limit, a unique member for this event.
_SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], 0, tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""


_PROCESS = uuid.uuid4().hex[:12]  # events from every gateway and limiter stay distinct members
_EVENTS = itertools.count()


class SharedRateLimiter:
    """The same limit for every gateway: the windows live in Redis (BOT_REDIS_URL), so a
    customer or an attacker spreading requests over the gateways gets no more than from one.

    While Redis is away each gateway falls back to its own windows (`RateLimiter`): limits stay
    on, a little looser, and nobody is refused because of the fault.

    Args:
        client: a Redis client with short timeouts (`redis.Redis`).
        name: distinguishes this limit's keys from the others' ("messages", "logins").
        limit / window_s: as RateLimiter's.
    """

    def __init__(self, client: Any, name: str, limit: int, window_s: float) -> None:
        self._client = client
        self._prefix = f"contact-bot:limit:{name}:"
        self._limit = limit
        self._window_ms = int(window_s * 1000)
        self._script = client.register_script(_SLIDING_WINDOW)
        self._fallback = RateLimiter(limit, window_s)
        self._retry_at = 0.0  # while Redis is away, asked again only this often

    def allow(self, key: str) -> bool:
        if time.monotonic() < self._retry_at:
            return self._fallback.allow(key)
        now_ms = int(time.time() * 1000)
        member = f"{now_ms}-{_PROCESS}-{next(_EVENTS)}"
        try:
            allowed = self._script(
                keys=[self._prefix + key], args=[now_ms, self._window_ms, self._limit, member]
            )
        except RedisError as error:
            logger.warning("limits.shared_unavailable error=%s (this gateway's own windows)", error)
            self._retry_at = time.monotonic() + RETRY_S
            return self._fallback.allow(key)
        return bool(allowed)
