"""The bot's voice on a phone line, sent at the pace the caller hears it.

A phone line plays whatever it receives as it arrives and cannot be paused: Twilio can only
drop what it has buffered (`clear`), an AudioSocket not even that. So the bot's audio waits here
and leaves in 20 ms frames a little ahead of the listener (`lead_s`, for network jitter). A
barge-in then pauses by no longer sending (and clearing the little that is buffered); resuming
picks up at the first sample the caller has not heard.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.clock import Clock

BYTES_PER_S = SAMPLE_RATE * SAMPLE_WIDTH
FRAME_BYTES = BYTES_PER_S // 50  # 20 ms of 16 kHz 16-bit audio


class PacedOutput:
    """The AudioOutput of a phone call.

    Args:
        clock: the call's clock.
        send: sends one frame of 16 kHz PCM down the line (the line converts it).
        clear: drops what the line has buffered and not yet played (None: it cannot).
        lead_s: how far ahead of the caller's ear audio is sent.
    """

    def __init__(
        self,
        clock: Clock,
        send: Callable[[bytes], Awaitable[None]],
        clear: Callable[[], Awaitable[None]] | None = None,
        lead_s: float = 0.1,
    ) -> None:
        self._clock = clock
        self._send = send
        self._clear = clear
        self._lead_s = lead_s
        self._waiting = bytearray()  # not sent yet
        self._in_flight: deque[tuple[float, bytes]] = deque()  # sent: (when it ends, frame)
        self._heard_until = 0.0  # when the audio sent so far has been played
        self._paused = False
        self._stale_before = 0
        self._wake = asyncio.Event()
        self._line_jobs: deque[Callable[[], Awaitable[None]]] = deque()
        # called once all the audio given so far has been sent (Twilio marks the reply's end)
        self.drained: Callable[[], Awaitable[None]] | None = None

    @property
    def speaking(self) -> bool:
        playing = self._clock.now() < self._heard_until
        return playing or (bool(self._waiting) and not self._paused)

    def remaining(self) -> float:
        return max(0.0, self._heard_until - self._clock.now()) + seconds(self._waiting)

    def play(self, pcm: bytes, turn: int) -> float | None:
        if turn < self._stale_before:
            return None
        starts = self._clock.now() + self.remaining()
        self._waiting += pcm
        if self._paused:
            return None
        self._wake.set()
        return starts

    def pause(self) -> None:
        if self._paused:
            return
        self._paused = True
        unheard = self._take_back_unheard()
        if unheard:
            self._waiting[:0] = unheard
            self._clear_line()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._wake.set()

    def stop(self, stale_before: int) -> None:
        if self._take_back_unheard():
            self._clear_line()
        self._waiting.clear()
        self._paused = False
        self._stale_before = max(self._stale_before, stale_before)

    def send_other_voice(self, pcm: bytes) -> None:
        """The agent's voice: it arrives in real time from their microphone, so it goes out as
        it comes, in order with everything else sent on the line."""
        self._line_jobs.append(lambda: self._send(pcm))
        self._wake.set()

    async def run(self) -> None:
        """Sends the bot's voice as the caller hears it, until cancelled."""
        while True:
            while self._line_jobs:
                await self._line_jobs.popleft()()
            if self._paused or not self._waiting:
                self._wake.clear()
                await self._wake.wait()
                continue
            ahead = self._heard_until - self._clock.now()
            if ahead > self._lead_s:
                await self._sleep(ahead - self._lead_s)
                continue
            frame = bytes(self._waiting[:FRAME_BYTES])
            del self._waiting[:FRAME_BYTES]
            self._heard_until = max(self._clock.now(), self._heard_until) + seconds(frame)
            self._in_flight.append((self._heard_until, frame))
            while self._in_flight and self._in_flight[0][0] <= self._clock.now():
                self._in_flight.popleft()
            await self._send(frame)
            if not self._waiting and self.drained is not None:
                await self.drained()

    async def _sleep(self, duration: float) -> None:
        """Waits, but wakes at once for a pause, a stop or an agent's voice."""
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), duration)

    def _take_back_unheard(self) -> bytes:
        """What was sent but not played yet, when the line can drop it (`clear`); a line that
        cannot plays it out (at most `lead_s`)."""
        if self._clear is None:
            return b""
        now = self._clock.now()
        unheard = bytearray()
        for ends, frame in self._in_flight:
            left = ends - now
            if left <= 0:
                continue
            keep = min(len(frame), round(left * BYTES_PER_S / 2) * 2)
            unheard += frame[len(frame) - keep :]
        self._in_flight.clear()
        self._heard_until = min(self._heard_until, now)
        return bytes(unheard)

    def _clear_line(self) -> None:
        if self._clear is not None:
            self._line_jobs.appendleft(self._clear)
            self._wake.set()
