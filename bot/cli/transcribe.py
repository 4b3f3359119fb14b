"""`python -m bot transcribe FILE.wav [--engine auto|vosk|whisper] [--json]`: the recogniser
alone, for QA and trainers: what a call would have understood of a recording.

The file is cut into turns by the call's own VAD and each turn is recognised as in a call.
With `--json` the last line printed is one JSON object: the text, the words with their times,
the engine and the model. Messages are in Spanish: trainers use this command.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from bot.audio.errors import ModelMissingError
from bot.audio.pcm import AudioFormatError, read_wav
from bot.frames import TranscriptFrame
from bot.pipeline.engines import make_recognizer
from bot.pipeline.recording import recognize_recording
from bot.settings import STT_ENGINES, SettingsError, VoiceSettings


def add_transcribe_command(commands: Any) -> None:
    """Adds `transcribe` to the CLI's subcommands."""
    command = commands.add_parser("transcribe", help="what the speech recogniser hears in a WAV")
    command.add_argument("recording", type=Path, help="the WAV file (8-48 kHz, mono or stereo)")
    command.add_argument(
        "--engine", choices=STT_ENGINES, help="recogniser (default: BOT_STT_ENGINE or auto)"
    )
    command.add_argument("--json", action="store_true", help="end with one JSON line")


def run_transcribe_command(args: argparse.Namespace, voice: VoiceSettings) -> int:
    """Prints each turn heard in the recording; expected problems give one Spanish message."""
    try:
        if args.engine:
            voice = dataclasses.replace(voice, stt_engine=args.engine)
        pcm = read_wav(args.recording)
        recognizer = make_recognizer(voice)
        turns = asyncio.run(recognize_recording(pcm, recognizer, voice))
    except (AudioFormatError, ModelMissingError, SettingsError) as error:
        print(error, file=sys.stderr)
        return 1
    for turn in turns:
        print(f"[{turn.speech_start:6.2f} – {turn.speech_end:6.2f}] {turn.text}")
    if not turns:
        print("No se ha reconocido ninguna frase en la grabación.")
    if args.json:
        engine = recognizer.name
        model = getattr(recognizer, "model", None) or _model_name(voice, engine)
        print(json.dumps(summary(turns, engine, model), ensure_ascii=False))
    return 0


def summary(turns: list[TranscriptFrame], engine: str, model: str) -> dict[str, Any]:
    """The recording's words as one JSON object (times in seconds from its start)."""
    return {
        "text": " ".join(turn.text for turn in turns),
        "words": [
            {
                "word": word.word,
                "start": round(word.start, 3),
                "end": round(word.end, 3),
                "confidence": round(word.confidence, 3),
            }
            for turn in turns
            for word in turn.words
        ],
        "turns": [
            {
                "text": turn.text,
                "start": round(turn.speech_start, 3),
                "end": round(turn.speech_end, 3),
            }
            for turn in turns
        ],
        "engine": engine,
        "model": model,
    }


def _model_name(voice: VoiceSettings, engine: str) -> str:
    return (voice.vosk_model if engine == "vosk" else voice.whisper_model).name
