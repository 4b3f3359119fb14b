"""The gateway's web application: pages, the customer and desk APIs, health and OpenAPI.

Everything the handlers share lives in one `Gateway` object built by `build_gateway`; the
aiohttp app only wires routes and the cross-cutting rules (security headers, JSON errors).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from argon2 import PasswordHasher

from bot.channels.telephony.directory import CallDirectory
from bot.gateway.limits import RateLimiter
from bot.handoff.accounts import AgentAccounts
from bot.handoff.assistant import AssistantClient
from bot.handoff.departments import Departments, load_departments
from bot.handoff.hub import EventHub
from bot.handoff.queue import HandoffQueue, Presence
from bot.handoff.router import ConversationRouter, RouterError
from bot.handoff.store import GatewayStore
from bot.nlu.data import NluData
from bot.settings import GatewaySettings, Settings, VoiceSettings
from bot.training.inbox import Inbox
from bot.training.job import TrainingPaths, TrainingService
from bot.training.store import TrainerStore

if TYPE_CHECKING:
    from bot.channels.gateway_call import GatewayCall

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
MAX_BODY_BYTES = 64 * 1024  # JSON bodies: a message is at most a few kilobytes
PAGES = {
    "/": "index.html",
    "/chat": "chat.html",
    "/call": "call.html",
    "/desk": "desk/index.html",
    "/desk/login": "desk/login.html",
    "/desk/supervisor": "desk/supervisor.html",
    "/trainer": "trainer/index.html",
}
EMBEDDABLE = {"/chat"}  # the widget shows the chat in an iframe on the company's own site
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors {ancestors}"
)


@dataclass
class Gateway:
    """What every handler needs, built once per process."""

    settings: Settings
    gateway_settings: GatewaySettings
    store: GatewayStore
    assistant: AssistantClient
    hub: EventHub
    presence: Presence
    queue: HandoffQueue
    router: ConversationRouter
    accounts: AgentAccounts
    departments: Departments
    message_limits: RateLimiter
    start_limits: RateLimiter
    login_limits: RateLimiter
    login_address_limits: RateLimiter
    typing_limits: RateLimiter
    voice: VoiceSettings
    trainer_store: TrainerStore
    trainer: TrainingService
    nlu_data: NluData
    # Argon2 checks are slow on purpose: one thread of their own, so a flood of logins never
    # takes the threads that calls and DNS lookups need
    password_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="passwords")
    )
    # calls in progress (browser or phone) by conversation id (None: being set up)
    calls: dict[str, GatewayCall | None] = field(default_factory=dict)
    # Asterisk calls' numbers and transfers, by call UUID
    phone_calls: CallDirectory = field(default_factory=CallDirectory)


GATEWAY = web.AppKey("gateway", Gateway)


def build_gateway(
    settings: Settings,
    gateway_settings: GatewaySettings,
    assistant: AssistantClient | None = None,
    departments: Departments | None = None,
    hasher: PasswordHasher | None = None,
    voice: VoiceSettings | None = None,
) -> Gateway:
    """Everything the gateway shares; tests pass a fake assistant, their own departments, a
    cheap password hasher and voice settings."""
    store = GatewayStore(gateway_settings.database)
    assistant = assistant or AssistantClient(
        settings.rasa_urls, settings.rasa_token, settings.reply_timeout
    )
    hub, presence = EventHub(), Presence()
    departments = departments or load_departments(gateway_settings.business_dir)
    queue = HandoffQueue(store, presence, gateway_settings.default_handle_minutes * 60)
    trainer_store = TrainerStore(gateway_settings.database)
    inbox = Inbox(
        trainer_store,
        gateway_settings.inbox_confidence,
        lambda conversation_id: [
            m.text for m in store.messages(conversation_id) if m.author == "customer"
        ],
    )
    router = ConversationRouter(
        store, assistant, hub, queue, presence, departments, gateway_settings, inbox
    )
    project = gateway_settings.project_dir
    paths = TrainingPaths(
        project=project,
        models=settings.models_dir,
        work=settings.data_dir / "training",
        held_out=project / "tests" / "nlu" / "holdout.yml",
        conversations=project / "tests" / "conversations",
    )
    return Gateway(
        settings=settings,
        gateway_settings=gateway_settings,
        store=store,
        assistant=assistant,
        hub=hub,
        presence=presence,
        queue=queue,
        router=router,
        accounts=AgentAccounts(store, hasher),
        departments=departments,
        message_limits=RateLimiter(gateway_settings.messages_per_minute, 60),
        start_limits=RateLimiter(30, 60),
        login_limits=RateLimiter(10, 300),
        login_address_limits=RateLimiter(30, 300),
        typing_limits=RateLimiter(1, 1),
        voice=voice or VoiceSettings.from_env(),
        trainer_store=trainer_store,
        trainer=TrainingService(trainer_store, paths, settings.rasa_urls, settings.rasa_token),
        nlu_data=NluData(project),
    )


def ensure_supervisor(settings: GatewaySettings) -> str | None:
    """Creates the first supervisor on first start; returns its password when generated."""
    store = GatewayStore(settings.database)
    try:
        accounts = AgentAccounts(store)
        if accounts.has_any():
            return None
        password = settings.supervisor_password or secrets.token_urlsafe(12)
        accounts.add(settings.supervisor_username, "Supervisión", password, "supervisor")
        return None if settings.supervisor_password else password
    finally:
        store.close()


def build_app(gateway: Gateway) -> web.Application:
    from bot.channels import browser_call, webchat
    from bot.channels.telephony import audiosocket, twilio
    from bot.gateway import openapi
    from bot.handoff import desk
    from bot.training import api as trainer_api

    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[security_headers, json_errors]
    )
    app[GATEWAY] = gateway
    app.router.add_get("/api/health", health)
    openapi.add_routes(app)
    webchat.add_routes(app)
    browser_call.add_routes(app)
    twilio.add_routes(app)
    audiosocket.add_routes(app)
    desk.add_routes(app)
    trainer_api.add_routes(app)
    for path, page in PAGES.items():
        app.router.add_get(path, _page(page))
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/{path:.+}", static_file)
    app.on_cleanup.append(_close)  # type: ignore[arg-type]
    return app


async def health(request: web.Request) -> web.Response:
    """Whether the gateway can serve customers: the assistant answers, queue and agents."""
    gateway = request.app[GATEWAY]
    rasa_ok = await gateway.assistant.healthy()
    body = {
        "status": "ok" if rasa_ok else "degraded",
        "rasa": "ok" if rasa_ok else "down",
        "queued": len(gateway.queue.waiting()),
        "agents_online": len(gateway.presence.online()),
    }
    return web.json_response(body, status=200 if rasa_ok else 503)


def _page(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def page(_: web.Request) -> web.StreamResponse:
        return web.FileResponse(WEB_DIR / name, headers={"Cache-Control": "no-cache"})

    return page


async def no_icon(_: web.Request) -> web.Response:
    return web.Response(status=204)


async def static_file(request: web.Request) -> web.StreamResponse:
    """Scripts, styles and worklets of the pages; nothing outside bot/web is reachable."""
    path = (WEB_DIR / request.match_info["path"]).resolve()
    if not path.is_relative_to(WEB_DIR) or not path.is_file():
        raise web.HTTPNotFound(text="No encontrado.")
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


@web.middleware
async def security_headers(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    response = await handler(request)
    ancestors = "*" if request.path in EMBEDDABLE else "'none'"
    response.headers.setdefault("Content-Security-Policy", CSP.format(ancestors=ancestors))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """API errors as `{"error": "<Spanish text for the person>"}` with the right status."""
    try:
        return await handler(request)
    except RouterError as error:
        return web.json_response({"error": error.text}, status=error.status)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": "La petición es demasiado grande."}, status=413)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        return web.json_response({"error": error.text or error.reason}, status=error.status)
    except Exception:
        logger.exception("gateway.unhandled path=%s", request.path)
        if not request.path.startswith("/api/"):
            raise
        text = "Ha ocurrido un error inesperado. Inténtelo de nuevo; si se repite, llámenos."
        return web.json_response({"error": text}, status=500)


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or a 400/413 with a clear message."""
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RouterError(400, "El cuerpo de la petición debe ser JSON.") from error
    if not isinstance(body, dict):
        raise RouterError(400, "El cuerpo de la petición debe ser un objeto JSON.")
    return body


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


async def _close(app: web.Application) -> None:
    gateway = app[GATEWAY]
    await gateway.assistant.close()
    await gateway.trainer.close()
    gateway.password_executor.shutdown(wait=False)
    gateway.store.close()
    gateway.trainer_store.close()
