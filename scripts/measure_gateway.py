"""Measures the contact-centre gateway over the real processes (gateway → Rasa → action server):
chat round trips with 50 concurrent customers (chat pace, fast pace, saturation), a handoff
request until "queued with position" reaches the customer, and an agent message until it reaches the
customer. To show where the time goes, the same chat load also goes straight to Rasa's webchat
webhook, and the CPU time of each process per message is read from /proc.

Run with `make measure-gateway` (`--quick`: short windows). Results go to
var/reports/gateway.json. Not a test: timings move with the machine's load, so they are
reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import random
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.handoff.assistant import server_for
from bot.launcher import Servers, StartError  # noqa: E402
from bot.settings import PROJECT_ROOT, Settings  # noqa: E402

PORTS = {"BOT_RASA_PORT": 25005, "BOT_ACTIONS_PORT": 25055, "BOT_GATEWAY_PORT": 28000}
GATEWAY = "http://127.0.0.1:28000"
SUPERVISOR = ("supervisor", "supervisor-measure-pass")
SESSIONS, SEED, SPREAD_S, TIMEOUT_S = 50, 20260302, 4.0, 30.0
# Seconds between a reply and the customer's next message. A chat customer reads the answer and
# types the next line (typing a 40-character question alone takes 8-10 s): 8-20 s. The fast pace
# (2-6 s) is a stress case no typist keeps up; saturation has no pause at all.
THINK_S = {"chat_pace": (8.0, 20.0), "fast_pace": (2.0, 6.0), "saturation": (0.0, 0.0)}
WINDOWS_S = {"chat_pace": 90.0, "fast_pace": 60.0, "saturation": 30.0}
# Conversations that stay with the assistant; each session goes round them from its own offset.
SCRIPTS = (
    ("¿A qué hora abre la tienda de Gran Vía?", "gracias"),
    ("¿Dónde está mi pedido 48213?", "28013", "gracias"),
    ("Quiero pedir cita para instalar la fibra", "Madrid", "gracias"),
    ("hola", "¿Qué horario tiene la tienda de Diagonal?"),
)
HANDOFF = "Quiero hablar con una persona"
PROCESSES = {"actions": "action server", "serve": "gateway", "--enable-api": "rasa"}  # by argv
Turn = Callable[[str], Coroutine[Any, Any, float]]
Event = dict[str, Any]


class TurnFailed(Exception):
    """A turn without a bot answer; the message is the reason counted in the report."""


def stats(values: Sequence[float]) -> dict[str, float]:
    """Nearest-rank percentiles, in ms."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    at = {p: ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in (50, 95, 99)}
    figures = {f"p{p}": round(value, 1) for p, value in at.items()}
    return {"count": len(ordered), **figures, "max": round(ordered[-1], 1)}


def cpu_seconds() -> dict[str, float]:
    """CPU time used so far by this client and by each server process it started."""
    table: dict[int, tuple[int, list[str], float]] = {}  # pid: parent, argv, seconds
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            argv = (stat.parent / "cmdline").read_bytes().decode(errors="replace").split("\0")
            seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            table[int(stat.parent.name)] = (int(fields[1]), argv, seconds)
    cpu = {"client": time.process_time()}
    for parent, argv, seconds in table.values():
        while parent in table and parent != os.getpid():
            parent = table[parent][0]
        name = next((PROCESSES[arg] for arg in argv if arg in PROCESSES), None)
        if parent == os.getpid() and name:
            cpu[name] = cpu.get(name, 0.0) + seconds
    return cpu


class Customer:
    """A conversation and its events socket; events are timestamped as soon as they are read.
    Each customer has its own loopback address, as real customers have their own addresses
    (the gateway allows 30 new conversations a minute per address)."""

    def __init__(self, index: int) -> None:
        address = (f"127.0.{index // 250 + 1}.{index % 250 + 1}", 0)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=address))
        self.events: asyncio.Queue[tuple[float, Event]] = asyncio.Queue()
        self.echo_ms: list[float] = []  # send → own message echoed: the gateway's inbound part

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

    async def until(self, match: Callable[[Event], bool]) -> tuple[float, Event]:
        """Arrival time and content of the next event that matches."""
        while True:
            at, event = await asyncio.wait_for(self.events.get(), TIMEOUT_S)
            if match(event):
                return at, event

    async def chat(self, text: str) -> float:
        """ms from sending to the first bot message after the echo of this message."""
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
            if author == "customer" and not echoed:
                echoed = True
                self.echo_ms.append((at - start) * 1000)
            elif author == "bot" and echoed:
                return (at - start) * 1000
            elif event["type"] == "state" and echoed and event["conversation"]["state"] != "bot":
                url, auth = f"{GATEWAY}/api/conversations/{self.id}/bot", f"Bearer {self.token}"
                async with self.http.post(url, headers={"Authorization": auth}):
                    raise TurnFailed("unexpected handoff")  # and back to the assistant

    async def close(self) -> None:
        self.reader.cancel()
        await self.socket.close()
        await self.http.close()


def rasa_turn(http: aiohttp.ClientSession, rasa_url: str, sender: str) -> Turn:
    """The same turn straight to Rasa's webchat webhook, as the gateway sends it."""

    async def turn(text: str) -> float:
        start = time.perf_counter()
        body = {"sender": sender, "message": text, "metadata": {"channel": "webchat"}}
        try:
            async with http.post(f"{rasa_url}/webhooks/webchat/webhook", json=body) as answer:
                replies = await answer.json(content_type=None) if answer.status == 200 else []
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise TurnFailed(type(error).__name__) from error
        if not any("text" in reply for reply in replies):
            raise TurnFailed(f"Rasa answered {answer.status} without text")
        return (time.perf_counter() - start) * 1000

    return turn


async def drive(
    turns: Sequence[Turn], window_s: float, think: tuple[float, float]
) -> dict[str, Any]:
    """Every session: a warm-up turn (not counted), then turns until the window ends, with a
    seeded think time in the range `think` between a reply and the next message."""
    times: list[float] = []
    failures: Counter[str] = Counter()
    clocks = [random.Random(SEED + index) for index in range(len(turns))]
    # each session's endless conversation: the scripts in turn, from its own first one
    orders = [SCRIPTS[i % len(SCRIPTS) :] + SCRIPTS[: i % len(SCRIPTS)] for i in range(len(turns))]
    lines = [itertools.cycle(itertools.chain(*order)) for order in orders]

    async def warm_up(index: int) -> None:
        await asyncio.sleep(clocks[index].uniform(0, SPREAD_S) if think[1] else 0)
        await turns[index]("hola")

    async def session(index: int, end: float) -> None:
        while True:
            pause = clocks[index].uniform(*think)
            if time.perf_counter() + pause >= end:
                return
            await asyncio.sleep(pause)
            try:
                times.append(await turns[index](next(lines[index])))
            except TurnFailed as failure:
                failures[str(failure)] += 1
                if str(failure) == "timeout":
                    return  # the socket may be out of step: this session stops

    await asyncio.gather(*(warm_up(i) for i in range(len(turns))))
    cpu_before, start = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(session(i, start + window_s) for i in range(len(turns))))
    elapsed, cpu, count = time.perf_counter() - start, cpu_seconds(), max(1, len(times))
    cpu_ms = {
        name: round((cpu[name] - cpu_before.get(name, 0.0)) * 1000 / count, 1) for name in cpu
    }
    return {
        **stats(times),
        "throughput_msg_s": round(len(times) / elapsed, 1),
        "window_s": round(elapsed, 1),
        "failures": dict(failures),
        "cpu_ms_per_message": cpu_ms,
        "loadavg_after": [round(load, 2) for load in os.getloadavg()],
    }


async def chat_load(rasa_urls: list[str], windows: dict[str, float]) -> dict[str, Any]:
    """Both load models through the gateway, then straight to Rasa."""
    results: dict[str, Any] = {}
    print(f"Opening {SESSIONS} chat sessions…", flush=True)
    customers = await asyncio.gather(*(Customer(i).open() for i in range(SESSIONS)))
    try:
        for name, window in windows.items():
            print(f"  gateway, {name} ({window:.0f} s)…", flush=True)
            for customer in customers:
                customer.echo_ms.clear()
            turns = [customer.chat for customer in customers]
            results[f"gateway_{name}"] = await drive(turns, window, THINK_S[name])
            echoes = [ms for customer in customers for ms in customer.echo_ms]
            results[f"gateway_{name}"]["send_to_echo_incl_warm_up"] = stats(echoes)
    finally:
        await asyncio.gather(*(customer.close() for customer in customers))
    pool = aiohttp.TCPConnector(limit=64)  # like the gateway's own pool to Rasa
    async with aiohttp.ClientSession(connector=pool, timeout=aiohttp.ClientTimeout(60)) as http:
        senders = [f"direct-{i}" for i in range(SESSIONS)]  # each to its server, as the gateway
        direct = [rasa_turn(http, server_for(s, rasa_urls), s) for s in senders]
        for name, window in windows.items():
            print(f"  Rasa directly, {name} ({window:.0f} s)…", flush=True)
            results[f"rasa_direct_{name}"] = await drive(direct, window, THINK_S[name])
    return results


def queued(event: Event) -> bool:
    view = event.get("conversation") or {}
    return event["type"] == "state" and (view.get("queue") or {}).get("position") is not None


def by(author: str) -> Callable[[Event], bool]:
    return lambda event: event["type"] == "message" and event["message"]["author"] == author


async def handoffs(count: int, messages: int) -> dict[str, Any]:
    """With the supervisor logged in and the desk's live socket open (an agent online), one
    conversation at a time: the handoff request until its place reaches the customer; the agent
    accepts it, writes `messages` times in the last one, and closes it."""
    to_state, to_notice, to_socket, to_post, told = [], [], [], [], {}  # type: ignore[var-annotated]
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as desk:

        async def post(path: str, body: Event | None = None) -> None:
            async with desk.post(f"{GATEWAY}/api/desk/{path}", json=body) as answer:
                if answer.status != 200:
                    raise RuntimeError(f"desk {path}: {answer.status} {await answer.text()}")

        await post("login", {"username": SUPERVISOR[0], "password": SUPERVISOR[1]})
        live = await desk.ws_connect(f"{GATEWAY}/api/desk/events")
        drain = asyncio.create_task(_drain(live))  # a desk that does not read gets dropped
        for n in range(count):
            customer = await Customer(SESSIONS + n).open()
            try:
                start = time.perf_counter()
                await customer.socket.send_json({"type": "message", "text": HANDOFF})
                notice_at, notice = await customer.until(by("system"))
                state_at, state = await customer.until(queued)
                to_notice.append((notice_at - start) * 1000)
                to_state.append((state_at - start) * 1000)
                told = told or {"told": notice["message"]["text"], **state["conversation"]["queue"]}
                await post(f"conversations/{customer.id}/accept")
                for k in range(messages if n == count - 1 else 0):
                    text = f"Hola, soy Lucía, de soporte técnico. ¿En qué puedo ayudarle? ({k + 1})"
                    start = time.perf_counter()
                    await post(f"conversations/{customer.id}/messages", {"text": text})
                    to_post.append((time.perf_counter() - start) * 1000)
                    arrived, _ = await customer.until(by("agent"))
                    to_socket.append((arrived - start) * 1000)
                    await asyncio.sleep(0.1)
                await post(f"conversations/{customer.id}/close")
            finally:
                await customer.close()
            await asyncio.sleep(0.3)
        drain.cancel()
        await live.close()
    return {
        "handoff": {
            "to_state_queued_with_position": stats(to_state),
            "to_queue_notice": stats(to_notice),
            "first_customer_told": told,
        },
        "agent_message": {"to_customer_socket": stats(to_socket), "desk_post": stats(to_post)},
    }


async def _drain(live: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in live:
        pass


def load_model(windows: dict[str, float]) -> dict[str, Any]:
    return {
        "sessions": SESSIONS,
        "rasa_servers": int(os.environ.get("BOT_RASA_SERVERS", "1")),
        "scripts": [list(script) for script in SCRIPTS],
        **{
            name: f"{windows[name]:.0f} s; think time uniform {THINK_S[name]} s between reply "
            f"and next message (seed {SEED} + session); first messages spread over {SPREAD_S} s"
            for name in ("chat_pace", "fast_pace")
        },
        "saturation": f"{windows['saturation']:.0f} s; back-to-back, no think time",
        "warm_up": "each session's first message of each run ('hola') is not counted",
        "round_trip": "WebSocket send → first `message` event with author bot on that socket",
        "rasa_direct": "the same load POSTed to Rasa's /webhooks/webchat/webhook (full answer)",
        "handoff": f"'{HANDOFF}' opening a new conversation, one at a time, supervisor online "
        "(desk socket open); accepted and closed after each",
        "agent_message": "desk POST → agent's `message` on the customer's socket, 100 ms apart",
        "limits": "BOT_MESSAGES_PER_MINUTE=10000 so saturation measures capacity, not the "
        "limiter (the paced runs stay under the default 30); a loopback address per customer",
    }


def print_table(results: dict[str, Any]) -> None:
    handoff, agent = results["handoff"], results["agent_message"]
    rows = [
        *[
            (
                f"chat, {name.replace('_', ' ')} ({via.replace('_', ' ')})",
                results[f"{via}_{name}"],
                "p95 ≤ 150" if (name, via) == ("chat_pace", "gateway") else "",
            )
            for via in ("gateway", "rasa_direct")
            for name in WINDOWS_S
        ],
        ("handoff → queued with position", handoff["to_state_queued_with_position"], "≤ 300"),
        ("agent message → customer socket", agent["to_customer_socket"], "≤ 100"),
    ]
    print(f"\n{'ms':32} {'n':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} {'msg/s':>6}  target")
    for label, row, target in rows:
        figures = [f"{row.get(key, ''):>7}" for key in ("p50", "p95", "p99", "max")]
        rate = row.get("throughput_msg_s", "")
        print(f"{label:32} {row['count']:>5} {' '.join(figures)} {rate:>6}  {target}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a sixth of each window (smoke run)")
    parser.add_argument(
        "--rasa-servers", type=int, default=1, help="Rasa server processes (BOT_RASA_SERVERS)"
    )
    args = parser.parse_args()
    quick = args.quick
    windows = {name: seconds / 6 if quick else seconds for name, seconds in WINDOWS_S.items()}
    for name, port in PORTS.items():
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                print(f"Port {port} ({name}) is in use: stop what runs there.", file=sys.stderr)
                return 1
    with tempfile.TemporaryDirectory() as folder:
        data_dir, loadavg_at_start = Path(folder), [round(x, 2) for x in os.getloadavg()]
        os.environ.update({name: str(port) for name, port in PORTS.items()})
        os.environ.update(
            {
                "BOT_DATA_DIR": str(data_dir),
                "BOT_SUPERVISOR_USERNAME": SUPERVISOR[0],
                "BOT_SUPERVISOR_PASSWORD": SUPERVISOR[1],
                "BOT_MESSAGES_PER_MINUTE": "10000",
                "BOT_RASA_SERVERS": str(args.rasa_servers),
                "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
                "ACTIONS_FIXED_NOW": "2026-03-02T09:00:00+01:00",
            }
        )
        settings, log = Settings.from_env(), data_dir / "servers.log"
        servers = Servers(settings, log_file=log, gateway_url=GATEWAY)
        print("Starting the Rasa server, the action server and the gateway…", flush=True)
        try:
            servers.start()
            results = asyncio.run(chat_load(settings.rasa_urls, windows))
            print("Handoffs and agent messages, one conversation at a time…", flush=True)
            results.update(asyncio.run(handoffs(5 if quick else 20, 10 if quick else 50)))
        except (StartError, RuntimeError, OSError, asyncio.TimeoutError, aiohttp.ClientError) as e:
            what = "Servers did not start" if isinstance(e, StartError) else "Measurement failed"
            tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
            print(f"{what}: {e!r}; the end of the servers' log:", *tail, sep="\n", file=sys.stderr)
            return 1
        finally:
            servers.stop()
    report = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": loadavg_at_start,
        },
        "load_model": load_model(windows),
        "targets_ms": {"chat_pace_p95": 150, "handoff_queued": 300, "agent_message": 100},
        **results,
        "notes": [
            "Agent messages are timed until the event reaches the customer's socket; the browser "
            "then parses it and paints it in the next frame (up to ~16 ms more at 60 Hz).",
            "send_to_echo: until the customer's own message is back on the socket (stored and "
            "published by the gateway, before Rasa is asked).",
            "cpu_ms_per_message: CPU time of each process during the window over the messages "
            "answered. Client, gateway, Rasa and action server share this machine's cores; other "
            "jobs running meanwhile show in the load averages.",
            "Rasa's cost per message grows with the conversation's length (it loads and replays "
            "the whole tracker every turn); each run goes on with the same conversations, so it "
            "runs on longer ones than the run before.",
        ],
    }
    rasa_servers = int(os.environ.get("BOT_RASA_SERVERS", "1"))
    name = "gateway.json" if rasa_servers == 1 else f"gateway-{rasa_servers}-rasa.json"
    target = PROJECT_ROOT / "var" / "reports" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(results)
    print(f"\nReport: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
