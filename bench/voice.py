"""Voice calls at 1 to 4 at once through the browser-call socket of the running
system: what callers notice (measured by the simulated callers) and where the time went (the
gateway's `call.turn` and `call.recognition` log lines for the same calls)."""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.caller import Caller, CallFigures, Line
from bench.resources import ResourceWatch
from bench.stats import summary
from bench.system import GATEWAY, System, client_session

STAGES = ("endpoint_wait", "final_transcript", "dialogue", "first_audio", "processing")
START_SPREAD_S = 6.0  # calls of a level begin at random moments over this long (seeded)
SEED = 20261122
# A recogniser that keeps up is at most one decoding batch behind the caller when a turn ends
# (the Korean model decodes in batches of about half a second); more means it fell behind.
MAX_BACKLOG_MS = 1000.0
TURN_P95_LIMIT_MS = 1500.0  # issue 16: Whisper turns, p95 of a call still felt as real time
_FIGURE = re.compile(r"(\w+)=(\S+)")


async def run_level(
    system: System,
    lines: list[Line],
    calls: int,
    rounds: int,
    on_hold: Callable[[Caller], Awaitable[None]] | None = None,
    line: type[Caller] = Caller,
) -> dict[str, Any]:
    """`calls` callers at once, each making `rounds` calls one after the other; `on_hold`: what
    happens once a caller has heard their place in the queue (see Caller); `line`: how they
    call (the browser page, or a phone line: bench.phone.PhoneCaller)."""
    clock = random.Random(SEED + calls)
    delays = sorted(clock.uniform(0, START_SPREAD_S if calls > 1 else 0) for _ in range(calls))

    async def caller(index: int) -> list[CallFigures]:
        await asyncio.sleep(delays[index])
        made = []
        async with client_session(1000 + calls * 20 + index) as http:
            for _ in range(rounds):
                made.append(await line(http, GATEWAY, lines, on_hold).call())
        return made

    with ResourceWatch(system.processes()) as watch:
        per_caller = await asyncio.gather(*(caller(i) for i in range(calls)))
    figures = [call for made in per_caller for call in made]
    await _until_logged(system, {call.conversation for call in figures if call.conversation})
    return summarise_level(calls, figures, watch, system)


async def _until_logged(system: System, conversations: set[str], timeout_s: float = 20.0) -> None:
    """The gateway logs a call's recognition figures once it has closed its engines."""
    for _ in range(int(timeout_s / 0.2)):
        logged = {f["conversation"] for f in log_figures(system.log_lines("call.recognition"))}
        if conversations <= logged:
            return
        await asyncio.sleep(0.2)


def summarise_level(
    calls: int, figures: list[CallFigures], watch: ResourceWatch, system: System
) -> dict[str, Any]:
    ids = {call.conversation for call in figures if call.conversation}
    turns = [f for f in log_figures(system.log_lines("call.turn")) if f["conversation"] in ids]
    recognition = [
        f for f in log_figures(system.log_lines("call.recognition")) if f["conversation"] in ids
    ]
    latencies = [ms for call in figures for ms in call.turn_latency_ms]
    underruns = [ms for call in figures for ms in call.underrun_ms]
    backlog = summary([f["decode_backlog"] for f in turns if f.get("decode_backlog") is not None])
    failures: Counter[str] = Counter()
    for call in figures:
        failures.update(call.failures)
    rtf = [f["decode_s"] / f["audio_s"] for f in recognition if f.get("audio_s")]
    level: dict[str, Any] = {
        "calls": calls,
        "calls_made": len(figures),
        "wall_s": round(watch.wall_s, 1),
        "turn_latency_ms": summary(latencies),
        "stages_ms": {
            stage: summary([f[stage] for f in turns if f.get(stage) is not None])
            for stage in STAGES
        },
        "decode_backlog_ms": backlog,
        "barge_in_ms": summary([ms for call in figures for ms in call.barge_in_ms]),
        "handoff_ms": {
            name: summary([call.handoff_ms[name] for call in figures if name in call.handoff_ms])
            for name in ("to_queue_place_event", "to_queue_place_heard")
        },
        "underruns": len(underruns),
        "underrun_ms": summary(underruns),
        "late_caller_frames": sum(call.late_frames for call in figures),
        "stt": {
            "rtf_per_stream": summary(rtf, digits=3),
            "recognizers_busy": round(sum(f["decode_s"] for f in recognition) / watch.wall_s, 2)
            if watch.wall_s
            else None,
        },
        "peak_rss_mb": watch.peak_rss_mb,
        "cpu_s": watch.cpu_s,
        "cpu_cores_per_call": {
            role: round(seconds / watch.wall_s / calls, 3) for role, seconds in watch.cpu_s.items()
        }
        if watch.wall_s
        else {},
        "failures": dict(failures),
        "samples": {
            "turn_latency_ms": [round(ms, 1) for ms in latencies],
            **{stage: [f[stage] for f in turns if f.get(stage) is not None] for stage in STAGES},
        },
    }
    level["real_time"] = (
        not underruns
        and backlog.get("max", 0.0) <= MAX_BACKLOG_MS
        and not any("no answer" in reason or "never" in reason for reason in failures)
    )
    p95 = level["turn_latency_ms"].get("p95")
    level["real_time_within_limit"] = bool(level["real_time"] and p95 and p95 <= TURN_P95_LIMIT_MS)
    return level


def log_figures(lines: list[str]) -> list[dict[str, Any]]:
    """`key=value` pairs of the gateway's log lines; numbers as floats, `None` as None."""
    parsed = []
    for line in lines:
        figures: dict[str, Any] = {}
        for key, value in _FIGURE.findall(line):
            try:
                figures[key] = None if value == "None" else float(value)
            except ValueError:
                figures[key] = value
        parsed.append(figures)
    return parsed


def capacity(levels: list[dict[str, Any]]) -> int:
    """The most calls at once that stayed real time with p95 turn latency within
    TURN_P95_LIMIT_MS (0: none)."""
    good = [level["calls"] for level in levels if level["real_time_within_limit"]]
    return max(good, default=0)
