"""The assistant as the gateway sees it: the Rasa server's channels over async HTTP.

Many conversations are in flight at once, so the gateway uses one pooled aiohttp session rather
than a blocking client in threads.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import aiohttp

from bot.channels.cleaning import MAX_CHARS
from bot.rasa_client import RESUME_EVENTS, BotReply, DialogueUnavailable, parse_reply


def server_for(conversation_id: str, base_urls: list[str]) -> str:
    """The Rasa server that always takes this conversation: a stable hash of its id, so each
    server's own in-memory lock keeps the conversation's turns in order."""
    digest = hashlib.blake2b(conversation_id.encode(), digest_size=4).digest()
    return base_urls[int.from_bytes(digest, "big") % len(base_urls)]


class AssistantClient:
    """Sends customer turns to Rasa and resumes paused conversations.

    Args:
        base_url: the Rasa server, or several (each conversation always goes to the same one).
        token: their API token (resuming a conversation uses the tracker API).
        timeout: seconds for one answer; slower counts as a failure (handoff with reason error).
    """

    def __init__(self, base_url: str | list[str], token: str, timeout: float) -> None:
        self._base_urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=64)
            self._session = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self, conversation_id: str, text: str, channel: str, metadata: dict[str, Any]
    ) -> BotReply:
        """Raises DialogueUnavailable on a timeout, an HTTP error or a malformed answer."""
        url = f"{server_for(conversation_id, self._base_urls)}/webhooks/{channel}/webhook"
        payload = {"sender": conversation_id, "message": text[:MAX_CHARS], "metadata": metadata}
        try:
            async with self._http().post(url, json=payload) as answer:
                answer.raise_for_status()
                messages = await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            raise DialogueUnavailable(_describe(error)) from error
        return parse_reply(messages if isinstance(messages, list) else [])

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

    async def healthy(self) -> bool:
        """Whether every Rasa server answers."""
        answers = await asyncio.gather(*(self._answers(url) for url in self._base_urls))
        return all(answers)

    async def _answers(self, base_url: str) -> bool:
        try:
            async with self._http().get(f"{base_url}/", timeout=2) as answer:
                return answer.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False


def _describe(error: Exception) -> str:
    """For the logs: the kind of failure and the HTTP status, never the URL (it carries the
    Rasa API token and the conversation id)."""
    status = getattr(error, "status", None)
    return f"{type(error).__name__}" + (f" status={status}" if status else "")
