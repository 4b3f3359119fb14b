"""The audio edge of a browser call: the bot's voice to the page, the caller's voice checked.

The page plays what it receives at once, in real time, so the clock tells how much is still
unheard; pause, resume and stop are relayed so the page holds or drops its buffer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.clock import Clock

MAX_FRAME_BYTES = 8000  # 250 ms of 16 kHz 16-bit audio: more in one message is not a live mic
MAX_BURST_S = 2.0  # audio may arrive this far ahead of real time (network jitter), not more
BYTES_PER_S = SAMPLE_RATE * SAMPLE_WIDTH


def valid_frame(pcm: bytes) -> bool:
    """16-bit samples (an even length), at most a quarter of a second."""
    return bool(pcm) and len(pcm) % SAMPLE_WIDTH == 0 and len(pcm) <= MAX_FRAME_BYTES


class RealTimeBudget:
    """Refuses audio that arrives faster than it can be spoken: a live microphone sends one
    second per second; a client that floods would otherwise pile up work for the recogniser.

    The budget counts from its creation, when the call is answered: what the caller's page sent
    while the call was being set up arrives all at once, and is not a flood.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._started = clock.now()
        self._received = 0  # bytes

    def allow(self, pcm: bytes) -> bool:
        allowed = (self._clock.now() - self._started + MAX_BURST_S) * BYTES_PER_S
        if self._received + len(pcm) > allowed + 1:  # (+1: float rounding of the clock)
            return False
        self._received += len(pcm)
        return True


class WebSocketAudioOutput:
    """The AudioOutput of a browser call: audio and control messages for the page, in order.

    Args:
        clock: the call's clock.
        outgoing: what the call's sender task writes to the socket.
    """

    def __init__(self, clock: Clock, outgoing: asyncio.Queue[bytes | dict[str, Any]]) -> None:
        self._clock = clock
        self._outgoing = outgoing
        self._playing_until = 0.0
        self._held = bytearray()
        self._held_s = 0.0  # sent to the page, paused there
        self._paused = False
        self._stale_before = 0

    @property
    def speaking(self) -> bool:
        return self._clock.now() < self._playing_until

    def remaining(self) -> float:
        return (
            max(0.0, self._playing_until - self._clock.now()) + self._held_s + seconds(self._held)
        )

    def play(self, pcm: bytes, turn: int) -> float | None:
        if turn < self._stale_before:
            return None
        if self._paused:
            self._held += pcm
            return None
        start = max(self._clock.now(), self._playing_until)
        self._playing_until = start + seconds(pcm)
        self._outgoing.put_nowait(pcm)
        return start

    def pause(self) -> None:
        if self._paused:
            return
        self._paused = True
        if self.speaking:
            self._held_s = self._playing_until - self._clock.now()
            self._playing_until = 0.0
            self._outgoing.put_nowait({"type": "pause"})

    def resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._held_s:
            self._playing_until = self._clock.now() + self._held_s
            self._held_s = 0.0
            self._outgoing.put_nowait({"type": "resume"})
        held, self._held = bytes(self._held), bytearray()
        if held:
            self.play(held, self._stale_before)

    def stop(self, stale_before: int) -> None:
        if self.speaking or self._held_s:
            self._outgoing.put_nowait({"type": "stop"})
        self._playing_until, self._held_s, self._paused = 0.0, 0.0, False
        self._held.clear()
        self._stale_before = max(self._stale_before, stale_before)

    def send_other_voice(self, pcm: bytes) -> None:
        """The agent's voice: straight to the caller, outside the bot's turn-taking."""
        self._outgoing.put_nowait(pcm)
