"""The voice commands of the CLI: `call` (replay a recorded caller) and `talk` (live call).

Messages are in Spanish: trainers and QA use these commands.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.audio.devices import NoAudioDeviceError, check_devices
from bot.audio.errors import ModelMissingError
from bot.audio.pcm import AudioFormatError
from bot.audio.pyttsx3 import VoiceNotFoundError
from bot.cli.call_replay import AssistantNotRunningError, ReplayRequest, check_assistant, replay
from bot.cli.talk import describe_handoff, talk
from bot.pipeline.engines import make_recognizer
from bot.settings import Settings, SettingsError, VoiceSettings

EXPECTED_ERRORS = (
    AudioFormatError,
    AssistantNotRunningError,
    ModelMissingError,
    NoAudioDeviceError,
    SettingsError,
    VoiceNotFoundError,
)

END_REASONS = {
    "caller_done": "ha colgado",
    "silence": "no se le oía",
    "handoff": "pasa a una persona",
    "error": "fallo técnico",
}


def add_voice_commands(commands: Any) -> None:
    """Adds `call` and `talk` to the CLI's subcommands."""
    call = commands.add_parser("call", help="replay a recorded caller (WAV) as a live call")
    call.add_argument("recording", type=Path, help="the caller's WAV file")
    call.add_argument("--out", type=Path, required=True, help="folder for the results")
    call.add_argument("--fast", action="store_true", help="as fast as possible, not real time")
    call.add_argument(
        "--transcript",
        type=Path,
        help="use the recording's known transcript (*.turns.json) instead of speech recognition",
    )
    call.add_argument("--caller-number", help="the caller's number, sent as call metadata")
    talk_parser = commands.add_parser("talk", help="a live call with the microphone and speaker")
    talk_parser.add_argument("--transcript", type=Path, help=argparse.SUPPRESS)


def run_voice_command(args: argparse.Namespace, settings: Settings, voice: VoiceSettings) -> int:
    """Runs `call` or `talk`; expected problems end with one clear message and a non-zero code."""
    try:
        if args.command == "talk":
            check_devices()
        elif not args.recording.is_file():
            raise AudioFormatError(f"No encuentro el fichero {args.recording}.")
        recognizer = make_recognizer(voice, args.transcript)
        check_assistant(settings)
        if args.command == "talk":
            reason = asyncio.run(talk(settings, voice, recognizer))
            print(f"Llamada terminada: {END_REASONS.get(reason, reason)}.")
            return 0
        request = ReplayRequest(args.recording, args.out, args.fast, args.caller_number)
        print_summary(asyncio.run(replay(request, settings, voice, recognizer)), args.out)
        return 0
    except EXPECTED_ERRORS as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nLlamada colgada.")
        return 130


def print_summary(transcript: dict[str, Any], out: Path) -> None:
    """The call as a short dialogue with each turn's response time."""
    for turn in transcript["turns"]:
        latency = turn["timings"]["latency_ms"]["speech_end_to_first_audio"]
        print(f"Llamante:  {turn['caller']['text']}")
        for text in turn["bot"]:
            print(f"Asistente: {text}")
        if latency is not None:
            print(f"           (respuesta {latency:.0f} ms después de que el llamante callara)")
    if transcript["handoff"]:
        print(describe_handoff(transcript["handoff"]))
    print(f"\nTranscripción: {out / 'transcript.json'}")
    print(f"Audio:         {out / 'call.wav'} (izquierda: llamante; derecha: asistente)")
