"""Sentences as the assistant gets them from a call: spoken by a synthetic voice, recognised by
the call's own recogniser, and cleaned as the call cleans them (numbers as digits).

Typed text has accents, capitals and punctuation; a call's text has none of them, and the
recogniser's slips besides ("sita" for "cita"). Trainers check that the assistant understands
both with `python -m bot nlu report --test FILE --spoken`.

Two voices: SVOX Pico (natural, the bot's own) and espeak-ng (robotic, for variety). What each
sentence became is cached in var/cache/spoken/, keyed by voice and recogniser, so a second
report costs seconds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.audio.pyttsx3 import Pyttsx3Synthesizer
from bot.audio.whisper import load_engine
from bot.pipeline.engines import make_synthesizer, whisper_options
from bot.pipeline.spoken import normalize_transcript
from bot.pipeline.tts import Synthesizer
from bot.settings import PROJECT_ROOT, VoiceSettings

logger = logging.getLogger(__name__)

VOICES = ("pico", "espeak-ng")
CACHE_DIR = PROJECT_ROOT / "var" / "cache" / "spoken"
SAVE_EVERY = 25


def synthesizer_for(name: str, voice: VoiceSettings) -> Synthesizer:
    if name == "pico":
        return make_synthesizer(replace(voice, tts_engine="pico"))
    if name == "espeak-ng":
        return Pyttsx3Synthesizer(voice.tts_voice)
    raise ValueError(f"unknown voice {name!r}: one of {', '.join(VOICES)}")


class SpokenCorpus:
    """Hears sentences in one voice through the configured Whisper model, with a cache.

    Args:
        voice_name: "pico" or "espeak-ng".
        voice: the call settings (which Whisper model, window and beam).
    """

    def __init__(self, voice_name: str, voice: VoiceSettings, cache_dir: Path = CACHE_DIR):
        self._voice_name = voice_name
        self._voice = voice
        options = whisper_options(voice)
        key = f"{voice_name}|{options.model}|{options.window_s}|{options.beam}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        self._cache_path = cache_dir / f"{voice_name}-{digest}.json"
        self._cache: dict[str, str] = {}
        if self._cache_path.is_file():
            self._cache = json.loads(self._cache_path.read_text(encoding="utf-8"))

    def hear(
        self, sentences: list[str], progress: Callable[[int], None] | None = None
    ) -> list[str]:
        """What the assistant would get for each sentence said on a call ("" when nothing)."""
        missing = [s for s in dict.fromkeys(sentences) if s not in self._cache]
        if missing:
            synthesizer = synthesizer_for(self._voice_name, self._voice)
            engine = load_engine(whisper_options(self._voice))
            for done, sentence in enumerate(missing, start=1):
                heard = engine.transcribe(synthesizer.synthesize(sentence)).recognition.text
                self._cache[sentence] = normalize_transcript(heard)
                if progress is not None:
                    progress(done)
                if done % SAVE_EVERY == 0:
                    self._save()  # a long run stopped halfway keeps what it heard
            self._save()
        return [self._cache[s] for s in sentences]

    def _save(self) -> None:
        self._cache_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._cache_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._cache, ensure_ascii=False), encoding="utf-8")
        temporary.replace(self._cache_path)
