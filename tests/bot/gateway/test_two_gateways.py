"""Two gateways sharing one PostgreSQL database and one Redis, as behind a load balancer: any
gateway serves any request, a customer on one and an agent on the other talk live, accepting a
conversation is decided once for both, and rate limits count across them. Real PostgreSQL and
Redis; the assistant is the usual fake."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import DummyCookieJar, WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from bot.gateway.app import build_app
from bot.handoff import notices
from bot.handoff.models import State
from bot.settings import TelephonySettings
from bot.supervision.local_redis import LocalRedis
from tests.helpers.desk_api import AGENT_VOICE
from tests.helpers.gateway_fakes import (
    Api,
    FakeAssistant,
    add_agent,
    events_until,
    handoff_reply,
    make_gateway,
)
from tests.helpers.telephony.twilio_peer import TwilioPeer

ASK_FOR_A_PERSON = "quiero hablar con una persona"
Scenario = Callable[[Api, Api], Awaitable[None]]


def serve_two(
    tmp_path: Path, database_url: str, redis_url: str, scenario: Scenario, **settings: Any
) -> None:
    """Gateways A and B on the same database and Redis; Lucía and Pablo serve sales."""
    assistant = FakeAssistant()
    gateways = [
        make_gateway(database_url, assistant, data_dir=tmp_path / name, redis_url=redis_url,
                     gateway_id=f"gateway-{name}", **settings)
        for name in ("a", "b")
    ]  # fmt: skip
    add_agent(gateways[0], "lucia", "Lucía", departments=["sales"])
    add_agent(gateways[0], "pablo", "Pablo", departments=["sales"])

    async def main() -> None:
        clients = [
            TestClient(TestServer(build_app(g)), cookie_jar=DummyCookieJar()) for g in gateways
        ]
        for client in clients:
            await client.start_server()
        try:
            for gateway in gateways:  # both subscribed before anything is said
                assert gateway.relay is not None
                await asyncio.wait_for(gateway.relay.subscribed.wait(), 5)
            await scenario(Api(gateways[0], clients[0]), Api(gateways[1], clients[1]))
        finally:
            for client in clients:
                await client.close()

    asyncio.run(main())


async def queued_on(api: Api) -> Any:
    customer = await api.start()
    api.gateway.assistant.script(handoff_reply())  # type: ignore[attr-defined]
    answer = await api.say(customer, ASK_FOR_A_PERSON)
    assert answer.body["conversation"]["state"] == "queued", answer.body
    return customer


async def lucia_has_it(a: Api, b: Api) -> tuple[Any, Any, Any]:
    """A customer queued through gateway A, with the page open there, accepted by Lucía on
    gateway B: (the customer, the page's socket, Lucía's desk session)."""
    customer = await queued_on(a)
    page = await a.customer_socket(customer)
    lucia = await b.login("lucia")
    accepted = await b.post(f"/api/desk/conversations/{customer.id}/accept", who=lucia)
    assert accepted.status == 200, accepted.body
    return customer, page, lucia


def is_message(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda event: event.get("type") == "message" and event["message"]["text"] == text


def test_a_customer_on_one_gateway_and_an_agent_on_the_other_talk_live(
    tmp_path: Path, postgres_url: str, redis_url: str
):
    async def scenario(a: Api, b: Api) -> None:
        customer = await queued_on(a)
        page = await a.customer_socket(customer)
        lucia = await b.login("lucia")
        desk = await b.desk_socket(lucia)
        path = f"/api/desk/conversations/{customer.id}"

        # the queue and its places are the same whichever gateway is asked
        assert [w["id"] for w in (await b.get("/api/desk/queue", lucia)).body["departments"][0]
                ["waiting"]] == [customer.id]  # fmt: skip
        assert (await b.snapshot(customer))["queue"] == (await a.snapshot(customer))["queue"]

        assert (await b.post(f"{path}/accept", who=lucia)).status == 200
        await events_until(page, is_message("Le atiende Lucía."))
        await b.post(f"{path}/messages", {"text": "Hola, soy Lucía."}, lucia)
        await events_until(page, is_message("Hola, soy Lucía."))

        await a.say(customer, "tengo un problema con mi factura")
        await events_until(desk, is_message("tengo un problema con mi factura"))
        await page.close()
        await desk.close()

    serve_two(tmp_path, postgres_url, redis_url, scenario)


def test_two_agents_on_two_gateways_accepting_at_once_exactly_one_gets_it(
    tmp_path: Path, postgres_url: str, redis_url: str
):
    async def scenario(a: Api, b: Api) -> None:
        customer = await queued_on(a)
        lucia, pablo = await b.login("lucia"), await a.login("pablo")
        path = f"/api/desk/conversations/{customer.id}/accept"

        answers = await asyncio.gather(a.post(path, who=pablo), b.post(path, who=lucia))

        assert sorted(answer.status for answer in answers) == [200, 409]
        refused = next(answer for answer in answers if answer.status == 409)
        assert "Otra persona ya la ha aceptado" in refused.body["error"]
        winner = next(answer for answer in answers if answer.status == 200).body["agent"]
        texts = [m["text"] for m in (await b.snapshot(customer))["messages"]]
        assert texts.count(f"Le atiende {winner}.") == 1

    serve_two(tmp_path, postgres_url, redis_url, scenario)


def test_a_customer_gets_no_more_messages_through_two_gateways_than_through_one(
    tmp_path: Path, postgres_url: str, redis_url: str
):
    async def scenario(a: Api, b: Api) -> None:
        customer = await a.start()
        statuses = [(await api.say(customer, "hola")).status for api in (a, b, a, b)]

        assert statuses == [200, 200, 200, 429]
        answer = await b.say(customer, "hola")
        assert (answer.status, answer.body["error"]) == (429, notices.TOO_FAST)

    serve_two(tmp_path, postgres_url, redis_url, scenario, messages_per_minute=3)


def test_after_redis_restarts_live_updates_resume_and_pages_are_brought_up_to_date(
    tmp_path: Path, postgres_url: str, own_redis: LocalRedis
):
    async def scenario(a: Api, b: Api) -> None:
        customer, page, lucia = await lucia_has_it(a, b)
        path = f"/api/desk/conversations/{customer.id}"

        own_redis.stop()
        # said while Redis is away: saved, but the page on the other gateway is not told live
        await b.post(f"{path}/messages", {"text": "¿Sigue ahí?"}, lucia)
        own_redis.start()

        resumed = await events_until(page, lambda e: e.get("type") == "snapshot", timeout=10)
        texts = [m["text"] for m in resumed[-1]["conversation"]["messages"]]
        assert "¿Sigue ahí?" in texts  # nothing lost: the snapshot comes from the database
        await asyncio.wait_for(b.gateway.relay.subscribed.wait(), 5)  # type: ignore[union-attr]
        await b.post(f"{path}/messages", {"text": "Ya estoy de vuelta."}, lucia)
        await events_until(page, is_message("Ya estoy de vuelta."))
        await page.close()

    serve_two(tmp_path, postgres_url, own_redis.url, scenario)


def test_an_agent_on_one_gateway_talks_with_a_caller_on_the_other(
    tmp_path: Path, postgres_url: str, redis_url: str
):
    """The call's audio stays on gateway A; Lucía's desk is on B: they hear each other through
    Redis, and her microphone is cut once she hands the call back."""
    script = tmp_path / "caller.txt"
    script.write_text("quiero hablar con una persona\n", encoding="utf-8")

    async def scenario(a: Api, b: Api) -> None:
        twilio = TwilioPeer(str(a.client.make_url("")).rstrip("/"))
        await twilio.dial(caller="+34 611 22 33 44")
        await twilio.connect()
        conversation_id = twilio.custom_parameters["conversation"]
        a.gateway.assistant.script(handoff_reply())  # type: ignore[attr-defined]
        await twilio.press("0")
        await until(lambda: a.gateway.router.get(conversation_id).state == State.QUEUED)
        lucia = await b.login("lucia")
        path = f"/api/desk/conversations/{conversation_id}"
        assert (await b.post(f"{path}/accept", who=lucia)).status == 200
        assert conversation_id not in b.gateway.calls  # the line is on A only

        async with b.client.ws_connect(f"{path}/audio", headers=lucia.auth) as microphone:
            # A's "queued" of before the accept, relayed late: it must not cut her off
            stale = {"type": "state", "conversation": {"id": conversation_id, "state": "queued"}}
            await asyncio.sleep(0.1)
            for gateway in (a.gateway, b.gateway):
                gateway.hub.deliver({"to": "customer", "conversation": conversation_id,
                                     "event": stale})  # fmt: skip
            await twilio.wait_until_quiet(0.3, timeout=20)  # the bot said "Le atiende Lucía."
            before = twilio.heard_seconds()
            heard_by_lucia = 0
            for _ in range(25):  # half a second of her voice
                await microphone.send_bytes(AGENT_VOICE)
                await asyncio.sleep(0.02)
            while heard_by_lucia < 16_000:  # half a second of the caller's line
                message = await microphone.receive(timeout=5)
                assert message.type == WSMsgType.BINARY, message
                heard_by_lucia += len(message.data)
            await twilio.wait_for_audio(before + 0.4, timeout=5)

            assert (await b.post(f"{path}/bot", who=lucia)).status == 200
            ended = await microphone.receive(timeout=5)  # handed back: no longer hers
            while ended.type == WSMsgType.BINARY:  # (what was on its way before)
                ended = await microphone.receive(timeout=5)
            assert ended.type in (WSMsgType.CLOSE, WSMsgType.CLOSED), ended
        await twilio.hang_up()
        await twilio.close()

    serve_two(
        tmp_path, postgres_url, redis_url, scenario, call_script=script, hold_prompt_s=3600,
        telephony=TelephonySettings(audiosocket_port=0),
    )  # fmt: skip


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not in time"
        await asyncio.sleep(0.05)
