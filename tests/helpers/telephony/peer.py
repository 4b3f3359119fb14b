"""What both simulated telephone systems share: a paced sender, a playing earpiece, the record.

`PhonePeer` is the base of `TwilioPeer` (tests.helpers.telephony.twilio_peer) and
`AudioSocketPeer` (tests.helpers.telephony.audiosocket_peer). Both send the caller's audio in
real time (one 20 ms frame every 20 ms, on an absolute schedule that does not drift) and "play"
what the server sends back in real time, queued behind earlier audio, so tests can ask what the
caller actually heard. Whatever the server sends that the protocol does not allow is written down
in `violations` instead of raising, so one test can check a whole call and then look at
everything at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TypeVar

import aiohttp

from tests.helpers.telephony.codecs import FRAME_S, PHONE_RATE, SAMPLE_WIDTH

_POLL_S = 0.01


@dataclass
class _Segment:
    """One piece of the server's audio as the caller's earpiece plays it."""

    start: float
    end: float
    pcm: bytes  # 8 kHz 16-bit


class _Playback:
    """The caller's earpiece: audio plays in real time from when it arrives, queued in order."""

    def __init__(self) -> None:
        self.segments: list[_Segment] = []
        self.play_end = 0.0
        self.max_backlog_s = 0.0

    def add(self, now: float, pcm8k: bytes) -> None:
        duration = len(pcm8k) / SAMPLE_WIDTH / PHONE_RATE
        start = max(now, self.play_end)
        self.play_end = start + duration
        self.max_backlog_s = max(self.max_backlog_s, self.play_end - now)
        self.segments.append(_Segment(start, self.play_end, pcm8k))

    def cut(self, now: float) -> None:
        """Drop everything not yet played at `now` (a clear, or the call ending)."""
        kept = [segment for segment in self.segments if segment.start < now]
        for segment in kept:
            segment.end = min(segment.end, now)
        self.segments = kept
        self.play_end = min(self.play_end, now)

    def heard_seconds(self, now: float) -> float:
        return sum(max(0.0, min(s.end, now) - s.start) for s in self.segments)

    def heard_pcm(self, now: float) -> bytes:
        pieces = []
        for segment in self.segments:
            played = max(0.0, min(segment.end, now) - segment.start)
            pieces.append(segment.pcm[: round(played * PHONE_RATE) * SAMPLE_WIDTH])
        return b"".join(pieces)


_Peer = TypeVar("_Peer", bound="PhonePeer")


class PhonePeer:
    """What both telephone systems share: a paced sender, a playing earpiece, the record."""

    frame_bytes: int
    silence_byte: int

    def __init__(self, *, continuous: bool) -> None:
        self.continuous = continuous
        self.violations: list[str] = []
        self.audio: list[tuple[float, bytes]] = []  # (arrival, 8 kHz 16-bit PCM)
        self.audio_bytes = 0
        self.closed = False  # the server closed the connection
        self.ended_reason: str | None = None
        self._playback = _Playback()
        self._outbox: deque[tuple[bytes, asyncio.Future[float] | None]] = deque()
        self._outbox_ready = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._started_at: float | None = None
        self._ending = False  # we (the caller) are hanging up
        self._tasks: list[asyncio.Task[None]] = []
        self._reader: asyncio.Task[None] | None = None

    # -- for subclasses --------------------------------------------------------------------

    async def _send_audio_frame(self, frame: bytes, at: float) -> None:
        raise NotImplementedError

    def _encode_16k(self, pcm16k: bytes) -> bytes:
        raise NotImplementedError

    def _violation(self, text: str) -> None:
        self.violations.append(text)

    def _started(self) -> float:
        if self._started_at is None:
            raise RuntimeError("connect() first")
        return self._started_at

    def _launch(self, reader: asyncio.Task[None], *others: asyncio.Task[None]) -> None:
        self._reader = reader
        self._tasks = [reader, *others]

    @property
    def active(self) -> bool:
        """Whether the call is up: connected, not hung up and not closed by the server."""
        return self._started_at is not None and self.ended_reason is None

    def _end(self, reason: str) -> None:
        """The call is over: stop sending and stop playing (idempotent)."""
        if self.ended_reason is None:
            self.ended_reason = reason
        self._playback.cut(time.monotonic())
        self._outbox_ready.set()  # wake the sender so it notices
        for task in self._tasks:
            if task is not asyncio.current_task() and task is not self._reader:
                task.cancel()
        self._release_speakers()

    def _release_speakers(self) -> None:
        while self._outbox:
            _, done = self._outbox.popleft()
            if done is not None and not done.done():
                done.set_result(time.monotonic())

    async def _pump(self) -> None:
        """Send one frame every 20 ms on an absolute schedule (speech, else line silence)."""
        silence = bytes([self.silence_byte]) * self.frame_bytes
        next_at: float | None = None
        try:
            while self.ended_reason is None:
                done: asyncio.Future[float] | None = None
                if self._outbox:
                    frame, done = self._outbox.popleft()
                elif self.continuous:
                    frame = silence
                else:
                    next_at = None  # idle: the next utterance starts its own schedule
                    self._outbox_ready.clear()
                    await self._outbox_ready.wait()
                    continue
                if next_at is None:
                    next_at = time.monotonic()
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.ended_reason is not None:
                    break
                await self._send_audio_frame(frame, next_at)
                if done is not None and not done.done():
                    done.set_result(next_at)  # when the last frame went out
                next_at += FRAME_S
        except (ConnectionError, aiohttp.ClientError):
            pass  # the reader notices the closed connection and records it
        finally:
            self._release_speakers()

    async def _queue_audio(self, wire: bytes) -> None:
        if not wire or not self.active:
            return
        padding = -len(wire) % self.frame_bytes  # a phone sends whole 20 ms frames
        wire += bytes([self.silence_byte]) * padding
        frames = [wire[i : i + self.frame_bytes] for i in range(0, len(wire), self.frame_bytes)]
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        for frame in frames[:-1]:
            self._outbox.append((frame, None))
        self._outbox.append((frames[-1], done))
        self._outbox_ready.set()
        last_sent_at = await done
        if self.active:  # the last frame's 20 ms are said when it is sent: let them pass
            await asyncio.sleep(max(0.0, last_sent_at + FRAME_S - time.monotonic()))

    def _received_audio(self, now: float, pcm8k: bytes) -> None:
        self.audio.append((now, pcm8k))
        self.audio_bytes += len(pcm8k)
        self._playback.add(now, pcm8k)

    # -- the caller's side -----------------------------------------------------------------

    async def __aenter__(self: _Peer) -> _Peer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Release the connection and the tasks (each line says how)."""
        raise NotImplementedError

    async def _press_keys(
        self,
        digits: str,
        interval: float,
        keys: str,
        send: Callable[[str], Awaitable[None]],
    ) -> None:
        """One message per key, `interval` seconds apart; a key the line lacks is refused."""
        self._started()
        for index, digit in enumerate(digits):
            if digit not in keys:
                raise ValueError(f"no key {digit!r} on this line's keypad ({keys})")
            if index and interval:
                await asyncio.sleep(interval)
            await send(digit)

    async def speak(self, pcm16k: bytes) -> None:
        """Say `pcm16k` into the phone: 20 ms frames in real time; returns once it is said.

        Args:
            pcm16k: The caller's voice, signed 16-bit little-endian mono at 16 kHz.
        """
        self._started()
        await self._queue_audio(self._encode_16k(pcm16k))

    async def silence(self, seconds: float) -> None:
        """Send `seconds` of silence the same way as speech (whole 20 ms frames).

        Args:
            seconds: How long the caller says nothing.
        """
        self._started()
        frames = round(seconds / FRAME_S)
        await self._queue_audio(bytes([self.silence_byte]) * (frames * self.frame_bytes))

    # -- what the caller heard -------------------------------------------------------------

    @property
    def max_backlog_s(self) -> float:
        """The most audio the server ever had queued ahead of the caller's earpiece."""
        return self._playback.max_backlog_s

    @property
    def playing(self) -> bool:
        """Whether the earpiece is playing the server's audio right now."""
        return time.monotonic() < self._playback.play_end

    def heard_seconds(self) -> float:
        """Seconds of the server's audio played to the caller so far (cleared audio excluded)."""
        return self._playback.heard_seconds(time.monotonic())

    def heard_audio(self) -> bytes:
        """The server's audio as played to the caller so far: 8 kHz 16-bit PCM."""
        return self._playback.heard_pcm(time.monotonic())

    async def wait_for_audio(self, min_seconds: float, timeout: float) -> float:
        """Wait until the caller has heard at least `min_seconds` of the server's audio.

        Args:
            min_seconds: Seconds of played audio to wait for.
            timeout: Seconds to wait at most.

        Returns:
            The seconds heard when the wait ended.

        Raises:
            AssertionError: If that much was not heard in time (or the call ended first).
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            heard = self._playback.heard_seconds(now)
            if heard >= min_seconds:
                return heard
            over = self.ended_reason is not None and now >= self._playback.play_end
            if over or now >= deadline:
                why = f"the call ended ({self.ended_reason})" if over else f"{timeout} s passed"
                raise AssertionError(
                    f"heard {heard:.2f} s of audio, waited for {min_seconds:.2f} s: {why}; "
                    f"violations: {self.violations}"
                )
            await asyncio.sleep(_POLL_S)

    async def wait_until_quiet(self, quiet_s: float, timeout: float) -> None:
        """Wait until no audio has played for `quiet_s` seconds.

        Args:
            quiet_s: Seconds of quiet earpiece to wait for.
            timeout: Seconds to wait at most.

        Raises:
            AssertionError: If the earpiece was not quiet that long in time.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            quiet_since = max(self._playback.play_end, self._started())
            if now - quiet_since >= quiet_s:
                return
            if now >= deadline:
                raise AssertionError(
                    f"audio still playing or only {max(0.0, now - quiet_since):.2f} s quiet "
                    f"after {timeout} s (wanted {quiet_s} s); heard {self.heard_seconds():.2f} s"
                )
            await asyncio.sleep(_POLL_S)

    async def wait_ended(self, timeout: float) -> str:
        """Wait until the connection is over (hung up, or closed or ended by the server).

        Args:
            timeout: Seconds to wait at most.

        Returns:
            Why the call ended.

        Raises:
            AssertionError: If it was still up after `timeout`.
        """
        if self._reader is None:
            raise RuntimeError("connect() first")
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(f"the call was still up after {timeout} s") from None
        return self.ended_reason or "ended"

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
