"""What a gateway remembers of its recent conversations for a database it cannot read: copies
(the router's later changes do not leak in), refreshed by use, bounded, oldest forgotten first."""

from __future__ import annotations

from bot.handoff.last_known import LastKnown
from bot.handoff.models import Conversation, State


def chat(conversation_id: str) -> Conversation:
    return Conversation(conversation_id, "webchat", State.BOT, 0.0)


def test_what_is_remembered_is_a_copy_of_what_was_read():
    known = LastKnown()
    conversation = chat("a")
    known.saw(conversation)
    conversation.state = State.QUEUED  # the router works on its own object

    remembered = known.conversation("a")
    assert remembered is not None and remembered.state == State.BOT
    remembered.state = State.CLOSED
    assert known.conversation("a").state == State.BOT  # type: ignore[union-attr]


def test_the_least_recently_used_are_forgotten_first():
    known = LastKnown(size=2)
    for conversation_id in ("a", "b"):
        known.saw(chat(conversation_id))
        known.saw_token(conversation_id, f"hash-{conversation_id}")
    known.saw(chat("a"))  # used again: now the newest
    known.saw_token("a", "hash-a")
    known.saw(chat("c"))
    known.saw_token("c", "hash-c")

    assert known.conversation("b") is None and known.token_hash("b") is None
    assert known.conversation("a") is not None and known.token_hash("c") == "hash-c"
