"""One fault at a time, on the real servers under the real supervisor: a process is killed
(SIGKILL) or stopped (SIGSTOP) by its pid in the middle of scripted chats and a scripted call,
and the customer must get something true at once (an apology and a person), never silence;
the process must come back by itself and nothing saved may be lost. A database locked by
another process is the same: an apology and a person, and what was said reaches the desks
once the file is free (read-only and full disks: tests/bot/gateway/test_database_faults.py).

This system is its own (other ports, its own data folder): the shared live system is never
harmed. The recovery times measured here are checked against the issue's targets.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from bot.assistant.contract import CHAT_APOLOGY, VOICE_APOLOGY
from bot.cli.launcher import Servers
from bot.settings import PROJECT_ROOT, Settings
from bot.supervision.supervisor import process_table, wait_for_state
from tests.helpers.chat_api import Chat
from tests.helpers.desk_api import DeskApi
from tests.helpers.live import in_a_thread
from tests.helpers.live import system as supervised_system
from tests.helpers.spanish_speech import pico_speech
from tests.helpers.telephony.twilio_peer import TwilioPeer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

GATEWAY_PORT = 18200
SILENCE_BOUND_S = 5.0  # the bound for a customer's wait when a server fails
HOURS_QUESTION = "¿A qué hora abre la tienda de Gran Vía?"
HOURS_ANSWER = "La tienda de Madrid Gran Vía abre"


@dataclass
class System:
    servers: Servers
    settings: Settings
    url: str

    def pid(self, name: str) -> int:
        pid = self.servers.pid_of(name)
        assert pid, f"{name} is not running"
        return pid

    def seconds_until_up(self, check_url: str, timeout: float) -> float:
        """From now until `check_url` answers 200 (the fault was just injected)."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if requests.get(check_url, timeout=1).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{check_url} was not back after {timeout:.0f} s")

    def handoff_row(self, conversation_id: str) -> tuple[str, str, str]:
        """What the real database holds: (state, reason, priority)."""
        with sqlite3.connect(self.settings.data_dir / "gateway.db") as db:
            row = db.execute(
                "SELECT state, reason, priority FROM conversations WHERE id = ?",
                (conversation_id,),
            ).fetchone()
        return tuple(row)


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    ports = {"rasa": 15205, "actions": 15255, "gateway": GATEWAY_PORT, "audiosocket": 0}
    environ = {"BOT_HOLD_PROMPT_S": "3600"}  # (the default BOT_REPLY_TIMEOUT: 4 s)
    with supervised_system(tmp_path_factory.mktemp("faults"), ports, **environ) as started:
        settings, servers = started
        yield System(servers, settings, f"http://{settings.host}:{GATEWAY_PORT}")


def test_killed_action_server_means_an_apology_a_person_and_a_quick_restart(system: System):
    before = Chat(system.url)
    assert HOURS_ANSWER in " ".join(before.say(HOURS_QUESTION)[0])

    os.kill(system.pid("actions"), signal.SIGKILL)
    customer = Chat(system.url)
    texts, conversation, waited = customer.say(HOURS_QUESTION)
    back_after = system.seconds_until_up(f"{system.settings.actions_url}/health", timeout=30)

    assert CHAT_APOLOGY in texts and conversation["state"] == "queued"
    assert waited <= SILENCE_BOUND_S
    assert system.handoff_row(customer.id) == ("queued", "error", "high")
    assert back_after <= 10, f"the action server took {back_after:.1f} s to come back"
    # the bot serves new conversations again
    assert HOURS_ANSWER in " ".join(Chat(system.url).say(HOURS_QUESTION)[0])


def test_stalled_rasa_means_an_apology_within_the_timeout_then_it_recovers(system: System):
    rasa = system.pid("rasa")
    os.kill(rasa, signal.SIGSTOP)
    try:
        customer = Chat(system.url)
        texts, conversation, waited = customer.say(HOURS_QUESTION)
    finally:
        os.kill(rasa, signal.SIGCONT)

    assert CHAT_APOLOGY in texts and conversation["state"] == "queued"
    assert waited <= SILENCE_BOUND_S, f"the customer waited {waited:.1f} s"
    assert system.handoff_row(customer.id) == ("queued", "error", "high")
    # nobody restarted anything: the gateway serves the next customer by itself
    assert HOURS_ANSWER in " ".join(Chat(system.url).say(HOURS_QUESTION)[0])


def test_killed_rasa_answers_chats_and_calls_then_restarts_with_trackers_intact(system: System):
    earlier = Chat(system.url)
    earlier.say(HOURS_QUESTION)
    chat, spoken = in_a_thread(_kill_rasa_during_a_chat_and_a_call(system))
    texts, conversation, waited, customer = chat
    back_after = system.seconds_until_up(
        f"{system.settings.rasa_url}/status?token={system.settings.rasa_token}", timeout=120
    )

    assert CHAT_APOLOGY in texts and conversation["state"] == "queued"
    assert waited <= SILENCE_BOUND_S
    assert system.handoff_row(customer.id) == ("queued", "error", "high")
    # the caller heard the spoken apology within the bound and waits for a person
    assert spoken["apology_after_s"] <= SILENCE_BOUND_S + 3.0, spoken
    assert spoken["heard_s"] > 1.0 and spoken["violations"] == []
    assert spoken["queued"]["reason"] == "error" and spoken["queued"]["priority"] == "high"
    assert system.handoff_row(spoken["conversation"]) == ("closed", "error", "high")  # hung up
    assert back_after <= 60, f"the Rasa server took {back_after:.1f} s to come back"
    # the earlier conversation's tracker survived the crash (SQLite tracker store)
    tracker = requests.get(
        f"{system.settings.rasa_url}/conversations/{earlier.id}/tracker",
        params={"token": system.settings.rasa_token},
        timeout=30,
    ).json()
    said = [event.get("text") for event in tracker["events"] if event.get("event") == "user"]
    assert HOURS_QUESTION in said
    assert HOURS_ANSWER in " ".join(Chat(system.url).say(HOURS_QUESTION)[0])


async def _kill_rasa_during_a_chat_and_a_call(system: System) -> tuple[Any, dict[str, Any]]:
    """A caller is greeted; the Rasa server dies; a chat customer writes and the caller asks."""
    caller = TwilioPeer(system.url)
    await caller.dial(caller="+34611000111")
    await caller.connect()
    await caller.wait_for_audio(1.0, timeout=20)  # the greeting
    await caller.wait_until_quiet(0.6, timeout=20)

    os.kill(system.pid("rasa"), signal.SIGKILL)

    def chat() -> Any:
        customer = Chat(system.url)
        return (*customer.say(HOURS_QUESTION), customer)

    chatted = await asyncio.to_thread(chat)
    conversation_id = caller.custom_parameters["conversation"]
    before = caller.heard_seconds()
    await caller.speak(pico_speech(HOURS_QUESTION))
    finished_speaking = time.monotonic()
    async with DeskApi(system.url) as desk:
        said_at = await desk.until_said(conversation_id, VOICE_APOLOGY, timeout=20)
        queued = await desk.waiting(conversation_id)
    await caller.wait_for_audio(before + 1.0, timeout=20)
    spoken = {
        "queued": queued,
        "conversation": conversation_id,
        "apology_after_s": said_at - finished_speaking,
        "heard_s": caller.heard_seconds() - before,
        "violations": list(caller.violations),
    }
    await caller.hang_up()
    await caller.close()
    return chatted, spoken


def test_killed_gateway_restarts_and_loses_nothing(system: System):
    waiting, called_back = Chat(system.url), Chat(system.url)
    for customer in (waiting, called_back):
        customer.say("Quiero hablar con una persona")
    called_back.ask_callback("+34 611 22 33 44")  # rather than wait: the chat ends there
    before = waiting.snapshot()
    assert before["state"] == "queued"

    os.kill(system.pid("gateway"), signal.SIGKILL)
    back_after = system.seconds_until_up(f"{system.url}/api/health/live", timeout=30)

    after = waiting.snapshot()
    assert back_after <= 10, f"the gateway took {back_after:.1f} s to come back"
    assert after["messages"] == before["messages"]
    assert (after["state"], after["queue"]) == (before["state"], before["queue"])
    with sqlite3.connect(system.settings.data_dir / "gateway.db") as db:
        callbacks = db.execute(
            "SELECT phone FROM callbacks WHERE conversation_id = ? AND done_at IS NULL",
            (called_back.id,),
        ).fetchall()
    assert len(callbacks) == 1
    texts, conversation, _ = waiting.say("¿Sigue ahí?")  # it goes on where it was: queued
    assert conversation["state"] == "queued"
    assert waiting.snapshot()["messages"][: len(before["messages"])] == before["messages"]


def test_a_locked_database_means_an_apology_a_person_and_nothing_lost(system: System):
    customer = Chat(system.url)
    gateway = system.pid("gateway")
    other = sqlite3.connect(system.settings.data_dir / "gateway.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process holds the file (a backup, a tool)
    try:
        texts, conversation, waited = customer.say(HOURS_QUESTION)
        new_call = requests.post(
            f"{system.url}/telephony/twilio/voice", data={"CallSid": "CA1"}, timeout=30
        )
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert texts == [HOURS_QUESTION, CHAT_APOLOGY] and conversation["state"] == "queued"
    assert waited <= SILENCE_BOUND_S
    assert new_call.status_code == 200 and "no está disponible" in new_call.text  # not silence
    # once the file is free, what the customer said reaches the desks' queue by itself
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not _saved(system, customer.id):
        time.sleep(0.2)
    assert system.handoff_row(customer.id) == ("queued", "error", "high")
    said = [m["text"] for m in customer.snapshot()["messages"]]
    assert said[1:3] == [HOURS_QUESTION, CHAT_APOLOGY]
    assert system.pid("gateway") == gateway  # no crash, no restart
    log = system.servers.layout.log("gateway").read_text(encoding="utf-8")
    assert "gateway.database_unavailable" in log


def _saved(system: System, conversation_id: str) -> bool:
    with sqlite3.connect(system.settings.data_dir / "gateway.db") as db:
        row = db.execute(
            "SELECT state FROM conversations WHERE id = ?", (conversation_id,)
        ).fetchone()
    return row is not None and row[0] == "queued"


def test_status_reports_every_server_with_its_restarts(system: System):
    layout = system.servers.layout
    for name in ("rasa", "actions", "gateway"):
        assert wait_for_state(layout, name, {"RUNNING"}, timeout=60) == "RUNNING"
    restarts = {p.name: p.restarts for p in process_table(layout)}
    killed = system.pid("actions")
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and system.servers.pid_of("actions") in (0, killed):
        time.sleep(0.2)
    assert wait_for_state(layout, "actions", {"RUNNING"}, timeout=30) == "RUNNING"

    status = subprocess.run(
        [sys.executable, "-m", "bot", "status"],
        capture_output=True, text=True, cwd=PROJECT_ROOT, env=os.environ.copy(),
    )  # fmt: skip

    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[1:]}
    assert status.returncode == 0, status.stdout + status.stderr
    assert set(rows) == {"rasa", "actions", "gateway"}
    assert all(row[1] == "RUNNING" for row in rows.values())
    assert int(rows["actions"][4]) == restarts["actions"] + 1
    assert rows["actions"][5] == str(layout.log("actions"))
    assert layout.log("actions").stat().st_size > 0
