"""The whole system on one PostgreSQL database (BOT_DATABASE_URL), as several machines would
share it: the gateway's conversations and queue, the action server's business data and Rasa's
tracker store all land there, and no SQLite file is made."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import migrations
from bot.settings import Settings
from bot.supervision.local_postgres import LocalPostgres
from tests.helpers.chat_api import Chat
from tests.helpers.live import system

pytestmark = pytest.mark.integration
PORTS = {"rasa": 15405, "actions": 15455, "gateway": 18400, "audiosocket": 0}


@pytest.fixture(scope="module")
def on_postgresql(
    postgres_server: LocalPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str]]:
    url = postgres_server.create_database("whole_system")
    data = tmp_path_factory.mktemp("on-postgresql")
    with system(data, PORTS, BOT_DATABASE_URL=url, ACTIONS_DATABASE_URL="") as (settings, _):
        yield settings, url


def count(url: str, query: str, **values: object) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text(query), values).scalar_one())
    finally:
        engine.dispose()


def test_a_chat_handed_to_a_person_lives_wholly_in_postgresql(on_postgresql):
    settings, url = on_postgresql
    customer = Chat(f"http://{settings.host}:{PORTS['gateway']}")

    said, _, _ = customer.say("¿A qué hora abre la tienda de Gran Vía?")
    assert any("abre" in text for text in said), said
    _, conversation, _ = customer.say("quiero hablar con una persona")

    assert conversation["state"] == "queued"
    assert count(url, "SELECT COUNT(*) FROM conversations WHERE id = :id AND state = 'queued'",
                 id=customer.id) == 1  # fmt: skip
    assert count(url, "SELECT COUNT(*) FROM messages WHERE conversation_id = :id",
                 id=customer.id) >= 4  # fmt: skip
    # Rasa's tracker store: the conversation's events, under the gateway's conversation id
    assert count(url, "SELECT COUNT(*) FROM events WHERE sender_id = :id", id=customer.id) > 0
    # the action server (which answered the opening hours) keeps its tables there
    assert count(url, "SELECT COUNT(*) FROM schema_version WHERE version_num = :head",
                 head=migrations.head("actions")) == 1  # fmt: skip
    assert sorted(path.name for path in Path(settings.data_dir).glob("*.db")) == []
