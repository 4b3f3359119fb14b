"""The record of a call: what the caller said, what the bot answered, and when.

It observes the frames leaving the pipeline and builds `transcript.json` for trainers and QA:
each caller turn with word timings and confidence, the bot's replies, any handoff, barge-ins,
and the turn's timings on the call timeline (seconds) with the latencies they imply (ms).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from bot.frames import (
    BotStartedSpeakingFrame,
    BotTextFrame,
    EndFrame,
    Frame,
    HandoffFrame,
    IgnoredSpeechFrame,
    InterruptFrame,
    TranscriptFrame,
)


def _ms(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else round((end - start) * 1000, 1)


class CallLog:
    """Collects a call's turns; `as_dict()` is the content of transcript.json.

    Args:
        details: facts about the call put at the top (source file, recogniser, mode…).
    """

    def __init__(self, details: dict[str, Any]) -> None:
        self._details = details
        self._turns: dict[int, dict[str, Any]] = {}
        self._prompts: list[dict[str, Any]] = []
        self._ignored: list[dict[str, Any]] = []
        self._handoff: dict[str, Any] | None = None
        self._barge_in: dict[str, Any] | None = None  # comes just before its turn's transcript
        self._end: dict[str, Any] | None = None

    def __call__(self, frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and frame.final:
            self._turns[frame.turn] = self._new_turn(frame)
        elif isinstance(frame, BotTextFrame):
            self._on_bot_text(frame)
        elif isinstance(frame, BotStartedSpeakingFrame) and frame.turn in self._turns:
            self._turns[frame.turn]["timings"].setdefault("first_audio", round(frame.at, 3))
        elif isinstance(frame, InterruptFrame):
            self._barge_in = {
                "speech_onset": round(frame.onset, 3),
                "bot_stopped": round(frame.at, 3),
                "stop_ms": _ms(frame.onset, frame.at),
            }
        elif isinstance(frame, IgnoredSpeechFrame):
            self._ignored.append(self._ignored_entry(frame))
        elif isinstance(frame, HandoffFrame):
            self._handoff = frame.handoff
            if frame.turn in self._turns:
                self._turns[frame.turn]["handoff"] = frame.handoff
        elif isinstance(frame, EndFrame):
            self._end = {"at": round(frame.at, 3), "reason": frame.reason}

    def as_dict(self) -> dict[str, Any]:
        return {
            **self._details,
            "turns": [self._finished(turn) for _, turn in sorted(self._turns.items())],
            "prompts": self._prompts,
            "ignored_speech": self._ignored,
            "handoff": self._handoff,
            "end": self._end,
        }

    def _new_turn(self, frame: TranscriptFrame) -> dict[str, Any]:
        return {
            "turn": frame.turn,
            "caller": {
                "text": frame.text,
                "recognized": frame.raw,
                "confidence": None if frame.confidence is None else round(frame.confidence, 3),
                "words": [
                    {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(w).items()}
                    for w in frame.words
                ],
            },
            "bot": [],
            "handoff": None,
            "barge_in": self._take_barge_in(),
            "timings": {
                "speech_start": round(frame.speech_start, 3),
                "speech_end": round(frame.speech_end, 3),
                "endpoint_detected": round(frame.endpoint_at, 3),
                "endpoint": frame.endpoint,
                "transcript_ready": round(frame.at, 3),
                "decode_backlog_ms": round(frame.decode_backlog * 1000, 1),
            },
        }

    def _on_bot_text(self, frame: BotTextFrame) -> None:
        turn = self._turns.get(frame.turn)
        if frame.prompt or turn is None:
            self._prompts.append({"at": round(frame.at, 3), "text": frame.text})
            return
        turn["bot"].append(frame.text)
        turn["timings"].setdefault("reply_received", round(frame.at, 3))

    def _take_barge_in(self) -> dict[str, Any] | None:
        barge_in, self._barge_in = self._barge_in, None
        return barge_in

    @staticmethod
    def _ignored_entry(frame: IgnoredSpeechFrame) -> dict[str, Any]:
        return {
            "at": round(frame.transcript.speech_start, 3),
            "text": frame.transcript.text,
            "reason": frame.reason,
            "bot_paused_ms": round(frame.paused_s * 1000, 1),
        }

    def latencies(self, turn: int) -> dict[str, float | None] | None:
        """The latencies (ms) of caller turn `turn` so far, or None for an unknown turn."""
        return self._latencies(self._turns[turn]["timings"]) if turn in self._turns else None

    @classmethod
    def _finished(cls, turn: dict[str, Any]) -> dict[str, Any]:
        turn["timings"]["latency_ms"] = cls._latencies(turn["timings"])
        return turn

    @staticmethod
    def _latencies(timings: dict[str, Any]) -> dict[str, float | None]:
        return {
            "speech_end_to_first_audio": _ms(timings["speech_end"], timings.get("first_audio")),
            "endpoint_wait": _ms(timings["speech_end"], timings["endpoint_detected"]),
            "final_transcript": _ms(timings["endpoint_detected"], timings["transcript_ready"]),
            "dialogue": _ms(timings["transcript_ready"], timings.get("reply_received")),
            "first_audio": _ms(timings.get("reply_received"), timings.get("first_audio")),
            "processing": _ms(timings["endpoint_detected"], timings.get("first_audio")),
            "decode_backlog": timings["decode_backlog_ms"],
        }
