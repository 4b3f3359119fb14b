"""What this gateway last read of its recent conversations, for when the database cannot be
read at all (PostgreSQL stopped or out of reach).

A customer whose conversation this gateway served a moment ago can then still be recognised
(by the hash of their token, never the token) and get the apology and a person (`held.py`)
instead of a refusal. Behind the cluster's load balancer each conversation's requests go to
one gateway, so that gateway is the one that remembers it. Bounded: the oldest are forgotten
first. Used only when the database fails; every read that succeeds refreshes it.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from typing import TypeVar

from bot.handoff.models import Conversation

REMEMBERED = 10_000  # conversations: about 2 MB
Value = TypeVar("Value")


class LastKnown:
    """The last read state and token hash of the most recently used conversations."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()
        self._token_hashes: OrderedDict[str, str] = OrderedDict()

    def saw(self, conversation: Conversation) -> None:
        # a copy: the router changes its conversation objects as it works on them
        self._put(self._conversations, conversation.id, dataclasses.replace(conversation))

    def saw_token(self, conversation_id: str, token_hash: str) -> None:
        self._put(self._token_hashes, conversation_id, token_hash)

    def conversation(self, conversation_id: str) -> Conversation | None:
        known = self._conversations.get(conversation_id)
        return dataclasses.replace(known) if known else None

    def token_hash(self, conversation_id: str) -> str | None:
        return self._token_hashes.get(conversation_id)

    def _put(self, items: OrderedDict[str, Value], key: str, value: Value) -> None:
        items[key] = value
        items.move_to_end(key)
        while len(items) > self._size:
            items.popitem(last=False)
