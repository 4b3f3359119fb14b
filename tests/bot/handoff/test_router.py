"""The conversation router: BOT → QUEUED → AGENT → BOT or CLOSED, the queue notices, and the
rule that the bot never answers over a person. Rasa is a FakeAssistant."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.assistant.contract import CHAT_APOLOGY, CHAT_GREETING, BotReply
from bot.handoff import notices
from bot.handoff.models import State
from bot.handoff.router import (
    BAD_PHONE,
    RouterError,
)
from bot.pipeline import prompts
from tests.helpers.gateway_fakes import (
    drain,
    handoff_reply,
    unavailable,
)
from tests.helpers.router_env import ASK_FOR_A_PERSON, RouterEnv

# starting


def test_a_chat_starts_with_the_greeting(env: RouterEnv):
    chat, voice = env.start("webchat"), env.start("voice")

    assert env.state(chat) == State.BOT
    assert env.texts(chat) == [CHAT_GREETING]
    assert env.texts(voice) == [prompts.GREETING]


def test_an_unknown_channel_is_refused(env: RouterEnv):
    with pytest.raises(RouterError) as refused:
        env.router.start("fax")
    assert refused.value.status == 422


# the assistant holds the conversation


def test_in_bot_state_the_assistant_answers(env: RouterEnv):
    conversation_id = env.start()
    buttons = [{"title": "Sí", "payload": "/affirm"}]
    env.assistant.script(BotReply(["Abrimos a las diez.", "¿Algo más?"], buttons))

    produced = env.say(conversation_id, "¿A qué hora abren?")

    assert env.assistant.sent == [
        (conversation_id, "¿A qué hora abren?", "webchat", {"channel": "webchat"})
    ]
    assert [(m.author, m.text) for m in produced] == [
        ("bot", "Abrimos a las diez."),
        ("bot", "¿Algo más?"),
    ]
    assert [m.buttons for m in produced] == [[], buttons]  # buttons go with the last line
    assert env.texts(conversation_id)[1:] == ["¿A qué hora abren?", *[m.text for m in produced]]


def test_calls_get_no_buttons(env: RouterEnv):
    conversation_id = env.start("voice")
    env.assistant.script(BotReply(["¿Confirma la cita?"], [{"title": "Sí", "payload": "/x"}]))

    (answer,) = env.say(conversation_id, "sí")

    assert answer.buttons == []
    assert env.assistant.sent[0][2:] == ("voice", {"channel": "voice"})


def test_the_assistant_may_get_a_cleaned_text(env: RouterEnv):
    conversation_id = env.start()

    env.run(env.router.customer_message(conversation_id, "<b>hola</b>", to_assistant="hola"))

    assert env.assistant.texts == ["hola"]
    assert env.texts(conversation_id, "customer") == ["<b>hola</b>"]


# handoff and the queue


def test_a_handoff_queues_with_department_priority_and_reason(env: RouterEnv):
    conversation_id = env.start()

    produced = env.queue_up(conversation_id, reason="complaint", department="complaints")

    conversation = env.router.get(conversation_id)
    assert conversation.state == State.QUEUED
    assert (conversation.department, conversation.priority) == ("complaints", "normal")
    assert conversation.reason == "complaint"
    assert conversation.handoff["summary"] == "Quiere hablar con una persona."
    assert [m.author for m in produced] == ["bot", "system"]  # the reply, then the queue notice
    assert env.store.reason_counts(since=0) == {"complaint": 1}


@pytest.mark.parametrize("department", ["orders", None, ""])
def test_an_unknown_or_missing_department_goes_to_the_default_queue(
    env: RouterEnv, department: str | None
):
    conversation_id = env.start()

    env.queue_up(conversation_id, department=department)

    assert env.router.get(conversation_id).department == "technical_support"
    assert env.router.get(conversation_id).handoff["department"] == "technical_support"


def test_high_priority_is_kept(env: RouterEnv):
    conversation_id = env.start()

    env.queue_up(conversation_id, reason="frustration", priority="high")

    assert env.router.get(conversation_id).priority == "high"


def test_with_nobody_online_the_notice_says_so_and_offers_callback_or_bot(env: RouterEnv):
    conversation_id = env.start()

    notice = env.queue_up(conversation_id, department="sales")[-1]

    assert notice.author == "system"
    assert notice.text.startswith("Ahora mismo no hay nadie de ventas conectado.")
    snapshot = env.snapshot(conversation_id)
    assert snapshot["offers"] == ["callback", "bot"]
    assert snapshot["queue"] == {
        "department": "ventas",
        "position": 1,
        "ahead": 0,
        "wait_minutes": None,
        "agents_online": 0,
    }


def test_a_closed_department_offers_a_callback(env: RouterEnv):
    env.agent("lucia")  # even with someone online
    conversation_id = env.start()

    notice = env.queue_up(conversation_id, department_open=False)[-1]

    assert "le llamamos cuando abra" in notice.text
    assert env.snapshot(conversation_id)["offers"] == ["callback", "bot"]


def test_a_short_wait_tells_the_place_and_offers_only_the_bot(env: RouterEnv):
    env.agent("lucia", "sales")
    conversation_id = env.start()

    notice = env.queue_up(conversation_id)[-1]

    assert notice.text == "No tiene a nadie delante; le atenderán en menos de un minuto."
    assert env.snapshot(conversation_id)["offers"] == ["bot"]


def test_a_long_wait_offers_a_callback(tmp_path: Path):
    env = RouterEnv(tmp_path, callback_offer_minutes=5, default_handle_minutes=10)
    lucia = env.agent("lucia")
    first, second = env.start(), env.start()
    env.queue_up(first)
    env.run(env.router.accept(first, lucia))  # the only agent is now busy

    notice = env.queue_up(second)[-1]

    assert notice.text.startswith("No tiene a nadie delante; le atenderán en unos diez minutos.")
    assert "déjenos su teléfono" in notice.text
    assert env.snapshot(second)["offers"] == ["callback", "bot"]
    assert env.snapshot(second)["queue"]["wait_minutes"] == 10
    env.store.close()


def test_high_priority_goes_ahead_of_earlier_normal_ones(env: RouterEnv):
    calm, patient, angry = env.start(), env.start(), env.start()
    env.queue_up(calm)
    env.queue_up(patient)

    env.queue_up(angry, reason="frustration", priority="high")

    assert [c.id for c in env.router.queue.waiting("sales")] == [angry, calm, patient]
    assert env.snapshot(angry)["queue"]["position"] == 1
    assert env.snapshot(patient)["queue"]["position"] == 3


def test_people_behind_are_told_when_they_move_up(env: RouterEnv):
    lucia = env.agent("lucia", "sales")
    first, second, third = env.start(), env.start(), env.start()
    for conversation_id in (first, second, third):
        env.queue_up(conversation_id)
    told_before = {c: len(env.texts(c)) for c in (second, third)}

    env.run(env.router.accept(first, lucia))

    assert env.texts(second)[told_before[second] :] == [
        "Ya no tiene a nadie delante; le atenderán en unos cuatro minutos."
    ]
    assert env.texts(third)[told_before[third] :] == [
        "Ahora tiene a una persona delante; unos ocho minutos."
    ]


def test_nobody_is_told_they_moved_up_when_they_did_not(env: RouterEnv):
    env.agent("lucia", "sales")
    first, other_department = env.start(), env.start()
    env.queue_up(first)
    env.queue_up(other_department, department="complaints")
    before = len(env.texts(other_department))

    env.run(env.router.back_to_bot(first))

    assert len(env.texts(other_department)) == before


def test_moving_up_with_nobody_connected_makes_no_promise(env: RouterEnv):
    first, second = env.start(), env.start()
    env.queue_up(first)
    env.queue_up(second)
    before = len(env.texts(second))

    env.run(env.router.back_to_bot(first))

    (update,) = env.texts(second)[before:]
    assert "minuto" not in update


# while a person holds it, never the bot


def test_while_queued_messages_are_stored_and_not_sent_to_the_assistant(env: RouterEnv):
    conversation_id = env.start()
    env.queue_up(conversation_id)

    produced = env.say(conversation_id, "¿sigue ahí alguien?")

    assert produced == []
    assert env.assistant.texts == [ASK_FOR_A_PERSON]
    assert env.texts(conversation_id)[-1] == "¿sigue ahí alguien?"
    assert env.state(conversation_id) == State.QUEUED


def test_accepting_hands_it_to_the_agent_and_the_bot_stays_quiet(env: RouterEnv):
    lucia = env.agent("lucia")
    conversation_id = env.start()
    env.queue_up(conversation_id)

    env.run(env.router.accept(conversation_id, lucia))
    produced = env.say(conversation_id, "hola Lucía")

    assert env.state(conversation_id) == State.AGENT
    assert "Le atiende Lucia." in env.texts(conversation_id, "system")
    assert produced == [] and env.assistant.texts == [ASK_FOR_A_PERSON]
    assert env.snapshot(conversation_id)["agent"] == "Lucia"
    assert env.snapshot(conversation_id)["queue"] is None


def test_handing_back_resumes_the_assistant_which_answers_again(env: RouterEnv):
    lucia = env.agent("lucia")
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, lucia))

    env.run(env.router.hand_back(conversation_id, lucia))
    env.assistant.script(BotReply(["Claro, dígame."]))
    produced = env.say(conversation_id, "otra pregunta")

    assert env.assistant.resumed == [conversation_id]
    assert env.state(conversation_id) == State.BOT
    assert notices.HANDED_BACK in env.texts(conversation_id, "bot")
    assert env.assistant.texts == [ASK_FOR_A_PERSON, "otra pregunta"]
    assert [m.text for m in produced] == ["Claro, dígame."]
    assert len(env.store.recent_handle_times("sales")) == 1


def test_a_failed_resume_keeps_the_agent(env: RouterEnv):
    lucia = env.agent("lucia")
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, lucia))
    env.assistant.resume_error = unavailable()

    with pytest.raises(RouterError) as failed:
        env.run(env.router.hand_back(conversation_id, lucia))

    assert failed.value.status == 502
    assert env.state(conversation_id) == State.AGENT


def test_a_closed_conversation_reopens_with_the_assistant(env: RouterEnv):
    lucia = env.agent("lucia")
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, lucia))
    env.run(env.router.close(conversation_id, lucia))
    assert env.state(conversation_id) == State.CLOSED
    assert "Lucia ha cerrado la conversación." in env.texts(conversation_id, "system")[-1]

    produced = env.say(conversation_id, "una cosa más")

    assert env.state(conversation_id) == State.BOT
    assert env.assistant.resumed == [conversation_id]
    assert env.assistant.texts[-1] == "una cosa más"
    assert [m.author for m in produced] == ["bot"]


def test_a_closed_conversation_reopens_even_when_resume_fails(env: RouterEnv):
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.close(conversation_id, env.agent("lucia")))
    env.assistant.resume_error = unavailable()

    env.say(conversation_id, "hola otra vez")

    assert env.state(conversation_id) == State.BOT
    assert env.assistant.texts[-1] == "hola otra vez"


# the customer is never left in silence


@pytest.mark.parametrize("failure", [unavailable(), BotReply()], ids=["unavailable", "empty"])
def test_an_assistant_failure_hands_off_with_reason_error(env: RouterEnv, failure: Any):
    conversation_id = env.start()
    env.assistant.script(failure)

    produced = env.say(conversation_id, "hola")

    assert [(m.author, m.text) for m in produced][0] == ("bot", CHAT_APOLOGY)
    assert produced[1].author == "system"  # the queue notice
    conversation = env.router.get(conversation_id)
    assert conversation.state == State.QUEUED
    assert (conversation.reason, conversation.priority) == ("error", "high")
    assert conversation.department == "technical_support"


def test_a_call_hears_the_spoken_technical_problem(env: RouterEnv):
    conversation_id = env.start("voice")
    env.assistant.script(unavailable())

    produced = env.say(conversation_id, "hola")

    assert produced[0].text == prompts.TECHNICAL_PROBLEM


def test_an_error_handoff_with_its_own_words_keeps_them(env: RouterEnv):
    conversation_id = env.start()
    env.assistant.script(handoff_reply("Perdone, le paso con un compañero.", reason="error"))

    produced = env.say(conversation_id, "hola")

    assert produced[0].text == "Perdone, le paso con un compañero."
    assert CHAT_APOLOGY not in env.texts(conversation_id)


# agents


def test_only_one_agent_can_accept(env: RouterEnv):
    lucia, pablo = env.agent("lucia"), env.agent("pablo")
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, lucia))

    with pytest.raises(RouterError) as conflict:
        env.run(env.router.accept(conversation_id, pablo))

    assert conflict.value.status == 409
    assert env.router.get(conversation_id).agent_id == lucia.id
    assert env.run(env.router.accept(conversation_id, lucia)).agent_id == lucia.id  # idempotent


def test_a_conversation_the_bot_holds_cannot_be_accepted(env: RouterEnv):
    with pytest.raises(RouterError) as refused:
        env.run(env.router.accept(env.start(), env.agent("lucia")))
    assert refused.value.status == 409


def test_only_the_holder_writes_hands_back_or_closes(env: RouterEnv):
    lucia, pablo = env.agent("lucia"), env.agent("pablo")
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, lucia))

    for attempt in (
        env.router.agent_message(conversation_id, pablo, "hola"),
        env.router.hand_back(conversation_id, pablo),
        env.router.close(conversation_id, pablo),
    ):
        with pytest.raises(RouterError) as refused:
            env.run(attempt)
        assert refused.value.status == 409

    message = env.run(env.router.agent_message(conversation_id, lucia, "Hola, soy Lucía."))
    assert (message.author, message.agent) == ("agent", "Lucia")
    assert env.texts(conversation_id, "agent") == ["Hola, soy Lucía."]
    assert env.state(conversation_id) == State.AGENT


def test_an_agent_may_close_a_waiting_conversation_but_not_one_with_the_bot(env: RouterEnv):
    lucia = env.agent("lucia")
    waiting, chatting = env.start(), env.start()
    env.queue_up(waiting)

    env.run(env.router.close(waiting, lucia))

    assert env.state(waiting) == State.CLOSED
    with pytest.raises(RouterError) as refused:
        env.run(env.router.close(chatting, lucia))
    assert refused.value.status == 409


# the customer's choices while waiting


def test_back_to_bot_only_from_the_queue(env: RouterEnv):
    conversation_id = env.start()
    with pytest.raises(RouterError) as refused:
        env.run(env.router.back_to_bot(conversation_id))
    assert refused.value.status == 409

    env.queue_up(conversation_id)
    env.run(env.router.back_to_bot(conversation_id))
    env.say(conversation_id, "mejor sigo con usted")

    assert env.state(conversation_id) == State.BOT
    assert env.assistant.resumed == [conversation_id]
    assert notices.BACK_TO_BOT in env.texts(conversation_id, "bot")
    assert env.assistant.texts[-1] == "mejor sigo con usted"
    assert env.router.queue.waiting() == []


@pytest.mark.parametrize("phone", ["12345", "teléfono", "", "+34 600 000 000 000 000"])
def test_a_callback_needs_a_plausible_phone(env: RouterEnv, phone: str):
    conversation_id = env.start()
    env.queue_up(conversation_id)

    with pytest.raises(RouterError) as refused:
        env.run(env.router.request_callback(conversation_id, phone, "hoy"))

    assert (refused.value.status, refused.value.text) == (422, BAD_PHONE)
    assert env.store.open_callbacks() == []
    assert env.state(conversation_id) == State.QUEUED


def test_a_callback_closes_the_conversation_with_a_confirmation(env: RouterEnv):
    conversation_id = env.start()
    env.queue_up(conversation_id)

    callback = env.run(env.router.request_callback(conversation_id, "600-12 34 56", " hoy  tarde "))

    assert (callback.phone, callback.when, callback.department) == (
        "600123456",
        "hoy tarde",
        "sales",
    )
    assert env.store.open_callbacks() == [callback]
    assert env.state(conversation_id) == State.CLOSED
    assert env.texts(conversation_id)[-1].startswith(
        "Hecho: le llamaremos al 600 123 456, hoy tarde."
    )
    assert env.router.queue.waiting() == []


def test_a_callback_without_a_time_means_as_soon_as_possible(env: RouterEnv):
    conversation_id = env.start()
    env.queue_up(conversation_id)

    callback = env.run(env.router.request_callback(conversation_id, "600123456", ""))

    assert callback.when == "lo antes posible"


def test_no_callback_once_an_agent_holds_it(env: RouterEnv):
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, env.agent("lucia")))

    with pytest.raises(RouterError) as refused:
        env.run(env.router.request_callback(conversation_id, "600123456", ""))
    assert refused.value.status == 409


@pytest.mark.parametrize(
    ("phone", "confirmed"),
    [("+34 600 123 456", "+34 600 123 456"), ("0034600123456", "0034 600 123 456")],
)
def test_a_number_with_its_prefix_is_confirmed_readably(env: RouterEnv, phone: str, confirmed: str):
    # was '+346 001 234 56': the country code grouped with the number (fixed in _group_digits)
    conversation_id = env.start()
    env.queue_up(conversation_id)

    env.run(env.router.request_callback(conversation_id, phone, "hoy"))

    assert f"le llamaremos al {confirmed}," in env.texts(conversation_id)[-1]


def test_a_caller_who_hangs_up_leaves_the_queue(env: RouterEnv):
    waiting, chatting = env.start("voice"), env.start("voice")
    env.queue_up(waiting)

    env.run(env.router.caller_hung_up(waiting))
    env.run(env.router.caller_hung_up(chatting))

    assert env.state(waiting) == State.CLOSED
    assert env.texts(waiting)[-1] == notices.HUNG_UP
    assert env.state(chatting) == State.BOT  # nothing to tell anyone


# live events


def test_the_customer_sees_their_message_typing_the_reply_and_the_state(env: RouterEnv):
    conversation_id = env.start()
    watching = env.watch(conversation_id)

    env.queue_up(conversation_id)

    events = drain(watching)
    messages = [e["message"]["text"] for e in events if e["type"] == "message"]
    assert messages[:2] == [ASK_FOR_A_PERSON, "Le paso con una persona."]
    assert len(messages) == 3  # and the queue notice
    typing = [e["active"] for e in events if e["type"] == "typing"]
    assert typing == [True, False]
    states = [e["conversation"]["state"] for e in events if e["type"] == "state"]
    assert states[-1] == "queued"
    assert all("messages" not in e["conversation"] for e in events if e["type"] == "state")


def test_desks_do_not_follow_conversations_the_bot_handles_alone(env: RouterEnv):
    desk = env.router.hub.watch_desk(env.agent("lucia"))
    conversation_id = env.start()

    env.say(conversation_id, "¿A qué hora abren?")

    assert drain(desk) == []


def test_desks_follow_queued_conversations_of_their_departments(env: RouterEnv):
    sales = env.router.hub.watch_desk(env.agent("lucia", "sales"))
    complaints = env.router.hub.watch_desk(env.agent("pablo", "complaints"))
    supervisor_agent = env.store.add_agent("sara", "Sara", "supervisor", ["complaints"], "x")
    supervisor = env.router.hub.watch_desk(supervisor_agent)
    conversation_id = env.start()
    env.queue_up(conversation_id, department="sales")
    for desk in (sales, complaints, supervisor):
        drain(desk)

    env.say(conversation_id, "¿queda mucho?")

    expected = {"conversation": conversation_id, "type": "message"}
    for desk in (sales, supervisor):
        messages = [e for e in drain(desk) if e["type"] == "message"]
        assert [{k: e[k] for k in expected} for e in messages] == [expected]
        assert messages[0]["message"]["text"] == "¿queda mucho?"
    assert [e for e in drain(complaints) if e["type"] != "queue"] == []


def test_typing_reaches_only_the_other_side_of_a_held_conversation(env: RouterEnv):
    lucia, pablo = env.agent("lucia"), env.agent("pablo")
    conversation_id = env.start()
    env.queue_up(conversation_id)
    env.run(env.router.accept(conversation_id, lucia))
    lucia_desk, pablo_desk = env.router.hub.watch_desk(lucia), env.router.hub.watch_desk(pablo)
    customer = env.watch(conversation_id)
    conversation = env.router.get(conversation_id)

    env.router.customer_typing(conversation)
    env.router.agent_typing(conversation, pablo)  # not his: ignored
    env.router.agent_typing(conversation, lucia)

    assert drain(lucia_desk) == [
        {"type": "typing", "conversation": conversation_id, "active": True}
    ]
    assert drain(pablo_desk) == []
    assert drain(customer) == [
        {"type": "typing", "author": "agent", "active": True, "agent": "Lucia"}
    ]


def test_no_callback_while_the_assistant_holds_the_conversation(env: RouterEnv):
    conversation_id = env.start()

    with pytest.raises(RouterError) as refused:
        env.run(env.router.request_callback(conversation_id, "600123456", "hoy"))

    assert refused.value.status == 409
    assert env.router.store.open_callbacks() == []


def test_chat_turns_a_stopped_gateway_never_answered_get_an_apology_at_start(env: RouterEnv):
    cut_short, answered, queued, call = env.start(), env.start(), env.start(), env.start("voice")
    for conversation_id in (cut_short, queued, call):  # saved; the gateway died before Rasa
        env.router.store.add_message(conversation_id, "customer", "¿A qué hora abren?")
    env.say(answered, "¿A qué hora abren?")
    env.queue_up(queued)
    env.router.store.add_message(queued, "customer", "¿Sigue ahí?")  # people will answer it
    long_ago = env.start()
    env.router.store.add_message(long_ago, "customer", "hola", at=1.0)

    assert env.router.answer_interrupted_turns() == 1

    assert env.texts(cut_short)[-1] == notices.INTERRUPTED_TURN
    for untouched in (answered, queued, call, long_ago):
        assert notices.INTERRUPTED_TURN not in env.texts(untouched)
    assert env.router.answer_interrupted_turns() == 0  # answered once


def test_with_other_gateways_only_turns_said_before_this_one_started_are_apologised_for(
    env: RouterEnv,
):
    dropped, in_hand = env.start(), env.start()
    env.router.store.add_message(dropped, "customer", "¿A qué hora abren?", at=time.time() - 5)
    started = time.time() - 2
    # another gateway received this one after our start and is answering it
    env.router.store.add_message(in_hand, "customer", "¿Y el sábado?")

    assert env.router.answer_interrupted_turns(said_before=started) == 1
    assert env.texts(dropped)[-1] == notices.INTERRUPTED_TURN
    assert notices.INTERRUPTED_TURN not in env.texts(in_hand)


def test_calls_left_waiting_by_a_stopped_gateway_are_closed_at_start(env: RouterEnv):
    call = env.start(channel="voice")
    chat = env.start()
    env.queue_up(call)
    env.queue_up(chat)

    assert env.router.close_abandoned_calls() == 1

    assert env.router.get(call).state == State.CLOSED
    assert env.router.get(chat).state == State.QUEUED


def test_a_restarting_gateway_leaves_the_calls_of_the_others_alone(tmp_path: Path):
    here = RouterEnv(tmp_path, gateway_id="host:8001")
    there = RouterEnv(tmp_path, gateway_id="host:8002")  # the same database
    on_the_other_gateway = there.start(channel="voice")
    there.queue_up(on_the_other_gateway)
    mine = here.start(channel="voice")
    here.queue_up(mine)

    assert here.router.close_abandoned_calls() == 1

    assert here.router.get(mine).state == State.CLOSED
    assert here.router.get(on_the_other_gateway).state == State.QUEUED


def test_a_call_whose_engines_broke_is_handed_off_with_the_spoken_apology(env: RouterEnv):
    conversation_id = env.start("voice")

    env.run(env.router.technical_handoff(conversation_id))
    env.run(env.router.technical_handoff(conversation_id))  # a second failure changes nothing

    conversation = env.router.get(conversation_id)
    assert conversation.state == State.QUEUED
    assert (conversation.reason, conversation.priority) == ("error", "high")
    assert env.texts(conversation_id, "bot").count(prompts.TECHNICAL_PROBLEM) == 1


def test_a_technical_failure_with_an_agent_leaves_the_agent_in_charge(env: RouterEnv):
    conversation_id = env.start("voice")
    env.queue_up(conversation_id)
    agent = env.agent("lucia", "sales")
    env.run(env.router.accept(conversation_id, agent))

    env.run(env.router.technical_handoff(conversation_id))

    assert env.state(conversation_id) == State.AGENT
    assert prompts.TECHNICAL_PROBLEM not in env.texts(conversation_id)
