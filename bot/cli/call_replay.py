"""`python -m bot call CALLER.wav --out DIR`: a recorded caller replayed into the real pipeline.

The recording plays as a live caller would (in real time, or as fast as possible with `--fast`)
against the running Rasa server. DIR receives `transcript.json` (turns, words, replies,
handoff, timings) and `call.wav` (stereo: caller left, bot right, as the call sounded).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

from bot.assistant.client import AssistantClient
from bot.audio.pcm import chunks, interleave, read_wav, write_wav
from bot.audio.recognition import Recognizer
from bot.audio.timeline_output import TimelineOutput
from bot.clock import Clock, MediaClock, WallClock
from bot.frames import AudioFrame
from bot.pipeline.call import Call
from bot.pipeline.call_log import CallLog
from bot.pipeline.dialogue import AssistantDialogue
from bot.pipeline.engines import build_engines
from bot.settings import Settings, VoiceSettings


class AssistantNotRunningError(RuntimeError):
    """The Rasa server does not answer; the message says how to start it."""


@dataclass(frozen=True)
class ReplayRequest:
    """What to replay and how.

    Attributes:
        recording: the caller's WAV file.
        out: folder for transcript.json and call.wav.
        fast: replay as fast as possible instead of in real time.
        caller_number: the caller's number, if known (sent to the assistant as call metadata).
    """

    recording: Path
    out: Path
    fast: bool = False
    caller_number: str | None = None


def check_assistant(settings: Settings) -> None:
    """Raises AssistantNotRunningError unless the Rasa server's voice channel answers."""
    url = f"{settings.rasa_url}/webhooks/voice/"
    try:
        requests.get(url, timeout=3).raise_for_status()
    except requests.RequestException as error:
        raise AssistantNotRunningError(
            f"El asistente no responde en {settings.rasa_url}. Arránquelo en otra terminal con "
            "«make run» y repita la llamada cuando diga que está listo."
        ) from error


async def replay(
    request: ReplayRequest, settings: Settings, voice: VoiceSettings, recognizer: Recognizer
) -> dict[str, Any]:
    """Plays the recording as a call; writes and returns its transcript."""
    caller = read_wav(request.recording)
    clock: Clock = MediaClock() if request.fast else WallClock()
    assistant = AssistantClient.from_settings(settings)
    engines = await asyncio.to_thread(
        build_engines, voice, recognizer, AssistantDialogue(assistant)
    )
    output = TimelineOutput(clock)
    call_id = f"call-{uuid.uuid4().hex[:12]}"
    log = CallLog(_details(request, call_id, recognizer))
    metadata = {"channel": "voice", "call_id": call_id, "caller_number": request.caller_number}
    call = Call(engines, voice, output, clock, call_id, metadata, [log])
    try:
        await call.run(_frames(caller, voice.frame_ms))
    finally:
        engines.close()
        await assistant.close()
    transcript = log.as_dict()
    transcript["duration"] = round(len(call.caller_audio) / 32000, 3)
    _write(request.out, transcript, interleave(bytes(call.caller_audio), output.track()))
    return transcript


async def _frames(pcm: bytes, frame_ms: int) -> AsyncIterator[AudioFrame]:
    for index, chunk in enumerate(chunks(pcm, frame_ms)):
        yield AudioFrame(chunk, index * frame_ms / 1000)


def _details(request: ReplayRequest, call_id: str, recognizer: Recognizer) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "recording": str(request.recording),
        "mode": "fast" if request.fast else "realtime",
        "recognizer": recognizer.name,
        "model": getattr(recognizer, "model", None),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _write(out: Path, transcript: dict[str, Any], stereo: bytes) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(transcript, ensure_ascii=False, indent=2)
    (out / "transcript.json").write_text(text + "\n", encoding="utf-8")
    write_wav(out / "call.wav", stereo, channels=2)
