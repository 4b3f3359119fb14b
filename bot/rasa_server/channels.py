"""Rasa input channels `webchat` and `voice`, loaded by the Rasa server from credentials.yml.

Both speak Rasa's REST format (POST {"sender", "message", "metadata"} to /webhooks/<name>/webhook)
and add what a contact centre needs: text is cleaned, an empty message gets a polite answer
without bothering the model, and a turn that produced no reply (the action server down, an
error) gets an apology and a handoff request with reason `error` instead of silence.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.assistant.contract import apology, error_handoff
from bot.rasa_server import follow_up, frustration_check, speedups
from bot.rasa_server.booking_outcome import booking_outcome
from bot.text import clean_text, has_words

logger = logging.getLogger(__name__)

EMPTY_REPLY = "No me ha llegado ningún mensaje. ¿En qué puedo ayudarle?"
SYMBOLS_REPLY = (
    "Solo me han llegado símbolos y no sé interpretarlos. Puedo ayudarle con horarios, citas, "
    "pedidos, averías o reclamaciones, o pasarle con una persona."
)
FALLBACK_INTENT = "nlu_fallback"
DIALOGUE_FALLBACK = "utter_default"  # what Rasa's core fallback (action_default_fallback) says


def understanding_message(
    sender: str, parsed: dict[str, Any] | None, dialogue_fallback: bool = False
) -> dict[str, Any]:
    """What the NLU made of the customer's words, as a last custom message: the gateway keeps
    the turns it was unsure about for trainers. `guess` is the best intent other than the
    fallback, so a trainer sees what the model leaned towards; `dialogue_fallback` says the
    dialogue did not know what to do with the turn."""
    intent = (parsed or {}).get("intent") or {}
    ranking = (parsed or {}).get("intent_ranking") or []
    guess = next((i for i in ranking if i.get("name") != FALLBACK_INTENT), intent)
    return {
        "recipient_id": sender,
        "custom": {
            "understanding": {
                "intent": intent.get("name"),
                "confidence": round(float(intent.get("confidence") or 0.0), 4),
                "guess": guess.get("name"),
                "guess_confidence": round(float(guess.get("confidence") or 0.0), 4),
                "dialogue_fallback": dialogue_fallback,
            }
        },
    }


class ChannelCollector(CollectingOutputChannel):
    """Collects the replies under the input channel's name: Rasa picks each response's
    `channel:` variant by the output channel's name, and the plain collector is "collector"."""

    def __init__(self, channel: str) -> None:
        super().__init__()
        self._channel = channel
        self.responses: list[str] = []  # the domain responses said, e.g. "utter_default"

    def name(self) -> str:  # type: ignore[override]
        return self._channel

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if isinstance(message.get("utter_action"), str):
            self.responses.append(message["utter_action"])
        await super().send_response(recipient_id, message)

    @property
    def fell_back(self) -> bool:
        """Whether the dialogue found nothing to do with the turn (Rasa's core fallback), even
        when the NLU was confident: a trainer should see that sentence too."""
        return DIALOGUE_FALLBACK in self.responses


class WebchatInput(RestInput):
    """Web chat messages from the gateway."""

    def __init__(self) -> None:
        super().__init__()
        self._frustration = frustration_check.FrustrationCheck()

    @classmethod
    def name(cls) -> str:
        return "webchat"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        speedups.apply()  # the Rasa server builds our channels once, at start
        hook = Blueprint(f"{self.name()}_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            payload = request.json if isinstance(request.json, dict) else {}
            sender = payload.get("sender")
            if not isinstance(sender, str) or not sender.strip():
                return response.json({"error": "'sender' (conversation id) is required"}, 400)
            text = clean_text(payload.get("message"))
            if not text:
                return response.json([{"recipient_id": sender, "text": EMPTY_REPLY}])
            if not has_words(text) and not text.startswith("/"):
                return response.json([{"recipient_id": sender, "text": SYMBOLS_REPLY}])
            metadata = payload.get("metadata")
            if not isinstance(metadata, dict):
                metadata = {}
            messages = await self._answer(request, on_new_message, sender, text, metadata)
            return response.json(messages)

        return hook

    async def _answer(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        sender: str,
        text: str,
        metadata: dict[str, Any],
    ) -> list[dict[str, Any]]:
        collector = ChannelCollector(self.name())
        agent = getattr(request.app.ctx, "agent", None)
        parsed = await frustration_check.parse(agent, text)
        if parsed is not None and (
            found := await follow_up.read_follow_up(agent, sender, text, parsed)
        ):
            parsed, metadata = follow_up.as_follow_up(parsed, metadata, found)
        checked = await self._frustration.check(agent, sender, text, parsed, metadata)
        message = UserMessage(
            text,
            collector,
            sender,
            parse_data=checked.parse_data,
            input_channel=self.name(),
            metadata=checked.metadata,
        )
        started = time.time()
        try:
            await on_new_message(message)
            self._frustration.remember(sender, checked.state)
        except Exception:  # noqa: BLE001 - whatever broke, the customer gets an answer
            logger.exception("channel.%s.turn_failed", self.name())
        if collector.messages:
            replies = checked.with_acknowledgement(collector.messages, self.name(), sender)
            return [*replies, understanding_message(sender, parsed, collector.fell_back)]
        tracker = await _tracker(request, sender)
        if tracker is not None and tracker.is_paused():
            return collector.messages  # handed to a person: silent on purpose
        logger.error("channel.%s.no_reply", self.name())
        said = [apology(self.name())]
        if booking := await booking_outcome(tracker, sender, started, self.name()):
            said.append(booking)
        return [
            *({"recipient_id": sender, "text": text} for text in said),
            {"recipient_id": sender, "custom": {"handoff": error_handoff()}},
        ]


class VoiceInput(WebchatInput):
    """Transcribed caller turns from the voice pipeline; responses use `channel: voice` variants."""

    @classmethod
    def name(cls) -> str:
        return "voice"


async def _tracker(request: Request, sender: str) -> DialogueStateTracker | None:
    agent = getattr(request.app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return None
    tracker: DialogueStateTracker | None = await agent.tracker_store.retrieve(sender)
    return tracker
