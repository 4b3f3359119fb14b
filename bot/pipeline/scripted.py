"""A scripted recogniser: the Nth real utterance of a call "says" the Nth line of a script.

For browser calls in tests and benchmarks, where no Spanish speech model can be installed: the
audio, the VAD, the turns, the assistant and the voice are real; only the words come from the
script. Utterances shorter than `min_speech_s` are noise and recognise as nothing. The call's
transcript names the recogniser.

A script read from a `*.turns.json` transcript knows how long each line lasts, so its words
appear as partial results while the line is heard, as a streaming recogniser's would (and the
early end of turn works as with one). With a `decoder`, every piece of audio is also decoded by
a real recogniser whose words are thrown away: the call then costs what a real one costs (the
benchmarks' load with the Korean test model), while the dialogue gets Spanish words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.audio.pcm import seconds
from bot.audio.recognition import Recognition, RecognizedWord, Recognizer
from bot.pipeline.known_transcript import read_transcript
from bot.pipeline.stt import PRE_ROLL_S


@dataclass(frozen=True)
class ScriptLine:
    """What the caller says in one turn and, when known, how long saying it takes (s)."""

    text: str
    duration: float | None = None

    def words(self, heard: float) -> tuple[RecognizedWord, ...]:
        """The line's words spread evenly over `heard` seconds (its own length when known),
        after the pre-roll the STT stage feeds before the speech onset."""
        tokens = re.findall(r"\w+", self.text.lower())  # as a recogniser writes
        lead = PRE_ROLL_S if self.duration is not None else 0.0
        span = self.duration if self.duration is not None else heard
        step = span / max(1, len(tokens))
        return tuple(
            RecognizedWord(token, lead + i * step, lead + (i + 1) * step, 1.0)
            for i, token in enumerate(tokens)
        )


def read_script(path: Path) -> list[ScriptLine]:
    """Lines of a `*.turns.json` transcript (with their lengths), or of a plain text file (one
    turn per line)."""
    if path.suffix == ".json":
        return [ScriptLine(line.text, line.end - line.start) for line in read_transcript(path)]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ScriptLine(line.strip()) for line in lines if line.strip()]


class ScriptedRecognizer:
    """Gives each utterance the next line of the script; nothing once the script is done.

    Args:
        lines: what the caller says, turn by turn (text, or lines with their lengths).
        min_speech_s: shorter utterances (a cough, a click) take no line.
        decoder: a real recogniser fed the same audio, for its cost only.
    """

    def __init__(
        self,
        lines: list[ScriptLine] | list[str],
        min_speech_s: float = 0.4,
        decoder: Recognizer | None = None,
    ) -> None:
        self._lines = [ScriptLine(line) if isinstance(line, str) else line for line in lines]
        self._min_speech_s = min_speech_s
        self._decoder = decoder
        self._heard = 0.0
        self.name = "scripted" if decoder is None else f"scripted (decoded by {decoder.name})"

    def start(self, at: float) -> None:
        self._heard = 0.0
        if self._decoder is not None:
            self._decoder.start(at)

    def accept(self, pcm: bytes) -> str:
        self._heard += seconds(pcm)
        if self._decoder is not None:
            self._decoder.accept(pcm)
        if not self._lines or self._lines[0].duration is None:
            return ""
        words = self._lines[0].words(self._heard)
        return " ".join(w.word for w in words if w.end <= self._heard)

    def warm_up(self) -> None:
        if self._decoder is not None:
            self._decoder.warm_up()

    def pause(self, paused: bool) -> None:
        if self._decoder is not None:
            self._decoder.pause(paused)

    def finish(self) -> Recognition:
        if self._decoder is not None:
            self._decoder.finish()
        if self._heard < self._min_speech_s or not self._lines:
            return Recognition("")
        words = self._lines.pop(0).words(self._heard)
        return Recognition(" ".join(w.word for w in words), words)
