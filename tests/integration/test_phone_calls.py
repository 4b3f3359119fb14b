"""Phone calls end to end: a Twilio Media Stream and an Asterisk AudioSocket, played by peers
that follow the published protocols, through a real gateway process, the voice pipeline (VAD,
Whisper recognising the caller's Spanish through the 8 kHz line, turn-taking, Pico's voice),
the real Rasa and action servers, and the agent desk.

The callers speak in SVOX Pico's Spanish voice; everything after the microphone is real.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.helpers.desk_api import AGENT_VOICE, DeskApi
from tests.helpers.live import in_a_thread, second_gateway
from tests.helpers.spanish_speech import pico_speech
from tests.helpers.telephony.audiosocket_peer import AudioSocketPeer
from tests.helpers.telephony.twilio_peer import TwilioPeer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PHONE_GATEWAY_PORT = 18002
AUDIOSOCKET_PORT = 18093
CALLER_LINES = [
    "¿A qué hora abre la tienda de Gran Vía?",
    "¿Dónde está mi pedido?",
    "Quiero hablar con una persona.",
]


@pytest.fixture(scope="module")
def phone_gateway_url(
    live_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    data = tmp_path_factory.mktemp("phone-gateway")
    environ = {
        "BOT_STT_ENGINE": "whisper",
        "BOT_AUDIOSOCKET_PORT": str(AUDIOSOCKET_PORT),
        "BOT_HOLD_PROMPT_S": "3600",
    }
    with second_gateway(live_settings, PHONE_GATEWAY_PORT, data, **environ) as url:
        yield url


def test_a_twilio_caller_gets_answers_cuts_in_keys_an_order_and_talks_with_an_agent(
    phone_gateway_url: str,
):
    result = in_a_thread(_twilio_call(phone_gateway_url))
    twilio, transcript, waiting, agent_heard_bytes, caller_heard_agent = result

    assert twilio.violations == []
    texts = "\n".join(m["text"] for m in transcript)
    assert "La tienda de Madrid Gran Vía abre" in texts  # the real answer to the first question
    assert twilio.clears, "speaking over the answer did not clear Twilio's buffer"
    assert "(teclado) 48213" in texts and "(teclado) 28013" in texts
    assert "Su pedido está en camino. Le llegará mañana." in texts  # the voice variant
    assert waiting["line"] == "twilio" and waiting["caller"] == "+34 611 223 344"
    assert agent_heard_bytes >= 16_000  # half a second of the caller reached the agent
    assert caller_heard_agent > 0.1  # and the agent's voice reached the phone


async def _twilio_call(url: str) -> tuple[TwilioPeer, list[dict[str, Any]], Any, int, float]:
    twilio = TwilioPeer(url)
    await twilio.dial(caller="+34611223344")
    await twilio.connect()
    conversation_id = twilio.custom_parameters["conversation"]
    await twilio.wait_for_audio(1.0, timeout=15)
    await twilio.wait_until_quiet(0.6, timeout=20)
    # the hours, then the order question over the answer
    before = twilio.heard_seconds()
    await twilio.speak(pico_speech(CALLER_LINES[0]))
    await twilio.wait_for_audio(before + 1.0, timeout=15)
    await twilio.speak(pico_speech(CALLER_LINES[1]))
    await _until_said(url, conversation_id, "número de pedido")
    await twilio.wait_until_quiet(0.8, timeout=20)
    await twilio.press("48213#")
    await _until_said(url, conversation_id, "código postal")
    await twilio.wait_until_quiet(0.8, timeout=20)
    await twilio.press("28013#")
    await _until_said(url, conversation_id, "está en camino")
    await twilio.wait_until_quiet(0.8, timeout=30)
    await twilio.speak(pico_speech(CALLER_LINES[2]))
    await _until_said(url, conversation_id, "pulse uno")  # nobody online yet: the offer
    async with _Desk(url) as desk:
        waiting = await desk.waiting(conversation_id)
        await desk.post(f"conversations/{conversation_id}/accept")
        agent_heard, caller_heard = await desk.talk(conversation_id, twilio)
        transcript = await desk.transcript(conversation_id)
    await twilio.hang_up()
    await twilio.close()
    return twilio, transcript, waiting, agent_heard, caller_heard


def test_an_asterisk_caller_is_answered_and_a_lone_0_reaches_the_desk(phone_gateway_url: str):
    result = in_a_thread(_asterisk_call(phone_gateway_url))
    asterisk, transcript, waiting = result

    assert asterisk.violations == [] and asterisk.errors == []
    texts = "\n".join(m["text"] for m in transcript)
    assert "La tienda de Madrid Gran Vía abre" in texts
    assert "(teclado) 0: pide hablar con una persona" in texts
    assert waiting["line"] == "asterisk" and waiting["caller"] == "+34 622 334 455"
    assert waiting["reason"] == "user_request"


async def _asterisk_call(url: str) -> tuple[AudioSocketPeer, list[dict[str, Any]], Any]:
    asterisk = AudioSocketPeer()
    async with aiohttp.ClientSession() as http:
        form = {"uuid": str(asterisk.uuid), "caller": "+34622334455"}
        async with http.post(f"{url}/telephony/asterisk/calls", data=form) as answer:
            assert answer.status == 200
    await asterisk.connect("127.0.0.1", AUDIOSOCKET_PORT)
    await asterisk.wait_for_audio(1.0, timeout=15)
    await asterisk.wait_until_quiet(0.6, timeout=20)
    before = asterisk.heard_seconds()
    await asterisk.speak(pico_speech(CALLER_LINES[0]))
    await asterisk.wait_for_audio(before + 1.0, timeout=15)
    await asterisk.wait_until_quiet(0.8, timeout=30)  # the whole answer was heard
    await asterisk.press("0")
    async with _Desk(url) as desk:
        conversation_id = await desk.waiting_on("asterisk")
        waiting = await desk.waiting(conversation_id)
        transcript = await desk.transcript(conversation_id)
    await asterisk.hang_up(send_hangup_message=False)
    await asterisk.close()
    return asterisk, transcript, waiting


async def _until_said(url: str, conversation_id: str, words: str) -> None:
    async with _Desk(url) as desk:
        await desk.until_said(conversation_id, words)


class _Desk(DeskApi):
    """The supervisor at the agent desk, who also finds calls by line and talks on them."""

    async def waiting_on(self, line: str) -> str:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = [w for w in await self.queue_lines() if w["line"] == line]
            if lines:
                return str(lines[0]["id"])
            await asyncio.sleep(0.3)
        raise AssertionError(f"no {line} call reached the desk's queue")

    async def talk(self, conversation_id: str, twilio: TwilioPeer) -> tuple[int, float]:
        """The agent's 'Hablar': hears the caller, speaks half a second into the call."""
        url = f"{self.url.replace('http', 'ws')}/api/desk/conversations/{conversation_id}/audio"
        heard = 0
        async with self.http.ws_connect(url, headers={"Origin": self.url}) as microphone:
            await twilio.wait_until_quiet(0.3, timeout=20)  # the bot has said "Le atiende…"
            before = twilio.heard_seconds()
            for _ in range(25):
                await microphone.send_bytes(AGENT_VOICE)
                await asyncio.sleep(0.02)
            deadline = time.monotonic() + 10
            while heard < 16_000 and time.monotonic() < deadline:
                message = await microphone.receive(timeout=5)
                if message.type == aiohttp.WSMsgType.BINARY:
                    heard += len(message.data)
            await asyncio.sleep(0.3)
            return heard, twilio.heard_seconds() - before


def test_hang_ups_mid_reply_and_broken_lines_leave_the_other_calls_unharmed(
    phone_gateway_url: str,
):
    healthy, broken_twilio, broken_asterisk, gone = in_a_thread(_rough_lines(phone_gateway_url))

    assert healthy.violations == [] and healthy.close_code in (None, 1000)
    assert broken_twilio.close_code == 1007  # bad base64: an error and a clean close
    assert [code for _, code in broken_asterisk.errors] == [b"\x01"]  # a frame of odd length
    assert gone == "caller hung up"


async def _rough_lines(url: str) -> tuple[TwilioPeer, TwilioPeer, AudioSocketPeer, str]:
    healthy, broken_twilio, leaving = TwilioPeer(url), TwilioPeer(url), TwilioPeer(url)
    for peer in (healthy, broken_twilio, leaving):
        await peer.dial()
        await peer.connect()
    broken_asterisk = AudioSocketPeer()
    await broken_asterisk.connect("127.0.0.1", AUDIOSOCKET_PORT)
    await leaving.wait_until_quiet(0.6, timeout=20)
    before = leaving.heard_seconds()
    await leaving.speak(pico_speech(CALLER_LINES[0]))  # the long opening-hours answer…
    await leaving.wait_for_audio(before + 0.8, timeout=15)
    await leaving.hang_up()  # …cut short by the caller hanging up
    await broken_twilio.send_raw('{"event": "media", "media": {"payload": "no es base64!"}}')
    await broken_asterisk.send_raw(bytes([0x10, 0x00, 0x03, 1, 2, 3]))
    await broken_twilio.wait_ended(5)
    await broken_asterisk.wait_ended(5)
    # the healthy caller, who waited through all that, is answered by the real assistant
    await healthy.wait_until_quiet(0.6, timeout=20)
    before = healthy.heard_seconds()
    await healthy.speak(pico_speech(CALLER_LINES[0]))
    await healthy.wait_for_audio(before + 1.0, timeout=15)
    async with _Desk(url) as desk:
        transcript = await desk.transcript(healthy.custom_parameters["conversation"])
    texts = [m["text"] for m in transcript]
    assert any("La tienda de Madrid Gran Vía abre" in text for text in texts), texts
    await healthy.hang_up()
    for peer in (healthy, broken_twilio, leaving, broken_asterisk):
        await peer.close()
    return healthy, broken_twilio, broken_asterisk, leaving.ended_reason or ""
