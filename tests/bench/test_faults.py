"""The soak with faults, its pure parts: what a reply counts as, which fault a message met, the
schedule, the back-off, the figures per fault kind, their targets and their report."""

from __future__ import annotations

import random

import pytest

from bench.faults import (
    KINDS,
    CallRecord,
    Exchange,
    Fault,
    Plan,
    backoff_delay,
    classify_reply,
    summarise,
    window_of,
)
from bench.report import render_faults_report
from bench.targets import fault_rows
from bot.assistant.contract import CHAT_APOLOGY

QUEUE_NOTICE = {"author": "system", "text": "Le atenderá una persona. Es el número 3."}


def bot(text: str) -> dict[str, str]:
    return {"author": "bot", "text": text}


def test_a_reply_is_an_answer_a_handoff_or_nothing():
    assert classify_reply([bot("La tienda de Gran Vía abre a las 10.")], "bot") == "answered"
    assert classify_reply([bot(CHAT_APOLOGY), QUEUE_NOTICE], "queued") == "handed_off"
    assert classify_reply([bot(CHAT_APOLOGY)], "bot") == "handed_off"  # the apology alone
    assert classify_reply([QUEUE_NOTICE], "queued") == "handed_off"  # a handoff, no apology
    assert classify_reply([], "bot") == "lost"
    assert classify_reply([QUEUE_NOTICE], "bot") == "lost"  # no word from the bot


def test_a_message_belongs_to_the_window_it_was_sent_in_or_waiting_in():
    windows = [(100.0, 120.0), (160.0, 200.0)]

    assert window_of(90.0, 95.0, windows) is None  # answered before the fault
    assert window_of(110.0, 111.0, windows) == 0  # sent during it
    assert window_of(99.0, 104.0, windows) == 0  # still waiting when the fault came
    assert window_of(120.0, 121.0, windows) is None  # sent once the window had closed
    assert window_of(150.0, 170.0, windows) == 1
    assert window_of(110.0, 170.0, windows) == 0  # across both: the first


def test_faults_come_every_interval_the_kinds_in_turn():
    plan = Plan(600.0, 60.0, 50, 4, ("actions_kill", "rasa_kill", "gateway_kill", "rasa_stop"),
                (5.0, 15.0))  # fmt: skip

    schedule = plan.schedule()

    assert len(schedule) == 10
    assert schedule[0] == (30.0, "actions_kill") and schedule[-1] == (570.0, "rasa_kill")
    assert [kind for _, kind in schedule[:5]] == [*plan.kinds, "actions_kill"]
    assert all(kind in KINDS for _, kind in schedule)


def test_the_back_off_doubles_with_jitter_up_to_its_cap_and_is_seeded():
    first = [backoff_delay(attempt, random.Random(7)) for attempt in range(7)]
    again = [backoff_delay(attempt, random.Random(7)) for attempt in range(7)]

    assert first == again
    for attempt, delay in enumerate(first):
        ceiling = min(30.0, 2.0**attempt)
        assert ceiling / 2 <= delay <= ceiling


def soak_figures() -> dict:
    faults = [
        Fault("actions_kill", at=100.0, pid=11, recovery_s=4.0, recovered=True),  # to 109
        Fault("gateway_kill", at=160.0, pid=12, recovery_s=3.0, recovered=True),  # to 168
        Fault("actions_kill", at=220.0, pid=13, recovery_s=6.0, recovered=True),  # to 231
    ]
    chat = [
        Exchange(50.0, 50.1, "answered"),
        Exchange(60.0, 60.3, "answered"),
        Exchange(101.0, 101.2, "handed_off"),
        Exchange(99.9, 102.5, "handed_off"),  # waiting when the action server died
        Exchange(161.0, 166.0, "answered", attempts=3, reason="ClientConnectorError"),
        Exchange(162.0, 192.0, "lost", attempts=6, reason="ClientConnectorError"),
        Exchange(225.0, 225.4, "answered"),
    ]
    turns = [
        Exchange(40.0, 41.5, "answered", conversation="c1"),
        Exchange(103.0, 105.0, "handed_off", conversation="c2"),
        Exchange(161.0, 161.5, "dropped", conversation="c3"),
    ]
    calls = [
        CallRecord(35.0, 45.0, "completed"),
        CallRecord(98.0, 110.0, "completed"),
        CallRecord(150.0, 161.5, "dropped"),
        CallRecord(163.0, 163.1, "not connected", "ClientConnectorError"),
    ]
    return summarise(faults, chat, turns, calls, start=0.0)


def test_each_fault_kind_gets_its_messages_silences_and_recoveries():
    found = soak_figures()
    actions, gateway = found["by_kind"]["actions_kill"], found["by_kind"]["gateway_kill"]

    assert list(found["by_kind"]) == ["actions_kill", "gateway_kill"]
    assert actions["faults"] == 2 and actions["recovery_s"] == [4.0, 6.0]
    assert actions["recovery_max_s"] == 6.0 and actions["all_recovered"] is True
    assert actions["chat"] == {
        "sent": 3, "answered": 1, "handed_off": 2, "lost": 0, "longest_silence_s": 2.6,
    }  # fmt: skip
    assert gateway["chat"]["lost"] == 1 and gateway["chat"]["longest_silence_s"] == 30.0
    assert actions["calls"]["turns"] == 1 and actions["calls"]["handed_off"] == 1
    # a dropped line is no silence the caller sat through
    assert gateway["calls"]["dropped"] == 1 and gateway["calls"]["longest_silence_s"] is None
    assert gateway["calls"]["calls_dropped"] == 1 and gateway["calls"]["calls_not_connected"] == 1
    assert [f["at_s"] for f in found["injected"]] == [100.0, 160.0, 220.0]


def test_outside_the_faults_is_the_same_load_without_one_and_overall_is_everything():
    found = soak_figures()
    outside, overall = found["outside"], found["overall"]

    assert outside["chat"]["sent"] == 2
    assert outside["chat"]["latency_ms"] == pytest.approx(
        {"n": 2, "p50": 100.0, "p95": 300.0, "max": 300.0}
    )
    assert outside["calls"]["turn_latency_ms"]["n"] == 1 and outside["calls"]["calls"] == 1
    assert overall["chat"]["sent"] == 7 and overall["chat"]["lost"] == 1
    assert overall["chat"]["retried"] == 2
    assert overall["calls"]["turns"] == 3 and overall["calls"]["calls"] == 4
    assert overall["calls"]["not_connected_reasons"] == {"ClientConnectorError": 1}
    assert found["lost_reasons"] == {"ClientConnectorError": 1}


def test_targets_and_report_of_the_soak():
    found = {
        **soak_figures(),
        "plan": Plan(60.0, 20.0, 5, 1, ("actions_kill", "gateway_kill"), (2.0, 5.0)).about(),
        "wall_s": 240.0,
        "saved": {"conversations": 6, "acknowledged": 6, "missing": 0, "unreadable": 0},
        "problems": {},
    }

    rows = {row["name"]: row for row in fault_rows(found)}

    lost = rows["faults: chat messages lost (no answer nor handoff after 30 s of retries)"]
    assert lost["measured"] == 1 and lost["met"] is False
    assert rows["faults: longest chat silence, action server SIGKILL"]["met"] is True
    assert rows["faults: recovery, action server SIGKILL (worst)"]["measured"] == 6.0
    assert rows["faults: recovery, gateway SIGKILL (worst)"]["met"] is True
    assert rows["faults: recovery, Rasa server SIGKILL (worst)"]["met"] is None  # not injected
    saved = rows["faults: acknowledged chat messages missing from the saved conversations"]
    assert saved["met"] is True
    assert all(row["met"] is None for row in fault_rows(None))

    report = render_faults_report({"faults": found, "targets": list(rows.values())})
    assert "## Surviving faults (soak)" in report
    assert "| action server SIGKILL | 2 | 4, 6 | 6 | 3 | 1 | 2 | 0 | 2.6 |" in report
    for name in rows:
        assert name in report
