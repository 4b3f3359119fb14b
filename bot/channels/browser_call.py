"""Browser calls: the caller's microphone over a WebSocket into the voice pipeline, and the
bot's (or the agent's) voice back, with barge-in.

The socket carries 16 kHz 16-bit mono PCM both ways (the page converts from and to its audio
context's rate) and small JSON control messages (see docs/gateway.md). The call itself (router,
queue, agent) is a `GatewayCall`; this module is the page's side of the line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web

from bot.channels.call_audio import RealTimeBudget, WebSocketAudioOutput, valid_frame
from bot.channels.gateway_call import (
    CALLS_UNAVAILABLE,
    GatewayCall,
    answer,
    refusal,
    warm_up_recognizer,
)
from bot.channels.webchat import open_customer_socket
from bot.clock import Clock, WallClock
from bot.edge.context import GATEWAY, Gateway

logger = logging.getLogger(__name__)

MAX_BAD_FRAMES = 50
WARM_UP = web.AppKey("recognizer_warm_up", asyncio.Task)
BAD_AUDIO = "El audio recibido no es válido: se esperan trozos PCM de 16 bits a 16 kHz."


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations/{id}/audio", caller_audio)
    app.on_startup.append(_start_warming_up)  # type: ignore[arg-type]


async def _start_warming_up(app: web.Application) -> None:
    gateway: Gateway = app[GATEWAY]
    task = asyncio.create_task(asyncio.to_thread(warm_up_recognizer, gateway))
    app[WARM_UP] = task  # kept, so the task is not collected before it ends


class BrowserLine:
    """The call page's side of a call: its audio socket and what the page shows.

    Args:
        socket: the page's audio socket.
        clock: the call's clock.
        conversation_id: for the logs.
    """

    def __init__(self, socket: web.WebSocketResponse, clock: Clock, conversation_id: str):
        self._socket = socket
        self._conversation_id = conversation_id
        self._outgoing: asyncio.Queue[bytes | dict[str, Any]] = asyncio.Queue()
        self.output = WebSocketAudioOutput(clock, self._outgoing)
        self._budget = RealTimeBudget(clock)  # the caller's audio counts from now
        self._bad_frames = 0

    async def caller_audio(self) -> AsyncIterator[bytes]:
        """Caller audio from the page; malformed or too fast frames are answered, then dropped."""
        async for message in self._socket:
            if message.type != WSMsgType.BINARY:
                continue
            pcm = message.data
            if not valid_frame(pcm) or not self._budget.allow(pcm):
                await self._bad_frame(len(pcm))
                continue
            yield pcm

    async def _bad_frame(self, size: int) -> None:
        self._bad_frames += 1
        logger.warning("call.bad_frame conversation=%s bytes=%s", self._conversation_id, size)
        await self._socket.send_json({"type": "error", "text": BAD_AUDIO})
        if self._bad_frames >= MAX_BAD_FRAMES:
            await self._socket.close(code=1003, message=b"invalid audio")

    def notify(self, event: dict[str, Any]) -> None:
        self._outgoing.put_nowait(event)

    async def play_out(self) -> None:
        while not self._socket.closed:
            item = await self._outgoing.get()
            with contextlib.suppress(ConnectionError):
                if isinstance(item, bytes):
                    await self._socket.send_bytes(item)
                else:
                    await self._socket.send_json(item)

    async def hang_up(self, reason: str) -> None:
        self._outgoing.put_nowait({"type": "ended", "reason": reason})
        await asyncio.sleep(0.2)  # the page reads why before the socket closes
        await self._socket.close()


async def caller_audio(request: web.Request) -> web.WebSocketResponse:
    gateway, socket, conversation = await open_customer_socket(request)
    if conversation is None:
        return socket
    refused = refusal(gateway, conversation)
    if refused is not None:
        await socket.send_json({"type": "error", "text": refused[1]})
        await socket.close(code=refused[0])
        return socket
    clock = WallClock()
    line = BrowserLine(socket, clock, conversation.id)
    reason = await answer(gateway, GatewayCall(gateway, conversation, line, clock))
    if reason == "unavailable":
        await socket.send_json({"type": "error", "text": CALLS_UNAVAILABLE})
        await socket.close(code=1011)
    elif not socket.closed:
        await socket.send_json({"type": "ended", "reason": reason})
        await socket.close()
    return socket
