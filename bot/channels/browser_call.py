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
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import WSMsgType, web

from bot.audio.pcm import seconds
from bot.audio.vosk import ModelMissingError
from bot.channels.call_audio import RealTimeBudget, WebSocketAudioOutput, valid_frame
from bot.channels.webchat import open_customer_socket
from bot.frames import AudioFrame, BotStartedSpeakingFrame, Frame, TranscriptFrame
from bot.gateway.app import GATEWAY, Gateway
from bot.handoff import notices
from bot.handoff.hub import Subscription
from bot.handoff.models import Conversation, State
from bot.pipeline.call import Call
from bot.pipeline.call_log import CallLog
from bot.pipeline.clock import WallClock
from bot.pipeline.scripted import ScriptedRecognizer, read_script
from bot.pipeline.stt import Recognizer
from bot.rasa_client import BotReply
from bot.voice import build_engines, make_recognizer

logger = logging.getLogger(__name__)

MAX_BAD_FRAMES = 50
WARM_UP = web.AppKey("recognizer_warm_up", asyncio.Task)
CALLS_UNAVAILABLE = (
    "Las llamadas desde el navegador no están disponibles en este momento. Puede escribirnos "
    "por el chat y le atenderemos igual."
)
HANGUP_GRACE_S = 15.0  # the most a closing line may take before the call hangs up
TOO_MANY_CALLS = (
    "En este momento todas nuestras líneas están ocupadas. Puede escribirnos por el chat o "
    "volver a llamar en unos minutos."
)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/conversations/{id}/audio", caller_audio)
    app.on_startup.append(_start_warming_up)  # type: ignore[arg-type]


async def _start_warming_up(app: web.Application) -> None:
    gateway: Gateway = app[GATEWAY]
    task = asyncio.create_task(asyncio.to_thread(warm_up_recognizer, gateway))
    app[WARM_UP] = task  # kept, so the task is not collected before it ends


def warm_up_recognizer(gateway: Gateway) -> None:
    """Loads the speech model and decodes a little audio once, at start: the first caller would
    otherwise wait for both (seconds with a large model, whose memory is read in on first use)."""
    started = time.monotonic()
    try:
        recognizer = call_recognizer(gateway)
    except (ModelMissingError, OSError, ValueError) as error:
        logger.warning("call.recognizer_unavailable reason=%s", str(error).splitlines()[0])
        return
    recognizer.warm_up()
    logger.info("call.recognizer_ready seconds=%.1f", time.monotonic() - started)


class RouterDialogueClient:
    """The call's dialogue goes through the router; what to say comes back as events."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        await self._gateway.router.customer_message(conversation_id, text, metadata=metadata)
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
        self._budget = RealTimeBudget(self._clock)
        self.agent_listeners: set[web.WebSocketResponse] = set()
        self._last_spoken = time.monotonic()
        self._bad_frames = 0
        self._call: Call | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._log = CallLog({})  # for the timings of each turn, logged as it is answered
        self._timed_turns: set[int] = set()

    @property
    def agent_may_talk(self) -> bool:
        return self._state == State.AGENT

    async def run(self, recognizer: Recognizer) -> str:
        gateway = self._gateway
        # subscribed before the engines warm up, so nothing said meanwhile is lost
        subscription = gateway.hub.watch_conversation(self._conversation_id)
        self._state = gateway.router.get(self._conversation_id).state
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
            observers=[self._log, self._observe],
            keep_caller_audio=False,
            bot_holds_line=lambda: self._state == State.BOT,
        )
        for job in (self._send_outgoing(), self._follow(subscription), self._hold_prompts()):
            self._start(job)
        try:
            return await self._call.run(self._caller_frames(), hang_up_at_end=True)
        finally:
            gateway.hub.unwatch_conversation(self._conversation_id, subscription)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.to_thread(engines.close)
            audio_s, decode_s = self._call.recognition_load
            logger.info(
                "call.recognition conversation=%s recognizer=%s audio_s=%.2f decode_s=%.2f",
                self._conversation_id,
                recognizer.name.replace(" ", "_"),
                audio_s,
                decode_s,
            )

    def _start(self, job: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _caller_frames(self) -> AsyncIterator[AudioFrame]:
        """Caller audio from the page; malformed or too fast frames are answered, then dropped."""
        async for message in self._socket:
            if message.type != WSMsgType.BINARY:
                continue
            pcm = message.data
            if not valid_frame(pcm) or not self._budget.allow(pcm):
                await self._bad_frame(len(pcm))
                continue
            if self.agent_may_talk:
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
        elif isinstance(frame, BotStartedSpeakingFrame) and frame.turn not in self._timed_turns:
            self._log_turn_timings(frame.turn)

    def _log_turn_timings(self, turn: int) -> None:
        """One line per answered turn, where each part of the wait went (ms): operators watch
        it, and the benchmarks read it (bench/README.md)."""
        latencies = self._log.latencies(turn)
        if latencies is None or latencies["first_audio"] is None:
            return
        self._timed_turns.add(turn)
        figures = " ".join(f"{name}={value}" for name, value in latencies.items())
        logger.info("call.turn conversation=%s turn=%s %s", self._conversation_id, turn, figures)

    async def _follow(self, subscription: Subscription) -> None:
        """Speaks what the router tells the customer and mirrors it on the page."""
        while (event := await subscription.events.get()) is not None:
            if event["type"] == "message":
                message = event["message"]
                self._outgoing.put_nowait(
                    {"type": "transcript", "author": message["author"], "text": message["text"]}
                )
                if message["author"] != "customer" and self._call is not None:
                    self._last_spoken = time.monotonic()
                    await self._call.say(message["text"])
            elif event["type"] == "state":
                self._on_state(State(event["conversation"]["state"]))
                self._outgoing.put_nowait(event)

    def _on_state(self, state: State) -> None:
        if state != State.AGENT and self.agent_listeners:
            # the agent handed back or closed: they no longer hear nor speak into the call
            for listener in list(self.agent_listeners):
                self._start(listener.close(code=1000, message=b"ended"))
            self.agent_listeners.clear()
        if state == State.CLOSED and self._state != State.CLOSED:
            self._start(self._hang_up("closed"))
        self._state = state

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
            self._last_spoken = time.monotonic()
            department = self._gateway.departments.name(conversation.department)
            department_open = bool((conversation.handoff or {}).get("department_open", True))
            await self._call.say(notices.hold_reminder(place, department, department_open))

    async def _hang_up(self, reason: str) -> None:
        """Lets the closing words be synthesised and heard, then ends the call."""
        await asyncio.sleep(0.5)  # the closing message is on its way to the pipeline
        deadline = time.monotonic() + HANGUP_GRACE_S
        while self._call is not None and self._call.bot_busy and time.monotonic() < deadline:
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
    """Vosk with the configured model, or the test script when BOT_CALL_SCRIPT is set (its
    audio also decoded by Vosk with BOT_CALL_SCRIPT_WITH_VOSK, for the benchmarks)."""
    settings = gateway.gateway_settings
    if settings.call_script is not None:
        decoder = make_recognizer(gateway.voice) if settings.call_script_with_vosk else None
        return ScriptedRecognizer(read_script(settings.call_script), decoder=decoder)
    return make_recognizer(gateway.voice)


async def caller_audio(request: web.Request) -> web.WebSocketResponse:
    gateway, socket, conversation = await open_customer_socket(request)
    if conversation is None:
        return socket
    refusal = _refusal(gateway, conversation)
    if refusal is not None:
        await socket.send_json({"type": "error", "text": refusal[1]})
        await socket.close(code=refusal[0])
        return socket
    gateway.calls[conversation.id] = None  # reserved: a second socket is refused from now on
    try:
        call = await _answer(gateway, conversation, socket)
    finally:
        finished = gateway.calls.pop(conversation.id, None)
        if finished is not None:
            for listener in list(finished.agent_listeners):
                await listener.close()
        await gateway.router.caller_hung_up(conversation.id)
    return call


def _refusal(gateway: Gateway, conversation: Conversation) -> tuple[int, str] | None:
    """Why this socket cannot become a call: (close code, what the caller reads), or None."""
    if conversation.channel != "voice":
        return 4409, "Esta conversación no es una llamada."
    if conversation.id in gateway.calls:
        return 4409, "Esta llamada ya está en curso en otra ventana."
    if conversation.state == State.CLOSED:
        return 4409, "Esta llamada ya ha terminado. Puede volver a llamar cuando quiera."
    if len(gateway.calls) >= gateway.gateway_settings.max_calls:
        return 1013, TOO_MANY_CALLS
    return None


async def _answer(
    gateway: Gateway, conversation: Conversation, socket: web.WebSocketResponse
) -> web.WebSocketResponse:
    call = BrowserCall(gateway, conversation, socket)  # the caller's audio counts from now
    try:
        recognizer = await asyncio.to_thread(call_recognizer, gateway)
    except (ModelMissingError, OSError, ValueError) as error:
        logger.error("call.unavailable reason=%s", error)
        await socket.send_json({"type": "error", "text": CALLS_UNAVAILABLE})
        await socket.close(code=1011)
        return socket
    gateway.calls[conversation.id] = call
    logger.info("call.started conversation=%s", conversation.id)
    reason = await call.run(recognizer)
    logger.info("call.ended conversation=%s reason=%s", conversation.id, reason)
    if not socket.closed:
        await socket.send_json({"type": "ended", "reason": reason})
        await socket.close()
    return socket
