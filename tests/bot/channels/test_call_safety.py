"""The browser call's guards: audio frames and pace, the agent's access to a call, log hygiene."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bot.assistant.client import _describe
from bot.assistant.contract import VOICE_APOLOGY
from bot.channels.browser_call import BrowserLine
from bot.channels.call_audio import MAX_BURST_S, MAX_FRAME_BYTES, RealTimeBudget, valid_frame
from bot.channels.gateway_call import GatewayCall, warm_up_recognizer
from bot.handoff import notices
from bot.handoff.models import State
from bot.handoff.queue import QueuePlace
from tests.helpers.gateway_fakes import FakeAssistant, make_gateway
from tests.helpers.voice_fakes import ManualClock

FRAME_20MS = bytes(640)


def test_frames_must_be_16_bit_and_short():
    assert valid_frame(FRAME_20MS)
    assert not valid_frame(b"")
    assert not valid_frame(bytes(641))  # half a sample
    assert not valid_frame(bytes(MAX_FRAME_BYTES + 2))


def test_audio_faster_than_real_time_is_refused_beyond_a_short_burst():
    clock = ManualClock(100.0)
    budget = RealTimeBudget(clock)
    burst = int(MAX_BURST_S / 0.02)
    assert all(budget.allow(FRAME_20MS) for _ in range(burst))
    assert not budget.allow(FRAME_20MS)  # 2 s ahead of the clock: a flood, not a microphone
    clock.advance(0.02)
    assert budget.allow(FRAME_20MS)  # real time goes on being accepted


def test_audio_sent_while_the_call_was_set_up_is_not_a_flood():
    clock = ManualClock(100.0)
    budget = RealTimeBudget(clock)
    clock.advance(3.0)  # the speech model loading: the page's microphone already sends

    assert all(budget.allow(FRAME_20MS) for _ in range(int(3.0 / 0.02)))


class FakeListener:
    def __init__(self) -> None:
        self.closed_with: int | None = None

    async def close(self, code: int = 1000, message: bytes = b"") -> bool:
        self.closed_with = code
        return True


def test_the_agent_loses_the_call_audio_when_the_conversation_leaves_them(tmp_path: Path):
    async def scenario() -> FakeListener:
        gateway = make_gateway(tmp_path / "gw.db", FakeAssistant())
        conversation, _ = gateway.router.start("voice")
        clock = ManualClock(0.0)
        line = BrowserLine(socket=None, clock=clock, conversation_id=conversation.id)  # type: ignore[arg-type]
        call = GatewayCall(gateway, conversation, line, clock)
        listener = FakeListener()
        call._state = State.AGENT
        call.agent_listeners.add(listener)  # type: ignore[arg-type]
        assert call.agent_may_talk
        call._on_state(State.BOT)  # handed back to the assistant
        await asyncio.sleep(0)
        assert not call.agent_may_talk and not call.agent_listeners
        return listener

    assert asyncio.run(scenario()).closed_with == 1000


def test_failures_are_logged_without_the_url_and_its_token():
    error = aiohttp.ClientResponseError(
        request_info=None,  # type: ignore[arg-type]
        history=(),
        status=401,
        message="Unauthorized",
    )
    assert _describe(error) == "ClientResponseError status=401"
    assert "token" not in _describe(asyncio.TimeoutError())


def test_a_caller_on_hold_for_a_closed_department_hears_the_callback_offer():
    place = QueuePlace("sales", 1, None, 0)
    reminder = notices.hold_reminder(place, "ventas", department_open=False)
    assert reminder.startswith("Sigue en la cola de ventas.")
    assert "le llamamos cuando abramos" in reminder
    assert "No tiene a nadie delante" in notices.hold_reminder(
        QueuePlace("sales", 1, 2, 1), "ventas", department_open=True
    )


def test_the_speech_model_is_warmed_up_at_start_or_its_absence_logged(tmp_path: Path, caplog):
    caplog.set_level("INFO", logger="bot.channels.gateway_call")
    without_model = make_gateway(tmp_path / "a.db", FakeAssistant())
    warm_up_recognizer(without_model)  # must not raise: calls say they are unavailable later
    assert "call.recognizer_unavailable" in caplog.text

    script = tmp_path / "caller.txt"
    script.write_text("hola\n", encoding="utf-8")
    scripted = make_gateway(tmp_path / "b.db", FakeAssistant(), call_script=script)
    warm_up_recognizer(scripted)
    assert "call.recognizer_ready" in caplog.text


def test_a_call_whose_recogniser_or_voice_broke_goes_to_a_person(tmp_path: Path):
    async def scenario() -> tuple[State, str | None, list[str]]:
        gateway = make_gateway(tmp_path / "gw.db", FakeAssistant())
        conversation, _ = gateway.router.start("voice")
        clock = ManualClock(0.0)
        line = BrowserLine(socket=None, clock=clock, conversation_id=conversation.id)  # type: ignore[arg-type]
        call = GatewayCall(gateway, conversation, line, clock)
        call._engines_failed()
        for _ in range(20):
            await asyncio.sleep(0.01)
        after = gateway.router.get(conversation.id)
        texts = [m.text for m in gateway.store.messages(conversation.id)]
        return after.state, after.reason, texts

    state, reason, texts = asyncio.run(scenario())
    assert (state, reason) == (State.QUEUED, "error")
    assert VOICE_APOLOGY in texts
