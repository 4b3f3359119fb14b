"""`python -m bench run --quick`: the benchmark harness end to end on the real system, with tiny
sizes (one call, two chat sessions, one handoff each, a few agent messages to a chat page in
Chromium). It checks that every part produces its figures and the report; the figures themselves
are reported by `make bench`, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.run import QUICK
from bench.speech import SWEEP
from bot.settings import PROJECT_ROOT
from tests.helpers.live import require_model

pytestmark = pytest.mark.integration


def test_a_quick_run_measures_every_part_and_writes_the_report(tmp_path: Path):
    require_model()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--quick", "--out", str(tmp_path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))

    assert results["schema"] == 1 and results["run"]["quick"] is True
    (call,) = results["voice"]["levels"]
    assert call["failures"] == {}, call["failures"]
    assert call["turn_latency_ms"]["n"] == len(results["voice"]["caller"])  # every line answered
    assert all(call["stages_ms"][stage]["n"] for stage in ("endpoint_wait", "dialogue"))
    assert call["barge_in_ms"]["n"] == 1 and call["underruns"] == 0
    assert call["stt"]["rtf_per_stream"]["n"] == 1  # the gateway's real Vosk decoding, logged
    assert set(call["peak_rss_mb"]) == {"gateway", "rasa", "action server"}
    voice_handoff = results["handoff"]["voice"]
    assert voice_handoff["failures"] == []
    assert voice_handoff["request_to_queue_place_heard_ms"]["n"] == 1
    assert voice_handoff["agent_voice_to_caller_ms"]["n"] == 1
    chat_handoff = results["handoff"]["chat"]
    assert chat_handoff["agent_message_to_customer_ms"]["n"] == 1
    on_screen = chat_handoff["agent_message_to_customer_screen_ms"]  # in Chromium
    assert on_screen["n"] == QUICK.agent_messages_on_screen
    phone = results["phone"]  # the same caller on a Twilio line, then alone at once
    assert phone["failures"] == {"browser": 0, "phone": 0}, phone
    assert phone["phone_turn_latency_ms"]["n"] == len(results["voice"]["caller"])
    assert phone["phone_clear_after_onset_ms"]["n"] == 1  # the line said over the bot
    assert phone["levels"][0]["failures"] == {} and phone["levels"][0]["underruns"] == 0
    faults = results["faults"]  # the soak: each fault injected in turn, each process back
    injected = faults["run"]["injected"]
    assert [fault["kind"] for fault in injected] == list(QUICK.faults.kinds)
    assert all(fault["recovered"] for fault in injected), injected
    assert faults["overall"]["chat"]["sent"] > 0 and faults["overall"]["calls"]["calls"] > 0
    for level in results["chat"]["levels"]:
        assert level["gateway"]["round_trip_ms"]["n"] > 0, level
        assert level["straight_to_rasa"]["round_trip_ms"]["n"] > 0, level
    assert results["stt"]["turns_found"] == len(results["voice"]["caller"])
    assert results["start"]["serving_s"] > 0
    speech = results["speech"]
    assert speech["real_voices_16k"]["prompts"] == speech["real_voices_phone"]["prompts"] == 8
    assert 0.0 <= speech["real_voices_16k"]["wer"] <= 1.0
    assert speech["bot_prompts"]["chosen"]["engine"] == "pico"
    assert [(w["window_s"], w["beam"]) for w in speech["window_sweep"]] == list(SWEEP)
    assert speech["non_speech"]["breathing"]["sounds"] == 3
    assert results["spoken_intents"]["sentences"] == QUICK.spoken_sentences

    report = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    for target in results["targets"]:
        assert target["name"] in report
    for plot in ("voice-stages", "latency-by-calls", "memory-by-calls"):
        assert (tmp_path / "plots" / f"{plot}.png").read_bytes().startswith(b"\x89PNG")

    compared = subprocess.run(
        [sys.executable, "-m", "bench", "compare", *[str(tmp_path / "results.json")] * 2],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert compared.returncode == 0 and "Worse (0):" in compared.stdout
