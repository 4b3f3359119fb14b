"""Short follow-ups read in the context of the question just answered.

People ask "¿A qué hora abre la tienda de Sevilla el sábado?" and then "¿y el domingo?", "¿y la de
Valencia?", or correct themselves: "no, perdón, en Valencia". On their own those messages mean
nothing to the intent classifier (a fallback, `inform`, `deny`). Read after the previous
question, they are that question again with one thing changed.

This step runs in the Rasa channels, after NLU and before the frustration check: when a message
looks like a follow-up or a correction, and the customer's previous question was one the
assistant answers at once (hours, an order, an appointment check), the turn goes to the dialogue
as that question again. The turn's metadata says so (`follow_up`), and the action carries over
what the customer did not change (bot.rasa_server's only job here is to read the conversation;
what carries over is each topic's business, in actions/).

While a form is running (a booking, a move), the form itself reads every answer, follow-ups
included, so nothing is rewritten.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.text import unaccented

logger = logging.getLogger(__name__)

# questions answered at once, that a follow-up may ask again with something changed
FOLLOW_TOPICS = frozenset({"ask_opening_hours", "track_order", "check_appointment"})
# what the classifier makes of a bare follow-up; a confident other topic is a new question
WEAK_READINGS = frozenset({"nlu_fallback", "inform", "deny", "affirm", "out_of_scope", "greet"})
NEW_QUESTION_CONFIDENCE = 0.5
NEVER_REREAD = frozenset({"request_human", "express_frustration"})  # these win, always
MAX_WORDS = 10  # "¿y el domingo?", "no, perdón, en la de Valencia": follow-ups are short
LOOK_BACK_TURNS = 3  # the question must be recent: a customer turn or two ago

_ELLIPSIS = re.compile(r"^(?:y|e|vale y|ok y|bueno y|entonces|y entonces|y que tal|que tal)\b")
_ALSO = re.compile(r"\btambien\??$")
_CORRECTION = re.compile(
    r"^(?:no[ ,]+)?(?:perdon|perdona|perdone|disculpa|disculpe|me he equivocado|me equivoque"
    r"|quise decir|queria decir|digo|mejor|no no|rectifico|corrijo)\b"
    r"|^no[ ,]+(?:en|el|la|los|las|para|del|de la|a las|pedido|mejor)\b"
)
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class FollowUp:
    """A message read as the previous question again: which topic, and how it was said."""

    topic: str
    kind: str  # "ellipsis" ("¿y el domingo?") or "correction" ("no, perdón, en Valencia")

    def to_json(self, understood_intent: str | None) -> dict[str, Any]:
        return {"topic": self.topic, "kind": self.kind, "understood_intent": understood_intent}


def shape_of(text: str) -> str | None:
    """ "ellipsis", "correction" or None: how the words look, before any context."""
    plain = " ".join(_WORD.findall(unaccented(text)))
    if not plain or len(plain.split()) > MAX_WORDS:
        return None
    if _CORRECTION.search(plain):
        return "correction"
    if _ELLIPSIS.search(plain) or _ALSO.search(plain):
        return "ellipsis"
    return None


async def read_follow_up(
    agent: Any, sender: str, text: str, parse_data: dict[str, Any] | None
) -> FollowUp | None:
    """The follow-up this message is, if the conversation makes it one."""
    kind = shape_of(text)
    if kind is None or parse_data is None or text.startswith("/"):
        return None
    intent = parse_data.get("intent") or {}
    name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
    if name in NEVER_REREAD:
        return None
    if name not in FOLLOW_TOPICS | WEAK_READINGS and confidence >= NEW_QUESTION_CONFIDENCE:
        return None  # "¿y cómo anulo la cita?" is a new question
    try:
        store = getattr(agent, "tracker_store", None)
        tracker = await store.retrieve(sender) if store is not None else None
        if tracker is None or tracker.active_loop_name:
            return None  # a form reads its answers itself
        topic = _recent_question(tracker.events)
    except Exception:  # noqa: BLE001 - without its context the turn is read as it is
        logger.exception("follow_up.context_unreadable sender=%s", sender)
        return None
    return FollowUp(topic, kind) if topic else None


def as_follow_up(
    parse_data: dict[str, Any], metadata: dict[str, Any], follow_up: FollowUp
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The turn as the dialogue gets it: the previous question's intent, entities kept."""
    understood = (parse_data.get("intent") or {}).get("name")
    logger.info("follow_up.read topic=%s kind=%s understood=%s", follow_up.topic,
                follow_up.kind, understood)  # fmt: skip
    intent = {"name": follow_up.topic, "confidence": 1.0}
    ranking = [
        i for i in parse_data.get("intent_ranking") or [] if i.get("name") != follow_up.topic
    ]
    return (
        {**parse_data, "intent": intent, "intent_ranking": [intent, *ranking]},
        {**metadata, "follow_up": follow_up.to_json(understood)},
    )


def _recent_question(events: Any) -> str | None:
    """The topic of the customer's latest turns, if one of the last few asked a question that
    is answered at once and nothing else was asked since."""
    turns = 0
    for event in reversed(list(events)):
        if getattr(event, "type_name", "") in ("pause", "resume"):
            return None  # a person took over in between
        if getattr(event, "type_name", "") != "user":
            continue
        turns += 1
        name = ((getattr(event, "parse_data", None) or {}).get("intent") or {}).get("name")
        if name in FOLLOW_TOPICS:
            return str(name)
        if turns >= LOOK_BACK_TURNS or name not in WEAK_READINGS | {None, "thank"}:
            return None
    return None
