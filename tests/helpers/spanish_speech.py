"""Real and natural Spanish speech for the recognisers' tests and benchmarks.

- Real human voices: the Spanish prompts of Debian's `asterisk-core-sounds-es-wav` (recorded by
  Allison Smith, CC BY-SA 3.0), 8 kHz like every phone line, with their texts from
  `asterisk-core-sounds-es` (`core-sounds-es.txt`). Both packages are installed by the set-up.
- A natural synthetic voice: SVOX Pico's es-ES (the bot's own voice, here playing a caller).

Word error rates compare words the way a listener would: no case, accents or punctuation, and
numbers as digits on both sides ("marque uno" and "marque 1" are the same words).
"""

from __future__ import annotations

import gzip
import re
import wave
from dataclasses import dataclass
from pathlib import Path

import jiwer
from text_to_num import alpha2digit

from bot.audio.g711 import PhoneToPipeline, PipelineToPhone, linear_to_ulaw, ulaw_to_linear
from bot.audio.hallucinations import plain
from bot.audio.pcm import to_pipeline

SOUNDS = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
TEXTS = Path("/usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt.gz")
MIN_WORDS = 2  # single words ("uno", "agosto") say little about recognising speech


@dataclass(frozen=True)
class Prompt:
    """One recorded prompt: its name (the file under SOUNDS without .wav) and its text."""

    name: str
    text: str

    def pcm8k(self) -> bytes:
        with wave.open(str(SOUNDS / f"{self.name}.wav")) as wav:
            return wav.readframes(wav.getnframes())

    def pcm(self) -> bytes:
        """The recording in the pipeline's format (16 kHz), as a browser call would carry it."""
        return to_pipeline(self.pcm8k(), 8000)


def asterisk_prompts() -> list[Prompt]:
    """Every Spanish prompt with a recording and a text of at least MIN_WORDS words, sorted.

    Texts in brackets ("[tono simple]") describe sounds, not words: those are left out.
    """
    prompts = []
    with gzip.open(TEXTS, "rt", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            name, sep, text = line.partition(":")
            name, text = name.strip(), text.strip()
            if not sep or line.startswith(";") or "[" in text or len(text.split()) < MIN_WORDS:
                continue
            if (SOUNDS / f"{name}.wav").is_file():
                prompts.append(Prompt(name, text))
    return sorted(prompts, key=lambda prompt: prompt.name)


def through_phone(pcm: bytes) -> bytes:
    """16 kHz audio as it reaches the pipeline from a phone: 8 kHz μ-law and back."""
    ulaw = linear_to_ulaw(PipelineToPhone().to_linear(pcm))
    return PhoneToPipeline().from_linear(ulaw_to_linear(ulaw))


def pico_speech(text: str) -> bytes:
    """`text` said by SVOX Pico's es-ES voice (16 kHz), with a little silence around it."""
    from py_nanotts import NanoTTS

    pcm = NanoTTS().speak(text, voice="es-ES")
    return bytes(3200) + pcm[: len(pcm) // 2 * 2] + bytes(3200)


def comparable(text: str) -> str:
    """Words as compared for the word error rate."""
    digits = alpha2digit(plain(text), "es")
    return " ".join(re.sub(r"(?<=\d) (?=\d)", "", digits).split())


def word_error_rate(references: list[str], hypotheses: list[str]) -> float:
    """The corpus word error rate of `hypotheses` against `references` (0.0 is perfect)."""
    return float(
        jiwer.wer([comparable(r) for r in references], [comparable(h) or "∅" for h in hypotheses])
    )
