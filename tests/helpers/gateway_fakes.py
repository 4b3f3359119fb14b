"""Test doubles for the contact-centre gateway: a scripted assistant instead of Rasa, a gateway
on a temporary SQLite file, and small clients that speak its HTTP and WebSocket API.

No real Rasa: `FakeAssistant` has the methods of `bot.assistant.client.AssistantClient`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import DummyCookieJar, WSMsgType
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher

from bot.assistant.contract import BotReply, DialogueUnavailable
from bot.edge.context import Gateway, build_gateway
from bot.gateway.app import build_app
from bot.handoff.departments import Departments
from bot.handoff.hub import EventHub, Subscription
from bot.handoff.models import Agent
from bot.handoff.queue import HandoffQueue, Presence
from bot.handoff.router import ConversationRouter
from bot.handoff.store import GatewayStore
from bot.settings import PROJECT_ROOT, GatewaySettings, Settings, VoiceSettings

DEFAULT_ANSWER = "De acuerdo."
PASSWORD = "contraseña-de-prueba"
DEPARTMENTS = Departments(
    {"technical_support": "soporte técnico", "sales": "ventas", "complaints": "reclamaciones"},
    default="technical_support",
)
# Still Argon2id, but cheap: the tests log in often and the default parameters cost ~100 ms
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def unavailable() -> DialogueUnavailable:
    return DialogueUnavailable("connection refused")


def handoff(
    reason: str = "user_request",
    department: str | None = "sales",
    priority: str = "normal",
    **extra: Any,
) -> dict[str, Any]:
    """The contract's handoff message, as the action server sends it."""
    return {
        "reason": reason,
        "department": department,
        "priority": priority,
        "summary": "Quiere hablar con una persona.",
        "intents": ["request_human"],
        "slots": {},
        **extra,
    }


def handoff_reply(text: str = "Le paso con una persona.", **handoff_fields: Any) -> BotReply:
    return BotReply([text] if text else [], handoff=handoff(**handoff_fields))


class FakeAssistant:
    """Stands in for AssistantClient: answers from a script, records what it was asked.

    Each scripted item is a BotReply (texts, buttons, a handoff, or nothing at all) or an
    exception to raise (e.g. DialogueUnavailable). Once the script is used up it answers
    DEFAULT_ANSWER, so tests only script the turns they look at.

    Attributes:
        sent: (conversation_id, text, channel, metadata) of every `send`.
        resumed: conversation ids of every `resume`.
        is_healthy: whether `rasa_status()` and `actions_status()` answer "ok" (else "down").
        resume_error: raised by `resume` when set.
    """

    def __init__(self, replies: Sequence[BotReply | Exception] = (), healthy: bool = True) -> None:
        self._replies = list(replies)
        self.sent: list[tuple[str, str, str, dict[str, Any]]] = []
        self.resumed: list[str] = []
        self.is_healthy = healthy
        self.resume_error: Exception | None = None
        self.closed = False

    def script(self, *replies: BotReply | Exception) -> None:
        self._replies.extend(replies)

    @property
    def texts(self) -> list[str]:
        return [text for _, text, _, _ in self.sent]

    async def send(
        self, conversation_id: str, text: str, channel: str, metadata: dict[str, Any]
    ) -> BotReply:
        self.sent.append((conversation_id, text, channel, metadata))
        reply = self._replies.pop(0) if self._replies else BotReply([DEFAULT_ANSWER])
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def resume(self, conversation_id: str) -> None:
        self.resumed.append(conversation_id)
        if self.resume_error is not None:
            raise self.resume_error

    async def rasa_status(self) -> str:
        return "ok" if self.is_healthy else "down"

    async def actions_status(self) -> str:
        return "ok" if self.is_healthy else "down"

    async def close(self) -> None:
        self.closed = True


def gateway_settings(database: Path | str, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(database=database, **overrides)


def make_router(
    store: GatewayStore, assistant: FakeAssistant, settings: GatewaySettings
) -> ConversationRouter:
    """A router with its own hub, presence and queue, on `store`."""
    presence = Presence()
    queue = HandoffQueue(store, presence, settings.default_handle_minutes * 60)
    return ConversationRouter(
        store,
        assistant,  # type: ignore[arg-type]
        EventHub(),
        queue,
        presence,
        DEPARTMENTS,
        settings,
    )


def make_gateway(
    database: Path | str,
    assistant: FakeAssistant,
    data_dir: Path | None = None,
    **overrides: Any,
) -> Gateway:
    """What build_gateway makes, with the fake assistant, test departments and a cheap hasher.

    Args:
        database: the SQLite file (a second gateway on the same file is a restart), or a
            database URL (then `data_dir` is needed).
        overrides: GatewaySettings fields (messages_per_minute, callback_offer_minutes…).
    """
    folder = data_dir or Path(database).parent
    return build_gateway(
        Settings(
            host="127.0.0.1",
            rasa_port=5005,
            actions_port=5055,
            data_dir=folder,
            models_dir=folder,
            reply_timeout=5.0,
            rasa_token="unused",
        ),
        gateway_settings(database, **overrides),
        assistant=assistant,  # type: ignore[arg-type]
        departments=DEPARTMENTS,
        hasher=FAST_HASHER,
        voice=VoiceSettings(
            vosk_model=PROJECT_ROOT / "models" / "missing",
            whisper_model=PROJECT_ROOT / "models" / "missing",
        ),
    )


def add_agent(
    gateway: Gateway,
    username: str,
    name: str,
    role: str = "agent",
    departments: Sequence[str] = (),
) -> Agent:
    return gateway.accounts.add(username, name, PASSWORD, role, list(departments))


# the API, as a browser would use it


@dataclass(frozen=True)
class Customer:
    """A customer's browser: the conversation id and its secret token."""

    id: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class DeskSession:
    """An agent's browser after the login: the desk_session cookie."""

    agent: dict[str, Any]
    cookie: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Cookie": f"desk_session={self.cookie}"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Any


class Api:
    """A client of the running gateway with no cookie jar: every call says who makes it, so one
    test can be several customers and agents at once."""

    def __init__(self, gateway: Gateway, client: TestClient) -> None:
        self.gateway = gateway
        self.client = client

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        who: Customer | DeskSession | None = None,
        data: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent_headers = {**(who.auth if who else {}), **(headers or {})}
        if data is not None:
            sent_headers.setdefault("Content-Type", "application/json")
        async with self.client.request(
            method, path, json=body, data=data, headers=sent_headers
        ) as response:
            is_json = response.content_type == "application/json"
            payload = await response.json() if is_json else await response.text()
            return Answer(response.status, payload, response.headers)

    async def get(self, path: str, who: Customer | DeskSession | None = None) -> Answer:
        return await self.request("GET", path, who=who)

    async def post(
        self, path: str, body: Any = None, who: Customer | DeskSession | None = None
    ) -> Answer:
        return await self.request("POST", path, body, who)

    async def start(self, channel: str = "webchat") -> Customer:
        answer = await self.post("/api/conversations", {"channel": channel})
        assert answer.status == 201, answer.body
        return Customer(answer.body["id"], answer.body["token"])

    async def say(self, customer: Customer, text: str) -> Answer:
        path = f"/api/conversations/{customer.id}/messages"
        return await self.post(path, {"text": text}, customer)

    async def snapshot(self, customer: Customer) -> dict[str, Any]:
        answer = await self.get(f"/api/conversations/{customer.id}", customer)
        assert answer.status == 200, answer.body
        return answer.body

    async def login(self, username: str, password: str = PASSWORD) -> DeskSession:
        answer = await self.request_login(username, password)
        assert answer.status == 200, answer.body
        cookie = answer.headers.getall("Set-Cookie")[0].split(";")[0].split("=", 1)[1]
        return DeskSession(answer.body["agent"], cookie)

    async def request_login(self, username: str, password: str) -> Answer:
        return await self.post("/api/desk/login", {"username": username, "password": password})

    async def customer_socket(self, customer: Customer) -> Any:
        """The events socket after a successful auth (the snapshot already read)."""
        socket = await self.client.ws_connect(f"/api/conversations/{customer.id}/events")
        await socket.send_json({"type": "auth", "token": customer.token})
        first = await socket.receive_json(timeout=5)
        assert first["type"] == "snapshot", first
        return socket

    async def desk_socket(self, desk: DeskSession) -> Any:
        return await self.client.ws_connect("/api/desk/events", headers=desk.auth)


def run_api(gateway: Gateway, scenario: Callable[[Api], Awaitable[None]]) -> None:
    """Serves the gateway on a local port for the scenario, then shuts it down (which also
    closes its store, as the real app's cleanup does)."""

    async def main() -> None:
        server = TestServer(build_app(gateway))
        async with TestClient(server, cookie_jar=DummyCookieJar()) as client:
            await scenario(Api(gateway, client))

    asyncio.run(main())


async def events_until(
    socket: Any, done: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Reads JSON events from a client socket until one satisfies `done` (included)."""
    seen: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            message = await socket.receive()
            if message.type != WSMsgType.TEXT:
                raise AssertionError(f"socket ended before the event: {message!r}; saw {seen}")
            seen.append(message.json())
            if done(seen[-1]):
                return

    try:
        await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError as error:
        raise AssertionError(f"no such event within {timeout} s; saw {seen}") from error
    return seen


def drain(subscription: Subscription) -> list[dict[str, Any]]:
    """Every event the hub has queued for a subscriber so far."""
    events = []
    while not subscription.events.empty():
        event = subscription.events.get_nowait()
        assert event is not None, "the hub dropped this subscriber"
        events.append(event)
    return events
