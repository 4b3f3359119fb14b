"""Orders and shipments: demo data seeded from YAML, looked up by number."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from actions.services.database import orders, seeds


@dataclass(frozen=True)
class OrderEvent:
    """One step of an order's history."""

    status: str
    day: dt.date
    note: str = ""


@dataclass(frozen=True)
class Order:
    """An order as the tracking service knows it."""

    number: str
    postcode: str
    item: str
    carrier: str
    status: str
    estimated_delivery: dt.date | None
    history: tuple[OrderEvent, ...]


class OrderService:
    """Looks orders up; the demo orders are (re)seeded whenever their file changes.

    Args:
        engine: the database.
        seed_file: the operator's demo orders (YAML).
        today: returns today's date in the business time zone; demo dates are relative to it.
    """

    def __init__(self, engine: Engine, seed_file: Path, today: Callable[[], dt.date]) -> None:
        self._engine = engine
        self._seed_file = seed_file
        self._today = today
        self._seeded_on: dt.date | None = None

    def get(self, number: str) -> Order | None:
        if self._seeded_on != self._today():
            self._seeded_on = self._today()
            self._seed(self._seed_file, self._seeded_on)
        with self._engine.connect() as connection:
            row = connection.execute(select(orders).where(orders.c.number == number)).first()
        if not row:
            return None
        return Order(
            number=row.number,
            postcode=row.postcode,
            item=row.item,
            carrier=row.carrier,
            status=row.status,
            estimated_delivery=(
                dt.date.fromisoformat(row.estimated_delivery) if row.estimated_delivery else None
            ),
            history=tuple(
                OrderEvent(e["status"], dt.date.fromisoformat(e["day"]), e.get("note", ""))
                for e in json.loads(row.history)
            ),
        )

    def _seed(self, seed_file: Path, today: dt.date) -> None:
        text = seed_file.read_text(encoding="utf-8")
        # the day is part of the fingerprint: dates are relative to it, so reseed daily
        fingerprint = hashlib.sha256(f"{today.isoformat()}\n{text}".encode()).hexdigest()
        with self._engine.begin() as connection:
            known = connection.execute(
                select(seeds.c.fingerprint).where(seeds.c.name == "orders")
            ).scalar()
            if known == fingerprint:
                return
            connection.execute(delete(orders))
            for entry in yaml.safe_load(text).get("orders", []):
                connection.execute(orders.insert().values(**_row(entry, today)))
            connection.execute(delete(seeds).where(seeds.c.name == "orders"))
            connection.execute(seeds.insert().values(name="orders", fingerprint=fingerprint))


def _row(entry: dict, today: dt.date) -> dict[str, str | None]:
    delivery = entry.get("delivery_in_days")
    history = [
        {
            "status": step["status"],
            "day": (today - dt.timedelta(days=int(step["days"]))).isoformat(),
            "note": step.get("note", ""),
        }
        for step in entry.get("history", [])
    ]
    return {
        "number": str(entry["number"]),
        "postcode": str(entry["postcode"]),
        "item": entry["item"],
        "carrier": entry["carrier"],
        "status": entry["status"],
        "estimated_delivery": (
            (today + dt.timedelta(days=int(delivery))).isoformat() if delivery is not None else None
        ),
        "history": json.dumps(history, ensure_ascii=False),
    }
