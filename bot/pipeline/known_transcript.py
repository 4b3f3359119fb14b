"""A recogniser that already knows what the caller says: the timed transcript of a recording.

It replays sample calls, and tests Spanish calls end to end, where no Spanish speech model is
installed. Everything else in the call is real: the VAD finds the turns in the audio, and each
turn's words are the transcript lines spoken during it. The call's transcript names it, so its
"recognition" is never mistaken for a model's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bot.audio.pcm import AudioFormatError, seconds
from bot.audio.recognition import Recognition, RecognizedWord

START_TOLERANCE_S = 0.5  # the VAD's onset may fall a little after the line's first sound


@dataclass(frozen=True)
class SpokenLine:
    """One line of the recording: its text and when it is spoken (seconds)."""

    text: str
    start: float
    end: float


def read_transcript(path: Path) -> list[SpokenLine]:
    """The `turns` of a `*.turns.json` file written by scripts/make_samples.py."""
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))["turns"]
        return [SpokenLine(t["text"], float(t["start"]), float(t["end"])) for t in turns]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise AudioFormatError(
            f"No puedo leer la transcripción {path}: hace falta un JSON con «turns» "
            f"(texto, inicio y fin de cada frase). Detalle: {error}"
        ) from error


class KnownTranscriptRecognizer:
    """Returns the lines spoken during each utterance, with evenly spread word times.

    Args:
        lines: the recording's timed transcript.
    """

    name = "known-transcript"

    def __init__(self, lines: list[SpokenLine]) -> None:
        self._lines = lines
        self._from = 0.0
        self._heard = 0.0

    def start(self, at: float) -> None:
        self._from, self._heard = at, 0.0

    def accept(self, pcm: bytes) -> str:
        self._heard += seconds(pcm)
        upto = self._from + self._heard
        return " ".join(w.word for w in self._words() if self._from + w.end <= upto)

    def warm_up(self) -> None:
        pass  # nothing to load

    def pause(self, paused: bool) -> None:
        pass  # the words are known as they are heard

    def finish(self) -> Recognition:
        words = self._words()
        return Recognition(" ".join(w.word for w in words), tuple(words))

    def _words(self) -> list[RecognizedWord]:
        until = self._from + self._heard
        words: list[RecognizedWord] = []
        for line in self._lines:
            # a line belongs to the utterance it starts in, even if a pause splits it in two
            if self._from - START_TOLERANCE_S <= line.start < until:
                words.extend(self._spread(line))
        return words

    def _spread(self, line: SpokenLine) -> list[RecognizedWord]:
        tokens = re.findall(r"\w+", line.text.lower())  # as a recogniser writes: no punctuation
        step = (line.end - line.start) / max(1, len(tokens))
        return [
            RecognizedWord(
                token,
                line.start + i * step - self._from,
                line.start + (i + 1) * step - self._from,
                1.0,
            )
            for i, token in enumerate(tokens)
        ]
