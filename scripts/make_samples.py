"""Synthesises the sample calls of audio/samples/calls.yml into WAV files (SVOX Pico or
espeak-ng).

For each call it writes `<name>.wav` (16 kHz, 16-bit, mono: the pipeline's format) and
`<name>.turns.json`, which says when each caller line starts and ends, so a replay with
`python -m bot call audio/samples/<name>.wav --out DIR` can be checked against it.

Usage:
    python scripts/make_samples.py [--out DIR] [--only NAME ...] [--force]

A call whose outputs are newer than calls.yml and this script is skipped, so running the
script again is instant; --force regenerates everything.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.audio.pcm import SAMPLE_RATE, seconds, silence, to_pipeline, write_wav  # noqa: E402
from bot.audio.pico import NORMAL_VOLUME  # noqa: E402

CALLS_FILE = ROOT / "audio" / "samples" / "calls.yml"
DEFAULT_OUT = ROOT / "audio" / "samples"
ESPEAK = "espeak-ng"
PICO = "pico"  # SVOX Pico's es-ES voice (py-nanotts): natural enough for Whisper to recognise
VOICES = (PICO, "es", "es-419")  # the other two are espeak-ng's
# espeak-ng's normal values: a Pico caller's speed, pitch and amplitude are relative to these
NORMAL = {"speed": 175, "pitch": 50, "amplitude": 100}
REQUIRED_KEYS = ("name", "description", "voice", "turns")
OPTIONAL_RANGES = {"speed": (80, 450), "pitch": (0, 99), "amplitude": (0, 200)}
END_SILENCE_S = 2.0
SPEECH_LEVEL = 32  # |sample| above this (about -60 dBFS) counts as speech when trimming
# Pico breathes faintly (peaks near -46 dBFS) before "¿" and after a sentence's last word, apart
# from the words: webrtcvad takes that for speech. A caller's line starts and ends with words.
PICO_SPEECH_LEVEL = 400


class SampleError(ValueError):
    """calls.yml is malformed, or espeak-ng failed on a line."""


def load_calls(path: Path = CALLS_FILE) -> list[dict[str, Any]]:
    """Reads and checks the sample calls.

    Args:
        path: the YAML file with a top-level `calls` list.

    Returns:
        The calls, in file order.

    Raises:
        SampleError: if a call lacks a key, has an unknown voice, a value out of range or a
            malformed turn, or two calls share a name.
    """
    calls = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("calls")
    if not isinstance(calls, list) or not calls:
        raise SampleError(f"{path}: expected a non-empty top-level `calls` list")
    if not all(isinstance(call, dict) for call in calls):
        raise SampleError(f"{path}: each call must be a mapping with {', '.join(REQUIRED_KEYS)}")
    names = [call.get("name") for call in calls]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SampleError(f"{path}: duplicate call names {duplicates}")
    for call in calls:
        check_call(call)
    return calls


def check_call(call: dict[str, Any]) -> None:
    """Checks one call of calls.yml.

    Args:
        call: the call as read from YAML.

    Raises:
        SampleError: saying which call and which key is wrong.
    """
    label = f"call {call.get('name', '?')!r}"
    missing = [key for key in REQUIRED_KEYS if key not in call]
    if missing:
        raise SampleError(f"{label}: missing {', '.join(missing)}")
    if call["voice"] not in VOICES:
        raise SampleError(f"{label}: voice must be one of {VOICES}, not {call['voice']!r}")
    _check_voice_options(call, label)
    turns = call["turns"]
    if not isinstance(turns, list) or not turns:
        raise SampleError(f"{label}: turns must be a non-empty list")
    for number, turn in enumerate(turns, 1):
        if isinstance(turn, dict):
            _check_voice_options(turn, f"{label}, turn {number}")
        wait = turn.get("wait_s") if isinstance(turn, dict) else None
        say = turn.get("say") if isinstance(turn, dict) else None
        if not isinstance(say, str) or not say.strip():
            raise SampleError(f"{label}, turn {number}: `say` must be a non-empty string")
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or wait < 0:
            raise SampleError(f"{label}, turn {number}: `wait_s` must be a number >= 0")


def _check_voice_options(options: dict[str, Any], label: str) -> None:
    for key, (low, high) in OPTIONAL_RANGES.items():
        value = options.get(key)
        if value is not None and not (isinstance(value, int) and low <= value <= high):
            raise SampleError(f"{label}: {key} must be an integer from {low} to {high}")


def espeak_command(call: dict[str, Any]) -> list[str]:
    """The espeak-ng command line for the call's voice; the text goes to its stdin.

    Args:
        call: a checked call.

    Returns:
        The command, writing a WAV file to stdout.
    """
    command = [ESPEAK, "--stdout", "--stdin", "-b", "1", "-v", call["voice"]]
    for key, flag in (("speed", "-s"), ("pitch", "-p"), ("amplitude", "-a")):
        if call.get(key) is not None:
            command += [flag, str(call[key])]
    return command


def synthesise(text: str, call: dict[str, Any]) -> bytes:
    """One caller line as pipeline-format audio, without leading or trailing silence.

    Args:
        text: the Spanish line to say.
        call: the call whose voice says it.

    Returns:
        16 kHz 16-bit mono PCM that starts and ends with speech.

    Raises:
        SampleError: if the synthesiser fails or produces no speech.
    """
    if call["voice"] == PICO:
        speech = trim(pico(text, call), PICO_SPEECH_LEVEL)
    else:
        speech = trim(espeak(text, call))
    if not speech:
        raise SampleError(f"{call['voice']} produced no speech for {text!r}")
    return speech


def pico(text: str, call: dict[str, Any]) -> bytes:
    """A line in Pico's voice, its speed, pitch and loudness relative to espeak-ng's normal."""
    from py_nanotts import NanoTTS

    relative = {key: call.get(key, normal) / normal for key, normal in NORMAL.items()}
    return NanoTTS().speak(
        text,
        voice="es-ES",
        speed=relative["speed"],
        pitch=relative["pitch"],
        volume=relative["amplitude"] * NORMAL_VOLUME,
    )


def espeak(text: str, call: dict[str, Any]) -> bytes:
    """A line in an espeak-ng voice, as pipeline-format audio."""
    result = subprocess.run(espeak_command(call), input=text.encode(), capture_output=True)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise SampleError(f"espeak-ng failed on {text!r}: {message}")
    # espeak-ng writes to a pipe, so its header holds a placeholder length: read to the end.
    with wave.open(io.BytesIO(result.stdout), "rb") as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        data = wav.readframes(wav.getnframes())
    return to_pipeline(data, rate, channels, width)


def trim(pcm: bytes, level: int = SPEECH_LEVEL) -> bytes:
    """Cuts the silence before the first and after the last speech sample.

    Args:
        pcm: pipeline-format audio.

    Returns:
        The audio from its first to its last sample louder than `level` (empty if none).
    """
    loud = np.flatnonzero(np.abs(np.frombuffer(pcm, "<i2").astype(np.int32)) > level)
    if loud.size == 0:
        return b""
    return pcm[2 * loud[0] : 2 * (loud[-1] + 1)]


def render(call: dict[str, Any]) -> tuple[bytes, list[dict[str, Any]]]:
    """The whole call: each line after its silence, then END_SILENCE_S of silence.

    Args:
        call: a checked call.

    Returns:
        The audio and, for each line, its text and the seconds where its speech starts and ends.
    """
    pcm = b""
    turns = []
    for turn in call["turns"]:
        pcm += silence(turn["wait_s"])
        start = seconds(pcm)
        voice = {**call, **{key: turn[key] for key in OPTIONAL_RANGES if key in turn}}
        pcm += synthesise(turn["say"], voice)  # a turn may change the call's speed, pitch, volume
        turns.append({"text": turn["say"], "start": round(start, 3), "end": round(seconds(pcm), 3)})
    return pcm + silence(END_SILENCE_S), turns


def outputs(name: str, out_dir: Path) -> tuple[Path, Path]:
    """The WAV file and the turns file of a call."""
    return out_dir / f"{name}.wav", out_dir / f"{name}.turns.json"


def is_fresh(name: str, out_dir: Path, sources: list[Path]) -> bool:
    """Whether both outputs of a call exist and are newer than every source file.

    Args:
        name: the call's name.
        out_dir: where its outputs go.
        sources: files the outputs are made from (calls.yml, this script).

    Returns:
        True if the call need not be generated again.
    """
    paths = outputs(name, out_dir)
    if not all(path.exists() for path in paths):
        return False
    newest_source = max(source.stat().st_mtime for source in sources)
    return min(path.stat().st_mtime for path in paths) > newest_source


def write_sample(call: dict[str, Any], out_dir: Path) -> float:
    """Synthesises a call and writes its WAV file and turns file.

    Args:
        call: a checked call.
        out_dir: the folder for `<name>.wav` and `<name>.turns.json` (created if needed).

    Returns:
        The duration of the call in seconds.
    """
    pcm, turns = render(call)
    wav_path, turns_path = outputs(call["name"], out_dir)
    write_wav(wav_path, pcm)
    duration = round(seconds(pcm), 3)
    summary = {
        "name": call["name"],
        "description": call["description"],
        "sample_rate": SAMPLE_RATE,
        "duration": duration,
        "turns": turns,
    }
    # Written last: a turns file newer than the sources means the call is complete.
    turns_path.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", "utf-8")
    return duration


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--only", action="append", metavar="NAME", help="only this call (repeatable)"
    )
    parser.add_argument("--force", action="store_true", help="regenerate up-to-date calls")
    return parser.parse_args(argv)


def select(calls: list[dict[str, Any]], only: list[str] | None) -> list[dict[str, Any]]:
    """The calls named by --only, or all of them.

    Raises:
        SampleError: if --only names a call that calls.yml does not have.
    """
    if not only:
        return calls
    known = {call["name"] for call in calls}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise SampleError(f"unknown call {', '.join(unknown)}; calls.yml has {sorted(known)}")
    return [call for call in calls if call["name"] in only]


def main(argv: list[str] | None = None) -> int:
    """Generates the samples that are missing or out of date.

    Args:
        argv: command line arguments (default: sys.argv[1:]).

    Returns:
        The exit status: 0 on success, 1 without espeak-ng or on a bad calls.yml.
    """
    args = parse_args(argv)
    try:
        calls = select(load_calls(CALLS_FILE), args.only)
        if any(call["voice"] != PICO for call in calls) and shutil.which(ESPEAK) is None:
            print(
                f"{ESPEAK} not found on PATH: install it (apt-get install espeak-ng) and run "
                "again.",
                file=sys.stderr,
            )
            return 1
        sources = [CALLS_FILE, Path(__file__).resolve()]
        for call in calls:
            if not args.force and is_fresh(call["name"], args.out, sources):
                continue  # silent: `make run` and `make test` call this every time
            duration = write_sample(call, args.out)
            print(f"{call['name']}: {duration:.1f} s -> {outputs(call['name'], args.out)[0]}")
    except SampleError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
