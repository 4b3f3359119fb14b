"""Scores one model served by a Rasa server: its reading of the held-out sentences and the
scripted conversations it gets right."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.assistant.client import AssistantClient
from bot.nlu.data import NluFile
from bot.nlu.report import NluReport, Prediction, build_report
from bot.training.conversation_tests import Conversation, describe, turn_failures

# One at a time, in file order, as the test suite plays them: conversations book the same
# appointment slots, so their order decides what is free.
PARALLEL_CONVERSATIONS = 1
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeldOut:
    """A sentence never trained on, with the intent it means."""

    text: str
    intent: str


def load_held_out(path: Path) -> list[HeldOut]:
    """The examples of an NLU file (`tests/nlu/holdout.yml`), entity marks removed."""
    examples, _ = NluFile(path, path.name).scan()
    return [HeldOut(example.plain, example.intent) for example in examples]


@dataclass
class ModelScores:
    """What a model got right."""

    report: NluReport
    failures: dict[str, str] = field(default_factory=dict)  # conversation title -> what failed
    conversations: int = 0

    def summary(self) -> dict[str, float | int]:
        return {
            "macro_f1": round(self.report.macro_f1, 4),
            "accuracy": round(self.report.accuracy, 4),
            "conversations_passed": self.conversations - len(self.failures),
            "conversations_total": self.conversations,
        }


class ModelEvaluator:
    """Scores models served at `url` with the API `token`."""

    def __init__(self, token: str, held_out: list[HeldOut], conversations: list[Conversation]):
        self._token = token
        self._held_out = held_out
        self._conversations = conversations

    async def score(self, url: str, progress: Callable[[float], None]) -> ModelScores:
        client = AssistantClient(url, self._token, timeout=60)
        try:
            predictions = [await self._predict(client, item) for item in self._held_out]
            progress(0.3)
            failures = await self._play_all(client, progress)
        finally:
            await client.close()
        return ModelScores(build_report(predictions), failures, len(self._conversations))

    async def _predict(self, client: AssistantClient, item: HeldOut) -> Prediction:
        intent = (await client.parse(item.text)).get("intent") or {}
        return Prediction(
            item.text, item.intent, str(intent.get("name")), float(intent.get("confidence") or 0)
        )

    async def _play_all(
        self, client: AssistantClient, progress: Callable[[float], None]
    ) -> dict[str, str]:
        gate = asyncio.Semaphore(PARALLEL_CONVERSATIONS)
        done = 0

        async def play(conversation: Conversation) -> tuple[str, str | None]:
            nonlocal done
            async with gate:
                failure = await self._play(client, conversation)
            done += 1
            progress(0.3 + 0.7 * done / max(1, len(self._conversations)))
            return conversation.title, failure

        results = await asyncio.gather(*(play(c) for c in self._conversations))
        return {title: failure for title, failure in results if failure}

    async def _play(self, client: AssistantClient, conversation: Conversation) -> str | None:
        """The first failed turn, described for trainers; None when the conversation passes
        (what exactly failed goes to the log, for developers)."""
        prefix = uuid.uuid4().hex[:8]
        for number, turn in enumerate(conversation.turns, start=1):
            sender = f"{prefix}-{turn.get('as', 'customer')}"
            reply = await client.send(sender, turn["user"], "webchat", {})
            failures = turn_failures(turn, reply)
            if failures:
                logger.info("training.conversation_failed %s: %s", conversation.title,
                            describe(number, turn, reply, failures))  # fmt: skip
                said = " ".join(reply.texts) or "nada"
                return f"en el turno {number}, a «{turn['user']}» respondió «{said}»"
        return None
