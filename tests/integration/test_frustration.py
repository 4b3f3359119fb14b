"""The frustration meter in the real system.

- The development set of whole conversations, read by the trained NLU model as the assistant
  reads them: no handoff later than labelled, none in calm conversations.
- A browser call through a real gateway, with generated audio (audio/samples/heating.wav, in
  Pico's voice): the caller asks calmly, then says something calm in words louder, higher and
  faster. The audio, VAD, Whisper's recognition and word times, prosody, Rasa, actions and desk
  are real. The handoff reaches the desk with the voice reasons.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import aiohttp
import pytest

from bot.audio.pcm import read_wav
from bot.settings import PROJECT_ROOT, Settings
from tests.helpers.live import SUPERVISOR, second_gateway

pytestmark = pytest.mark.integration

DEV_CONVERSATIONS = PROJECT_ROOT / "tests" / "data" / "frustration_conversations.jsonl"
HEATING = PROJECT_ROOT / "audio" / "samples" / "heating"
CALL_GATEWAY_PORT = 18001
FRAME_BYTES = 640  # 20 ms


def test_conversations_read_by_the_trained_model_are_handed_off_in_time():
    run = subprocess.run(
        [sys.executable, "-m", "bot", "eval", "frustration", "--conversations",
         str(DEV_CONVERSATIONS), "--nlu"],
        capture_output=True, text=True, check=True, cwd=PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["nlu"], "the model was not used"
    assert result["late"] == 0, result
    assert result["calm_handed_off"] == 0, result
    assert result["calm_kept"] + result["calm_asked_for_person"] >= 13


@pytest.fixture(scope="module")
def call_gateway(
    live_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second gateway on the live Rasa server, for the heating caller."""
    if not HEATING.with_suffix(".wav").exists():
        pytest.fail("audio/samples/heating.wav missing: run `make test` (it makes the samples)")
    data = tmp_path_factory.mktemp("call-gateway")
    with second_gateway(live_settings, CALL_GATEWAY_PORT, data, BOT_STT_ENGINE="whisper") as url:
        yield url


def test_a_caller_heating_up_is_handed_off_with_the_voice_reasons_on_the_desk(call_gateway):
    # a thread of its own: Playwright's sync API may hold an event loop in this one
    with ThreadPoolExecutor(1) as worker:
        waiting, handoff = worker.submit(asyncio.run, _heated_call(call_gateway)).result()

    assert waiting["reason"] == "frustration" and waiting["priority"] == "high"
    assert "subió la voz" in waiting["signals"] and "habla más deprisa" in waiting["signals"]
    reasons = handoff["frustration"]["reasons"]
    assert {"subió la voz", "habla más deprisa", "habla en un tono más agudo"} <= set(reasons)
    # the words alone were calm: only the voice moved the meter
    assert not [r for r in reasons if "palabras" in r or "dijo" in r], reasons


async def _heated_call(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.post(f"{url}/api/conversations", json={"channel": "voice"}) as answer:
            started = await answer.json()
        call_id = started["id"]
        socket_url = f"{url.replace('http', 'ws')}/api/conversations/{call_id}/audio"
        async with http.ws_connect(socket_url, headers={"Origin": url}) as socket:
            await socket.send_json({"type": "auth", "token": started["token"]})
            listening = asyncio.create_task(_drain(socket))
            await _speak(socket, read_wav(HEATING.with_suffix(".wav")))
            desk = await _desk_view(http, url, call_id)
            listening.cancel()
        return desk


async def _speak(socket: aiohttp.ClientWebSocketResponse, audio: bytes) -> None:
    """The sample, in 20 ms frames at the pace it was recorded."""
    began = time.monotonic()
    for number, start in enumerate(range(0, len(audio), FRAME_BYTES)):
        frame = audio[start : start + FRAME_BYTES]
        await socket.send_bytes(frame)
        await asyncio.sleep(max(0.0, began + (number + 1) * 0.02 - time.monotonic()))


async def _drain(socket: aiohttp.ClientWebSocketResponse) -> None:
    async for _ in socket:
        pass


async def _desk_view(
    http: aiohttp.ClientSession, url: str, call_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The call as the desk shows it: its line in the queue and its handoff."""
    username, password = SUPERVISOR
    login = {"username": username, "password": password}
    async with http.post(f"{url}/api/desk/login", json=login, headers={"Origin": url}) as answer:
        assert answer.status == 200, await answer.text()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        async with http.get(f"{url}/api/desk/queue") as answer:
            queue = await answer.json()
        lines = [w for d in queue["departments"] for w in d["waiting"] if w["id"] == call_id]
        if lines:
            async with http.get(f"{url}/api/desk/conversations/{call_id}") as answer:
                detail = await answer.json()
            return lines[0], detail["handoff"]
        await asyncio.sleep(0.5)
    raise AssertionError(f"the call never reached the queue: {queue}")
