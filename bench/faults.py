"""Surviving faults: a soak of chat customers and phone callers on the running system while, one
at a time and in turn, the action server, the Rasa server and the gateway are killed (SIGKILL)
and the Rasa server is stalled (SIGSTOP, then SIGCONT 10 s later), as an operator's worst
minute would have it (bench/README.md).

Everything a customer notices is put down to the fault it met: a chat message or a caller's
turn belongs to a fault's window (from the fault until its process answered its health check
again, plus GRACE_S) when it was sent in the window or was still waiting for its reply when the
window opened; the rest is "outside", the same load without a fault.

- Chat customers post messages through the gateway's API, read, think a few seconds (seeded) and
  write again; a conversation is one short script, and a handoff or a lost message ends it. Like
  the chat page, a customer who cannot reach the gateway (refused, reset, 5xx, no answer) tries
  again with exponential back-off and jitter, for RETRY_BUDGET_S at most: after that the
  message is lost. Silence: from the first attempt until the reply (an answer, or the apology
  and the handoff).
- Callers dial the Twilio voice webhook, hear the greeting, say one question (Pico's voice,
  recognised by Whisper), wait for the bot's first audio after it (an answer or the spoken
  apology), listen to the end and hang up, again and again. A turn with no audio for
  CALL_REPLY_TIMEOUT_S while the line stays up is lost; a line that drops (the gateway died
  with it) is dropped.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.caller import THINK_S, Line
from bench.chat import SCRIPTS
from bench.phone import PhoneCaller
from bench.stats import summary
from bench.system import (
    ACTIONS_PORT,
    GATEWAY,
    ROLES,
    System,
    client_session,
    environment,
    rasa_urls,
)
from bot.assistant.contract import CHAT_APOLOGY
from bot.audio.pcm import seconds
from bot.settings import Settings

SEED = 20261122
STOP_S = 10.0  # the Rasa server stays stopped this long, then SIGCONT
GRACE_S = 5.0  # a fault's window lasts this long after its process answers again
RETRY_BUDGET_S = 30.0  # a chat customer tries to reach the gateway this long: then lost
CALL_REPLY_TIMEOUT_S = 20.0  # a caller's line without any bot audio this long: lost
GREETING_TIMEOUT_S = 30.0
CALL_MAX_S = 120.0  # one call of the soak, from the webhook to the hang-up, at most
RECOVERY_TIMEOUT_S = 180.0  # a process not back after this long has not recovered
START_SPREAD_S = 5.0  # customers and callers begin at seeded moments over this long
CHAT_ADDRESSES, CALL_ADDRESSES = 5000, 5400  # client_session indices: own loopback addresses
CHAT_OUTCOMES = ("answered", "handed_off", "lost")
CALL_OUTCOMES = ("answered", "handed_off", "lost", "dropped")


@dataclass(frozen=True)
class FaultKind:
    name: str
    title: str
    role: str  # as bench.system.System.processes() names it
    signal: signal.Signals


KINDS = {
    kind.name: kind
    for kind in (
        FaultKind("actions_kill", "action server SIGKILL", "action server", signal.SIGKILL),
        FaultKind("rasa_kill", "Rasa server SIGKILL", "rasa", signal.SIGKILL),
        FaultKind("gateway_kill", "gateway SIGKILL", "gateway", signal.SIGKILL),
        FaultKind("rasa_stop", f"Rasa server SIGSTOP {STOP_S:g} s", "rasa", signal.SIGSTOP),
    )
}


@dataclass(frozen=True)
class Plan:
    """How long the soak lasts, how often a fault comes, who talks meanwhile."""

    duration_s: float
    interval_s: float
    chats: int
    calls: int
    kinds: tuple[str, ...]
    think_s: tuple[float, float]

    def schedule(self) -> list[tuple[float, str]]:
        """(seconds after the start, kind) of each fault: the first half an interval in, then
        one every interval, the kinds in turn."""
        count = int(self.duration_s // self.interval_s)
        return [
            (self.interval_s / 2 + i * self.interval_s, self.kinds[i % len(self.kinds)])
            for i in range(count)
        ]

    def about(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "interval_s": self.interval_s,
            "chat_sessions": self.chats,
            "calls": self.calls,
            "think_s": list(self.think_s),
            "kinds": list(self.kinds),
            "stop_s": STOP_S,
            "grace_s": GRACE_S,
            "retry_budget_s": RETRY_BUDGET_S,
            "call_reply_timeout_s": CALL_REPLY_TIMEOUT_S,
            # how long the gateway waits for the Rasa server: it bounds a stall's silence
            "reply_timeout_s": Settings.from_env(
                {**os.environ, **environment(Path("."))}
            ).reply_timeout,
        }


@dataclass
class Fault:
    """One fault injected; times are time.perf_counter()."""

    kind: str
    at: float
    pid: int
    recovery_s: float | None = None  # until the process's health URL answered 200 again
    recovered: bool = False

    def window(self) -> tuple[float, float]:
        return self.at, self.at + (self.recovery_s or 0.0) + GRACE_S


@dataclass
class Exchange:
    """A customer's message or a caller's turn: from the first attempt (chat) or the end of the
    caller's speech (call) until the first reply, or until the customer gave up."""

    sent: float
    ended: float
    outcome: str  # CHAT_OUTCOMES or CALL_OUTCOMES
    attempts: int = 1
    reason: str = ""  # what it met: the last error before an answer, or why it was lost
    conversation: str = ""

    @property
    def silence_s(self) -> float:
        return self.ended - self.sent


@dataclass
class CallRecord:
    dialled: float
    ended: float
    outcome: str  # completed, dropped, not connected, no greeting
    reason: str = ""  # why it was not connected


@dataclass
class ChatConversation:
    id: str
    token: str
    acknowledged: list[str] = field(default_factory=list)  # texts the gateway answered 200 to


def classify_reply(messages: Sequence[dict[str, Any]], state: str | None) -> str:
    """What a customer got for one message: `handed_off` (the apology, or the conversation went
    to the queue), `answered` (the bot's texts), or `lost` (nothing from the bot)."""
    texts = [str(m.get("text") or "") for m in messages if m.get("author") == "bot"]
    if state in ("queued", "agent") or any(CHAT_APOLOGY in text for text in texts):
        return "handed_off"
    return "answered" if texts else "lost"


def window_of(start: float, end: float, windows: Sequence[tuple[float, float]]) -> int | None:
    """The first window that the span [start, end] meets (sent in it, or still waiting for the
    reply when it opened); None: outside every window."""
    for index, (opened, closed) in enumerate(windows):
        if start < closed and end >= opened:
            return index
    return None


def backoff_delay(attempt: int, rng: random.Random, cap_s: float = 30.0) -> float:
    """The chat page's reconnection delay (bot/web/chat.js `backoffDelay`): exponential from
    1 s with jitter in its upper half."""
    ceiling = min(cap_s, 2.0**attempt)
    return ceiling / 2 + rng.random() * ceiling / 2


def _tally(exchanges: Sequence[Exchange], outcomes: tuple[str, ...], sent: str) -> dict[str, Any]:
    counts = Counter(exchange.outcome for exchange in exchanges)
    heard = [e.silence_s for e in exchanges if e.outcome != "dropped"]
    return {
        sent: len(exchanges),
        **{outcome: counts[outcome] for outcome in outcomes},
        "longest_silence_s": round(max(heard), 2) if heard else None,
    }


def _replied_ms(exchanges: Sequence[Exchange]) -> list[float]:
    return [1000 * e.silence_s for e in exchanges if e.outcome in ("answered", "handed_off")]


def summarise(
    faults: Sequence[Fault],
    chat: Sequence[Exchange],
    turns: Sequence[Exchange],
    calls: Sequence[CallRecord],
    start: float,
) -> dict[str, Any]:
    """The soak's figures per fault kind, outside the windows, and overall."""
    windows = [fault.window() for fault in faults]

    def kind_of(begin: float, end: float) -> str | None:
        index = window_of(begin, end, windows)
        return None if index is None else faults[index].kind

    chat_by: dict[str | None, list[Exchange]] = {}
    turns_by: dict[str | None, list[Exchange]] = {}
    calls_by: dict[str | None, list[CallRecord]] = {}
    for exchange in chat:
        chat_by.setdefault(kind_of(exchange.sent, exchange.ended), []).append(exchange)
    for exchange in turns:
        turns_by.setdefault(kind_of(exchange.sent, exchange.ended), []).append(exchange)
    for call in calls:
        calls_by.setdefault(kind_of(call.dialled, call.ended), []).append(call)

    def calls_part(kind: str | None, turns_of: Sequence[Exchange]) -> dict[str, Any]:
        made = Counter(call.outcome for call in calls_by.get(kind, []))
        return {
            **_tally(turns_of, CALL_OUTCOMES, "turns"),
            "calls": sum(made.values()),
            "calls_dropped": made["dropped"],
            "calls_not_connected": made["not connected"],
            "calls_without_greeting": made["no greeting"],
        }

    by_kind: dict[str, Any] = {}
    for kind in dict.fromkeys(fault.kind for fault in faults):
        these = [fault for fault in faults if fault.kind == kind]
        recoveries = [fault.recovery_s for fault in these if fault.recovery_s is not None]
        by_kind[kind] = {
            "title": KINDS[kind].title if kind in KINDS else kind,
            "faults": len(these),
            "recovery_s": recoveries,
            "recovery_max_s": max(recoveries, default=None),
            "all_recovered": all(fault.recovered for fault in these),
            "chat": _tally(chat_by.get(kind, []), CHAT_OUTCOMES, "sent"),
            "calls": calls_part(kind, turns_by.get(kind, [])),
        }
    outside_chat, outside_turns = chat_by.get(None, []), turns_by.get(None, [])
    lost_reasons = Counter(e.reason or "no reason" for e in [*chat, *turns] if e.outcome == "lost")
    return {
        "injected": [
            {
                "kind": fault.kind,
                "at_s": round(fault.at - start, 1),
                "pid": fault.pid,
                "recovery_s": fault.recovery_s,
                "recovered": fault.recovered,
            }
            for fault in faults
        ],
        "by_kind": by_kind,
        "outside": {
            "chat": {
                **_tally(outside_chat, CHAT_OUTCOMES, "sent"),
                "latency_ms": summary(_replied_ms(outside_chat)),
            },
            "calls": {
                **calls_part(None, outside_turns),
                "turn_latency_ms": summary(_replied_ms(outside_turns)),
            },
        },
        "overall": {
            "chat": {
                **_tally(chat, CHAT_OUTCOMES, "sent"),
                "retried": sum(1 for e in chat if e.attempts > 1),
            },
            "calls": {
                **_tally(turns, CALL_OUTCOMES, "turns"),
                "calls": len(calls),
                "calls_dropped": sum(1 for call in calls if call.outcome == "dropped"),
                "calls_not_connected": sum(1 for c in calls if c.outcome == "not connected"),
                "calls_without_greeting": sum(1 for c in calls if c.outcome == "no greeting"),
                "not_connected_reasons": dict(
                    Counter(c.reason or "unknown" for c in calls if c.outcome == "not connected")
                ),
            },
        },
        "lost_reasons": dict(lost_reasons),
    }


# ------------------------------------------------------------------------------------------
# The running soak


class Soak:
    """What the soak's tasks share."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.start = time.perf_counter()
        self.stop_at = float("inf")  # set by the injector once the last fault is over
        self.faults: list[Fault] = []
        self.chat: list[Exchange] = []
        self.turns: list[Exchange] = []
        self.calls: list[CallRecord] = []
        self.problems: Counter[str] = Counter()


def health_urls() -> dict[str, str]:
    """The URL of each role that answers 200 once it serves (as `make run` checks them)."""
    token = environment(Path("."))["BOT_RASA_TOKEN"]
    return {
        "gateway": f"{GATEWAY}/api/health/live",
        "rasa": f"{rasa_urls()[0]}/status?token={token}",
        "action server": f"http://127.0.0.1:{ACTIONS_PORT}/health",
    }


def process_of(system: System, role: str) -> psutil.Process | None:
    """The role's process as supervisord started it (never a child of it with the same command
    line); its pid changes with every restart, so it is looked up before each fault."""
    process = system.processes().get(role)
    with contextlib.suppress(psutil.Error):
        while process is not None:
            parent = process.parent()
            if parent is None or _role(parent) != role:
                break
            process = parent
    return process


def _role(process: psutil.Process) -> str | None:
    with contextlib.suppress(psutil.Error):
        return next((ROLES[arg] for arg in process.cmdline() if arg in ROLES), None)
    return None


async def _answers(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=1.0)) as answer:
            return answer.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
        return False


async def _until_answers(http: aiohttp.ClientSession, url: str, deadline: float) -> float | None:
    """When `url` first answered 200 (None: not before the deadline)."""
    while time.perf_counter() < deadline:
        if await _answers(http, url):
            return time.perf_counter()
        await asyncio.sleep(0.1)
    return None


async def inject_faults(system: System, soak: Soak) -> None:
    """Each fault of the plan at its moment, once every process serves again; then the soak's
    end: its planned length, or the last fault's window and GRACE_S more."""
    urls = health_urls()
    async with aiohttp.ClientSession() as http:
        for offset, name in soak.plan.schedule():
            await asyncio.sleep(max(0.0, soak.start + offset - time.perf_counter()))
            deadline = time.perf_counter() + RECOVERY_TIMEOUT_S
            for url in urls.values():  # the last fault is over
                await _until_answers(http, url, deadline)
            kind = KINDS[name]
            process = process_of(system, kind.role)
            if process is None:
                soak.problems[f"{kind.title}: no {kind.role} process to signal"] += 1
                continue
            fault = Fault(name, time.perf_counter(), process.pid)
            try:
                os.kill(process.pid, kind.signal)
            except ProcessLookupError:
                soak.problems[f"{kind.title}: the process was gone"] += 1
                continue
            soak.faults.append(fault)
            if kind.signal == signal.SIGSTOP:
                try:
                    await asyncio.sleep(STOP_S)
                finally:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGCONT)
            back = await _until_answers(http, urls[kind.role], fault.at + RECOVERY_TIMEOUT_S)
            fault.recovered = back is not None
            fault.recovery_s = round((back or time.perf_counter()) - fault.at, 2)
    last = max((fault.window()[1] for fault in soak.faults), default=soak.start)
    soak.stop_at = max(soak.start + soak.plan.duration_s, last + GRACE_S)


class ChatCustomer:
    """One chat customer for the whole soak: a short script per conversation, a new
    conversation after the script, a handoff or a lost message."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.rng = random.Random(SEED + index)
        offset = index % len(SCRIPTS)
        self.scripts = itertools.cycle(SCRIPTS[offset:] + SCRIPTS[:offset])
        self.current: ChatConversation | None = None
        self.conversations: list[ChatConversation] = []

    async def run(self, soak: Soak) -> None:
        async with client_session(CHAT_ADDRESSES + self.index) as http:
            await asyncio.sleep(self.rng.uniform(0, START_SPREAD_S))
            while True:
                for text in next(self.scripts):
                    pause = self.rng.uniform(*soak.plan.think_s)
                    if time.perf_counter() + pause >= soak.stop_at:
                        return
                    await asyncio.sleep(pause)
                    exchange = await self.send(http, text)
                    soak.chat.append(exchange)
                    if exchange.outcome != "answered":
                        break
                self.current = None  # the next script is another conversation

    async def send(self, http: aiohttp.ClientSession, text: str) -> Exchange:
        """One message until it is answered or handed off, or the retry budget is spent."""
        sent = time.perf_counter()
        deadline = sent + RETRY_BUDGET_S
        attempts, reason = 0, ""
        while True:
            attempts += 1
            outcome, why = await self._attempt(http, text, deadline)
            now = time.perf_counter()
            reason = why or reason
            conversation = self.current.id if self.current else ""
            if outcome is not None:
                return Exchange(sent, now, outcome, attempts, reason, conversation)
            if now >= deadline:
                return Exchange(sent, now, "lost", attempts, reason, conversation)
            await asyncio.sleep(min(backoff_delay(attempts - 1, self.rng), deadline - now))

    async def _attempt(
        self, http: aiohttp.ClientSession, text: str, deadline: float
    ) -> tuple[str | None, str]:
        """(outcome, what happened); outcome None: try again."""
        timeout = aiohttp.ClientTimeout(total=max(1.0, deadline - time.perf_counter()))
        try:
            if self.current is None:
                url = f"{GATEWAY}/api/conversations"
                async with http.post(url, json={}, timeout=timeout) as answer:
                    if answer.status != 201:
                        return None, f"new conversation: HTTP {answer.status}"
                    body = await answer.json()
                self.current = ChatConversation(body["id"], body["token"])
                self.conversations.append(self.current)
            conversation = self.current
            url = f"{GATEWAY}/api/conversations/{conversation.id}/messages"
            headers = {"Authorization": f"Bearer {conversation.token}"}
            async with http.post(
                url, json={"text": text}, headers=headers, timeout=timeout
            ) as answer:
                if answer.status in (401, 403, 404):  # gone: the page starts a new one
                    self.current = None
                    return None, f"HTTP {answer.status}"
                if answer.status >= 500 or answer.status == 429:
                    return None, f"HTTP {answer.status}"
                if answer.status != 200:
                    return "lost", f"HTTP {answer.status}"
                body = await answer.json()
        except (aiohttp.ClientError, asyncio.TimeoutError, TimeoutError, ValueError) as error:
            return None, type(error).__name__
        conversation.acknowledged.append(text)
        state = (body.get("conversation") or {}).get("state")
        return classify_reply(body.get("messages") or [], state), ""


class SoakCall(PhoneCaller):
    """One call of the soak on a Twilio line: the greeting, one line, the bot's first audio
    after it, the rest of the reply, then the caller hangs up."""

    def __init__(self, http: aiohttp.ClientSession, line: Line) -> None:
        super().__init__(http, GATEWAY, [line])
        self.line = line
        self.turn: Exchange | None = None
        self.outcome = "not connected"

    async def _converse(self) -> None:
        self.outcome = "no greeting"
        greeted = await self._until(
            lambda: bool(self.speaker.audio_times) or self._ended.is_set(), GREETING_TIMEOUT_S
        )
        if not greeted:
            return
        self.outcome = "dropped"  # until the call has gone through
        await self._until(self._done_speaking, 30.0)
        if self._ended.is_set():
            return
        await asyncio.sleep(THINK_S)
        saying = asyncio.ensure_future(self._say(self.line))
        ended = asyncio.ensure_future(self._ended.wait())
        await asyncio.wait(
            {saying, ended},
            timeout=seconds(self.line.pcm) + 15.0,
            return_when=asyncio.FIRST_COMPLETED,
        )
        ended.cancel()
        if not saying.done() or saying.exception() is not None:
            saying.cancel()
            return
        _, last = saying.result()
        deadline = last + CALL_REPLY_TIMEOUT_S
        conversation = self.figures.conversation
        while True:
            times = self.speaker.audio_times
            index = bisect.bisect_right(times, last)
            if index < len(times):
                self.turn = Exchange(last, times[index], "answered", conversation=conversation)
                break
            now = time.perf_counter()
            if self._ended.is_set():
                self.turn = Exchange(last, now, "dropped", conversation=conversation)
                return
            if now >= deadline:
                self.turn = Exchange(
                    last, now, "lost", reason="no bot audio", conversation=conversation
                )
                break
            await asyncio.sleep(0.01)
        await self._until(self._done_speaking, 30.0)
        if not self._ended.is_set():
            self.outcome = "completed"

    def _done_speaking(self) -> bool:
        return self._ended.is_set() or self.speaker.finished(time.perf_counter())

    async def _listen(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        try:
            await super()._listen(socket)
        finally:
            self._ended.set()  # however the line ended

    async def hang_up(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, RuntimeError):
            await super().hang_up(socket)


async def caller_loop(index: int, soak: Soak, lines: Sequence[Line]) -> None:
    """One phone caller calling again and again until the soak ends (back-off while the
    gateway cannot take the call)."""
    rng = random.Random(SEED + 500 + index)
    async with client_session(CALL_ADDRESSES + index) as http:
        await asyncio.sleep(rng.uniform(0, START_SPREAD_S))
        refused = 0
        while time.perf_counter() < soak.stop_at:
            call = SoakCall(http, rng.choice(list(lines)))
            dialled, reason = time.perf_counter(), ""
            try:
                await asyncio.wait_for(call.call(), CALL_MAX_S)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
                reason = type(error).__name__
            except (AssertionError, KeyError, ValueError):  # TwiML without <Connect><Stream>
                reason = "the voice webhook did not connect a stream"
            if call.outcome == "not connected" and call.figures.failures:
                reason = ", ".join(call.figures.failures)  # "new call: HTTP 503"
            soak.calls.append(CallRecord(dialled, time.perf_counter(), call.outcome, reason))
            if call.turn is not None:
                soak.turns.append(call.turn)
            if call.outcome == "not connected":
                await asyncio.sleep(backoff_delay(refused, rng, cap_s=8.0))
                refused += 1
            else:
                refused = 0
                await asyncio.sleep(rng.uniform(1.0, 3.0))


async def _saved(conversations: Sequence[ChatConversation]) -> dict[str, int]:
    """Each chat conversation read back after the soak: every message the gateway acknowledged
    must be in it (nothing saved is lost by a crash)."""
    missing = unreadable = 0
    gate = asyncio.Semaphore(8)

    async def check(http: aiohttp.ClientSession, conversation: ChatConversation) -> None:
        nonlocal missing, unreadable
        headers = {"Authorization": f"Bearer {conversation.token}"}
        async with gate:
            try:
                url = f"{GATEWAY}/api/conversations/{conversation.id}"
                async with http.get(url, headers=headers) as answer:
                    body = await answer.json() if answer.status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                body = None
        if not isinstance(body, dict):
            unreadable += 1
            return
        stored = Counter(
            m.get("text") for m in body.get("messages") or [] if m.get("author") == "customer"
        )
        missing += sum((Counter(conversation.acknowledged) - stored).values())

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
        await asyncio.gather(*(check(http, conversation) for conversation in conversations))
    return {
        "conversations": len(conversations),
        "acknowledged": sum(len(c.acknowledged) for c in conversations),
        "missing": missing,
        "unreadable": unreadable,
    }


def handed_off(database: Path, conversations: set[str]) -> set[str]:
    """The calls the gateway handed to a person (a phone line shows no events: its database
    says), read-only."""
    if not conversations or not database.exists():
        return set()
    found: set[str] = set()
    ids = sorted(conversations)
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            marks = ",".join("?" * len(chunk))
            query = f"SELECT id FROM conversations WHERE reason IS NOT NULL AND id IN ({marks})"
            found.update(row[0] for row in db.execute(query, chunk))
    return found


async def run_soak(system: System, plan: Plan, lines: Sequence[Line]) -> dict[str, Any]:
    """The soak on the running system; its figures (see summarise)."""
    soak = Soak(plan)
    customers = [ChatCustomer(index) for index in range(plan.chats)]
    questions = [line for line in lines if line.text.startswith("¿")] or list(lines)
    injector = asyncio.create_task(inject_faults(system, soak))
    try:
        await asyncio.gather(
            injector,
            *(customer.run(soak) for customer in customers),
            *(caller_loop(index, soak, questions) for index in range(plan.calls)),
        )
    finally:
        injector.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await injector  # a stopped Rasa server gets its SIGCONT
    wall_s = time.perf_counter() - soak.start
    to_person = handed_off(
        system.data_dir / "gateway.db",
        {turn.conversation for turn in soak.turns if turn.conversation},
    )
    for turn in soak.turns:
        if turn.outcome == "answered" and turn.conversation in to_person:
            turn.outcome = "handed_off"
    saved = await _saved([c for customer in customers for c in customer.conversations])
    figures = summarise(soak.faults, soak.chat, soak.turns, soak.calls, soak.start)
    return {
        # what differs from run to run by nature (pids, moments): `compare` skips "run"
        "run": {"injected": figures.pop("injected")},
        "plan": plan.about(),
        "wall_s": round(wall_s, 1),
        **figures,
        "saved": saved,
        "problems": dict(soak.problems),
    }


def soak(system: System, plan: Plan, lines: Sequence[Line]) -> dict[str, Any]:
    return asyncio.run(run_soak(system, plan, lines))


def describe(found: dict[str, Any]) -> list[str]:
    """A few lines for the terminal: each fault kind, outside, the saved check."""
    lines = []
    for kind, figures in found["by_kind"].items():
        chat, calls = figures["chat"], figures["calls"]
        lines.append(
            f"{figures['title']} ×{figures['faults']}: back after {figures['recovery_s']} s; "
            f"chat {chat['sent']} sent, {chat['answered']} answered, {chat['handed_off']} "
            f"handed off, {chat['lost']} lost, longest silence {chat['longest_silence_s']} s; "
            f"call turns {calls['turns']}: {calls['answered']} answered, {calls['handed_off']} "
            f"handed off, {calls['lost']} lost, {calls['dropped']} dropped ({kind})"
        )
    outside = found["outside"]
    lines.append(
        f"outside the faults: chat {outside['chat']['sent']} sent, p95 "
        f"{outside['chat']['latency_ms'].get('p95')} ms, {outside['chat']['lost']} lost; "
        f"call turns {outside['calls']['turns']}, p95 "
        f"{outside['calls']['turn_latency_ms'].get('p95')} ms, {outside['calls']['lost']} lost"
    )
    saved = found["saved"]
    lines.append(
        f"saved: {saved['acknowledged']} acknowledged messages in {saved['conversations']} "
        f"conversations, {saved['missing']} missing, {saved['unreadable']} unreadable"
        + (f"; problems: {found['problems']}" if found["problems"] else "")
    )
    return lines
