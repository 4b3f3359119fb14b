"""The gateway's store, on SQLite and on PostgreSQL alike: conversations, transcripts,
callbacks, agents and sessions survive a restart, and secrets are kept only as hashes."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db import IntegrityError
from bot.handoff.models import Conversation, State
from bot.handoff.store import GatewayStore, token_hash


def conversation(conversation_id: str = "c1", state: State = State.BOT) -> Conversation:
    return Conversation(conversation_id, "webchat", state, created_at=time.time())


@pytest.fixture
def store(database_url: str) -> Iterator[GatewayStore]:
    built = GatewayStore(database_url)
    yield built
    built.close()


def raw_column(store: GatewayStore, table: str, column: str) -> list[str]:
    """What a copy of the database shows, read past the store."""
    with store.database.engine.connect() as connection:
        return list(connection.exec_driver_sql(f"SELECT {column} FROM {table}").scalars())


def test_creates_the_database_folder(tmp_path: Path):
    path = tmp_path / "nested" / "data" / "gw.db"
    GatewayStore(path).close()
    assert path.is_file()


def test_a_conversation_round_trips_with_its_handoff(store: GatewayStore):
    store.create_conversation(conversation(), "secret")
    saved = store.conversation("c1")
    saved.state, saved.department, saved.priority = State.QUEUED, "sales", "high"
    saved.reason, saved.queued_at, saved.agent_id = "complaint", 123.5, 7
    saved.handoff = {"reason": "complaint", "slots": {"order": "A-1"}}
    store.save(saved)

    loaded = store.conversation("c1")

    assert loaded == saved
    assert store.conversation("missing") is None


def test_tokens_are_stored_as_sha256_hashes_only(store: GatewayStore):
    store.create_conversation(conversation(), "the-secret-token")

    (stored,) = raw_column(store, "conversations", "token_hash")

    assert (
        stored == hashlib.sha256(b"the-secret-token").hexdigest() == token_hash("the-secret-token")
    )
    assert "the-secret-token" not in stored
    assert store.token_matches("c1", "the-secret-token")
    assert not store.token_matches("c1", "another-token")
    assert not store.token_matches("other-conversation", "the-secret-token")


def test_in_state_lists_the_queue_in_the_order_people_joined(store: GatewayStore):
    for conversation_id, queued_at in (("late", 30.0), ("early", 10.0), ("middle", 20.0)):
        store.create_conversation(conversation(conversation_id), conversation_id)
        queued = store.conversation(conversation_id)
        queued.state, queued.queued_at = State.QUEUED, queued_at
        store.save(queued)
    store.create_conversation(conversation("chatting"), "t")

    assert [c.id for c in store.in_state(State.QUEUED)] == ["early", "middle", "late"]
    assert [c.id for c in store.in_state(State.BOT)] == ["chatting"]


def test_messages_keep_their_order_buttons_and_agent(store: GatewayStore):
    store.create_conversation(conversation(), "t")
    buttons = [{"title": "Sí", "payload": "/affirm"}]
    first = store.add_message("c1", "customer", "<b>hola</b>")
    second = store.add_message("c1", "bot", "¿Confirma?", buttons)
    third = store.add_message("c1", "agent", "Soy Lucía.", agent="Lucía")

    messages = store.messages("c1")

    assert [m.id for m in messages] == [first.id, second.id, third.id]
    assert [m.text for m in messages] == ["<b>hola</b>", "¿Confirma?", "Soy Lucía."]
    assert messages[1].buttons == buttons and messages[0].buttons == []
    assert messages[2].agent == "Lucía"
    assert messages[1].to_json()["at"].endswith("+00:00")
    assert store.messages("another") == []


def test_a_callback_stays_open_until_done_once(store: GatewayStore):
    callback = store.add_callback("c1", "600123456", "por la tarde", "sales")

    assert store.open_callbacks() == [callback]
    assert store.finish_callback(callback.id)
    assert not store.finish_callback(callback.id)  # already done
    assert not store.finish_callback(999)
    assert store.open_callbacks() == []


def test_everything_survives_a_restart(database_url: str):
    first = GatewayStore(database_url)
    first.create_conversation(conversation("c1"), "token-1")
    queued = first.conversation("c1")
    queued.state, queued.department, queued.queued_at = State.QUEUED, "sales", 5.0
    first.save(queued)
    first.add_message("c1", "customer", "quiero hablar con alguien")
    first.add_callback("c2", "600123456", "mañana", "sales")
    first.close()

    second = GatewayStore(database_url)

    assert [c.id for c in second.in_state(State.QUEUED)] == ["c1"]
    assert [m.text for m in second.messages("c1")] == ["quiero hablar con alguien"]
    assert [c.phone for c in second.open_callbacks()] == ["600123456"]
    assert second.token_matches("c1", "token-1")
    second.close()


def test_usernames_are_unique(store: GatewayStore):
    store.add_agent("lucia", "Lucía", "agent", ["sales"], "hash")

    with pytest.raises(IntegrityError):
        store.add_agent("lucia", "Otra Lucía", "agent", [], "hash")
    agent, stored_hash = store.agent_with_hash("lucia")
    assert agent.departments == ("sales",) and stored_hash == "hash"
    assert store.agent_with_hash("nobody") is None


def test_sessions_are_hashed_and_expire(store: GatewayStore):
    agent = store.add_agent("lucia", "Lucía", "agent", [], "hash")
    store.add_session("live-token", agent.id, time.time() + 60)
    store.add_session("old-token", agent.id, time.time() - 1)

    stored = raw_column(store, "sessions", "token_hash")

    assert token_hash("live-token") in stored and "live-token" not in stored
    assert store.session_agent("live-token") == agent
    assert store.session_agent("old-token") is None
    store.delete_session("live-token")
    assert store.session_agent("live-token") is None


def test_reason_counts_only_count_handoffs_since_the_given_time(store: GatewayStore):
    store.record_handoff("c1", "user_request", "sales")
    store.record_handoff("c2", "user_request", "sales")
    store.record_handoff("c3", "error", None)

    assert store.reason_counts(since=0) == {"user_request": 2, "error": 1}
    assert store.reason_counts(since=time.time() + 60) == {}


def test_recent_handle_times_are_per_department(store: GatewayStore):
    store.record_handle_time("sales", 60.0)
    store.record_handle_time("sales", 120.0)
    store.record_handle_time(None, 30.0)

    assert sorted(store.recent_handle_times("sales")) == [60.0, 120.0]
    assert store.recent_handle_times(None) == [30.0]
    assert store.recent_handle_times("complaints") == []


def test_the_queue_puts_high_priority_first_then_arrival(store: GatewayStore):
    for conversation_id, priority, queued_at in (
        ("normal-early", "normal", 10.0),
        ("high-late", "high", 30.0),
        ("normal-late", "normal", 20.0),
    ):
        store.create_conversation(conversation(conversation_id), conversation_id)
        queued = store.conversation(conversation_id)
        queued.state, queued.priority, queued.queued_at = State.QUEUED, priority, queued_at
        queued.department = "sales"
        store.save(queued)

    assert store.queue_order() == [
        ("high-late", "sales"),
        ("normal-early", "sales"),
        ("normal-late", "sales"),
    ]


def test_busy_agents_are_those_holding_a_conversation(store: GatewayStore):
    store.create_conversation(conversation("with-agent"), "t")
    held = store.conversation("with-agent")
    held.state, held.agent_id = State.AGENT, 7
    store.save(held)
    store.create_conversation(conversation("with-bot"), "t")

    assert store.busy_agent_ids() == {7}


def test_unanswered_chats_are_those_whose_last_line_is_the_customers(store: GatewayStore):
    for conversation_id in ("answered", "unanswered", "old"):
        store.create_conversation(conversation(conversation_id), conversation_id)
    store.add_message("answered", "customer", "hola", at=100.0)
    store.add_message("answered", "bot", "Buenos días.", at=101.0)
    store.add_message("unanswered", "bot", "Buenos días.", at=100.0)
    store.add_message("unanswered", "customer", "¿hay alguien?", at=102.0)
    store.add_message("old", "customer", "hola", at=50.0)

    assert [c.id for c in store.unanswered_chats(since=90.0, until=200.0)] == ["unanswered"]
    assert store.unanswered_chats(since=90.0, until=101.0) == []  # said after `until`


def test_a_writable_database_passes_the_write_check(store: GatewayStore):
    store.check_writable()
    store.check_writable()  # the heartbeat row is replaced, not added
    assert len(raw_column(store, "heartbeat", "at")) == 1


def test_of_two_gateways_claiming_one_conversation_exactly_one_gets_it(database_url: str):
    first, second = GatewayStore(database_url), GatewayStore(database_url)
    first.create_conversation(conversation("c1", State.QUEUED), "t")

    claims = [first.claim("c1", 1, 10.0), second.claim("c1", 2, 10.1)]

    assert claims == [True, False]
    taken = second.conversation("c1")
    assert (taken.state, taken.agent_id, taken.accepted_at) == (State.AGENT, 1, 10.0)
    assert not first.claim("missing", 1, 11.0)
