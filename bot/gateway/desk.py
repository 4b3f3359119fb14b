"""The agent desk's API: login, the queues, taking a conversation, and the supervisor's figures.

Every endpoint needs the `desk_session` cookie (HttpOnly, SameSite=Strict) from the login;
WebSockets also check that they are opened from the gateway's own pages (Origin).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import WSMsgType, web

from bot.channels.call_audio import valid_frame
from bot.channels.webchat import callback_json
from bot.db import DatabaseError
from bot.edge.context import GATEWAY, Gateway
from bot.edge.http import client_address, cookie, read_json
from bot.edge.sockets import MAX_WS_MESSAGE_BYTES, UNAUTHORIZED, forward, json_object
from bot.edge.voice_bridge import Voice
from bot.errors import RequestError
from bot.handoff.accounts import SESSION_HOURS
from bot.handoff.models import REASON_TEXTS, Agent, Conversation, State, reason_text
from bot.handoff.phone_numbers import group_digits
from bot.handoff.queue import waiting_seconds
from bot.nlu.labels import intent_labels
from bot.text import MAX_CHARS, printable

COOKIE = "desk_session"
REASONS_WINDOW_S = 24 * 3600  # the supervisor's handoff reasons: the last 24 hours


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/desk/login", login)
    app.router.add_post("/api/desk/logout", logout)
    app.router.add_get("/api/desk/me", me)
    app.router.add_get("/api/desk/queue", get_queue)
    app.router.add_get("/api/desk/conversations/{id}", get_conversation)
    app.router.add_post("/api/desk/conversations/{id}/accept", accept)
    app.router.add_post("/api/desk/conversations/{id}/messages", post_message)
    app.router.add_post("/api/desk/conversations/{id}/bot", hand_back)
    app.router.add_post("/api/desk/conversations/{id}/close", close)
    app.router.add_post("/api/desk/callbacks/{id}/done", callback_done)
    app.router.add_get("/api/desk/supervisor", supervisor)
    app.router.add_get("/api/desk/events", events)
    app.router.add_get("/api/desk/conversations/{id}/audio", agent_audio)
    app.router.add_get("/api/desk/intents", intents)
    app.router.add_post("/api/desk/conversations/{id}/corrections", correct)


def current_agent(
    request: web.Request, supervisor: bool = False, trainer: bool = False
) -> tuple[Gateway, Agent]:
    """The logged-in account; trainers only where `trainer` (they do not take conversations)."""
    gateway = request.app[GATEWAY]
    agent = gateway.accounts.session_agent(cookie(request, COOKIE))
    if agent is None:
        raise RequestError(401, "Inicie sesión en el escritorio de agentes.")
    if agent.role == "trainer" and not trainer:
        raise RequestError(403, "Su cuenta es de entrenamiento: entre en /trainer.")
    if supervisor and not agent.is_supervisor:
        raise RequestError(403, "Esta vista es solo para supervisores.")
    return gateway, agent


async def login(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or len(password) > 200:
        raise RequestError(422, "Escriba su usuario y su contraseña.")
    address = client_address(request, gateway.gateway_settings.trusted_proxies)
    if not (
        gateway.login_address_limits.allow(address)
        and gateway.login_limits.allow(f"{address}|{username.strip().lower()}")
    ):
        raise RequestError(429, "Demasiados intentos. Espere unos minutos y vuelva a probar.")
    loop = asyncio.get_running_loop()
    verify = gateway.accounts.verify
    agent = await loop.run_in_executor(gateway.password_executor, verify, username, password)
    if agent is None:
        raise RequestError(401, "Usuario o contraseña incorrectos.")
    response = web.json_response({"agent": agent.to_json()})
    response.set_cookie(
        COOKIE,
        gateway.accounts.open_session(agent),
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
    )
    return response


async def logout(request: web.Request) -> web.Response:
    gateway = request.app[GATEWAY]
    token = cookie(request, COOKIE)
    if token:
        gateway.accounts.close_session(token)
    response = web.json_response({"ok": True})
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    _, agent = current_agent(request, trainer=True)
    return web.json_response(agent.to_json())


def queue_view(gateway: Gateway, agent: Agent) -> dict[str, Any]:
    """The queues this agent serves, what they hold, and the open callbacks."""
    router = gateway.router
    places = gateway.queue.places()  # one read of the queue for every line of it
    departments = [
        {
            "id": department,
            "name": name,
            "waiting": [
                router.waiting_view(c, places.get(c.id)) for c in gateway.queue.waiting(department)
            ],
        }
        for department, name in gateway.departments.names.items()
        if agent.serves(department) or agent.is_supervisor
    ]
    held = gateway.store.in_state(State.AGENT)
    callbacks = [
        callback_json(gateway, c)
        for c in gateway.store.open_callbacks()
        if agent.serves(c.department) or agent.is_supervisor
    ]
    return {
        "departments": departments,
        "mine": [router.waiting_view(c) for c in held if c.agent_id == agent.id],
        "callbacks": callbacks,
    }


async def get_queue(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    return web.json_response(queue_view(gateway, agent))


async def get_conversation(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    conversation = gateway.router.get(request.match_info["id"])
    _check_department(agent, conversation.department)
    handoff = dict(conversation.handoff or {})
    handoff["reason_text"] = reason_text(conversation.reason)
    handoff["department_name"] = gateway.departments.name(conversation.department)
    holder = gateway.store.agent(conversation.agent_id) if conversation.agent_id else None
    snapshot = gateway.router.snapshot(conversation)
    snapshot["line"] = conversation.line
    snapshot["caller"] = group_digits(conversation.caller) if conversation.caller else None
    body = {
        "conversation": snapshot,
        "handoff": handoff,
        "agent": holder.to_json() if holder and conversation.state == State.AGENT else None,
    }
    return web.json_response(body)


async def intents(request: web.Request) -> web.Response:
    """What the assistant can understand, in trainers' words, for an agent's correction."""
    gateway, _ = current_agent(request)
    return web.json_response({"intents": known_intents(gateway)})


def known_intents(gateway: Gateway) -> list[dict[str, str]]:
    """Every intent the assistant is taught (trainers may have added some), with its label."""
    labels = intent_labels(gateway.gateway_settings.project_dir)
    taught = dict.fromkeys(example.intent for example in gateway.nlu_data.examples())
    return [{"name": name, "label": labels.get(name, name)} for name in taught]


async def correct(request: web.Request) -> web.Response:
    """An agent says what a customer's message really meant: it goes to the trainers' inbox."""
    gateway, agent = current_agent(request)
    conversation = gateway.router.get(request.match_info["id"])
    _check_department(agent, conversation.department)
    body = await read_json(request)
    message_id, intent = body.get("message_id"), body.get("intent")
    known = {item["name"] for item in known_intents(gateway)}
    if not isinstance(intent, str) or intent not in known:
        raise RequestError(422, "Elija una de las intenciones de la lista.")
    said = [m for m in gateway.store.messages(conversation.id) if m.id == message_id]
    if not said or said[0].author != "customer":
        raise RequestError(404, "Ese mensaje del cliente no está en la conversación.")
    gateway.router.inbox_correction(conversation, said[0], intent)
    return web.json_response({"ok": True})


async def accept(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    conversation = gateway.router.get(request.match_info["id"])
    _check_department(agent, conversation.department)
    conversation = await gateway.router.accept(conversation.id, agent)
    return web.json_response(gateway.router.snapshot(conversation))


async def post_message(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    body = await read_json(request)
    raw = body.get("text")
    if not isinstance(raw, str) or not printable(raw):
        raise RequestError(422, "Escriba un mensaje.")
    if len(raw) > MAX_CHARS:
        raise RequestError(413, f"El mensaje es demasiado largo (máximo {MAX_CHARS} caracteres).")
    message = await gateway.router.agent_message(request.match_info["id"], agent, printable(raw))
    return web.json_response({"message": message.to_json()})


async def hand_back(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    conversation = await gateway.router.hand_back(request.match_info["id"], agent)
    return web.json_response(gateway.router.snapshot(conversation, with_messages=False))


async def close(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    _check_department(agent, gateway.router.get(request.match_info["id"]).department)
    conversation = await gateway.router.close(request.match_info["id"], agent)
    return web.json_response(gateway.router.snapshot(conversation, with_messages=False))


async def callback_done(request: web.Request) -> web.Response:
    gateway, agent = current_agent(request)
    try:
        callback_id = int(request.match_info["id"])
    except ValueError as error:
        raise RequestError(404, "No existe esa devolución de llamada.") from error
    callback = next((c for c in gateway.store.open_callbacks() if c.id == callback_id), None)
    if callback is not None:
        _check_department(agent, callback.department)
    if not gateway.store.finish_callback(callback_id):
        raise RequestError(404, "No existe esa devolución de llamada o ya estaba hecha.")
    gateway.hub.to_desks({"type": "queue"})
    return web.json_response({"ok": True})


async def supervisor(request: web.Request) -> web.Response:
    gateway, _ = current_agent(request, supervisor=True)
    held = gateway.store.in_state(State.AGENT)
    departments = []
    for department, name in gateway.departments.names.items():
        waiting = gateway.queue.waiting(department)
        departments.append(
            {
                "id": department,
                "name": name,
                "waiting": len(waiting),
                "longest_wait_s": max((waiting_seconds(c) for c in waiting), default=0),
                "agents_online": len(gateway.presence.online(department)),
            }
        )
    agents = [
        {
            "name": agent.name,
            "username": agent.username,
            "role": agent.role,
            "online": gateway.presence.is_online(agent.id),
            "conversations": sum(1 for c in held if c.agent_id == agent.id),
        }
        for agent in gateway.store.agents()
    ]
    body = {
        "departments": departments,
        "agents": agents,
        "reasons": gateway.store.reason_counts(time.time() - REASONS_WINDOW_S),
        "reason_texts": REASON_TEXTS,  # every reason, in the order the view lists them
        "callbacks_open": len(gateway.store.open_callbacks()),
    }
    return web.json_response(body)


async def events(request: web.Request) -> web.WebSocketResponse:
    """Live desk: queue changes, messages of the conversations, typing. Being connected is
    what makes an agent count as online for the queue's estimates."""
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_WS_MESSAGE_BYTES)
    await socket.prepare(request)
    try:
        gateway, agent = current_agent(request)
        same_origin(request)
    except RequestError:
        await socket.close(code=UNAUTHORIZED, message=b"unauthorized")
        return socket
    subscription = gateway.hub.watch_desk(agent)
    gateway.presence.arrive(agent)
    await gateway.router.agents_changed()
    await socket.send_json({"type": "queue", "queue": queue_view(gateway, agent)})
    token = cookie(request, COOKIE)
    sender = asyncio.create_task(
        forward(
            subscription,
            socket,
            render_queue=lambda: {"type": "queue", "queue": queue_view(gateway, agent)},
            still_allowed=lambda: gateway.accounts.session_agent(token) is not None,
        )
    )
    try:
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                with contextlib.suppress(RequestError):
                    event = json_object(message.data)
                    typing = event.get("type") == "typing"
                    if typing and gateway.typing_limits.allow(f"agent:{agent.id}"):
                        conversation = gateway.router.get(str(event.get("conversation")))
                        gateway.router.agent_typing(conversation, agent)
    finally:
        sender.cancel()
        gateway.hub.unwatch_desk(subscription)
        gateway.presence.leave(agent)
        await gateway.router.agents_changed()
    return socket


def same_origin(request: web.Request) -> None:
    """Cookies go with any site's WebSocket: refuse sockets opened from other origins."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise RequestError(403, "Origen no permitido.")


async def agent_audio(request: web.Request) -> web.WebSocketResponse:
    """The agent talks with a caller: the caller's voice arrives here, the agent's goes out.
    A call on another gateway is reached through Redis (bot/edge/voice_bridge.py)."""
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_WS_MESSAGE_BYTES)
    await socket.prepare(request)
    try:
        gateway, agent = current_agent(request)
        same_origin(request)
        conversation = gateway.router.get(request.match_info["id"])
        call = gateway.calls.get(conversation.id)
        elsewhere = call is None and _call_on_another_gateway(gateway, conversation)
        if (
            (call is None and not elsewhere)
            or conversation.agent_id != agent.id
            or (conversation.state != State.AGENT)
        ):
            raise RequestError(409, "Esta llamada no la está atendiendo usted.")
    except RequestError as error:
        await socket.close(code=UNAUTHORIZED if error.status == 401 else 4409)
        return socket
    if call is None:
        await _talk_across_gateways(gateway, socket, conversation.id, agent.id)
        return socket
    call.agent_listeners.add(socket)
    try:
        async for message in socket:
            pcm = message.data if message.type == WSMsgType.BINARY else b""
            if valid_frame(pcm) and call.agent_may_talk:  # not after a hand-back or close
                call.agent_says(pcm)
    finally:
        call.agent_listeners.discard(socket)
    return socket


def _call_on_another_gateway(gateway: Gateway, conversation: Conversation) -> bool:
    return (
        gateway.voice_bridge is not None
        and conversation.channel == "voice"
        and conversation.gateway not in (None, gateway.gateway_settings.gateway_id)
    )


async def _talk_across_gateways(
    gateway: Gateway, socket: web.WebSocketResponse, conversation_id: str, agent_id: int
) -> None:
    """The agent's socket here, the caller's line on another gateway: the voices go through
    Redis both ways until the agent hangs up or the conversation leaves them (a hand-back, a
    close: the relayed state event says so)."""
    assert gateway.voice_bridge is not None
    bridge = gateway.voice_bridge
    subscription = gateway.hub.watch_conversation(conversation_id)
    to_caller = bridge.sender(conversation_id, Voice.AGENT)
    still_theirs = asyncio.Event()
    still_theirs.set()

    async def caller_to_agent() -> None:
        async for pcm in bridge.frames(conversation_id, Voice.CALLER):
            with contextlib.suppress(ConnectionError):
                await socket.send_bytes(pcm)

    async def until_no_longer_theirs() -> None:
        while (event := await subscription.events.get()) is not None:
            if event["type"] != "state" or event["conversation"]["state"] == State.AGENT.value:
                continue
            # events from other gateways may come late, after newer ones: the database says
            with contextlib.suppress(RequestError, DatabaseError):
                now = gateway.router.get(conversation_id)
                if now.state == State.AGENT and now.agent_id == agent_id:
                    continue
            break
        still_theirs.clear()
        await socket.close(code=1000, message=b"ended")

    helpers = [
        asyncio.create_task(caller_to_agent()),
        asyncio.create_task(until_no_longer_theirs()),
    ]
    try:
        async for message in socket:
            pcm = message.data if message.type == WSMsgType.BINARY else b""
            if valid_frame(pcm) and still_theirs.is_set():
                to_caller.send(pcm)
    finally:
        for task in helpers:
            task.cancel()
        to_caller.close()
        gateway.hub.unwatch_conversation(conversation_id, subscription)


def _check_department(agent: Agent, department: str | None) -> None:
    """Agents work on their own departments' conversations; supervisors on all."""
    if not (agent.is_supervisor or agent.serves(department)):
        raise RequestError(403, "Esto es de otro departamento.")
