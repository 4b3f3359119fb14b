"""pyttsx3 (over espeak-ng) behind the Synthesizer protocol.

pyttsx3 engines are not thread-safe and bind to the thread that made them: every method here must
run in one single-worker executor, which the TTS stage provides. The engine writes a 22.05 kHz WAV
file per sentence; it is read back and converted to the pipeline format.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from typing import Any

from bot.audio.pcm import read_wav


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
        self._folder = tempfile.TemporaryDirectory(prefix="bot-tts-")
        self.cache_key = f"espeak-ng|{voice}|{rate}"

    def synthesize(self, text: str) -> bytes:
        engine = self._engine or self._start_engine()
        path = Path(self._folder.name) / "sentence.wav"
        # pyttsx3's espeak driver prints "Audio saved to …" for every file it writes
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(text, str(path))
            engine.runAndWait()
        return read_wav(path)

    def _start_engine(self) -> Any:
        import pyttsx3

        engine = pyttsx3.init("espeak")
        engine.setProperty("voice", self._find_voice(engine))
        engine.setProperty("rate", self._rate)
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
