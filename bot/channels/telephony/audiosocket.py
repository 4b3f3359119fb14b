"""Asterisk phone calls over AudioSocket: the dialplan's `AudioSocket(uuid,host:port)` opens a
TCP connection to this server and the call's audio flows both ways.

Protocol (Asterisk's AudioSocket documentation): every message is a 1-byte type, a 2-byte
big-endian payload length and the payload. Asterisk sends 0x01 (the call's UUID, 16 bytes,
first), 0x10 (signed linear 16-bit 8 kHz mono audio, usually 320 bytes = 20 ms), 0x03 (one DTMF
digit, ASCII), 0x00 (hang up) and 0xff (error); we send 0x10 audio paced in real time and 0x00
to hang up. A malformed message is answered with 0xff and a hang-up; other calls go on.

AudioSocket carries no caller number: the dialplan registers it over HTTP before connecting,
and reads back where the call goes after AudioSocket() returns (README, "Asterisk"): `hangup`
when the bot ended the call, the transfer destination after a handoff, and nothing when the
gateway cannot say (it died or was restarted, the line broke): the dialplan then hands the call
to people. A route is only ever set before the connection closes, so a dead gateway sets none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from typing import Any

from aiohttp import web

from bot.channels.gateway_call import GatewayCall, answer, speech_unavailable
from bot.channels.telephony.phone_line import LineProtocolError, PhoneLine
from bot.clock import Clock, WallClock
from bot.db import DatabaseError
from bot.edge.context import GATEWAY, Gateway
from bot.edge.http import read_form
from bot.handoff.models import State
from bot.handoff.phone_numbers import digits_of, masked

logger = logging.getLogger(__name__)

HANGUP, UUID, DTMF, AUDIO, ERROR = 0x00, 0x01, 0x03, 0x10, 0xFF
HEADER = struct.Struct(">BH")
FIRST_MESSAGE_TIMEOUT_S = 5.0
LEAD_S = 0.04  # Asterisk plays what it gets at once: stay barely ahead of the caller's ear
APPLICATION_ERROR = b"\x01"  # our error code in 0xff messages: "the message broke the protocol"
PEER_CLOSE_TIMEOUT_S = 1.0  # after a protocol error, how long the peer has to hang up
ROUTE_HANGUP = "hangup"  # the route of a call the bot ended: the dialplan hangs up
SERVER = web.AppKey("audiosocket_server", asyncio.AbstractServer)


def message(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


class AudioSocketLine(PhoneLine):
    """One AudioSocket connection."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        clock: Clock,
        gateway: Gateway,
        call_uuid: str,
    ) -> None:
        settings = gateway.gateway_settings.telephony
        super().__init__(clock, "asterisk", LEAD_S, settings.keypad_pause_s, can_clear=False)
        self._reader, self._writer = reader, writer
        self._gateway = gateway
        self._transfer_to = settings.asterisk_transfer_to
        # kept until done: the event loop holds tasks only weakly, and a transfer must finish
        self._leaving: asyncio.Task[None] | None = None
        self.call_uuid = call_uuid
        self.caller_gone = False  # Asterisk hung up or closed: nobody reads a route any more
        self.broken = False  # the line broke the protocol: the dialplan's way out, for people

    async def read(self) -> None:
        """Reads Asterisk's messages until it hangs up, the connection ends or breaks."""
        try:
            while (kind_payload := await read_message(self._reader)) is not None:
                kind, payload = kind_payload
                if kind == AUDIO:
                    self.heard(payload)
                elif kind == DTMF and len(payload) == 1:
                    await self.pressed(payload.decode("ascii", "replace"))
                elif kind == HANGUP:
                    break
                elif kind == ERROR:
                    logger.warning("asterisk.error conversation=%s code=%s",
                                   self.conversation_id, payload.hex() or "-")  # fmt: skip
                    break
                else:
                    raise LineProtocolError(f"message type 0x{kind:02x} of {len(payload)} bytes")
            self.caller_gone = True
        except LineProtocolError as error:
            logger.warning(
                "asterisk.protocol_error conversation=%s error=%s", self.conversation_id, error
            )
            self.broken = True
            await self._write(message(ERROR, APPLICATION_ERROR) + message(HANGUP))
            await self._close_after_the_peer()
        except (ConnectionError, asyncio.IncompleteReadError):
            self.caller_gone = True  # the connection ended: the caller is gone
        finally:
            self.ended()

    async def send_phone_audio(self, pcm8k: bytes) -> None:
        await self._write(message(AUDIO, pcm8k))

    async def hang_up(self, reason: str) -> None:
        logger.info("asterisk.hang_up conversation=%s reason=%s", self.conversation_id, reason)
        self.route_hang_up()
        await self._write(message(HANGUP))
        self._close()

    def route_hang_up(self) -> None:
        """The bot ends the call: the dialplan reads `hangup` (a transfer keeps its route), not
        the nothing that sends the call of a dead gateway to people. Set before the connection
        closes, as the dialplan asks as soon as AudioSocket() returns."""
        if not (self.caller_gone or self.broken):
            self._gateway.phone_calls.route_after(self.call_uuid, ROUTE_HANGUP)

    def notify(self, event: dict[str, Any]) -> None:
        """With a dialplan transfer configured, a queued call leaves AudioSocket() after the
        transfer words; the dialplan reads where it goes next (see `route`)."""
        queued = event.get("type") == "state" and event["conversation"]["state"] == State.QUEUED
        if (
            queued
            and self._transfer_to
            and self.call_uuid not in self._gateway.phone_calls.transfers
        ):
            self._gateway.phone_calls.route_after(self.call_uuid, self._transfer_to)
            self._leaving = asyncio.create_task(self._leave_for_the_dialplan())

    async def _leave_for_the_dialplan(self) -> None:
        if self.call is not None:
            await self.call.last_words_heard()
        await self._gateway.router.transferred(self.conversation_id, self._transfer_to)
        await self.hang_up("transfer")

    async def _write(self, data: bytes) -> None:
        if self._writer.is_closing():
            return
        with contextlib.suppress(ConnectionError):
            self._writer.write(data)
            await self._writer.drain()

    async def _close_after_the_peer(self) -> None:
        """Closes once the peer has read our last messages: its audio still arriving is read and
        dropped until it hangs up (at most a second). Closing with unread audio would reset the
        connection, and Asterisk could lose the error that says why the call ended."""
        with contextlib.suppress(ConnectionError, OSError, asyncio.TimeoutError):
            if self._writer.can_write_eof():
                self._writer.write_eof()

            async def until_the_peer_closes() -> None:
                while await self._reader.read(4096):
                    pass

            await asyncio.wait_for(until_the_peer_closes(), PEER_CLOSE_TIMEOUT_S)
        self._close()

    def _close(self) -> None:
        with contextlib.suppress(ConnectionError):
            self._writer.close()


async def read_message(reader: asyncio.StreamReader) -> tuple[int, bytes] | None:
    """One message, or None when the connection ended cleanly between messages."""
    header = await reader.read(HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        header += await reader.readexactly(HEADER.size - len(header))
    kind, length = HEADER.unpack(header)
    return kind, await reader.readexactly(length)


async def serve_connection(
    gateway: Gateway, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One call from Asterisk, from its UUID to its hang-up."""
    try:
        first = await asyncio.wait_for(read_message(reader), FIRST_MESSAGE_TIMEOUT_S)
        if first is None or first[0] != UUID or len(first[1]) != 16:
            raise LineProtocolError("the first message must be the call's UUID (16 bytes)")
    except (LineProtocolError, asyncio.TimeoutError, asyncio.IncompleteReadError) as error:
        logger.warning("asterisk.bad_start error=%s", error or "timeout")
        with contextlib.suppress(ConnectionError):
            writer.write(message(ERROR, APPLICATION_ERROR) + message(HANGUP))
            writer.close()
        return
    call_uuid = str(uuid.UUID(bytes=first[1]))
    caller = gateway.phone_calls.caller(call_uuid)
    if speech_unavailable(gateway) or len(gateway.calls) >= gateway.gateway_settings.max_calls:
        logger.error("asterisk.cannot_take calls=%s (busy, or no speech model: make models)",
                     len(gateway.calls))  # fmt: skip
        _back_to_the_dialplan(gateway, call_uuid, writer)
        return
    try:
        conversation, _ = gateway.router.start("voice", line="asterisk", caller=caller)
    except DatabaseError as error:  # locked, read-only, disk full: people take the call
        logger.error("asterisk.database_unavailable error=%s", error)
        _back_to_the_dialplan(gateway, call_uuid, writer)
        return
    logger.info("asterisk.incoming conversation=%s caller=%s", conversation.id, masked(caller))
    clock = WallClock()
    line = AudioSocketLine(reader, writer, clock, gateway, call_uuid)
    call = GatewayCall(gateway, conversation, line, clock, {"line": "asterisk", "caller": caller})
    line.call, line.conversation_id = call, conversation.id
    reading = asyncio.create_task(line.read())
    reason = "unavailable"
    try:
        reason = await answer(gateway, call)
    finally:
        reading.cancel()
        if reason != "unavailable":  # the call's end (silence, closed); else people take it
            line.route_hang_up()
        line._close()


def _back_to_the_dialplan(gateway: Gateway, call_uuid: str, writer: asyncio.StreamWriter) -> None:
    """The bot cannot take the call: AudioSocket() returns at once and the dialplan goes on,
    to the transfer destination when one is set, else to the dialplan's own way out for a call
    the gateway cannot say anything about (people): nobody is left in silence."""
    transfer_to = gateway.gateway_settings.telephony.asterisk_transfer_to
    if transfer_to:
        gateway.phone_calls.route_after(call_uuid, transfer_to)
    with contextlib.suppress(ConnectionError):
        writer.write(message(HANGUP))
        writer.close()


def add_routes(app: web.Application) -> None:
    app.router.add_post("/telephony/asterisk/calls", register_call)
    app.router.add_get("/telephony/asterisk/calls/{uuid}/route", route)
    app.on_startup.append(_start_server)  # type: ignore[arg-type]
    app.on_cleanup.append(_stop_server)  # type: ignore[arg-type]


async def register_call(request: web.Request) -> web.Response:
    """The dialplan, before AudioSocket(): `CURL(…/calls,uuid=${UUID}&caller=${CALLERID(num)})`."""
    form = await read_form(request)  # a body that is no form: 400, not a crash
    try:
        call_uuid = str(uuid.UUID(form.get("uuid", "")))
    except ValueError:
        return web.Response(status=422, text="uuid no válido")
    caller = digits_of(form.get("caller", ""))
    request.app[GATEWAY].phone_calls.register(call_uuid, caller)
    return web.Response(text="ok")


async def route(request: web.Request) -> web.Response:
    """The dialplan, after AudioSocket() returns: where the call goes (`hangup`: nowhere; a
    queue or extension; "": the gateway does not know the call, so people take it)."""
    transfers = request.app[GATEWAY].phone_calls.transfers
    return web.Response(text=transfers.pop(request.match_info["uuid"], ""))


async def _start_server(app: web.Application) -> None:
    gateway = app[GATEWAY]
    port = gateway.gateway_settings.telephony.audiosocket_port
    if not port:
        return
    try:
        server = await asyncio.start_server(
            lambda r, w: serve_connection(gateway, r, w), gateway.settings.host, port
        )
    except OSError as error:  # chat and browser calls go on; the operator reads why
        logger.error(
            "asterisk.audiosocket_unavailable port=%s error=%s (choose BOT_AUDIOSOCKET_PORT, "
            "or 0 to turn it off)", port, error.strerror or error,
        )  # fmt: skip
        return
    app[SERVER] = server
    logger.info("asterisk.audiosocket_listening port=%s", port)


async def _stop_server(app: web.Application) -> None:
    server = app.get(SERVER)
    if server is not None:
        server.close()
