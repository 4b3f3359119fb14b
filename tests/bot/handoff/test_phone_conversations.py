"""Conversations from phone lines: the caller's number kept and shown, queue notices that fit a
phone (no page to fill in), and transfers that keep the context on the desk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.handoff import notices
from bot.handoff.models import State
from bot.handoff.phone_numbers import digits_of, group_digits, masked
from bot.handoff.store import GatewayStore
from tests.helpers.router_env import RouterEnv


def test_numbers_are_read_grouped_and_logged_masked():
    assert digits_of("+34 611-22-33-44") == "+34611223344"
    assert digits_of("anonymous") is None and digits_of(None) is None
    assert group_digits("+34611223344") == "+34 611 223 344"
    assert masked("+34611223344") == "+34******344"
    assert masked("611223344") == "******344"
    assert masked(None) == "-"


def test_a_phone_call_keeps_its_line_and_number_across_a_restart(tmp_path: Path):
    env = RouterEnv(tmp_path)
    conversation, _ = env.router.start("voice", line="twilio", caller="+34611223344")
    env.store.close()

    reopened = GatewayStore(tmp_path / "gw.db").conversation(conversation.id)
    assert reopened is not None
    assert (reopened.line, reopened.caller) == ("twilio", "+34611223344")
    assert reopened.on_the_phone


def test_a_database_from_before_phone_lines_gets_the_new_columns(tmp_path: Path):
    old = sqlite3.connect(tmp_path / "gw.db")
    old.execute(
        "CREATE TABLE conversations (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, "
        "channel TEXT NOT NULL, state TEXT NOT NULL, created_at REAL NOT NULL, department TEXT, "
        "priority TEXT NOT NULL DEFAULT 'normal', reason TEXT, handoff TEXT, queued_at REAL, "
        "accepted_at REAL, agent_id INTEGER)"
    )
    old.execute("INSERT INTO conversations VALUES ('c1', 'h', 'webchat', 'queued', 1.0, "
                "NULL, 'normal', NULL, NULL, 2.0, NULL, NULL)")  # fmt: skip
    old.commit()
    old.close()

    store = GatewayStore(tmp_path / "gw.db")
    kept = store.conversation("c1")
    assert kept is not None and kept.state == State.QUEUED and kept.line is None


def test_the_desk_sees_the_callers_number_and_line(env: RouterEnv):
    conversation, _ = env.router.start("voice", line="asterisk", caller="+34611223344")
    env.queue_up(conversation.id)

    line = env.router.views.waiting_view(env.router.get(conversation.id))
    assert line["line"] == "asterisk" and line["caller"] == "+34 611 223 344"


def test_a_phone_caller_is_offered_a_callback_by_key_not_a_page(env: RouterEnv):
    known, _ = env.router.start("voice", line="twilio", caller="+34611223344")
    anonymous, _ = env.router.start("voice", line="asterisk")

    told_known = env.queue_up(known.id)[-1].text
    told_anonymous = env.queue_up(anonymous.id)[-1].text

    assert "pulse uno" in told_known and "página" not in told_known
    assert "pulse uno" not in told_anonymous and "página" not in told_anonymous
    assert told_anonymous.startswith("Ahora mismo no hay nadie")


def test_a_phone_caller_on_hold_for_a_closed_department_hears_the_key_offer(env: RouterEnv):
    conversation, _ = env.router.start("voice", line="twilio", caller="+34611223344")
    env.queue_up(conversation.id, department_open=False)
    queued = env.router.get(conversation.id)
    place = env.router.queue.place(queued)
    assert place is not None

    reminder = notices.hold_reminder(place, "ventas", False, notices.audience(queued))
    assert "pulse uno y le llamamos a este número cuando abramos" in reminder


def test_a_transferred_call_stays_on_the_desk_after_the_stream_ends(env: RouterEnv):
    conversation, _ = env.router.start("voice", line="twilio", caller="+34611223344")
    env.queue_up(conversation.id)

    env.run(env.router.transferred(conversation.id, "+34910000000"))
    env.run(env.router.caller_hung_up(conversation.id))  # Twilio ends our stream on transfer

    assert env.state(conversation.id) == State.QUEUED
    view = env.router.views.waiting_view(env.router.get(conversation.id))
    assert view["transferred_to"] == "+34910000000"


def test_a_caller_who_hangs_up_on_hold_leaves_the_queue(env: RouterEnv):
    conversation, _ = env.router.start("voice", line="twilio")
    env.queue_up(conversation.id)

    env.run(env.router.caller_hung_up(conversation.id))

    assert env.state(conversation.id) == State.CLOSED


def test_a_refused_transfer_leaves_the_caller_in_the_queue_and_tells_them(env: RouterEnv):
    conversation, _ = env.router.start("voice", line="twilio", caller="+34611223344")
    env.queue_up(conversation.id)

    env.run(env.router.transferred(conversation.id, "+34910000000"))
    env.run(env.router.transfer_failed(conversation.id))

    view = env.router.views.waiting_view(env.router.get(conversation.id))
    assert view["transferred_to"] is None and env.state(conversation.id) == State.QUEUED
    assert env.texts(conversation.id, "system")[-1] == notices.TRANSFER_FAILED
