"""pyttsx3's espeak-ng binding behind the Synthesizer protocol.

We use pyttsx3's ctypes binding of espeak-ng (`pyttsx3.drivers._espeak`) in espeak's
*synchronous* mode rather than pyttsx3's Engine. The Engine's espeak driver (pyttsx3 2.99) runs
espeak asynchronously on espeak's own thread: `runAndWait()` returns before a sentence is
finished, and a new sentence started while espeak's thread is still busy can crash the whole
process (seen under load with a speech recogniser on the other core). Synchronous mode has no
thread of its own: `Synth` returns when the sentence is done, with every sample handed to our
callback in memory, no temporary files.

espeak-ng is one instance per process (it can be initialised once), so every synthesiser shares
it under a lock, and each sets its own voice and rate before speaking.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

from bot.audio.pcm import to_pipeline

_espeak_lock = threading.Lock()
_espeak_rate_hz = 0  # espeak's output sample rate, known once it is initialised
_samples: list[bytes] = []
NORMAL_RATE = 175  # words per minute
NORMAL_PITCH = 50


class VoiceNotFoundError(RuntimeError):
    """The configured voice is not installed; the message lists the Spanish ones that are."""


class SynthesisError(RuntimeError):
    """espeak-ng could not synthesise a sentence."""


def _collect(wav: Any, count: int, _events: Any) -> int:
    if count > 0:
        _samples.append(ctypes.string_at(wav, count * ctypes.sizeof(ctypes.c_short)))
    return 0  # carry on


def _espeak() -> Any:
    """pyttsx3's espeak binding, initialised once in synchronous mode (call under the lock)."""
    global _espeak_rate_hz
    from pyttsx3.drivers import _espeak as espeak
    from pyttsx3.drivers.espeak import EspeakDriver

    if not _espeak_rate_hz:
        _espeak_rate_hz = espeak.Initialize(espeak.AUDIO_OUTPUT_SYNCHRONOUS, 200)
        if _espeak_rate_hz <= 0:
            raise SynthesisError("espeak-ng could not be initialised")
        EspeakDriver._moduleInitialized = True  # pyttsx3's own driver must not re-initialise it
        espeak.SetSynthCallback(_collect)
    return espeak


class Pyttsx3Synthesizer:
    """Spanish speech synthesis with espeak-ng.

    Args:
        voice: an espeak-ng voice, e.g. "es" (Spain) or "es-419" (Latin America).
        speed: speaking rate, 1.0 espeak's normal 175 words per minute.
        pitch: pitch, 1.0 espeak's normal 50 (of 0-100).
    """

    def __init__(self, voice: str = "es", speed: float = 1.0, pitch: float = 1.0) -> None:
        self._voice = voice
        self._rate = round(NORMAL_RATE * speed)
        self._pitch = min(100, round(NORMAL_PITCH * pitch))
        self._voice_id: bytes | None = None
        self.cache_key = f"espeak-ng|{voice}|{self._rate}|{self._pitch}"

    def synthesize(self, text: str) -> bytes:
        with _espeak_lock:
            espeak = _espeak()
            self._voice_id = self._voice_id or self._find_voice(espeak)
            espeak.SetVoiceByName(self._voice_id)
            espeak.SetParameter(espeak.RATE, self._rate, 0)
            espeak.SetParameter(espeak.PITCH, self._pitch, 0)
            _samples.clear()
            status = espeak.Synth(text, flags=espeak.ENDPAUSE | espeak.CHARS_UTF8)
            data = b"".join(_samples)
        if status != espeak.EE_OK or not data:
            raise SynthesisError(f"espeak-ng returned {status} and {len(data)} bytes")
        return to_pipeline(data, _espeak_rate_hz)

    def _find_voice(self, espeak: Any) -> bytes:
        identifiers = [voice.identifier.decode() for voice in espeak.ListVoices(None)]
        for identifier in identifiers:
            if identifier == self._voice or identifier.endswith(f"/{self._voice}"):
                return identifier.encode()
        names = (identifier.split("/")[-1] for identifier in identifiers)
        spanish = sorted(name for name in names if name.startswith("es"))
        raise VoiceNotFoundError(
            f"La voz «{self._voice}» no está instalada en espeak-ng. "
            f"Voces en español disponibles: {', '.join(spanish) or 'ninguna'} (BOT_TTS_VOICE)."
        )
