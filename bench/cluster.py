"""Section "cluster": chat load on the scaled-out system (`python -m bot cluster`: nginx, two
gateways, two Rasa servers, two action servers, PostgreSQL, Redis) against one instance of each
on the embedded SQLite default, in the same run and on the same machine, with a capacity table
worked out from the figures (bench/README.md).

Each simulated customer starts a web chat through the public port and sends messages through
the REST API (each answer comes back in the request), reading and typing in between. Measured:
throughput, round trips (p50/p95), and the CPU time of every process per message.

Then 4 and 8 browser calls at once, the bench's caller (audio/samples/bench.wav, Pico's voice,
recognised by Whisper in the gateways) through the same public port: turn latency (p50/p95),
failures, underruns, and the CPU time of every process per second of call.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.caller import Caller, Line, script_lines
from bench.resources import cpu_s
from bench.stats import summary
from bench.system import CUT_IN_LINE, RECORDING, client_session
from bench.voice import TURN_P95_LIMIT_MS
from bot.cli.cluster import running_cluster
from bot.cli.launcher import Servers
from bot.settings import Settings, variables_set
from bot.supervision.cluster import ClusterPorts
from bot.supervision.supervisor import Layout, rpc

QUESTIONS = (
    "¿A qué hora abre la tienda de Gran Vía?",
    "¿Abren el sábado por la tarde?",
    "¿Cuál es el horario de la tienda de Sevilla?",
    "¿Dónde está mi pedido?",
    "gracias",
)
PUBLIC_PORT = 18700
# the single system's own ports (the calling environment may name ports already in use)
SINGLE_PORTS = {"BOT_RASA_PORT": "15805", "BOT_ACTIONS_PORT": "15855", "BOT_AUDIOSOCKET_PORT": "0"}
TIMEOUT_S = 30.0
# the levels of the issue; 8-20 s of reading and typing between messages, as in "chat"
LEVELS = ((50, 40.0), (200, 40.0))
QUICK_LEVELS = ((5, 8.0),)
CALL_LEVELS = (4, 8)
QUICK_CALL_LEVELS = (1,)
CALL_SPREAD_S = 1.5  # calls of a level begin this far apart
THINK_S = (8.0, 20.0)
ENVIRONMENT = {
    "BOT_STARTS_PER_MINUTE": "100000",  # every simulated customer has this machine's address
    "BOT_MESSAGES_PER_MINUTE": "100000",
    "BOT_SUPERVISOR_PASSWORD": "bench-supervisor-pass",
    "ACTIONS_FIXED_NOW": "2026-03-02T09:00:00+01:00",
    "BOT_STT_ENGINE": "whisper",
}


async def _customer(
    http: aiohttp.ClientSession,
    url: str,
    until: float,
    think_s: tuple[float, float],
    times: list[float],
    failures: list[str],
) -> None:
    async with http.post(f"{url}/api/conversations", json={}) as started:
        if started.status != 201:
            failures.append(f"start {started.status}")
            return
        body = await started.json()
    headers = {"Authorization": f"Bearer {body['token']}"}
    path = f"{url}/api/conversations/{body['id']}/messages"
    await asyncio.sleep(random.uniform(0, think_s[1]))  # customers arrive spread out
    while time.monotonic() < until:
        sent = time.perf_counter()
        try:
            async with http.post(path, json={"text": random.choice(QUESTIONS)},
                                 headers=headers) as answer:  # fmt: skip
                await answer.read()
                if answer.status != 200:
                    failures.append(f"message {answer.status}")
                else:
                    times.append((time.perf_counter() - sent) * 1000)
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            failures.append(type(error).__name__)
        await asyncio.sleep(random.uniform(*think_s))


async def chat_load(url: str, sessions: int, window_s: float,
                    think_s: tuple[float, float] = THINK_S) -> dict[str, Any]:  # fmt: skip
    times: list[float] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        until = time.monotonic() + window_s
        await asyncio.gather(*(_customer(http, url, until, think_s, times, failures)
                               for _ in range(sessions)))  # fmt: skip
    return {
        "sessions": sessions,
        "window_s": window_s,
        "messages": len(times),
        "throughput_per_s": round(len(times) / window_s, 2),
        "round_trip_ms": summary(times),
        "failed": len(failures),
        "failures": sorted(set(failures))[:5],
    }


def processes(layout: Layout) -> dict[str, psutil.Process]:
    """Every supervised process by its name (rasa, rasa2, gateway, …, postgres, nginx)."""
    found = {}
    for info in rpc(layout).supervisor.getAllProcessInfo():
        if info["name"] != "watch" and info["pid"]:
            with contextlib.suppress(psutil.Error):
                found[str(info["name"])] = psutil.Process(int(info["pid"]))
    return found


def measured(
    layout: Layout,
    url: str,
    levels: tuple[tuple[int, float], ...],
    call_levels: tuple[int, ...],
) -> dict[str, list[dict[str, Any]]]:
    chats = [_with_cpu(layout, "message", chat_load(url, sessions, window_s))
             for sessions, window_s in levels]  # fmt: skip
    lines = script_lines(RECORDING, cut_in=CUT_IN_LINE)
    calls = [_with_cpu(layout, "call_second", call_load(url, count, lines))
             for count in call_levels]  # fmt: skip
    return {"chat": chats, "calls": calls}


def _with_cpu(
    layout: Layout, unit: str, load: Coroutine[Any, Any, dict[str, Any]]
) -> dict[str, Any]:
    """Runs `load` and adds the CPU time each process spent on it, in all and per `unit`
    (the load's count of them: `messages` or `call_seconds`)."""
    running = processes(layout)
    before = cpu_s(running)
    level = asyncio.run(load)
    after = cpu_s(running)
    used = {role: round(after[role] - before.get(role, 0.0), 2) for role in running}
    done = level[f"{unit}s"]
    level["cpu_s"] = used
    level[f"cpu_ms_per_{unit}"] = {
        role: round(1000 * seconds / done, 2) if done else None for role, seconds in used.items()
    }
    return level


async def call_load(url: str, calls: int, lines: list[Line]) -> dict[str, Any]:
    """`calls` browser calls at once (begun CALL_SPREAD_S apart), each from greeting to
    goodbye."""

    async def one(index: int) -> tuple[Any, float]:
        await asyncio.sleep(index * CALL_SPREAD_S)
        async with client_session(3000 + 20 * calls + index) as http:
            started = time.monotonic()
            figures = await Caller(http, url, lines).call()
            return figures, time.monotonic() - started

    made = await asyncio.gather(*(one(index) for index in range(calls)))
    latencies = [ms for figures, _ in made for ms in figures.turn_latency_ms]
    failures: Counter[str] = Counter()
    for figures, _ in made:
        failures.update(figures.failures)
    return {
        "calls": calls,
        "call_seconds": round(sum(seconds for _, seconds in made), 1),
        "turns": len(latencies),
        "turn_latency_ms": summary(latencies),
        "underruns": sum(len(figures.underrun_ms) for figures, _ in made),
        "failed": sum(failures.values()),
        "failures": dict(failures),
    }


def run_cluster_section(quick: bool = False) -> dict[str, Any]:
    """One instance of each (SQLite), then the cluster (PostgreSQL, Redis, nginx), the same
    chat levels on each."""
    levels = QUICK_LEVELS if quick else LEVELS
    call_levels = QUICK_CALL_LEVELS if quick else CALL_LEVELS
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    folder.chmod(0o755)  # PostgreSQL's account reaches its data folder inside
    results: dict[str, Any] = {
        "levels": [list(level) for level in levels], "call_levels": list(call_levels),
        "think_s": THINK_S,
    }  # fmt: skip
    try:
        single_dir = folder / "single"
        variables = {
            **ENVIRONMENT, **SINGLE_PORTS, "BOT_DATA_DIR": str(single_dir),
            "BOT_GATEWAY_PORT": str(PUBLIC_PORT),
            # the embedded SQLite default, whatever the calling environment says
            "BOT_DATABASE_URL": "", "ACTIONS_DATABASE_URL": "", "BOT_GATEWAY_DB": "",
            "BOT_REDIS_URL": "",
        }  # fmt: skip
        with variables_set(variables):
            settings = Settings.from_env()
            url = f"http://127.0.0.1:{PUBLIC_PORT}"
            servers = Servers(settings, single_dir / "servers.log", url)
            servers.start()
            try:
                results["single_sqlite"] = measured(servers.layout, url, levels, call_levels)
            finally:
                servers.stop()
        ports = ClusterPorts(
            public=PUBLIC_PORT, gateways=(18701, 18702), audiosockets=(18793, 18794),
            actions=(15755, 15756), actions_balancer=15750, rasa=15705, postgres=15732,
            redis=16379,
        )  # fmt: skip
        cluster_data = {**ENVIRONMENT, "BOT_DATA_DIR": str(folder / "cluster-data")}
        with (
            variables_set(cluster_data),
            running_cluster(folder / "cluster", ports, folder / "cluster.log") as started,
        ):
            url = f"http://127.0.0.1:{ports.public}"
            results["cluster_postgresql"] = measured(started[0].layout, url, levels, call_levels)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results["capacity"] = capacity(results)
    return results


BUSY_AT_MOST = 0.6  # cores kept at most this busy, for bursts and a lost machine's load
CALL_CAPACITIES = (100, 1000)


def capacity(results: dict[str, Any]) -> dict[str, Any]:
    """Cores (and instances) for 5,000 chat sessions and for 100 and 1,000 calls at once,
    worked out from the largest measured cluster level of each: each process's CPU per message
    (or per second of call) times the load, with cores kept at most BUSY_AT_MOST busy."""
    measured = results.get("cluster_postgresql") or {}
    found: dict[str, Any] = {}
    if measured.get("chat"):
        pace = 2 / sum(THINK_S)  # messages per second per customer
        rate = 5000 * pace
        cores = _cores(measured["chat"][-1]["cpu_ms_per_message"], rate)
        found.update({
            "chat_sessions": 5000,
            "messages_per_s": round(rate, 1),
            "assumptions": "one message every 14 s per customer (8-20 s of reading and "
            f"typing); cores at most {BUSY_AT_MOST:.0%} busy; CPU per message as measured at "
            "the largest cluster level",
            "cores_by_process": cores,
            "cores_total": round(sum(cores.values()), 1),
        })  # fmt: skip
    if measured.get("calls"):
        level = measured["calls"][-1]
        # recognition comes in bursts at the end of each turn: the average CPU is not the
        # whole story, so the calls this machine kept in real time are counted as well
        real_time = [lvl["calls"] for lvl in measured["calls"] if _real_time(lvl)]
        per_machine = max(real_time, default=0)
        found["calls"] = {
            "assumptions": f"CPU per second of call as measured with {level['calls']} calls on "
            f"the cluster; cores at most {BUSY_AT_MOST:.0%} busy; a process uses about one "
            "core, and there are at least 2 of each so that one may fail",
            "real_time_calls_per_machine": per_machine,
            "levels": [
                {**_call_capacity(level["cpu_ms_per_call_second"], calls),
                 "machines_by_real_time": math.ceil(calls / per_machine) if per_machine else None}
                for calls in CALL_CAPACITIES
            ],
        }  # fmt: skip
    return found


def _real_time(level: dict[str, Any]) -> bool:
    """Every turn answered, no underrun, and turn p95 within issue 16's bound for Whisper."""
    p95 = level["turn_latency_ms"].get("p95")
    return (
        not level["failed"] and not level["underruns"] and p95 is not None
        and p95 <= TURN_P95_LIMIT_MS
    )  # fmt: skip


def _cores(cpu_ms_per_unit: dict[str, float | None], units_per_s: float) -> dict[str, float]:
    """Cores for each kind of process (gateway and gateway2 are one kind) at this load."""
    cores: dict[str, float] = {}
    for role, ms in cpu_ms_per_unit.items():
        if ms is not None and role != "benchmark client":
            kind = role.rstrip("0123456789")
            cores[kind] = cores.get(kind, 0.0) + units_per_s * ms / 1000 / BUSY_AT_MOST
    return {kind: round(needed, 2) for kind, needed in cores.items()}


def _call_capacity(cpu_ms_per_call_second: dict[str, float | None], calls: int) -> dict[str, Any]:
    cores = _cores(cpu_ms_per_call_second, calls)
    return {
        "calls": calls,
        "cores_by_process": cores,
        "instances_by_process": {kind: max(2, math.ceil(n)) for kind, n in cores.items()},
        "cores_total": round(sum(cores.values()), 1),
    }
