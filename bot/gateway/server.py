"""`python -m bot serve`: runs the gateway until Ctrl-C (the Rasa servers run separately)."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from bot.db import DatabaseError
from bot.edge.context import Gateway, build_gateway
from bot.gateway.app import build_app
from bot.handoff.accounts import ensure_supervisor
from bot.settings import GatewaySettings, Settings, VoiceSettings

logger = logging.getLogger(__name__)

OPEN_RETRY_S = 5.0


def serve(settings: Settings, gateway_settings: GatewaySettings, voice: VoiceSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # no customer ids in logs
    gateway = _open_when_the_database_can(settings, gateway_settings, voice)
    web.run_app(
        build_app(gateway),
        host=settings.host,
        port=gateway_settings.port,
        print=lambda _: print(
            f"Gateway ready on {gateway_url(settings, gateway_settings)}", flush=True
        ),
        access_log=None,
    )
    return 0


def _open_when_the_database_can(
    settings: Settings, gateway_settings: GatewaySettings, voice: VoiceSettings
) -> Gateway:
    """The gateway with its databases open. A database that cannot be opened (a full disk, a
    read-only or locked file) is retried every few seconds with a plain log line: dying would
    only make the supervisor restart it into the same wall and then give up on it."""
    while True:
        try:
            announce_supervisor(gateway_settings, ensure_supervisor(gateway_settings))
            gateway = build_gateway(settings, gateway_settings, voice)
            if closed := gateway.router.close_abandoned_calls():
                logger.warning("gateway.abandoned_calls_closed count=%s", closed)
            if gateway.relay is None and (interrupted := gateway.router.answer_interrupted_turns()):
                logger.warning("gateway.interrupted_turns_answered count=%s", interrupted)
            # (with other gateways: once they have answered what they were answering, app.py)
            return gateway
        except DatabaseError as error:
            logger.error(
                "gateway.database_unavailable at start-up folder=%s error=%s (is the disk full "
                "or read-only?); trying again in %.0f s",
                settings.data_dir, error, OPEN_RETRY_S,
            )  # fmt: skip
            time.sleep(OPEN_RETRY_S)


def announce_supervisor(settings: GatewaySettings, password: str | None) -> None:
    if password:
        print(
            f"First start: supervisor account '{settings.supervisor_username}' created with "
            f"password {password}\n(BOT_SUPERVISOR_PASSWORD chooses it; `python -m bot agents "
            "add` adds agents)",
            flush=True,
        )


def gateway_url(settings: Settings, gateway_settings: GatewaySettings) -> str:
    return f"http://{settings.host}:{gateway_settings.port}"
