"""What operators graph and alert on, in the Prometheus format (`GET /metrics`, documented in
docs/operations.md). Every part of the gateway records into these; the gateway serves them.

Names follow Prometheus' conventions: `_total` counters, `_seconds` histograms, base units.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# a chat turn is mostly the assistant's round trip; a call turn adds recognition and voice
_TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)

TURNS = Counter("bot_turns_total", "Customer turns sent to the assistant.", ["channel"])
TURN_SECONDS = Histogram(
    "bot_turn_stage_seconds",
    "Time spent in each stage of a customer turn: `assistant` (the Rasa round trip of any "
    "channel), and for calls `endpoint_wait`, `final_transcript`, `dialogue`, `first_audio` "
    "and `speech_end_to_first_audio` (the caller's whole wait).",
    ["stage"],
    buckets=_TURN_BUCKETS,
)
HANDOFFS = Counter("bot_handoffs_total", "Conversations handed to a person.", ["reason"])
QUEUE_LENGTH = Gauge("bot_queue_length", "Conversations waiting for a person now.", ["department"])
QUEUE_WAIT_SECONDS = Histogram(
    "bot_queue_wait_seconds",
    "Time from the handoff until an agent accepted the conversation.",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600),
)
ERRORS = Counter(
    "bot_errors_total",
    "Faults by kind: assistant_unavailable, assistant_empty_answer, database, unhandled, "
    "call_failed.",
    ["kind"],
)
PROCESS_RESTARTS = Gauge(
    "bot_process_restarts",
    "Restarts of each server since `make run` started them (supervisord).",
    ["process"],
)

CALL_STAGES = (
    "endpoint_wait", "final_transcript", "dialogue", "first_audio", "speech_end_to_first_audio",
)  # fmt: skip


def observe_call_turn(latencies_ms: dict[str, float | None]) -> None:
    """One answered call turn's stages (milliseconds, as the call log keeps them)."""
    for stage in CALL_STAGES:
        value = latencies_ms.get(stage)
        if value is not None:
            TURN_SECONDS.labels(stage).observe(value / 1000)
