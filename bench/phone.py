"""Phone calls in the benchmark: the simulated caller on a Twilio Media Stream (8 kHz μ-law)
instead of the call page, so that the telephony edge is measured against browser calls.

The phone side follows Twilio's protocol (tests/helpers/telephony/twilio_peer.py has the same rules
and is itself tested against the documents): the voice webhook, `connected` and `start`, 20 ms
`media` frames, a `mark` played back once the audio before it was heard; a `clear` drops what was
buffered (for the caller's ear, like the page's `stop`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from typing import Any

import aiohttp
import numpy as np

from bench.caller import Caller, CallFigures, Line
from bench.stats import summary
from bench.system import GATEWAY, System, client_session
from bench.voice import log_figures, run_level
from bot.audio.g711 import ulaw_to_linear
from tests.helpers.telephony.codecs import ulaw_encode_16k
from tests.helpers.telephony.wire import parse_connect_stream

CALLER_NUMBER = "+34600000000"


class PhoneCaller(Caller):
    """The bench's caller (see bench.caller.Caller) on a Twilio phone line."""

    async def call(self) -> CallFigures:
        form = {"CallSid": f"CA{uuid.uuid4().hex}", "From": CALLER_NUMBER, "To": "+34910000000"}
        async with self._http.post(f"{self._gateway}/telephony/twilio/voice", data=form) as answer:
            if answer.status != 200:
                self.figures.failures[f"new call: HTTP {answer.status}"] += 1
                return self.figures
            stream_url, parameters = parse_connect_stream(await answer.text())
        self.figures.conversation = parameters["conversation"]
        self._stream_sid = f"MZ{uuid.uuid4().hex}"
        async with self._http.ws_connect(stream_url) as socket:
            await socket.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
            await socket.send_json(self._start(form["CallSid"], parameters))
            await self.talk_on(socket)
        return self.figures

    async def hang_up(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        await socket.send_json({"event": "stop", "streamSid": self._stream_sid})

    def _start(self, call_sid: str, parameters: dict[str, str]) -> dict[str, Any]:
        fmt = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
        start = {"streamSid": self._stream_sid, "callSid": call_sid, "tracks": ["inbound"],
                 "customParameters": parameters, "mediaFormat": fmt}  # fmt: skip
        return {"event": "start", "streamSid": self._stream_sid, "start": start}

    async def send_frame(self, socket: aiohttp.ClientWebSocketResponse, pcm: bytes) -> None:
        payload = base64.b64encode(ulaw_encode_16k(pcm)).decode()
        media = {"track": "inbound", "payload": payload}
        await socket.send_json({"event": "media", "streamSid": self._stream_sid, "media": media})

    async def _listen(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            at = time.perf_counter()
            event: dict[str, Any] = json.loads(message.data)
            kind = event.get("event")
            if kind == "media":
                pcm8k = ulaw_to_linear(base64.b64decode(event["media"]["payload"]))
                # the speaker times audio at 16 kHz: each sample twice keeps its duration
                pcm16k = np.repeat(np.frombuffer(pcm8k, "<i2"), 2).tobytes()
                self.speaker.audio(at, pcm16k)
            elif kind == "clear":
                self.speaker.control(at, "stop")
                self.events.append((at, {"type": "clear"}))
            elif kind == "mark":
                asyncio.create_task(self._mark_played(socket, event["mark"]["name"]))
        self._ended.set()

    async def _mark_played(self, socket: aiohttp.ClientWebSocketResponse, name: str) -> None:
        """Twilio sends a mark back once the audio before it has been played."""
        await asyncio.sleep(max(0.0, self.speaker.playing_until - time.perf_counter()))
        mark = {"event": "mark", "streamSid": self._stream_sid, "mark": {"name": name}}
        if not socket.closed:
            await socket.send_json(mark)

    async def _hear_place(self, asked: float) -> None:
        """A phone shows no events: the queue notice is timed by the browser calls."""


async def browser_against_phone(system: System, lines: list[Line], rounds: int) -> dict[str, Any]:
    """One call at a time, browser and phone in turn (the same lines, the same moment's load),
    so that the difference is the telephony edge: μ-law, 8 kHz, the paced line. The gateway's
    own view of each turn (its `call.turn` lines) says whether any difference is inside it."""
    browser: list[CallFigures] = []
    phone: list[CallFigures] = []
    async with client_session(4000) as http:
        for _ in range(rounds):
            browser.append(await Caller(http, GATEWAY, lines).call())
            phone.append(await PhoneCaller(http, GATEWAY, lines).call())
    await asyncio.sleep(1.0)  # the last call's log lines
    return {
        "gateway_speech_end_to_first_audio_ms": {
            "browser": _gateway_view(system, browser),
            "phone": _gateway_view(system, phone),
        },
        "browser_turn_latency_ms": summary([ms for c in browser for ms in c.turn_latency_ms]),
        "phone_turn_latency_ms": summary([ms for c in phone for ms in c.turn_latency_ms]),
        "phone_clear_after_onset_ms": summary([ms for c in phone for ms in c.barge_in_ms]),
        "browser_barge_in_ms": summary([ms for c in browser for ms in c.barge_in_ms]),
        "failures": {
            "browser": sum(sum(c.failures.values()) for c in browser),
            "phone": sum(sum(c.failures.values()) for c in phone),
        },
    }


def _gateway_view(system: System, calls: list[CallFigures]) -> dict[str, Any]:
    ids = {call.conversation for call in calls}
    turns = [f for f in log_figures(system.log_lines("call.turn")) if f["conversation"] in ids]
    return summary([f["speech_end_to_first_audio"] for f in turns])


async def phone_level(system: System, lines: list[Line], calls: int) -> dict[str, Any]:
    """`calls` phone calls at once, judged as the browser levels are (bench.voice)."""
    return await run_level(system, lines, calls, rounds=1, line=PhoneCaller)
