"""After a turn that failed while it was booking (the action server died mid-action), whether
the booking was made: a booking is one transaction, done once or not at all, and the customer
is told which before being passed to a person.

The Rasa server logs the failed action on the tracker (its events are lost), so the tracker
says a booking was in flight; the actions' own database says whether it was committed.
"""

from __future__ import annotations

import asyncio
import logging

from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions.language.phrases import spell_code
from actions.services.appointments import booked_since
from actions.services.database import open_database
from actions.settings import ActionsSettings

BOOKING_ACTION = "action_book_appointment"
BOOKED = {
    "webchat": "Su cita sí ha quedado reservada, con el código {code}.",
    "voice": "Su cita sí ha quedado reservada. Su código es {code}.",
}
NOT_BOOKED = "Su cita no ha llegado a reservarse; la persona que le atienda puede hacerlo."
UNKNOWN = "No he podido comprobar si su cita quedó reservada; la persona que le atienda lo mirará."

logger = logging.getLogger(__name__)
_engine: Engine | None = None


def _ledger() -> Engine:
    """The actions' database, opened on first need (most Rasa servers never need it)."""
    global _engine
    if _engine is None:
        _engine = open_database(ActionsSettings.from_env().database_url)
    return _engine


def _actions_of_the_last_turn(tracker: DialogueStateTracker) -> list[str]:
    """The actions run since the customer's last message (a failed one is logged too)."""
    actions: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, ActionExecuted) and event.action_name:
            actions.append(event.action_name)
    return actions


async def booking_outcome(
    tracker: DialogueStateTracker | None, sender: str, since: float, channel: str
) -> str | None:
    """What to tell the customer about a booking this failed turn was making (None: it was
    making none)."""
    if tracker is None or BOOKING_ACTION not in _actions_of_the_last_turn(tracker):
        return None
    try:
        code = await asyncio.to_thread(booked_since, _ledger(), sender, since)
    except SQLAlchemyError:
        logger.exception("booking_outcome.unknown")
        return UNKNOWN
    logger.warning("booking_outcome.after_fault booked=%s", code is not None)
    if code is None:
        return NOT_BOOKED
    spoken = spell_code(code) if channel == "voice" else code
    return BOOKED.get(channel, BOOKED["webchat"]).format(code=spoken)
