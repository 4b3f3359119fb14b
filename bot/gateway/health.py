"""What operators and load balancers ask the gateway: is the process alive (`/api/health/live`),
can it serve customers (`/api/health`, one check per dependency with its latency), and the
Prometheus metrics (`/metrics`). See docs/operations.md."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot import metrics
from bot.db import DatabaseError
from bot.edge.context import GATEWAY, Gateway
from bot.pipeline.engines import speech_model_available, stt_engine
from bot.supervision.supervisor import Layout
from bot.supervision.watch import restarts

CHECK_TIMEOUT_S = 2.0
CRITICAL = ("rasa", "actions", "database")  # without any of these no customer is served
logger = logging.getLogger(__name__)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/health", readiness)
    app.router.add_get("/api/health/live", liveness)
    app.router.add_get("/metrics", prometheus)


async def liveness(_: web.Request) -> web.Response:
    """The gateway's process serves requests (whatever its dependencies do)."""
    return web.json_response({"status": "ok"})


async def readiness(request: web.Request) -> web.Response:
    """200 when the chat can serve customers, else 503; each check says which part failed.

    "ok": everything answers; "degraded": the chat serves but calls cannot be understood (no
    speech model: they are handed to a person), or, with several gateways, Redis is away (each
    gateway then serves its own pages and desks); "down": the assistant or the database fails.
    """
    gateway = request.app[GATEWAY]
    names = ("rasa", "actions", "database", "speech_model")
    results = await asyncio.gather(
        _timed(gateway.assistant.rasa_status()),
        _timed(gateway.assistant.actions_status()),
        _timed(_database(gateway)),
        _timed(_speech_model(gateway)),
    )
    checks = dict(zip(names, results, strict=True))
    if gateway.relay is not None:
        connected = gateway.relay.connected
        checks["redis"] = {"status": "ok" if connected else "error: live events stay on this "
                           "gateway until Redis is back"}  # fmt: skip
    ready = all(checks[name]["status"] == "ok" for name in CRITICAL)
    complete = all(check["status"] == "ok" for check in checks.values())
    body = {
        "status": "ok" if complete else "degraded" if ready else "down",
        "checks": checks,
        "queued": _queued(gateway),
        "agents_online": len(gateway.presence.online()),
        # conversations answered while the database refused writes, not saved yet
        "held_conversations": len(gateway.router.held),
    }
    return web.json_response(body, status=200 if ready else 503)


def _queued(gateway: Gateway) -> int | None:
    """Conversations waiting; None while the database cannot say (its check says why)."""
    try:
        return len(gateway.queue.waiting())
    except DatabaseError:
        return None


async def prometheus(request: web.Request) -> web.Response:
    """Every metric of bot.metrics, the queue and the servers' restarts as of now."""
    gateway = request.app[GATEWAY]
    metrics.QUEUE_LENGTH.clear()
    for conversation in gateway.queue.waiting():
        metrics.QUEUE_LENGTH.labels(conversation.department or "").inc()
    for name, count in restarts(Layout.of(gateway.settings).state_file).items():
        metrics.PROCESS_RESTARTS.labels(name).set(count)
    return web.Response(
        body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def _timed(check: Awaitable[str]) -> dict[str, Any]:
    """A check's status ("ok" or what failed) and how long it took."""
    started = time.perf_counter()
    try:
        status = await asyncio.wait_for(check, CHECK_TIMEOUT_S)
    except asyncio.TimeoutError:
        status = "timeout"
    return {"status": status, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


async def _database(gateway: Gateway) -> str:
    try:
        gateway.store.check_writable()
    except DatabaseError as error:
        logger.error("health.database_unwritable error=%s", error)
        return f"error: {error}"
    return "ok"


async def _speech_model(gateway: Gateway) -> str:
    if gateway.gateway_settings.call_script or speech_model_available(gateway.voice):
        return "ok"
    return f"missing ({stt_engine(gateway.voice)}: `make models`)"
