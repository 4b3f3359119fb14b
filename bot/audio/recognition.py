"""What a recogniser is: the protocol every speech-to-text engine adapter implements (Vosk, Whisper,
a known transcript), and the results it gives for one utterance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class RecognizedWord:
    """A word with times in seconds from the start of the audio fed for its utterance."""

    word: str
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class Recognition:
    """A recogniser's final result for one utterance."""

    text: str
    words: tuple[RecognizedWord, ...] = ()


class Recognizer(Protocol):
    """Streaming recognition for one call; blocking calls, run off the event loop."""

    name: str

    def start(self, at: float) -> None:
        """A new utterance begins; its audio starts at `at` on the call's timeline."""

    def accept(self, pcm: bytes) -> str:
        """Feeds audio; returns the words heard so far in this utterance."""

    def finish(self) -> Recognition:
        """Ends the utterance and returns its final result."""

    def warm_up(self) -> None:
        """Gets ready before the caller's first words (a fresh Kaldi decoder spends about a
        second on its first utterance); leaves the recogniser as it was."""

    def pause(self, paused: bool) -> None:
        """The caller has been silent for a moment within the utterance (True: the pipeline's
        PAUSE_S), or speaks again (False). A streaming recogniser ignores it; one that decodes
        whole utterances may start on what it has, and report the words from `accept` once it
        knows them."""
