"""What every phone line shares, whatever its protocol: 8 kHz audio in and out, the bot's voice
paced to the caller's ear, keypad entries, and the checks on what the far end sends.

A protocol module (twilio.py, audiosocket.py) reads its connection, hands caller audio and keys
to a `PhoneLine` and supplies how to send a frame, clear the far end's buffer and hang up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from bot.audio.g711 import PhoneToPipeline, PipelineToPhone
from bot.channels.call_audio import RealTimeBudget
from bot.channels.telephony.keypad import KeypadEntry
from bot.channels.telephony.paced_output import PacedOutput
from bot.clock import Clock

logger = logging.getLogger(__name__)

MAX_PHONE_FRAME_BYTES = 4000  # 0.5 s of 8 kHz 16-bit (or 0.25 s of μ-law): no line sends more
MAX_REASON = 120  # characters of a LineProtocolError's text, each one byte (ASCII)


class LineProtocolError(ValueError):
    """The far end broke the line's protocol; the text says how (logged, never customer data).

    The text is kept ASCII (anything else escaped) and short, whatever the far end sent: it
    is also a WebSocket close reason, which must fit in 123 bytes (a longer one makes the
    close frame itself a protocol error, and the far end never learns why)."""

    def __init__(self, text: str) -> None:
        super().__init__(text.encode("ascii", "backslashreplace").decode("ascii")[:MAX_REASON])


class PhoneLine:
    """The gateway's side of one phone call (see gateway_call.CallLine).

    Subclasses send frames (`send_phone_audio`), clear the far end (`clear_far_end`, or None)
    and hang up (`hang_up`); their reader calls `heard` with caller audio, `pressed` with keys
    and `ended` when the caller is gone.

    Args:
        clock: the call's clock.
        name: the line's kind, for the logs ("twilio", "asterisk").
        lead_s: how far ahead of the caller's ear the bot's voice is sent.
        keypad_pause_s: keypad silence that ends an entry.
        can_clear: whether the far end can drop audio it has buffered.
    """

    def __init__(
        self, clock: Clock, name: str, lead_s: float, keypad_pause_s: float, can_clear: bool
    ) -> None:
        self.name = name
        self._incoming: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._budget = RealTimeBudget(clock)
        self._from_phone = PhoneToPipeline()
        self._to_phone = PipelineToPhone()
        self.output = PacedOutput(
            clock, self._send, self.clear_far_end if can_clear else None, lead_s
        )
        self.keypad = KeypadEntry(self._keypad_entry, keypad_pause_s)
        self.call: Any = None  # the GatewayCall, once answered (it takes the keypad entries)
        self.conversation_id = ""

    # the reader's side

    def heard(self, pcm8k: bytes) -> None:
        """Caller audio as 8 kHz 16-bit PCM; refused when malformed or faster than real time."""
        if not pcm8k or len(pcm8k) % 2 or len(pcm8k) > MAX_PHONE_FRAME_BYTES:
            raise LineProtocolError(f"audio frame of {len(pcm8k)} bytes")
        pcm = self._from_phone.from_linear(pcm8k)
        if not self._budget.allow(pcm):
            raise LineProtocolError("audio faster than real time")
        self._incoming.put_nowait(pcm)

    async def pressed(self, key: str) -> None:
        if not await self.keypad.press(key):
            raise LineProtocolError(f"unknown keypad key {key!r}")

    def ended(self) -> None:
        """The caller is gone (or the line broke): the call ends."""
        self.keypad.close()
        self._incoming.put_nowait(None)

    # the call's side

    async def caller_audio(self) -> AsyncIterator[bytes]:
        while (pcm := await self._incoming.get()) is not None:
            yield pcm

    def notify(self, event: dict[str, Any]) -> None:
        """A phone has no screen: transcripts and partial words are for pages only."""

    async def play_out(self) -> None:
        await self.output.run()

    async def _send(self, pcm16k: bytes) -> None:
        pcm8k = self._to_phone.to_linear(pcm16k)
        if pcm8k:  # the resampler may hold back a first tiny chunk; empty audio is refused
            await self.send_phone_audio(pcm8k)

    async def _keypad_entry(self, digits: str) -> None:
        if self.call is not None:
            await self.call.keypad(digits)

    # the protocol's side

    async def send_phone_audio(self, pcm8k: bytes) -> None:
        raise NotImplementedError

    async def clear_far_end(self) -> None:
        raise NotImplementedError

    async def hang_up(self, reason: str) -> None:
        raise NotImplementedError
