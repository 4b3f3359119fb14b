"""`python -m bot talk`: a live call with this machine's microphone and speaker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from bot.assistant.client import AssistantClient
from bot.audio.devices import NoAudioDeviceError, SpeakerOutput, check_devices, microphone
from bot.audio.recognition import Recognizer
from bot.clock import WallClock
from bot.frames import BotTextFrame, Frame, HandoffFrame, TranscriptFrame
from bot.handoff.models import reason_text
from bot.pipeline.call import Call
from bot.pipeline.dialogue import AssistantDialogue
from bot.pipeline.engines import build_engines
from bot.settings import Settings, VoiceSettings


def show(frame: Frame) -> None:
    """Prints the conversation as it happens."""
    if isinstance(frame, TranscriptFrame) and frame.final and frame.text:
        print(f"  Usted:      {frame.text}", flush=True)
    elif isinstance(frame, BotTextFrame):
        print(f"  Asistente:  {frame.text}", flush=True)
    elif isinstance(frame, HandoffFrame):
        print(f"  ({describe_handoff(frame.handoff)})", flush=True)


def describe_handoff(handoff: dict[str, Any]) -> str:
    """'Pasa a una persona (lo pidió el cliente): Pide hablar con una persona; …'."""
    reason = reason_text(handoff.get("reason", "")).lower()
    return f"Pasa a una persona ({reason}): {handoff.get('summary', '')}".rstrip(": ")


async def talk(settings: Settings, voice: VoiceSettings, recognizer: Recognizer) -> str:
    """Holds one conversation; returns why it ended. Raises NoAudioDeviceError without audio."""
    check_devices()
    assistant = AssistantClient.from_settings(settings)
    engines = await asyncio.to_thread(
        build_engines, voice, recognizer, AssistantDialogue(assistant)
    )
    clock = WallClock()
    try:
        speaker = SpeakerOutput(clock)
    except NoAudioDeviceError:
        engines.close()
        await assistant.close()
        raise
    call_id = f"talk-{uuid.uuid4().hex[:12]}"
    metadata = {"channel": "voice", "call_id": call_id}
    call = Call(engines, voice, speaker, clock, call_id, metadata, [show], keep_caller_audio=False)
    print("Hable cuando quiera; Ctrl-C cuelga.")
    print("Mejor con auriculares: así el asistente no se oye a sí mismo.", flush=True)
    try:
        return await call.run(microphone(clock, voice.frame_ms))
    finally:
        speaker.close()
        engines.close()
        await assistant.close()
