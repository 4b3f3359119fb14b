"""A virtual speaker for replayed calls: the bot's audio is laid on a track along the call's
timeline, exactly where a caller would have heard it, and cut where a barge-in stopped it.

Together with the caller's audio it makes the stereo `call.wav` of `python -m bot call`.
"""

from __future__ import annotations

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, seconds
from bot.clock import Clock


class TimelineOutput:
    """The AudioOutput of a replayed call.

    Args:
        clock: the call's clock; "now" is the position of the play head on the track.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._track = bytearray()
        self._end = 0.0  # where the audio already laid on the track stops
        self._held: list[bytes] = []  # paused audio, and audio that arrived while paused
        self._paused = False
        self._stale_before = 0

    @property
    def speaking(self) -> bool:
        return self._clock.now() < self._end

    def remaining(self) -> float:
        queued = max(0.0, self._end - self._clock.now())
        return queued + sum(seconds(pcm) for pcm in self._held)

    def play(self, pcm: bytes, turn: int) -> float | None:
        if turn < self._stale_before:
            return None
        if self._paused:
            self._held.append(pcm)
            return None
        start = max(self._clock.now(), self._end)
        offset = self._offset(start)
        if len(self._track) < offset:
            self._track.extend(bytes(offset - len(self._track)))
        self._track[offset:] = pcm
        self._end = start + seconds(pcm)
        return start

    def pause(self) -> None:
        cut = self._cut()
        if cut:
            self._held.insert(0, cut)
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        held, self._held = self._held, []
        for pcm in held:
            self.play(pcm, self._stale_before)

    def stop(self, stale_before: int) -> None:
        self._cut()
        self._held.clear()
        self._paused = False
        self._stale_before = max(self._stale_before, stale_before)

    def track(self) -> bytes:
        """The bot's side of the call so far."""
        return bytes(self._track)

    def _cut(self) -> bytes:
        """Removes the audio after the play head and returns it."""
        now = self._clock.now()
        if now >= self._end:
            return b""
        offset = self._offset(now)
        rest = bytes(self._track[offset:])
        del self._track[offset:]
        self._end = now
        return rest

    @staticmethod
    def _offset(at: float) -> int:
        return SAMPLE_WIDTH * round(at * SAMPLE_RATE)
