"""Twilio calls through the real gateway app, lines, pipeline and voice, driven by a peer that
speaks Twilio's published protocol; Rasa is a FakeAssistant, the caller's words are scripted
(the end-to-end calls against the real Rasa are in tests/integration/test_phone_calls.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.assistant.contract import BotReply
from bot.channels.telephony.twilio import dial
from bot.gateway.app import build_app
from bot.handoff import notices
from bot.handoff.models import State
from bot.settings import TelephonySettings
from tests.helpers.gateway_fakes import FakeAssistant, handoff_reply, make_gateway
from tests.helpers.phone_gateway import phone_gateway, spoken_line
from tests.helpers.telephony.twilio_peer import TwilioPeer
from tests.helpers.telephony.wire import twilio_signature

pytestmark = pytest.mark.timeout(120)
LINES = ["¿A qué hora abren mañana?", "Quiero hablar con una persona."]
LONG_REPLY = BotReply(
    [
        "Abrimos de lunes a viernes de diez de la mañana a nueve de la noche. "
        "Los sábados abrimos de diez a dos. Los domingos y festivos está cerrado."
    ]
)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def call(base_url: str, **peer: Any) -> TwilioPeer:
    """A caller who dialled and whose stream is up."""
    twilio = TwilioPeer(base_url, **peer)
    await twilio.dial(caller="+34 611 22 33 44")
    await twilio.connect()
    return twilio


def test_the_webhook_answers_twiml_for_a_bidirectional_stream(tmp_path: Path):
    async def scenario() -> None:
        async with phone_gateway(tmp_path, FakeAssistant(), LINES) as (gateway, url):
            twilio = TwilioPeer(url)
            await twilio.dial(caller="+34611223344")
            assert twilio.stream_url == url.replace("http://", "ws://") + "/telephony/twilio/stream"
            conversation = gateway.router.get(twilio.custom_parameters["conversation"])
            assert (conversation.line, conversation.caller) == ("twilio", "+34611223344")
            assert gateway.store.token_matches(conversation.id, twilio.custom_parameters["token"])
            await twilio.close()

    run(scenario())


def test_with_an_auth_token_only_twilios_signed_webhooks_are_answered(tmp_path: Path):
    async def scenario() -> None:
        settings = {"twilio_auth_token": "el-token-de-la-cuenta"}
        async with phone_gateway(tmp_path, FakeAssistant(), LINES, **settings) as (_, url):
            genuine = TwilioPeer(url, auth_token="el-token-de-la-cuenta")
            await genuine.dial()
            forged = TwilioPeer(url, auth_token="otro-token")
            with pytest.raises(AssertionError, match="answered 403"):
                await forged.dial()
            for peer in (genuine, forged):
                await peer.close()

    run(scenario())


def test_a_stream_without_its_calls_token_is_closed(tmp_path: Path):
    async def scenario() -> int | None:
        async with phone_gateway(tmp_path, FakeAssistant(), LINES) as (_, url):
            twilio = TwilioPeer(url)
            await twilio.dial()
            twilio.custom_parameters["token"] = "adivinado"
            await twilio.connect()
            await twilio.wait_ended(5)
            await twilio.close()
            return twilio.close_code

    assert run(scenario()) == 4401


def test_a_call_is_greeted_answered_marked_and_takes_keypad_digits(tmp_path: Path):
    async def scenario() -> tuple[TwilioPeer, FakeAssistant, list[str]]:
        assistant = FakeAssistant([BotReply(["Abrimos a las diez."]), BotReply(["Gracias."])])
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, url):
            twilio = await call(url)
            await twilio.wait_for_audio(1.0, timeout=10)  # the greeting, synthesised
            await twilio.wait_until_quiet(0.5, timeout=15)
            greeting = twilio.heard_seconds()
            await twilio.speak(spoken_line("hours"))
            await twilio.wait_for_audio(greeting + 0.5, timeout=10)  # the answer
            await twilio.wait_until_quiet(0.5, timeout=15)
            await twilio.press("48213#")
            await twilio.wait_for_audio(twilio.heard_seconds() + 0.3, timeout=10)
            await twilio.hang_up()
            await twilio.close()
            conversation_id = twilio.custom_parameters["conversation"]
            await until(lambda: conversation_id not in gateway.calls)
            texts = [m.text for m in gateway.store.messages(conversation_id)]
            return twilio, assistant, texts

    twilio, assistant, texts = run(scenario())
    assert twilio.violations == []
    said, keyed = assistant.sent[0], assistant.sent[1]
    assert said[1] == "a qué hora abren mañana" and said[2] == "voice"  # as recognised
    assert said[3]["line"] == "twilio" and said[3]["caller"] == "+34611223344"
    assert keyed[1] == "48213" and keyed[3]["input"] == "keypad"
    assert "(teclado) 48213" in texts and "Abrimos a las diez." in texts
    # each reply ends with a mark, which Twilio sends back once it has been played
    assert len(twilio.marks) >= 2 and len(twilio.marks_sent_back) >= 2


def test_speaking_over_the_bot_clears_twilios_buffer(tmp_path: Path):
    async def scenario() -> TwilioPeer:
        assistant = FakeAssistant([LONG_REPLY])
        async with phone_gateway(tmp_path, assistant, LINES) as (_, url):
            twilio = await call(url)
            await twilio.wait_until_quiet(0.5, timeout=15)
            await twilio.speak(spoken_line("hours"))
            await twilio.wait_for_audio(twilio.heard_seconds() + 1.0, timeout=10)
            await twilio.speak(spoken_line("person"))
            await twilio.hang_up()
            await twilio.close()
            return twilio

    twilio = run(scenario())
    assert twilio.clears, "the bot's reply was not cleared when the caller spoke over it"
    assert twilio.violations == []


def test_a_lone_zero_asks_for_a_person(tmp_path: Path):
    async def scenario() -> tuple[FakeAssistant, State]:
        assistant = FakeAssistant([handoff_reply()])
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, url):
            twilio = await call(url)
            await twilio.wait_for_audio(0.5, timeout=10)
            await twilio.press("0")  # no "#": the pause ends the entry
            conversation_id = twilio.custom_parameters["conversation"]
            await until(lambda: gateway.router.get(conversation_id).state == State.QUEUED, 8)
            state = gateway.router.get(conversation_id).state
            await twilio.hang_up()
            await twilio.close()
            return assistant, state

    assistant, state = run(scenario())
    assert assistant.texts == ["/request_human"] and state == State.QUEUED


BROKEN = {
    "esto no es JSON": "message is not JSON",
    '{"event": "media", "media": {"payload": "%%%"}}': "media payload is not base64",
    '{"event": "saludo"}': "unexpected event 'saludo'",
    '{"event": "dtmf", "dtmf": {"digit": "x"}}': "unknown keypad key 'x'",
}


def test_malformed_messages_end_their_streams_cleanly_while_another_call_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    async def scenario() -> tuple[TwilioPeer, list[TwilioPeer]]:
        assistant = FakeAssistant([BotReply(["Abrimos a las diez."])])
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, url):
            healthy = await call(url)
            broken_calls = [await call(url) for _ in BROKEN]
            for peer, message in zip(broken_calls, BROKEN, strict=True):
                await peer.send_raw(message)
            for peer in broken_calls:
                await peer.wait_ended(5)
                await peer.close()
            await until(lambda: list(gateway.calls) == [healthy.custom_parameters["conversation"]])
            await healthy.wait_until_quiet(0.5, timeout=15)
            before = healthy.heard_seconds()
            await healthy.speak(spoken_line("hours"))
            await healthy.wait_for_audio(before + 0.5, timeout=10)
            await healthy.hang_up()
            await healthy.close()
            return healthy, broken_calls

    healthy, broken_calls = run(scenario())
    assert [peer.close_code for peer in broken_calls] == [1007] * len(BROKEN)
    for why in BROKEN.values():
        assert why in caplog.text
    assert healthy.violations == [] and healthy.close_code in (None, 1000)


def test_hanging_up_in_the_middle_of_a_reply_ends_the_call_at_once(tmp_path: Path):
    async def scenario() -> bool:
        assistant = FakeAssistant([LONG_REPLY])
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, url):
            twilio = await call(url)
            await twilio.wait_until_quiet(0.5, timeout=15)
            await twilio.speak(spoken_line("hours"))
            await twilio.wait_for_audio(twilio.heard_seconds() + 0.5, timeout=10)
            await twilio.hang_up()  # the bot is still talking
            await twilio.close()
            conversation_id = twilio.custom_parameters["conversation"]
            return await until(lambda: conversation_id not in gateway.calls, 3)

    assert run(scenario())


class FakeTwilioApi:
    """Twilio's REST API as far as a call update goes: records what it was asked.

    Args:
        status: what it answers (Twilio answers 200 with the call; 4xx/5xx when it refuses).
    """

    def __init__(self, status: int = 200) -> None:
        self.updates: list[tuple[str, str, dict[str, str]]] = []
        self.status = status

    async def update(self, request: web.Request) -> web.Response:
        form = {name: str(value) for name, value in (await request.post()).items()}
        self.updates.append((request.path, request.headers.get("Authorization", ""), form))
        body = {"sid": request.match_info["call"], "status": "in-progress"}
        return web.json_response(body, status=self.status)


@pytest.mark.parametrize("twilio_answers", [200, 500])
def test_a_handoff_is_transferred_through_twilios_call_update_api(
    tmp_path: Path, twilio_answers: int
):
    async def scenario() -> tuple[FakeTwilioApi, TwilioPeer, Any, list[str]]:
        api = FakeTwilioApi(twilio_answers)
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls/{call}.json", api.update)
        twilio_api = TestServer(app, host="127.0.0.1")
        await twilio_api.start_server()
        settings = {
            "twilio_auth_token": "el-token",
            "twilio_transfer_to": "+34910000000",
            "twilio_api_url": f"http://127.0.0.1:{twilio_api.port}",
        }
        assistant = FakeAssistant([handoff_reply("Le paso con una persona de ventas.")])
        async with phone_gateway(tmp_path, assistant, LINES, **settings) as (gateway, url):
            twilio = await call(url, auth_token="el-token")
            await twilio.wait_until_quiet(0.5, timeout=15)
            await twilio.speak(spoken_line("person"))
            await until(lambda: bool(api.updates), 20)
            conversation_id = twilio.custom_parameters["conversation"]
            if twilio_answers != 200:  # the caller is told, and waits on the line
                said = lambda: [m.text for m in gateway.store.messages(conversation_id)]  # noqa: E731
                await until(lambda: notices.TRANSFER_FAILED in said(), 10)
                await twilio.wait_for_audio(twilio.heard_seconds() + 1.0, timeout=10)
            await twilio.hang_up()  # Twilio ends the stream once the call follows the <Dial>
            await twilio.close()
            await until(lambda: conversation_id not in gateway.calls)
            conversation = gateway.router.get(conversation_id)
            texts = [m.text for m in gateway.store.messages(conversation_id)]
        await twilio_api.close()
        return api, twilio, conversation, texts

    api, twilio, conversation, texts = run(scenario())
    if twilio_answers != 200:  # refused: the caller stays in the desk's queue and is told
        assert conversation.state == State.CLOSED  # (the test's caller hung up afterwards)
        assert "transferred_to" not in conversation.handoff
        assert notices.TRANSFER_FAILED in texts
        return
    assert len(api.updates) == 1  # the transfer only: the transferred call is not hung up
    path, authorization, form = api.updates[0]
    assert path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls/{twilio.call_sid}.json"
    assert authorization.startswith("Basic ")
    assert form["Twiml"] == "<Response><Dial><Number>+34910000000</Number></Dial></Response>"
    # the transfer words were heard before the call left
    assert twilio.heard_seconds() > 1.0
    assert conversation.state == State.QUEUED
    assert conversation.handoff["transferred_to"] == "+34910000000"
    assert not any("+34910000000" in text for text in texts)  # the caller heard no number


def test_a_caller_on_hold_presses_1_and_is_called_back_on_their_number(tmp_path: Path):
    async def scenario() -> tuple[list[Any], State, list[str]]:
        assistant = FakeAssistant([handoff_reply()])  # nobody online: a callback is offered
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, url):
            twilio = await call(url)
            await twilio.wait_until_quiet(0.5, timeout=15)
            await twilio.speak(spoken_line("person"))
            conversation_id = twilio.custom_parameters["conversation"]
            await until(lambda: gateway.router.get(conversation_id).state == State.QUEUED, 10)
            await twilio.press("1#")
            await twilio.wait_ended(25)  # the confirmation is said, then the call hangs up
            callbacks = gateway.store.open_callbacks()
            state = gateway.router.get(conversation_id).state
            texts = [m.text for m in gateway.store.messages(conversation_id)]
            await twilio.close()
            return callbacks, state, texts

    callbacks, state, texts = run(scenario())
    assert [c.phone for c in callbacks] == ["+34611223344"]
    assert state == State.CLOSED
    assert any("pulse uno" in t for t in texts)
    assert any(t.startswith("Hecho: le llamaremos al +34 611 223 344") for t in texts)


async def until(condition: Any, timeout: float = 5.0) -> bool:
    """Waits for `condition()`; False if it did not come true in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def test_transfers_dial_numbers_and_sip_addresses_with_the_conversation():
    assert ET.tostring(dial("+34910000000", "c1"), encoding="unicode") == (
        "<Response><Dial><Number>+34910000000</Number></Dial></Response>"
    )
    assert ET.tostring(dial("sip:colas@pbx.example.com", "c1"), encoding="unicode") == (
        "<Response><Dial><Sip>sip:colas@pbx.example.com?X-Conversation=c1</Sip></Dial></Response>"
    )


def test_without_a_speech_model_a_twilio_caller_is_told_and_passed_to_a_person(tmp_path: Path):
    """make_gateway points the speech model at a missing folder, and no caller script is set."""

    async def answer_of(transfer_to: str, **gateway_settings: Any) -> str:
        telephony = TelephonySettings(
            audiosocket_port=0, twilio_transfer_to=transfer_to, twilio_auth_token="t"
        )
        database = tmp_path / f"gw-{bool(transfer_to)}-{len(gateway_settings)}.db"
        gateway = make_gateway(database, FakeAssistant(), telephony=telephony, **gateway_settings)
        server = TestServer(build_app(gateway), host="127.0.0.1")
        await server.start_server()
        url = f"http://127.0.0.1:{server.port}/telephony/twilio/voice"
        form = {"CallSid": "CA1", "From": "+34611223344", "To": "+34910000000"}
        headers = {"X-Twilio-Signature": twilio_signature("t", url, form)}
        async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as r:
            body = await r.text()
        await server.close()
        return body

    with_person, without = run(answer_of("+34910000000")), run(answer_of(""))
    assert "no está disponible. Le paso con una persona.</Say><Dial><Number>+34910000000" in (
        with_person
    )
    assert "volver a llamar dentro de un rato. Gracias.</Say><Hangup /></Response>" in without
    # all lines busy (even with a speech model): the same way out
    script = tmp_path / "caller.txt"
    script.write_text("hola\n", encoding="utf-8")
    busy = run(answer_of("+34910000000", max_calls=0, call_script=script))
    assert "líneas del asistente telefónico están ocupadas. Le paso con una persona." in busy
    assert "<Dial><Number>+34910000000</Number></Dial>" in busy
