"""Web chat at 1, 10 and 50 sessions at once, through the gateway and, for the same messages,
straight to the Rasa server (the gateway's overhead)."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aiohttp

from bench.resources import ResourceWatch
from bench.stats import ratio, summary
from bench.system import GATEWAY, System, client_session, rasa_urls
from bot.assistant.client import server_for

SEED = 20261122
SPREAD_S = 4.0
TIMEOUT_S = 30.0
# Conversations that stay with the assistant; each session goes round them from its own offset.
SCRIPTS = (
    ("¿A qué hora abre la tienda de Gran Vía?", "gracias"),
    ("¿Dónde está mi pedido 48213?", "28013", "gracias"),
    ("Quiero pedir cita para instalar la fibra", "Madrid", "gracias"),
    ("hola", "¿Qué horario tiene la tienda de Diagonal?"),
)
Event = dict[str, Any]
Turn = Callable[[str], Coroutine[Any, Any, float]]


class TurnFailed(Exception):
    """A message without a bot answer; the message is the reason counted in the results."""


class Customer:
    """A web-chat conversation and its events socket; events are timed as soon as they arrive."""

    def __init__(self, index: int) -> None:
        self.http = client_session(index)
        self.events: asyncio.Queue[tuple[float, Event]] = asyncio.Queue()

    async def open(self) -> Customer:
        async with self.http.post(f"{GATEWAY}/api/conversations", json={}) as answer:
            if answer.status != 201:
                raise RuntimeError(f"new conversation: {answer.status} {await answer.text()}")
            body = await answer.json()
        self.id, self.token = body["id"], body["token"]
        self.socket = await self.http.ws_connect(f"{GATEWAY}/api/conversations/{self.id}/events")
        await self.socket.send_json({"type": "auth", "token": self.token})
        if (await self.socket.receive_json(timeout=TIMEOUT_S)).get("type") != "snapshot":
            raise RuntimeError("the events socket did not answer the auth with a snapshot")
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.events.put_nowait((time.perf_counter(), json.loads(message.data)))

    async def until(self, match: Callable[[Event], bool]) -> float:
        """When the next event that matches arrived."""
        while True:
            at, event = await asyncio.wait_for(self.events.get(), TIMEOUT_S)
            if match(event):
                return at

    async def chat(self, text: str) -> float:
        """ms from sending a message to the first bot message that answers it."""
        start, echoed = time.perf_counter(), False
        await self.socket.send_json({"type": "message", "text": text})
        while True:
            try:
                at, event = await asyncio.wait_for(self.events.get(), TIMEOUT_S)
            except asyncio.TimeoutError as error:
                raise TurnFailed("timeout") from error
            author = (event.get("message") or {}).get("author")
            if event["type"] == "error":
                raise TurnFailed(f"error: {event.get('text')}")
            if author == "customer":
                echoed = True
            elif author == "bot" and echoed:
                return (at - start) * 1000

    async def close(self) -> None:
        self.reader.cancel()
        await self.socket.close()
        await self.http.close()


def direct_turn(http: aiohttp.ClientSession, sender: str) -> Turn:
    """The same message straight to the Rasa server's webchat webhook, as the gateway sends it
    (to the same server the gateway would choose for this conversation)."""
    webhook = f"{server_for(sender, rasa_urls())}/webhooks/webchat/webhook"

    async def turn(text: str) -> float:
        start = time.perf_counter()
        body = {"sender": sender, "message": text, "metadata": {"channel": "webchat"}}
        try:
            async with http.post(webhook, json=body) as answer:
                replies = await answer.json(content_type=None) if answer.status == 200 else []
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise TurnFailed(type(error).__name__) from error
        if not any("text" in reply for reply in replies):
            raise TurnFailed(f"Rasa answered {answer.status} without text")
        return (time.perf_counter() - start) * 1000

    return turn


async def drive(turns: Sequence[Turn], window_s: float, think_s: tuple[float, float]) -> Event:
    """Each session: a first message (not counted, spread over SPREAD_S), then, in the window,
    messages with a seeded pause in `think_s` before each (and between a reply and the next)."""
    times: list[float] = []
    failures: Counter[str] = Counter()
    clocks = [random.Random(SEED + index) for index in range(len(turns))]
    orders = [SCRIPTS[i % len(SCRIPTS) :] + SCRIPTS[: i % len(SCRIPTS)] for i in range(len(turns))]
    lines = [itertools.cycle(itertools.chain(*order)) for order in orders]

    async def warm_up(index: int) -> None:
        await asyncio.sleep(clocks[index].uniform(0, SPREAD_S))  # sessions do not start at once
        await await_turn(turns[index], "hola")

    async def session(index: int, end: float) -> None:
        while True:
            pause = clocks[index].uniform(*think_s)
            if time.perf_counter() + pause >= end:
                return
            await asyncio.sleep(pause)
            result = await await_turn(turns[index], next(lines[index]))
            if isinstance(result, TurnFailed):
                failures[str(result)] += 1
                if str(result) == "timeout":
                    return  # the socket may be out of step: this session stops
            else:
                times.append(result)

    await asyncio.gather(*(warm_up(i) for i in range(len(turns))))
    start = time.perf_counter()
    await asyncio.gather(*(session(i, start + window_s) for i in range(len(turns))))
    elapsed = time.perf_counter() - start
    return {
        "round_trip_ms": summary(times),
        "messages_per_s": round(len(times) / elapsed, 1),
        "failures": dict(failures),
    }


async def _paired(
    through_gateway: Turn, straight: Turn, window_s: float, think_s: tuple[float, float]
) -> tuple[Event, Event]:
    """One session whose every message goes through the gateway and then straight to Rasa."""
    direct_ms: list[float] = []
    direct_failures: Counter[str] = Counter()

    async def both(text: str) -> float:
        through = await through_gateway(text)
        result = await await_turn(straight, text)
        if isinstance(result, TurnFailed):
            direct_failures[str(result)] += 1
        else:
            direct_ms.append(result)
        return through

    gateway = await drive([both], window_s, think_s)
    direct = {
        "round_trip_ms": summary(direct_ms[1:]),  # the first was the uncounted warm-up
        "messages_per_s": gateway["messages_per_s"],
        "failures": dict(direct_failures),
    }
    return gateway, direct


async def await_turn(turn: Turn, text: str) -> float | TurnFailed:
    try:
        return await turn(text)
    except TurnFailed as failure:
        return failure


async def chat_level(
    system: System, sessions: int, window_s: float, think_s: tuple[float, float]
) -> Event:
    """`sessions` customers through the gateway and the same load straight to Rasa.

    One session alone is measured in pairs (each message through the gateway, then the same
    text straight to Rasa in a conversation of its own), so that both see the same machine;
    more sessions are a load, so each path gets the window to itself, one after the other."""
    customers = await asyncio.gather(*(Customer(i).open() for i in range(sessions)))
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    senders = [f"bench-direct-{sessions}-{i}" for i in range(sessions)]
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http:
            direct_turns = [direct_turn(http, sender) for sender in senders]
            with ResourceWatch(system.processes()) as watch:
                if sessions == 1:
                    gateway, direct = await _paired(
                        customers[0].chat, direct_turns[0], window_s, think_s
                    )
                else:
                    gateway = await drive([c.chat for c in customers], window_s, think_s)
            if sessions > 1:
                direct = await drive(direct_turns, window_s, think_s)
    finally:
        await asyncio.gather(*(customer.close() for customer in customers))
    gateway_p50 = gateway["round_trip_ms"].get("p50")
    direct_p50 = direct["round_trip_ms"].get("p50")
    overhead = None if not gateway_p50 or direct_p50 is None else gateway_p50 - direct_p50
    return {
        "sessions": sessions,
        "think_s": list(think_s),
        "window_s": window_s,
        "gateway": gateway,
        "straight_to_rasa": direct,
        "gateway_overhead_p50_ms": None if overhead is None else round(overhead, 1),
        "gateway_overhead_share": ratio(overhead, gateway_p50),
        "cpu_s": watch.cpu_s,
        "peak_rss_mb": watch.peak_rss_mb,
    }
