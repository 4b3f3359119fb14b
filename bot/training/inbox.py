"""Collects the customer sentences the assistant was unsure about, masked, for trainers.

A sentence goes to the inbox when the NLU or the dialogue fell back, when its confidence was
low, when the conversation was handed to a person right after it (unless the customer plainly
asked for one), or when an agent said what the customer really meant.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.handoff.models import Conversation, Message
from bot.training.masking import given_names, mask_with_names
from bot.training.store import InboxItem, TrainerStore

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
# understood for sure when confident: a handoff right after these says nothing about the NLU
PLAIN_REQUESTS = ("request_human", "affirm", "express_frustration", "complain")


class Inbox:
    """Decides which turns trainers should see, and files them.

    Args:
        store: where the inbox lives.
        threshold: turns understood with less confidence than this are collected
            (BOT_INBOX_CONFIDENCE).
    """

    def __init__(
        self,
        store: TrainerStore,
        threshold: float,
        said_before: Callable[[str], list[str]] | None = None,
    ) -> None:
        self.store = store
        self._threshold = threshold
        # what the customer said earlier in a conversation: a name given there is masked here
        self._said_before = said_before or (lambda _: [])

    def consider(
        self,
        conversation: Conversation,
        message: Message,
        understanding: dict[str, Any] | None,
        handoff: dict[str, Any] | None,
    ) -> bool:
        """Files the customer's `message` when the assistant was unsure; True when filed."""
        if not understanding or not message.text.strip():
            return False
        reason = self._reason(understanding, handoff)
        if reason is None:
            return False
        guess = understanding.get("guess") or understanding.get("intent")
        confidence = understanding.get("guess_confidence", understanding.get("confidence"))
        filed = self.store.add_item(
            self._item(
                conversation,
                message,
                reason,
                intent=guess if isinstance(guess, str) else None,
                confidence=float(confidence) if isinstance(confidence, (int, float)) else 0.0,
            )
        )
        if filed:
            logger.info("inbox.filed conversation=%s reason=%s", conversation.id, reason)
        return filed

    def correct(self, conversation: Conversation, message: Message, intent: str) -> None:
        """An agent says what the customer meant: filed (or refiled) with that intent."""
        self.store.add_item(self._item(conversation, message, "agent", suggested_intent=intent))
        if message.id is not None:  # (agents only see saved lines: always)
            self.store.suggest(message.id, intent)

    def _item(
        self, conversation: Conversation, message: Message, reason: str, **fields: Any
    ) -> InboxItem:
        return InboxItem(
            id=0,
            conversation_id=conversation.id,
            message_id=message.id,
            at=message.at,
            channel=conversation.channel,
            text=self._masked(conversation, message),
            intent=fields.pop("intent", None),
            confidence=fields.pop("confidence", 0.0),
            reason=reason,
            **fields,
        )

    def _masked(self, conversation: Conversation, message: Message) -> str:
        names = given_names([*self._said_before(conversation.id), message.text])
        return mask_with_names(message.text, names)

    def _reason(self, understanding: dict[str, Any], handoff: dict[str, Any] | None) -> str | None:
        intent = understanding.get("intent")
        confidence = understanding.get("confidence")
        confidence = float(confidence) if isinstance(confidence, (int, float)) else 0.0
        if intent == FALLBACK_INTENT or understanding.get("dialogue_fallback") is True:
            return "fallback"
        if confidence < self._threshold:
            return "low_confidence"
        if handoff is not None and intent not in PLAIN_REQUESTS:
            return "handoff"
        return None
