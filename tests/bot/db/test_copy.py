"""`python -m bot db copy`: an installation on the embedded SQLite files moves to PostgreSQL
with every row and id, and keeps working there (new rows, new bookings, Rasa's trackers)."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.cli.main import main
from bot.handoff.models import Conversation, State
from bot.handoff.store import GatewayStore
from bot.training.store import InboxItem, TrainerStore
from tests.helpers.actions import make_services

MADRID = ZoneInfo("Europe/Madrid")


def tracker_store(url: str) -> SQLTrackerStore:
    # Rasa takes a `host` holding a whole URL as the database URL (as endpoints.yml does)
    return SQLTrackerStore(Domain.empty(), host=url)


def a_sqlite_installation(folder: Path) -> dict[str, str]:
    names = ("gateway", "actions", "conversations")
    urls = {name: f"sqlite:///{folder / (name + '.db')}" for name in names}
    gateway = GatewayStore(urls["gateway"])
    gateway.create_conversation(Conversation("c1", "webchat", State.BOT, time.time()), "tok")
    gateway.add_message("c1", "customer", "quiero una cita")
    gateway.add_message("c1", "bot", "¿Para qué día?")
    gateway.add_agent("lucia", "Lucía", "agent", ["sales"], "hash")
    trainer = TrainerStore(gateway.database)
    trainer.add_item(InboxItem(0, "c1", 1, time.time(), "webchat", "quiero una cita", "book", 0.4,
                               "low_confidence"))  # fmt: skip
    gateway.close()
    services = make_services(folder, database_url=urls["actions"])
    shop = services.catalog.service("shop_appointment"), services.catalog.shop("sevilla_nervion")
    booking = services.appointments.book(
        *shop, dt.datetime(2026, 3, 3, 12, 0, tzinfo=MADRID), "Ana", "600000000"
    )
    assert booking is not None
    urls["booking"] = booking.code
    tracker = DialogueStateTracker.from_events(
        "c1", [ActionExecuted("action_listen"), UserUttered("quiero una cita"), BotUttered("¿Día?")]
    )
    asyncio.run(tracker_store(urls["conversations"]).save(tracker))
    return urls


def test_an_installation_moves_to_postgresql_and_keeps_working(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
):
    sqlite = a_sqlite_installation(tmp_path)

    code = main(["db", "copy", sqlite["gateway"], sqlite["actions"], sqlite["conversations"],
                 postgres_url])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "messages: 2 rows" in printed and "bookings: 1 rows" in printed
    gateway = GatewayStore(postgres_url)
    assert gateway.token_matches("c1", "tok")
    assert [m.text for m in gateway.messages("c1")] == ["quiero una cita", "¿Para qué día?"]
    assert gateway.add_message("c1", "customer", "el martes").id == 3  # past the copied ids
    assert gateway.agent_with_hash("lucia") is not None
    items, total = TrainerStore(gateway.database).open_items()
    assert total == 1 and items[0].text == "quiero una cita"
    services = make_services(tmp_path, database_url=postgres_url)
    assert services.appointments.get(sqlite["booking"]).customer_name == "Ana"
    trackers = tracker_store(postgres_url)
    tracker = asyncio.run(trackers.retrieve("c1"))
    assert tracker is not None and tracker.latest_message.text == "quiero una cita"
    tracker.update(UserUttered("el martes"))
    asyncio.run(trackers.save(tracker))  # Rasa's own id sequence continues past the copied ones
    assert asyncio.run(trackers.retrieve("c1")).latest_message.text == "el martes"


def test_a_target_that_already_has_rows_is_left_untouched(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
):
    sqlite = a_sqlite_installation(tmp_path)
    assert main(["db", "copy", sqlite["gateway"], postgres_url]) == 0
    capsys.readouterr()

    code = main(["db", "copy", sqlite["gateway"], sqlite["actions"], postgres_url])

    assert code == 1
    assert "already has" in capsys.readouterr().err
    assert (
        make_services(tmp_path, database_url=postgres_url).appointments.get(sqlite["booking"])
        is None
    )  # the actions' rows of the refused copy were not written either
    assert len(GatewayStore(postgres_url).messages("c1")) == 2


def test_a_missing_source_file_is_named(tmp_path: Path, postgres_url: str,
                                        capsys: pytest.CaptureFixture[str]):  # fmt: skip
    code = main(["db", "copy", f"sqlite:///{tmp_path / 'nothing.db'}", postgres_url])

    assert code == 1
    assert "no such database file" in capsys.readouterr().err
    assert not (tmp_path / "nothing.db").exists()


def test_db_upgrade_brings_both_databases_to_the_newest_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("BOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("ACTIONS_DATABASE_URL", raising=False)
    monkeypatch.delenv("BOT_GATEWAY_DB", raising=False)

    assert main(["db", "upgrade"]) == 0
    first = capsys.readouterr().out
    assert main(["db", "upgrade"]) == 0
    second = capsys.readouterr().out

    assert "gateway:" in first and "upgraded from empty" in first
    assert "actions:" in first and (tmp_path / "actions.db").is_file()
    assert second.count("up to date") == 2
    assert "tracker table ready" in first and (tmp_path / "conversations.db").is_file()
