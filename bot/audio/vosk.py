"""Vosk behind the Recognizer protocol: one shared Model per process, one KaldiRecognizer per call.

Vosk's calls block (Kaldi decoding); the STT stage runs them in a thread pool. Word times come
back on the recogniser's own clock (seconds of audio fed since it was created, Reset or not), so
the adapter remembers where each utterance began on that clock.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from bot.audio.model_download import looks_like_vosk_model
from bot.audio.pcm import SAMPLE_RATE, seconds
from bot.pipeline.stt import Recognition, RecognizedWord

# Audio is decoded, and a partial result taken, every 100 ms rather than every 20 ms frame:
# fewer calls into Kaldi decode about a fifth faster with a large model, and 100 ms is fine
# for the early end of turn. The last piece is decoded at the end of the turn, so the final
# transcript waits for nothing.
DECODE_EVERY_S = 0.1

_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


class ModelMissingError(RuntimeError):
    """No usable Vosk model; the message says in Spanish what is missing and how to get it."""


def missing_model_message(path: Path) -> str:
    return (
        f"No encuentro el modelo de reconocimiento de voz en {path}.\n"
        "Para descargar el modelo español (vosk-model-small-es-0.42, unos 40 MB), ejecute "
        "«make models».\n"
        "Si ya tiene otro modelo de Vosk, indique su carpeta con BOT_VOSK_MODEL=/ruta/al/modelo.\n"
        "Para probar una llamada de ejemplo sin modelo, use su transcripción conocida: "
        "python -m bot call audio/samples/hours.wav --transcript audio/samples/hours.turns.json\n"
        "El chat de texto funciona igualmente sin este modelo."
    )


def load_model(path: Path) -> Any:
    """The Vosk model at `path`, loaded once per process and shared by every call."""
    path = path.resolve()
    if not looks_like_vosk_model(path):
        raise ModelMissingError(missing_model_message(path))
    with _models_lock:
        if path not in _models:
            import vosk

            vosk.SetLogLevel(-1)  # Kaldi logs every decoding step on stderr otherwise
            _models[path] = vosk.Model(str(path))
        return _models[path]


class VoskRecognizer:
    """Streaming recognition of one call, utterance by utterance.

    Args:
        model: a model from `load_model`.
    """

    name = "vosk"

    def __init__(self, model: Any) -> None:
        import vosk

        self._recognizer = vosk.KaldiRecognizer(model, SAMPLE_RATE)
        self._recognizer.SetWords(True)
        self._fed = 0.0  # seconds of audio fed since creation: the recogniser's clock
        self._utterance_clock = 0.0
        self._done: list[dict[str, Any]] = []  # segments Vosk closed on its own mid-utterance
        self._partial = ""
        self._buffer = bytearray()  # audio not decoded yet

    def start(self, at: float) -> None:
        self._buffer.clear()
        self._recognizer.Reset()
        self._utterance_clock = self._fed
        self._done, self._partial = [], ""

    def accept(self, pcm: bytes) -> str:
        self._buffer += pcm
        if seconds(self._buffer) >= DECODE_EVERY_S:
            self._decode()
            self._partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return " ".join(filter(None, [self._text(self._done), self._partial]))

    def finish(self) -> Recognition:
        self._decode()
        segments = [*self._done, json.loads(self._recognizer.FinalResult())]
        words = [
            RecognizedWord(
                item["word"],
                item["start"] - self._utterance_clock,
                item["end"] - self._utterance_clock,
                float(item.get("conf", 1.0)),
            )
            for segment in segments
            for item in segment.get("result", [])
        ]
        return Recognition(self._text(segments), tuple(words))

    def _decode(self) -> None:
        """Feeds the buffered audio; keeps any segment Vosk closes on its own."""
        if self._buffer:
            self._fed += seconds(self._buffer)
            if self._recognizer.AcceptWaveform(bytes(self._buffer)):
                self._done.append(json.loads(self._recognizer.Result()))
            self._buffer.clear()

    @staticmethod
    def _text(segments: list[dict[str, Any]]) -> str:
        return " ".join(filter(None, (segment.get("text", "") for segment in segments)))
