"""`python -m bot serve`: runs the gateway until Ctrl-C (the Rasa servers run separately)."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.edge.context import build_gateway
from bot.gateway.app import build_app
from bot.handoff.accounts import ensure_supervisor
from bot.settings import GatewaySettings, Settings, VoiceSettings


def serve(settings: Settings, gateway_settings: GatewaySettings, voice: VoiceSettings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)  # no customer ids in logs
    announce_supervisor(gateway_settings, ensure_supervisor(gateway_settings))
    gateway = build_gateway(settings, gateway_settings, voice)
    if closed := gateway.router.close_abandoned_calls():
        logging.getLogger(__name__).warning("gateway.abandoned_calls_closed count=%s", closed)
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
