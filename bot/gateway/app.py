"""The gateway's web application: the route table of every line and page, health, and the
cross-cutting rules (security headers, JSON errors).

Everything the handlers share lives in one `Gateway` object (`bot.edge.context`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bot import metrics
from bot.channels import browser_call, webchat
from bot.channels.telephony import audiosocket, twilio
from bot.db import DatabaseError
from bot.edge.context import GATEWAY, Gateway
from bot.edge.presence import SharedPresence
from bot.errors import RequestError
from bot.gateway import desk, health, openapi, trainer

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
DATABASE_UNAVAILABLE = (
    "Disculpe, tenemos un problema técnico y no hemos podido guardar su mensaje. "
    "Vuelva a enviarlo en unos segundos; si no funciona, llámenos y le atenderá una persona."
)
DATABASE_UNAVAILABLE_STAFF = (
    "No se ha podido guardar: la base de datos no admite cambios ahora mismo. Inténtelo de nuevo "
    "en unos segundos; si se repite, avise a quien mantiene el sistema."
)
INTERRUPTED_TURN_MARGIN_S = 3.0  # beyond the reply timeout: the rest of another gateway's turn
WRITE_BACK_EVERY_S = 2.0  # how soon conversations held while the database failed are saved
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


def build_app(gateway: Gateway) -> web.Application:
    app = web.Application(
        client_max_size=MAX_BODY_BYTES, middlewares=[security_headers, json_errors]
    )
    app[GATEWAY] = gateway
    health.add_routes(app)
    openapi.add_routes(app)
    webchat.add_routes(app)
    browser_call.add_routes(app)
    twilio.add_routes(app)
    audiosocket.add_routes(app)
    desk.add_routes(app)
    trainer.add_routes(app)
    for path, page in PAGES.items():
        app.router.add_get(path, _page(page))
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_get("/{path:.+}", static_file)
    app.cleanup_ctx.append(_writing_back_held)
    app.cleanup_ctx.append(_relaying)
    app.cleanup_ctx.append(_answering_interrupted_turns)
    app.on_cleanup.append(_close)  # type: ignore[arg-type]
    return app


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
    except RequestError as error:
        return web.json_response({"error": error.text}, status=error.status)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": "La petición es demasiado grande."}, status=413)
    except web.HTTPException as error:
        if not request.path.startswith("/api/") or error.status < 400:
            raise
        return web.json_response({"error": error.text or error.reason}, status=error.status)
    except DatabaseError as error:
        # locked, read-only or a full disk: nothing was saved, so the person must send again
        logger.error("gateway.database_unavailable path=%s error=%s", request.path, error)
        metrics.ERRORS.labels("database").inc()
        staff = request.path.startswith(("/api/desk", "/api/trainer"))
        text = DATABASE_UNAVAILABLE_STAFF if staff else DATABASE_UNAVAILABLE
        return web.json_response({"error": text}, status=503)
    except Exception:
        logger.exception("gateway.unhandled path=%s", request.path)
        metrics.ERRORS.labels("unhandled").inc()
        if not request.path.startswith("/api/"):
            raise
        text = "Ha ocurrido un error inesperado. Inténtelo de nuevo; si se repite, llámenos."
        return web.json_response({"error": text}, status=500)


async def _writing_back_held(app: web.Application) -> AsyncIterator[None]:
    """Conversations held while the database refused writes are saved once it takes them."""
    router = app[GATEWAY].router

    async def keep_writing_back() -> None:
        while True:
            await asyncio.sleep(WRITE_BACK_EVERY_S)
            if len(router.held):
                await router.write_back_held()

    task = asyncio.create_task(keep_writing_back())
    yield
    task.cancel()


async def _answering_interrupted_turns(app: web.Application) -> AsyncIterator[None]:
    """With other gateways, a turn left unanswered when this one started may be one that
    another gateway is answering at that very moment: the apology for turns this gateway
    dropped waits until every gateway has had its reply timeout to answer (or apologise)."""
    gateway = app[GATEWAY]
    if gateway.relay is None:  # alone: done at start-up (server.py)
        yield
        return
    started = time.time()

    async def after_the_others_answered() -> None:
        await asyncio.sleep(gateway.settings.reply_timeout + INTERRUPTED_TURN_MARGIN_S)
        try:
            if interrupted := gateway.router.answer_interrupted_turns(said_before=started):
                logger.warning("gateway.interrupted_turns_answered count=%s", interrupted)
        except DatabaseError as error:
            logger.error("gateway.interrupted_turns_unchecked error=%s", error)

    task = asyncio.create_task(after_the_others_answered())
    yield
    task.cancel()


async def _relaying(app: web.Application) -> AsyncIterator[None]:
    """With several gateways: live events to and from the others, and this gateway's agents
    kept in the shared count, while the app runs."""
    gateway = app[GATEWAY]
    if gateway.relay is not None:
        await gateway.relay.start()
    presence = gateway.presence
    alive = (
        asyncio.create_task(presence.keep_alive()) if isinstance(presence, SharedPresence) else None
    )
    yield
    if alive is not None:
        alive.cancel()
    if gateway.relay is not None:
        await gateway.relay.stop()
    if gateway.voice_bridge is not None:
        await gateway.voice_bridge.close()


async def _close(app: web.Application) -> None:
    gateway = app[GATEWAY]
    await gateway.assistant.close()
    await gateway.trainer.close()
    gateway.password_executor.shutdown(wait=False)
    gateway.store.close()
    gateway.trainer_store.close()
