"""Section "cluster": chat load on the scaled-out system (`python -m bot cluster`: nginx, two
gateways, two Rasa servers, two action servers, PostgreSQL, Redis) against one instance of each
on the embedded SQLite default, in the same run and on the same machine, with a capacity table
worked out from the figures (bench/README.md).

Each simulated customer starts a web chat through the public port and sends messages through
the REST API (each answer comes back in the request), reading and typing in between. Measured:
throughput, round trips (p50/p95), and the CPU time of every process per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.resources import cpu_s
from bench.stats import summary
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
    layout: Layout, url: str, levels: tuple[tuple[int, float], ...]
) -> list[dict[str, Any]]:
    results = []
    for sessions, window_s in levels:
        running = processes(layout)
        before = cpu_s(running)
        level = asyncio.run(chat_load(url, sessions, window_s))
        after = cpu_s(running)
        used = {role: round(after[role] - before.get(role, 0.0), 2) for role in running}
        level["cpu_s"] = used
        level["cpu_ms_per_message"] = {
            role: round(1000 * seconds / level["messages"], 2) if level["messages"] else None
            for role, seconds in used.items()
        }
        results.append(level)
    return results


def run_cluster_section(quick: bool = False) -> dict[str, Any]:
    """One instance of each (SQLite), then the cluster (PostgreSQL, Redis, nginx), the same
    chat levels on each."""
    levels = QUICK_LEVELS if quick else LEVELS
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    folder.chmod(0o755)  # PostgreSQL's account reaches its data folder inside
    results: dict[str, Any] = {"levels": [list(level) for level in levels], "think_s": THINK_S}
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
                results["single_sqlite"] = measured(servers.layout, url, levels)
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
            results["cluster_postgresql"] = measured(started[0].layout, url, levels)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results["capacity"] = capacity(results)
    return results


def capacity(results: dict[str, Any]) -> dict[str, Any]:
    """Cores for 5,000 chat sessions, worked out from the largest measured cluster level: the
    CPU per message of each process, times the messages 5,000 customers send at the same pace
    (one message every (8+20)/2 s each), with cores kept at most 60 % busy."""
    levels = results.get("cluster_postgresql") or []
    if not levels:
        return {}
    level = levels[-1]
    pace = 2 / sum(THINK_S)  # messages per second per customer
    rate = 5000 * pace
    per_role = {role: ms for role, ms in level["cpu_ms_per_message"].items()
                if ms is not None and role != "benchmark client"}  # fmt: skip
    cores = {role: round(rate * ms / 1000 / 0.6, 2) for role, ms in per_role.items()}
    return {
        "chat_sessions": 5000,
        "messages_per_s": round(rate, 1),
        "assumptions": "one message every 14 s per customer (8-20 s of reading and typing); "
        "cores at most 60 % busy; CPU per message as measured at the largest cluster level",
        "cores_by_process": cores,
        "cores_total": round(sum(cores.values()), 1),
    }
