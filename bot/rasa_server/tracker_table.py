"""Rasa's SQL tracker table (`events`), created before several Rasa servers start on one new
database (`python -m bot cluster`).

Each Rasa server creates the table when it is missing. Two starting at once on a brand-new
database both try, and the loser logs PostgreSQL's "already exists" as an error before serving
normally: harmless, but it reads like a fault to whoever watches the logs. The table is made
from Rasa's own definition, so it is always the shape the servers expect."""

from __future__ import annotations

import warnings

from bot.db.engine import open_engine


def create_tracker_table(url: str) -> None:
    """Creates Rasa's `events` table (and its index) at `url` if it is not there yet."""
    # imported here: Rasa takes most of a second to import, which every other `python -m bot`
    # command would pay for. Its import warnings (SQLAlchemy 2.0 notices) are Rasa's to fix,
    # not the operator's: recorded and dropped (Rasa resets the warning filters as it loads)
    with warnings.catch_warnings(record=True):
        from rasa.core.tracker_store import SQLTrackerStore

    engine = open_engine(url)
    try:
        SQLTrackerStore.Base.metadata.create_all(engine)
    finally:
        engine.dispose()
