"""Spanish speech both ways (issue 16): how well Whisper hears real and synthetic Spanish, what
each encoder window costs, what it invents on noise, and how well the assistant understands
sentences it only heard.

- Real voices: the Spanish prompts of Debian's asterisk-core-sounds-es (human recordings, 8 kHz,
  with their texts), as a browser call carries them (16 kHz) and through a phone line (8 kHz
  μ-law and back).
- The bot's own fixed prompts in the chosen voice (Pico) and in espeak-ng, recognised back.
- Noise, silence, breathing and hold music through the call's own VAD and recogniser.
- The held-out NLU sentences spoken by Pico, recognised, and read by the running Rasa server.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import replace
from typing import Any

import requests

from bench.stats import summary
from bot.audio.pyttsx3 import Pyttsx3Synthesizer
from bot.audio.recognition import Recognizer
from bot.audio.whisper import WhisperEngine, load_engine
from bot.nlu.data import NluFile
from bot.pipeline.engines import make_recognizer, make_synthesizer, whisper_options
from bot.pipeline.prompts import FIXED_PROMPTS
from bot.pipeline.recording import recognize_recording
from bot.pipeline.spoken import for_speech
from bot.settings import PROJECT_ROOT, VoiceSettings
from bot.training.spoken import SpokenCorpus
from tests.helpers.non_speech import GENERATORS
from tests.helpers.spanish_speech import (
    Prompt,
    asterisk_prompts,
    through_phone,
    word_error_rate,
)

HOLDOUT = PROJECT_ROOT / "tests" / "nlu" / "holdout.yml"
NON_SPEECH_S = (1.0, 3.0, 8.0)
NON_SPEECH_SEEDS = (0, 1, 2)
# (window s, beam): the window's price and accuracy, and greedy decoding at the default window
SWEEP = ((6.0, 5), (8.0, 5), (10.0, 5), (30.0, 5), (8.0, 1))


def spread(prompts: list[Prompt], count: int | None) -> list[Prompt]:
    """`count` prompts spread evenly over the sorted list (all of them for None)."""
    if count is None or count >= len(prompts):
        return prompts
    step = len(prompts) / count
    return [prompts[int(i * step)] for i in range(count)]


def _engine(voice: VoiceSettings, **changes: Any) -> WhisperEngine:
    engine = load_engine(replace(whisper_options(voice), **changes))
    engine.warm_up()
    return engine


def recognition(
    engine: WhisperEngine, prompts: list[Prompt], phone: bool = False
) -> dict[str, Any]:
    """Word error rate of the engine on `prompts`, and the time of each decode."""
    heard, seconds = [], []
    for prompt in prompts:
        pcm = through_phone(prompt.pcm()) if phone else prompt.pcm()
        transcription = engine.transcribe(pcm)
        heard.append(transcription.recognition.text)
        seconds.append(transcription.seconds * 1000)
    return {
        "prompts": len(prompts),
        "wer": round(word_error_rate([p.text for p in prompts], heard), 4),
        "decode_ms": summary(seconds),
        "audio_s_mean": round(statistics.mean(len(p.pcm()) / 32000 for p in prompts), 2),
    }


def window_sweep(voice: VoiceSettings, prompts: list[Prompt]) -> list[dict[str, Any]]:
    """The encoder window's and the beam's price and accuracy: the same prompts each time."""
    found = []
    for window, beam in SWEEP:
        result = recognition(_engine(voice, window_s=window, beam=beam), prompts)
        found.append({"window_s": window, "beam": beam, **result})
    return found


def bot_prompts(voice: VoiceSettings, engine: WhisperEngine) -> dict[str, Any]:
    """Whisper's word error rate on the bot's fixed prompts in the chosen voice and in espeak."""
    texts = [for_speech(text) for text in FIXED_PROMPTS]
    found: dict[str, Any] = {"prompts": len(texts)}
    voices = {"chosen": make_synthesizer(voice), "espeak-ng": Pyttsx3Synthesizer(voice.tts_voice)}
    for name, synthesizer in voices.items():
        heard = [engine.transcribe(synthesizer.synthesize(text)).recognition.text for text in texts]
        found[name] = {
            "engine": synthesizer.cache_key.split("|")[0],
            "wer": round(word_error_rate(texts, heard), 4),
        }
    return found


def non_speech(voice: VoiceSettings, seeds: tuple[int, ...]) -> dict[str, Any]:
    """Turns of noise, silence, breath and music found by the VAD, and how many became text."""
    recognizer: Recognizer = make_recognizer(replace(voice, stt_engine="whisper"))
    found: dict[str, Any] = {}
    for name, generate in GENERATORS.items():
        sounds = [generate(s, seed) for s in NON_SPEECH_S for seed in seeds]
        pcm = b"".join(sound + bytes(32000) for sound in sounds)
        turns = asyncio.run(recognize_recording(pcm, recognizer, voice))
        found[name] = {
            "sounds": len(sounds),
            "audio_s": round(len(pcm) / 32000, 1),
            "became_text": len(turns),
            "texts": [turn.text for turn in turns],
        }
    found["total_became_text"] = sum(v["became_text"] for v in found.values())
    return found


def spoken_intents(
    voice: VoiceSettings, rasa_url: str, token: str, count: int | None
) -> dict[str, Any]:
    """Intent accuracy of the held-out sentences typed, and spoken by Pico then recognised (as
    `python -m bot nlu report --spoken` hears them, sharing its cache), read by the running
    Rasa server."""
    examples, _ = NluFile(HOLDOUT, "tests/nlu/holdout.yml").scan()
    if count is not None and count < len(examples):
        examples = [examples[int(i * len(examples) / count)] for i in range(count)]
    heard_all = SpokenCorpus("pico", voice).hear([example.plain for example in examples])
    typed = spoken = 0
    misheard: list[dict[str, str]] = []
    for example, heard in zip(examples, heard_all, strict=True):
        text = example.plain
        typed += _intent(rasa_url, token, text) == example.intent
        intent = _intent(rasa_url, token, heard) if heard else ""
        spoken += intent == example.intent
        if intent != example.intent and len(misheard) < 15:
            misheard.append({"said": text, "heard": heard, "intent": example.intent, "got": intent})
    return {
        "sentences": len(examples),
        "typed_accuracy": round(typed / len(examples), 4),
        "spoken_accuracy": round(spoken / len(examples), 4),
        "misunderstood_examples": misheard,
    }


def _intent(rasa_url: str, token: str, text: str) -> str:
    reply = requests.post(
        f"{rasa_url}/model/parse", params={"token": token}, json={"text": text}, timeout=30
    )
    reply.raise_for_status()
    return str(reply.json()["intent"]["name"])


def engines_alone(voice: VoiceSettings, quick: bool) -> dict[str, Any]:
    """Everything that needs no running system, in the benchmark's own process."""
    prompts = asterisk_prompts()
    measured = spread(prompts, 8 if quick else 120)
    engine = _engine(voice)
    started = time.perf_counter()
    found: dict[str, Any] = {
        "model": engine.model_name,
        "options": {
            "beam": voice.whisper_beam,
            "window_s": voice.whisper_window_s,
            "threads": voice.whisper_threads or "all",
        },
        "real_voices_16k": recognition(engine, measured),
        "real_voices_phone": recognition(engine, measured, phone=True),
        "bot_prompts": bot_prompts(voice, engine),
        "non_speech": non_speech(voice, NON_SPEECH_SEEDS[:1] if quick else NON_SPEECH_SEEDS),
        "window_sweep": window_sweep(voice, spread(prompts, 2 if quick else 40)),
    }
    found["seconds"] = round(time.perf_counter() - started, 1)
    return found
