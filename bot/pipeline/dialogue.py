"""The assistant's side of the call: each caller turn goes to the Rasa server's `voice` channel.

TranscriptFrame(final) -> BotTextFrame…, HandoffFrame (when the assistant hands over)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

from bot.assistant.client import AssistantClient
from bot.assistant.contract import BotReply, DialogueUnavailable, error_handoff
from bot.clock import Clock
from bot.frames import (
    BotTextFrame,
    Frame,
    HandoffFrame,
    InterruptFrame,
    TranscriptFrame,
    VoiceFeatures,
)
from bot.pipeline import prompts
from bot.pipeline.pipeline import Stage

logger = logging.getLogger(__name__)


class DialogueClient(Protocol):
    """Sends one caller turn to the assistant and returns its reply."""

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        """Raises DialogueUnavailable when the assistant does not answer."""


class AssistantDialogue:
    """The Rasa server's `voice` channel, for calls that talk to the assistant directly."""

    def __init__(self, assistant: AssistantClient) -> None:
        self._assistant = assistant

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        return await self._assistant.send(conversation_id, text, "voice", metadata)


class DialogueStage(Stage):
    """Asks the assistant what to say to each caller turn.

    Args:
        client: the assistant.
        conversation_id: one per call, so Rasa keeps the call's context.
        metadata: facts about the call sent with every turn (channel, caller number if known).
        clock: the call's clock.
    """

    def __init__(
        self, client: DialogueClient, conversation_id: str, metadata: dict[str, Any], clock: Clock
    ) -> None:
        self._client = client
        self._conversation_id = conversation_id
        self._metadata = metadata
        self._clock = clock
        self._barged_in_turn = -1

    def _turn_metadata(self, frame: TranscriptFrame) -> dict[str, Any]:
        """The call's facts plus how the caller said this turn (for the frustration meter);
        a keypad entry says so instead (digits have no voice to measure)."""
        if frame.endpoint == "keypad":
            return {**self._metadata, "input": "keypad"}
        voice = replace(
            frame.voice or VoiceFeatures(), barged_in=self._barged_in_turn == frame.turn
        )
        return {**self._metadata, "voice": voice.to_json()}

    async def process(self, frame: Frame) -> AsyncIterator[Frame]:
        yield frame
        if isinstance(frame, InterruptFrame):
            self._barged_in_turn = frame.turn
        if not (isinstance(frame, TranscriptFrame) and frame.final and frame.text):
            return
        try:
            reply = await self._client.send(
                self._conversation_id, frame.text, self._turn_metadata(frame)
            )
        except DialogueUnavailable as error:
            logger.error("dialogue.unavailable error=%s", error)
            reply = BotReply([prompts.TECHNICAL_PROBLEM], handoff=error_handoff())
        now = self._clock.now()
        for text in reply.texts:
            yield BotTextFrame(text, now, frame.turn)
        if reply.handoff is not None:
            if not reply.texts:
                yield BotTextFrame(prompts.TRANSFER, now, frame.turn)
            yield HandoffFrame(now, reply.handoff, frame.turn)
