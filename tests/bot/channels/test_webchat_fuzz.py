"""Chat messages from a hostile or careless customer, fuzzed with hypothesis through the real
app: any Unicode, control characters, markup, messages of 1,000 characters and more, bodies
that are no JSON object, over the HTTP API and over the conversation's WebSocket.

The properties: every request gets a clear answer (200 with the replies, or 400, 413, 422 with
a Spanish text, never a server error); the socket answers every malformed frame with an error
event and stays open; and nothing is lost: each accepted message is stored and echoed as typed
(minus control characters), in order, and the assistant reads it cleaned.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.settings import TelephonySettings
from bot.text import MAX_CHARS, clean_text, has_words, printable
from tests.helpers.fuzz import fuzz_settings
from tests.helpers.gateway_fakes import DEFAULT_ANSWER, FakeAssistant, make_gateway
from tests.helpers.threaded_app import ServedApp, served_in_a_thread

FUZZ = fuzz_settings(max_examples=60)
ERROR_STATUSES = {400, 413, 422}  # 429 cannot happen here: the limit is set out of reach

# any code point, surrogates and control characters included
characters = st.characters(codec=None, categories=None)
texts = st.one_of(
    st.text(characters, max_size=60),
    st.text(st.sampled_from("\x00\x07\x1b\r\n\t\u200b\u2028\ufeff <>&;/"), max_size=20),
    st.text(characters, min_size=MAX_CHARS - 5, max_size=MAX_CHARS + 5),  # around the limit
    st.integers(MAX_CHARS + 1, 3 * MAX_CHARS).map(lambda n: "a" * n),
    st.sampled_from(["<b>hola</b>", "&lt;script&gt;", "&#0;", "\u202eolleh", "👍", "ñ" * 1000]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.one_of(
    texts.map(lambda text: {"text": text}),
    texts.map(lambda text: {"text": text, "otra": "cosa"}),
    json_values.map(lambda value: {"text": value}),
    json_values,
)


@pytest.fixture(scope="module")
def assistant() -> FakeAssistant:
    return FakeAssistant()


@pytest.fixture(scope="module")
def served(
    assistant: FakeAssistant, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedApp]:
    folder: Path = tmp_path_factory.mktemp("webchat-fuzz")
    gateway = make_gateway(
        folder / "gw.db",
        assistant,
        messages_per_minute=1_000_000,
        telephony=TelephonySettings(audiosocket_port=0),
    )
    with served_in_a_thread(gateway) as app:
        yield app


@pytest.fixture(scope="module")
def customer(served: ServedApp) -> tuple[str, str]:
    """One conversation for every example (new ones are rate-limited per address)."""

    async def start() -> tuple[str, str]:
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{served.url}/api/conversations", json={}) as answer,
        ):
            assert answer.status == 201
            body = await answer.json()
            return body["id"], body["token"]

    return asyncio.run(start())


def expected_for(body: Any) -> tuple[int, str | None]:
    """The status the API must answer and, when accepted, the text stored as typed."""
    if not isinstance(body, dict):
        return 400, None
    raw = body.get("text")
    if not isinstance(raw, str):
        return 422, None
    if len(raw) > MAX_CHARS:
        return 413, None
    return (200, printable(raw)) if printable(raw) else (422, None)


def for_the_assistant(stored: str) -> str:
    return clean_text(stored) if has_words(clean_text(stored)) else stored


async def _messages(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> list[Any]:
    async with http.get(url, headers=headers) as answer:
        assert answer.status == 200
        return list((await answer.json())["messages"])


@FUZZ
@given(body=bodies)
def test_every_message_gets_a_clear_answer_and_what_is_accepted_is_kept_as_typed(
    served: ServedApp,
    customer: tuple[str, str],
    assistant: FakeAssistant,
    body: Any,
):
    conversation_id, token = customer
    url = f"{served.url}/api/conversations/{conversation_id}"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    # surrogates cannot be UTF-8: sent as JSON escapes (\\ud800), as browsers may
    data = json.dumps(body, ensure_ascii=True)
    status, stored = expected_for(body)
    event(f"answer {status}")
    asked_before = len(assistant.sent)

    async def scenario() -> tuple[int, Any, list[Any], list[Any]]:
        async with aiohttp.ClientSession() as http:
            before = await _messages(http, url, headers)
            async with http.post(f"{url}/messages", data=data, headers=headers) as answer:
                got = answer.status, await answer.json()
            return (*got, before, await _messages(http, url, headers))

    got_status, answer, before, after = asyncio.run(scenario())

    assert got_status == status, answer
    new = after[len(before) :]
    if status in ERROR_STATUSES:
        assert isinstance(answer["error"], str) and answer["error"].strip()
        assert new == [] and len(assistant.sent) == asked_before  # nothing half done
        return
    assert [(m["author"], m["text"]) for m in new] == [
        ("customer", stored),
        ("bot", DEFAULT_ANSWER),
    ]
    assert [m["text"] for m in answer["messages"]] == [DEFAULT_ANSWER]
    assert assistant.texts[asked_before:] == [for_the_assistant(stored or "")]


def test_bodies_that_are_no_json_are_refused_clearly(served: ServedApp, customer: tuple[str, str]):
    conversation_id, token = customer
    url = f"{served.url}/api/conversations/{conversation_id}/messages"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def scenario() -> list[tuple[int, Any]]:
        answers = []
        async with aiohttp.ClientSession() as http:
            for data in [
                b"",
                b"{",
                b"\xff\xfe",
                b'{"text": "\\ud800\\udc00',
                "ñ".encode("latin-1"),
            ]:
                async with http.post(url, data=data, headers=headers) as answer:
                    answers.append((answer.status, await answer.json()))
        return answers

    for status, body in asyncio.run(scenario()):
        assert status == 400 and body["error"] == "El cuerpo de la petición debe ser JSON."


# The conversation's WebSocket

frames = st.one_of(
    texts.map(lambda text: json.dumps({"type": "message", "text": text})),
    json_values.map(lambda value: json.dumps({"type": "message", "text": value})),
    st.just(json.dumps({"type": "typing"})),
    st.builds(
        lambda kind, value: json.dumps({"type": kind, "text": value}),
        st.text(max_size=8),
        json_values,
    ),  # fmt: skip
    json_values.map(json.dumps),
    st.text(max_size=30),
    st.binary(max_size=30),
)
probes = itertools.count()


def socket_expectation(frame: str | bytes) -> tuple[int, str | None]:
    """(error events, the text stored as typed) that one frame must produce."""
    if isinstance(frame, bytes):
        return 0, None  # binary frames mean nothing on this socket: passed over
    try:
        event = json.loads(frame)
    except ValueError:
        return 1, None
    if not isinstance(event, dict):
        return 1, None
    if event.get("type") != "message":
        return 0, None
    status, stored = expected_for({"text": event.get("text")})
    return (0, stored) if status == 200 else (1, None)


@settings(FUZZ, max_examples=40)
@given(sent=st.lists(frames, max_size=6))
def test_the_socket_answers_every_bad_frame_stays_open_and_loses_no_message(
    served: ServedApp, customer: tuple[str, str], sent: list[str | bytes]
):
    conversation_id, token = customer
    probe = f"sigo aquí {next(probes)}"  # after the fuzzed frames: the socket must still work
    expected = [socket_expectation(frame) for frame in sent]
    errors = sum(count for count, _ in expected)
    event(f"bad frames {min(errors, 3)}+" if errors >= 3 else f"bad frames {errors}")
    echoes = [stored for _, stored in expected if stored is not None] + [probe]

    async def scenario() -> tuple[list[str], list[str]]:
        url = f"{served.url}/api/conversations/{conversation_id}/events"
        got_errors: list[str] = []
        got_echoes: list[str] = []
        async with aiohttp.ClientSession() as http, http.ws_connect(url) as socket:
            await socket.send_json({"type": "auth", "token": token})
            assert (await socket.receive_json(timeout=5))["type"] == "snapshot"
            for frame in [*sent, json.dumps({"type": "message", "text": probe})]:
                if isinstance(frame, bytes):
                    await socket.send_bytes(frame)
                else:
                    await socket.send_str(frame)
            while not got_echoes or got_echoes[-1] != probe:
                event = await socket.receive_json(timeout=10)
                if event["type"] == "error":
                    got_errors.append(event["text"])
                elif event["type"] == "message" and event["message"]["author"] == "customer":
                    got_echoes.append(event["message"]["text"])
            assert not socket.closed
        return got_errors, got_echoes

    got_errors, got_echoes = asyncio.run(scenario())

    assert len(got_errors) == errors and all(text.strip() for text in got_errors)
    assert got_echoes == echoes
