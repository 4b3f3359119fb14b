"""Complaints (reclamaciones) and technical incidents, each with a reference number."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from actions.services.catalog import ComplaintRules
from actions.services.database import tickets
from actions.services.hours import HoursService

PREFIXES = {"complaint": "RC", "incident": "IN"}


@dataclass(frozen=True)
class Ticket:
    """A registered complaint or incident and when the customer gets an answer."""

    reference: str
    kind: str
    category: str
    description: str
    due_at: dt.datetime


class TicketService:
    """Registers complaints and incidents.

    Args:
        rules: deadlines from the operator's data.
        hours: the clock in the business time zone.
        engine: the database.
    """

    def __init__(self, rules: ComplaintRules, hours: HoursService, engine: Engine) -> None:
        self._rules = rules
        self._hours = hours
        self._engine = engine

    def open(self, kind: str, category: str, description: str, conversation_id: str) -> Ticket:
        """Stores a new ticket and returns it with its reference, e.g. 'RC-482913'."""
        now = self._hours.now()
        if kind == "complaint":
            due = now + dt.timedelta(days=self._rules.complaint_response_days)
        else:
            due = now + dt.timedelta(hours=self._rules.incident_response_hours)
        while True:
            reference = f"{PREFIXES[kind]}-{secrets.randbelow(900000) + 100000}"
            try:
                with self._engine.begin() as connection:
                    connection.execute(
                        tickets.insert().values(
                            reference=reference,
                            kind=kind,
                            category=category,
                            description=description,
                            created_at=now.isoformat(),
                            due_at=due.isoformat(),
                            conversation_id=conversation_id,
                        )
                    )
                return Ticket(reference, kind, category, description, due)
            except IntegrityError:
                continue  # reference taken: draw another
