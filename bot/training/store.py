"""SQLite storage of the trainers' loop, in the gateway's database file: the inbox of sentences
to review, and the trainings with their scores and reports.

The inbox keeps masked sentences only; the conversation around one is read from the gateway's
transcript and masked when shown.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.handoff.store import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, message_id INTEGER,
    at REAL NOT NULL, channel TEXT NOT NULL, text TEXT NOT NULL, intent TEXT,
    confidence REAL NOT NULL DEFAULT 0, reason TEXT NOT NULL, suggested_intent TEXT,
    status TEXT NOT NULL DEFAULT 'open', UNIQUE (message_id));
CREATE INDEX IF NOT EXISTS inbox_open ON inbox (status, at);
CREATE TABLE IF NOT EXISTS trainings (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL NOT NULL, finished_at REAL,
    status TEXT NOT NULL, progress REAL NOT NULL DEFAULT 0, step TEXT NOT NULL DEFAULT '',
    model TEXT, summary TEXT NOT NULL DEFAULT '', regressions TEXT NOT NULL DEFAULT '[]',
    scores TEXT, baseline TEXT, report TEXT);
"""
RUNNING = ("training", "testing")


@dataclass
class InboxItem:
    """A customer sentence the assistant was unsure about, waiting for a trainer."""

    id: int
    conversation_id: str
    message_id: int | None
    at: float
    channel: str
    text: str
    intent: str | None
    confidence: float
    reason: str  # low_confidence | fallback | handoff | agent
    suggested_intent: str | None = None
    status: str = "open"  # open | labelled | discarded

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "reason": self.reason,
            "reason_text": REASON_TEXTS.get(self.reason, self.reason),
            "suggested_intent": self.suggested_intent,
            "channel": self.channel,
            "at": self.at,
        }


REASON_TEXTS = {
    "low_confidence": "El asistente no estaba seguro",
    "fallback": "El asistente no lo entendió",
    "handoff": "La conversación pasó a una persona",
    "agent": "Un agente corrigió la intención",
}


@dataclass
class Training:
    """One training: its progress while it runs, its outcome and scores afterwards."""

    id: int
    started_at: float
    status: str  # training | testing | activated | rejected | failed
    finished_at: float | None = None
    progress: float = 0.0
    step: str = ""
    model: str | None = None
    summary: str = ""
    regressions: list[str] = field(default_factory=list)
    scores: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    report: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "progress": round(self.progress, 3),
            "step": self.step,
            "model": self.model,
            "summary": self.summary,
            "regressions": self.regressions,
            "scores": self.scores,
            "baseline": self.baseline,
        }


class TrainerStore:
    """The inbox and the trainings.

    Args:
        path: the SQLite file (the gateway's), or ":memory:".
    """

    def __init__(self, path: Path | str) -> None:
        self._db = connect(path, SCHEMA)

    def close(self) -> None:
        self._db.close()

    # inbox

    def add_item(self, item: InboxItem) -> bool:
        """False when that message is already in the inbox (its first reason stays)."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO inbox (conversation_id, message_id, at, channel, text, intent,"
            " confidence, reason, suggested_intent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item.conversation_id, item.message_id, item.at, item.channel, item.text,
                item.intent, item.confidence, item.reason, item.suggested_intent,
            ),
        )  # fmt: skip
        return cursor.rowcount == 1

    def suggest(self, message_id: int, intent: str) -> None:
        """An agent's correction of a message already in the inbox."""
        self._db.execute(
            "UPDATE inbox SET suggested_intent = ?, reason = 'agent', status = 'open' "
            "WHERE message_id = ?",
            (intent, message_id),
        )

    def open_items(self, limit: int = 200) -> tuple[list[InboxItem], int]:
        rows = self._db.execute(
            "SELECT * FROM inbox WHERE status = 'open' ORDER BY at DESC LIMIT ?", (limit,)
        ).fetchall()
        total = self._db.execute("SELECT COUNT(*) FROM inbox WHERE status = 'open'").fetchone()[0]
        return [InboxItem(**dict(row)) for row in rows], int(total)

    def item(self, item_id: int) -> InboxItem | None:
        row = self._db.execute("SELECT * FROM inbox WHERE id = ?", (item_id,)).fetchone()
        return InboxItem(**dict(row)) if row else None

    def close_item(self, item_id: int, status: str) -> bool:
        cursor = self._db.execute(
            "UPDATE inbox SET status = ? WHERE id = ? AND status = 'open'", (status, item_id)
        )
        return cursor.rowcount == 1

    def reopen_item(self, item_id: int) -> None:
        self._db.execute("UPDATE inbox SET status = 'open' WHERE id = ?", (item_id,))

    # trainings

    def start_training(self, step: str) -> Training:
        now = time.time()
        cursor = self._db.execute(
            "INSERT INTO trainings (started_at, status, step) VALUES (?, 'training', ?)",
            (now, step),
        )
        return Training(int(cursor.lastrowid or 0), now, "training", step=step)

    def save_training(self, training: Training) -> None:
        self._db.execute(
            "UPDATE trainings SET finished_at = ?, status = ?, progress = ?, step = ?, model = ?,"
            " summary = ?, regressions = ?, scores = ?, baseline = ?, report = ? WHERE id = ?",
            (
                training.finished_at, training.status, training.progress, training.step,
                training.model, training.summary, json.dumps(training.regressions),
                _dump(training.scores), _dump(training.baseline), _dump(training.report),
                training.id,
            ),
        )  # fmt: skip

    def trainings(self, limit: int = 20) -> list[Training]:
        rows = self._db.execute(
            "SELECT * FROM trainings ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [_training(row) for row in rows]

    def abandon_running(self) -> None:
        """At start-up: a training that was running when the gateway stopped did not finish."""
        self._db.execute(
            "UPDATE trainings SET status = 'failed', finished_at = ?, "
            "summary = 'El entrenamiento se interrumpió al reiniciarse el servidor.' "
            f"WHERE status IN {RUNNING}",
            (time.time(),),
        )


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _training(row: sqlite3.Row) -> Training:
    data = dict(row)
    for key in ("scores", "baseline", "report"):
        data[key] = json.loads(data[key]) if data[key] else None
    data["regressions"] = json.loads(data["regressions"] or "[]")
    return Training(**data)
