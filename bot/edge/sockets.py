"""What the gateway's WebSockets share: message parsing and forwarding the hub's events."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.errors import RequestError
from bot.handoff.hub import Event, Subscription

MAX_WS_MESSAGE_BYTES = 16 * 1024
UNAUTHORIZED = 4401  # close code: no valid token or session
RECHECK_S = 60.0  # how often a long-lived socket checks that its session is still valid
QUEUE_CHANGED: Event = {"type": "queue"}


def json_object(data: str) -> dict[str, Any]:
    """A client's JSON message, which must be an object."""
    try:
        event = json.loads(data)
    except ValueError as error:
        raise RequestError(400, "Mensaje mal formado.") from error
    if not isinstance(event, dict):
        raise RequestError(400, "Mensaje mal formado.")
    return event


async def forward(
    subscription: Subscription,
    socket: web.WebSocketResponse,
    render_queue: Callable[[], Event] | None = None,
    still_allowed: Callable[[], bool] = lambda: True,
) -> None:
    """Sends the hub's events to the socket until the hub drops it or the socket closes.

    Args:
        render_queue: turns the bare queue-changed signal into this subscriber's view; several
            signals waiting together are sent as one view.
        still_allowed: checked every RECHECK_S; False (session ended) closes the socket.
    """
    while not socket.closed:
        try:
            event = await asyncio.wait_for(subscription.events.get(), RECHECK_S)
        except asyncio.TimeoutError:
            if not still_allowed():
                await socket.close(code=UNAUTHORIZED, message=b"session ended")
            continue
        batch = [event]
        while not subscription.events.empty():
            batch.append(subscription.events.get_nowait())
        if None in batch:
            await socket.close(code=1013, message=b"too slow")
            return
        await _send(socket, batch, render_queue)


async def _send(
    socket: web.WebSocketResponse,
    batch: list[Event | None],
    render_queue: Callable[[], Event] | None,
) -> None:
    queue_changed = False
    with contextlib.suppress(ConnectionError):
        for event in batch:
            if event == QUEUE_CHANGED and render_queue is not None:
                queue_changed = True
            elif event is not None:
                await socket.send_json(event)
        if queue_changed and render_queue is not None:
            await socket.send_json(render_queue())
