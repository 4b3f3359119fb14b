"""After a turn that failed while it was changing appointments (the action server died
mid-action), whether the change was made: booking, cancelling and moving an appointment are
each one transaction, done once or not at all, and the customer is told which before being
passed to a person.

The Rasa server logs the failed action on the tracker (its events are lost), so the tracker
says which change was in flight; the actions' own database says whether it was committed.
"""

from __future__ import annotations

import asyncio
import logging

from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from actions.language.phrases import spell_code
from actions.services.appointments import booked_since, changed_since
from actions.services.database import open_database
from actions.settings import ActionsSettings

BOOKING_ACTION = "action_book_appointment"
CANCEL_ACTION = "action_cancel_appointment"
MOVE_ACTION = "action_reschedule_appointment"
BOOKED = {
    "webchat": "Su cita sí ha quedado reservada, con el código {code}.",
    "voice": "Su cita sí ha quedado reservada. Su código es {code}.",
}
NOT_BOOKED = "Su cita no ha llegado a reservarse; la persona que le atienda puede hacerlo."
CANCELLED = "Su cita sí ha quedado anulada."
NOT_CANCELLED = (
    "Su cita no ha llegado a anularse y sigue en pie; la persona que le atienda puede anularla."
)
MOVED = "Su cita sí se ha cambiado a la nueva fecha."
NOT_MOVED = (
    "Su cita no ha llegado a cambiarse y sigue como estaba; la persona que le atienda puede "
    "cambiarla."
)
UNKNOWN = "No he podido comprobar si su cita quedó reservada; la persona que le atienda lo mirará."
UNKNOWN_CHANGE = (
    "No he podido comprobar si el cambio de su cita se hizo; la persona que le atienda lo mirará."
)

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
    """What to tell the customer about an appointment this failed turn was booking, cancelling
    or moving (None: it was doing none of that)."""
    actions = _actions_of_the_last_turn(tracker) if tracker is not None else []
    try:
        if changing := next((a for a in actions if a in (CANCEL_ACTION, MOVE_ACTION)), None):
            return await _change_outcome(changing, sender, since)
        if BOOKING_ACTION in actions:
            return await _booking_outcome(sender, since, channel)
    except SQLAlchemyError:
        logger.exception("booking_outcome.unknown")
        return UNKNOWN_CHANGE if changing else UNKNOWN
    return None


async def _booking_outcome(sender: str, since: float, channel: str) -> str:
    code = await asyncio.to_thread(booked_since, _ledger(), sender, since)
    logger.warning("booking_outcome.after_fault booked=%s", code is not None)
    if code is None:
        return NOT_BOOKED
    spoken = spell_code(code) if channel == "voice" else code
    return BOOKED.get(channel, BOOKED["webchat"]).format(code=spoken)


async def _change_outcome(action: str, sender: str, since: float) -> str:
    changed = await asyncio.to_thread(changed_since, _ledger(), sender, since)
    if action == CANCEL_ACTION:
        done = changed is not None and changed.status == "cancelled"
        logger.warning("booking_outcome.after_fault cancelled=%s", done)
        return CANCELLED if done else NOT_CANCELLED
    logger.warning("booking_outcome.after_fault moved=%s", changed is not None)
    return MOVED if changed is not None else NOT_MOVED
