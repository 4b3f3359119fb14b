"""A scripted recogniser: the Nth real utterance of a call "says" the Nth line of a script.

For browser calls in tests, where the caller's audio is a WAV looped by Chromium's fake
microphone and no Spanish speech model can be installed: the audio, the VAD, the turns, the
assistant and the voice are real; only the words come from the script. Utterances shorter than
`min_speech_s` are noise and recognise as nothing. The call's transcript names the recogniser.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.audio.pcm import seconds
from bot.pipeline.known_transcript import read_transcript
from bot.pipeline.stt import Recognition, RecognizedWord


def read_script(path: Path) -> list[str]:
    """Lines of a `*.turns.json` transcript, or of a plain text file (one turn per line)."""
    if path.suffix == ".json":
        return [line.text for line in read_transcript(path)]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


class ScriptedRecognizer:
    """Gives each utterance the next line of the script; nothing once the script is done.

    Args:
        lines: what the caller says, turn by turn.
        min_speech_s: shorter utterances (a cough, a click) take no line.
    """

    name = "scripted"

    def __init__(self, lines: list[str], min_speech_s: float = 0.4) -> None:
        self._lines = list(lines)
        self._min_speech_s = min_speech_s
        self._heard = 0.0

    def start(self, at: float) -> None:
        self._heard = 0.0

    def accept(self, pcm: bytes) -> str:
        self._heard += seconds(pcm)
        return ""

    def finish(self) -> Recognition:
        if self._heard < self._min_speech_s or not self._lines:
            return Recognition("")
        tokens = re.findall(r"\w+", self._lines.pop(0).lower())
        step = self._heard / max(1, len(tokens))
        words = tuple(
            RecognizedWord(token, i * step, (i + 1) * step, 1.0) for i, token in enumerate(tokens)
        )
        return Recognition(" ".join(tokens), words)
