"""The customer's side of the gateway: conversations, messages, callbacks and live updates.

A conversation's secret token (Authorization: Bearer …, or the first WebSocket message) is the
only way in: customers reach their own conversation and nobody else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSMsgType, web

from bot.edge.context import GATEWAY, Gateway
from bot.edge.http import client_address, read_json
from bot.edge.sockets import MAX_WS_MESSAGE_BYTES, UNAUTHORIZED, forward, json_object
from bot.errors import RequestError
from bot.handoff import notices
from bot.handoff.models import Callback, Conversation, Message, iso
from bot.text import MAX_CHARS, clean_text, has_words, printable

AUTH_TIMEOUT_S = 10
logger = logging.getLogger(__name__)
UNEXPECTED = "Ha ocurrido un error inesperado con su mensaje. ¿Puede enviarlo de nuevo?"


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/conversations", start)
    app.router.add_get("/api/conversations/{id}", get_conversation)
    app.router.add_post("/api/conversations/{id}/messages", post_message)
    app.router.add_post("/api/conversations/{id}/callback", post_callback)
    app.router.add_post("/api/conversations/{id}/bot", post_back_to_bot)
    app.router.add_get("/api/conversations/{id}/events", events)


async def start(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    address = client_address(request, gateway.gateway_settings.trusted_proxies)
    if not gateway.start_limits.allow(address):
        raise RequestError(429, "Demasiadas conversaciones nuevas seguidas. Espere un minuto.")
    body = await read_json(request) if request.can_read_body else {}
    channel = str(body.get("channel", "webchat"))
    line = "browser" if channel == "voice" else None
    conversation, token = gateway.router.start(channel, line=line)
    snapshot = gateway.router.snapshot(conversation)
    return web.json_response(
        {"id": conversation.id, "token": token, "conversation": snapshot}, status=201
    )


async def get_conversation(request: web.Request) -> web.Response:
    gateway, conversation = _authorized(request)
    return web.json_response(gateway.router.snapshot(conversation))


async def post_message(request: web.Request) -> web.Response:
    gateway, conversation = _authorized(request)
    body = await read_json(request)
    produced = await receive_text(gateway, conversation.id, body.get("text"))
    snapshot = gateway.router.snapshot(gateway.router.get(conversation.id), with_messages=False)
    return web.json_response(
        {"messages": [m.to_json() for m in produced], "conversation": snapshot}
    )


async def post_callback(request: web.Request) -> web.Response:
    gateway, conversation = _authorized(request)
    body = await read_json(request)
    phone, when = body.get("phone"), body.get("when")
    if not isinstance(phone, str) or (when is not None and not isinstance(when, str)):
        raise RequestError(
            422, "Indique un teléfono, y si quiere, cuándo prefiere que le llamemos."
        )
    callback = await gateway.router.request_callback(conversation.id, phone, when or "")
    gateway.hub.to_desks({"type": "queue"})
    body = {
        "callback": callback_json(gateway, callback),
        "conversation": gateway.router.snapshot(gateway.router.get(conversation.id), False),
    }
    return web.json_response(body, status=201)


async def post_back_to_bot(request: web.Request) -> web.Response:
    gateway, conversation = _authorized(request)
    conversation = await gateway.router.back_to_bot(conversation.id)
    return web.json_response(gateway.router.snapshot(conversation))


async def receive_text(gateway: Gateway, conversation_id: str, raw: Any) -> list[Message]:
    """Checks one customer message (type, size, rate) and routes it."""
    if not isinstance(raw, str):
        raise RequestError(422, "Escriba un mensaje de texto.")
    if len(raw) > MAX_CHARS:
        raise RequestError(413, notices.TOO_LONG.format(limit=MAX_CHARS))
    text = printable(raw)
    if not text:
        raise RequestError(422, "No me ha llegado ningún mensaje. ¿En qué puedo ayudarle?")
    if not gateway.message_limits.allow(conversation_id):
        raise RequestError(429, notices.TOO_FAST)
    # the assistant reads clean text; symbols-only input still reaches the channel's own answer
    to_assistant = clean_text(text) if has_words(clean_text(text)) else text
    return await gateway.router.customer_message(conversation_id, text, to_assistant)


async def open_customer_socket(
    request: web.Request,
) -> tuple[Gateway, web.WebSocketResponse, Conversation | None]:
    """Accepts a customer's WebSocket and waits for its token (None: refused and closed)."""
    gateway = request.app[GATEWAY]
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_WS_MESSAGE_BYTES)
    await socket.prepare(request)
    conversation = await authenticate_socket(gateway, socket, request.match_info["id"])
    return gateway, socket, conversation


async def events(request: web.Request) -> web.WebSocketResponse:
    """Live updates for one conversation; the customer can also send messages through it."""
    gateway, socket, conversation = await open_customer_socket(request)
    if conversation is None:
        return socket
    subscription = gateway.hub.watch_conversation(conversation.id)
    snapshot = gateway.router.snapshot(conversation)
    await socket.send_json({"type": "snapshot", "conversation": snapshot})
    sender = asyncio.create_task(forward(subscription, socket))
    try:
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            await _on_client_event(gateway, socket, conversation.id, message.data)
    finally:
        gateway.hub.unwatch_conversation(conversation.id, subscription)
        sender.cancel()
    return socket


async def authenticate_socket(
    gateway: Gateway, socket: web.WebSocketResponse, conversation_id: str
) -> Conversation | None:
    """Waits for `{"type": "auth", "token"}`; closes with 4401 when it does not come or fits."""
    with contextlib.suppress(asyncio.TimeoutError, ValueError, TypeError):
        first = await socket.receive_json(timeout=AUTH_TIMEOUT_S)
        token = first.get("token") if isinstance(first, dict) else None
        if isinstance(token, str) and gateway.store.token_matches(conversation_id, token):
            return gateway.store.conversation(conversation_id)
    await socket.close(code=UNAUTHORIZED, message=b"unauthorized")
    return None


async def _on_client_event(
    gateway: Gateway, socket: web.WebSocketResponse, conversation_id: str, data: str
) -> None:
    try:
        event = json_object(data)
        if event.get("type") == "message":  # (the router reads the conversation itself)
            await receive_text(gateway, conversation_id, event.get("text"))
        elif event.get("type") == "typing" and gateway.typing_limits.allow(conversation_id):
            gateway.router.customer_typing(gateway.router.get(conversation_id))
    except RequestError as error:
        await socket.send_json({"type": "error", "text": error.text})
    except Exception:  # noqa: BLE001 - the customer's socket must outlive any one failure
        logger.exception("webchat.event_failed conversation=%s", conversation_id)
        await socket.send_json({"type": "error", "text": UNEXPECTED})


def _authorized(request: web.Request) -> tuple[Gateway, Conversation]:
    gateway = request.app[GATEWAY]
    conversation_id = request.match_info["id"]
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip()
    if not token or not gateway.store.token_matches(conversation_id, token):
        raise RequestError(404, "No existe esa conversación.")
    return gateway, gateway.router.get(conversation_id)


def callback_json(gateway: Gateway, callback: Callback) -> dict[str, Any]:
    return {
        "id": callback.id,
        "conversation": callback.conversation_id,
        "phone": callback.phone,
        "when": callback.when,
        "department_name": gateway.departments.name(callback.department),
        "created_at": iso(callback.created_at),
        "done": callback.done_at is not None,
    }
