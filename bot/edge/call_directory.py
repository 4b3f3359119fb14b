"""What a PBX tells the gateway around a phone call, by the call's UUID: the caller's number
before the audio connects, and where a handed-off call goes after."""

from __future__ import annotations

import time
from collections import OrderedDict

REGISTRATION_TTL_S = 120.0  # a registered caller number waits this long for its call
MAX_REGISTRATIONS = 1000  # unclaimed registrations beyond this are forgotten, oldest first


class CallDirectory:
    """What the dialplan tells us around a call: the caller's number before it connects, and
    where a handed-off call should go after (keyed by the call's UUID)."""

    def __init__(self) -> None:
        self._callers: OrderedDict[str, tuple[float, str | None]] = OrderedDict()
        self.transfers: dict[str, str] = {}

    def register(self, call_uuid: str, caller: str | None) -> None:
        self._callers[call_uuid] = (time.monotonic(), caller)
        while len(self._callers) > MAX_REGISTRATIONS:
            self._callers.popitem(last=False)

    def route_after(self, call_uuid: str, destination: str) -> None:
        """Where the call goes once AudioSocket() returns (the dialplan reads it once); a route
        already set, a transfer's, stays. Unread routes beyond MAX_REGISTRATIONS are forgotten."""
        self.transfers.setdefault(call_uuid, destination)
        while len(self.transfers) > MAX_REGISTRATIONS:
            del self.transfers[next(iter(self.transfers))]

    def caller(self, call_uuid: str) -> str | None:
        registered = self._callers.pop(call_uuid, None)
        if registered is None or time.monotonic() - registered[0] > REGISTRATION_TTL_S:
            return None
        return registered[1]
