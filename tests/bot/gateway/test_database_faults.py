"""The gateway's database failing under customers: locked by another process, read-only, or
on a full disk. Each customer still gets the apology and a person at once; what they said is
held in memory and written back, queued for the desks, once the database takes writes again.
The gateway never crashes and recovers without a restart."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy.engine import Engine

from bot.assistant.contract import CHAT_APOLOGY, VOICE_APOLOGY
from bot.channels.gateway_call import RouterDialogueClient
from bot.edge.context import Gateway
from bot.gateway.app import DATABASE_UNAVAILABLE
from bot.handoff import notices
from bot.handoff.models import State
from bot.settings import TelephonySettings
from bot.supervision.local_postgres import LocalPostgres
from tests.helpers.gateway_fakes import (
    Api,
    Customer,
    FakeAssistant,
    add_agent,
    events_until,
    make_gateway,
    run_api,
)
from tests.helpers.telephony.wire import twilio_signature

QUESTION = "¿A qué hora abren?"
SECOND = "¿Hay alguien ahí?"
WRITE_BACK_WITHIN_S = 10.0  # the write-back runs every 2 s


class DatabaseFault(Protocol):
    def begin(self, gateway: Gateway) -> None: ...

    def end(self) -> None: ...


class LockedFile:
    """Another process holds the file's write lock (a backup tool, a stuck migration)."""

    def __init__(self, database: Path) -> None:
        self._database = database
        self._other: sqlite3.Connection | None = None

    def begin(self, gateway: Gateway) -> None:
        self._other = sqlite3.connect(self._database, isolation_level=None)
        self._other.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        assert self._other is not None
        self._other.execute("ROLLBACK")
        self._other.close()


class ReadOnly:
    """The database refuses every write with SQLITE_READONLY, as a read-only file does.

    (A filesystem cannot be remounted read-only while the gateway holds the file open for
    writing, so the gateway's own connection is switched to query-only: the same error.)"""

    def __init__(self) -> None:
        self._engine: Engine | None = None

    def begin(self, gateway: Gateway) -> None:
        # the fault is injected into the store's one SQLite connection
        self._engine = gateway.store.database.engine
        with self._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA query_only = ON")

    def end(self) -> None:
        assert self._engine is not None
        with self._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA query_only = OFF")


class FullDisk:
    """The disk the database is on fills up (a real, small tmpfs filled with a file)."""

    def __init__(self, mount_point: Path) -> None:
        self._filler = mount_point / "filler"

    def begin(self, gateway: Gateway) -> None:
        with self._filler.open("wb") as filler:
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError:
                pass  # no space left on the device

    def end(self) -> None:
        self._filler.unlink()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
        capture_output=True, text=True,
    )  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fault(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, DatabaseFault]:
    if kind == "locked":
        database = tmp_path / "gw.db"
        return database, LockedFile(database)
    if kind == "read-only":
        return tmp_path / "gw.db", ReadOnly()
    disk = request.getfixturevalue("small_disk")
    return disk / "gw.db", FullDisk(disk)


@pytest.mark.parametrize("kind", ["locked", "read-only", "disk full"])
def test_a_failing_database_means_an_apology_a_person_and_nothing_lost(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
):
    database, fault = _fault(kind, tmp_path, request)
    gateway = make_gateway(database, FakeAssistant())

    async def scenario(api: Api) -> None:
        customer = await api.start()
        fault.begin(gateway)
        try:
            answer = await api.say(customer, QUESTION)
            again = await api.say(customer, SECOND)  # while held: kept, for the person
            health = await api.get("/api/health")
            shown = await api.snapshot(customer)
        finally:
            fault.end()

        assert answer.status == 200, answer.body
        said = [(m["author"], m["text"], m["id"]) for m in answer.body["messages"]]
        assert said == [("customer", QUESTION, None), ("bot", CHAT_APOLOGY, None)]
        assert answer.body["conversation"]["state"] == "queued"
        assert again.status == 200 and again.body["messages"][0]["text"] == SECOND
        assert health.status == 503 and health.body["held_conversations"] == 1
        assert health.body["checks"]["database"]["status"].startswith("error")
        assert [m["text"] for m in shown["messages"]][-3:] == [QUESTION, CHAT_APOLOGY, SECOND]

        # the database takes writes again: the conversation reaches the desks by itself
        await _until_written_back(api)
        saved = gateway.store.conversation(customer.id)
        assert saved is not None
        assert (saved.state, saved.reason, saved.priority) == (State.QUEUED, "error", "high")
        messages = gateway.store.messages(customer.id)
        assert [m.text for m in messages[1:4]] == [QUESTION, CHAT_APOLOGY, SECOND]
        assert [m.author for m in messages[4:]] == ["system"]  # the queue notice, once saved
        assert [c.id for c in gateway.queue.waiting()] == [customer.id]
        # and the conversation goes on where it was: a person holds it
        after = await api.say(customer, "Gracias")
        assert after.status == 200 and after.body["conversation"]["state"] == "queued"
        assert (await api.get("/api/health")).body["checks"]["database"]["status"] == "ok"

    run_api(gateway, scenario)


async def _until_written_back(api: Api) -> None:
    for _ in range(int(WRITE_BACK_WITHIN_S / 0.2)):
        if (await api.get("/api/health")).body["held_conversations"] == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"still held after {WRITE_BACK_WITHIN_S:.0f} s")


def test_a_stopped_postgresql_means_an_apology_and_a_person_for_the_customers_it_served(
    tmp_path: Path, own_postgres: LocalPostgres
):
    """PostgreSQL stopped: nothing can be read, not even a token. A customer this gateway served
    a moment ago is recognised from what it remembers and gets the apology and a person; a new
    customer, whom it cannot remember, is told to try again. Back, everything is written."""
    gateway = make_gateway(own_postgres.url(), FakeAssistant(), data_dir=tmp_path)

    async def scenario(api: Api) -> None:
        customer = await api.start()
        assert (await api.say(customer, "Hola")).status == 200
        own_postgres.stop()
        try:
            answer = await api.say(customer, QUESTION)
            newcomer = await api.post("/api/conversations", {"channel": "webchat"})
            stranger = await api.say(Customer("0" * 32, "x" * 32), QUESTION)
        finally:
            own_postgres.start()

        assert answer.status == 200, answer.body
        said = [(m["author"], m["text"]) for m in answer.body["messages"]]
        assert said == [("customer", QUESTION), ("bot", CHAT_APOLOGY)]
        assert answer.body["conversation"]["state"] == "queued"
        assert (newcomer.status, newcomer.body["error"]) == (503, DATABASE_UNAVAILABLE)
        assert stranger.status == 503  # not remembered: not recognised
        await _until_written_back(api)
        saved = gateway.store.conversation(customer.id)
        assert saved is not None
        assert (saved.state, saved.reason, saved.priority) == (State.QUEUED, "error", "high")
        texts = [m.text for m in gateway.store.messages(customer.id)]
        assert texts[-3:-1] == [QUESTION, CHAT_APOLOGY]  # then the queue notice

    run_api(gateway, scenario)


def test_a_customer_with_an_agent_is_told_their_message_will_reach_them(tmp_path: Path):
    gateway = make_gateway(tmp_path / "gw.db", FakeAssistant())
    agent = add_agent(gateway, "ana", "Ana", "supervisor")
    fault = ReadOnly()

    async def scenario(api: Api) -> None:
        customer = await api.start()
        conversation = gateway.router.get(customer.id)
        conversation.state, conversation.agent_id = State.AGENT, agent.id
        conversation.department = "technical_support"
        gateway.store.save(conversation)
        desk = await api.desk_socket(await api.login("ana"))
        await desk.receive_json(timeout=5)  # the queue
        fault.begin(gateway)
        try:
            answer = await api.say(customer, "¿Sigue ahí?")
        finally:
            fault.end()
        assert [m["text"] for m in answer.body["messages"]] == [
            "¿Sigue ahí?",
            notices.HELD_FOR_PERSON,
        ]
        assert answer.body["conversation"]["state"] == "agent"  # nobody took it away
        await _until_written_back(api)
        assert gateway.store.conversation(customer.id).state == State.AGENT  # type: ignore[union-attr]
        assert "¿Sigue ahí?" in [m.text for m in gateway.store.messages(customer.id)]
        # the agent's desk gets the line once it is saved
        said = await events_until(desk, lambda e: e["type"] == "message", timeout=5)
        assert said[-1]["message"]["text"] == "¿Sigue ahí?" and said[-1]["message"]["id"]

    run_api(gateway, scenario)


def test_a_caller_hears_the_apology_and_waits_for_a_person(tmp_path: Path):
    gateway = make_gateway(tmp_path / "gw.db", FakeAssistant())
    call, _ = gateway.router.start("voice", line="twilio")
    dialogue = RouterDialogueClient(gateway.router)
    fault = ReadOnly()
    fault.begin(gateway)
    try:
        reply = asyncio.run(dialogue.send(call.id, "quiero cambiar mi cita", {}))
    finally:
        fault.end()
    assert reply.texts == [VOICE_APOLOGY]
    assert reply.handoff is not None and reply.handoff["reason"] == "error"
    assert asyncio.run(gateway.router.write_back_held()) == 0
    saved = gateway.store.conversation(call.id)
    assert saved is not None and (saved.state, saved.reason) == (State.QUEUED, "error")


def test_a_new_twilio_call_goes_to_a_person_while_the_database_fails(tmp_path: Path):
    telephony = TelephonySettings(
        audiosocket_port=0, twilio_transfer_to="+34910000000", twilio_auth_token="t"
    )
    script = tmp_path / "caller.txt"  # stands in for a speech model: the line is up
    script.write_text("hola\n", encoding="utf-8")
    gateway = make_gateway(
        tmp_path / "gw.db", FakeAssistant(), telephony=telephony, call_script=script
    )
    fault = ReadOnly()

    async def scenario(api: Api) -> None:
        form = {"CallSid": "CA1", "From": "+34611223344", "To": "+34910000000"}
        url = f"{api.client.make_url('/telephony/twilio/voice')}"
        headers = {"X-Twilio-Signature": twilio_signature("t", url, form)}
        fault.begin(gateway)
        try:
            async with api.client.post(
                "/telephony/twilio/voice", data=form, headers=headers
            ) as response:
                status, body = response.status, await response.text()
        finally:
            fault.end()
        assert status == 200, body
        assert "no está disponible. Le paso con una persona.</Say>" in body
        assert "<Dial><Number>+34910000000</Number></Dial>" in body

    run_api(gateway, scenario)
