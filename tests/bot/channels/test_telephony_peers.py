"""The telephony test peers themselves: signatures, G.711, AudioSocket framing, real-time play.

`tests/helpers/telephony/` stands in for Twilio and Asterisk in the phone-call tests, so
its own behaviour is checked here against small servers written from the protocol documents.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.helpers.telephony.audiosocket_peer import AudioSocketPeer
from tests.helpers.telephony.codecs import slin8k_from_16k, ulaw_decode, ulaw_encode_16k
from tests.helpers.telephony.twilio_peer import TwilioPeer
from tests.helpers.telephony.wire import (
    AUDIOSOCKET_AUDIO,
    AUDIOSOCKET_DTMF,
    AUDIOSOCKET_ERROR,
    AUDIOSOCKET_HANGUP,
    AUDIOSOCKET_UUID,
    TWILIO_VOICE_PATH,
    audiosocket_message,
    parse_audiosocket,
    parse_connect_stream,
    twilio_signature,
)

TOKEN = "test-auth-token"
STREAM_PATH = "/telephony/twilio/stream"
TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Connect>'
    f'<Stream url="wss://voice.example.com{STREAM_PATH}">'
    '<Parameter name="call" value="abc"/><Parameter name="lang" value="es"/>'
    "</Stream></Connect></Response>"
)
CALL_UUID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


def tone(seconds: float, rate: int, frequency: float = 1_000.0, level: int = 8_000) -> bytes:
    """A sine wave as 16-bit PCM."""
    t = np.arange(round(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * frequency * t)).astype("<i2").tobytes()


def samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm, "<i2").astype(np.float64)


# --- Twilio request signature ---------------------------------------------------------------

# Twilio's example request: token "12345", this URL and these parameters. The +14158675309
# vector is the one twilio/twilio-python pins in tests/unit/test_request_validator.py; the other
# two are the docs' example with the numbers it has shown over the years (quoted by other
# projects: the stored copy of the docs page did not include the example itself).
EXAMPLE_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"


def example_params(caller: str) -> dict[str, str]:
    return {
        "CallSid": "CA1234567890ABCDE",
        "Caller": caller,
        "Digits": "1234",
        "From": caller,
        "To": "+18005551212",
    }


@pytest.mark.parametrize(
    ("caller", "expected"),
    [
        ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        ("+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="),
        ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
    ],
)
def test_signature_matches_twilios_published_examples(caller: str, expected: str) -> None:
    assert twilio_signature("12345", EXAMPLE_URL, example_params(caller)) == expected


def test_signature_sorts_parameters_and_covers_url_values_and_token() -> None:
    params = example_params("+14158675309")
    signature = twilio_signature("12345", EXAMPLE_URL, params)
    assert twilio_signature("12345", EXAMPLE_URL, dict(reversed(params.items()))) == signature
    assert twilio_signature("12345", EXAMPLE_URL, {**params, "Digits": "9"}) != signature
    assert twilio_signature("12345", EXAMPLE_URL + "&x=3", params) != signature
    assert twilio_signature("54321", EXAMPLE_URL, params) != signature


# --- G.711 mulaw and the 16 kHz to 8 kHz conversion -----------------------------------------


def test_ulaw_decode_gives_the_g711_table_ends() -> None:
    # 0xFF and 0x7F are +0 and -0; 0x80 and 0x00 the largest magnitudes, 8031 * 4 = 32124
    assert samples(ulaw_decode(bytes([0xFF, 0x7F, 0x80, 0x00]))).tolist() == [
        0,
        0,
        32124,
        -32124,
    ]


def test_ulaw_round_trip_stays_within_g711_quantisation() -> None:
    # mulaw keeps 4 mantissa bits: the step is at most 1/16 of the level, 8 near zero
    levels = np.concatenate([np.arange(-32000, 32001, 97), [-1, 0, 1, 7, 100, 1000]])
    for level in levels:
        pcm16k = np.full(400, level, "<i2").tobytes()  # steady: the low-pass passes DC as is
        decoded = samples(ulaw_decode(ulaw_encode_16k(pcm16k)))[50:150]
        assert np.abs(decoded - level).max() <= abs(level) / 16 + 8, level


def test_a_tone_survives_the_telephone_line() -> None:
    ulaw = ulaw_encode_16k(tone(0.5, 16_000))
    assert len(ulaw) == 4_000  # 0.5 s at 8 kHz, one byte a sample
    got = samples(ulaw_decode(ulaw))[200:-200]
    want = samples(tone(0.5, 8_000))[200:-200]
    noise = np.sqrt(np.mean((got - want) ** 2))
    assert 20 * np.log10(np.sqrt(np.mean(want**2)) / noise) > 30  # mulaw gives ~38 dB


def test_sound_above_4_khz_is_filtered_out_not_folded_down() -> None:
    # sampled at 8 kHz without a low-pass, 6 kHz would come back as a loud 2 kHz
    got = samples(slin8k_from_16k(tone(0.5, 16_000, frequency=6_000)))[100:-100]
    assert np.sqrt(np.mean(got**2)) < 8_000 / np.sqrt(2) / 30  # more than 29 dB down


def test_conversion_needs_whole_samples() -> None:
    assert slin8k_from_16k(b"") == b""
    assert len(slin8k_from_16k(bytes(640))) == 320
    with pytest.raises(ValueError):
        ulaw_encode_16k(bytes(641))


# --- AudioSocket framing --------------------------------------------------------------------


def test_audiosocket_messages_are_kind_big_endian_length_payload() -> None:
    assert audiosocket_message(AUDIOSOCKET_HANGUP) == b"\x00\x00\x00"
    assert audiosocket_message(AUDIOSOCKET_DTMF, b"7") == b"\x03\x00\x017"
    call = uuid.UUID(CALL_UUID)
    assert audiosocket_message(AUDIOSOCKET_UUID, call.bytes) == b"\x01\x00\x10" + call.bytes
    audio = audiosocket_message(AUDIOSOCKET_AUDIO, bytes(320))
    assert audio[:3] == b"\x10\x01\x40" and len(audio) == 323
    with pytest.raises(ValueError):
        audiosocket_message(AUDIOSOCKET_AUDIO, bytes(65536))
    with pytest.raises(ValueError):
        audiosocket_message(256)


def test_audiosocket_stream_parses_back_whole_or_byte_by_byte() -> None:
    sent = [
        (AUDIOSOCKET_UUID, uuid.UUID(CALL_UUID).bytes),
        (AUDIOSOCKET_AUDIO, bytes(range(256)) + bytes(64)),
        (AUDIOSOCKET_DTMF, b"#"),
        (AUDIOSOCKET_ERROR, b"\x02"),
        (AUDIOSOCKET_HANGUP, b""),
    ]
    stream = b"".join(audiosocket_message(kind, payload) for kind, payload in sent)
    assert parse_audiosocket(stream) == (sent, b"")

    got: list[tuple[int, bytes]] = []
    rest = b""
    for byte in stream:
        messages, rest = parse_audiosocket(rest + bytes([byte]))
        got.extend(messages)
    assert got == sent and rest == b""

    messages, rest = parse_audiosocket(stream[:-1])  # the hangup's last header byte missing
    assert messages == sent[:-1] and rest == b"\x00\x00"
    messages, rest = parse_audiosocket(stream[:25])  # inside the audio payload
    assert messages == sent[:1] and rest == stream[19:25]


# --- the TwiML the webhook must answer ------------------------------------------------------


def test_connect_stream_twiml_gives_url_and_parameters() -> None:
    url, parameters = parse_connect_stream(TWIML)
    assert url == f"wss://voice.example.com{STREAM_PATH}"
    assert parameters == {"call": "abc", "lang": "es"}


@pytest.mark.parametrize(
    "twiml",
    [
        "not xml",
        "<Say>hola</Say>",
        "<Response><Say>hola</Say></Response>",
        '<Response><Start><Stream url="wss://a.example/s"/></Start></Response>',
        '<Response><Say>hola</Say><Connect><Stream url="wss://a.example/s"/></Connect></Response>',
        "<Response><Connect><Stream/></Connect></Response>",
        '<Response><Connect><Stream url="https://a.example/s"/></Connect></Response>',
        '<Response><Connect><Stream url="/relative"/></Connect></Response>',
        '<Response><Connect><Stream url="wss://a.example/s?call=1"/></Connect></Response>',
        '<Response><Connect><Stream url="wss://a.example/s"><Parameter name="a"/>'
        "</Stream></Connect></Response>",
        '<Response><Connect><Stream url="wss://a.example/s"><Parameter name="a" value="1"/>'
        '<Parameter name="a" value="2"/></Stream></Connect></Response>',
    ],
)
def test_other_twiml_is_refused(twiml: str) -> None:
    with pytest.raises(AssertionError):
        parse_connect_stream(twiml)


# --- TwilioPeer against a tiny gateway ------------------------------------------------------

Script = Callable[[web.WebSocketResponse], Awaitable[None]]


async def twilio_gateway(script: Script, webhooks: list[dict[str, str]]) -> TestServer:
    """A gateway that checks the signature, answers TWIML and runs `script` on the stream."""

    async def voice(request: web.Request) -> web.Response:
        form = await request.post()
        params = {name: str(value) for name, value in form.items()}
        # built by hand: request.url fails on "host:port" with this aiohttp and yarl
        url = f"{request.scheme}://{request.host}{request.path_qs}"
        if request.headers.get("X-Twilio-Signature") != twilio_signature(TOKEN, url, params):
            return web.Response(status=403, text="bad signature")
        webhooks.append(params)
        return web.Response(text=TWIML, content_type="text/xml")

    async def stream(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await script(socket)
        return socket

    app = web.Application()
    app.router.add_post(TWILIO_VOICE_PATH, voice)
    app.router.add_get(STREAM_PATH, stream)
    server = TestServer(app)
    await server.start_server()
    return server


async def receive_json(socket: web.WebSocketResponse) -> dict[str, Any]:
    message = await socket.receive(timeout=2)
    return json.loads(message.data)


def media(sid: str, pcm16k: bytes) -> dict[str, Any]:
    payload = base64.b64encode(ulaw_encode_16k(pcm16k)).decode()
    return {"event": "media", "streamSid": sid, "media": {"payload": payload}}


async def until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), timeout)


def test_a_twilio_call_from_webhook_to_stop() -> None:
    """Signed webhook, connected/start, paced media, dtmf, marks echoed after play, clear, stop."""
    webhooks: list[dict[str, str]] = []
    seen: dict[str, Any] = {"messages": []}

    async def script(socket: web.WebSocketResponse) -> None:
        seen["connected"] = await receive_json(socket)
        seen["start"] = start = await receive_json(socket)
        sid = start["streamSid"]
        seen["sent_at"] = time.monotonic()
        for name in ("one", "two"):  # 0.3 s of audio, then a mark, twice
            await socket.send_json(media(sid, tone(0.3, 16_000)))
            await socket.send_json({"event": "mark", "streamSid": sid, "mark": {"name": name}})
        async for message in socket:
            data = json.loads(message.data)
            seen["messages"].append((time.monotonic(), data))
            if data["event"] == "mark" and data["mark"]["name"] == "one":
                await socket.send_json({"event": "clear", "streamSid": sid})

    async def call() -> TwilioPeer:
        server = await twilio_gateway(script, webhooks)
        base_url = str(server.make_url(""))
        try:
            async with TwilioPeer(
                base_url, auth_token=TOKEN, rewrite_stream_host=True, continuous=False
            ) as peer:
                await peer.dial()
                assert peer.connect_url == base_url.replace("http", "ws") + STREAM_PATH
                await peer.connect()
                await peer.speak(tone(0.1, 16_000))
                await peer.press("1#")
                await until(lambda: len(peer.marks_sent_back) == 2)
                seen["heard"] = peer.heard_seconds()
                await peer.hang_up()
                return peer
        finally:
            await server.close()

    peer = asyncio.run(call())
    assert peer.violations == []

    # the webhook and the stream's opening messages
    (webhook,) = webhooks
    assert webhook["CallStatus"] == "ringing" and webhook["Direction"] == "inbound"
    assert webhook["From"] == "+34600111222" and webhook["To"] == "+34910000000"
    assert webhook["ApiVersion"] == "2010-04-01"
    assert re.fullmatch(r"CA[0-9a-f]{32}", webhook["CallSid"])
    assert seen["connected"] == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    start = seen["start"]
    assert start["event"] == "start" and start["sequenceNumber"] == "1"
    assert re.fullmatch(r"MZ[0-9a-f]{32}", start["streamSid"])
    assert start["start"] == {
        "accountSid": webhook["AccountSid"],
        "streamSid": start["streamSid"],
        "callSid": webhook["CallSid"],
        "tracks": ["inbound"],
        "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        "customParameters": {"call": "abc", "lang": "es"},
    }

    # everything after start: one counter, in wire order, all on our stream
    messages = seen["messages"]
    assert [data["sequenceNumber"] for _, data in messages] == [
        str(n) for n in range(2, 2 + len(messages))
    ]
    assert all(data["streamSid"] == start["streamSid"] for _, data in messages)
    by_event: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for arrival, data in messages:
        by_event.setdefault(data["event"], []).append((arrival, data))
    assert sorted(by_event) == ["dtmf", "mark", "media", "stop"]

    # 0.1 s of speech: five 20 ms frames of mulaw, paced, numbered and timestamped
    frames = by_event["media"]
    assert [data["media"]["chunk"] for _, data in frames] == ["1", "2", "3", "4", "5"]
    assert all(data["media"]["track"] == "inbound" for _, data in frames)
    assert all(len(base64.b64decode(data["media"]["payload"])) == 160 for _, data in frames)
    stamps = [int(data["media"]["timestamp"]) for _, data in frames]
    assert all(
        19 <= later - earlier <= 21 for earlier, later in zip(stamps, stamps[1:], strict=False)
    )
    assert 0.06 <= frames[-1][0] - frames[0][0] < 0.2  # sent in real time, not in a burst

    assert [data["dtmf"] for _, data in by_event["dtmf"]] == [
        {"track": "inbound_track", "digit": "1"},
        {"track": "inbound_track", "digit": "#"},
    ]

    # mark "one" comes back when its 0.3 s have played; the clear sends "two" back at once
    (one_at, one), (two_at, two) = by_event["mark"]
    assert (one["mark"], two["mark"]) == ({"name": "one"}, {"name": "two"})
    assert 0.28 <= one_at - seen["sent_at"] < 0.45
    (cleared_at,) = peer.clears
    assert two_at - cleared_at < 0.05 and two_at - seen["sent_at"] < 0.5
    assert [name for _, name in peer.marks] == ["one", "two"]
    assert [name for _, name in peer.marks_sent_back] == ["one", "two"]
    assert 0.28 <= seen["heard"] <= 0.45  # the first 0.3 s, and hardly any of the cleared rest
    assert peer.audio_bytes == 4_800 * 2  # 0.6 s received as 8 kHz 16-bit

    # the caller hangs up last: stop with the call's identifiers
    (_, stop), *_ = by_event["stop"]
    assert messages[-1][1] == stop
    assert stop["stop"] == {"accountSid": webhook["AccountSid"], "callSid": webhook["CallSid"]}
    assert not peer.closed and peer.ended_reason == "caller hung up"


def test_twilio_peer_records_what_twilio_would_not_accept() -> None:
    async def script(socket: web.WebSocketResponse) -> None:
        await receive_json(socket)
        sid = (await receive_json(socket))["streamSid"]
        await socket.send_bytes(b"\x00\x01")
        await socket.send_str("not json")
        await socket.send_json({"event": "play", "streamSid": sid})
        await socket.send_json(media("MZ" + "0" * 32, tone(0.02, 16_000)))
        await socket.send_json({"event": "media", "streamSid": sid, "media": {"payload": "@@"}})
        await socket.send_json({"event": "media", "streamSid": sid, "media": {}})
        await socket.send_json({"event": "mark", "streamSid": sid, "mark": {"name": 5}})
        await socket.send_json(media(sid, tone(0.1, 16_000)))
        await socket.close(code=4000)

    async def call() -> TwilioPeer:
        server = await twilio_gateway(script, [])
        try:
            async with TwilioPeer(
                str(server.make_url("")), auth_token=TOKEN, rewrite_stream_host=True
            ) as peer:
                await peer.dial()
                await peer.connect()
                await peer.wait_ended(2)
                return peer
        finally:
            await server.close()

    peer = asyncio.run(call())
    assert peer.closed and peer.close_code == 4000
    assert len(peer.violations) == 7, peer.violations
    for violation, words in zip(
        peer.violations,
        ["binary", "not JSON", "'play'", "not ours", "base64", "payload", "name"],
        strict=True,
    ):
        assert words in violation
    assert peer.audio_bytes == 1_600  # only the valid 0.1 s
    assert peer.heard_seconds() < 0.1  # the call ended while it played


def test_twilio_peer_streams_line_silence_between_utterances() -> None:
    received: list[dict[str, Any]] = []

    async def script(socket: web.WebSocketResponse) -> None:
        async for message in socket:
            received.append(json.loads(message.data))

    async def call() -> None:
        server = await twilio_gateway(script, [])
        try:
            async with TwilioPeer(
                str(server.make_url("")), auth_token=TOKEN, rewrite_stream_host=True
            ) as peer:
                await peer.dial()
                await peer.connect()
                await asyncio.sleep(0.15)
                await peer.hang_up()
        finally:
            await server.close()

    asyncio.run(call())
    frames = [data["media"] for data in received if data["event"] == "media"]
    assert 4 <= len(frames) <= 10
    assert all(base64.b64decode(frame["payload"]) == b"\xff" * 160 for frame in frames)
    assert received[-1]["event"] == "stop"


def test_a_wrong_auth_token_fails_the_dial() -> None:
    async def call() -> None:
        server = await twilio_gateway(lambda socket: asyncio.sleep(0), [])
        try:
            async with TwilioPeer(str(server.make_url("")), auth_token="not-the-token") as peer:
                with pytest.raises(AssertionError, match="403"):
                    await peer.dial()
        finally:
            await server.close()

    asyncio.run(call())


# --- AudioSocketPeer against a tiny server --------------------------------------------------

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, list[Any]], Awaitable[None]]


async def read_messages(reader: asyncio.StreamReader, got: list[Any]) -> None:
    """Record (arrival, kind, payload) until the peer closes."""
    buffer = b""
    while chunk := await reader.read(4096):
        messages, buffer = parse_audiosocket(buffer + chunk)
        got.extend((time.monotonic(), kind, payload) for kind, payload in messages)


async def audiosocket_call(
    handler: Handler, caller: Callable[[AudioSocketPeer], Awaitable[None]]
) -> tuple[AudioSocketPeer, list[Any]]:
    got: list[Any] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.readexactly(19))
        await handler(reader, writer, got)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AudioSocketPeer(CALL_UUID, continuous=False) as peer:
            await peer.connect("127.0.0.1", port)
            await caller(peer)
    finally:
        server.close()
        await server.wait_closed()
    return peer, got


def test_an_audiosocket_call_until_the_server_hangs_up() -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[Any]
    ) -> None:
        pcm = slin8k_from_16k(tone(0.2, 16_000))
        writer.write(
            b"".join(audiosocket_message(0x10, pcm[i : i + 320]) for i in range(0, 3200, 320))
        )
        await writer.drain()
        buffer = b""
        while chunk := await reader.read(4096):
            messages, buffer = parse_audiosocket(buffer + chunk)
            for kind, payload in messages:
                got.append((time.monotonic(), kind, payload))
                if (kind, payload) == (AUDIOSOCKET_DTMF, b"#"):
                    writer.write(audiosocket_message(AUDIOSOCKET_HANGUP))

    async def caller(peer: AudioSocketPeer) -> None:
        await peer.speak(tone(0.1, 16_000))
        await peer.press("5#")
        assert await peer.wait_ended(2) == "server sent hangup"

    peer, got = asyncio.run(audiosocket_call(handler, caller))
    assert got[0] == b"\x01\x00\x10" + uuid.UUID(CALL_UUID).bytes
    audio = [(at, payload) for at, kind, payload in got[1:] if kind == AUDIOSOCKET_AUDIO]
    assert [len(payload) for _, payload in audio] == [320] * 5
    assert 0.06 <= audio[-1][0] - audio[0][0] < 0.2
    assert [payload for _, kind, payload in got[1:] if kind == AUDIOSOCKET_DTMF] == [b"5", b"#"]
    assert peer.hangup_received and not peer.closed and peer.violations == []
    assert peer.audio_bytes == 3200 and 0.19 <= peer.max_backlog_s <= 0.21
    assert 0.09 <= peer.heard_seconds() <= 0.2  # playing stopped when the call ended


@pytest.mark.parametrize("send_hangup_message", [True, False])
def test_the_caller_hangs_up_with_or_without_the_hangup_message(send_hangup_message: bool) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[Any]
    ) -> None:
        await read_messages(reader, got)

    async def caller(peer: AudioSocketPeer) -> None:
        await peer.silence(0.04)
        await peer.hang_up(send_hangup_message=send_hangup_message)

    _, got = asyncio.run(audiosocket_call(handler, caller))
    kinds = [(kind, payload) for _, kind, payload in got[1:]]
    assert kinds[:2] == [(AUDIOSOCKET_AUDIO, bytes(320))] * 2
    assert kinds[2:] == ([(AUDIOSOCKET_HANGUP, b"")] if send_hangup_message else [])


@pytest.mark.parametrize(
    ("sent", "what"),
    [
        (audiosocket_message(AUDIOSOCKET_ERROR, b"\x02"), "error"),
        (audiosocket_message(0x05, b"xy"), "kind 0x05"),
        (audiosocket_message(AUDIOSOCKET_AUDIO), "length 0"),
        (audiosocket_message(AUDIOSOCKET_HANGUP, b"\x01"), "payload"),
    ],
)
def test_messages_asterisk_would_reject_end_the_call(sent: bytes, what: str) -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[Any]
    ) -> None:
        writer.write(sent)
        await read_messages(reader, got)

    async def caller(peer: AudioSocketPeer) -> None:
        await peer.wait_ended(2)

    peer, _ = asyncio.run(audiosocket_call(handler, caller))
    assert peer.ended_reason is not None and not peer.closed
    if what == "error":
        assert [payload for _, payload in peer.errors] == [b"\x02"] and peer.violations == []
    else:
        assert len(peer.violations) == 1 and what in peer.violations[0]


def test_a_closed_connection_and_a_torn_message_are_noticed() -> None:
    async def handler(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, got: list[Any]
    ) -> None:
        writer.write(audiosocket_message(AUDIOSOCKET_AUDIO, bytes(320))[:100])

    async def caller(peer: AudioSocketPeer) -> None:
        await peer.send_raw(b"\x10\x00")  # half a header: the server must cope
        await peer.wait_ended(2)

    peer, _ = asyncio.run(audiosocket_call(handler, caller))
    assert peer.closed and peer.ended_reason == "server closed the connection"
    assert len(peer.violations) == 1 and "inside a message" in peer.violations[0]
