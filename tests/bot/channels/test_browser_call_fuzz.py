"""The browser call's audio socket from a broken or hostile page, fuzzed with hypothesis: frames
of every length (empty, half a sample, too long), audio faster than real time, text frames.

The properties, against a small model: no exception leaves the reader; every good frame
reaches the call unchanged and in order (nothing is lost); every bad frame is answered with one
clear error message; the 50th bad frame closes the socket with 1003, and nothing is read after.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMessage, WSMsgType
from hypothesis import event, given
from hypothesis import strategies as st

from bot.channels.browser_call import BAD_AUDIO, MAX_BAD_FRAMES, BrowserLine
from bot.channels.call_audio import BYTES_PER_S, MAX_BURST_S, MAX_FRAME_BYTES
from tests.helpers.fuzz import fuzz_settings
from tests.helpers.voice_fakes import ManualClock

FUZZ = fuzz_settings(max_examples=120)
BUDGET_BYTES = MAX_BURST_S * BYTES_PER_S + 1  # what may arrive at once, when the call starts


class FakeSocket:
    """The page's audio socket: what the page sends, what the gateway answers."""

    def __init__(self, messages: list[WSMessage]) -> None:
        self._messages = list(messages)
        self.closed = False
        self.close_code: int | None = None
        self.sent: list[dict[str, Any]] = []

    def __aiter__(self) -> FakeSocket:
        return self

    async def __anext__(self) -> WSMessage:
        if self.closed or not self._messages:  # a closed aiohttp socket ends its iteration
            raise StopAsyncIteration
        return self._messages.pop(0)

    async def send_json(self, data: dict[str, Any]) -> None:
        assert not self.closed, "sent after close"
        self.sent.append(data)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed, self.close_code = True, code
        return True


def binary(pcm: bytes) -> WSMessage:
    return WSMessage(WSMsgType.BINARY, pcm, None)


good = st.integers(1, MAX_FRAME_BYTES // 2).flatmap(
    lambda samples: st.binary(min_size=2 * samples, max_size=2 * samples)
)
twenty_ms = st.binary(min_size=640, max_size=640)
bad = st.one_of(
    st.just(b""),
    st.integers(0, 400).map(lambda n: b"\x01" * (2 * n + 1)),  # half a sample
    st.integers(MAX_FRAME_BYTES + 1, MAX_FRAME_BYTES + 600).map(lambda n: b"\x02" * n),
)
frames = st.one_of(
    st.one_of(good, twenty_ms, bad).map(lambda pcm: [binary(pcm)]),
    st.lists(twenty_ms, max_size=20).map(lambda pcms: [binary(p) for p in pcms]),
    st.lists(bad, min_size=10, max_size=30).map(lambda pcms: [binary(p) for p in pcms]),
    st.text(max_size=40).map(lambda text: [WSMessage(WSMsgType.TEXT, text, None)]),
)
pages = st.lists(frames, max_size=12).map(lambda parts: [m for part in parts for m in part])


@dataclass
class Expected:
    heard: list[bytes] = field(default_factory=list)
    errors: int = 0
    closed: bool = False


def model(messages: list[WSMessage]) -> Expected:
    """Good frames are heard while they fit the real-time budget (the clock stands still);
    every other binary frame is an error; text frames are not audio and are passed over."""
    expected, received = Expected(), 0
    for message in messages:
        if expected.closed:
            break
        if message.type != WSMsgType.BINARY:
            continue
        pcm = message.data
        fits = received + len(pcm) <= BUDGET_BYTES
        if pcm and len(pcm) % 2 == 0 and len(pcm) <= MAX_FRAME_BYTES and fits:
            expected.heard.append(pcm)
            received += len(pcm)
        else:
            expected.errors += 1
            expected.closed = expected.errors >= MAX_BAD_FRAMES
    return expected


async def heard_by_the_call(messages: list[WSMessage]) -> tuple[list[bytes], FakeSocket]:
    socket = FakeSocket(messages)
    line = BrowserLine(socket, ManualClock(10.0), "fuzz")  # type: ignore[arg-type]

    async def read() -> list[bytes]:
        return [pcm async for pcm in line.caller_audio()]

    return await asyncio.wait_for(read(), 10), socket  # no exception, no hang


@FUZZ
@given(messages=pages)
def test_good_frames_are_heard_in_order_and_each_bad_one_gets_a_clear_error(
    messages: list[WSMessage],
):
    expected = model(messages)
    event("closed after 50 bad frames" if expected.closed else "open")

    heard, socket = asyncio.run(heard_by_the_call(messages))

    assert heard == expected.heard
    assert socket.sent == [{"type": "error", "text": BAD_AUDIO}] * expected.errors
    assert socket.closed == expected.closed
    assert socket.close_code == (1003 if expected.closed else None)


def test_the_model_knows_a_flood_and_a_broken_page():
    """The model above is itself checked on plain cases."""
    assert model([binary(bytes(640))] * 3) == Expected(heard=[bytes(640)] * 3)
    flood = model([binary(bytes(8000))] * 10)  # 5 s of audio at once: 2 s pass
    assert len(flood.heard) == 8 and flood.errors == 2
    assert model([binary(b"x")] * 60) == Expected(errors=MAX_BAD_FRAMES, closed=True)
