"""The one client of the assistant: the Rasa server's channels and API over async HTTP.

Many conversations are in flight at once, so the gateway uses one pooled aiohttp session rather
than a blocking client in threads. Calls replayed from the command line use the same client;
the terminal chat and tests that block use it through `BlockingAssistant`.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from bot.assistant.contract import RESUME_EVENTS, BotReply, DialogueUnavailable, parse_reply
from bot.settings import Settings
from bot.text import MAX_CHARS

T = TypeVar("T")


def server_for(conversation_id: str, base_urls: list[str]) -> str:
    """The Rasa server that always takes this conversation: a stable hash of its id, so each
    server's own in-memory lock keeps the conversation's turns in order."""
    return servers_for(conversation_id, base_urls)[0]


def servers_for(conversation_id: str, base_urls: list[str]) -> list[str]:
    """Every Rasa server in the order this conversation tries them: its own first (a stable
    hash of its id, the same on every gateway), then the next ones round the ring. Another
    server takes a turn only when the conversation's own refuses the connection, and Rasa's
    Redis lock store (the cluster's endpoints) keeps two servers from running one conversation
    at once."""
    digest = hashlib.blake2b(conversation_id.encode(), digest_size=4).digest()
    first = int.from_bytes(digest, "big") % len(base_urls)
    return base_urls[first:] + base_urls[:first]


class AssistantClient:
    """Sends customer turns to Rasa and resumes paused conversations.

    Args:
        base_url: the Rasa server, or several (each conversation always goes to the same one).
        token: their API token (resuming a conversation uses the tracker API).
        timeout: seconds for one answer; slower counts as a failure (handoff with reason error).
        actions_url: the action server behind them, for health checks ("" when unknown).
    """

    def __init__(
        self, base_url: str | list[str], token: str, timeout: float, actions_url: str = ""
    ) -> None:
        self._base_urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self._actions_url = actions_url
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> AssistantClient:
        return cls(
            settings.rasa_urls, settings.rasa_token, settings.reply_timeout, settings.actions_url
        )

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # a new connection for every request: a Rasa server that died is then refused at
            # once (and the turn safely goes to the next one) instead of failing a request
            # already written on a pooled connection, whose fate nobody can know
            connector = aiohttp.TCPConnector(limit=64, force_close=len(self._base_urls) > 1)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self, conversation_id: str, text: str, channel: str, metadata: dict[str, Any]
    ) -> BotReply:
        """Raises DialogueUnavailable on a timeout, an HTTP error or a malformed answer.

        A server that refuses or drops the connection without answering (stopped, or still
        loading its model after a restart) passes the turn to the next one; should it have
        died half-way through the turn, Redis's lock store makes the next one wait for the
        conversation's lock, and a slow answer is the usual apology and a person. A timeout or
        an error answer is not sent again (the turn may be running)."""
        payload = {"sender": conversation_id, "message": text[:MAX_CHARS], "metadata": metadata}
        servers = servers_for(conversation_id, self._base_urls)
        for server in servers:
            url = f"{server}/webhooks/{channel}/webhook"
            try:
                async with self._http().post(url, json=payload) as answer:
                    answer.raise_for_status()
                    messages = await answer.json()
            except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as error:
                if server == servers[-1]:
                    raise DialogueUnavailable(_describe(error)) from error
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                raise DialogueUnavailable(_describe(error)) from error
            return parse_reply(messages if isinstance(messages, list) else [])
        raise DialogueUnavailable("no Rasa server")  # (an empty list of servers)

    async def resume(self, conversation_id: str) -> None:
        """Un-pauses the conversation in Rasa (see RESUME_EVENTS)."""
        server = server_for(conversation_id, self._base_urls)
        url = f"{server}/conversations/{conversation_id}/tracker/events"
        try:
            async with self._http().post(
                url, json=RESUME_EVENTS, params={"token": self._token}
            ) as answer:
                answer.raise_for_status()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DialogueUnavailable(_describe(error)) from error

    async def parse(self, text: str) -> dict[str, Any]:
        """What the first server's NLU makes of `text` (Rasa's /model/parse: intent, entities).
        Raises DialogueUnavailable like `send`."""
        url = f"{self._base_urls[0]}/model/parse"
        try:
            async with self._http().post(
                url, params={"token": self._token}, json={"text": text}
            ) as answer:
                answer.raise_for_status()
                parsed = await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise DialogueUnavailable(_describe(error)) from error
        return parsed if isinstance(parsed, dict) else {}

    async def loaded_model(self, server: str) -> str:
        """The file name of the model `server` has loaded ("" when it does not say)."""
        try:
            async with self._http().get(
                f"{server}/status", params={"token": self._token}
            ) as answer:
                status = await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise DialogueUnavailable(_describe(error)) from error
        return Path(str(status.get("model_file") or "")).name if isinstance(status, dict) else ""

    async def load_model(self, server: str, model: Path) -> None:
        """Makes `server` load the model file (it answers once the model serves)."""
        try:
            async with self._http().put(
                f"{server}/model",
                params={"token": self._token},
                json={"model_file": str(model.resolve())},
            ) as answer:
                answer.raise_for_status()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise DialogueUnavailable(_describe(error)) from error

    async def rasa_status(self) -> str:
        """Whether every Rasa server answers: "ok", else "down"."""
        answers = await asyncio.gather(*(self._answers(f"{url}/") for url in self._base_urls))
        return "ok" if all(answers) else "down"

    async def actions_status(self) -> str:
        """Whether the action server answers its health check: "ok", "down" or "unknown"."""
        if not self._actions_url:
            return "unknown"
        return "ok" if await self._answers(f"{self._actions_url}/health") else "down"

    async def _answers(self, url: str) -> bool:
        try:
            async with self._http().get(url, timeout=2) as answer:
                return answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False


class BlockingAssistant:
    """The assistant for code that blocks (the terminal chat, tests): one channel, each call
    run to completion on the client's own event loop in a thread of its own, so it works
    whether or not the caller's thread already runs a loop.

    Args:
        client: the assistant.
        channel: the Rasa channel every message goes to (`webchat` or `voice`).
    """

    def __init__(self, client: AssistantClient, channel: str = "webchat") -> None:
        self._client = client
        self._channel = channel
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="assistant-client", daemon=True
        )
        self._thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> BotReply:
        """Raises DialogueUnavailable when the assistant does not answer."""
        return self._run(self._client.send(conversation_id, text, self._channel, metadata or {}))

    def resume(self, conversation_id: str) -> None:
        self._run(self._client.resume(conversation_id))

    def close(self) -> None:
        self._run(self._client.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _describe(error: Exception) -> str:
    """For the logs: the kind of failure and the HTTP status, never the URL (it carries the
    Rasa API token and the conversation id)."""
    status = getattr(error, "status", None)
    return f"{type(error).__name__}" + (f" status={status}" if status else "")
