"""A gateway in this process for phone-line tests: the real app, lines, pipeline, VAD and voice,
with a FakeAssistant in place of Rasa and the scripted recogniser for the caller's words."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from bot.audio.pcm import read_wav
from bot.edge.context import Gateway
from bot.gateway.app import build_app
from bot.pipeline.known_transcript import read_transcript
from bot.settings import PROJECT_ROOT, TelephonySettings
from tests.helpers.gateway_fakes import FakeAssistant, make_gateway

SAMPLES = PROJECT_ROOT / "audio" / "samples"


def spoken_line(sample: str, index: int = 0) -> bytes:
    """The caller's `index`-th line of a sample call (audio/samples/<sample>.wav), as 16 kHz
    PCM with a little silence around it."""
    pcm = read_wav(SAMPLES / f"{sample}.wav")
    line = read_transcript(SAMPLES / f"{sample}.turns.json")[index]
    start = max(0, int((line.start - 0.2) * 16000)) * 2
    end = int((line.end + 0.1) * 16000) * 2
    return pcm[start:end]


@contextlib.asynccontextmanager
async def phone_gateway(
    tmp_path: Path,
    assistant: FakeAssistant,
    caller_lines: list[str],
    **telephony: Any,
) -> AsyncIterator[tuple[Gateway, str]]:
    """The gateway app on a free port; yields it and its base URL.

    Args:
        caller_lines: what the scripted recogniser hears, turn by turn, on every call.
        telephony: TelephonySettings fields (audiosocket_port defaults to a free port).
    """
    script = tmp_path / "caller.txt"
    script.write_text("\n".join(caller_lines) + "\n", encoding="utf-8")
    settings = TelephonySettings(**{"audiosocket_port": free_port(), **telephony})
    gateway = make_gateway(
        tmp_path / "gw.db", assistant, call_script=script, telephony=settings, hold_prompt_s=3600
    )
    server = TestServer(build_app(gateway), host="127.0.0.1")
    await server.start_server()
    try:
        yield gateway, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
