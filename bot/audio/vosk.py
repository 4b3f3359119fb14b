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

from bot.audio.errors import ModelMissingError
from bot.audio.model_download import looks_like_vosk_model
from bot.audio.pcm import SAMPLE_RATE, seconds
from bot.audio.recognition import Recognition, RecognizedWord

WARM_UP_S = 0.5  # of silence, decoded once by each new recogniser before the caller speaks
_models: dict[Path, Any] = {}
_models_lock = threading.Lock()


def missing_model_message(path: Path) -> str:
    return (
        f"No encuentro el modelo de reconocimiento de voz en {path}.\n"
        "Para descargar el modelo español (vosk-model-small-es-0.42, unos 40 MB), ejecute "
        "«make models».\n"
        "O use Whisper, que la instalación ya incluye: BOT_STT_ENGINE=whisper.\n"
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

    def start(self, at: float) -> None:
        self._recognizer.Reset()
        self._utterance_clock = self._fed
        self._done = []

    def accept(self, pcm: bytes) -> str:
        self._fed += seconds(pcm)
        if self._recognizer.AcceptWaveform(pcm):
            self._done.append(json.loads(self._recognizer.Result()))
            return self._text(self._done)
        partial = json.loads(self._recognizer.PartialResult()).get("partial", "")
        return " ".join(filter(None, [self._text(self._done), partial]))

    def warm_up(self) -> None:
        self.start(0.0)
        self.accept(bytes(round(WARM_UP_S * SAMPLE_RATE) * 2))
        self.finish()

    def pause(self, paused: bool) -> None:
        pass  # Kaldi decodes as the audio comes: its partial words are already there

    def finish(self) -> Recognition:
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

    @staticmethod
    def _text(segments: list[dict[str, Any]]) -> str:
        return " ".join(filter(None, (segment.get("text", "") for segment in segments)))
