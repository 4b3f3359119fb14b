"""The gateway's HTTP and WebSocket API, served on a local port: the customer side, the agent
desk, security rules, health and a restart. Rasa is a FakeAssistant."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType

from bot.assistant.contract import CHAT_APOLOGY, CHAT_GREETING, BotReply
from bot.edge.context import build_gateway
from bot.gateway.app import WEB_DIR
from bot.handoff import notices
from bot.handoff.router import BAD_PHONE
from bot.handoff.store import token_hash
from bot.settings import GatewaySettings, Settings, VoiceSettings
from tests.helpers.gateway_fakes import (
    DEFAULT_ANSWER,
    PASSWORD,
    Api,
    Customer,
    FakeAssistant,
    add_agent,
    events_until,
    handoff_reply,
    make_gateway,
    run_api,
    unavailable,
)

Scenario = Callable[[Api], Awaitable[None]]
ASK_FOR_A_PERSON = "quiero hablar con una persona"


def serve(
    tmp_path: Path, scenario: Scenario, assistant: FakeAssistant | None = None, **settings: Any
) -> FakeAssistant:
    """Runs the scenario against a gateway on tmp_path/gw.db with three accounts: Lucía and
    Pablo (sales agents) and Sara (supervisor). Returns the fake assistant."""
    assistant = assistant or FakeAssistant()
    gateway = make_gateway(tmp_path / "gw.db", assistant, **settings)
    add_agent(gateway, "lucia", "Lucía", departments=["sales"])
    add_agent(gateway, "pablo", "Pablo", departments=["sales"])
    add_agent(gateway, "sara", "Sara", role="supervisor")
    run_api(gateway, scenario)
    return assistant


async def queued_customer(api: Api, **handoff_fields: Any) -> Customer:
    """A new chat whose first message the assistant hands off (to sales by default)."""
    customer = await api.start()
    api.gateway.assistant.script(handoff_reply(**handoff_fields))  # type: ignore[attr-defined]
    answer = await api.say(customer, ASK_FOR_A_PERSON)
    assert answer.body["conversation"]["state"] == "queued", answer.body
    return customer


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 3.0) -> None:
    """Waits for something the server does after a socket closes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the condition never became true")
        await asyncio.sleep(0.02)


def texts(snapshot: dict[str, Any]) -> list[str]:
    return [m["text"] for m in snapshot["messages"]]


# the customer's conversation


def test_a_conversation_starts_with_a_token_and_the_greeting(tmp_path: Path):
    async def scenario(api: Api) -> None:
        answer = await api.post("/api/conversations", {"channel": "webchat"})

        assert answer.status == 201
        assert len(answer.body["id"]) == 32 and answer.body["token"]
        conversation = answer.body["conversation"]
        assert conversation["state"] == "bot" and conversation["queue"] is None
        assert texts(conversation) == [CHAT_GREETING]
        assert conversation["offers"] == []

    serve(tmp_path, scenario)


def test_a_conversation_starts_as_a_chat_without_a_body(tmp_path: Path):
    async def scenario(api: Api) -> None:
        answer = await api.post("/api/conversations")
        assert answer.status == 201 and answer.body["conversation"]["channel"] == "webchat"

        refused = await api.post("/api/conversations", {"channel": "fax"})
        assert refused.status == 422 and "Canal desconocido" in refused.body["error"]

    serve(tmp_path, scenario)


def test_a_message_gets_the_assistants_answer(tmp_path: Path):
    assistant = FakeAssistant([BotReply(["Abrimos a las diez."])])

    async def scenario(api: Api) -> None:
        customer = await api.start()

        answer = await api.say(customer, "¿A qué hora abren?")

        assert answer.status == 200
        assert [(m["author"], m["text"]) for m in answer.body["messages"]] == [
            ("bot", "Abrimos a las diez.")
        ]
        assert answer.body["conversation"]["state"] == "bot"
        assert "messages" not in answer.body["conversation"]
        snapshot = await api.snapshot(customer)
        assert texts(snapshot)[1:] == ["¿A qué hora abren?", "Abrimos a las diez."]

    serve(tmp_path, scenario, assistant)
    assert [(text, channel) for _, text, channel, _ in assistant.sent] == [
        ("¿A qué hora abren?", "webchat")
    ]


def test_a_handoff_queues_and_the_bot_goes_quiet(tmp_path: Path):
    assistant = FakeAssistant()

    async def scenario(api: Api) -> None:
        customer = await api.start()
        assistant.script(handoff_reply(department="sales"))

        answer = await api.say(customer, ASK_FOR_A_PERSON)

        conversation = answer.body["conversation"]
        assert conversation["state"] == "queued"
        assert conversation["queue"]["department"] == "ventas"
        assert conversation["offers"] == ["callback", "bot"]  # nobody online
        notice = answer.body["messages"][-1]
        assert notice["author"] == "system" and "no hay nadie de ventas conectado" in notice["text"]

        waiting = await api.say(customer, "¿hola?")

        assert waiting.status == 200 and waiting.body["messages"] == []
        assert texts(await api.snapshot(customer))[-1] == "¿hola?"

    serve(tmp_path, scenario, assistant)
    assert assistant.texts == [ASK_FOR_A_PERSON]  # "¿hola?" never reached the assistant


@pytest.mark.parametrize("failure", [unavailable(), BotReply()], ids=["unavailable", "empty"])
def test_an_assistant_failure_is_told_and_handed_off(tmp_path: Path, failure: Any):
    async def scenario(api: Api) -> None:
        customer = await api.start()

        answer = await api.say(customer, "hola")

        assert answer.status == 200
        assert answer.body["messages"][0]["text"] == CHAT_APOLOGY
        assert answer.body["conversation"]["state"] == "queued"
        assert answer.body["conversation"]["queue"]["department"] == "soporte técnico"
        desk = await api.login("sara")
        details = await api.get(f"/api/desk/conversations/{customer.id}", desk)
        assert details.body["handoff"]["reason"] == "error"
        assert details.body["handoff"]["reason_text"] == "Fallo técnico"
        assert details.body["handoff"]["priority"] == "high"

    serve(tmp_path, scenario, FakeAssistant([failure]))


def test_back_to_bot_leaves_the_queue_only_when_queued(tmp_path: Path):
    assistant = FakeAssistant()

    async def scenario(api: Api) -> None:
        chatting = await api.start()
        refused = await api.post(f"/api/conversations/{chatting.id}/bot", who=chatting)
        assert refused.status == 409 and "no está en la cola" in refused.body["error"]

        customer = await queued_customer(api)
        answer = await api.post(f"/api/conversations/{customer.id}/bot", who=customer)
        assert answer.status == 200 and answer.body["state"] == "bot"
        assert texts(answer.body)[-1] == notices.BACK_TO_BOT

        again = await api.say(customer, "¿y el horario?")
        assert again.body["messages"][0]["text"] == DEFAULT_ANSWER

    serve(tmp_path, scenario, assistant)
    assert len(assistant.resumed) == 1
    assert assistant.texts[-1] == "¿y el horario?"


def test_a_bad_phone_is_refused_in_spanish(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)

        answer = await api.post(
            f"/api/conversations/{customer.id}/callback", {"phone": "123"}, customer
        )
        missing = await api.post(f"/api/conversations/{customer.id}/callback", {}, customer)

        assert (answer.status, answer.body["error"]) == (422, BAD_PHONE)
        assert missing.status == 422 and "Indique un teléfono" in missing.body["error"]
        assert (await api.snapshot(customer))["state"] == "queued"

    serve(tmp_path, scenario)


def test_a_callback_closes_the_chat_and_reaches_the_desk(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)

        answer = await api.post(
            f"/api/conversations/{customer.id}/callback",
            {"phone": "600 123 456", "when": "hoy por la tarde"},
            customer,
        )

        assert answer.status == 201
        callback = answer.body["callback"]
        assert (callback["phone"], callback["when"]) == ("600123456", "hoy por la tarde")
        assert (callback["conversation"], callback["department_name"]) == (customer.id, "ventas")
        assert callback["done"] is False
        assert answer.body["conversation"]["state"] == "closed"
        confirmation = texts(await api.snapshot(customer))[-1]
        assert confirmation.startswith("Hecho: le llamaremos al 600 123 456, hoy por la tarde.")

        desk = await api.login("lucia")
        queue = (await api.get("/api/desk/queue", desk)).body
        assert [c["id"] for c in queue["callbacks"]] == [callback["id"]]
        assert all(d["waiting"] == [] for d in queue["departments"])

        done = await api.post(f"/api/desk/callbacks/{callback['id']}/done", who=desk)
        twice = await api.post(f"/api/desk/callbacks/{callback['id']}/done", who=desk)
        assert done.status == 200 and twice.status == 404
        assert (await api.get("/api/desk/queue", desk)).body["callbacks"] == []

    serve(tmp_path, scenario)


# the desk


def test_login_sets_a_strict_http_only_session_cookie(tmp_path: Path):
    async def scenario(api: Api) -> None:
        answer = await api.request_login("Lucia", PASSWORD)

        assert answer.status == 200
        assert answer.body["agent"] == {
            "id": answer.body["agent"]["id"],
            "username": "lucia",
            "name": "Lucía",
            "role": "agent",
            "departments": ["sales"],
        }
        cookie = answer.headers["Set-Cookie"]
        assert cookie.startswith("desk_session=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Max-Age=43200" in cookie  # one working shift

        desk = await api.login("lucia")
        me = await api.get("/api/desk/me", desk)
        assert me.status == 200 and me.body["username"] == "lucia"
        logout = await api.post("/api/desk/logout", who=desk)
        assert logout.status == 200
        assert (await api.get("/api/desk/me", desk)).status == 401

    serve(tmp_path, scenario)


def test_a_wrong_password_is_refused_in_spanish(tmp_path: Path):
    async def scenario(api: Api) -> None:
        wrong = await api.request_login("lucia", PASSWORD + "!")
        unknown = await api.request_login("nadie", PASSWORD)
        malformed = await api.post("/api/desk/login", {"username": "lucia"})

        assert (wrong.status, wrong.body["error"]) == (401, "Usuario o contraseña incorrectos.")
        assert unknown.status == 401 and unknown.body == wrong.body  # no user enumeration
        assert "Set-Cookie" not in wrong.headers
        assert malformed.status == 422

    serve(tmp_path, scenario)


def test_the_queue_lists_waiting_conversations_with_their_context(tmp_path: Path):
    async def scenario(api: Api) -> None:
        calm = await queued_customer(api)
        angry = await queued_customer(api, reason="frustration", priority="high")
        elsewhere = await queued_customer(api, department="complaints")
        lucia, sara = await api.login("lucia"), await api.login("sara")

        queue = (await api.get("/api/desk/queue", lucia)).body

        assert [d["id"] for d in queue["departments"]] == ["sales"]  # only what she serves
        waiting = queue["departments"][0]["waiting"]
        assert [w["id"] for w in waiting] == [angry.id, calm.id]  # high priority first
        assert waiting[0]["position"] == 1 and waiting[1]["position"] == 2
        assert waiting[0]["reason_text"] == "Cliente molesto"
        assert waiting[0]["summary"] == "Quiere hablar con una persona."
        supervised = (await api.get("/api/desk/queue", sara)).body["departments"]
        assert elsewhere.id in [w["id"] for d in supervised for w in d["waiting"]]

        details = await api.get(f"/api/desk/conversations/{calm.id}", lucia)
        assert details.status == 200 and details.body["agent"] is None
        assert texts(details.body["conversation"])[1] == ASK_FOR_A_PERSON
        assert details.body["handoff"]["reason_text"] == "Lo pidió el cliente"
        other = await api.get(f"/api/desk/conversations/{elsewhere.id}", lucia)
        assert other.status == 403

    serve(tmp_path, scenario)


def test_accept_write_and_hand_back(tmp_path: Path):
    assistant = FakeAssistant()

    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        lucia, pablo = await api.login("lucia"), await api.login("pablo")
        conversation = f"/api/desk/conversations/{customer.id}"

        accepted = await api.post(f"{conversation}/accept", who=lucia)
        conflict = await api.post(f"{conversation}/accept", who=pablo)

        assert accepted.status == 200 and accepted.body["state"] == "agent"
        assert accepted.body["agent"] == "Lucía"
        assert conflict.status == 409 and "Otra persona ya la ha aceptado" in conflict.body["error"]
        assert "Le atiende Lucía." in texts(await api.snapshot(customer))

        intruder = await api.post(f"{conversation}/messages", {"text": "hola"}, pablo)
        written = await api.post(f"{conversation}/messages", {"text": "Hola, soy Lucía."}, lucia)
        assert intruder.status == 409
        assert written.status == 200 and written.body["message"]["agent"] == "Lucía"
        assert (await api.say(customer, "gracias")).body["messages"] == []
        mine = (await api.get("/api/desk/queue", lucia)).body["mine"]
        assert [m["id"] for m in mine] == [customer.id]

        assert (await api.post(f"{conversation}/bot", who=pablo)).status == 409
        back = await api.post(f"{conversation}/bot", who=lucia)
        assert back.status == 200 and back.body["state"] == "bot"
        answered = await api.say(customer, "otra consulta")
        assert answered.body["messages"][0]["text"] == DEFAULT_ANSWER

        snapshot = await api.snapshot(customer)
        authors = [(m["author"], m["text"]) for m in snapshot["messages"]]
        assert ("agent", "Hola, soy Lucía.") in authors and ("customer", "gracias") in authors

    serve(tmp_path, scenario, assistant)
    assert assistant.texts == [ASK_FOR_A_PERSON, "otra consulta"]
    assert len(assistant.resumed) == 1


def test_close_ends_the_conversation_and_a_new_message_reopens_it(tmp_path: Path):
    assistant = FakeAssistant()

    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        lucia = await api.login("lucia")
        conversation = f"/api/desk/conversations/{customer.id}"
        await api.post(f"{conversation}/accept", who=lucia)

        closed = await api.post(f"{conversation}/close", who=lucia)

        assert closed.status == 200 and closed.body["state"] == "closed"
        assert texts(await api.snapshot(customer))[-1].startswith("Lucía ha cerrado")
        reopened = await api.say(customer, "perdone, una cosa más")
        assert reopened.body["conversation"]["state"] == "bot"
        assert reopened.body["messages"][0]["text"] == DEFAULT_ANSWER

    serve(tmp_path, scenario, assistant)
    assert assistant.texts[-1] == "perdone, una cosa más"


def test_the_supervisor_sees_the_figures_and_agents_do_not(tmp_path: Path):
    async def scenario(api: Api) -> None:
        await queued_customer(api)
        await queued_customer(api, reason="complaint", department="complaints")
        lucia, sara = await api.login("lucia"), await api.login("sara")

        refused = await api.get("/api/desk/supervisor", lucia)
        figures = await api.get("/api/desk/supervisor", sara)

        assert refused.status == 403
        assert refused.body["error"] == "Esta vista es solo para supervisores."
        assert figures.status == 200
        waiting = {d["id"]: d["waiting"] for d in figures.body["departments"]}
        assert waiting == {"technical_support": 0, "sales": 1, "complaints": 1}
        assert figures.body["reasons"] == {"user_request": 1, "complaint": 1}
        assert figures.body["callbacks_open"] == 0
        assert {a["name"]: a["online"] for a in figures.body["agents"]} == {
            "Lucía": False,
            "Pablo": False,
            "Sara": False,
        }

    serve(tmp_path, scenario)


def test_an_agent_cannot_close_another_departments_conversation(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api, department="complaints")
        lucia = await api.login("lucia")  # sales only

        answer = await api.post(f"/api/desk/conversations/{customer.id}/close", who=lucia)

        assert answer.status == 403
        assert (await api.snapshot(customer))["state"] == "queued"

    serve(tmp_path, scenario)


# restart


def test_a_restarted_gateway_keeps_the_queue_and_the_callbacks(tmp_path: Path):
    kept: dict[str, Customer] = {}

    async def before(api: Api) -> None:
        kept["waiting"] = await queued_customer(api)
        kept["called"] = leaving = await queued_customer(api)
        answer = await api.post(
            f"/api/conversations/{leaving.id}/callback", {"phone": "600123456"}, leaving
        )
        assert answer.status == 201

    serve(tmp_path, before)

    async def after(api: Api) -> None:
        desk = await api.login("lucia")  # the accounts survived too
        queue = (await api.get("/api/desk/queue", desk)).body
        waiting = [w["id"] for d in queue["departments"] for w in d["waiting"]]
        assert waiting == [kept["waiting"].id]
        assert [c["conversation"] for c in queue["callbacks"]] == [kept["called"].id]
        snapshot = await api.snapshot(kept["waiting"])  # the customer's token still works
        assert snapshot["state"] == "queued" and snapshot["queue"]["position"] == 1
        accepted = await api.post(f"/api/desk/conversations/{kept['waiting'].id}/accept", who=desk)
        assert accepted.status == 200

    gateway = make_gateway(tmp_path / "gw.db", FakeAssistant())
    run_api(gateway, after)


# security


def test_customer_endpoints_need_the_conversations_own_token(tmp_path: Path):
    async def scenario(api: Api) -> None:
        mine, other = await api.start(), await api.start()
        strangers = {
            "no token": {},
            "wrong token": {"Authorization": "Bearer not-the-token"},
            "another conversation's token": other.auth,
            "token without Bearer": {"Authorization": mine.token + "x"},
        }
        calls = [
            ("GET", f"/api/conversations/{mine.id}", None),
            ("POST", f"/api/conversations/{mine.id}/messages", {"text": "hola"}),
            ("POST", f"/api/conversations/{mine.id}/callback", {"phone": "600123456"}),
            ("POST", f"/api/conversations/{mine.id}/bot", None),
        ]
        for who, headers in strangers.items():
            for method, path, body in calls:
                answer = await api.request(method, path, body, headers=headers)
                assert answer.status == 404, (who, method, path)
                assert answer.body == {"error": "No existe esa conversación."}
        assert texts(await api.snapshot(mine)) == [CHAT_GREETING]  # nothing got in
        assert api.gateway.store.open_callbacks() == []

    assistant = serve(tmp_path, scenario)
    assert assistant.sent == []


@pytest.mark.parametrize("first_message", ["wrong", "other", "not json", "binary"])
def test_the_events_socket_closes_with_4401_without_the_token(tmp_path: Path, first_message: str):
    async def scenario(api: Api) -> None:
        mine, other = await api.start(), await api.start()
        socket = await api.client.ws_connect(f"/api/conversations/{mine.id}/events")
        if first_message == "not json":
            await socket.send_str("hola")
        elif first_message == "binary":
            await socket.send_bytes(b"\x00\x01")
        else:
            token = other.token if first_message == "other" else "wrong"
            await socket.send_json({"type": "auth", "token": token})

        closing = await socket.receive(timeout=5)

        assert closing.type == WSMsgType.CLOSE
        assert socket.close_code == 4401

    serve(tmp_path, scenario)


def test_desk_endpoints_need_the_session_cookie(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        conversation = f"/api/desk/conversations/{customer.id}"
        calls = [
            ("GET", "/api/desk/me"),
            ("GET", "/api/desk/queue"),
            ("GET", conversation),
            ("POST", f"{conversation}/accept"),
            ("POST", f"{conversation}/messages"),
            ("POST", f"{conversation}/bot"),
            ("POST", f"{conversation}/close"),
            ("POST", "/api/desk/callbacks/1/done"),
            ("GET", "/api/desk/supervisor"),
        ]
        forged = {"Cookie": "desk_session=forged"}
        for method, path in calls:
            for headers in ({}, forged):
                answer = await api.request(method, path, {"text": "hola"}, headers=headers)
                assert answer.status == 401, (method, path, headers)
                assert answer.body["error"] == "Inicie sesión en el escritorio de agentes."
        assert (await api.snapshot(customer))["state"] == "queued"

    serve(tmp_path, scenario)


@pytest.mark.parametrize("origin", [None, "https://evil.example"], ids=["no-cookie", "cross-site"])
def test_the_desk_socket_refuses_strangers(tmp_path: Path, origin: str | None):
    async def scenario(api: Api) -> None:
        headers = {}
        if origin is not None:  # with a valid cookie, but opened by another site's page
            headers = {**(await api.login("lucia")).auth, "Origin": origin}
        socket = await api.client.ws_connect("/api/desk/events", headers=headers)

        closing = await socket.receive(timeout=5)

        assert closing.type == WSMsgType.CLOSE and socket.close_code == 4401
        assert api.gateway.presence.online() == []

    serve(tmp_path, scenario)


def test_login_attempts_are_rate_limited(tmp_path: Path):
    async def scenario(api: Api) -> None:
        for _ in range(10):
            assert (await api.request_login("lucia", "wrong password")).status == 401

        limited = await api.request_login("lucia", PASSWORD)  # even the right one, for now

        assert limited.status == 429 and "Demasiados intentos" in limited.body["error"]
        assert (await api.request_login("pablo", PASSWORD)).status == 200  # per username

    serve(tmp_path, scenario)


def test_login_rate_limit_cannot_be_dodged_with_spaces(tmp_path: Path):
    async def scenario(api: Api) -> None:
        for _ in range(10):
            await api.request_login("lucia", "wrong password")

        padded = await api.request_login(" lucia ", "another guess")

        assert padded.status == 429

    serve(tmp_path, scenario)


def test_passwords_and_tokens_are_stored_hashed(tmp_path: Path):
    seen: dict[str, str] = {}

    async def scenario(api: Api) -> None:
        customer = await api.start()
        desk = await api.login("lucia")
        seen.update(token=customer.token, cookie=desk.cookie)

    serve(tmp_path, scenario)
    database = sqlite3.connect(tmp_path / "gw.db")
    dump = "\n".join(database.iterdump())
    assert PASSWORD not in dump
    assert seen["token"] not in dump and token_hash(seen["token"]) in dump
    assert seen["cookie"] not in dump and token_hash(seen["cookie"]) in dump
    hashes = [row[0] for row in database.execute("SELECT password_hash FROM agents")]
    assert len(hashes) == 3 and all(h.startswith("$argon2id$") for h in hashes)


def test_a_message_over_1000_characters_is_refused_and_not_stored(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await api.start()

        answer = await api.say(customer, "a" * 1001)
        exactly = await api.say(customer, "b" * 1000)

        assert answer.status == 413
        assert answer.body["error"] == notices.TOO_LONG.format(limit=1000)
        assert exactly.status == 200
        assert texts(await api.snapshot(customer))[1:] == ["b" * 1000, DEFAULT_ANSWER]

    assistant = serve(tmp_path, scenario)
    assert assistant.texts == ["b" * 1000]


def test_too_many_messages_are_refused_politely(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer, other = await api.start(), await api.start()
        for n in range(3):
            assert (await api.say(customer, f"mensaje {n}")).status == 200

        answer = await api.say(customer, "uno más")

        assert (answer.status, answer.body["error"]) == (429, notices.TOO_FAST)
        assert "uno más" not in texts(await api.snapshot(customer))
        assert (await api.say(other, "hola")).status == 200  # per conversation

    serve(tmp_path, scenario, messages_per_minute=3)


def test_html_is_kept_verbatim_as_text(tmp_path: Path):
    script = "<script>alert(1)</script>"

    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        lucia = await api.login("lucia")
        await api.post(f"/api/desk/conversations/{customer.id}/accept", who=lucia)
        await api.say(customer, script)
        written = await api.post(
            f"/api/desk/conversations/{customer.id}/messages", {"text": "<b>hola</b>"}, lucia
        )

        snapshot = await api.snapshot(customer)
        assert texts(snapshot)[-2:] == [script, "<b>hola</b>"]
        assert written.body["message"]["text"] == "<b>hola</b>"
        details = await api.get(f"/api/desk/conversations/{customer.id}", lucia)
        assert script in texts(details.body["conversation"])

    serve(tmp_path, scenario)


def test_the_assistant_reads_html_as_plain_words(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await api.start()
        await api.say(customer, "<script>alert(1)</script>")
        assert texts(await api.snapshot(customer))[1] == "<script>alert(1)</script>"

    assistant = serve(tmp_path, scenario)
    assert assistant.texts == ["alert(1)"]


def test_the_pages_never_insert_text_as_html():
    scripts = list(WEB_DIR.rglob("*.js"))
    assert scripts

    for script in scripts:
        code = script.read_text(encoding="utf-8")
        code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("//"))
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in code, f"{script.name} uses {sink}"


def test_malformed_and_oversized_bodies(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await api.start()
        path = f"/api/conversations/{customer.id}/messages"

        not_json = await api.request("POST", path, who=customer, data="hola")
        not_object = await api.request("POST", path, who=customer, data='["hola"]')
        not_text = await api.post(path, {"text": 42}, customer)
        huge = await api.request(
            "POST", path, who=customer, data='{"text": "' + "a" * (64 * 1024) + '"}'
        )

        assert (not_json.status, not_json.body["error"]) == (
            400,
            "El cuerpo de la petición debe ser JSON.",
        )
        assert not_object.status == 400
        assert not_text.status == 422
        assert (huge.status, huge.body["error"]) == (413, "La petición es demasiado grande.")
        assert texts(await api.snapshot(customer)) == [CHAT_GREETING]

    assistant = serve(tmp_path, scenario)
    assert assistant.sent == []


def test_security_headers(tmp_path: Path):
    async def scenario(api: Api) -> None:
        desk, chat = await api.get("/desk"), await api.get("/chat")
        health = await api.get("/api/health")

        assert desk.status == chat.status == 200
        assert "frame-ancestors 'none'" in desk.headers["Content-Security-Policy"]
        assert "frame-ancestors *" in chat.headers["Content-Security-Policy"]
        for answer in (desk, chat, health):
            assert answer.headers["X-Content-Type-Options"] == "nosniff"
            assert answer.headers["Referrer-Policy"] == "no-referrer"
            assert "object-src 'none'" in answer.headers["Content-Security-Policy"]
        assert health.headers["Cache-Control"] == "no-store"

    serve(tmp_path, scenario)


def test_api_errors_carry_the_security_headers_too(tmp_path: Path):
    async def scenario(api: Api) -> None:
        answer = await api.get("/api/conversations/unknown")

        assert answer.status == 404
        assert answer.headers.get("X-Content-Type-Options") == "nosniff"
        assert answer.headers.get("Cache-Control") == "no-store"

    serve(tmp_path, scenario)


async def raw_get(api: Api, target: str) -> str:
    """The status line for a request line sent as is (clients would normalise the path)."""
    reader, writer = await asyncio.open_connection(api.client.host, api.client.port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer.decode("latin-1")


@pytest.mark.parametrize(
    "target", ["/../gateway/app.py", "/%2e%2e/gateway/app.py", "/desk/../../gateway/app.py"]
)
def test_static_files_stay_inside_the_web_folder(tmp_path: Path, target: str):
    async def scenario(api: Api) -> None:
        assert (await raw_get(api, "/chat.js")).startswith("HTTP/1.1 200")

        escaped = await raw_get(api, target)

        assert escaped.startswith("HTTP/1.1 404")
        assert "GatewayStore" not in escaped

    serve(tmp_path, scenario)


# health


def test_health_is_ok_when_the_assistant_answers(tmp_path: Path):
    async def scenario(api: Api) -> None:
        await queued_customer(api)

        answer = await api.get("/api/health")

        assert answer.status == 200
        checks = answer.body["checks"]
        # the unit tests' gateway has no speech model: chat serves, calls would be handed off
        assert answer.body["status"] == "degraded" and (
            answer.body["queued"],
            answer.body["agents_online"],
        ) == (1, 0)
        assert {name: check["status"] for name, check in checks.items()} == {
            "rasa": "ok",
            "actions": "ok",
            "database": "ok",
            "speech_model": "missing (whisper: `make models`)",
        }
        assert all(check["latency_ms"] >= 0 for check in checks.values())

    serve(tmp_path, scenario)


def test_health_is_degraded_when_the_assistant_does_not_answer(tmp_path: Path):
    async def scenario(api: Api) -> None:
        answer = await api.get("/api/health")

        assert answer.status == 503
        assert answer.body["status"] == "down"
        assert answer.body["checks"]["rasa"]["status"] == "down"
        assert answer.body["checks"]["actions"]["status"] == "down"
        assert answer.body["checks"]["database"]["status"] == "ok"

    serve(tmp_path, scenario, FakeAssistant(healthy=False))


def test_the_real_gateway_reports_a_missing_rasa_as_degraded(tmp_path: Path):
    # build_gateway wires the real AssistantClient; nothing listens on port 9 (discard)
    settings = Settings(
        host="127.0.0.1",
        rasa_port=9,
        actions_port=9,
        data_dir=tmp_path,
        models_dir=tmp_path,
        reply_timeout=2.0,
        rasa_token="token",
    )
    gateway = build_gateway(
        settings, GatewaySettings(database=tmp_path / "gw.db"), VoiceSettings(Path("unused"))
    )

    async def scenario(api: Api) -> None:
        answer = await api.get("/api/health")
        assert answer.status == 503
        assert answer.body["checks"]["rasa"]["status"] == "down"
        assert answer.body["checks"]["actions"]["status"] == "down"
        assert (await api.get("/api/health/live")).status == 200

    run_api(gateway, scenario)


# WebSockets


def test_the_customer_socket_carries_messages_and_state(tmp_path: Path):
    assistant = FakeAssistant([BotReply(["Abrimos a las diez."]), handoff_reply()])

    async def scenario(api: Api) -> None:
        customer = await api.start()
        socket = await api.customer_socket(customer)

        await socket.send_json({"type": "message", "text": "¿A qué hora abren?"})
        first = await events_until(
            socket, lambda e: e["type"] == "message" and e["message"]["author"] == "bot"
        )
        await socket.send_json({"type": "message", "text": ASK_FOR_A_PERSON})
        second = await events_until(
            socket, lambda e: e["type"] == "state" and e["conversation"]["state"] == "queued"
        )

        messages = [e["message"] for e in first if e["type"] == "message"]
        said = [(m["author"], m["text"]) for m in messages]
        assert said == [("customer", "¿A qué hora abren?"), ("bot", "Abrimos a las diez.")]
        assert {"type": "typing", "author": "bot", "active": True} in first
        queued = second[-1]["conversation"]
        assert queued["queue"]["position"] == 1 and queued["offers"] == ["callback", "bot"]
        notices_seen = [e["message"]["author"] for e in second if e["type"] == "message"]
        assert notices_seen == ["customer", "bot", "system"]
        await socket.close()

    serve(tmp_path, scenario, assistant)
    assert assistant.texts == ["¿A qué hora abren?", ASK_FOR_A_PERSON]


def test_the_customer_socket_reports_errors_in_spanish(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await api.start()
        socket = await api.customer_socket(customer)

        await socket.send_json({"type": "message", "text": "a" * 1001})
        (error,) = await events_until(socket, lambda e: e["type"] == "error")
        await socket.send_str("no es json")
        (malformed,) = await events_until(socket, lambda e: e["type"] == "error")

        assert error["text"] == notices.TOO_LONG.format(limit=1000)
        assert malformed["text"] == "Mensaje mal formado."
        assert texts(await api.snapshot(customer)) == [CHAT_GREETING]
        await socket.close()

    serve(tmp_path, scenario)


def test_the_customer_socket_gets_the_agents_messages(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        socket = await api.customer_socket(customer)
        lucia = await api.login("lucia")

        await api.post(f"/api/desk/conversations/{customer.id}/accept", who=lucia)
        await api.post(
            f"/api/desk/conversations/{customer.id}/messages", {"text": "Hola, soy Lucía."}, lucia
        )

        events = await events_until(
            socket, lambda e: e["type"] == "message" and e["message"]["author"] == "agent"
        )
        states = [e["conversation"]["state"] for e in events if e["type"] == "state"]
        assert "agent" in states
        assert events[-1]["message"]["text"] == "Hola, soy Lucía."
        assert events[-1]["message"]["agent"] == "Lucía"
        await socket.close()

    serve(tmp_path, scenario)


def test_the_desk_socket_starts_with_the_queue_and_counts_the_agent_online(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        lucia, sara = await api.login("lucia"), await api.login("sara")

        socket = await api.desk_socket(lucia)
        first = await socket.receive_json(timeout=5)

        assert first["type"] == "queue"
        assert [w["id"] for w in first["queue"]["departments"][0]["waiting"]] == [customer.id]
        figures = (await api.get("/api/desk/supervisor", sara)).body
        assert {a["name"]: a["online"] for a in figures["agents"]}["Lucía"] is True
        online = {d["id"]: d["agents_online"] for d in figures["departments"]}
        assert online == {"technical_support": 0, "sales": 1, "complaints": 0}
        assert (await api.get("/api/health")).body["agents_online"] == 1
        assert (await api.snapshot(customer))["queue"]["agents_online"] == 1

        await socket.close()

        async def offline() -> bool:
            return (await api.get("/api/health")).body["agents_online"] == 0

        await eventually(offline)

    serve(tmp_path, scenario)


def test_the_desk_socket_follows_queued_conversations(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        socket = await api.desk_socket(await api.login("lucia"))
        await socket.receive_json(timeout=5)  # the queue

        await api.say(customer, "¿queda mucho?")

        events = await events_until(socket, lambda e: e["type"] == "message")
        assert events[-1]["conversation"] == customer.id
        assert events[-1]["message"]["text"] == "¿queda mucho?"

        newcomer = await queued_customer(api)
        await events_until(
            socket,
            lambda e: (
                e["type"] == "queue"
                and newcomer.id in [w["id"] for w in e["queue"]["departments"][0]["waiting"]]
            ),
        )
        await socket.close()

    serve(tmp_path, scenario)


def test_the_customer_typing_reaches_the_agent_desk(tmp_path: Path):
    async def scenario(api: Api) -> None:
        customer = await queued_customer(api)
        lucia = await api.login("lucia")
        await api.post(f"/api/desk/conversations/{customer.id}/accept", who=lucia)
        desk = await api.desk_socket(lucia)
        customer_socket = await api.customer_socket(customer)

        await customer_socket.send_json({"type": "typing"})
        typing = await events_until(desk, lambda e: e["type"] == "typing")
        await desk.send_json({"type": "typing", "conversation": customer.id})
        agent_typing = await events_until(customer_socket, lambda e: e["type"] == "typing")

        assert typing[-1] == {"type": "typing", "conversation": customer.id, "active": True}
        assert agent_typing[-1]["author"] == "agent" and agent_typing[-1]["agent"] == "Lucía"
        await desk.close()
        await customer_socket.close()

    serve(tmp_path, scenario)
