"""A call through the gateway, whatever line it arrives on: a browser page, a Twilio media
stream or an Asterisk AudioSocket.

The line carries audio (16 kHz PCM in the pipeline's format, both ways); everything else is the
same for every line: each caller turn goes through the router, so handoff, queue and agent work
exactly as for the chat; the call speaks whatever the router tells the customer; a caller on
hold hears their place; the agent who accepts hears the caller and talks into the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Protocol

from aiohttp import web

from bot import metrics
from bot.assistant.contract import BotReply
from bot.audio.errors import ModelMissingError
from bot.audio.pcm import seconds
from bot.audio.recognition import Recognizer
from bot.channels.call_audio import valid_frame
from bot.clock import Clock
from bot.db import DatabaseError
from bot.edge.context import Gateway
from bot.edge.voice_bridge import Voice, VoiceSender
from bot.errors import RequestError
from bot.frames import AudioFrame, BotStartedSpeakingFrame, Frame, TranscriptFrame
from bot.handoff import notices
from bot.handoff.hub import Subscription
from bot.handoff.models import Conversation, State
from bot.handoff.router import ConversationRouter
from bot.pipeline.call import Call
from bot.pipeline.call_log import CallLog
from bot.pipeline.engines import build_engines, make_recognizer, speech_model_available
from bot.pipeline.output import AudioOutput
from bot.pipeline.scripted import ScriptedRecognizer, read_script

logger = logging.getLogger(__name__)

HANGUP_GRACE_S = 15.0  # the most a closing line may take before the call hangs up
KEYPAD_TO_PERSON = "/request_human"  # "0" on its own: Rasa's intent syntax, no guessing
TOO_MANY_CALLS = (
    "En este momento todas nuestras líneas están ocupadas. Puede escribirnos por el chat o "
    "volver a llamar en unos minutos."
)
PHONE_UNAVAILABLE = "En este momento el asistente telefónico no está disponible."
PHONE_BUSY = "En este momento todas las líneas del asistente telefónico están ocupadas."
PHONE_UNAVAILABLE_TRANSFER = "Le paso con una persona."
PHONE_UNAVAILABLE_LATER = (
    "Puede escribirnos por el chat de nuestra web, o volver a llamar dentro de un rato. Gracias."
)
CALLS_UNAVAILABLE = (
    "Las llamadas no están disponibles en este momento. Puede escribirnos por el chat y le "
    "atenderemos igual."
)


class LineOutput(AudioOutput, Protocol):
    """The line's speaker: the bot's voice with barge-in, and an agent's voice outside it."""

    def send_other_voice(self, pcm: bytes) -> None:
        """The agent's voice: straight to the caller, outside the bot's turn-taking."""


class CallLine(Protocol):
    """Where a call meets its caller (a browser page, a phone line)."""

    @property
    def output(self) -> LineOutput:
        """The caller's speaker."""

    def caller_audio(self) -> AsyncIterator[bytes]:
        """The caller's voice as 16 kHz 16-bit PCM chunks, checked; ends when they hang up."""

    def notify(self, event: dict[str, Any]) -> None:
        """What the router or the pipeline has to tell the line (transcript lines, partial
        words, state changes): a page shows them; a phone line may act on a state."""

    async def play_out(self) -> None:
        """Sends the bot's voice and the line's messages until the line closes."""

    async def hang_up(self, reason: str) -> None:
        """Ends the call from our side (the closing words have been heard)."""


class RouterDialogueClient:
    """The call's dialogue goes through the router, like a chat's: the answer to each caller
    turn (the assistant's lines, a queue notice) comes back down the pipeline.

    Keypad entries (DTMF) reach the assistant as the digits, and a lone "0" as a request for
    a person; the transcript shows what was pressed.

    The router also announces those lines to the call's hub subscription; `answered` tells the
    call which of them the pipeline speaks, so none is said twice.
    """

    def __init__(self, router: ConversationRouter) -> None:
        self._router = router
        self._answered: set[Any] = set()  # line_key of each line spoken as an answer
        self._idle = asyncio.Event()
        self._idle.set()

    async def send(self, conversation_id: str, text: str, metadata: dict[str, Any]) -> BotReply:
        to_assistant = None
        if metadata.get("input") == "keypad":
            to_assistant = KEYPAD_TO_PERSON if text == "0" else text
            text = notices.keypad_entry(text)
        self._idle.clear()
        try:
            was_queued = self._router.get(conversation_id).state == State.QUEUED
            produced = await self._router.customer_message(
                conversation_id, text, to_assistant=to_assistant, metadata=metadata
            )
            answer = [m for m in produced if m.author != "customer"]
            self._answered.update(line_key(m.to_json()) for m in answer)
            conversation = self._router.get(conversation_id)
            handed_off = conversation.state == State.QUEUED and not was_queued
            handoff = conversation.handoff if handed_off else None
            return BotReply([m.text for m in answer], handoff=handoff)
        finally:
            self._idle.set()

    async def answered(self, message: dict[str, Any]) -> bool:
        """Whether the pipeline speaks this message (as announced) as the answer to a caller
        turn (waits for a turn in progress, whose answer may be announced before it is
        returned)."""
        await self._idle.wait()
        key = line_key(message)
        if key in self._answered:
            self._answered.discard(key)
            return True
        return False


def line_key(message: dict[str, Any]) -> Any:
    """What tells one announced line from another: its id, or for a line not saved yet (held
    while the database refuses writes) what it says and when."""
    if message["id"] is not None:
        return message["id"]
    return (message["author"], message["text"], message["at"])


class GatewayCall:
    """One call in progress on any line.

    Args:
        gateway: shared services.
        conversation: the call's conversation (channel `voice`).
        line: the caller's line.
        clock: the call's clock (the line's output follows it too).
        metadata: call facts sent to the assistant with every turn (line, caller's number).
    """

    def __init__(
        self,
        gateway: Gateway,
        conversation: Conversation,
        line: CallLine,
        clock: Clock,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._gateway = gateway
        self.conversation_id = conversation.id
        self._state = conversation.state
        self.line = line
        self.output = line.output
        self._clock = clock
        self._metadata = {"channel": "voice", **(metadata or {})}
        self.agent_listeners: set[web.WebSocketResponse] = set()
        # an agent on another gateway: the caller's voice goes to them through Redis
        self._remote_agent: VoiceSender | None = None
        self._remote_agent_task: asyncio.Task[None] | None = None
        self._last_spoken = time.monotonic()
        self._call: Call | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._log = CallLog({})  # for the timings of each turn, logged as it is answered
        self._timed_turns: set[int] = set()
        self._dialogue = RouterDialogueClient(gateway.router)

    @property
    def agent_may_talk(self) -> bool:
        return self._state == State.AGENT

    @property
    def state(self) -> State:
        return self._state

    async def run(self, recognizer: Recognizer) -> str:
        """Runs the call until the caller hangs up or it ends; returns why it ended."""
        gateway = self._gateway
        # subscribed before the engines warm up, so nothing said meanwhile is lost
        subscription = gateway.hub.watch_conversation(self.conversation_id)
        self._state = gateway.router.get(self.conversation_id).state
        if self._state == State.AGENT:  # (a call that came back to an agent)
            self._bridge_to_other_gateways()
        engines = await asyncio.to_thread(build_engines, gateway.voice, recognizer, self._dialogue)
        self._call = Call(
            engines,
            gateway.voice,
            self.output,
            self._clock,
            self.conversation_id,
            self._metadata,
            observers=[self._log, self._observe],
            keep_caller_audio=False,
            bot_holds_line=lambda: self._state == State.BOT,
            handoff_ends_call=False,  # the caller waits on the line for a person
            on_engine_failure=self._engines_failed,
        )
        for job in (self.line.play_out(), self._follow(subscription), self._hold_prompts()):
            self._start(job)
        try:
            return await self._call.run(self._caller_frames(), hang_up_at_end=True)
        finally:
            gateway.hub.unwatch_conversation(self.conversation_id, subscription)
            self._unbridge()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.to_thread(engines.close)
            self._log_recognition(recognizer)

    async def keypad(self, digits: str) -> None:
        """A keypad entry (DTMF): a caller turn of its own, as if the digits were said; on hold,
        the key that books a callback to the caller's number when one is offered."""
        if self._call is None or not digits:
            return
        if self._state == State.QUEUED and digits == notices.PHONE_CALLBACK_KEY:
            conversation = self._gateway.router.get(self.conversation_id)
            offered = "callback" in self._gateway.router.views.offers(
                conversation, self._gateway.queue.place(conversation)
            )
            if offered and conversation.caller:
                await self._gateway.router.request_callback(
                    self.conversation_id, conversation.caller, notices.PHONE_CALLBACK_WHEN
                )
                self._gateway.hub.to_desks({"type": "queue"})
                return
        await self._call.keypad(digits)

    def _engines_failed(self) -> None:
        """The recogniser or the voice broke on this call: a person takes it, with the spoken
        apology (a pre-rendered prompt, so it plays even when the voice is what broke)."""
        metrics.ERRORS.labels("call_failed").inc()
        self._start(self._gateway.router.technical_handoff(self.conversation_id))

    def agent_says(self, pcm: bytes) -> None:
        """The agent's voice: straight to the caller, outside the bot's turn-taking."""
        self.output.send_other_voice(pcm)

    def _bridge_to_other_gateways(self) -> None:
        """With several gateways the agent's desk may be on another one: the caller's voice is
        published for it, and its voice is taken from Redis (bot/edge/voice_bridge.py)."""
        bridge = self._gateway.voice_bridge
        if bridge is None or self._remote_agent is not None:
            return
        self._remote_agent = bridge.sender(self.conversation_id, Voice.CALLER)
        self._remote_agent_task = asyncio.create_task(self._remote_agent_voice())

    async def _remote_agent_voice(self) -> None:
        assert self._gateway.voice_bridge is not None
        async for pcm in self._gateway.voice_bridge.frames(self.conversation_id, Voice.AGENT):
            if valid_frame(pcm) and self.agent_may_talk:
                self.agent_says(pcm)

    def _unbridge(self) -> None:
        if self._remote_agent is not None:
            self._remote_agent.close()
            self._remote_agent = None
        if self._remote_agent_task is not None:
            self._remote_agent_task.cancel()
            self._remote_agent_task = None

    async def close_listeners(self) -> None:
        for listener in list(self.agent_listeners):
            await listener.close()
        self.agent_listeners.clear()

    def _start(self, job: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _caller_frames(self) -> AsyncIterator[AudioFrame]:
        async for pcm in self.line.caller_audio():
            if self.agent_may_talk:
                for listener in list(self.agent_listeners):
                    with contextlib.suppress(ConnectionError):
                        await listener.send_bytes(pcm)
                if self._remote_agent is not None and not self.agent_listeners:
                    self._remote_agent.send(pcm)  # (an agent here is not also elsewhere)
            yield AudioFrame(pcm, self._clock.now() - seconds(pcm))

    def _observe(self, frame: Frame) -> None:
        if isinstance(frame, TranscriptFrame) and not frame.final and frame.text:
            self.line.notify({"type": "partial", "text": frame.text})
        elif isinstance(frame, BotStartedSpeakingFrame) and frame.turn not in self._timed_turns:
            self._log_turn_timings(frame.turn)

    def _log_turn_timings(self, turn: int) -> None:
        """One line per answered turn, where each part of the wait went (ms): operators watch
        it, and the benchmarks read it (bench/README.md)."""
        latencies = self._log.latencies(turn)
        if latencies is None or latencies["first_audio"] is None:
            return
        self._timed_turns.add(turn)
        metrics.observe_call_turn(latencies)
        figures = " ".join(f"{name}={value}" for name, value in latencies.items())
        logger.info("call.turn conversation=%s turn=%s %s", self.conversation_id, turn, figures)

    def _log_recognition(self, recognizer: Recognizer) -> None:
        if self._call is None:
            return
        audio_s, decode_s = self._call.recognition_load
        logger.info(
            "call.recognition conversation=%s recognizer=%s audio_s=%.2f decode_s=%.2f",
            self.conversation_id,
            recognizer.name.replace(" ", "_"),
            audio_s,
            decode_s,
        )

    async def _follow(self, subscription: Subscription) -> None:
        """Passes what the router tells the customer on to the line, and speaks the lines that
        do not answer a caller turn (an agent's words, notices); answers come down the
        pipeline."""
        while (event := await subscription.events.get()) is not None:
            if event["type"] == "message":
                message = event["message"]
                self.line.notify(
                    {"type": "transcript", "author": message["author"], "text": message["text"]}
                )
                if message["author"] == "customer" or self._call is None:
                    continue
                self._last_spoken = time.monotonic()
                if not await self._dialogue.answered(message):
                    await self._call.say(message["text"])
            elif event["type"] == "state":
                self._on_state(self._state_now(State(event["conversation"]["state"])))
                self.line.notify(event)

    def _state_now(self, told: State) -> State:
        """The conversation's state as the database has it: events from other gateways may
        come late, after newer ones (`told`, the event's, when the database cannot say)."""
        try:
            return self._gateway.router.get(self.conversation_id).state
        except (RequestError, DatabaseError):
            return told

    def _on_state(self, state: State) -> None:
        if state == State.AGENT:
            self._bridge_to_other_gateways()
        else:
            self._unbridge()
        if state != State.AGENT and self.agent_listeners:
            # the agent handed back or closed: they no longer hear nor speak into the call
            for listener in list(self.agent_listeners):
                self._start(listener.close(code=1000, message=b"ended"))
            self.agent_listeners.clear()
        if state == State.CLOSED and self._state != State.CLOSED:
            self._start(self.hang_up_after_last_words("closed"))
        self._state = state

    async def _hold_prompts(self) -> None:
        """A caller on hold hears their place every so often, never music without news."""
        every = self._gateway.gateway_settings.hold_prompt_s
        while True:
            await asyncio.sleep(1.0)
            quiet = time.monotonic() - self._last_spoken >= every
            if self._state != State.QUEUED or not quiet or self.output.speaking:
                continue
            conversation = self._gateway.router.get(self.conversation_id)
            place = self._gateway.queue.place(conversation)
            if place is None or self._call is None:
                continue
            self._last_spoken = time.monotonic()
            department = self._gateway.departments.name(conversation.department)
            department_open = bool((conversation.handoff or {}).get("department_open", True))
            reminder = notices.hold_reminder(
                place, department, department_open, notices.audience(conversation)
            )
            await self._call.say(reminder)

    async def hang_up_after_last_words(self, reason: str) -> None:
        """Lets the closing words be synthesised and heard, then ends the call."""
        await self.last_words_heard()
        await self.line.hang_up(reason)

    async def last_words_heard(self) -> None:
        """Returns once what the bot is saying now has been heard (at most HANGUP_GRACE_S)."""
        await asyncio.sleep(0.5)  # the closing message is on its way to the pipeline
        deadline = time.monotonic() + HANGUP_GRACE_S
        while self._call is not None and self._call.bot_busy and time.monotonic() < deadline:
            await asyncio.sleep(0.1)


def call_recognizer(gateway: Gateway) -> Recognizer:
    """Vosk with the configured model, or the test script when BOT_CALL_SCRIPT is set (its
    audio also decoded by Vosk with BOT_CALL_SCRIPT_WITH_VOSK, for the benchmarks)."""
    settings = gateway.gateway_settings
    if settings.call_script is not None:
        decoder = make_recognizer(gateway.voice) if settings.call_script_with_vosk else None
        return ScriptedRecognizer(read_script(settings.call_script), decoder=decoder)
    return make_recognizer(gateway.voice)


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


def speech_unavailable(gateway: Gateway) -> bool:
    """No speech model to understand callers (and no test script): phone lines say so at once
    and pass the call to people when they can, instead of a silent line."""
    settings = gateway.gateway_settings
    return settings.call_script is None and not speech_model_available(gateway.voice)


def refusal(gateway: Gateway, conversation: Conversation) -> tuple[int, str] | None:
    """Why this conversation cannot become a call now: (close code, what the caller is told)."""
    if conversation.channel != "voice":
        return 4409, "Esta conversación no es una llamada."
    if conversation.id in gateway.calls:
        return 4409, "Esta llamada ya está en curso en otra ventana."
    if conversation.state == State.CLOSED:
        return 4409, "Esta llamada ya ha terminado. Puede volver a llamar cuando quiera."
    if len(gateway.calls) >= gateway.gateway_settings.max_calls:
        return 1013, TOO_MANY_CALLS
    return None


async def answer(gateway: Gateway, call: GatewayCall) -> str:
    """Runs `call` as one of the gateway's calls (the agent desk finds it there) until it ends;
    the conversation leaves the queue or the agent when the caller is gone."""
    conversation_id = call.conversation_id
    gateway.calls[conversation_id] = None  # reserved: a second line is refused from now on
    try:
        try:
            gateway.router.call_lives_here(conversation_id)
        except DatabaseError as error:  # the call goes on; only a restart would not close it
            logger.warning("call.gateway_not_recorded conversation=%s error=%s",
                           conversation_id, error)  # fmt: skip
        try:
            recognizer = await asyncio.to_thread(call_recognizer, gateway)
        except (ModelMissingError, OSError, ValueError) as error:
            logger.error("call.unavailable reason=%s", error)
            return "unavailable"
        gateway.calls[conversation_id] = call
        logger.info("call.started conversation=%s", conversation_id)
        reason = await call.run(recognizer)
        logger.info("call.ended conversation=%s reason=%s", conversation_id, reason)
        return reason
    finally:
        gateway.calls.pop(conversation_id, None)
        await call.close_listeners()
        await gateway.router.caller_hung_up(conversation_id)
