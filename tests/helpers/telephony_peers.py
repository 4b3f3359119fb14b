"""Test peers that play the telephone network's side of a phone call against our gateway.

`TwilioPeer` is Twilio Programmable Voice answering an inbound call with `<Connect><Stream>`:
the signed voice webhook, the TwiML it expects back, then the bidirectional Media Streams
WebSocket. `AudioSocketPeer` is Asterisk running `AudioSocket(uuid,host:port)`: a TCP stream of
type-length-payload messages. Both send the caller's audio in real time (one 20 ms frame every
20 ms, on an absolute schedule that does not drift) and "play" what the server sends back in
real time, queued behind earlier audio, so tests can ask what the caller actually heard.
Whatever the server sends that the protocol does not allow is written down in `violations`
instead of raising, so one test can check a whole call and then look at everything at once.

Documents followed, message by message and byte by byte:

- Twilio, "Media Streams - WebSocket Messages"
  (https://www.twilio.com/docs/voice/media-streams/websocket-messages): `connected` (no
  sequenceNumber), then `start` with sequenceNumber "1", then one shared counter for every later
  message; `start.accountSid/streamSid/callSid/tracks/customParameters/mediaFormat` and the
  top-level `streamSid`; `media.track/chunk/timestamp/payload`; `dtmf.track` is always
  "inbound_track"; `stop.accountSid/callSid`; the server may send `media` (`media.payload` is
  base64 mulaw/8000), `mark` (echoed back with the same name once the audio sent before it has
  played) and `clear` (empties the buffered audio and sends back every pending mark).
- Twilio, "TwiML Voice: <Stream>" (https://www.twilio.com/docs/voice/twiml/stream):
  `<Connect><Stream>` is the bidirectional stream; each `<Parameter name value>` arrives in
  `start.customParameters`; the `url` is a `wss://` URL that "does not support query string
  parameters".
- Twilio, "Secure webhooks" (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
  `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, full URL + each POST parameter's name
  immediately followed by its value, sorted by name)). Checked against the vector pinned by
  Twilio's own Python SDK (twilio/twilio-python, tests/unit/test_request_validator.py).
- Asterisk, "AudioSocket" protocol (https://docs.asterisk.org/Configuration/Channel-Drivers/
  AudioSocket/), the `AudioSocket()` application page, and the sources res/res_audiosocket.c,
  apps/app_audiosocket.c and include/asterisk/res_audiosocket.h: a message is a 1-byte kind, a
  2-byte big-endian payload length and the payload; 0x00 hangup, 0x01 UUID (16 raw bytes, sent
  first), 0x03 DTMF (1 ASCII byte), 0x10 audio (signed linear 16-bit little-endian, 8 kHz mono),
  0xff error.

Details the documents do not settle, and what these peers do about them:

- Twilio does not document what it does with a malformed message, an unknown event or a wrong
  streamSid: the peer records a violation and ignores the message.
- Twilio keeps streaming the caller's line (silence included) for the whole call; the messages
  page does not say so in words. `continuous=True` (the default) does the same; pass False to
  send audio only inside `speak()` and `silence()`.
- `media.timestamp` is "Presentation Timestamp in Milliseconds from the start of the stream":
  the peer uses each frame's scheduled send time since it sent `start`.
- A `mark` that arrives with no audio queued is sent back at once (the page only says "when
  that media message's playback is complete").
- Query strings on the Stream url: the page says they are not supported (others report Twilio
  drops them); the peer refuses such TwiML. Twilio only connects to `wss://`; the peer also
  accepts `ws://` because tests run over plain http.
- A real voice webhook carries more parameters (Caller, Called, geographic fields...); the peer
  sends AccountSid, ApiVersion, CallSid, CallStatus, Direction, From, To plus `extra_params`.
- app_audiosocket.c never sends 0x00 itself: when the caller hangs up it just closes the
  socket (the protocol page: "socket closure is also sufficient"). `hang_up()` sends 0x00 first
  unless `send_hangup_message=False`, which reproduces the real application.
- res_audiosocket.c accepts only 0x10 audio (length of at least 1) and 0x00 hangup from the
  server; anything else, 0xff included (res_audiosocket.h: errors travel from Asterisk only),
  ends the call. The peer records it (`errors` or `violations`) and ends the call the same way.
- Asterisk writes the server's audio straight to the channel without a playout queue; the peer
  queues it like Twilio so `heard_seconds()` means something, and `max_backlog_s` tells how far
  ahead of real time the server sent.
- DTMF (0x03) is sent by res_audiosocket's frame writer in recent Asterisk (20+); whether a
  given version's `AudioSocket()` application forwards keypresses was not confirmed.
- Asterisk forwards the channel's frames as they come; 320 bytes per message assumes the usual
  20 ms packetization. The newer higher-rate audio kinds (0x11-0x18) are not used by
  `AudioSocket()` on an 8 kHz slin channel and count as violations here.
"""

from __future__ import annotations

import asyncio
import audioop
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import socket
import struct
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

import aiohttp
import numpy as np
import numpy.typing as npt

PIPELINE_RATE = 16_000
PHONE_RATE = 8_000
SAMPLE_WIDTH = 2
FRAME_S = 0.02
ULAW_FRAME_BYTES = 160  # 20 ms of 8 kHz mulaw, one byte a sample
SLIN_FRAME_BYTES = 320  # 20 ms of 8 kHz signed linear, two bytes a sample
ULAW_SILENCE = 0xFF  # mulaw code of a zero sample

TWILIO_VOICE_PATH = "/telephony/twilio/voice"
TWILIO_API_VERSION = "2010-04-01"
TWILIO_DIGITS = "0123456789*#"
DTMF_DIGITS = "0123456789*#ABCD"

AUDIOSOCKET_HANGUP = 0x00
AUDIOSOCKET_UUID = 0x01
AUDIOSOCKET_DTMF = 0x03
AUDIOSOCKET_AUDIO = 0x10
AUDIOSOCKET_ERROR = 0xFF
AUDIOSOCKET_HEADER = struct.Struct(">BH")
AUDIOSOCKET_MAX_PAYLOAD = 0xFFFF

_POLL_S = 0.01


# --- pure functions -------------------------------------------------------------------------


def _lowpass_taps(taps: int = 63, cutoff_hz: float = 3_600.0) -> npt.NDArray[np.float64]:
    """A Hamming-windowed sinc low-pass for 16 kHz audio, unit gain at DC."""
    cutoff = cutoff_hz / PIPELINE_RATE  # cycles per sample
    n = np.arange(taps) - (taps - 1) / 2
    kernel: npt.NDArray[np.float64] = 2 * cutoff * np.sinc(2 * cutoff * n) * np.hamming(taps)
    normalised: npt.NDArray[np.float64] = kernel / kernel.sum()
    return normalised


_ANTI_ALIAS = _lowpass_taps()


def slin8k_from_16k(pcm16k: bytes) -> bytes:
    """Convert 16 kHz 16-bit PCM to 8 kHz 16-bit PCM: low-pass below 4 kHz, then every 2nd sample.

    Args:
        pcm16k: Signed 16-bit little-endian mono samples at 16 kHz.

    Returns:
        Signed 16-bit little-endian mono samples at 8 kHz (half as many).

    Raises:
        ValueError: If the input is not a whole number of samples.
    """
    if len(pcm16k) % SAMPLE_WIDTH:
        raise ValueError(f"{len(pcm16k)} bytes is not a whole number of 16-bit samples")
    samples = np.frombuffer(pcm16k, "<i2").astype(np.float64)
    if samples.size == 0:
        return b""
    delay = (len(_ANTI_ALIAS) - 1) // 2  # the filter is symmetric: centre it on each sample
    filtered = np.convolve(samples, _ANTI_ALIAS)[delay : delay + samples.size]
    pcm8k: bytes = np.clip(np.rint(filtered[::2]), -32768, 32767).astype("<i2").tobytes()
    return pcm8k


def ulaw_encode_16k(pcm16k: bytes) -> bytes:
    """Convert the pipeline's 16 kHz 16-bit PCM to what Twilio carries: 8 kHz G.711 mulaw.

    Args:
        pcm16k: Signed 16-bit little-endian mono samples at 16 kHz.

    Returns:
        One mulaw byte per 8 kHz sample.
    """
    return audioop.lin2ulaw(slin8k_from_16k(pcm16k), SAMPLE_WIDTH)


def ulaw_decode(ulaw: bytes) -> bytes:
    """Decode G.711 mulaw to 16-bit PCM at the same rate (8 kHz on a phone line).

    Args:
        ulaw: One mulaw byte per sample.

    Returns:
        Signed 16-bit little-endian samples, two bytes per input byte.
    """
    return audioop.ulaw2lin(ulaw, SAMPLE_WIDTH)


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """Compute the `X-Twilio-Signature` Twilio sends with a webhook request.

    Args:
        auth_token: The account's auth token, the HMAC key.
        url: The full URL Twilio requested, query string included.
        params: The POST (form) parameters of the request.

    Returns:
        Base64 of HMAC-SHA1 over the URL followed by each parameter's name and value, by name.
    """
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def audiosocket_message(kind: int, payload: bytes = b"") -> bytes:
    """Frame one AudioSocket message: kind byte, big-endian 16-bit length, payload.

    Args:
        kind: The message kind, 0-255 (0x10 audio, 0x03 DTMF, ...).
        payload: The payload, at most 65535 bytes.

    Returns:
        The bytes to write to the socket.

    Raises:
        ValueError: If the kind or the payload length does not fit the header.
    """
    if not 0 <= kind <= 0xFF:
        raise ValueError(f"AudioSocket kind {kind} does not fit in one byte")
    if len(payload) > AUDIOSOCKET_MAX_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes exceeds 65535")
    return AUDIOSOCKET_HEADER.pack(kind, len(payload)) + payload


def parse_audiosocket(buffer: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """Split a byte stream into complete AudioSocket messages.

    Args:
        buffer: Bytes read so far (possibly ending inside a message).

    Returns:
        The complete messages as (kind, payload) and the bytes of an unfinished message.
    """
    messages: list[tuple[int, bytes]] = []
    offset = 0
    while len(buffer) - offset >= AUDIOSOCKET_HEADER.size:
        kind, length = AUDIOSOCKET_HEADER.unpack_from(buffer, offset)
        end = offset + AUDIOSOCKET_HEADER.size + length
        if end > len(buffer):
            break
        messages.append((kind, bytes(buffer[offset + AUDIOSOCKET_HEADER.size : end])))
        offset = end
    return messages, bytes(buffer[offset:])


def parse_connect_stream(twiml: str) -> tuple[str, dict[str, str]]:
    """Read the Stream url and Parameters of `<Response><Connect><Stream>` TwiML.

    Args:
        twiml: The body the voice webhook answered with.

    Returns:
        The Stream url and the Parameters (name to value), as Twilio would use them.

    Raises:
        AssertionError: If the TwiML is not exactly that shape (what Twilio would reject or
            would not stream bidirectionally).
    """
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError as error:
        raise AssertionError(f"the voice webhook's TwiML is not XML ({error}): {twiml!r}") from None
    if root.tag != "Response":
        raise AssertionError(f"TwiML root is <{root.tag}>, not <Response>: {twiml!r}")
    verbs = list(root)
    if [verb.tag for verb in verbs] != ["Connect"]:
        found = [verb.tag for verb in verbs]
        raise AssertionError(f"<Response> must hold just <Connect>, found {found}: {twiml!r}")
    nouns = list(verbs[0])
    if [noun.tag for noun in nouns] != ["Stream"]:
        found = [noun.tag for noun in nouns]
        raise AssertionError(f"<Connect> must hold just <Stream>, found {found}: {twiml!r}")
    stream = nouns[0]
    url = stream.get("url")
    if not url:
        raise AssertionError(f"<Stream> has no url: {twiml!r}")
    parts = urlsplit(url)
    if parts.scheme not in ("wss", "ws") or not parts.netloc:
        raise AssertionError(f"<Stream url> must be an absolute wss:// URL, not {url!r}")
    if parts.query:
        raise AssertionError(f"Twilio does not support a query string on <Stream url>: {url!r}")
    parameters: dict[str, str] = {}
    for child in stream:
        name, value = child.get("name"), child.get("value")
        if child.tag != "Parameter" or name is None or value is None:
            raise AssertionError(f"<Stream> may hold only <Parameter name value/>: {twiml!r}")
        if name in parameters:
            raise AssertionError(f"<Parameter name={name!r}> appears twice: {twiml!r}")
        parameters[name] = value
    return url, parameters


def _sid(prefix: str) -> str:
    """A Twilio SID: two letters and 32 hex digits."""
    return prefix + uuid.uuid4().hex


# --- what the caller hears ------------------------------------------------------------------


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


_Peer = TypeVar("_Peer", bound="_PhonePeer")


class _PhonePeer:
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


# --- Twilio -------------------------------------------------------------------------------


class TwilioPeer(_PhonePeer):
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


# --- Asterisk AudioSocket -----------------------------------------------------------------


class AudioSocketPeer(_PhonePeer):
    """Asterisk's side of `AudioSocket(uuid,host:port)`: slin audio over a TCP stream.

    Attributes:
        uuid: The call's UUID, sent first.
        hangup_received: Whether the server sent the hangup message.
        errors: Error messages from the server, as (arrival, payload).
        violations: Everything the server sent that the protocol does not allow.
    """

    frame_bytes = SLIN_FRAME_BYTES
    silence_byte = 0x00

    def __init__(
        self, call_uuid: uuid.UUID | str | None = None, *, continuous: bool = True
    ) -> None:
        """Prepare a call.

        Args:
            call_uuid: The UUID given to `AudioSocket()` in the dialplan (random by default).
            continuous: Stream line silence whenever the caller is not speaking, as a channel
                does.
        """
        super().__init__(continuous=continuous)
        self.uuid = uuid.UUID(str(call_uuid)) if call_uuid is not None else uuid.uuid4()
        self.hangup_received = False
        self.errors: list[tuple[float, bytes]] = []
        self._stream_reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def connect(self, host: str, port: int) -> None:
        """Connect to the AudioSocket server and send the UUID message, as Asterisk does.

        Args:
            host: The server's host.
            port: The server's port.
        """
        self._stream_reader, self._writer = await asyncio.open_connection(host, port)
        sock = self._writer.get_extra_info("socket")
        if sock is not None:  # res_audiosocket.c turns Nagle off
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await self._write(audiosocket_message(AUDIOSOCKET_UUID, self.uuid.bytes))
        self._started_at = time.monotonic()
        loop = asyncio.get_running_loop()
        self._launch(loop.create_task(self._read()), loop.create_task(self._pump()))

    async def _write(self, data: bytes) -> None:
        if self._writer is None:
            raise RuntimeError("connect() first")
        async with self._send_lock:
            self._writer.write(data)
            await self._writer.drain()

    def _encode_16k(self, pcm16k: bytes) -> bytes:
        return slin8k_from_16k(pcm16k)

    async def _send_audio_frame(self, frame: bytes, at: float) -> None:
        await self._write(audiosocket_message(AUDIOSOCKET_AUDIO, frame))

    async def press(self, digits: str, interval: float = 0.0) -> None:
        """Press keys: one 0x03 message per digit, its ASCII byte as payload.

        Args:
            digits: DTMF keys from "0123456789*#ABCD".
            interval: Seconds between keys.

        Raises:
            ValueError: For a character that is not a DTMF key.
        """

        async def send(digit: str) -> None:
            await self._write(audiosocket_message(AUDIOSOCKET_DTMF, digit.encode("ascii")))

        await self._press_keys(digits, interval, DTMF_DIGITS, send)

    async def send_raw(self, data: bytes) -> None:
        """Write bytes as they are, for malformed-frame tests.

        Args:
            data: The bytes to write.
        """
        await self._write(data)

    async def hang_up(self, send_hangup_message: bool = True) -> None:
        """The caller hangs up: send the hangup message (0x00, length 0) and close.

        Args:
            send_hangup_message: False closes the socket without the message, which is what
                app_audiosocket.c does when the channel hangs up.
        """
        if self._writer is None or not self.active:
            return
        self._ending = True
        self._end("caller hung up")
        if send_hangup_message:
            with contextlib.suppress(ConnectionError):
                await self._write(audiosocket_message(AUDIOSOCKET_HANGUP))
        await self._close_socket()
        await self._stop_tasks()

    async def close(self) -> None:
        """Release the socket and the tasks (without a hangup message)."""
        if self.ended_reason is None and self._started_at is not None:
            self._ending = True
            self._end("closed by the test")
        await self._close_socket()
        await self._stop_tasks()

    async def _close_socket(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()

    async def _read(self) -> None:
        assert self._stream_reader is not None
        buffer = b""
        try:
            while self.ended_reason is None:
                chunk = await self._stream_reader.read(65536)
                if not chunk:
                    break
                messages, buffer = parse_audiosocket(buffer + chunk)
                now = time.monotonic()
                for kind, payload in messages:
                    if not self._on_message(kind, payload, now):
                        await self._asterisk_ends()
                        return
            if buffer:
                self._violation(f"connection closed inside a message: {buffer[:16].hex()}...")
        except ConnectionError as error:
            if not self._ending:
                self._violation(f"connection failed: {error!r}")
        if not self._ending and self.ended_reason is None:
            self.closed = True
            self._end("server closed the connection")

    def _on_message(self, kind: int, payload: bytes, now: float) -> bool:
        """Take one message from the server; False when Asterisk would end the call on it."""
        if kind == AUDIOSOCKET_AUDIO:
            if not payload:
                self._violation("audio message of length 0 (Asterisk rejects it)")
                return False
            if len(payload) % SAMPLE_WIDTH:
                self._violation(f"audio payload of {len(payload)} bytes: half a sample")
                payload = payload[:-1]
            self._received_audio(now, payload)
            return True
        if kind == AUDIOSOCKET_HANGUP:
            if payload:
                self._violation(f"hangup message with a {len(payload)}-byte payload")
            self.hangup_received = True
            self.ended_reason = "server sent hangup"
            return False
        if kind == AUDIOSOCKET_ERROR:
            self.errors.append((now, payload))
            self.ended_reason = f"server sent error {payload.hex() or '(no code)'}"
            return False
        self._violation(
            f"message kind 0x{kind:02x} ({len(payload)} bytes) is not one Asterisk accepts"
        )
        return False

    async def _asterisk_ends(self) -> None:
        """What app_audiosocket.c does on hangup, error or an invalid message: close."""
        self._ending = True
        self._end(self.ended_reason or "invalid message from the server")
        await self._close_socket()
