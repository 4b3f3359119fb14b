"""Builds a call's engines in one place: Vosk (or a known transcript), webrtcvad, pyttsx3 and
the Rasa `voice` channel, with the executors that keep blocking engines off the event loop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.audio.pyttsx3 import Pyttsx3Synthesizer
from bot.audio.vosk import VoskRecognizer, load_model
from bot.pipeline.call import CallEngines
from bot.pipeline.dialogue import DialogueClient, RasaDialogueClient
from bot.pipeline.known_transcript import KnownTranscriptRecognizer, read_transcript
from bot.pipeline.prompts import FIXED_PROMPTS
from bot.pipeline.stt import Recognizer
from bot.pipeline.tts import PromptCache
from bot.pipeline.vad import WebrtcSpeechDetector
from bot.rasa_client import RasaClient
from bot.settings import Settings, VoiceSettings


def make_recognizer(voice: VoiceSettings, transcript: Path | None = None) -> Recognizer:
    """Vosk with the configured model, or the known transcript of a recording when given.

    Raises ModelMissingError (with what to do, in Spanish) when the Vosk model is missing.
    """
    if transcript is not None:
        return KnownTranscriptRecognizer(read_transcript(transcript))
    return VoskRecognizer(load_model(voice.vosk_model))


def build_engines(
    settings: Settings,
    voice: VoiceSettings,
    recognizer: Recognizer,
    dialogue: DialogueClient | None = None,
) -> CallEngines:
    """The engines of one call; the fixed prompts are rendered (or loaded) before it starts."""
    synthesizer = Pyttsx3Synthesizer(voice.tts_voice, voice.tts_rate)
    tts_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")
    prompts = PromptCache(voice.prompts_dir, synthesizer)
    tts_executor.submit(prompts.prepare, FIXED_PROMPTS).result()
    # loads espeak-ng and the voice now rather than during the caller's first turn
    tts_executor.submit(synthesizer.synthesize, "Hola.").result()
    return CallEngines(
        detector=WebrtcSpeechDetector(voice.vad_aggressiveness),
        recognizer=recognizer,
        synthesizer=synthesizer,
        dialogue=dialogue or RasaDialogueClient(RasaClient.from_settings(settings, "voice")),
        stt_executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt"),
        tts_executor=tts_executor,
        prompts=prompts,
    )
