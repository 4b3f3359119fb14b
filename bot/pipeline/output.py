"""Where the bot's voice goes, and the stage that sends it there.

BotAudioFrame -> (speaker or call recording) + BotStartedSpeakingFrame

The output is shared with the turn-taking stage, which pauses, resumes or stops it the moment
the caller barges in: going through the queues would be too slow for a 150 ms stop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from bot.frames import BotAudioFrame, BotStartedSpeakingFrame, Frame
from bot.pipeline.pipeline import Stage


class AudioOutput(Protocol):
    """A speaker that can be interrupted.

    `turn` numbers let a barge-in drop late audio of the replies it interrupted: once
    `stop(stale_before=n)` was called, audio of turns before n is never played.
    """

    @property
    def speaking(self) -> bool:
        """Whether audio is being played (or is queued to play) right now."""

    def remaining(self) -> float:
        """Seconds of audio queued or paused, not yet played."""

    def play(self, pcm: bytes, turn: int) -> float | None:
        """Queues audio; returns the timeline time its first sample goes out, or None when it
        is held (output paused) or dropped (stale)."""

    def pause(self) -> None:
        """Stops the sound at once but keeps what is left, for `resume`."""

    def resume(self) -> None:
        """Plays what `pause` kept, and anything queued meanwhile."""

    def stop(self, stale_before: int) -> None:
        """Stops the sound and drops what is left, and any later audio of older turns."""


class PlaybackStage(Stage):
    """Sends the bot's audio to the output and notes when each reply starts to be heard."""

    def __init__(self, output: AudioOutput) -> None:
        self._output = output
        self._started: set[int] = set()

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        if isinstance(frame, BotAudioFrame):
            started = self._output.play(frame.pcm, frame.turn)
            if started is not None and frame.turn not in self._started:
                self._started.add(frame.turn)
                yield BotStartedSpeakingFrame(started, frame.turn)
        yield frame
