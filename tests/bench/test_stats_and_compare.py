"""The benchmark's percentiles and the comparison of two runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import main
from bench.compare import compare, flatten
from bench.stats import ratio, summary


def test_summary_uses_the_nearest_rank():
    values = list(range(1, 101))  # 1..100

    assert summary(values) == {"n": 100, "p50": 50, "p95": 95, "max": 100}
    assert summary([7.25]) == {"n": 1, "p50": 7.2, "p95": 7.2, "max": 7.2}
    assert summary([0.1234, 0.5], digits=3)["p50"] == 0.123
    assert summary([]) == {"n": 0}


def test_ratio_is_none_without_both_figures():
    assert ratio(3, 4) == 0.75
    assert ratio(None, 4) is None
    assert ratio(3, 0) is None


def run_with(latency_p95: float, capacity: int, messages_per_s: float) -> dict:
    return {
        "schema": 1,
        "run": {"started": "ignored"},
        "voice": {
            "max_real_time_calls": capacity,
            "levels": [
                {"calls": 1, "turn_latency_ms": {"n": 6, "p95": 600.0}, "samples": {"x": [1]}},
                {"calls": 4, "turn_latency_ms": {"n": 24, "p95": latency_p95}},
            ],
        },
        "chat": {"levels": [{"sessions": 50, "gateway": {"messages_per_s": messages_per_s}}]},
    }


def test_levels_are_named_by_their_size_and_samples_are_left_out():
    figures = flatten(run_with(900.0, 4, 3.0))

    assert figures["voice.levels[calls=4].turn_latency_ms.p95"] == 900.0
    assert figures["chat.levels[sessions=50].gateway.messages_per_s"] == 3.0
    assert not any("samples" in path or path.startswith("run") for path in figures)


def test_slower_turns_are_worse_and_more_real_time_calls_are_better():
    found = compare(run_with(900.0, 4, 3.0), run_with(1200.0, 8, 3.1))

    worse = {path: (was, now) for path, was, now in found["worse"]}
    better = {path: (was, now) for path, was, now in found["better"]}
    assert worse == {"voice.levels[calls=4].turn_latency_ms.p95": (900.0, 1200.0)}
    assert better == {"voice.max_real_time_calls": (4.0, 8.0)}
    assert ("chat.levels[sessions=50].gateway.messages_per_s", 3.0, 3.1) in found["same"]


def test_compare_command_prints_the_changes_and_refuses_other_documents(tmp_path: Path, capsys):
    old, new, other = tmp_path / "old.json", tmp_path / "new.json", tmp_path / "other.json"
    old.write_text(json.dumps(run_with(900.0, 4, 3.0)), encoding="utf-8")
    new.write_text(json.dumps(run_with(450.0, 4, 3.0)), encoding="utf-8")
    other.write_text(json.dumps({"turns": []}), encoding="utf-8")

    assert main(["compare", str(old), str(new)]) == 0
    printed = capsys.readouterr().out
    assert "Better (1):" in printed and "turn_latency_ms.p95" in printed and "-50%" in printed
    assert "Worse (0):" in printed

    assert main(["compare", str(old), str(other)]) == 2
    assert "schema 1" in capsys.readouterr().err
    assert main(["compare", str(old), str(tmp_path / "missing.json")]) == 2
    assert main(["report", "--out", str(tmp_path)]) == 2  # no results.json there
    assert "make bench" in capsys.readouterr().err


@pytest.mark.parametrize("was, now", [(0.0, 0.0), (0.0, 3.0)])
def test_a_figure_that_was_zero_is_compared_without_dividing_by_it(was: float, now: float):
    found = compare({"failures": {"timeout": was}}, {"failures": {"timeout": now}})

    kind = "same" if now == was else "worse"
    assert found[kind] == [("failures.timeout", was, now)]
