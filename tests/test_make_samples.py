"""scripts/make_samples.py: the sample calls it synthesises are real, timed and cached."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "make_samples.py"
CALLS_FILE = PROJECT_ROOT / "audio" / "samples" / "calls.yml"
REQUIRED_NAMES = {
    "hours",
    "booking",
    "tracking",
    "person",
    "angry",
    "interrupting",
    "heating",
    "bench",
}
GENERATED = ("hours", "angry", "heating")
CUT_IN_ON_PURPOSE = {"interrupting", "bench"}  # samples with a line said over the bot


def make_samples(
    out: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


def read_wav(path: Path) -> tuple[Any, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        params = wav.getparams()
        samples = np.frombuffer(wav.readframes(params.nframes), "<i2").astype(np.float64)
    return params, samples / 32768.0


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def spans(turns: list[dict], rate: int) -> list[tuple[int, int]]:
    return [(round(turn["start"] * rate), round(turn["end"] * rate)) for turn in turns]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("samples")
    result = make_samples(out, *(arg for name in GENERATED for arg in ("--only", name)))
    assert result.returncode == 0, result.stderr
    return out


def load(out: Path, name: str) -> tuple[Any, np.ndarray, dict]:
    params, samples = read_wav(out / f"{name}.wav")
    return params, samples, json.loads((out / f"{name}.turns.json").read_text(encoding="utf-8"))


def test_calls_file_has_the_required_samples_and_keys():
    calls = yaml.safe_load(CALLS_FILE.read_text(encoding="utf-8"))["calls"]
    assert {call["name"] for call in calls} >= REQUIRED_NAMES
    for call in calls:
        assert {"name", "description", "voice", "turns"} <= call.keys(), call.get("name")
        assert call["voice"] in ("pico", "es", "es-419")
        assert call["description"].strip() and "\n" not in call["description"]
        assert call["turns"] and all(turn["say"].strip() for turn in call["turns"])
        assert call["turns"][0]["wait_s"] >= 5, "the bot's greeting comes first"
        if call["name"] not in CUT_IN_ON_PURPOSE:
            # the whole reply in Pico's voice is heard first
            assert all(7 <= turn["wait_s"] <= 17 for turn in call["turns"][1:]), call["name"]


def test_only_the_requested_samples_are_written(generated: Path):
    written = sorted(path.name for path in generated.iterdir())
    assert written == sorted(
        f"{name}{ext}" for name in GENERATED for ext in (".wav", ".turns.json")
    )


@pytest.mark.parametrize("name", GENERATED)
def test_sample_is_pipeline_format_and_matches_its_turns(generated: Path, name: str):
    params, samples, meta = load(generated, name)
    assert (params.framerate, params.nchannels, params.sampwidth) == (16_000, 1, 2)
    assert meta["name"] == name and meta["sample_rate"] == 16_000
    assert meta["duration"] == pytest.approx(params.nframes / params.framerate, abs=0.001)
    previous_end = 0.0
    for turn in meta["turns"]:
        assert previous_end <= turn["start"] < turn["end"] <= meta["duration"], turn
        previous_end = turn["end"]
    assert meta["duration"] - previous_end == pytest.approx(2.0, abs=0.002)


@pytest.mark.parametrize("name", GENERATED)
def test_speech_is_inside_the_turns_and_silence_between_them(generated: Path, name: str):
    params, samples, meta = load(generated, name)
    edges = spans(meta["turns"], params.framerate)
    speech = np.concatenate([samples[start:end] for start, end in edges])
    gaps = [0, *(edge for span in edges for edge in span), len(samples)]
    silence = np.concatenate([samples[a:b] for a, b in zip(gaps[::2], gaps[1::2], strict=True)])
    assert rms(speech) > 0.02
    assert rms(silence) < rms(speech) / 20
    for start, end in edges:  # every line is really spoken
        assert rms(samples[start:end]) > 0.02


def test_angry_caller_speaks_faster_or_louder_than_hours(generated: Path):
    def per_word_and_rms(name: str) -> tuple[float, float]:
        params, samples, meta = load(generated, name)
        words = sum(len(turn["text"].split()) for turn in meta["turns"])
        spoken = sum(turn["end"] - turn["start"] for turn in meta["turns"])
        edges = spans(meta["turns"], params.framerate)
        return spoken / words, rms(np.concatenate([samples[a:b] for a, b in edges]))

    angry_pace, angry_rms = per_word_and_rms("angry")
    calm_pace, calm_rms = per_word_and_rms("hours")
    assert angry_pace < calm_pace or angry_rms > calm_rms


def test_a_turn_can_have_its_own_speed_and_volume(generated: Path):
    params, samples, meta = load(generated, "heating")
    (calm_start, calm_end), (hot_start, hot_end) = spans(meta["turns"], params.framerate)
    calm_words, hot_words = (len(turn["text"].split()) for turn in meta["turns"])
    calm_pace = (calm_end - calm_start) / calm_words
    hot_pace = (hot_end - hot_start) / hot_words
    assert hot_pace < 0.8 * calm_pace  # faster
    assert rms(samples[hot_start:hot_end]) > 2 * rms(samples[calm_start:calm_end])  # louder


def test_second_run_leaves_up_to_date_samples_alone(generated: Path):
    before = {path.name: path.stat().st_mtime_ns for path in generated.iterdir()}
    result = make_samples(generated, "--only", "hours", "--only", "angry")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # nothing to do, nothing said
    assert {path.name: path.stat().st_mtime_ns for path in generated.iterdir()} == before


def test_pico_callers_need_no_espeak(tmp_path: Path):
    result = make_samples(tmp_path, "--only", "person", env={**os.environ, "PATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "person.wav").stat().st_size > 32000


def test_unknown_sample_name_is_an_error(tmp_path: Path):
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    result = make_samples(tmp_path, "--only", "nonexistent")
    assert result.returncode != 0
    assert "unknown call nonexistent" in result.stderr
