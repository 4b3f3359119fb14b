"""The cluster section's arithmetic and report: the capacity on paper follows from the CPU per
message and per second of call measured at the largest cluster levels."""

from __future__ import annotations

import math
from dataclasses import replace

from bench.cluster import BUSY_AT_MOST, THINK_S, capacity
from bench.report import cluster_section
from bench.run import FULL, QUICK, _about


def chat_level(sessions: int, per_message: dict[str, float | None]) -> dict:
    return {
        "sessions": sessions, "window_s": 40.0, "messages": 100, "throughput_per_s": 2.5,
        "round_trip_ms": {"n": 100, "p50": 40.0, "p95": 60.0, "max": 90.0}, "failed": 0,
        "failures": [], "cpu_s": {}, "cpu_ms_per_message": per_message,
    }  # fmt: skip


def call_level(calls: int, per_call_second: dict[str, float | None]) -> dict:
    return {
        "calls": calls, "call_seconds": 200.0, "turns": 24, "underruns": 0, "failed": 0,
        "turn_latency_ms": {"n": 24, "p50": 900.0, "p95": 1300.0, "max": 1500.0},
        "failures": {}, "cpu_s": {}, "cpu_ms_per_call_second": per_call_second,
    }  # fmt: skip


def test_chat_capacity_uses_the_largest_cluster_level_and_adds_up_each_kind_of_process():
    results = {
        "think_s": THINK_S,
        "cluster_postgresql": {"chat": [
            chat_level(50, {"rasa": 99.0}),
            chat_level(200, {"rasa": 10.0, "rasa2": 12.0, "gateway": 5.0,
                             "benchmark client": 50.0, "nginx": None}),
        ]},
    }  # fmt: skip

    found = capacity(results)

    rate = 5000 * 2 / sum(THINK_S)
    assert found["messages_per_s"] == round(rate, 1)
    assert found["cores_by_process"] == {
        "rasa": round(rate * 0.022 / BUSY_AT_MOST, 2),
        "gateway": round(rate * 0.005 / BUSY_AT_MOST, 2),
    }
    assert found["cores_total"] == round(sum(found["cores_by_process"].values()), 1)
    assert "calls" not in found
    assert capacity({"cluster_postgresql": {"chat": []}}) == {}


def test_call_capacity_gives_cores_and_at_least_two_instances_of_each_process():
    per_call_second = {"gateway": 150.0, "gateway2": 150.0, "rasa": 20.0, "postgres": 1.0}
    slow = {**call_level(8, per_call_second), "turn_latency_ms": {"n": 48, "p95": 1600.0}}
    results = {"cluster_postgresql": {"calls": [call_level(4, {"gateway": 999.0}), slow]}}

    calls = capacity(results)["calls"]

    # the last level's CPU, but only the 4 calls kept in real time count per machine
    assert calls["real_time_calls_per_machine"] == 4
    assert [level["machines_by_real_time"] for level in calls["levels"]] == [25, 250]

    hundred, thousand = calls["levels"]
    assert hundred["calls"] == 100 and thousand["calls"] == 1000
    gateway_cores = 100 * 0.300 / BUSY_AT_MOST
    assert hundred["cores_by_process"]["gateway"] == round(gateway_cores, 2)
    assert hundred["instances_by_process"] == {
        "gateway": math.ceil(gateway_cores), "rasa": math.ceil(100 * 0.02 / BUSY_AT_MOST),
        "postgres": 2,  # a fraction of a core, but one may fail
    }  # fmt: skip
    assert thousand["cores_total"] == round(10 * sum(hundred["cores_by_process"].values()), 1)
    assert "8 calls" in calls["assumptions"]


def test_the_report_shows_both_systems_chat_and_calls_and_the_capacity():
    results = {
        "think_s": THINK_S,
        "single_sqlite": {"chat": [chat_level(50, {"rasa": 20.0, "gateway": 7.0})],
                          "calls": [call_level(4, {"gateway": 300.0})]},
        "cluster_postgresql": {
            "chat": [chat_level(50, {"rasa": 10.0, "rasa2": 11.0, "gateway": 7.0})],
            "calls": [call_level(4, {"gateway": 150.0, "gateway2": 160.0})],
        },
    }  # fmt: skip
    results["capacity"] = capacity(results)

    text = "\n".join(cluster_section(results))

    assert "| one of each, SQLite | 50 |" in text and "| cluster, PostgreSQL | 50 |" in text
    assert "rasa2 11.0, rasa 10.0, gateway 7.0" in text
    assert (
        "| cluster, PostgreSQL | 4 | 24 | 900 | 1300 | 0 | 0 | gateway2 160.0, gateway 150.0 |"
        in text
    )
    assert "Capacity on paper for 5000 chat sessions" in text
    assert "| 1000 |" in text and "gateway 516.67 (517)" in text
    assert cluster_section(None) == []


def test_leaving_the_cluster_out_keeps_the_full_sizes_of_everything_else():
    """`bench run --no-cluster` once counted as a quick run: 8 recordings instead of 120 in the
    speech section, and its results were marked quick."""
    without_cluster = replace(FULL, cluster=False)

    assert not without_cluster.quick and QUICK.quick
    assert _about(without_cluster)["quick"] is False
