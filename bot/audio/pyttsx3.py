"""pyttsx3 (over espeak-ng) behind the Synthesizer protocol.

pyttsx3 engines are not thread-safe and bind to the thread that made them: every method here must
run in one single-worker executor, which the TTS stage provides. The engine writes a 22.05 kHz WAV
file per sentence; it is read back and converted to the pipeline format.

Two quirks of pyttsx3 2.99's espeak driver are handled here. Its `runAndWait()` returns as soon
as espeak *starts* (espeak synthesises on its own thread), so we wait for the engine's
"finished-utterance" event, which comes after the file is written; on a busy machine the file is
otherwise not there yet. When espeak still counts as busy with the previous sentence, the driver
cancels the new one, so a missing or incomplete file is synthesised again. And the driver prints
"Audio saved to …" for every file, from espeak's thread.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

from bot.audio.pcm import AudioFormatError, read_wav

SYNTHESIS_TIMEOUT_S = 10.0
ATTEMPTS = 3


class SynthesisError(RuntimeError):
    """espeak-ng did not finish a sentence."""


class VoiceNotFoundError(RuntimeError):
    """The configured voice is not installed; the message lists the Spanish ones that are."""


class Pyttsx3Synthesizer:
    """Spanish speech synthesis with espeak-ng.

    Args:
        voice: an espeak-ng voice name or language, e.g. "es" (Spain) or "es-419".
        rate: words per minute.
    """

    def __init__(self, voice: str = "es", rate: int = 175) -> None:
        self._voice = voice
        self._rate = rate
        self._engine: Any = None
        self._finished = threading.Event()
        self._folder = tempfile.TemporaryDirectory(prefix="bot-tts-")
        self.cache_key = f"espeak-ng|{voice}|{rate}"

    def synthesize(self, text: str) -> bytes:
        engine = self._engine or self._start_engine()
        path = Path(self._folder.name) / "sentence.wav"
        for _ in range(ATTEMPTS):
            path.unlink(missing_ok=True)
            self._finished.clear()
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            if not self._finished.wait(SYNTHESIS_TIMEOUT_S):
                raise SynthesisError(f"espeak-ng did not finish within {SYNTHESIS_TIMEOUT_S} s")
            try:
                return read_wav(path)
            except AudioFormatError:
                continue  # the driver cancelled its own utterance: say it again
        raise SynthesisError(f"espeak-ng gave no complete audio in {ATTEMPTS} attempts")

    def _start_engine(self) -> Any:
        import pyttsx3
        import pyttsx3.drivers.espeak

        pyttsx3.drivers.espeak.print = lambda *_, **__: None  # type: ignore[attr-defined]
        engine = pyttsx3.init("espeak")
        engine.setProperty("voice", self._find_voice(engine))
        engine.setProperty("rate", self._rate)
        engine.connect("finished-utterance", lambda **_: self._finished.set())
        self._engine = engine
        return engine

    def _find_voice(self, engine: Any) -> str:
        voices = engine.getProperty("voices")
        for voice in voices:
            if voice.id == self._voice or voice.id.endswith(f"/{self._voice}"):
                return str(voice.id)
        names = (voice.id.split("/")[-1] for voice in voices)
        spanish = sorted(name for name in names if name.startswith("es"))
        raise VoiceNotFoundError(
            f"La voz «{self._voice}» no está instalada en espeak-ng. "
            f"Voces en español disponibles: {', '.join(spanish) or 'ninguna'} (BOT_TTS_VOICE)."
        )
