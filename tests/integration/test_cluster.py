"""The cluster as `python -m bot cluster` starts it (PostgreSQL, Redis, two Rasa servers, two
action servers, two gateways, nginx in front), and the faults of several instances: a gateway,
a Rasa server and an action server killed, Redis restarted, PostgreSQL stopped for 10 s. Every
customer reaches it through nginx only, as behind a real load balancer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import requests
import sqlalchemy as sa

from bot.assistant.contract import CHAT_APOLOGY
from bot.cli.cluster import ClusterServers, running_cluster
from bot.gateway.app import DATABASE_UNAVAILABLE
from bot.settings import Settings
from bot.supervision.cluster import ClusterPorts
from bot.supervision.supervisor import rpc, wait_for_state
from tests.helpers.chat_api import Chat
from tests.helpers.desk_api import AGENT_VOICE, DeskApi
from tests.helpers.live import FIXED_NOW, SUPERVISOR, environment, in_a_thread, require_model
from tests.helpers.postgres import free_port
from tests.helpers.spanish_speech import pico_speech
from tests.helpers.telephony.twilio_peer import TwilioPeer

pytestmark = [pytest.mark.integration, pytest.mark.cluster]
HOURS_QUESTION = "¿A qué hora abre la tienda de Gran Vía?"
HOURS_ANSWER = "La tienda de Madrid Gran Vía abre"
CHATS = 20
ASK_FOR_A_PERSON = "Quiero hablar con una persona."
AGENT_WORDS = "Sigo aquí. ¿En qué puedo ayudarle?"
BOOKING_HOURS = ("diez", "once", "doce", "trece")


@dataclass
class LiveCluster:
    servers: ClusterServers
    settings: Settings
    url: str

    def kill(self, name: str) -> None:
        os.kill(self.servers.pid_of(name), signal.SIGKILL)

    def running_again(self, name: str, timeout: float = 90) -> None:
        state = wait_for_state(self.servers.layout, name, {"RUNNING"}, timeout)
        assert state == "RUNNING", f"{name} is {state}"

    def rows(self, query: str, **values: object) -> list[tuple[object, ...]]:
        engine = sa.create_engine(self.servers.cluster.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(sa.text(query), values)]
        finally:
            engine.dispose()

    def log_tail(self, lines: int = 60) -> str:
        log = self.settings.data_dir / "servers.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def transcript(self, conversation_id: str) -> list[str]:
        query = "SELECT text FROM messages WHERE conversation_id = :id ORDER BY id"
        return [str(row[0]) for row in self.rows(query, id=conversation_id)]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LiveCluster]:
    require_model()
    # not under pytest's private temporary folder: PostgreSQL's account must reach its data
    data = Path(tempfile.mkdtemp(prefix="bot-cluster-"))
    data.chmod(0o755)
    ports = ClusterPorts(
        public=18600, gateways=(18601, 18602), audiosockets=(18693, 18694),
        actions=(15655, 15656), actions_balancer=15650, rasa=15605,
        postgres=free_port(), redis=free_port(),
    )  # fmt: skip
    overrides = {
        "BOT_DATA_DIR": str(data),
        "BOT_SUPERVISOR_USERNAME": SUPERVISOR[0],
        "BOT_SUPERVISOR_PASSWORD": SUPERVISOR[1],
        "BOT_STT_ENGINE": "whisper",
        "ACTIONS_FIXED_NOW": FIXED_NOW,
        "BOT_HOLD_PROMPT_S": "3600",
        # every simulated customer comes from this machine's one address
        "BOT_STARTS_PER_MINUTE": "10000",
        "BOT_MESSAGES_PER_MINUTE": "10000",
    }
    try:
        with (
            environment(overrides),
            running_cluster(data / "cluster", ports, log_file=data / "servers.log") as started,
        ):
            servers, settings = started
            yield LiveCluster(servers, settings, f"http://127.0.0.1:{ports.public}")
    except Exception:
        log = data / "servers.log"  # shown with the failure, before the folder goes
        if log.exists():
            print("\n".join(log.read_text(errors="replace").splitlines()[-200:]))
        raise
    finally:
        for _ in range(3):  # the last log lines of stopping servers may still be landing
            shutil.rmtree(data, ignore_errors=True)
            if not data.exists():
                break
            time.sleep(1)


def answered(chat: Chat, text: str = HOURS_QUESTION) -> str:
    """What the assistant answered `text`, sent as the chat page sends it: a request whose
    fate is unknown (no answer, or nginx's 502 for a gateway that died with it) is checked
    against the conversation once a gateway answers again, and sent again only if it never
    arrived."""
    for _ in range(3):
        try:
            texts, _, _ = chat.say(text)
            return " ".join(texts)
        except (AssertionError, requests.RequestException):
            time.sleep(0.5)
            lines = chat.snapshot()["messages"]
            said = [
                i for i, m in enumerate(lines) if m["author"] == "customer" and m["text"] == text
            ]
            if said:
                return " ".join(m["text"] for m in lines[said[-1] + 1 :] if m["author"] == "bot")
    raise AssertionError(f"{text!r} could not be sent")


def test_chats_through_the_load_balancer_are_served_by_both_gateways(cluster: LiveCluster):
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: answered(Chat(cluster.url)), range(CHATS)))

    assert all(HOURS_ANSWER in reply for reply in replies), replies
    health = requests.get(f"{cluster.url}/api/health", timeout=10).json()
    assert health["status"] == "ok" and health["checks"]["redis"]["status"] == "ok"
    # both gateways took some (nginx spreads requests; the gateways log whom they served)
    for port in cluster.servers.cluster.ports.gateways:
        assert requests.get(f"http://127.0.0.1:{port}/api/health/live", timeout=5).ok
    # the tracker table was made once before the Rasa servers started on the new database:
    # neither logged losing the race to make it
    for name in ("rasa", "rasa2"):
        log = cluster.servers.layout.log(name).read_text(errors="replace")
        assert "Could not create tables" not in log, log[-2000:]


def test_killing_a_gateway_loses_no_chat_no_message_and_no_call(cluster: LiveCluster):
    """20 chats and 2 phone calls, one call's line on each gateway, then gateway 1 is killed.
    The calls ring through nginx; each call's stream is opened on a chosen gateway (a load
    balancer may put it on either), so that both outcomes are played: the call on the killed
    gateway ends and Twilio goes on with the TwiML after its stream (the transfer number), the
    one on the other gateway goes on being answered."""
    in_a_thread(_chats_and_calls_through_a_gateway_kill(cluster))


async def _chats_and_calls_through_a_gateway_kill(cluster: LiveCluster) -> None:
    chats = [Chat(cluster.url) for _ in range(CHATS)]
    on_killed, on_survivor = [
        await phone_call(cluster, port) for port in cluster.servers.cluster.ports.gateways
    ]
    for call in (on_killed, on_survivor):  # the opening hours, heard on both lines
        await caller_says(call, HOURS_QUESTION)
    await asyncio.gather(*(asyncio.to_thread(answered, chat) for chat in chats))
    # two of them ask for a person: one waits in the queue, one is with the supervisor
    waiting, helped = chats[0], chats[1]
    for chat in (waiting, helped):
        await asyncio.to_thread(answered, chat, ASK_FOR_A_PERSON)
    async with DeskApi(cluster.url) as desk:
        await desk.post(f"conversations/{helped.id}/accept")
        place = (await asyncio.to_thread(waiting.snapshot))["queue"]["position"]

        cluster.kill("gateway")
        # at once, while it is down and restarting
        after = await asyncio.gather(
            *(asyncio.to_thread(answered, chat, "¿Y el domingo?") for chat in chats)
        )
        await desk.post(f"conversations/{helped.id}/messages", {"text": AGENT_WORDS})

    assert (await asyncio.to_thread(waiting.snapshot))["queue"]["position"] == place
    with_agent = await asyncio.to_thread(helped.snapshot)
    assert with_agent["state"] == "agent" and with_agent["agent"]
    assert with_agent["messages"][-1]["text"] == AGENT_WORDS
    assert await on_killed.wait_ended(15)  # its line is cut: Twilio takes the call on
    await caller_says(on_survivor, "¿Dónde está mi pedido?")  # the other call goes on
    await asyncio.to_thread(cluster.running_again, "gateway")
    await on_survivor.hang_up()
    for call in (on_killed, on_survivor):
        await call.close()

    assert all(CHAT_APOLOGY not in reply for reply in after), after
    for chat in chats:  # every line of every conversation is in the database
        lines = cluster.transcript(chat.id)
        assert HOURS_QUESTION in lines and "¿Y el domingo?" in lines, lines
        if chat not in (waiting, helped):  # (people answer those two)
            assert lines[-1] != "¿Y el domingo?"  # and was answered
    lost = on_killed.custom_parameters["conversation"]
    lines = cluster.transcript(lost)  # what was said before the kill is kept
    assert any(HOURS_ANSWER in line for line in lines), lines
    said = cluster.rows(
        "SELECT author, text FROM messages WHERE conversation_id = :id ORDER BY id",
        id=on_survivor.custom_parameters["conversation"],
    )
    asked = [text for author, text in said if author == "customer" and "pedido" in str(text)]
    assert asked and said[-1][0] == "bot", said  # asked after the kill, and answered


async def phone_call(cluster: LiveCluster, gateway_port: int) -> TwilioPeer:
    """A Twilio call that rings through nginx, its media stream opened on this gateway."""
    twilio = TwilioPeer(cluster.url)
    await twilio.dial(caller="+34 611 22 33 44")
    assert twilio.connect_url is not None
    twilio.connect_url = twilio.connect_url.replace(
        f":{cluster.servers.cluster.ports.public}/", f":{gateway_port}/"
    )
    await twilio.connect()
    await twilio.wait_for_audio(1.0, timeout=30)  # the greeting
    return twilio


async def caller_says(call: TwilioPeer, line: str) -> None:
    """The caller says `line` in Pico's voice once the bot is quiet, and hears an answer."""
    await call.wait_until_quiet(0.6, timeout=30)
    before = call.heard_seconds()
    await call.speak(pico_speech(line))
    await call.wait_for_audio(before + 1.0, timeout=30)


def test_an_agent_on_one_gateway_talks_with_a_caller_whose_line_is_on_the_other(
    cluster: LiveCluster,
):
    heard_by_agent, heard_by_caller = in_a_thread(_talk_across_gateways(cluster))

    assert heard_by_agent >= 16_000  # half a second of the caller's line, in the desk
    assert heard_by_caller >= 0.4  # most of the agent's half second, on the phone


async def _talk_across_gateways(cluster: LiveCluster) -> tuple[int, float]:
    line_port, desk_port = cluster.servers.cluster.ports.gateways[::-1]
    caller = await phone_call(cluster, line_port)
    await caller.wait_until_quiet(0.6, timeout=30)
    await caller.press("0")  # a person, please
    conversation_id = caller.custom_parameters["conversation"]
    desk_url = f"http://127.0.0.1:{desk_port}"
    async with DeskApi(desk_url) as desk:
        await desk.waiting(conversation_id)
        await desk.post(f"conversations/{conversation_id}/accept")
        audio = f"ws://127.0.0.1:{desk_port}/api/desk/conversations/{conversation_id}/audio"
        async with desk.http.ws_connect(audio, headers={"Origin": desk_url}) as microphone:
            await caller.wait_until_quiet(0.3, timeout=20)  # "Le atiende…" was said
            before = caller.heard_seconds()
            for _ in range(25):
                await microphone.send_bytes(AGENT_VOICE)
                await asyncio.sleep(0.02)
            heard = 0
            while heard < 16_000:
                message = await microphone.receive(timeout=5)
                assert message.type == aiohttp.WSMsgType.BINARY, message
                heard += len(message.data)
            await asyncio.sleep(0.5)
            heard_by_caller = caller.heard_seconds() - before
        await desk.post(f"conversations/{conversation_id}/close")
    await caller.close()
    return heard, heard_by_caller


def test_killing_a_rasa_server_and_an_action_server_leaves_every_conversation_served(
    cluster: LiveCluster,
):
    chats = [Chat(cluster.url) for _ in range(CHATS)]
    # four customers half-way through booking an appointment when the servers die
    bookers = [Chat(cluster.url) for _ in BOOKING_HOURS]
    for booker, hour in zip(bookers, BOOKING_HOURS, strict=True):
        answered(booker, f"quiero pedir cita en la tienda de valencia el miércoles a las {hour}")
        answered(booker, "Rosa Martín")
    cluster.kill("rasa")
    cluster.kill("actions")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(answered, chats))
        booked = list(pool.map(lambda booker: answered(booker, "699 111 333"), bookers))

    failed = [reply for reply in replies if HOURS_ANSWER not in reply]
    assert failed == [], (len(failed), failed[:3], cluster.log_tail())
    for booker, reply in zip(bookers, booked, strict=True):  # each booked, and only once
        query = "SELECT code FROM bookings WHERE conversation_id = :id"
        codes = [str(row[0]) for row in cluster.rows(query, id=booker.id)]
        assert len(codes) == 1 and codes[0] in reply, (codes, reply)
    cluster.running_again("rasa", timeout=120)
    cluster.running_again("actions")
    # the trackers are whole: each conversation's events are one sequence in PostgreSQL
    for chat in chats[:5]:
        events = cluster.rows(
            "SELECT type_name FROM events WHERE sender_id = :id ORDER BY id", id=chat.id
        )
        assert [row[0] for row in events].count("user") == 1


def test_after_redis_restarts_everything_resumes_by_itself_and_nothing_is_lost(
    cluster: LiveCluster,
):
    chat = Chat(cluster.url)
    answered(chat)
    rpc(cluster.servers.layout).supervisor.stopProcess("redis", True)
    # meanwhile the Rasa servers cannot lock conversations: an answer, or the apology and a
    # person, never silence or an error
    during = answered(chat, "¿Y el domingo?")
    rpc(cluster.servers.layout).supervisor.startProcess("redis", True)

    assert HOURS_ANSWER in during or CHAT_APOLOGY in during, during
    assert "¿Y el domingo?" in cluster.transcript(chat.id)  # the database kept it
    deadline = time.monotonic() + 10  # the gateways' relays reconnect by themselves
    while time.monotonic() < deadline:
        health = requests.get(f"{cluster.url}/api/health", timeout=10).json()
        if health["checks"]["redis"]["status"] == "ok":
            break
        time.sleep(0.5)
    assert health["checks"]["redis"]["status"] == "ok", health
    assert HOURS_ANSWER in answered(Chat(cluster.url))


def test_while_postgresql_is_stopped_customers_get_the_apology_and_a_person_then_all_resumes(
    cluster: LiveCluster,
):
    """Stopped, not merely refusing writes: nothing can be read, not even a token. nginx sends
    each conversation's requests to one gateway, which remembers it: its customer gets the
    apology and a person at once, held in memory; a new customer is told to try again. Once
    PostgreSQL is back (10 s), the held conversation reaches the desks' queue by itself."""
    chat = Chat(cluster.url)
    answered(chat)
    rpc(cluster.servers.layout).supervisor.stopProcess("postgres", True)
    stopped_at = time.monotonic()
    try:
        started = time.monotonic()
        held = requests.post(
            f"{cluster.url}/api/conversations/{chat.id}/messages",
            json={"text": "¿Y el domingo?"},
            headers={"Authorization": f"Bearer {chat.token}"},
            timeout=30,
        )
        waited = time.monotonic() - started
        newcomer = requests.post(
            f"{cluster.url}/api/conversations", json={"channel": "webchat"}, timeout=30
        )
        health = requests.get(f"{cluster.url}/api/health", timeout=10)
    finally:
        time.sleep(max(0.0, 10 - (time.monotonic() - stopped_at)))  # 10 s away in all
        rpc(cluster.servers.layout).supervisor.startProcess("postgres", True)

    assert held.status_code == 200 and waited <= 5.0, held.text
    assert [m["text"] for m in held.json()["messages"]] == ["¿Y el domingo?", CHAT_APOLOGY]
    assert held.json()["conversation"]["state"] == "queued"
    assert newcomer.status_code == 503 and newcomer.json()["error"] == DATABASE_UNAVAILABLE
    assert health.status_code == 503 and health.json()["checks"]["database"]["status"] != "ok"
    # back: the held conversation is written and queued for the desks, nothing lost
    deadline = time.monotonic() + 20
    state: list[tuple[object, ...]] = []
    while time.monotonic() < deadline:
        with contextlib.suppress(sa.exc.OperationalError):  # (still starting)
            query = "SELECT state, reason FROM conversations WHERE id = :id"
            state = cluster.rows(query, id=chat.id)
        if state == [("queued", "error")]:
            break
        time.sleep(0.5)
    assert state == [("queued", "error")]
    assert cluster.transcript(chat.id)[-3:-1] == ["¿Y el domingo?", CHAT_APOLOGY]
    assert HOURS_ANSWER in answered(Chat(cluster.url))  # and new customers are served
