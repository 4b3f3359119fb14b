"""Conversation tests: the scripted conversations of tests/conversations/*.yml, played against
the real Rasa server and action server over the `webchat` channel.

`rasa test` stories cannot run custom actions or a form's rejection of an answer, so they cannot
show what a customer actually reads; these can. Each turn may check:
  bot:      phrases that must all appear in the assistant's replies (case-insensitive)
  not:      phrases that must not appear
  handoff:  fields the handoff message must have; without it, no handoff may happen
            (`reasons`: phrases that must appear in the frustration meter's reasons)
  as:       another customer's conversation id, for scenarios with several customers
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.rasa_client import RasaClient

CONVERSATIONS_DIR = Path(__file__).resolve().parents[1] / "conversations"

pytestmark = pytest.mark.integration


def load_conversations() -> list[Any]:
    cases = []
    for path in sorted(CONVERSATIONS_DIR.glob("*.yml")):
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]:
            cases.append(pytest.param(conversation, id=f"{path.stem}: {conversation['name']}"))
    return cases


@pytest.mark.parametrize("conversation", load_conversations())
def test_conversation(conversation: dict[str, Any], live_client: RasaClient) -> None:
    prefix = uuid.uuid4().hex[:8]
    for number, turn in enumerate(conversation["turns"], start=1):
        sender = f"{prefix}-{turn.get('as', 'customer')}"
        reply = live_client.send(sender, turn["user"])
        said = " ".join(reply.texts)
        where = f"turn {number} ({turn['user']!r}) answered {said!r}"
        assert said or reply.handoff, f"silence at {where}"
        for phrase in turn.get("bot", []):
            assert phrase.lower() in said.lower(), f"missing {phrase!r} at {where}"
        for phrase in turn.get("not", []):
            assert phrase.lower() not in said.lower(), f"unwanted {phrase!r} at {where}"
        expected = turn.get("handoff")
        if expected is None:
            assert reply.handoff is None, f"unexpected handoff {reply.handoff} at {where}"
        else:
            assert reply.handoff is not None, f"no handoff at {where}"
            reasons = "; ".join((reply.handoff.get("frustration") or {}).get("reasons", []))
            for phrase in expected.get("reasons", []):
                assert phrase in reasons, f"reason {phrase!r} missing at {where}: {reasons!r}"
            for key, value in expected.items():
                if key != "reasons":
                    assert reply.handoff.get(key) == value, (
                        f"handoff {key} at {where}: {reply.handoff}"
                    )
