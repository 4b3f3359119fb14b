"""A simulated caller on the browser-call socket (`WS /api/conversations/{id}/audio`).

It speaks the benchmark script's lines in real time, 20 ms at a time, as a microphone would,
and listens as the call page does: bot audio plays as soon as it arrives, `pause`/`resume` hold
it, `stop` drops it. It waits for the bot to finish before its next line, except for the line
that cuts in on purpose, and times what a caller notices:

- turn latency: the caller's last speech sample → the first bot audio that arrives after it;
- barge-in: the caller's first speech sample over the bot → `pause` or `stop` (silence);
- underruns: the bot's audio running out in the middle of a reply (it was not synthesised or
  sent in time: the call fell behind real time);
- handoff, when the last line asks for a person: its last speech sample → the queue place on
  the socket, and → the caller starts hearing the queue notice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.audio.pcm import SAMPLE_RATE, SAMPLE_WIDTH, read_wav, seconds
from bot.pipeline.known_transcript import read_transcript

FRAME_S = 0.02
FRAME_BYTES = round(SAMPLE_RATE * FRAME_S) * SAMPLE_WIDTH
QUIET_S = 0.8  # the bot has finished when its audio played out and nothing came for this long
THINK_S = 0.4  # the caller's pause before answering
BARGE_IN_AFTER_S = 1.0  # how far into the bot's reply the interrupting line starts
REPLY_TIMEOUT_S = 15.0
UNDERRUN_S = 0.05  # a gap in the bot's voice shorter than this is not heard as one


@dataclass(frozen=True)
class Line:
    """One line of the caller: its text, its audio (starts and ends with speech), and whether
    it is said over the bot's reply."""

    text: str
    pcm: bytes
    cuts_in: bool = False
    asks_for_person: bool = False


def script_lines(recording: Path, cut_in: int | None = None, handoff: bool = False) -> list[Line]:
    """The lines of a sample call (`<name>.wav` and `<name>.turns.json`), cut from its audio.

    Args:
        recording: the sample's WAV file.
        cut_in: index of the line said over the bot's previous reply, if any.
        handoff: the last line asks for a person.
    """
    pcm = read_wav(recording)
    lines = read_transcript(recording.with_suffix(".turns.json"))
    step = SAMPLE_WIDTH * SAMPLE_RATE
    return [
        Line(
            line.text,
            pcm[round(line.start * step) & ~1 : round(line.end * step) & ~1],
            i == cut_in,
            handoff and i == len(lines) - 1,
        )
        for i, line in enumerate(lines)
    ]


@dataclass
class CallFigures:
    """What one call measured (ms) and what went wrong."""

    conversation: str = ""
    turn_latency_ms: list[float] = field(default_factory=list)
    barge_in_ms: list[float] = field(default_factory=list)
    underrun_ms: list[float] = field(default_factory=list)
    late_frames: int = 0  # microphone frames this client sent more than 20 ms late
    handoff_ms: dict[str, float] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    ended: str | None = None


class Speaker:
    """The call page's speaker, as a timeline: audio plays on arrival, after what is queued."""

    def __init__(self) -> None:
        self.playing_until = 0.0
        self.paused = False
        self._held_s = 0.0
        self.last_audio_at = 0.0
        self.audio_times: list[float] = []  # arrival of each piece of bot audio
        self.heard_from: list[float] = []  # ... and when the caller starts hearing it
        self.silenced_times: list[float] = []  # `pause` and `stop` arrivals
        self.in_reply = False  # inside one reply: a gap now is an underrun
        self.underrun_ms: list[float] = []

    def audio(self, at: float, pcm: bytes) -> None:
        duration = seconds(pcm)
        self.audio_times.append(at)
        self.last_audio_at = at
        if self.paused:
            self.heard_from.append(at + self._held_s)  # an estimate: it waits for the resume
            self._held_s += duration
            return
        if self.in_reply and at > self.playing_until + UNDERRUN_S:
            self.underrun_ms.append((at - self.playing_until) * 1000)
        self.in_reply = True
        self.heard_from.append(max(at, self.playing_until))
        self.playing_until = self.heard_from[-1] + duration

    def control(self, at: float, kind: str) -> None:
        if kind == "pause" and not self.paused:
            self.paused = True
            self._held_s = max(0.0, self.playing_until - at)
            self.playing_until = at
            self.silenced_times.append(at)
        elif kind == "resume" and self.paused:
            self.paused = False
            self.playing_until = at + self._held_s
            self._held_s = 0.0
        elif kind == "stop":  # what was left is dropped: the next audio is a new reply
            self.paused, self._held_s, self.playing_until = False, 0.0, at
            self.in_reply = False
            self.silenced_times.append(at)

    def playing(self, at: float) -> bool:
        return not self.paused and at < self.playing_until

    def finished(self, at: float) -> bool:
        """Played out, and nothing new for QUIET_S."""
        quiet_since = max(self.playing_until, self.last_audio_at)
        return not self.paused and at - quiet_since >= QUIET_S


class Caller:
    """One call from greeting to goodbye.

    Args:
        http: a client session (its own local address: the gateway limits new conversations
            per address, and real callers each have their own).
        gateway: the gateway's base URL.
        lines: what the caller says.
        on_hold: what happens once a caller who asked for a person has heard their place (an
            agent taking the call); without it, the caller hangs up then.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        gateway: str,
        lines: list[Line],
        on_hold: Callable[[Caller], Awaitable[None]] | None = None,
    ) -> None:
        self._http = http
        self._gateway = gateway
        self._lines = lines
        self._on_hold = on_hold
        self.events: list[tuple[float, dict[str, Any]]] = []  # JSON events, timed
        self.speaker = Speaker()
        self._to_say = bytearray()
        self._said: asyncio.Future[tuple[float, float]] | None = None
        self._first_sent = 0.0
        self._over_the_bot = False  # the bot was talking when the last line began
        self._ended = asyncio.Event()
        self.figures = CallFigures()

    async def call(self) -> CallFigures:
        async with self._http.post(
            f"{self._gateway}/api/conversations", json={"channel": "voice"}
        ) as answer:
            if answer.status != 201:
                self.figures.failures[f"new call: HTTP {answer.status}"] += 1
                return self.figures
            body = await answer.json()
        self.figures.conversation = body["id"]
        url = f"{self._gateway.replace('http', 'ws')}/api/conversations/{body['id']}/audio"
        async with self._http.ws_connect(url, headers={"Origin": self._gateway}) as socket:
            await socket.send_json({"type": "auth", "token": body["token"]})
            await self.talk_on(socket)
        return self.figures

    async def talk_on(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        """The conversation on an open line: listening and speaking until it is over."""
        tasks = [asyncio.create_task(job) for job in (self._listen(socket), self._mic(socket))]
        try:
            await self._converse()
            await self.hang_up(socket)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.figures.underrun_ms = self.speaker.underrun_ms

    async def hang_up(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        """The call page hangs up by closing its socket."""

    async def _converse(self) -> None:
        if not await self._until(lambda: bool(self.speaker.audio_times), 30.0):
            self.figures.failures["no greeting"] += 1
            return
        reply_started = self.speaker.audio_times[-1]
        for line in self._lines:
            if line.cuts_in:
                await self._sleep_until(reply_started + BARGE_IN_AFTER_S)
            elif not await self._until(lambda: self.speaker.finished(time.perf_counter()), 60):
                self.figures.failures["the bot never finished"] += 1
                return
            else:
                await asyncio.sleep(THINK_S)
            if self._ended.is_set():
                self.figures.failures["the call ended early"] += 1
                return
            onset, last = await self._say(line)
            if line.cuts_in:
                self._time_barge_in(onset)
            answer = await self.audio_after(last)
            if answer is None:
                self.figures.failures["no answer within 15 s"] += 1
                continue
            reply_started = answer
            self.figures.turn_latency_ms.append((answer - last) * 1000)
            if line.asks_for_person:
                await self._hear_place(last)
                return
        await self._until(
            lambda: self._ended.is_set() or self.speaker.finished(time.perf_counter()), 20
        )

    async def _hear_place(self, asked: float) -> None:
        """After asking for a person: the queue place on the socket, then heard."""
        told = await self.event_after(asked, _place_told)
        placed = await self.event_after(asked, queued)
        if told is None or placed is None:
            self.figures.failures["never told the queue place"] += 1
            return
        self.figures.handoff_ms["to_queue_place_event"] = (placed - asked) * 1000
        heard = await self.heard_after(told)
        if heard is None:
            self.figures.failures["the queue notice was never spoken"] += 1
            return
        self.figures.handoff_ms["to_queue_place_heard"] = (heard - asked) * 1000
        if self._on_hold is not None:
            await self._on_hold(self)

    async def heard_after(self, moment: float, timeout: float = 15.0) -> float | None:
        """When the caller starts hearing the first bot audio that arrived after `moment`."""
        if await self.audio_after(moment, timeout) is None:
            return None
        pieces = zip(self.speaker.audio_times, self.speaker.heard_from, strict=True)
        return next(start for arrived, start in pieces if arrived > moment)

    async def until_quiet(self) -> None:
        """Until the bot has finished speaking (at most 20 s); what comes next is a new reply,
        so the silence before it is no gap in the voice."""
        await self._until(lambda: self.speaker.finished(time.perf_counter()), 20)
        self.speaker.in_reply = False

    async def event_after(
        self, moment: float, match: Callable[[dict[str, Any]], bool], timeout: float = 15.0
    ) -> float | None:
        """When the first matching event after `moment` arrived (None: not within the timeout)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            found = next((at for at, e in self.events if at > moment and match(e)), None)
            if found is not None:
                return found
            await asyncio.sleep(0.005)
        return None

    def _time_barge_in(self, onset: float) -> None:
        if not self._over_the_bot:
            self.figures.failures["the bot had finished before the caller cut in"] += 1
            return
        stops = [at for at in self.speaker.silenced_times if at >= onset]
        if stops:
            self.figures.barge_in_ms.append((stops[0] - onset) * 1000)
        else:
            self.figures.failures["barge-in never silenced the bot"] += 1

    async def audio_after(self, moment: float, timeout: float = REPLY_TIMEOUT_S) -> float | None:
        """When the first bot audio after `moment` arrived (None: not within the timeout)."""
        deadline = moment + timeout
        while time.perf_counter() < deadline:
            arrivals = (at for at in reversed(self.speaker.audio_times) if at > moment)
            first = min(arrivals, default=None)
            if first is not None:
                return first
            await asyncio.sleep(0.005)
        return None

    async def _say(self, line: Line) -> tuple[float, float]:
        """Speaks a line; returns when its first and last speech samples were spoken."""
        self.speaker.in_reply = False
        self._said = asyncio.get_running_loop().create_future()
        self._to_say = bytearray(line.pcm)
        return await self._said

    async def _mic(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        """20 ms of audio every 20 ms, on a fixed schedule: the line being said, or silence."""
        start, count = time.perf_counter(), 0
        while True:
            count += 1
            due = start + count * FRAME_S  # a frame leaves once its last sample is spoken
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -FRAME_S:
                self.figures.late_frames += 1
            frame, self._to_say = bytes(self._to_say[:FRAME_BYTES]), self._to_say[FRAME_BYTES:]
            await self.send_frame(socket, frame.ljust(FRAME_BYTES, b"\0"))
            if not frame or self._said is None or self._said.done():
                continue
            spoken_at = time.perf_counter()
            if not self._first_sent:
                self._first_sent = spoken_at - FRAME_S
                self._over_the_bot = self.speaker.playing(self._first_sent)
            if not self._to_say:
                last = spoken_at - FRAME_S + seconds(frame)
                self._said.set_result((self._first_sent, last))
                self._first_sent = 0.0

    async def send_frame(self, socket: aiohttp.ClientWebSocketResponse, pcm: bytes) -> None:
        """20 ms of the caller's voice (16 kHz PCM) as the call page sends it."""
        await socket.send_bytes(pcm)

    async def _listen(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for message in socket:
            at = time.perf_counter()
            if message.type == aiohttp.WSMsgType.BINARY:
                self.speaker.audio(at, message.data)
            elif message.type == aiohttp.WSMsgType.TEXT:
                event: dict[str, Any] = json.loads(message.data)
                self.events.append((at, event))
                self.speaker.control(at, event.get("type", ""))
                if event.get("type") == "error":
                    self.figures.failures[f"error: {event.get('text')}"] += 1
                elif event.get("type") == "ended":
                    self.figures.ended = event.get("reason")
                    self._ended.set()
        self._ended.set()

    async def _until(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(0.01)
        return True

    @staticmethod
    async def _sleep_until(moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))


def queued(event: dict[str, Any]) -> bool:
    """A conversation state with a place in the queue (calls' and chats' events alike)."""
    queue = (event.get("conversation") or {}).get("queue") or {}
    return event.get("type") == "state" and queue.get("position") is not None


def _place_told(event: dict[str, Any]) -> bool:
    """The system's queue notice in the call's transcript."""
    return event.get("type") == "transcript" and event.get("author") == "system"
