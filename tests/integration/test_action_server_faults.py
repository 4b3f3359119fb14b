"""The action server failing under a real Rasa server: down altogether, or dying while it books,
cancels or moves an appointment. Each change in flight is made once or not at all, and the
customer is told which.

Between the Rasa server and the real action server sits a proxy that plays the action server:
gone (every call cut), or dying in one action after its change is committed, or before it is
reached."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import requests
from aiohttp import web

from bot.assistant.contract import CHAT_APOLOGY
from bot.rasa_server.booking_outcome import (
    CANCEL_ACTION,
    CANCELLED,
    MOVE_ACTION,
    MOVED,
    NOT_BOOKED,
    NOT_CANCELLED,
    NOT_MOVED,
)
from bot.settings import PROJECT_ROOT, Settings
from tests.helpers.live import blocking_assistant

pytestmark = pytest.mark.integration

BOOKING = "action_book_appointment"


class DyingActionServer:
    """Forwards Rasa's action calls to the real action server, except that the connection is
    cut, as when the process is killed: for every call (`always`: the action server is down),
    or for one action (`action`, the booking by default) `after` the action server answered
    (its change is committed) or `before` it was reached."""

    def __init__(self, actions_url: str) -> None:
        self.actions_url = actions_url
        self.dies: str = "after"
        self.action: str = BOOKING
        self.port = _free_port()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DyingActionServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/webhook", self._webhook)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    async def _webhook(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        dying = body.get("next_action") == self.action
        if self.dies == "always" or (dying and self.dies == "before"):
            return _cut(request)
        url = f"{self.actions_url}/webhook"
        async with aiohttp.ClientSession() as http, http.post(url, json=body) as answer:
            status, payload = answer.status, await answer.read()
        if dying:
            return _cut(request)
        return web.Response(status=status, body=payload, content_type="application/json")


def _cut(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()  # no answer at all: the connection just ends
    return web.Response(status=204)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def rasa_behind_a_dying_action_server(
    live_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, DyingActionServer]]:
    data = tmp_path_factory.mktemp("booking-in-flight")
    port = _free_port()
    with DyingActionServer(live_settings.actions_url) as proxy:
        env = {
            **os.environ,  # the live action server's database (ACTIONS_DATABASE_URL)
            "PYTHONPATH": str(PROJECT_ROOT),
            "ACTION_SERVER_URL": f"http://127.0.0.1:{proxy.port}/webhook",
            "BOT_DATA_DIR": str(data),
            "BOT_TRACKER_URL": f"sqlite:///{data / 'conversations.db'}",  # its own conversations
        }
        log = (data / "rasa.log").open("w")
        rasa = subprocess.Popen(
            [str(Path(sys.executable).with_name("rasa")), "run", "-i", "127.0.0.1",
             "-p", str(port), "--enable-api", "--model", str(live_settings.models_dir),
             "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait_for(f"http://127.0.0.1:{port}/status", rasa)
            yield f"http://127.0.0.1:{port}", proxy
        finally:
            rasa.terminate()
            rasa.wait(timeout=30)
            log.close()


def test_a_stopped_action_server_gets_an_apology_and_an_error_handoff(
    rasa_behind_a_dying_action_server: tuple[str, DyingActionServer],
):
    url, proxy = rasa_behind_a_dying_action_server
    proxy.dies = "always"
    down = blocking_assistant(url)
    try:
        reply = down.send("down-1", "horario de la tienda de madrid")
        assert "problema técnico" in " ".join(reply.texts)
        assert (
            reply.handoff
            and reply.handoff["reason"] == "error"
            and reply.handoff["priority"] == "high"
        )
        # small talk needs no action server and still works
        assert down.send("down-2", "hola").texts
    finally:
        down.close()


def _book(url: str, conversation: str, when: str, phone: str, cut: bool = True) -> list[str]:
    """Books in the Valencia shop; `cut`: the booking turn is the one that fails."""
    client = blocking_assistant(url)
    try:
        client.send(conversation, f"quiero pedir cita en la tienda de valencia {when}")
        client.send(conversation, "Rosa Martín")
        reply = client.send(conversation, phone)
    finally:
        client.close()
    assert bool(reply.handoff and reply.handoff["reason"] == "error") == cut, reply
    return reply.texts


def _bookings_of(conversation: str) -> list[str]:
    database = os.environ["ACTIONS_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT code FROM bookings WHERE conversation_id = ?", (conversation,)
        ).fetchall()
    return [code for (code,) in rows]


def test_a_booking_committed_before_the_crash_is_confirmed_once(
    rasa_behind_a_dying_action_server: tuple[str, DyingActionServer],
):
    url, proxy = rasa_behind_a_dying_action_server
    proxy.dies, proxy.action = "after", BOOKING

    texts = _book(url, "in-flight-after", "el miércoles a las doce", "699 111 333")

    codes = _bookings_of("in-flight-after")
    assert len(codes) == 1  # made once
    assert texts == [CHAT_APOLOGY, f"Su cita sí ha quedado reservada, con el código {codes[0]}."]


def test_a_booking_cut_before_it_reached_the_action_server_is_said_not_made(
    rasa_behind_a_dying_action_server: tuple[str, DyingActionServer],
):
    url, proxy = rasa_behind_a_dying_action_server
    proxy.dies, proxy.action = "before", BOOKING

    texts = _book(url, "in-flight-before", "el miércoles a las trece", "699 111 444")

    assert _bookings_of("in-flight-before") == []  # not at all
    assert texts == [CHAT_APOLOGY, NOT_BOOKED]


# each change: its action, the day of the booking it changes, and what the customer says
CHANGES = {
    "cancel": (CANCEL_ACTION, "el jueves", ("quiero anular mi cita", "{code}", "sí")),
    "move": (
        MOVE_ACTION,
        "el lunes",
        ("quiero cambiar mi cita", "{code}", "el viernes a las {hour}"),
    ),
}


@pytest.mark.parametrize(
    ("change", "dies", "told"),
    [
        ("cancel", "after", CANCELLED),
        ("cancel", "before", NOT_CANCELLED),
        ("move", "after", MOVED),
        ("move", "before", NOT_MOVED),
    ],
)
def test_a_change_in_flight_is_made_once_or_not_and_the_customer_is_told(
    rasa_behind_a_dying_action_server: tuple[str, DyingActionServer],
    change: str,
    dies: str,
    told: str,
):
    url, proxy = rasa_behind_a_dying_action_server
    action, day, lines = CHANGES[change]
    proxy.dies, proxy.action = dies, action
    conversation, hour = f"{change}-in-flight-{dies}", "doce" if dies == "after" else "trece"
    _book(url, conversation, f"{day} a las {hour}", "699 111 555", cut=False)
    (code,) = _bookings_of(conversation)
    before = _booking_row(code)

    texts = _said(url, conversation, *(line.format(code=code, hour=hour) for line in lines))

    assert texts == [CHAT_APOLOGY, told]
    status, starts_at = _booking_row(code)
    made = dies == "after"  # the action server died after committing, or before it was reached
    assert status == ("cancelled" if change == "cancel" and made else "confirmed")
    assert (starts_at != before[1]) == (change == "move" and made)


def _said(url: str, conversation: str, *lines: str) -> list[str]:
    """The texts of the reply to the last line (the others are answered normally)."""
    client = blocking_assistant(url)
    try:
        for line in lines[:-1]:
            client.send(conversation, line)
        reply = client.send(conversation, lines[-1])
    finally:
        client.close()
    assert reply.handoff and reply.handoff["reason"] == "error"
    return reply.texts


def _booking_row(code: str) -> tuple[str, str]:
    """(status, starts_at) of a booking, from the real database."""
    database = os.environ["ACTIONS_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(database) as db:
        row = db.execute(
            "SELECT status, starts_at FROM bookings WHERE code = ?", (code,)
        ).fetchone()
    return row[0], row[1]


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the Rasa server stopped while starting"
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {timeout} s")
