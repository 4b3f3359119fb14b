"""The frustration meter inside the Rasa channels: every customer turn is scored after NLU and
before the dialogue acts on it.

Scoring here rather than in each client means every way in (web chat, browser calls, the
terminal, `bot talk`, telephony) gets the same meter, and the tracker keeps it: each turn's
metadata carries the meter's state, its score and its reasons, so the actions put the reasons in
the handoff message and trainers see them in the conversation.

- Over the threshold, the turn is handed to the dialogue as `express_frustration` (its words and
  entities kept; the classifier's intent is kept as `understood_intent`), whose action hands off
  with reason `frustration` and high priority. A request for a person keeps its own intent: it is
  handed off at once anyway.
- Rising but below the threshold, the assistant first says it understands and offers a person,
  then answers as usual.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.frames import VoiceFeatures
from bot.rasa_server.frustration import FrustrationWeights, load_lexicon
from bot.rasa_server.frustration_meter import Assessment, FrustrationMeter, MeterState, Turn

logger = logging.getLogger(__name__)

FRUSTRATION_INTENT = "express_frustration"
EXPLICIT_REQUEST = "request_human"
ACKNOWLEDGEMENT = (
    "Entiendo que es frustrante, y lo siento. Si prefiere hablar con una persona, dígamelo y le "
    "paso ahora mismo."
)
PERSON_BUTTON = {"title": "Hablar con una persona", "payload": "/request_human"}
# the first words of an answer to an upset customer, by the sign that moved the score most
APOLOGIES = {
    "repetition": "Perdone que tenga que repetírmelo.",
    "same_request": "Perdone que tenga que repetírmelo.",
    "misunderstood": "Perdone, no le estoy entendiendo bien.",
    "no_progress": "Siento que esto se esté alargando.",
}
APOLOGY = "Siento las molestias."
REMEMBERED_CONVERSATIONS = 10_000


@dataclass(frozen=True)
class CheckedTurn:
    """A turn after the check: what the dialogue gets, and what the meter says."""

    parse_data: dict[str, Any] | None
    metadata: dict[str, Any]
    assessment: Assessment
    state: MeterState

    @property
    def intent(self) -> str | None:
        return _intent(self.parse_data)[0]

    def with_acknowledgement(
        self, replies: list[dict[str, Any]], channel: str, sender: str
    ) -> list[dict[str, Any]]:
        """The assistant's replies in the tone the customer's mood asks for.

        - Rising past the acknowledgement level (at most every few turns): led by "Entiendo que
          es frustrante… si prefiere hablar con una persona, dígamelo" (a button in chat).
        - Upset on the other turns: the answer starts with a short apology for what upset them
          ("Perdone que tenga que repetírmelo.") and, in chat, ends with the person button.

        A frustration intent gets the same from its own action, and a handoff needs none.
        """
        handing_off = any("handoff" in (reply.get("custom") or {}) for reply in replies)
        explicit = self.intent in (FRUSTRATION_INTENT, EXPLICIT_REQUEST)
        said = [reply for reply in replies if reply.get("text")]
        if explicit or handing_off or not said:
            return replies
        if self.assessment.acknowledge:
            message: dict[str, Any] = {"recipient_id": sender, "text": ACKNOWLEDGEMENT}
            if channel != "voice":
                message["buttons"] = [PERSON_BUTTON]
            return [message, *replies]
        if not self.assessment.upset:
            return replies
        return self._apologising(replies, channel)

    def _apologising(self, replies: list[dict[str, Any]], channel: str) -> list[dict[str, Any]]:
        strongest = max(self.assessment.signs, key=lambda sign: sign.weight, default=None)
        apology = APOLOGIES.get(strongest.kind, APOLOGY) if strongest else APOLOGY
        first = next(i for i, reply in enumerate(replies) if reply.get("text"))
        toned = [dict(reply) for reply in replies]
        toned[first]["text"] = f"{apology} {toned[first]['text']}"
        if channel != "voice" and not any(reply.get("buttons") for reply in toned):
            last = max(i for i, reply in enumerate(toned) if reply.get("text"))
            toned[last]["buttons"] = [PERSON_BUTTON]
        return toned


class FrustrationCheck:
    """Scores turns, remembering each conversation's meter between them.

    The state of a conversation not in memory (after a restart, or one seldom used) is read
    back from the last customer turn in its tracker.

    Args:
        weights: weights and thresholds (default: from BOT_FRUSTRATION_* settings).
    """

    def __init__(self, weights: FrustrationWeights | None = None) -> None:
        self._lexicon = load_lexicon()
        self._weights = weights or FrustrationWeights.from_env()
        self._states: OrderedDict[str, MeterState] = OrderedDict()

    async def check(
        self,
        agent: Any,
        sender: str,
        text: str,
        parse_data: dict[str, Any] | None,
        metadata: dict[str, Any],
    ) -> CheckedTurn:
        state = await self._state_of(agent, sender)
        intent, confidence = _intent(parse_data)
        meter = FrustrationMeter(self._lexicon, self._weights, state)
        said = "" if text.startswith("/") else text  # a button's payload says nothing
        voice = VoiceFeatures.from_json(metadata.get("voice"))
        asked_on = bool(metadata.get("follow_up"))
        assessment = meter.update(Turn(said, time.time(), intent, confidence, voice, asked_on))
        record = {**assessment.to_json(), "state": meter.state.to_json()}
        if assessment.crossed and parse_data is not None and intent != EXPLICIT_REQUEST:
            record["understood_intent"] = intent
            parse_data = {**parse_data, "intent": {"name": FRUSTRATION_INTENT, "confidence": 1.0}}
            logger.info("frustration.handoff sender=%s score=%.2f", sender, meter.score)
        return CheckedTurn(parse_data, {**metadata, "frustration": record}, assessment, meter.state)

    def remember(self, sender: str, state: MeterState) -> None:
        """Keeps the state once the turn went through (a failed turn does not count)."""
        self._states[sender] = state
        self._states.move_to_end(sender)
        while len(self._states) > REMEMBERED_CONVERSATIONS:
            self._states.popitem(last=False)

    async def _state_of(self, agent: Any, sender: str) -> MeterState:
        if sender in self._states:
            return MeterState.from_json(self._states[sender].to_json())  # a copy
        store = getattr(agent, "tracker_store", None)
        tracker = await store.retrieve(sender) if store is not None else None
        for event in reversed(tracker.events if tracker else []):
            if getattr(event, "type_name", "") == "user":
                saved = (event.metadata or {}).get("frustration") or {}
                return MeterState.from_json(saved.get("state"))
        return MeterState()


async def parse(agent: Any, text: str) -> dict[str, Any] | None:
    """The NLU's reading of `text`, or None (the dialogue then parses it itself)."""
    if agent is None or not agent.is_ready():
        return None
    try:
        parsed = await agent.parse_message(text)
        # the dialogue's own `metadata` of the turn must not be overwritten by the parse's
        return {key: value for key, value in parsed.items() if key != "metadata"}
    except Exception:  # noqa: BLE001 - the turn goes on without the meter's intent signal
        logger.exception("frustration.parse_failed")
        return None


def _intent(parse_data: dict[str, Any] | None) -> tuple[str | None, float]:
    intent = (parse_data or {}).get("intent") or {}
    confidence = intent.get("confidence")
    return intent.get("name"), float(confidence) if isinstance(confidence, (int, float)) else 0.0
