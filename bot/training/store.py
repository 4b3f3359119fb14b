"""Storage of the trainers' loop, in the gateway's database (its tables are in the migrations'
`gateway` branch): the inbox of sentences to review, and the trainings with their scores and
reports.

The inbox keeps masked sentences only; the conversation around one is read from the gateway's
transcript and masked when shown.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from bot.db import Database, bound, insert_ignoring_conflicts, open_database

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


# what filing an inbox item writes
FILED = (
    "conversation_id", "message_id", "at", "channel", "text", "intent", "confidence", "reason",
    "suggested_intent",
)  # fmt: skip


class TrainerStore:
    """The inbox and the trainings.

    Args:
        location: the gateway's database (a Database already open, a URL, a SQLite path or
            ":memory:").
    """

    def __init__(self, location: Path | str | Database) -> None:
        self.database = open_database(location)
        self._engine = self.database.engine
        self._inbox = self.database.tables["inbox"]
        self._trainings = self.database.tables["trainings"]
        self._file_item = self.database.prepare(  # (at every message the assistant was unsure of)
            insert_ignoring_conflicts(self._engine, self._inbox).values(bound(*FILED))
        )

    def close(self) -> None:
        self.database.close()

    # inbox

    def add_item(self, item: InboxItem) -> bool:
        """False when that message is already in the inbox (its first reason stays)."""
        values = {name: getattr(item, name) for name in FILED}
        return self._file_item.run(values) == 1

    def suggest(self, message_id: int, intent: str) -> None:
        """An agent's correction of a message already in the inbox."""
        c = self._inbox.c
        self.database.run(
            self._inbox.update()
            .where(c.message_id == message_id)
            .values(suggested_intent=intent, reason="agent", status="open")
        )

    def open_items(self, limit: int = 200) -> tuple[list[InboxItem], int]:
        c = self._inbox.c
        rows = self.database.rows(
            sa.select(self._inbox).where(c.status == "open").order_by(c.at.desc()).limit(limit)
        )
        with self._engine.connect() as connection:
            total = connection.execute(
                sa.select(sa.func.count()).select_from(self._inbox).where(c.status == "open")
            ).scalar_one()
        return [InboxItem(**row) for row in rows], int(total)

    def item(self, item_id: int) -> InboxItem | None:
        rows = self.database.rows(sa.select(self._inbox).where(self._inbox.c.id == item_id))
        return InboxItem(**rows[0]) if rows else None

    def close_item(self, item_id: int, status: str) -> bool:
        c = self._inbox.c
        result = self.database.run(
            self._inbox.update().where(c.id == item_id, c.status == "open").values(status=status)
        )
        return bool(result.rowcount == 1)

    def reopen_item(self, item_id: int) -> None:
        self.database.run(
            self._inbox.update().where(self._inbox.c.id == item_id).values(status="open")
        )

    # trainings

    def start_training(self, step: str) -> Training:
        now = time.time()
        result = self.database.run(
            self._trainings.insert().values(started_at=now, status="training", step=step)
        )
        return Training(int(result.inserted_primary_key[0]), now, "training", step=step)

    def save_training(self, training: Training) -> None:
        self.database.run(
            self._trainings.update()
            .where(self._trainings.c.id == training.id)
            .values(
                finished_at=training.finished_at,
                status=training.status,
                progress=training.progress,
                step=training.step,
                model=training.model,
                summary=training.summary,
                regressions=json.dumps(training.regressions),
                scores=_dump(training.scores),
                baseline=_dump(training.baseline),
                report=_dump(training.report),
            )
        )

    def trainings(self, limit: int = 20) -> list[Training]:
        table = self._trainings
        rows = self.database.rows(sa.select(table).order_by(table.c.id.desc()).limit(limit))
        return [_training(row) for row in rows]

    def abandon_running(self) -> None:
        """At start-up: a training that was running when the gateway stopped did not finish."""
        c = self._trainings.c
        self.database.run(
            self._trainings.update()
            .where(c.status.in_(RUNNING))
            .values(
                status="failed",
                finished_at=time.time(),
                summary="El entrenamiento se interrumpió al reiniciarse el servidor.",
            )
        )


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def _training(row: RowMapping) -> Training:
    data = dict(row)
    for key in ("scores", "baseline", "report"):
        data[key] = json.loads(data[key]) if data[key] else None
    data["regressions"] = json.loads(data["regressions"] or "[]")
    return Training(**data)
