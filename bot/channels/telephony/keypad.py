"""Keypad digits (DTMF) gathered into entries: an order number, a booking code, a postcode.

Phone lines report one key at a time. An entry ends with "#" or when the caller stops pressing
for `pause_s`; "*" starts it again. The entry becomes a caller turn, so wherever the assistant
asks for a code, the caller may key it in instead of saying it. A lone "0" is the usual key for
"a person, please" (the assistant reads it so; see gateway_call.RouterDialogueClient).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

KEYS = frozenset("0123456789*#ABCD")
MAX_DIGITS = 32  # longer than any code we ask for: the rest of a stuck key is dropped


class KeypadEntry:
    """Gathers keys into entries and hands each finished one to `on_entry`.

    Args:
        on_entry: receives the digits of a finished entry.
        pause_s: silence of the keypad that ends an entry.
    """

    def __init__(self, on_entry: Callable[[str], Awaitable[None]], pause_s: float = 2.0) -> None:
        self._on_entry = on_entry
        self._pause_s = pause_s
        self._digits = ""
        self._timer: asyncio.Task[None] | None = None

    async def press(self, key: str) -> bool:
        """One key as the line reported it; False when it is not a keypad key."""
        if key not in KEYS:
            return False
        self._cancel_timer()
        if key == "#":
            await self._finish()
        elif key == "*":
            self._digits = ""
        elif key.isdigit():  # A-D exist on some keypads but mean nothing here
            self._digits = (self._digits + key)[:MAX_DIGITS]
            self._timer = asyncio.create_task(self._finish_after_pause())
        return True

    def close(self) -> None:
        self._cancel_timer()

    async def _finish_after_pause(self) -> None:
        await asyncio.sleep(self._pause_s)
        self._timer = None
        await self._finish()

    async def _finish(self) -> None:
        digits, self._digits = self._digits, ""
        if digits:
            await self._on_entry(digits)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
