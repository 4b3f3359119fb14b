"""Handoff to a person, with the supervisor at the agent desk (logged in, live socket open):

- chat: the request until the customer sees their place in the queue; the agent's accept until
  the customer sees the agent has joined; the agent's message until it reaches the customer;
- voice (the calls of bench.voice end with the request; the place is timed by the caller): the
  accept until the call's page knows; the agent's typed words until the caller hears them (the
  bot's voice reads them); the agent's own voice (desk microphone socket) until it reaches the
  caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.caller import FRAME_BYTES, FRAME_S, Caller, queued
from bench.chat import Customer
from bench.stats import summary
from bench.system import GATEWAY, SUPERVISOR

HANDOFF_REQUEST = "Quiero hablar con una persona"
AGENT_GREETING = "Hola, soy Lucía, de atención al cliente. ¿En qué puedo ayudarle?"
AGENT_VOICE = (b"\x00\x10\x00\xf0" * (FRAME_BYTES // 4)) * 10  # 200 ms of a loud square wave
Event = dict[str, Any]


def _is_message(author: str) -> Callable[[Event], bool]:
    def match(event: Event) -> bool:
        return event.get("type") == "message" and event["message"].get("author") == author

    return match


def _with_agent(event: Event) -> bool:
    return event.get("type") == "state" and event["conversation"].get("state") == "agent"


class Desk:
    """The supervisor at the agent desk."""

    def __init__(self) -> None:
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def open(self) -> Desk:
        await self.post("login", {"username": SUPERVISOR[0], "password": SUPERVISOR[1]})
        self.live = await self.http.ws_connect(f"{GATEWAY}/api/desk/events")
        self._drain = asyncio.create_task(self._read())  # a desk that does not read is dropped
        return self

    async def post(self, path: str, body: Event | None = None) -> None:
        async with self.http.post(f"{GATEWAY}/api/desk/{path}", json=body) as answer:
            if answer.status != 200:
                raise RuntimeError(f"desk {path}: {answer.status} {await answer.text()}")

    async def _read(self) -> None:
        async for _ in self.live:
            pass

    async def close(self) -> None:
        self._drain.cancel()
        await self.live.close()
        await self.http.close()


async def chat_handoffs(count: int) -> Event:
    """One conversation at a time, accepted, answered and closed by the agent."""
    told, joined, written = [], [], []
    desk = await Desk().open()
    try:
        for n in range(count):
            customer = await Customer(500 + n).open()
            try:
                start = time.perf_counter()
                await customer.socket.send_json({"type": "message", "text": HANDOFF_REQUEST})
                told.append((await customer.until(queued) - start) * 1000)
                start = time.perf_counter()
                await desk.post(f"conversations/{customer.id}/accept")
                joined.append((await customer.until(_with_agent) - start) * 1000)
                start = time.perf_counter()
                await desk.post(f"conversations/{customer.id}/messages", {"text": AGENT_GREETING})
                written.append((await customer.until(_is_message("agent")) - start) * 1000)
                await desk.post(f"conversations/{customer.id}/close")
            finally:
                await customer.close()
    finally:
        await desk.close()
    return {
        "request_to_queue_place_ms": summary(told),
        "accept_to_customer_sees_agent_ms": summary(joined),
        "agent_message_to_customer_ms": summary(written),
    }


class AgentAtTheDesk:
    """Takes each call that reaches the queue (as `Caller(on_hold=…)`) once the caller has heard
    their place: accepts it, types a greeting that the call speaks, then talks into it."""

    def __init__(self, desk: Desk) -> None:
        self._desk = desk
        self.timings: dict[str, list[float]] = {
            "accept_to_call_knows_ms": [],
            "agent_text_to_caller_hears_ms": [],
            "agent_voice_to_caller_ms": [],
        }
        self.failures: list[str] = []

    async def take(self, caller: Caller) -> None:
        conversation, desk = caller.figures.conversation, self._desk
        try:
            start = time.perf_counter()
            await desk.post(f"conversations/{conversation}/accept")
            joined = await caller.event_after(start, _with_agent)
            if joined is not None:
                self.timings["accept_to_call_knows_ms"].append((joined - start) * 1000)
            await caller.until_quiet()
            start = time.perf_counter()
            await desk.post(f"conversations/{conversation}/messages", {"text": AGENT_GREETING})
            heard = await caller.heard_after(start)
            if heard is not None:
                self.timings["agent_text_to_caller_hears_ms"].append((heard - start) * 1000)
            await caller.until_quiet()
            self.timings["agent_voice_to_caller_ms"].append(await _agent_speaks(desk, caller))
            await desk.post(f"conversations/{conversation}/close")
        except (RuntimeError, aiohttp.ClientError, asyncio.TimeoutError) as error:
            self.failures.append(str(error))

    def summary(self) -> Event:
        return {
            **{name: summary(values) for name, values in self.timings.items()},
            "failures": self.failures,
        }


async def _agent_speaks(desk: Desk, caller: Caller) -> float:
    """ms from the agent's first microphone frame to its arrival in the call."""
    url = f"{GATEWAY.replace('http', 'ws')}/api/desk/conversations/{caller.figures.conversation}"
    async with desk.http.ws_connect(f"{url}/audio", headers={"Origin": GATEWAY}) as microphone:
        start = time.perf_counter()
        for offset in range(0, len(AGENT_VOICE), FRAME_BYTES):
            await microphone.send_bytes(AGENT_VOICE[offset : offset + FRAME_BYTES])
            await asyncio.sleep(FRAME_S)
        arrived = await caller.audio_after(start)
    if arrived is None:
        raise RuntimeError("the agent's voice never reached the caller")
    return (arrived - start) * 1000
