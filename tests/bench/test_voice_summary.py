"""A call level's figures: the gateway's log lines read back, real time decided, capacity."""

from __future__ import annotations

from collections import Counter

from bench.caller import CallFigures
from bench.resources import ResourceWatch
from bench.voice import capacity, log_figures, summarise_level

TURN = (
    "12:00:01 gateway.1 | 2026-11-23 12:00:01,000 INFO bot.channels.browser_call call.turn "
    "conversation={id} turn=1 speech_end_to_first_audio=600.0 endpoint_wait=260.0 "
    "final_transcript=80.0 dialogue=40.0 first_audio=None processing=130.0 decode_backlog={backlog}"
)
RECOGNITION = (
    "12:00:09 gateway.1 | … call.recognition conversation={id} recognizer=scripted "
    "audio_s=10.00 decode_s=6.00"
)


class LoggedSystem:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def log_lines(self, marker: str) -> list[str]:
        return [line for line in self.lines if marker in line]


def watch(wall_s: float) -> ResourceWatch:
    done = ResourceWatch({})
    done.wall_s, done.cpu_s, done.peak_rss_mb = wall_s, {"gateway": 20.0}, {"gateway": 900.0}
    return done


def test_log_lines_become_numbers_by_name():
    (figures,) = log_figures([TURN.format(id="abc", backlog="100.0")])

    assert figures["conversation"] == "abc"
    assert figures["endpoint_wait"] == 260.0
    assert figures["first_audio"] is None
    assert figures["decode_backlog"] == 100.0


def level(backlog: str, underrun_ms: list[float], failures: Counter[str]) -> dict:
    calls = [
        CallFigures("a", [500.0, 700.0], [80.0], underrun_ms, failures=failures),
        CallFigures("b", [650.0]),
    ]
    lines = [TURN.format(id=i, backlog=backlog) for i in ("a", "b", "other")]
    lines += [RECOGNITION.format(id=i) for i in ("a", "b")]
    return summarise_level(2, calls, watch(10.0), LoggedSystem(lines))  # type: ignore[arg-type]


def test_a_level_that_keeps_up_is_real_time():
    summary = level("300.0", [], Counter())

    assert summary["turn_latency_ms"] == {"n": 3, "p50": 650.0, "p95": 700.0, "max": 700.0}
    assert summary["stages_ms"]["endpoint_wait"]["n"] == 2  # not the other call's turn
    assert summary["stages_ms"]["first_audio"] == {"n": 0}
    assert summary["stt"] == {
        "rtf_per_stream": {"n": 2, "p50": 0.6, "p95": 0.6, "max": 0.6},
        "recognizers_busy": 1.2,
    }
    assert summary["cpu_cores_per_call"] == {"gateway": 1.0}
    assert summary["real_time"] and summary["real_time_within_limit"]


def test_a_gap_in_the_bot_voice_a_lagging_recogniser_or_a_silent_bot_is_not_real_time():
    assert not level("300.0", [120.0], Counter())["real_time"]
    assert not level("1500.0", [], Counter())["real_time"]
    assert not level("300.0", [], Counter({"no answer within 15 s": 1}))["real_time"]


def test_capacity_is_the_largest_real_time_level_within_a_second():
    levels = [
        {"calls": 1, "real_time_within_limit": True},
        {"calls": 2, "real_time_within_limit": True},
        {"calls": 4, "real_time_within_limit": False},
        {"calls": 8, "real_time_within_limit": False},
    ]

    assert capacity(levels) == 2
    assert capacity(levels[2:]) == 0


def test_watching_no_processes_measures_only_the_benchmark_itself():
    with ResourceWatch({}, every_s=0.01) as nothing:
        pass

    assert nothing.peak_rss_mb == {}
    assert set(nothing.cpu_s) == {"benchmark client"}
