"""Rasa's tracker table made once before the cluster's Rasa servers start."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_server.tracker_table import create_tracker_table


def test_the_table_is_rasas_own_and_rasa_starts_on_it_without_an_error(
    database_url: str, caplog: pytest.LogCaptureFixture
):
    create_tracker_table(database_url)
    create_tracker_table(database_url)  # every start of the cluster: already there, no error

    engine = sa.create_engine(database_url)
    try:
        columns = {column["name"] for column in sa.inspect(engine).get_columns("events")}
    finally:
        engine.dispose()
    assert {"sender_id", "type_name", "timestamp", "intent_name", "data"} <= columns

    with caplog.at_level(logging.ERROR, logger="rasa.core.tracker_store"):
        # Rasa takes a `host` holding a whole URL as the database URL (as endpoints.yml does)
        store = SQLTrackerStore(Domain.empty(), host=database_url)
    assert "Could not create tables" not in caplog.text
    tracker = DialogueStateTracker.from_events("c1", [UserUttered("hola")])
    asyncio.run(store.save(tracker))
    saved = asyncio.run(store.retrieve("c1"))
    assert saved is not None and saved.latest_message.text == "hola"
