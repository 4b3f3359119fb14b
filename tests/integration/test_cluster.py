"""The cluster as `python -m bot cluster` starts it (PostgreSQL, Redis, two Rasa servers, two
action servers, two gateways, nginx in front), and the faults of several instances: a gateway,
a Rasa server and an action server killed, Redis restarted, PostgreSQL stopped for 10 s. Every
customer reaches it through nginx only, as behind a real load balancer."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

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
from tests.helpers.live import FIXED_NOW, SUPERVISOR, environment, require_model
from tests.helpers.postgres import free_port

pytestmark = [pytest.mark.integration, pytest.mark.cluster]
HOURS_QUESTION = "¿A qué hora abre la tienda de Gran Vía?"
HOURS_ANSWER = "La tienda de Madrid Gran Vía abre"
CHATS = 20


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


def test_killing_a_gateway_loses_no_chat_and_no_message(cluster: LiveCluster):
    chats = [Chat(cluster.url) for _ in range(CHATS)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(answered, chats))

    cluster.kill("gateway")
    with ThreadPoolExecutor(8) as pool:  # at once, while it is down and restarting
        after = list(pool.map(lambda chat: answered(chat, "¿Y el domingo?"), chats))
    cluster.running_again("gateway")

    assert all(CHAT_APOLOGY not in reply for reply in after), after
    for chat in chats:  # every line of every conversation is in the database
        lines = cluster.transcript(chat.id)
        assert HOURS_QUESTION in lines and "¿Y el domingo?" in lines, lines
        assert lines[-1] != "¿Y el domingo?"  # and was answered


def test_killing_a_rasa_server_and_an_action_server_leaves_every_conversation_served(
    cluster: LiveCluster,
):
    chats = [Chat(cluster.url) for _ in range(CHATS)]
    cluster.kill("rasa")
    cluster.kill("actions")
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(answered, chats))

    failed = [reply for reply in replies if HOURS_ANSWER not in reply]
    assert failed == [], (len(failed), failed[:3], cluster.log_tail())
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


def test_while_postgresql_is_stopped_customers_are_told_at_once_then_everything_resumes(
    cluster: LiveCluster,
):
    """Stopped, not merely refusing writes: no gateway can even check a customer's token, so
    the customer reads at once that the message was not saved and how to reach a person (the
    page keeps it to send again); nothing hangs, and all resumes when PostgreSQL is back."""
    chat = Chat(cluster.url)
    answered(chat)
    rpc(cluster.servers.layout).supervisor.stopProcess("postgres", True)
    stopped_at = time.monotonic()
    try:
        started = time.monotonic()
        refused = requests.post(
            f"{cluster.url}/api/conversations/{chat.id}/messages",
            json={"text": "¿Y el domingo?"},
            headers={"Authorization": f"Bearer {chat.token}"},
            timeout=30,
        )
        waited = time.monotonic() - started
        health = requests.get(f"{cluster.url}/api/health", timeout=10)
    finally:
        time.sleep(max(0.0, 10 - (time.monotonic() - stopped_at)))  # 10 s away in all
        rpc(cluster.servers.layout).supervisor.startProcess("postgres", True)

    assert refused.status_code == 503 and waited <= 5.0
    assert refused.json()["error"] == DATABASE_UNAVAILABLE
    assert health.status_code == 503 and health.json()["checks"]["database"]["status"] != "ok"
    # back: the same conversation goes on where it was, and new customers are served
    assert HOURS_ANSWER in answered(chat, HOURS_QUESTION)
    assert HOURS_ANSWER in answered(Chat(cluster.url))
