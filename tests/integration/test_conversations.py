"""Conversation tests: the scripted conversations of tests/conversations/*.yml (format in
bot/training/conversation_tests.py), played against the real Rasa server and action server over
the `webchat` channel.

`rasa test` stories cannot run custom actions or a form's rejection of an answer, so they cannot
show what a customer actually reads; these can.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bot.assistant.client import BlockingAssistant
from bot.training.conversation_tests import (
    Conversation,
    describe,
    load_conversations,
    turn_failures,
)

CONVERSATIONS_DIR = Path(__file__).resolve().parents[1] / "conversations"

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "conversation",
    [pytest.param(c, id=c.title) for c in load_conversations(CONVERSATIONS_DIR)],
)
def test_conversation(conversation: Conversation, live_client: BlockingAssistant) -> None:
    prefix = uuid.uuid4().hex[:8]
    for number, turn in enumerate(conversation.turns, start=1):
        reply = live_client.send(f"{prefix}-{turn.get('as', 'customer')}", turn["user"])
        failures = turn_failures(turn, reply)
        assert not failures, describe(number, turn, reply, failures)
