"""The voice commands fail clearly, in Spanish, without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.audio.devices import NoAudioDeviceError, check_devices
from bot.settings import PROJECT_ROOT


def bot(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=PROJECT_ROOT)


def has_audio_devices() -> bool:
    try:
        check_devices()
    except NoAudioDeviceError:
        return False
    return True


def test_talk_without_audio_devices_says_so_and_fails() -> None:
    if has_audio_devices():
        pytest.skip("this machine has a microphone and a speaker: the no-device path cannot run")
    done = bot("talk")
    assert done.returncode == 1
    assert "No encuentro micrófono y altavoz" in done.stderr
    assert "Traceback" not in done.stderr


def test_call_with_a_missing_recording(tmp_path: Path) -> None:
    done = bot("call", str(tmp_path / "nada.wav"), "--out", str(tmp_path / "out"))
    assert done.returncode == 1
    assert "No encuentro el fichero" in done.stderr and "Traceback" not in done.stderr


def test_call_needs_an_output_folder(tmp_path: Path) -> None:
    done = bot("call", str(tmp_path / "nada.wav"))
    assert done.returncode == 2 and "--out" in done.stderr
