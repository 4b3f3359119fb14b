"""Operators' view of the gateway: readiness per dependency, liveness, Prometheus metrics, and
the database failing under a customer."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.gateway.app import DATABASE_UNAVAILABLE
from bot.supervision.supervisor import Layout
from tests.helpers.gateway_fakes import Api, FakeAssistant, handoff_reply, make_gateway, run_api


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_turns_handoffs_queue_and_restarts(tmp_path: Path):
    assistant = FakeAssistant([handoff_reply(reason="user_request", department="sales")])
    gateway = make_gateway(tmp_path / "gw.db", assistant)
    layout = Layout.of(gateway.settings)
    layout.run_dir.mkdir(parents=True)
    layout.state_file.write_text(json.dumps({"actions": {"restarts": 2}}))

    async def scenario(api: Api) -> None:
        before = _samples(await _text(api))
        customer = await api.start()
        await api.say(customer, "Quiero hablar con una persona")
        answer = await api.client.get("/metrics")
        assert answer.status == 200 and answer.content_type.startswith("text/plain")
        after = _samples(await answer.text())

        def grew(name: str, **labels: str) -> float:
            key = (name, tuple(sorted(labels.items())))
            return after.get(key, 0.0) - before.get(key, 0.0)

        assert grew("bot_turns_total", channel="webchat") == 1
        assert grew("bot_handoffs_total", reason="user_request") == 1
        assert grew("bot_turn_stage_seconds_count", stage="assistant") == 1
        assert after[("bot_queue_length", (("department", "sales"),))] == 1
        assert after[("bot_process_restarts", (("process", "actions"),))] == 2

    run_api(gateway, scenario)


async def _text(api: Api) -> str:
    return await (await api.client.get("/metrics")).text()


def test_a_locked_database_is_a_clear_answer_and_a_failed_check(tmp_path: Path):
    """What cannot be held for later (a new conversation) is refused with a clear text; a turn
    of a conversation is held and answered (test_database_faults.py)."""
    database = tmp_path / "gw.db"
    gateway = make_gateway(database, FakeAssistant())

    async def scenario(api: Api) -> None:
        other = sqlite3.connect(database, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the file (a backup, a tool)
        try:
            started = await api.post("/api/conversations", {"channel": "webchat"})
            health = await api.get("/api/health")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert started.status == 503 and started.body == {"error": DATABASE_UNAVAILABLE}
        assert health.status == 503 and health.body["status"] == "down"
        assert health.body["checks"]["database"]["status"].startswith("error")
        # the file is free again: the gateway recovers without a restart
        customer = await api.start()
        again = await api.say(customer, "¿A qué hora abren?")
        assert again.status == 200 and again.body["messages"]
        assert (await api.get("/api/health")).body["checks"]["database"]["status"] == "ok"

    run_api(gateway, scenario)


def test_liveness_answers_while_the_assistant_is_down(tmp_path: Path):
    gateway = make_gateway(tmp_path / "gw.db", FakeAssistant(healthy=False))

    async def scenario(api: Api) -> None:
        assert (await api.get("/api/health/live")).body == {"status": "ok"}
        assert (await api.get("/api/health")).status == 503

    run_api(gateway, scenario)
