"""When the gateway dies in the middle of a phone call, the caller must reach people (or hear how
to reach us), and when the bot ends a call normally, the call must not take that way out.

Twilio follows the TwiML after `<Connect><Stream>` once the stream's WebSocket closes; Asterisk's
dialplan goes on after `AudioSocket()` and asks the gateway where the call goes (README, "Phone
calls"): a dead gateway answers nothing, which the dialplan takes as "to people".
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.gateway.app import build_app
from bot.handoff.models import State
from bot.settings import TelephonySettings
from tests.bot.channels.telephony.test_audiosocket import HOST, dialplan_reads_route
from tests.bot.channels.telephony.test_twilio import LINES, FakeTwilioApi, call, until
from tests.helpers.gateway_fakes import FakeAssistant, handoff_reply, make_gateway
from tests.helpers.phone_gateway import phone_gateway, spoken_line
from tests.helpers.telephony.audiosocket_peer import AudioSocketPeer
from tests.helpers.telephony.wire import audiosocket_message, twilio_signature

pytestmark = pytest.mark.timeout(120)
TOKEN = "el-token-de-la-cuenta"
HANG_UP_TWIML = "<Response><Hangup /></Response>"


async def webhook_twiml(tmp_path: Path, telephony: TelephonySettings) -> ET.Element:
    """What the voice webhook answers a new call with (a gateway that can take calls)."""
    script = tmp_path / f"caller-{len(list(tmp_path.iterdir()))}.txt"
    script.write_text("hola\n", encoding="utf-8")
    database = tmp_path / f"{script.stem}.db"
    gateway = make_gateway(database, FakeAssistant(), telephony=telephony, call_script=script)
    server = TestServer(build_app(gateway), host=HOST)
    await server.start_server()
    url = f"http://{HOST}:{server.port}/telephony/twilio/voice"
    form = {"AccountSid": "AC1", "CallSid": "CA1", "From": "+34611223344", "To": "+34910000000"}
    headers = {}
    if telephony.twilio_auth_token:
        headers["X-Twilio-Signature"] = twilio_signature(telephony.twilio_auth_token, url, form)
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as r:
        assert r.status == 200
        body = await r.text()
    await server.close()
    return ET.fromstring(body)


def test_after_the_stream_twilio_transfers_the_caller_or_says_how_to_reach_us(tmp_path: Path):
    async def answers() -> tuple[ET.Element, ET.Element, ET.Element]:
        settings = dict(audiosocket_port=0, twilio_auth_token=TOKEN)
        with_transfer = TelephonySettings(**settings, twilio_transfer_to="+34910000000")
        without_transfer = TelephonySettings(**settings)
        unsigned = TelephonySettings(audiosocket_port=0)
        return (
            await webhook_twiml(tmp_path, with_transfer),
            await webhook_twiml(tmp_path, without_transfer),
            await webhook_twiml(tmp_path, unsigned),
        )

    transfer, reach_us, unsigned = asyncio.run(answers())
    assert [verb.tag for verb in transfer] == ["Connect", "Say", "Dial"]
    say = transfer.find("Say")
    assert say is not None and say.get("language") == "es-ES"
    assert say.text == "Disculpe, ha habido un problema técnico con nuestro asistente. " + (
        "Le paso con una persona."
    )
    assert transfer.findtext("Dial/Number") == "+34910000000"

    assert [verb.tag for verb in reach_us] == ["Connect", "Say", "Hangup"]
    said = reach_us.findtext("Say") or ""
    assert said.startswith("Disculpe, ha habido un problema técnico con nuestro asistente.")
    assert "chat de nuestra web" in said and "volver a llamar" in said

    # without the auth token the bot could only end calls by closing the stream, which would
    # fall through to any TwiML after it: there is none
    assert [verb.tag for verb in unsigned] == ["Connect"]


def test_calls_the_bot_ends_never_take_the_way_out_meant_for_a_dead_gateway(tmp_path: Path):
    """A Twilio caller and an Asterisk caller on hold book a callback (their conversations
    close) and the bot hangs up: Twilio's call is ended with the call-update API, so Twilio
    never reaches the TwiML for a broken stream; Asterisk's dialplan reads `hangup`. Calls the
    caller ends, or whose line breaks, get no API call and no route: for Asterisk, nothing,
    which the dialplan takes as "to people", as it does for a call the gateway does not know
    (it died, or was restarted since)."""

    async def scenario() -> dict[str, Any]:
        api = FakeTwilioApi()
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Calls/{call}.json", api.update)
        twilio_api = TestServer(app, host=HOST)
        await twilio_api.start_server()
        settings = {
            "twilio_auth_token": TOKEN,
            "twilio_api_url": f"http://{HOST}:{twilio_api.port}",
        }
        # a closed department keeps the queue notice short: the bot hangs up after it is heard
        handed_off = handoff_reply("", department_open=False)
        assistant = FakeAssistant([handed_off, handed_off])
        async with phone_gateway(tmp_path, assistant, LINES, **settings) as (gateway, url):
            port = gateway.gateway_settings.telephony.audiosocket_port

            def queued_on(line: str) -> str | None:
                queued = [c.id for c in gateway.store.in_state(State.QUEUED) if c.line == line]
                return queued[0] if queued else None

            async def book_a_callback(line: str) -> None:
                assert await until(lambda: queued_on(line) is not None, 15)
                await gateway.router.request_callback(queued_on(line), "+34611223344", "")

            async def twilio_caller() -> Any:
                twilio = await call(url, auth_token=TOKEN)
                await twilio.wait_for_audio(0.5, timeout=10)  # the greeting has begun
                await twilio.speak(spoken_line("person"))
                await book_a_callback("twilio")
                await twilio.wait_ended(25)  # the confirmation is said, then the bot hangs up
                await twilio.close()
                return twilio

            async def asterisk_caller() -> str:
                asterisk = AudioSocketPeer()
                await asterisk.connect(HOST, port)
                await asterisk.wait_for_audio(0.5, timeout=10)
                await asterisk.speak(spoken_line("person"))
                await book_a_callback("asterisk")
                await asterisk.wait_ended(25)
                assert asterisk.hangup_received
                route = await dialplan_reads_route(url, asterisk.uuid)
                await asterisk.close()
                return route

            twilio, after_the_bot = await asyncio.gather(twilio_caller(), asterisk_caller())
            ended = list(api.updates)

            leaving = await call(url, auth_token=TOKEN)
            await leaving.wait_for_audio(0.3, timeout=10)
            await leaving.hang_up()
            await leaving.close()

            caller_left = AudioSocketPeer()
            await caller_left.connect(HOST, port)
            await caller_left.wait_for_audio(0.3, timeout=10)
            await caller_left.hang_up(send_hangup_message=False)

            broken = AudioSocketPeer()
            await broken.connect(HOST, port)
            await broken.send_raw(audiosocket_message(0x05, b"x"))
            await broken.wait_ended(10)
            await broken.close()
            await until(lambda: not gateway.calls, 10)
            found = {
                "twilio": twilio,
                "ended": ended,
                "updates": list(api.updates),
                "after_the_bot": after_the_bot,
                "after_the_caller": await dialplan_reads_route(url, caller_left.uuid),
                "after_a_broken_line": await dialplan_reads_route(url, broken.uuid),
                "unknown": await dialplan_reads_route(url, AudioSocketPeer().uuid),
                "left_over": dict(gateway.phone_calls.transfers),
            }
        await twilio_api.close()
        return found

    found = asyncio.run(scenario())
    twilio = found["twilio"]
    assert len(found["ended"]) == 1
    path, authorization, form = found["ended"][0]
    assert path == f"/2010-04-01/Accounts/{twilio.account_sid}/Calls/{twilio.call_sid}.json"
    assert authorization.startswith("Basic ") and form["Twiml"] == HANG_UP_TWIML
    assert found["updates"] == found["ended"]  # the caller who hung up needed no API call
    assert found["after_the_bot"] == "hangup"
    assert (found["after_the_caller"], found["after_a_broken_line"], found["unknown"]) == (
        "",
        "",
        "",
    )
    assert found["left_over"] == {}  # nothing kept for calls whose dialplan will never ask
