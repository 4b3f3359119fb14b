"""A conversation router on a temporary database with a fake assistant, for router tests."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bot.handoff.hub import Subscription
from bot.handoff.models import Agent, Message, State
from bot.handoff.router import ConversationRouter
from bot.handoff.store import GatewayStore
from tests.helpers.gateway_fakes import FakeAssistant, gateway_settings, handoff_reply, make_router

T = TypeVar("T")
ASK_FOR_A_PERSON = "quiero hablar con una persona"


class RouterEnv:
    """A router on a temporary database, driven synchronously (one event loop per call)."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.store = GatewayStore(tmp_path / "gw.db")
        self.assistant = FakeAssistant()
        self.router: ConversationRouter = make_router(
            self.store, self.assistant, gateway_settings(tmp_path / "gw.db", **settings)
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run(coroutine)

    def start(self, channel: str = "webchat") -> str:
        conversation, _ = self.router.start(channel)
        return conversation.id

    def say(self, conversation_id: str, text: str) -> list[Message]:
        return self.run(self.router.customer_message(conversation_id, text))

    def queue_up(self, conversation_id: str, **handoff_fields: Any) -> list[Message]:
        """The assistant hands the next message off."""
        self.assistant.script(handoff_reply(**handoff_fields))
        return self.say(conversation_id, ASK_FOR_A_PERSON)

    def agent(self, username: str, *departments: str, online: bool = True) -> Agent:
        name = username.capitalize()
        agent = self.store.add_agent(username, name, "agent", list(departments), "unused")
        if online:
            self.router.presence.arrive(agent)
        return agent

    def state(self, conversation_id: str) -> State:
        return self.router.get(conversation_id).state

    def texts(self, conversation_id: str, author: str | None = None) -> list[str]:
        messages = self.store.messages(conversation_id)
        return [m.text for m in messages if author is None or m.author == author]

    def snapshot(self, conversation_id: str) -> dict[str, Any]:
        return self.router.snapshot(self.router.get(conversation_id))

    def watch(self, conversation_id: str) -> Subscription:
        return self.router.hub.watch_conversation(conversation_id)
