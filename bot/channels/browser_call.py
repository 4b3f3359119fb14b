"""Browser calls: the caller's microphone over a WebSocket into the voice pipeline, and the
bot's (or the agent's) voice back, with barge-in.

The socket carries 16 kHz 16-bit mono PCM both ways (the page converts from and to its audio
context's rate) and small JSON control messages (see docs/gateway.md). The conversation is an
ordinary gateway conversation: each caller turn goes through the router, so handoff, queue and
agent work exactly as for the chat; the call speaks whatever the router tells the customer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import WSMsgType, web

from bot.audio.pcm import seconds
from bot.audio.vosk import ModelMissingError
from bot.channels.webchat import MAX_WS_MESSAGE_BYTES, authenticate_socket
from bot.frames import AudioFrame, Frame, TranscriptFrame
from bot.gateway.app import GATEWAY, Gateway
from bot.handoff import notices
from bot.handoff.models import Conversation, State
from bot.pipeline.call import Call
from bot.pipeline.clock import Clock, WallClock
from bot.pipeline.scripted import ScriptedRecognizer, read_script
from bot.pipeline.stt import Recognizer
from bot.rasa_client import BotReply
from bot.voice import build_engines, make_recognizer

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 8000  # 250 ms of 16 kHz 16-bit audio: more in one message is not a live mic
MAX_BAD_FRAMES = 50
CALLS_UNAVAILABLE = (
    "Las llamadas desde el navegador no están disponibles en este momento. Puede escribirnos "
    "por el chat y le atenderemos igual."
)
HANGUP_GRACE_S = 10.0  # the most a closing line may take before the call hangs up


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations/{id}/audio", caller_audio)


class WebSocketAudioOutput:
    """The AudioOutput of a browser call: audio goes to the page, which plays it at once.

    The page plays what it receives in real time, so the clock tells how much is still
    unheard; pause, resume and stop are relayed so the page holds or drops its buffer.
    """

    def __init__(self, clock: Clock, outgoing: asyncio.Queue[bytes | dict[str, Any]]) -> None:
        self._clock = clock
        self._outgoing = outgoing
        self._playing_until = 0.0
        self._held = bytearray()
        self._held_s = 0.0  # sent to the page, paused there
        self._paused = False
        self._stale_before = 0

    @property
    def speaking(self) -> bool:
        return self._clock.now() < self._playing_until

    def remaining(self) -> float:
        return (
            max(0.0, self._playing_until - self._clock.now()) + self._held_s + seconds(self._held)
        )

    def play(self, pcm: bytes, turn: int) -> float | None:
        if turn < self._stale_before:
            return None
        if self._paused:
            self._held += pcm
            return None
        start = max(self._clock.now(), self._playing_until)
        self._playing_until = start + seconds(pcm)
        self._outgoing.put_nowait(pcm)
        return start

    def pause(self) -> None:
        if self._paused:
            return
        self._paused = True
        if self.speaking:
            self._held_s = self._playing_until - self._clock.now()
            self._playing_until = 0.0
            self._outgoing.put_nowait({"type": "pause"})

    def resume(self) -> None:
        if not self._paused:
            return
        self._paused = False
        if self._held_s:
            self._playing_until = self._clock.now() + self._held_s
            self._held_s = 0.0
            self._outgoing.put_nowait({"type": "resume"})
        held, self._held = bytes(self._held), bytearray()
        if held:
            self.play(held, self._stale_before)

    def stop(self, stale_before: int) -> None:
        if self.speaking or self._held_s:
            self._outgoing.put_nowait({"type": "stop"})
        self._playing_until, self._held_s, self._paused = 0.0, 0.0, False
        self._held.clear()
        self._stale_before = max(self._stale_before, stale_before)

    def send_other_voice(self, pcm: bytes) -> None:
        """The agent's voice: straight to the caller, outside the bot's turn-taking."""
        self._outgoing.put_nowait(pcm)


class RouterDialogueClient:
    """The call's dialogue goes through the router; what to say comes back as events."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        await self._gateway.router.customer_message(conversation_id, text)
        return BotReply()


class BrowserCall:
    """One browser call in progress.

    Args:
        gateway: shared services.
        conversation: the call's conversation (channel `voice`).
        socket: the page's audio socket.
    """

    def __init__(
        self, gateway: Gateway, conversation: Conversation, socket: web.WebSocketResponse
    ) -> None:
        self._gateway = gateway
        self._conversation_id = conversation.id
        self._state = conversation.state
        self._socket = socket
        self._clock = WallClock()
        self._outgoing: asyncio.Queue[bytes | dict[str, Any]] = asyncio.Queue()
        self.output = WebSocketAudioOutput(self._clock, self._outgoing)
        self.agent_listeners: set[web.WebSocketResponse] = set()
        self._last_spoken = time.monotonic()
        self._bad_frames = 0
        self._call: Call | None = None

    async def run(self, recognizer: Recognizer) -> str:
        gateway = self._gateway
        engines = await asyncio.to_thread(
            build_engines,
            gateway.settings,
            gateway.voice,
            recognizer,
            RouterDialogueClient(gateway),
        )
        self._call = Call(
            engines,
            gateway.voice,
            self.output,
            self._clock,
            self._conversation_id,
            {"channel": "voice"},
            observers=[self._observe],
            keep_caller_audio=False,
            bot_holds_line=lambda: self._state == State.BOT,
        )
        subscription = gateway.hub.watch_conversation(self._conversation_id)
        helpers = [
            asyncio.create_task(self._send_outgoing()),
            asyncio.create_task(self._follow(subscription.events)),
            asyncio.create_task(self._hold_prompts()),
        ]
        try:
            return await self._call.run(self._caller_frames())
        finally:
            gateway.hub.unwatch_conversation(self._conversation_id, subscription)
            for task in helpers:
                task.cancel()
            await asyncio.to_thread(engines.close)

    async def _caller_frames(self) -> AsyncIterator[AudioFrame]:
        """Caller audio from the page; malformed frames are answered, then ignored."""
        async for message in self._socket:
            if message.type != WSMsgType.BINARY:
                continue
            pcm = message.data
            if not pcm or len(pcm) % 2 or len(pcm) > MAX_FRAME_BYTES:
                await self._bad_frame(len(pcm))
                continue
            for listener in list(self.agent_listeners):
                with contextlib.suppress(ConnectionError):
                    await listener.send_bytes(pcm)
            yield AudioFrame(pcm, self._clock.now() - seconds(pcm))

    async def _bad_frame(self, size: int) -> None:
        self._bad_frames += 1
        logger.warning("call.bad_frame conversation=%s bytes=%s", self._conversation_id, size)
        text = "El audio recibido no es válido: se esperan trozos PCM de 16 bits a 16 kHz."
        await self._socket.send_json({"type": "error", "text": text})
        if self._bad_frames >= MAX_BAD_FRAMES:
            await self._socket.close(code=1003, message=b"invalid audio")

    def _observe(self, frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and not frame.final and frame.text:
            self._outgoing.put_nowait({"type": "partial", "text": frame.text})

    async def _follow(self, events: asyncio.Queue[dict[str, Any] | None]) -> None:
        """Speaks what the router tells the customer and mirrors it on the page."""
        while (event := await events.get()) is not None:
            if event["type"] == "message":
                message = event["message"]
                self._outgoing.put_nowait(
                    {"type": "transcript", "author": message["author"], "text": message["text"]}
                )
                if message["author"] != "customer" and self._call is not None:
                    self._last_spoken = time.monotonic()
                    await self._call.say(message["text"])
            elif event["type"] == "state":
                self._state = State(event["conversation"]["state"])
                self._outgoing.put_nowait(event)
                if self._state == State.CLOSED:
                    asyncio.create_task(self._hang_up("closed"))

    async def _hold_prompts(self) -> None:
        """A caller on hold hears their place every so often, never music without news."""
        every = self._gateway.gateway_settings.hold_prompt_s
        while True:
            await asyncio.sleep(1.0)
            quiet = time.monotonic() - self._last_spoken >= every
            if self._state != State.QUEUED or not quiet or self.output.speaking:
                continue
            conversation = self._gateway.router.get(self._conversation_id)
            place = self._gateway.queue.place(conversation)
            if place is None or self._call is None:
                continue
            department = self._gateway.departments.name(conversation.department)
            self._last_spoken = time.monotonic()
            await self._call.say(
                notices.HOLD.format(department=department, place=notices.say_place(place))
            )

    async def _hang_up(self, reason: str) -> None:
        """Lets the closing words be heard, then ends the call."""
        await asyncio.sleep(0.5)
        deadline = time.monotonic() + HANGUP_GRACE_S
        while self.output.speaking and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        self._outgoing.put_nowait({"type": "ended", "reason": reason})
        await asyncio.sleep(0.2)
        await self._socket.close()

    async def _send_outgoing(self) -> None:
        while not self._socket.closed:
            item = await self._outgoing.get()
            with contextlib.suppress(ConnectionError):
                if isinstance(item, bytes):
                    await self._socket.send_bytes(item)
                else:
                    await self._socket.send_json(item)


def call_recognizer(gateway: Gateway) -> Recognizer:
    """Vosk with the configured model, or the test script when BOT_CALL_SCRIPT is set."""
    script = gateway.gateway_settings.call_script
    if script is not None:
        return ScriptedRecognizer(read_script(script))
    return make_recognizer(gateway.voice)


async def caller_audio(request: web.Request) -> web.WebSocketResponse:
    gateway = request.app[GATEWAY]
    socket = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_WS_MESSAGE_BYTES)
    await socket.prepare(request)
    conversation = await authenticate_socket(gateway, socket, request.match_info["id"])
    if conversation is None:
        return socket
    if conversation.channel != "voice" or conversation.id in gateway.calls:
        await socket.send_json({"type": "error", "text": "Esta conversación no es una llamada."})
        await socket.close(code=4409)
        return socket
    try:
        recognizer = await asyncio.to_thread(call_recognizer, gateway)
    except (ModelMissingError, OSError, ValueError) as error:
        logger.error("call.unavailable reason=%s", error)
        await socket.send_json({"type": "error", "text": CALLS_UNAVAILABLE})
        await socket.close(code=1011)
        return socket
    call = BrowserCall(gateway, conversation, socket)
    gateway.calls[conversation.id] = call
    logger.info("call.started conversation=%s", conversation.id)
    try:
        reason = await call.run(recognizer)
        logger.info("call.ended conversation=%s reason=%s", conversation.id, reason)
        if not socket.closed:
            await socket.send_json({"type": "ended", "reason": reason})
            await socket.close()
    finally:
        gateway.calls.pop(conversation.id, None)
        for listener in list(call.agent_listeners):
            await listener.close()
        await gateway.router.caller_hung_up(conversation.id)
    return socket
