"""Asterisk calls over AudioSocket through the real gateway app, lines, pipeline and voice,
driven by a peer that speaks the AudioSocket protocol byte by byte; Rasa is a FakeAssistant."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.assistant.contract import BotReply
from bot.gateway.app import build_app
from bot.handoff.models import State
from bot.settings import TelephonySettings
from tests.bot.channels.telephony.test_twilio import LINES, until
from tests.helpers.gateway_fakes import FakeAssistant, handoff_reply, make_gateway
from tests.helpers.phone_gateway import free_port, phone_gateway, spoken_line
from tests.helpers.telephony.audiosocket_peer import AudioSocketPeer
from tests.helpers.telephony.wire import audiosocket_message

pytestmark = pytest.mark.timeout(120)
HOST = "127.0.0.1"


async def dialplan_registers(url: str, call_uuid: uuid.UUID, caller: str) -> None:
    """What `Set(…=${CURL(…/telephony/asterisk/calls,uuid=${UUID}&caller=…)})` does."""
    async with aiohttp.ClientSession() as http:
        form = {"uuid": str(call_uuid), "caller": caller}
        async with http.post(f"{url}/telephony/asterisk/calls", data=form) as answer:
            assert answer.status == 200


async def dialplan_reads_route(url: str, call_uuid: uuid.UUID) -> str:
    route = f"{url}/telephony/asterisk/calls/{call_uuid}/route"
    async with aiohttp.ClientSession() as http, http.get(route) as answer:
        return await answer.text()


def conversation_of(gateway: Any, line: str = "asterisk") -> Any:
    calls = [c for c in gateway.store.in_state(State.BOT) if c.line == line]
    calls += [c for c in gateway.store.in_state(State.QUEUED) if c.line == line]
    return calls[-1]


def test_an_asterisk_call_is_answered_takes_keypad_digits_and_knows_the_callers_number(
    tmp_path: Path,
):
    async def scenario() -> tuple[AudioSocketPeer, FakeAssistant, Any]:
        assistant = FakeAssistant([BotReply(["Abrimos a las diez."]), BotReply(["Gracias."])])
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, url):
            port = gateway.gateway_settings.telephony.audiosocket_port
            asterisk = AudioSocketPeer()
            await dialplan_registers(url, asterisk.uuid, "611223344")
            await asterisk.connect(HOST, port)
            await asterisk.wait_for_audio(1.0, timeout=10)
            await asterisk.wait_until_quiet(0.5, timeout=15)
            before = asterisk.heard_seconds()
            await asterisk.speak(spoken_line("hours"))
            await asterisk.wait_for_audio(before + 0.5, timeout=10)
            await asterisk.wait_until_quiet(0.5, timeout=15)
            await asterisk.press("48213#")
            await asterisk.wait_for_audio(asterisk.heard_seconds() + 0.3, timeout=10)
            conversation = conversation_of(gateway)
            await asterisk.hang_up(send_hangup_message=False)  # as app_audiosocket.c does
            await until(lambda: not gateway.calls)
            return asterisk, assistant, conversation

    asterisk, assistant, conversation = asyncio.run(scenario())
    assert asterisk.violations == [] and asterisk.errors == []
    assert conversation.caller == "611223344"
    assert assistant.sent[0][1] == "a qué hora abren mañana"
    assert assistant.sent[0][3]["line"] == "asterisk"
    assert assistant.sent[1][1] == "48213" and assistant.sent[1][3]["input"] == "keypad"
    # the bot's voice was sent at the pace it is heard, never far ahead (Asterisk has no buffer)
    assert asterisk.max_backlog_s < 0.1


BROKEN = {
    "a message type Asterisk never sends": audiosocket_message(0x05, b"x"),
    "audio with half a sample": audiosocket_message(0x10, bytes(321)),
    "a keypad message of two digits": audiosocket_message(0x03, b"12"),
    "empty audio": audiosocket_message(0x10, b""),
}


def test_malformed_messages_get_an_error_and_a_hang_up_while_another_call_goes_on(
    tmp_path: Path,
):
    async def scenario() -> tuple[AudioSocketPeer, list[AudioSocketPeer], AudioSocketPeer]:
        assistant = FakeAssistant([BotReply(["Abrimos a las diez."])])
        async with phone_gateway(tmp_path, assistant, LINES) as (gateway, _):
            port = gateway.gateway_settings.telephony.audiosocket_port
            healthy = AudioSocketPeer()
            await healthy.connect(HOST, port)
            broken_calls = []
            for message in BROKEN.values():
                peer = AudioSocketPeer()
                await peer.connect(HOST, port)
                await peer.send_raw(message)
                broken_calls.append(peer)
            no_uuid = AudioSocketPeer()
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(audiosocket_message(0x10, bytes(320)))  # audio before the UUID
            first = await asyncio.wait_for(reader.read(16), 5)
            writer.close()
            for peer in broken_calls:
                await peer.wait_ended(5)
                await peer.close()
            await healthy.wait_until_quiet(0.5, timeout=15)
            before = healthy.heard_seconds()
            await healthy.speak(spoken_line("hours"))
            await healthy.wait_for_audio(before + 0.5, timeout=10)
            await healthy.hang_up()
            no_uuid.errors.append((0.0, first))
            return healthy, broken_calls, no_uuid

    healthy, broken_calls, no_uuid = asyncio.run(scenario())
    for peer in broken_calls:
        assert [code for _, code in peer.errors] == [b"\x01"], peer.ended_reason
    assert no_uuid.errors[0][1] == audiosocket_message(0xFF, b"\x01") + audiosocket_message(0)
    assert healthy.violations == [] and healthy.errors == []


def test_a_handoff_leaves_audiosocket_for_the_dialplans_queue_when_configured(tmp_path: Path):
    async def scenario() -> tuple[AudioSocketPeer, str, str, Any]:
        assistant = FakeAssistant([handoff_reply("Le paso con una persona de ventas.")])
        settings = {"asterisk_transfer_to": "ventas"}
        async with phone_gateway(tmp_path, assistant, LINES, **settings) as (gateway, url):
            port = gateway.gateway_settings.telephony.audiosocket_port
            asterisk = AudioSocketPeer()
            await dialplan_registers(url, asterisk.uuid, "+34611223344")
            await asterisk.connect(HOST, port)
            await asterisk.wait_until_quiet(0.5, timeout=15)
            await asterisk.speak(spoken_line("person"))
            await asterisk.wait_ended(20)  # after the transfer words, AudioSocket() returns
            route = await dialplan_reads_route(url, asterisk.uuid)
            again = await dialplan_reads_route(url, asterisk.uuid)
            await until(lambda: not gateway.calls)
            conversation = conversation_of(gateway)
            await asterisk.close()
            return asterisk, route, again, conversation

    asterisk, route, again, conversation = asyncio.run(scenario())
    assert asterisk.hangup_received and asterisk.heard_seconds() > 1.0
    assert (route, again) == ("ventas", "")
    assert conversation.state == State.QUEUED  # on the desk, with what was said
    assert conversation.handoff["transferred_to"] == "ventas"


def test_without_a_speech_model_the_dialplan_gets_the_call_back_at_once_for_a_person(
    tmp_path: Path,
):
    async def scenario() -> tuple[AudioSocketPeer, str]:
        telephony = TelephonySettings(audiosocket_port=free_port(), asterisk_transfer_to="ventas")
        gateway = make_gateway(tmp_path / "gw.db", FakeAssistant(), telephony=telephony)
        server = TestServer(build_app(gateway), host=HOST)
        await server.start_server()
        asterisk = AudioSocketPeer()
        await asterisk.connect(HOST, telephony.audiosocket_port)
        await asterisk.wait_ended(5)
        route = await dialplan_reads_route(f"http://{HOST}:{server.port}", asterisk.uuid)
        await asterisk.close()
        await server.close()
        return asterisk, route

    asterisk, route = asyncio.run(scenario())
    assert asterisk.hangup_received and route == "ventas"
