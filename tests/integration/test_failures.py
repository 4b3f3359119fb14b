"""Bad input and broken parts never leave the customer in silence."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.assistant.client import BlockingAssistant
from bot.settings import PROJECT_ROOT, Settings
from tests.helpers.live import blocking_assistant, require_model

pytestmark = pytest.mark.integration


def test_very_long_message_gets_an_answer(live_client: BlockingAssistant):
    reply = live_client.send("long-message", "quiero una cita " + "blablabla " * 1000)
    assert reply.texts


def test_missing_conversation_id_is_a_clear_400(live_settings: Settings):
    answer = requests.post(
        f"{live_settings.rasa_url}/webhooks/webchat/webhook", json={"message": "hola"}, timeout=30
    )
    assert answer.status_code == 400 and "sender" in answer.json()["error"]


def test_voice_channel_gets_the_voice_variant(live_settings: Settings):
    voice = blocking_assistant(live_settings.rasa_url, channel="voice")
    reply = voice.send("voice-1", "hola")
    voice.close()
    assert reply.texts == ["Hola, soy el asistente virtual. Dígame en qué puedo ayudarle."]
    assert reply.buttons == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_stopped_action_server_gets_an_apology_and_an_error_handoff(tmp_path: Path):
    """A Rasa server whose action server is down (nothing listens on its port)."""
    require_model()
    port, dead_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "ACTION_SERVER_URL": f"http://127.0.0.1:{dead_port}/webhook",
        "BOT_DATA_DIR": str(tmp_path),
    }
    log = (tmp_path / "rasa.log").open("w")
    rasa = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("rasa")),
            "run",
            "-i",
            "127.0.0.1",
            "-p",
            str(port),
            "--enable-api",
            "--model",
            "models",
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/status", rasa)
        down = blocking_assistant(f"http://127.0.0.1:{port}")
        reply = down.send("down-1", "horario de la tienda de madrid")
        assert "problema técnico" in " ".join(reply.texts)
        assert (
            reply.handoff
            and reply.handoff["reason"] == "error"
            and reply.handoff["priority"] == "high"
        )
        # small talk needs no action server and still works
        assert down.send("down-2", "hola").texts
        down.close()
    finally:
        rasa.terminate()
        rasa.wait(timeout=30)


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


def test_after_a_handoff_the_assistant_can_take_the_conversation_back(
    live_client: BlockingAssistant,
):
    assert live_client.send("resume-1", "quiero hablar con una persona").handoff
    live_client.resume("resume-1")
    reply = live_client.send("resume-1", "gracias")
    assert reply.handoff is None and "¿Puedo ayudarle en algo más?" in " ".join(reply.texts)


def test_the_rasa_api_needs_the_token(live_settings: Settings):
    tracker = f"{live_settings.rasa_url}/conversations/anyone/tracker"
    assert requests.get(tracker, timeout=30).status_code == 401
    authorised = requests.get(tracker, params={"token": live_settings.rasa_token}, timeout=30)
    assert authorised.status_code == 200


def test_conversations_are_kept_on_disk(live_client: BlockingAssistant, live_settings: Settings):
    """The tracker store is a SQLite file, so a restart of the Rasa server loses nothing."""
    live_client.send("kept-1", "quiero pedir una cita en la tienda de madrid")
    with sqlite3.connect(live_settings.data_dir / "conversations.db") as database:
        rows = database.execute(
            "SELECT count(*) FROM events WHERE sender_id = 'kept-1' AND type_name = 'user'"
        ).fetchone()
    assert rows[0] == 1
