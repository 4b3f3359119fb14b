"""A healthy phone call beside broken ones, on the live gateway's AudioSocket port: while a
caller is greeted, hypothesis opens connection after connection that breaks the protocol (the
same byte streams as the unit tests, tests/bot/channels/telephony/test_audiosocket_fuzz.py,
each after a real call UUID or without one). Each broken connection must get its clear answer
and be closed; the healthy caller must hear the whole greeting, and then the real assistant's
answer to a question.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Awaitable, Iterator
from typing import TypeVar

import pytest
import requests
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.settings import Settings
from tests.helpers.live import AUDIOSOCKET_PORT, SUPERVISOR, in_a_thread
from tests.helpers.spanish_speech import pico_speech
from tests.helpers.telephony.audiosocket_fuzz import ERROR, HANGUP, UUID, message, model, streams
from tests.helpers.telephony.audiosocket_peer import AudioSocketPeer
from tests.helpers.telephony.wire import AUDIOSOCKET_AUDIO, parse_audiosocket

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

T = TypeVar("T")
BROKEN_ANSWER = message(ERROR, b"\x01") + message(HANGUP)
QUESTION = "¿A qué hora abre la tienda de Gran Vía?"
ANSWER = "La tienda de Madrid Gran Vía abre"
BROKEN_LINES = 6  # each one with a UUID is a real call on the live gateway (greeting and all)
CALLER, CALLER_GROUPED = "+34699000111", "+34 699 000 111"  # no other test calls from it


class LoopThread:
    """An event loop of its own for the healthy caller, who must go on being served (and go
    on sending line silence in real time) while hypothesis runs the broken lines."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Awaitable[T], timeout: float = 60) -> T:
        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


@pytest.fixture
def healthy_loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


broken_lines = st.builds(
    lambda with_uuid, call_uuid, stream: (message(UUID, call_uuid) if with_uuid else b"", stream),
    st.booleans(),
    st.uuids().map(lambda u: u.bytes),
    streams,
)


async def _broken_line(host: str, data: bytes) -> bytes:
    """Sends `data`, ends the sending side, and reads what the gateway answers until it closes."""
    reader, writer = await asyncio.open_connection(host, AUDIOSOCKET_PORT)
    try:
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        received = b""
        while chunk := await asyncio.wait_for(reader.read(65536), 20):
            received += chunk
        return received
    finally:
        writer.close()


def test_a_healthy_call_keeps_its_audio_and_answers_beside_fuzzed_broken_lines(
    live_settings: Settings, gateway_url: str, healthy_loop: LoopThread
):
    host = live_settings.host
    healthy = healthy_loop.run(_make_peer())
    _register(gateway_url, healthy.uuid, CALLER)
    healthy_loop.run(healthy.connect(host, AUDIOSOCKET_PORT))
    healthy_loop.run(healthy.wait_for_audio(0.5, timeout=30))  # the greeting has begun
    answers: list[tuple[bool, bool, bytes]] = []

    @settings(
        max_examples=BROKEN_LINES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(line=broken_lines)
    # besides what hypothesis draws: a call that breaks the protocol, a line with no call UUID
    @example(line=(message(UUID, uuid.uuid4().bytes), [(AUDIOSOCKET_AUDIO, bytes(321))]))
    @example(line=(b"", [(AUDIOSOCKET_AUDIO, bytes(320))]))
    def broken_line(line: tuple[bytes, list[tuple[int, bytes]]]) -> None:
        first, stream = line
        rest = b"".join(message(kind, payload) for kind, payload in stream)
        received = in_a_thread(_broken_line(host, first + rest))
        answers.append((bool(first), model(rest).broken, received))
        if not first:  # no call's UUID first: refused at once
            assert received == BROKEN_ANSWER
            return
        messages, unfinished = parse_audiosocket(received)
        assert unfinished == b""
        kinds = [kind for kind, _ in messages]
        errors = [index for index, kind in enumerate(kinds) if kind == ERROR]
        # the greeting's audio, then (when the line broke the protocol) its error and hang-up
        if errors or model(rest).broken:
            assert kinds[-2:] == [ERROR, HANGUP] and errors == [len(kinds) - 2], kinds[-5:]
            assert messages[-2][1] == b"\x01"
        assert set(kinds[:-2]) <= {AUDIOSOCKET_AUDIO}, kinds

    broken_line()
    healthy_loop.run(healthy.wait_until_quiet(0.8, timeout=60))
    greeting = healthy.heard_seconds()
    before = greeting
    healthy_loop.run(healthy.speak(pico_speech(QUESTION)))
    healthy_loop.run(healthy.wait_for_audio(before + 1.0, timeout=45))
    healthy_loop.run(healthy.wait_until_quiet(0.8, timeout=60))
    healthy_loop.run(healthy.press("0#"))  # a person, please: the call shows at the desk
    transcript = _transcript_at_the_desk(gateway_url, CALLER)
    healthy_loop.run(healthy.hang_up())

    assert len(answers) >= 2  # (each one was checked as it ran)
    assert any(with_uuid and broken for with_uuid, broken, _ in answers)  # a call that broke
    assert any(not with_uuid for with_uuid, _, _ in answers)  # a line refused at once
    assert healthy.violations == [] and healthy.errors == []
    assert greeting > 4.0, "the greeting was cut short"
    assert any(ANSWER in text for text in transcript), transcript


async def _make_peer() -> AudioSocketPeer:
    return AudioSocketPeer(uuid.uuid4())


def _register(gateway_url: str, call_uuid: uuid.UUID, caller: str) -> None:
    """What the dialplan does before AudioSocket(): the caller's number for this call."""
    form = {"uuid": str(call_uuid), "caller": caller}
    answer = requests.post(f"{gateway_url}/telephony/asterisk/calls", data=form, timeout=30)
    assert answer.status_code == 200, answer.text


def _transcript_at_the_desk(gateway_url: str, caller: str) -> list[str]:
    """The healthy call's transcript, as the supervisor reads it once the call is waiting in
    the desk's queue (found by the caller's number)."""
    http = requests.Session()
    login = {"username": SUPERVISOR[0], "password": SUPERVISOR[1]}
    answer = http.post(f"{gateway_url}/api/desk/login", json=login, timeout=30)
    assert answer.status_code == 200, answer.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        queue = http.get(f"{gateway_url}/api/desk/queue", timeout=30).json()
        waiting = [w for d in queue["departments"] for w in d["waiting"]]
        mine = [w["id"] for w in waiting if w.get("caller") == CALLER_GROUPED]
        if mine:
            detail = http.get(f"{gateway_url}/api/desk/conversations/{mine[0]}", timeout=30)
            return [m["text"] for m in detail.json()["conversation"]["messages"]]
        time.sleep(0.5)
    raise AssertionError("the healthy call never reached the desk's queue")
