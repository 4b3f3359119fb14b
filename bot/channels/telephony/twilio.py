"""Twilio phone calls: the voice webhook answers with TwiML that connects the call to a
bidirectional Media Stream, and the stream's WebSocket carries the call.

Protocol (Twilio's "Media Streams - WebSocket Messages"): Twilio sends `connected`, `start`
(stream and call ids, our custom parameters), `media` (base64 μ-law, 8 kHz mono, 20 ms each),
`dtmf`, `mark` (a mark of ours was played, or dropped by `clear`) and `stop`; we send `media`,
`mark` (after each reply, to follow playback) and `clear` (barge-in: Twilio drops what it has
buffered). Anything else, or a malformed message, ends the stream with a close code and reason.

A handoff goes to the agent desk's queue, or, with BOT_TWILIO_TRANSFER_TO, to that number or
SIP address through Twilio's call-update API with `<Dial>`; the desk keeps the context.

When the stream's WebSocket closes, Twilio goes on with the TwiML after `<Connect>`. With the
auth token (Twilio's REST API at hand) that TwiML is the way out of a broken stream (the gateway
died, the connection broke): a `<Say>` and the transfer number, or how to reach us. The bot's
own endings then end the call through the call-update API (`<Hangup/>`) before closing the
stream, so they never fall through to it; a transfer replaces the TwiML the same way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import logging
import xml.etree.ElementTree as ET
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from bot.audio.g711 import linear_to_ulaw, ulaw_to_linear
from bot.channels.gateway_call import (
    PHONE_BUSY,
    PHONE_UNAVAILABLE,
    PHONE_UNAVAILABLE_LATER,
    PHONE_UNAVAILABLE_TRANSFER,
    GatewayCall,
    answer,
    refusal,
    speech_unavailable,
)
from bot.channels.telephony.phone_line import LineProtocolError, PhoneLine
from bot.clock import Clock, WallClock
from bot.db import DatabaseError
from bot.edge.context import GATEWAY, Gateway
from bot.edge.http import read_form
from bot.handoff.models import State
from bot.handoff.phone_numbers import digits_of, masked
from bot.settings import TelephonySettings

logger = logging.getLogger(__name__)

VOICE_PATH = "/telephony/twilio/voice"
STREAM_PATH = "/telephony/twilio/stream"
START_TIMEOUT_S = 10.0
# Twilio buffers what it gets: 200 ms ahead covers network jitter and a busy moment of the event
# loop (under load 100 ms ran dry twice in a benchmark); a barge-in's `clear` drops it at once
LEAD_S = 0.2
MAX_MESSAGE_BYTES = 64 * 1024
INVALID = 1007  # WebSocket close code: the message did not follow the protocol
CLOSE_WAIT_S = 2.0  # how long a closing reader may take to finish the closing handshake
UNAUTHORIZED = 4401
SPANISH = "es-ES"
STREAM_LOST = "Disculpe, ha habido un problema técnico con nuestro asistente."


def add_routes(app: web.Application) -> None:
    app.router.add_post(VOICE_PATH, incoming_call)
    app.router.add_get(STREAM_PATH, media_stream)


def public_base(request: web.Request, settings: TelephonySettings) -> str:
    """The gateway's address as Twilio sees it (BOT_PUBLIC_URL, or this request's)."""
    if settings.public_url:
        return settings.public_url
    scheme = request.headers.get("X-Forwarded-Proto", request.scheme)
    return f"{scheme}://{request.host}"


def signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the URL and the sorted POST parameters."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


async def incoming_call(request: web.Request) -> web.Response:
    """Twilio's voice webhook: a new call becomes a conversation and a Media Stream."""
    gateway = request.app[GATEWAY]
    settings = gateway.gateway_settings.telephony
    form = await read_form(request)  # a body that is no form: 400, not a crash
    base = public_base(request, settings)
    if settings.twilio_auth_token:
        expected = signature(settings.twilio_auth_token, base + request.path_qs, form)
        if not hmac.compare_digest(expected, request.headers.get("X-Twilio-Signature", "")):
            logger.warning("twilio.bad_signature")
            return web.Response(status=403, text="Firma no válida.")
    else:
        logger.warning("twilio.unsigned_webhook (set BOT_TWILIO_AUTH_TOKEN)")
    if len(gateway.calls) >= gateway.gateway_settings.max_calls:
        logger.warning("twilio.busy calls=%s", len(gateway.calls))
        return twiml(_cannot_take(PHONE_BUSY, settings.twilio_transfer_to))
    if speech_unavailable(gateway):
        logger.error("twilio.speech_unavailable (no speech model: make models)")
        return twiml(_cannot_take(PHONE_UNAVAILABLE, settings.twilio_transfer_to))
    caller = digits_of(form.get("From"))
    try:
        conversation, token = gateway.router.start("voice", line="twilio", caller=caller)
    except DatabaseError as error:  # locked, read-only, disk full: people take the call
        logger.error("twilio.database_unavailable error=%s", error)
        return twiml(_cannot_take(PHONE_UNAVAILABLE, settings.twilio_transfer_to))
    logger.info("twilio.incoming conversation=%s caller=%s", conversation.id, masked(caller))
    stream_url = base.replace("https://", "wss://").replace("http://", "ws://") + STREAM_PATH
    response = _connect_stream(stream_url, {"conversation": conversation.id, "token": token})
    response.extend(_if_the_stream_breaks(settings, conversation.id))
    return twiml(response)


def twiml(response: ET.Element) -> web.Response:
    body = ET.tostring(response, encoding="unicode", xml_declaration=False)
    return web.Response(
        text='<?xml version="1.0" encoding="UTF-8"?>' + body, content_type="text/xml"
    )


def _connect_stream(url: str, parameters: dict[str, str]) -> ET.Element:
    response = ET.Element("Response")
    stream = ET.SubElement(ET.SubElement(response, "Connect"), "Stream", url=url)
    for name, value in parameters.items():
        ET.SubElement(stream, "Parameter", name=name, value=value)
    return response


def _if_the_stream_breaks(settings: TelephonySettings, conversation_id: str) -> list[ET.Element]:
    """The TwiML after `<Connect>`, which Twilio follows once the stream's WebSocket closes: a
    person when there is a transfer number, else how to reach us; never silence.

    Only with the auth token: the bot's own endings must then end the call through Twilio's
    REST API (`TwilioLine.hang_up`), or they would fall through to this too."""
    if not settings.twilio_auth_token:
        return []
    response = _cannot_take(STREAM_LOST, settings.twilio_transfer_to, conversation_id)
    return list(response)


def _hang_up() -> ET.Element:
    response = ET.Element("Response")
    ET.SubElement(response, "Hangup")
    return response


def _cannot_take(why: str, transfer_to: str, conversation_id: str = "") -> ET.Element:
    """The bot cannot take the call (busy, or no speech model): the caller hears why, then a
    person when there is a number to transfer to, or how else to reach us."""
    response = ET.Element("Response")
    then = PHONE_UNAVAILABLE_TRANSFER if transfer_to else PHONE_UNAVAILABLE_LATER
    ET.SubElement(response, "Say", language=SPANISH).text = f"{why} {then}"
    if transfer_to:
        response.append(dial(transfer_to, conversation_id)[0])
    else:
        ET.SubElement(response, "Hangup")
    return response


def dial(destination: str, conversation_id: str) -> ET.Element:
    """TwiML that transfers the call; a SIP destination also gets the conversation's id in an
    X- header, so the PBX can open it on the agent desk."""
    response = ET.Element("Response")
    dial_verb = ET.SubElement(response, "Dial")
    if not destination.startswith("sip:"):
        ET.SubElement(dial_verb, "Number").text = destination
    elif conversation_id:
        joiner = "&" if "?" in destination else "?"
        header = f"{joiner}X-Conversation={conversation_id}"
        ET.SubElement(dial_verb, "Sip").text = destination + header
    else:
        ET.SubElement(dial_verb, "Sip").text = destination
    return response


class TwilioLine(PhoneLine):
    """One Media Stream.

    Args:
        socket: the stream's WebSocket.
        clock: the call's clock.
        start: the `start` message's `start` object (stream, call and account ids).
        settings: telephony settings (keypad, transfers).
    """

    def __init__(
        self,
        socket: web.WebSocketResponse,
        clock: Clock,
        start: dict[str, Any],
        stream_sid: str,
        settings: TelephonySettings,
    ) -> None:
        super().__init__(clock, "twilio", LEAD_S, settings.keypad_pause_s, can_clear=True)
        self._socket = socket
        self._settings = settings
        self.stream_sid = stream_sid
        self.call_sid = str(start.get("callSid", ""))
        self.account_sid = str(start.get("accountSid", ""))
        self._marks = 0
        self._transfer: asyncio.Task[None] | None = None
        self._stopped = False  # Twilio ended the stream: the caller hung up, or a transfer
        self._transferred = False
        self._hung_up = False
        self.gateway: Gateway | None = None
        self.output.drained = self._mark_reply_end

    async def read(self) -> None:
        """Reads Twilio's messages until `stop`, a broken message or the socket's end."""
        try:
            async for message in self._socket:
                if message.type != WSMsgType.TEXT:
                    raise LineProtocolError(f"unexpected WebSocket frame {message.type.name}")
                if await self._on_message(_parse(message.data)):
                    return
        except LineProtocolError as error:
            logger.warning(
                "twilio.protocol_error conversation=%s error=%s", self.conversation_id, error
            )
            await self._socket.close(code=INVALID, message=str(error)[:120].encode())
        finally:
            self.ended()

    async def _on_message(self, message: dict[str, Any]) -> bool:
        """Handles one message; True once the stream has stopped."""
        event = message.get("event")
        if event == "media":
            media = _object(message, "media")
            if media.get("track", "inbound") != "inbound":
                return False  # only the caller's side is ours to hear
            self.heard(ulaw_to_linear(_base64(media.get("payload"))))
        elif event == "dtmf":
            await self.pressed(str(_object(message, "dtmf").get("digit", "")))
        elif event == "mark":
            logger.debug("twilio.mark_played name=%s", _object(message, "mark").get("name"))
        elif event == "stop":
            self._stopped = True
            return True
        else:
            raise LineProtocolError(f"unexpected event {str(event)[:40]!r}")
        return False

    async def send_phone_audio(self, pcm8k: bytes) -> None:
        payload = base64.b64encode(linear_to_ulaw(pcm8k)).decode()
        await self._send_json({"event": "media", "media": {"payload": payload}})

    async def clear_far_end(self) -> None:
        await self._send_json({"event": "clear"})

    async def _mark_reply_end(self) -> None:
        self._marks += 1
        await self._send_json({"event": "mark", "mark": {"name": f"reply-{self._marks}"}})

    async def _send_json(self, message: dict[str, Any]) -> None:
        # a caller who hung up is seen by the reader when the socket ends
        with contextlib.suppress(ConnectionError):
            if not self._socket.closed:
                await self._socket.send_str(json.dumps({**message, "streamSid": self.stream_sid}))

    async def hang_up(self, reason: str) -> None:
        """Ends the call from our side. Closing the stream alone would make Twilio go on with
        the TwiML after `<Connect>` (the way out of a broken stream: a transfer or how to reach
        us), so with the REST API at hand the call itself is hung up first. A stream Twilio
        already ended (the caller hung up, a transfer) is only closed."""
        if self._hung_up:
            return
        self._hung_up = True
        logger.info("twilio.hang_up conversation=%s reason=%s", self.conversation_id, reason)
        live = not (self._stopped or self._transferred or self._socket.closed)
        if live and self._settings.twilio_auth_token and self.account_sid and self.call_sid:
            try:
                await update_call(self._settings, self.account_sid, self.call_sid, _hang_up())
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                logger.error(
                    "twilio.hang_up_failed conversation=%s error=%s (the caller hears the way "
                    "out of a broken stream)", self.conversation_id, type(error).__name__,
                )  # fmt: skip
        await self._socket.close()

    def notify(self, event: dict[str, Any]) -> None:
        queued = event.get("type") == "state" and event["conversation"]["state"] == State.QUEUED
        if queued and self._settings.twilio_transfer_to and self._transfer is None:
            self._transfer = asyncio.create_task(self._transfer_call())

    async def _transfer_call(self) -> None:
        """After the bot's transfer words, Twilio dials the configured destination; if that
        fails the caller simply stays in the desk's queue (they are never left in silence)."""
        destination = self._settings.twilio_transfer_to
        if self.call is not None:
            await self.call.last_words_heard()
        if self.gateway is None:
            return
        router = self.gateway.router
        # marked first: Twilio ends this stream as soon as the call follows the <Dial>
        await router.transferred(self.conversation_id, destination)
        try:
            await update_call(self._settings, self.account_sid, self.call_sid,
                              dial(destination, self.conversation_id))  # fmt: skip
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            logger.error(
                "twilio.transfer_failed conversation=%s error=%s",
                self.conversation_id,
                type(error).__name__,
            )
            await router.transfer_failed(self.conversation_id)
            if self._socket.closed:  # the caller hung up meanwhile: nobody left to wait
                await router.caller_hung_up(self.conversation_id)
            return
        self._transferred = True
        logger.info("twilio.transferred conversation=%s", self.conversation_id)


async def update_call(
    settings: TelephonySettings, account_sid: str, call_sid: str, response: ET.Element
) -> None:
    """Twilio's call-update API: the live call follows new TwiML at once."""
    url = f"{settings.twilio_api_url}/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json"
    body = {"Twiml": ET.tostring(response, encoding="unicode")}
    auth = aiohttp.BasicAuth(account_sid, settings.twilio_auth_token)
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(url, data=body, auth=auth) as answer_,
    ):
        answer_.raise_for_status()


def _parse(data: str) -> dict[str, Any]:
    try:
        message = json.loads(data)
    except ValueError as error:
        raise LineProtocolError("message is not JSON") from error
    if not isinstance(message, dict):
        raise LineProtocolError("message is not a JSON object")
    return message


def _object(message: dict[str, Any], key: str) -> dict[str, Any]:
    value = message.get(key)
    if not isinstance(value, dict):
        raise LineProtocolError(f"{key} message without its {key} object")
    return value


def _base64(payload: Any) -> bytes:
    if not isinstance(payload, str) or not payload:
        raise LineProtocolError("media without payload")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as error:
        raise LineProtocolError("media payload is not base64") from error


async def _start_message(socket: web.WebSocketResponse) -> dict[str, Any]:
    """Waits for `connected` (optional) and `start`; returns the `start` message."""
    for _ in range(2):
        message = await socket.receive(timeout=START_TIMEOUT_S)
        if message.type != WSMsgType.TEXT:
            raise LineProtocolError("stream closed before start")
        parsed = _parse(message.data)
        if parsed.get("event") == "start":
            return parsed
        if parsed.get("event") != "connected":
            raise LineProtocolError(f"expected start, got {str(parsed.get('event'))[:40]!r}")
    raise LineProtocolError("no start message")


async def _stop_reading(reader: asyncio.Task[None], socket: web.WebSocketResponse) -> None:
    """Stops the stream's reader; one that is closing the socket (a malformed message: 1007)
    finishes first, as a cancelled close would reach Twilio as a broken connection (1006)."""
    if socket.closed and not reader.done():
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
            await asyncio.wait_for(asyncio.shield(reader), CLOSE_WAIT_S)
    reader.cancel()
    try:
        await reader
    except asyncio.CancelledError:
        pass
    except Exception:  # noqa: BLE001 - the call is over either way; the hang-up must follow
        logger.exception("twilio.reader_failed")


async def media_stream(request: web.Request) -> web.WebSocketResponse:
    """The call's audio, both ways, for its whole length."""
    gateway = request.app[GATEWAY]
    socket = web.WebSocketResponse(max_msg_size=MAX_MESSAGE_BYTES)
    await socket.prepare(request)
    try:
        message = await _start_message(socket)
        start = _object(message, "start")
        parameters = start.get("customParameters") or {}
        if not isinstance(parameters, dict):
            raise LineProtocolError("customParameters is no object")
    except (LineProtocolError, asyncio.TimeoutError) as error:
        logger.warning("twilio.bad_start error=%s", error)
        await socket.close(code=INVALID, message=b"expected connected and start")
        return socket
    conversation_id, token = str(parameters.get("conversation", "")), parameters.get("token")
    if not isinstance(token, str) or not gateway.store.token_matches(conversation_id, token):
        await socket.close(code=UNAUTHORIZED, message=b"unknown call")
        return socket
    conversation = gateway.router.get(conversation_id)
    refused = refusal(gateway, conversation)
    if refused is not None:
        await socket.close(code=refused[0], message=b"call refused")
        return socket
    clock = WallClock()
    stream_sid = str(message.get("streamSid") or start.get("streamSid") or "")
    line = TwilioLine(socket, clock, start, stream_sid, gateway.gateway_settings.telephony)
    metadata = {"line": "twilio", "caller": conversation.caller}
    call = GatewayCall(gateway, conversation, line, clock, metadata)
    line.call, line.gateway, line.conversation_id = call, gateway, conversation.id
    reader = asyncio.create_task(line.read())
    reason = "unavailable"
    try:
        reason = await answer(gateway, call)
    finally:
        await _stop_reading(reader, socket)
        if reason == "unavailable":  # no speech model after all: Twilio's TwiML takes over
            await socket.close()
        else:  # the call's end (silence, the conversation closed): the call ends, not the TwiML
            await line.hang_up(reason)
    return socket
