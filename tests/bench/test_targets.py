"""Where a run stands against the issue's targets."""

from __future__ import annotations

from bench.targets import targets


def call_level(calls: int, p50: float, p95: float, real_time: bool, barge_in_p95: float) -> dict:
    return {
        "calls": calls,
        "turn_latency_ms": {"n": 10, "p50": p50, "p95": p95},
        "stages_ms": {"processing": {"n": 10, "p50": p50 - 500}},
        "barge_in_ms": {"n": 1, "p95": barge_in_p95},
        "real_time": real_time,
    }


def chat_level(sessions: int, share: float | None, p95: float) -> dict:
    return {
        "sessions": sessions,
        "gateway_overhead_share": share,
        "gateway": {"round_trip_ms": {"n": 5, "p95": p95}},
    }


def test_each_target_is_met_missed_or_not_measured():
    results = {
        "voice": {
            "max_real_time_calls": 4,
            "levels": [
                call_level(1, 650.0, 900.0, True, 90.0),
                call_level(4, 720.0, 990.0, True, 160.0),  # the worst real-time barge-in
                call_level(8, 1800.0, 5000.0, False, 400.0),  # not real time: not counted
            ],
        },
        "chat": {"levels": [chat_level(1, 0.08, 60.0), chat_level(50, None, 180.0)]},
        "handoff": {
            "chat": {"agent_message_to_customer_screen_ms": {"n": 20, "p50": 30.0, "p95": 85.0}}
        },
    }

    rows = {row["name"]: row for row in targets(results)}

    assert rows["voice turn latency p50, 1 call (Whisper)"]["met"] is True
    assert rows["processing after the endpoint p50, 1 call (Whisper)"]["measured"] == 150.0
    assert rows["barge-in, worst p95 of the real-time levels"]["measured"] == 160.0
    assert rows["barge-in, worst p95 of the real-time levels"]["met"] is False
    assert rows["gateway overhead, 1 chat session(s), share of round trip"]["measured"] == 8.0
    assert rows["gateway overhead, 50 chat sessions, share of round trip"]["met"] is None
    assert rows["real-time calls at once with p95 turn ≤ 1.5 s (Whisper)"]["met"] is True
    assert rows["chat round trip p95, 50 sessions"]["met"] is False
    assert rows["chat round trip p95, 50 sessions"]["target"] == "≤ 150 ms"
    on_screen = rows["agent message to the customer's chat screen p95 (Chromium)"]
    assert on_screen["measured"] == 85.0 and on_screen["met"] is True
    assert on_screen["target"] == "≤ 100 ms"


def test_spanish_speech_rows_read_the_speech_figures():
    results = {
        "speech": {
            "real_voices_16k": {"wer": 0.1523},
            "real_voices_phone": {"wer": 0.17},
            "bot_prompts": {"chosen": {"wer": 0.05}},
            "non_speech": {"total_became_text": 0},
        },
        "spoken_intents": {"spoken_accuracy": 0.87},
        "voice": {"max_real_time_calls": 3, "levels": [call_level(1, 650.0, 900.0, True, 90.0)]},
        "chat": {"levels": [chat_level(1, 0.08, 60.0)]},
    }
    rows = {row["name"]: row for row in targets(results)}
    real = rows["word error rate, asterisk Spanish prompts (real voices), 16 kHz"]
    assert (real["measured"], real["met"], real["target"]) == (15.2, False, "≤ 12 %")
    assert rows["word error rate, the same through the phone path (8 kHz μ-law)"]["met"] is True
    spoken = rows["intent accuracy, held-out sentences spoken by Pico and recognised"]
    assert (spoken["measured"], spoken["met"]) == (0.87, False)
    assert rows["noise, silence, breath and music turns that became caller text"]["met"] is True


def test_the_screen_target_is_not_measured_without_its_figure():
    results = {
        "voice": {"max_real_time_calls": 1, "levels": [call_level(1, 650.0, 900.0, True, 90.0)]},
        "chat": {"levels": [chat_level(1, 0.08, 60.0)]},
        "handoff": {"chat": {"agent_message_to_customer_screen_ms": {"n": 0}}},
    }

    rows = {row["name"]: row for row in targets(results)}

    assert rows["agent message to the customer's chat screen p95 (Chromium)"]["met"] is None
