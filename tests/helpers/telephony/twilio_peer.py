"""Twilio's side of a phone call against our gateway.

`TwilioPeer` is Twilio Programmable Voice answering an inbound call with `<Connect><Stream>`:
the signed voice webhook, the TwiML it expects back, then the bidirectional Media Streams
WebSocket (the signature and the TwiML are in tests.helpers.telephony.wire, the real-time
sending and playing in tests.helpers.telephony.peer).

Document followed, message by message:

- Twilio, "Media Streams - WebSocket Messages"
  (https://www.twilio.com/docs/voice/media-streams/websocket-messages): `connected` (no
  sequenceNumber), then `start` with sequenceNumber "1", then one shared counter for every later
  message; `start.accountSid/streamSid/callSid/tracks/customParameters/mediaFormat` and the
  top-level `streamSid`; `media.track/chunk/timestamp/payload`; `dtmf.track` is always
  "inbound_track"; `stop.accountSid/callSid`; the server may send `media` (`media.payload` is
  base64 mulaw/8000), `mark` (echoed back with the same name once the audio sent before it has
  played) and `clear` (empties the buffered audio and sends back every pending mark).

Details the documents do not settle, and what the peer does about them:

- Twilio does not document what it does with a malformed message, an unknown event or a wrong
  streamSid: the peer records a violation and ignores the message.
- Twilio keeps streaming the caller's line (silence included) for the whole call; the messages
  page does not say so in words. `continuous=True` (the default) does the same; pass False to
  send audio only inside `speak()` and `silence()`.
- `media.timestamp` is "Presentation Timestamp in Milliseconds from the start of the stream":
  the peer uses each frame's scheduled send time since it sent `start`.
- A `mark` that arrives with no audio queued is sent back at once (the page only says "when
  that media message's playback is complete").
- A real voice webhook carries more parameters (Caller, Called, geographic fields...); the peer
  sends AccountSid, ApiVersion, CallSid, CallStatus, Direction, From, To plus `extra_params`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from tests.helpers.telephony.codecs import (
    PHONE_RATE,
    ULAW_FRAME_BYTES,
    ULAW_SILENCE,
    ulaw_decode,
    ulaw_encode_16k,
)
from tests.helpers.telephony.peer import PhonePeer
from tests.helpers.telephony.wire import (
    TWILIO_API_VERSION,
    TWILIO_DIGITS,
    TWILIO_VOICE_PATH,
    parse_connect_stream,
    twilio_signature,
)


def _sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


class TwilioPeer(PhonePeer):
    """Twilio's side of one inbound call: voice webhook, then a bidirectional Media Stream.

    Attributes:
        webhook_params: The form the voice webhook was POSTed.
        stream_url: The `<Stream url>` from the TwiML, as the gateway wrote it.
        connect_url: The URL actually connected to (host rewritten if asked).
        custom_parameters: The `<Parameter>`s, sent back in `start.customParameters`.
        stream_sid: This stream's "MZ" SID.
        marks: Marks the server sent, as (arrival, name).
        marks_sent_back: Marks echoed back to the server, as (time, name).
        clears: Arrival times of the server's `clear` messages.
        close_code: The WebSocket close code, once closed.
        violations: Everything the server sent that the protocol does not allow.
    """

    frame_bytes = ULAW_FRAME_BYTES
    silence_byte = ULAW_SILENCE

    def __init__(
        self,
        base_url: str,
        *,
        auth_token: str | None = None,
        account_sid: str | None = None,
        webhook_url: str | None = None,
        rewrite_stream_host: bool = False,
        continuous: bool = True,
    ) -> None:
        """Prepare a call against the gateway at `base_url`.

        Args:
            base_url: The gateway, e.g. "http://127.0.0.1:8080".
            auth_token: The account's auth token; when given, requests carry a valid
                `X-Twilio-Signature`.
            account_sid: The "AC" SID (a random one by default).
            webhook_url: The URL to sign when it differs from the one requested (the public URL
                configured in Twilio, behind a proxy).
            rewrite_stream_host: Connect to the Stream url's path on `base_url`'s host and port
                (ws:// for http, wss:// for https) instead of the public host in the TwiML.
            continuous: Stream line silence whenever the caller is not speaking, as Twilio does.
        """
        super().__init__(continuous=continuous)
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.account_sid = account_sid or _sid("AC")
        self.webhook_url = webhook_url
        self.rewrite_stream_host = rewrite_stream_host
        self.call_sid = _sid("CA")
        self.stream_sid = _sid("MZ")
        self.webhook_params: dict[str, str] = {}
        self.webhook_status: int | None = None
        self.stream_url: str | None = None
        self.connect_url: str | None = None
        self.custom_parameters: dict[str, str] = {}
        self.marks: list[tuple[float, str]] = []
        self.marks_sent_back: list[tuple[float, str]] = []
        self.clears: list[float] = []
        self.close_code: int | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._sequence = 0
        self._chunk = 0
        self._pending_marks: deque[tuple[float, str]] = deque()
        self._marks_changed = asyncio.Event()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    async def dial(
        self,
        caller: str = "+34600111222",
        called: str = "+34910000000",
        extra_params: Mapping[str, str] | None = None,
    ) -> None:
        """Ring the gateway: POST the voice webhook and read its `<Connect><Stream>` TwiML.

        Args:
            caller: The caller's number (From).
            called: Our number that was dialled (To).
            extra_params: More webhook parameters, added to (or overriding) the usual ones.

        Raises:
            AssertionError: If the webhook does not answer 200 with `<Connect><Stream>` TwiML.
        """
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": TWILIO_API_VERSION,
            "CallSid": self.call_sid,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "From": caller,
            "To": called,
            **(extra_params or {}),
        }
        self.webhook_params = params
        url = self.base_url + TWILIO_VOICE_PATH
        headers = {}
        if self.auth_token is not None:
            signed_url = self.webhook_url or url
            headers["X-Twilio-Signature"] = twilio_signature(self.auth_token, signed_url, params)
        async with self._client().post(url, data=params, headers=headers) as response:
            body = await response.text()
            self.webhook_status = response.status
            content_type = response.content_type
        if self.webhook_status != 200:
            raise AssertionError(f"voice webhook answered {self.webhook_status}: {body[:300]!r}")
        if content_type not in ("text/xml", "application/xml"):
            self._violation(f"voice webhook answered Content-Type {content_type!r}, not XML")
        self.stream_url, self.custom_parameters = parse_connect_stream(body)
        self.connect_url = self.stream_url
        if self.rewrite_stream_host:
            base = urlsplit(self.base_url)
            scheme = "wss" if base.scheme == "https" else "ws"
            self.connect_url = urlunsplit(
                urlsplit(self.stream_url)._replace(scheme=scheme, netloc=base.netloc)
            )

    async def connect(self) -> None:
        """Open the Media Stream WebSocket and send `connected` then `start`, as Twilio does."""
        if self.connect_url is None:
            raise RuntimeError("dial() first: the Stream url comes from the TwiML")
        self._ws = await self._client().ws_connect(self.connect_url)
        await self._ws.send_str(
            json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        )
        self._started_at = time.monotonic()
        start = {
            "accountSid": self.account_sid,
            "streamSid": self.stream_sid,
            "callSid": self.call_sid,
            "tracks": ["inbound"],
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": PHONE_RATE, "channels": 1},
            "customParameters": dict(self.custom_parameters),
        }
        await self._send_event("start", {"start": start, "streamSid": self.stream_sid})
        loop = asyncio.get_running_loop()
        self._launch(
            loop.create_task(self._read()),
            loop.create_task(self._pump()),
            loop.create_task(self._echo_marks()),
        )

    async def _send_event(self, event: str, body: dict[str, Any]) -> None:
        """Send one message with the next sequenceNumber (numbered in wire order)."""
        if self._ws is None:
            raise RuntimeError("connect() first")
        async with self._send_lock:
            self._sequence += 1
            message = {"event": event, "sequenceNumber": str(self._sequence), **body}
            await self._ws.send_str(json.dumps(message))

    def _encode_16k(self, pcm16k: bytes) -> bytes:
        return ulaw_encode_16k(pcm16k)

    async def _send_audio_frame(self, frame: bytes, at: float) -> None:
        self._chunk += 1
        media = {
            "track": "inbound",
            "chunk": str(self._chunk),
            "timestamp": str(int((at - self._started()) * 1000)),
            "payload": base64.b64encode(frame).decode("ascii"),
        }
        await self._send_event("media", {"media": media, "streamSid": self.stream_sid})

    async def press(self, digits: str, interval: float = 0.0) -> None:
        """Press keys: one `dtmf` message per digit.

        Args:
            digits: Keys from "0123456789*#".
            interval: Seconds between keys.

        Raises:
            ValueError: For a key a phone keypad does not have.
        """

        async def send(digit: str) -> None:
            dtmf = {"track": "inbound_track", "digit": digit}
            await self._send_event("dtmf", {"streamSid": self.stream_sid, "dtmf": dtmf})

        await self._press_keys(digits, interval, TWILIO_DIGITS, send)

    async def send_raw(self, text: str) -> None:
        """Send a text frame as is (no sequenceNumber), for malformed-message tests.

        Args:
            text: The frame's text.
        """
        if self._ws is None:
            raise RuntimeError("connect() first")
        async with self._send_lock:
            await self._ws.send_str(text)

    async def hang_up(self) -> None:
        """The caller hangs up: send `stop` and close the WebSocket."""
        if self._ws is None or not self.active:
            return
        self._ending = True
        self._end("caller hung up")
        stop = {"accountSid": self.account_sid, "callSid": self.call_sid}
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self._send_event("stop", {"stop": stop, "streamSid": self.stream_sid})
        await self._ws.close()
        await self._stop_tasks()
        self.close_code = self._ws.close_code

    async def close(self) -> None:
        """Release everything (without a `stop`): the WebSocket, the tasks, the HTTP session."""
        if self.ended_reason is None and self._started_at is not None:
            self._ending = True
            self._end("closed by the test")
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        await self._stop_tasks()
        if self._session is not None:
            await self._session.close()

    async def _read(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                now = time.monotonic()
                if message.type == aiohttp.WSMsgType.TEXT:
                    await self._on_text(message.data, now)
                elif message.type == aiohttp.WSMsgType.BINARY:
                    self._violation(f"binary frame of {len(message.data)} bytes (Twilio is JSON)")
                else:
                    break
        except (ConnectionError, aiohttp.ClientError) as error:
            if not self._ending:
                self._violation(f"connection failed: {error!r}")
        finally:
            self.close_code = self._ws.close_code
            if not self._ending:
                self.closed = True
                self._end(f"server closed the WebSocket ({self.close_code})")

    async def _on_text(self, text: str, now: float) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self._violation(f"not JSON: {text[:200]!r}")
            return
        if not isinstance(message, dict):
            self._violation(f"not a JSON object: {text[:200]!r}")
            return
        event = message.get("event")
        if event not in ("media", "mark", "clear"):
            self._violation(f"event {event!r} cannot be sent to Twilio: {text[:200]!r}")
            return
        if message.get("streamSid") != self.stream_sid:
            self._violation(f"{event} with streamSid {message.get('streamSid')!r}, not ours")
            return
        if event == "media":
            self._on_media(message, now)
        elif event == "mark":
            self._on_mark(message, now)
        else:
            await self._on_clear(now)

    def _on_media(self, message: dict[str, Any], now: float) -> None:
        media = message.get("media")
        payload = media.get("payload") if isinstance(media, dict) else None
        if not isinstance(payload, str) or not payload:
            self._violation(f"media without a payload string: {str(message)[:200]}")
            return
        try:
            ulaw = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            self._violation(f"media.payload is not base64: {payload[:60]!r}")
            return
        self._received_audio(now, ulaw_decode(ulaw))

    def _on_mark(self, message: dict[str, Any], now: float) -> None:
        mark = message.get("mark")
        name = mark.get("name") if isinstance(mark, dict) else None
        if not isinstance(name, str):
            self._violation(f"mark without a name string: {str(message)[:200]}")
            return
        self.marks.append((now, name))
        # due once the audio queued before it has played
        self._pending_marks.append((max(now, self._playback.play_end), name))
        self._marks_changed.set()

    async def _on_clear(self, now: float) -> None:
        self.clears.append(now)
        self._playback.cut(now)
        pending = [name for _, name in self._pending_marks]
        self._pending_marks.clear()
        self._marks_changed.set()
        for name in pending:
            await self._send_mark(name)

    async def _send_mark(self, name: str) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError):
            await self._send_event("mark", {"streamSid": self.stream_sid, "mark": {"name": name}})
            self.marks_sent_back.append((time.monotonic(), name))

    async def _echo_marks(self) -> None:
        """Send each mark back when the audio before it has played."""
        while self.ended_reason is None:
            self._marks_changed.clear()
            if not self._pending_marks:
                await self._marks_changed.wait()
                continue
            due, name = self._pending_marks[0]
            delay = due - time.monotonic()
            if delay > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._marks_changed.wait(), delay)
                continue
            self._pending_marks.popleft()
            await self._send_mark(name)
