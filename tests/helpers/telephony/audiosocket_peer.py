"""Asterisk's side of a phone call against our gateway.

`AudioSocketPeer` is Asterisk running `AudioSocket(uuid,host:port)`: a TCP stream of
type-length-payload messages (the framing, and the Asterisk documents and sources it follows, are
in tests.helpers.telephony.wire; the real-time sending and playing in
tests.helpers.telephony.peer).

Details the documents do not settle, and what the peer does about them:

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
import contextlib
import socket
import time
import uuid

from tests.helpers.telephony.codecs import SAMPLE_WIDTH, SLIN_FRAME_BYTES, slin8k_from_16k
from tests.helpers.telephony.peer import PhonePeer
from tests.helpers.telephony.wire import (
    AUDIOSOCKET_AUDIO,
    AUDIOSOCKET_DTMF,
    AUDIOSOCKET_ERROR,
    AUDIOSOCKET_HANGUP,
    AUDIOSOCKET_UUID,
    DTMF_DIGITS,
    audiosocket_message,
    parse_audiosocket,
)


class AudioSocketPeer(PhonePeer):
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
