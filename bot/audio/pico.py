"""SVOX Pico (the `py-nanotts` wheel) behind the Synthesizer protocol: the bot's natural voice.

Pico's es-ES voice is a small unit-selection-like voice from a phone maker; callers understand
it far better than espeak-ng's formant voice (Whisper's word error rate on our own bot lines:
espeak-ng 48 %, Pico 8 %). It speaks 16 kHz mono PCM, the pipeline's own format, so nothing is
resampled. Each `speak()` sets up and tears down its own engine: calls share nothing.

Pico reads a few markup tags in its input (`<speed level=…>`, `<pitch level=…>`); text from the
dialogue can hold a customer's words, so angle brackets are taken out before it is spoken.
"""

from __future__ import annotations

import re

import numpy as np

VOICE = "es-ES"
# Pico's own level clips about 1 % of its samples (audible crackle); 0.7 clips none and is still
# loud on a phone line (about -14 dBFS RMS).
NORMAL_VOLUME = 0.7
_MARKUP = re.compile(r"[<>]")
MAX_CHARS = 2000  # one sentence of a reply; longer text is cut rather than spoken for minutes
# Pico ends each sentence with ~0.45 s of silence; sentences are played back to back, so a
# shorter breath between them sounds natural and the caller's turn comes sooner.
TAIL_S = 0.15
QUIET = 64  # |sample| at or below this is silence (-54 dBFS)


class SynthesisError(RuntimeError):
    """Pico could not synthesise a sentence."""


class PicoSynthesizer:
    """Spanish (Spain) speech with SVOX Pico.

    Args:
        speed: speaking rate, 1.0 the voice's normal pace.
        pitch: pitch, 1.0 the voice's own.
        volume: loudness, 1.0 the normal level (NORMAL_VOLUME of Pico's own).
    """

    def __init__(self, speed: float = 1.0, pitch: float = 1.0, volume: float = 1.0) -> None:
        from py_nanotts import NanoTTS

        self._tts = NanoTTS()
        self._speed, self._pitch, self._volume = speed, pitch, volume * NORMAL_VOLUME
        self.cache_key = f"pico|{VOICE}|{speed:g}|{pitch:g}|{volume:g}"

    def synthesize(self, text: str) -> bytes:
        text = " ".join(_MARKUP.sub(" ", text).split())[:MAX_CHARS]
        if not text:  # only markup: a breath of silence, never a failed reply
            return bytes(int(TAIL_S * 16000) * 2)
        try:
            pcm = self._tts.speak(
                text, voice=VOICE, speed=self._speed, pitch=self._pitch, volume=self._volume
            )
        except (RuntimeError, ValueError) as error:
            raise SynthesisError(f"Pico failed: {error}") from error
        if not pcm:
            raise SynthesisError("Pico returned no audio")
        return _short_tail(bytes(pcm[: len(pcm) // 2 * 2]))


def _short_tail(pcm: bytes) -> bytes:
    """The audio with its trailing silence cut to TAIL_S."""
    loud = np.flatnonzero(np.abs(np.frombuffer(pcm, "<i2").astype(np.int32)) > QUIET)
    if loud.size == 0:
        return pcm
    end = min(len(pcm) // 2, int(loud[-1]) + 1 + int(TAIL_S * 16000))
    return pcm[: 2 * end]
