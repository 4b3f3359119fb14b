"""The real HTTP client to Rasa, against a Rasa that is not there or answers too slowly: the
customer is told and handed to a person with reason `error`, never left in silence."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.assistant.client import AssistantClient
from tests.helpers.gateway_fakes import Api, make_gateway, run_api


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def expect_error_handoff(api_answer_body: dict) -> None:
    texts = [m["text"] for m in api_answer_body["messages"]]
    assert any("problema técnico" in text for text in texts), texts
    conversation = api_answer_body["conversation"]
    assert conversation["state"] == "queued"
    assert conversation["queue"]["position"] == 1


def test_rasa_not_listening_hands_off_with_reason_error(tmp_path: Path):
    gateway = make_gateway(tmp_path / "gw.db", assistant=None)  # type: ignore[arg-type]
    dead = AssistantClient(f"http://127.0.0.1:{free_port()}", "token", timeout=2)
    gateway.router._assistant = dead  # type: ignore[assignment]
    gateway.assistant = dead

    async def scenario(api: Api) -> None:
        customer = await api.start()
        answer = await api.say(customer, "¿A qué hora abre la tienda de Gran Vía?")
        assert answer.status == 200
        expect_error_handoff(answer.body)
        conversation = gateway.store.conversation(customer.id)
        assert conversation is not None and conversation.reason == "error"
        assert conversation.priority == "high"
        health = await api.get("/api/health")
        assert health.status == 503 and health.body["checks"]["rasa"]["status"] == "down"
        await dead.close()

    run_api(gateway, scenario)


def test_rasa_too_slow_hands_off_with_reason_error(tmp_path: Path):
    async def stalled(_: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response([])

    gateway = make_gateway(tmp_path / "gw.db", assistant=None)  # type: ignore[arg-type]

    async def scenario(api: Api) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/webchat/webhook", stalled)
        async with TestServer(app) as slow_rasa:
            slow = AssistantClient(str(slow_rasa.make_url("")).rstrip("/"), "token", timeout=0.5)
            gateway.router._assistant = slow  # type: ignore[assignment]
            customer = await api.start()
            answer = await api.say(customer, "hola")
            expect_error_handoff(answer.body)
            await slow.close()

    run_api(gateway, scenario)


def test_each_conversation_always_goes_to_the_same_rasa_server():
    from bot.assistant.client import server_for

    servers = ["http://127.0.0.1:5005", "http://127.0.0.1:5006"]
    ids = [f"{n:032x}" for n in range(200)]
    chosen = [server_for(i, servers) for i in ids]
    assert chosen == [server_for(i, servers) for i in ids]  # stable
    assert 70 < chosen.count(servers[0]) < 130  # and spread
    assert {server_for(i, servers[:1]) for i in ids} == {servers[0]}


def test_a_turn_goes_to_the_next_rasa_server_when_its_own_refuses_the_connection():
    from bot.assistant.client import servers_for

    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response([{"recipient_id": body["sender"], "text": "Buenos días."}])

    async def scenario() -> None:
        app = web.Application()
        app.router.add_post("/webhooks/webchat/webhook", answer)
        async with TestServer(app) as living:
            alive = str(living.make_url("")).rstrip("/")
            stopped = f"http://127.0.0.1:{free_port()}"  # nothing listens there
            servers = [stopped, alive]
            # a conversation whose own server is the stopped one
            conversation = next(
                f"{n:032x}" for n in range(100) if servers_for(f"{n:032x}", servers)[0] == stopped
            )
            client = AssistantClient(servers, "token", timeout=2)
            reply = await client.send(conversation, "hola", "webchat", {})
            await client.close()
            assert reply.texts == ["Buenos días."]

    asyncio.run(scenario())
