"""The cluster section's arithmetic and report: the capacity on paper follows from the CPU per
message measured at the largest cluster level."""

from __future__ import annotations

from bench.cluster import THINK_S, capacity
from bench.report import cluster_section


def level(sessions: int, per_message: dict[str, float | None]) -> dict:
    return {
        "sessions": sessions, "window_s": 40.0, "messages": 100, "throughput_per_s": 2.5,
        "round_trip_ms": {"n": 100, "p50": 40.0, "p95": 60.0, "max": 90.0}, "failed": 0,
        "failures": [], "cpu_s": {}, "cpu_ms_per_message": per_message,
    }  # fmt: skip


def test_capacity_uses_the_largest_cluster_level_and_leaves_the_client_out():
    results = {
        "think_s": THINK_S,
        "cluster_postgresql": [
            level(50, {"rasa": 99.0}),
            level(200, {"rasa": 10.0, "gateway": 5.0, "benchmark client": 50.0, "nginx": None}),
        ],
    }

    found = capacity(results)

    rate = 5000 * 2 / sum(THINK_S)
    assert found["messages_per_s"] == round(rate, 1)
    assert found["cores_by_process"] == {
        "rasa": round(rate * 0.010 / 0.6, 2), "gateway": round(rate * 0.005 / 0.6, 2),
    }  # fmt: skip
    assert found["cores_total"] == round(sum(found["cores_by_process"].values()), 1)
    assert capacity({"cluster_postgresql": []}) == {}


def test_the_report_shows_both_systems_and_the_capacity():
    results = {
        "think_s": THINK_S,
        "single_sqlite": [level(50, {"rasa": 20.0, "gateway": 7.0})],
        "cluster_postgresql": [level(50, {"rasa": 10.0, "rasa2": 11.0, "gateway": 7.0})],
    }
    results["capacity"] = capacity(results)

    text = "\n".join(cluster_section(results))

    assert "| one of each, SQLite | 50 |" in text and "| cluster, PostgreSQL | 50 |" in text
    assert "rasa2 11.0, rasa 10.0, gateway 7.0" in text
    assert "Capacity on paper for 5000 chat sessions" in text
    assert cluster_section(None) == []
