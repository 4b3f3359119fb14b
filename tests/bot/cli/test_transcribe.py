"""`python -m bot transcribe`: the recogniser alone on a recording, for QA and trainers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.audio.g711 import PipelineToPhone
from bot.audio.pcm import read_wav, write_wav
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.integration

TRACKING = PROJECT_ROOT / "audio" / "samples" / "tracking.wav"


def transcribe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "transcribe", *args],
        capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_a_sample_call_is_transcribed_turn_by_turn_with_a_json_summary() -> None:
    done = transcribe(str(TRACKING), "--engine", "whisper", "--json")
    assert done.returncode == 0, done.stderr
    *turns, last = done.stdout.strip().splitlines()
    summary = json.loads(last)
    assert (summary["engine"], summary["model"]) == ("whisper", "whisper-base")
    assert "pedido 48213" in summary["text"] and "28013" in summary["text"]
    assert len(turns) == len(summary["turns"]) == 3
    starts = [word["start"] for word in summary["words"]]
    assert starts == sorted(starts) and all(w["end"] >= w["start"] for w in summary["words"])
    assert summary["turns"][0]["start"] == pytest.approx(7.5, abs=0.3)


def test_an_8_khz_phone_recording_is_understood(tmp_path: Path) -> None:
    phone = tmp_path / "llamada.wav"  # as a phone line records it: 8 kHz, 16-bit
    write_wav(phone, PipelineToPhone().to_linear(read_wav(TRACKING)), rate=8000)
    done = transcribe(str(phone), "--engine", "whisper", "--json")
    assert done.returncode == 0, done.stderr
    assert "48213" in json.loads(done.stdout.strip().splitlines()[-1])["text"]


def test_a_file_that_is_not_audio_gets_a_clear_message(tmp_path: Path) -> None:
    fake = tmp_path / "llamada.wav"
    fake.write_text("esto no es audio", encoding="utf-8")
    done = transcribe(str(fake))
    assert done.returncode == 1
    assert "no es un WAV" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_model_is_explained(tmp_path: Path) -> None:
    done = transcribe(str(TRACKING), env={"BOT_STT_ENGINE": "whisper",
                                          "BOT_WHISPER_MODEL": str(tmp_path / "nada")})  # fmt: skip
    assert done.returncode == 1
    assert "BOT_WHISPER_MODEL" in done.stderr and "Traceback" not in done.stderr
