"""Builds a call's engines in one place: the recogniser (Whisper, Vosk or a known transcript),
webrtcvad and the voice (Pico or pyttsx3) around the given dialogue, with the executors that
keep blocking engines off the event loop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.audio.model_download import looks_like_vosk_model
from bot.audio.pico import PicoSynthesizer
from bot.audio.pyttsx3 import Pyttsx3Synthesizer
from bot.audio.recognition import Recognizer
from bot.audio.vosk import VoskRecognizer, load_model
from bot.audio.whisper import WhisperOptions, WhisperRecognizer, load_engine
from bot.audio.whisper_model import looks_like_whisper_model
from bot.pipeline.call import CallEngines
from bot.pipeline.dialogue import DialogueClient
from bot.pipeline.known_transcript import KnownTranscriptRecognizer, read_transcript
from bot.pipeline.prompts import FIXED_PROMPTS
from bot.pipeline.tts import PromptCache, Synthesizer
from bot.pipeline.vad import WebrtcSpeechDetector
from bot.settings import VoiceSettings


def stt_engine(voice: VoiceSettings) -> str:
    """The recogniser calls use: "vosk" or "whisper" (`auto`: a Vosk model when one is
    installed, since it streams partial words for the early end of turn; else Whisper)."""
    if voice.stt_engine != "auto":
        return voice.stt_engine
    return "vosk" if looks_like_vosk_model(voice.vosk_model) else "whisper"


def speech_model_available(voice: VoiceSettings) -> bool:
    """Whether the chosen recogniser's model is installed (calls cannot be understood without)."""
    if stt_engine(voice) == "vosk":
        return looks_like_vosk_model(voice.vosk_model)
    return looks_like_whisper_model(voice.whisper_model)


def whisper_options(voice: VoiceSettings) -> WhisperOptions:
    return WhisperOptions(
        voice.whisper_model, voice.whisper_beam, voice.whisper_threads, voice.whisper_window_s
    )


def make_recognizer(voice: VoiceSettings, transcript: Path | None = None) -> Recognizer:
    """The chosen recogniser with its model, or the known transcript of a recording when given.

    Raises ModelMissingError (with what to do, in Spanish) when the model is missing.
    """
    if transcript is not None:
        return KnownTranscriptRecognizer(read_transcript(transcript))
    if stt_engine(voice) == "vosk":
        return VoskRecognizer(load_model(voice.vosk_model))
    return WhisperRecognizer(load_engine(whisper_options(voice)))


def make_synthesizer(voice: VoiceSettings) -> Synthesizer:
    """The bot's voice: Pico (natural es-ES) or pyttsx3 (espeak-ng here, the system's voices on
    Windows and macOS), at the configured speed and pitch."""
    if voice.tts_engine == "pico":
        return PicoSynthesizer(voice.tts_speed, voice.tts_pitch)
    return Pyttsx3Synthesizer(voice.tts_voice, voice.tts_speed, voice.tts_pitch)


def build_engines(
    voice: VoiceSettings,
    recognizer: Recognizer,
    dialogue: DialogueClient,
) -> CallEngines:
    """The engines of one call; the fixed prompts are rendered (or loaded) before it starts."""
    synthesizer = make_synthesizer(voice)
    tts_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tts")
    prompts = PromptCache(voice.prompts_dir, synthesizer)
    tts_executor.submit(prompts.prepare, FIXED_PROMPTS).result()
    # loads espeak-ng and the voice now rather than during the caller's first turn
    tts_executor.submit(synthesizer.synthesize, "Hola.").result()
    return CallEngines(
        detector=WebrtcSpeechDetector(voice.vad_aggressiveness),
        recognizer=recognizer,
        synthesizer=synthesizer,
        dialogue=dialogue,
        stt_executor=ThreadPoolExecutor(max_workers=1, thread_name_prefix="stt"),
        tts_executor=tts_executor,
        prompts=prompts,
    )
