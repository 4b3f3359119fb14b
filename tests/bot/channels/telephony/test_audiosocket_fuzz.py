"""AudioSocket from a hostile or broken PBX, fuzzed with hypothesis: every kind byte, wrong
lengths, truncated headers and payloads, garbage between messages.

The properties, against a small model of the protocol: no exception leaves the reader; a
message that breaks the protocol is answered with `0xff 0x0001 0x01` and `0x00`, then the
connection closes; a clean end (hang-up, error, end of stream, even mid-message) sends nothing;
and nothing the caller sent before is lost: every good audio frame reaches the call, in order,
and every keypad entry finished with `#` reaches it too.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from bot.channels.telephony.audiosocket import (
    APPLICATION_ERROR,
    AUDIO,
    DTMF,
    ERROR,
    HANGUP,
    UUID,
    AudioSocketLine,
    message,
    serve_connection,
)
from bot.edge.context import Gateway
from bot.settings import PROJECT_ROOT
from tests.helpers.fuzz import fuzz_settings
from tests.helpers.gateway_fakes import FakeAssistant, make_gateway
from tests.helpers.telephony.audiosocket_fuzz import Expected, kinds, model, streams, wire
from tests.helpers.voice_fakes import ManualClock

FUZZ = fuzz_settings(max_examples=150)
BROKEN_ANSWER = message(ERROR, APPLICATION_ERROR) + message(HANGUP)
# a first frame of a single sample leaves one sample in the resampler (no PBX sends such
# frames; Asterisk's are 160 samples): at most that may be missing at the end
RESAMPLER_DELAY_BYTES = 4
NO_MODEL = PROJECT_ROOT / "models" / "missing"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway without a speech model: a call that gets past its UUID goes straight back to
    the dialplan, so the start of a connection is fuzzed without running a voice pipeline."""
    folder: Path = tmp_path_factory.mktemp("audiosocket-fuzz")
    built = make_gateway(folder / "gw.db", FakeAssistant())
    assert built.voice.whisper_model == NO_MODEL or not built.voice.whisper_model.exists()
    yield built
    built.store.close()


class FakeWriter:
    """What serve_connection and the line write to Asterisk."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.written += data

    async def drain(self) -> None:
        return None

    def is_closing(self) -> bool:
        return self.closed

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        """After a protocol error: the peer is told nothing more comes, then has its say."""

    def close(self) -> None:
        self.closed = True


@dataclass
class Heard:
    """The call's side: keypad entries it was handed."""

    entries: list[str] = field(default_factory=list)

    async def keypad(self, digits: str) -> None:
        self.entries.append(digits)


async def read_all(gateway: Gateway, data: bytes) -> tuple[AudioSocketLine, FakeWriter, Heard]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    writer = FakeWriter()
    clock = ManualClock(0.0)
    call_uuid = str(uuid.uuid4())
    line = AudioSocketLine(reader, writer, clock, gateway, call_uuid)  # type: ignore[arg-type]
    clock.advance(3600.0)  # pace is tested elsewhere (test_call_safety): only the protocol here
    heard = Heard()
    line.call = heard
    line.conversation_id = "fuzz"
    await asyncio.wait_for(line.read(), 10)  # no exception, no hang
    return line, writer, heard


def received_frames(line: AudioSocketLine) -> tuple[list[int], bool]:
    """The 16 kHz frames the call gets, and whether the end-of-call mark follows them."""
    frames: list[int] = []
    incoming = line._incoming
    ended = False
    while not incoming.empty():
        item = incoming.get_nowait()
        if item is None:
            ended = True
            assert incoming.empty(), "audio after the end of the call"
            break
        frames.append(len(item))
    return frames, ended


@FUZZ
@given(stream=streams, cut=st.one_of(st.none(), st.integers(0, 40)), noise=st.binary(max_size=6))
def test_any_message_stream_is_read_to_a_clean_end_or_a_clear_error(
    gateway: Gateway, stream: list[tuple[int, bytes]], cut: int | None, noise: bytes
):
    data = wire(stream) + noise
    if cut is not None:
        data = data[: max(0, len(data) - cut)]  # the connection breaks anywhere, even mid-header
    expected = model(data)
    event("broken" if expected.broken else "clean end")

    line, writer, heard = asyncio.run(read_all(gateway, data))

    frames, ended = received_frames(line)
    assert ended, "the call was not told that the line ended"
    assert len(frames) == len(expected.frames)  # one piece of audio for each good frame
    # 8 kHz in, the same time at 16 kHz out
    assert 0 <= 2 * sum(expected.frames) - sum(frames) <= RESAMPLER_DELAY_BYTES
    assert heard.entries == expected.entries
    assert line.broken == expected.broken
    assert line.caller_gone == expected.clean_end
    if expected.broken:
        assert bytes(writer.written) == BROKEN_ANSWER and writer.closed
    else:
        assert writer.written == b"" and not writer.closed


@FUZZ
@given(
    first=st.one_of(
        st.binary(max_size=30),
        st.tuples(kinds, st.binary(max_size=20)).map(lambda m: message(*m)),
        st.binary(min_size=16, max_size=16).map(lambda b: message(UUID, b)),
    ),
    rest=st.binary(max_size=30),
)
def test_any_first_message_gets_a_clear_answer_and_the_connection_closes(
    gateway: Gateway, first: bytes, rest: bytes
):
    async def scenario() -> FakeWriter:
        reader = asyncio.StreamReader()
        reader.feed_data(first + rest)
        reader.feed_eof()
        writer = FakeWriter()
        await asyncio.wait_for(serve_connection(gateway, reader, writer), 10)  # type: ignore[arg-type]
        return writer

    writer = asyncio.run(scenario())

    starts_with_uuid = first[:3] == bytes([UUID, 0, 16]) and len(first) >= 19
    # a call's UUID: no speech model here, so straight back to the dialplan (a person)
    assert bytes(writer.written) == (message(HANGUP) if starts_with_uuid else BROKEN_ANSWER)
    assert writer.closed
    assert not gateway.calls


def test_the_model_knows_a_clean_call_and_a_broken_one():
    """The model above is itself checked on two plain cases."""
    good = wire([(AUDIO, bytes(320)), (DTMF, b"4"), (DTMF, b"2"), (DTMF, b"#"), (HANGUP, b"")])
    assert model(good) == Expected(frames=[320], entries=["42"], clean_end=True)
    assert model(wire([(AUDIO, bytes(321))])).broken
    assert model(good[:-2]).clean_end  # cut inside the hang-up's header
