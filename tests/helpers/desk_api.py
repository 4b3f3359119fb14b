"""The supervisor at the agent desk, through the gateway's API (an aiohttp client that keeps
its session cookie): the queue, conversation transcripts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from tests.helpers.live import SUPERVISOR

AGENT_VOICE = b"\x00\x10\x00\xf0" * 160  # 20 ms of a loud square wave at 16 kHz: a microphone


class DeskApi:
    """Logged in as the test supervisor while inside `async with`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> DeskApi:
        await self.post("login", {"username": SUPERVISOR[0], "password": SUPERVISOR[1]})
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Origin": self.url}
        async with self.http.post(f"{self.url}/api/desk/{path}", json=body, headers=headers) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.url}/api/desk/{path}") as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()

    async def queue_lines(self) -> list[dict[str, Any]]:
        queue = await self.get("queue")
        return [w for d in queue["departments"] for w in d["waiting"]]

    async def waiting(self, conversation_id: str, timeout: float = 20) -> dict[str, Any]:
        """The conversation's line in the queue, once it is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [w for w in await self.queue_lines() if w["id"] == conversation_id]
            if lines:
                return lines[0]
            await asyncio.sleep(0.3)
        raise AssertionError("the conversation never reached the desk's queue")

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        detail = await self.get(f"conversations/{conversation_id}")
        return list(detail["conversation"]["messages"])

    async def until_said(self, conversation_id: str, words: str, timeout: float = 20) -> float:
        """Waits until the conversation holds a message with `words`; returns when (monotonic)."""
        deadline = time.monotonic() + timeout
        texts: list[str] = []
        while time.monotonic() < deadline:
            texts = [m["text"] for m in await self.transcript(conversation_id)]
            if any(words in text for text in texts):
                return time.monotonic()
            await asyncio.sleep(0.2)
        raise AssertionError(f"never said {words!r}: {texts}")
