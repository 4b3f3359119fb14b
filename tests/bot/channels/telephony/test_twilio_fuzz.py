"""Twilio Media Streams from a hostile or broken peer, fuzzed with hypothesis: `media`, `dtmf`,
`mark`, `stop`, `start` and `connected` with any JSON, wrong base64, frames of wrong sizes,
binary frames, text that is no JSON.

The properties, against a small model of the protocol: no exception leaves the stream's
reader; a message that breaks the protocol closes the stream with 1007 and a reason a WebSocket
can carry (at most 123 bytes); `stop` or the end of the socket is a clean end; and nothing the
caller sent before is lost: every good audio frame reaches the call, in order, and every keypad
entry finished with `#` too. Before `start`, whatever arrives, the stream closes with a clear
code (1007 malformed, 4401 unknown call) and never with a server error.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMessage, WSMsgType
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.channels.telephony.keypad import KEYS, MAX_DIGITS
from bot.channels.telephony.phone_line import MAX_PHONE_FRAME_BYTES, PhoneLine
from bot.channels.telephony.twilio import INVALID, STREAM_PATH, UNAUTHORIZED, TwilioLine
from bot.settings import TelephonySettings
from tests.helpers.fuzz import fuzz_settings
from tests.helpers.gateway_fakes import FakeAssistant, make_gateway
from tests.helpers.threaded_app import ServedApp, served_in_a_thread
from tests.helpers.voice_fakes import ManualClock

FUZZ = fuzz_settings(max_examples=150)
# a first frame of a single sample leaves one sample in the resampler (no line sends such
# frames; Twilio's are 160 samples): at most that may be missing at the end
RESAMPLER_DELAY_BYTES = 4
MAX_CLOSE_REASON_BYTES = 123  # RFC 6455: a close frame's payload is at most 125 bytes
EVENTS = ["media", "dtmf", "mark", "stop", "start", "connected", "clear", "MEDIA", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


ulaw_frames = st.integers(1, MAX_PHONE_FRAME_BYTES // 2 + 20).flatmap(
    lambda n: st.binary(min_size=n, max_size=n)
)  # one byte a sample: up to the largest frame allowed and a little over
payloads = st.one_of(
    ulaw_frames.map(b64),
    st.sampled_from(["", "%%%", "no es base64!", "QUJD=", "====", "QUJD\n", "ñ"]),
    json_values,
)
media = st.fixed_dictionaries(
    {"event": st.just("media"), "media": st.fixed_dictionaries({"payload": payloads})},
    optional={"streamSid": st.text(max_size=10), "sequenceNumber": st.text(max_size=4)},
)
media_with_track = st.builds(
    lambda ulaw, track: {"event": "media", "media": {"payload": ulaw, "track": track}},
    ulaw_frames.map(b64),
    st.sampled_from(["inbound", "outbound", "both", None, 7]),
)
# close reasons must stay short all the same, and far-end text in them must stay readable
long_text = st.text(st.characters(min_codepoint=0x80), min_size=30, max_size=80)
keys = st.one_of(
    st.sampled_from(sorted(KEYS)), st.text(max_size=3), long_text, st.integers(0, 12), json_values
)
dtmf = st.builds(lambda key: {"event": "dtmf", "dtmf": {"digit": key}}, keys)
entry = st.text(alphabet="0123456789*#", min_size=1, max_size=6).map(
    lambda typed: [{"event": "dtmf", "dtmf": {"digit": key}} for key in typed]
)
any_event = st.builds(
    lambda event, body: {"event": event, **body},
    st.one_of(st.sampled_from(EVENTS), json_values, long_text),
    st.dictionaries(st.sampled_from(["media", "dtmf", "mark", "start", "stop"]), json_values),
)
mark = st.builds(lambda name: {"event": "mark", "mark": {"name": name}}, json_values)
as_text = st.builds(json.dumps)


def text(message: Any) -> WSMessage:
    return WSMessage(WSMsgType.TEXT, json.dumps(message), None)


inbound_audio = ulaw_frames.map(
    lambda ulaw: {"event": "media", "media": {"track": "inbound", "payload": b64(ulaw)}}
)
anything = st.one_of(
    st.one_of(media, media_with_track, dtmf, mark, any_event).map(text),
    long_text.map(lambda t: text({"event": t})),
    long_text.map(lambda t: text({"event": "dtmf", "dtmf": {"digit": t}})),
    st.text(max_size=30).map(lambda t: WSMessage(WSMsgType.TEXT, t, None)),
    json_values.map(lambda v: WSMessage(WSMsgType.TEXT, json.dumps(v), None)),
    st.binary(max_size=20).map(lambda b: WSMessage(WSMsgType.BINARY, b, None)),
)
# what Twilio sends (audio, keys, marks, a stop), with at most one message of anything at all
# (after which the rest may never be read) put anywhere among it
good_frames = st.one_of(
    st.lists(inbound_audio.map(text), min_size=1, max_size=6),
    entry.map(lambda ms: [text(m) for m in ms]),
    st.sampled_from([{"event": "mark", "mark": {"name": "reply-1"}}, {"event": "stop"}]).map(
        lambda m: [text(m)]
    ),
)


def _stream(parts: list[list[WSMessage]], odd: WSMessage | None, where: int) -> list[WSMessage]:
    messages = [m for part in parts for m in part]
    if odd is not None:
        messages.insert(where % (len(messages) + 1), odd)
    return messages


streams = st.builds(
    _stream, st.lists(good_frames, max_size=8), st.none() | anything, st.integers(0, 50)
)


class FakeSocket:
    """A Media Stream's WebSocket: what Twilio sends, and how the gateway closes it."""

    def __init__(self, messages: list[WSMessage]) -> None:
        self._messages = list(messages)
        self.closed = False
        self.close_code: int | None = None
        self.close_reason = b""
        self.sent: list[str] = []

    def __aiter__(self) -> FakeSocket:
        return self

    async def __anext__(self) -> WSMessage:
        if self.closed or not self._messages:
            raise StopAsyncIteration
        return self._messages.pop(0)

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed, self.close_code, self.close_reason = True, code, message
        return True

    async def send_str(self, data: str) -> None:
        self.sent.append(data)


@dataclass
class Heard:
    entries: list[str] = field(default_factory=list)

    async def keypad(self, digits: str) -> None:
        self.entries.append(digits)


@dataclass
class Expected:
    frames: list[int] = field(default_factory=list)  # μ-law bytes of each good audio frame
    entries: list[str] = field(default_factory=list)
    broken: bool = False


def model(messages: list[WSMessage]) -> Expected:
    """What the protocol says should happen to these messages, after `start`."""
    expected, digits = Expected(), ""
    for frame in messages:
        try:
            message = json.loads(frame.data) if frame.type == WSMsgType.TEXT else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            expected.broken = True
            return expected
        event, body = message.get("event"), message.get(str(message.get("event")))
        if event not in ("media", "dtmf", "mark", "stop"):
            expected.broken = True
            return expected
        if event == "stop":
            return expected
        if not isinstance(body, dict):
            expected.broken = True
            return expected
        if event == "media" and body.get("track", "inbound") == "inbound":
            ulaw = _decoded(body.get("payload"))
            if ulaw is None or not 0 < 2 * len(ulaw) <= MAX_PHONE_FRAME_BYTES:
                expected.broken = True
                return expected
            expected.frames.append(len(ulaw))
        elif event == "dtmf":
            key = str(body.get("digit", ""))
            if key not in KEYS:
                expected.broken = True
                return expected
            if key == "#":
                expected.entries += [digits] if digits else []
                digits = ""
            elif key == "*":
                digits = ""
            elif key.isdigit():
                digits = (digits + key)[:MAX_DIGITS]
    return expected


def _decoded(payload: Any) -> bytes | None:
    if not isinstance(payload, str) or not payload:
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


async def read_all(messages: list[WSMessage]) -> tuple[TwilioLine, FakeSocket, Heard]:
    socket = FakeSocket(messages)
    clock = ManualClock(0.0)
    start = {"callSid": "CA1", "accountSid": "AC1"}
    line = TwilioLine(socket, clock, start, "MZ1", TelephonySettings())  # type: ignore[arg-type]
    clock.advance(3600.0)  # pace is tested elsewhere (test_call_safety): only the protocol here
    heard = Heard()
    line.call, line.conversation_id = heard, "fuzz"
    await asyncio.wait_for(line.read(), 10)  # no exception, no hang
    return line, socket, heard


def received_audio(line: PhoneLine) -> tuple[list[int], bool]:
    """The sizes of the audio pieces the call got, and whether the end-of-call mark follows."""
    sizes: list[int] = []
    while not line._incoming.empty():
        item = line._incoming.get_nowait()
        if item is None:
            assert line._incoming.empty(), "audio after the end of the call"
            return sizes, True
        sizes.append(len(item))
    return sizes, False


@FUZZ
@given(messages=streams)
def test_any_message_stream_ends_cleanly_or_closes_with_a_clear_reason(
    messages: list[WSMessage],
):
    expected = model(messages)
    event("broken" if expected.broken else "clean end")

    line, socket, heard = asyncio.run(read_all(messages))

    received, ended = received_audio(line)
    assert ended, "the call was not told that the stream ended"
    assert len(received) == len(expected.frames)  # one piece of audio for each good frame
    # μ-law at 8 kHz in (a byte a sample), the same time as 16-bit samples at 16 kHz out
    assert 0 <= 4 * sum(expected.frames) - sum(received) <= RESAMPLER_DELAY_BYTES
    assert heard.entries == expected.entries
    if expected.broken:
        assert socket.close_code == INVALID
        assert 0 < len(socket.close_reason) <= MAX_CLOSE_REASON_BYTES
        socket.close_reason.decode("utf-8")  # a close reason is UTF-8 text
    else:
        assert not socket.closed  # `stop`, or Twilio closed it: the call's end closes the rest
    assert socket.sent == []  # nothing to play yet: the reader never writes


def test_the_model_knows_a_clean_stream_and_a_broken_one():
    """The model above is itself checked on plain cases."""
    ulaw = base64.b64encode(bytes(160)).decode()
    good = [text({"event": "media", "media": {"payload": ulaw}})]
    good += [text({"event": "dtmf", "dtmf": {"digit": key}}) for key in "12#"]
    assert model([*good, text({"event": "stop"})]) == Expected(frames=[160], entries=["12"])
    assert model([text({"event": "media", "media": {"payload": "%%%"}})]).broken
    assert model([WSMessage(WSMsgType.BINARY, b"x", None)]).broken


# Before `start`: the stream's handshake through the real route


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    folder: Path = tmp_path_factory.mktemp("twilio-fuzz")
    telephony = TelephonySettings(audiosocket_port=0)
    gateway = make_gateway(folder / "gw.db", FakeAssistant(), telephony=telephony)
    with served_in_a_thread(gateway) as app:
        yield app


parameters = st.one_of(
    json_values,  # no JSON object at all, too (see also the test below)
    st.just({}),
    st.dictionaries(st.text(max_size=12), json_values, max_size=3),
    st.fixed_dictionaries({"conversation": json_values, "token": json_values}),
)
starts = st.builds(
    lambda start, extra: {"event": "start", "start": start, **extra},
    st.one_of(json_values, st.fixed_dictionaries({"customParameters": parameters})),
    st.dictionaries(st.sampled_from(["streamSid", "sequenceNumber"]), json_values, max_size=2),
)
CONNECTED = json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
garbage = st.one_of(
    st.just(CONNECTED),
    any_event.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=20),
    st.binary(max_size=10),
)
openings = st.one_of(
    starts.map(lambda start: [json.dumps(start)]),
    starts.map(lambda start: [CONNECTED, json.dumps(start)]),
    st.lists(garbage, min_size=1, max_size=3),
)


@settings(FUZZ, max_examples=60)
@given(opening=openings)
def test_anything_before_start_is_refused_with_a_clear_close_code(
    served: ServedApp, opening: list[str | bytes]
):
    code, reason = asyncio.run(_refusal(served, opening))

    assert code in (INVALID, UNAUTHORIZED), (code, reason)
    assert len(reason) <= MAX_CLOSE_REASON_BYTES


async def _refusal(served: ServedApp, opening: list[str | bytes]) -> tuple[int | None, bytes]:
    """Opens a stream, sends `opening` and returns how the gateway closed it."""
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(served.url + STREAM_PATH) as stream,
    ):
        if opening == [CONNECTED]:
            opening = [CONNECTED, "fin"]  # else the gateway waits START_TIMEOUT_S for more
        for frame in opening:
            with contextlib.suppress(ConnectionError):  # it may have closed already
                if isinstance(frame, bytes):
                    await stream.send_bytes(frame)
                else:
                    await stream.send_str(frame)
        closing = await stream.receive(timeout=15)
        reason = closing.extra.encode() if isinstance(closing.extra, str) else b""
        return stream.close_code, reason


@pytest.mark.parametrize("parameters", ["abc", [1], 5, True])
def test_a_start_whose_custom_parameters_are_no_object_is_refused_as_malformed(
    served: ServedApp, parameters: Any
):
    start = json.dumps({"event": "start", "start": {"customParameters": parameters}})

    code, _ = asyncio.run(_refusal(served, [start]))

    assert code in (INVALID, UNAUTHORIZED)
