"""The bot's voice on a phone line: paced to the caller's ear, cleared on barge-in, resumed
from the first sample the caller did not hear."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from bot.channels.telephony.paced_output import BYTES_PER_S, FRAME_BYTES, PacedOutput
from bot.clock import WallClock

LEAD_S = 0.1


def ramp(seconds: float) -> bytes:
    """Each sample holds its own index (mod 2^15), so a frame tells where in the reply it is."""
    return (np.arange(int(16000 * seconds)) % 32768).astype("<i2").tobytes()


class FakeLine:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.frames: list[tuple[float, bytes]] = []
        self.clears: list[float] = []

    async def send(self, pcm: bytes) -> None:
        self.frames.append((time.monotonic() - self.started, pcm))

    async def clear(self) -> None:
        self.clears.append(time.monotonic() - self.started)

    def sent_bytes(self) -> int:
        return sum(len(pcm) for _, pcm in self.frames)


async def running(output: PacedOutput) -> asyncio.Task[None]:
    task = asyncio.create_task(output.run())
    await asyncio.sleep(0)
    return task


def test_the_voice_leaves_in_20_ms_frames_never_further_ahead_than_the_lead():
    async def scenario() -> FakeLine:
        line, clock = FakeLine(), WallClock()
        output = PacedOutput(clock, line.send, line.clear, LEAD_S)
        task = await running(output)
        assert output.play(ramp(0.5), turn=1) is not None
        assert output.speaking
        await asyncio.sleep(0.65)
        task.cancel()
        assert not output.speaking
        return line

    line = asyncio.run(scenario())
    assert line.sent_bytes() == len(ramp(0.5))
    assert all(len(pcm) == FRAME_BYTES for _, pcm in line.frames)
    sent = 0
    for at, pcm in line.frames:
        sent += len(pcm)
        assert sent / BYTES_PER_S - at <= LEAD_S + 0.03  # (+ one frame and scheduling)
    assert line.frames[-1][0] >= 0.5 - LEAD_S - 0.03  # paced, not sent in one go


def test_a_barge_in_clears_the_line_and_resume_starts_at_the_first_unheard_sample():
    async def scenario() -> tuple[FakeLine, float, int]:
        line, clock = FakeLine(), WallClock()
        output = PacedOutput(clock, line.send, line.clear, LEAD_S)
        task = await running(output)
        output.play(ramp(1.0), turn=1)
        await asyncio.sleep(0.3)
        paused_at = time.monotonic() - line.started
        output.pause()
        sent_before = len(line.frames)
        await asyncio.sleep(0.2)
        assert len(line.frames) == sent_before  # nothing while the caller speaks
        assert not output.speaking and output.remaining() > 0.6
        output.resume()
        await asyncio.sleep(0.05)
        task.cancel()
        return line, paused_at, sent_before

    line, paused_at, sent_before = asyncio.run(scenario())
    # at once: the next turn of the event loop (a loaded CI machine may take a while)
    assert len(line.clears) == 1 and line.clears[0] - paused_at < 0.15
    first_after = np.frombuffer(line.frames[sent_before][1], "<i2")[0]
    heard_samples = paused_at * 16000
    assert abs(int(first_after) - heard_samples) <= 16000 * 0.03  # within about a frame


def test_stop_drops_the_rest_and_late_audio_of_the_interrupted_turn():
    async def scenario() -> tuple[FakeLine, PacedOutput]:
        line, clock = FakeLine(), WallClock()
        output = PacedOutput(clock, line.send, line.clear, LEAD_S)
        task = await running(output)
        output.play(ramp(1.0), turn=1)
        await asyncio.sleep(0.2)
        output.stop(stale_before=2)
        assert output.play(ramp(0.2), turn=1) is None  # the rest of the interrupted reply
        assert output.play(ramp(0.1), turn=2) is not None  # the answer to the new turn
        await asyncio.sleep(0.3)
        task.cancel()
        return line, output

    line, output = asyncio.run(scenario())
    assert len(line.clears) == 1
    assert line.sent_bytes() < len(ramp(0.2 + LEAD_S + 0.05)) + len(ramp(0.1))
    assert output.remaining() == 0


def test_a_line_that_cannot_clear_plays_out_its_little_lead_and_nothing_is_sent_twice():
    async def scenario() -> FakeLine:
        line, clock = FakeLine(), WallClock()
        output = PacedOutput(clock, line.send, None, 0.04)
        task = await running(output)
        output.play(ramp(0.6), turn=1)
        await asyncio.sleep(0.2)
        output.pause()
        await asyncio.sleep(0.1)
        output.resume()
        await asyncio.sleep(0.6)
        task.cancel()
        return line

    line = asyncio.run(scenario())
    assert line.sent_bytes() == len(ramp(0.6))


def test_the_agents_voice_goes_out_as_it_comes_and_each_reply_is_marked_when_sent():
    async def scenario() -> tuple[FakeLine, list[float]]:
        line, clock = FakeLine(), WallClock()
        output = PacedOutput(clock, line.send, line.clear, LEAD_S)
        drained: list[float] = []

        async def mark() -> None:
            drained.append(time.monotonic() - line.started)

        output.drained = mark
        task = await running(output)
        output.send_other_voice(b"\x01\x00" * 160)
        await asyncio.sleep(0.02)
        output.play(ramp(0.2), turn=1)
        await asyncio.sleep(0.3)
        task.cancel()
        return line, drained

    line, drained = asyncio.run(scenario())
    assert line.frames[0][1] == b"\x01\x00" * 160 and line.frames[0][0] < 0.02
    assert len(drained) == 1 and drained[0] >= 0.2 - LEAD_S - 0.03
