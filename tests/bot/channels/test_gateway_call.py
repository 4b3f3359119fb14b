"""A gateway call's dialogue: the answer to each caller turn comes back down the pipeline, and
the hub speaks only what answers no turn, so nothing is said twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.assistant.contract import BotReply
from bot.channels.gateway_call import RouterDialogueClient
from bot.handoff.models import State
from tests.helpers.gateway_fakes import handoff_reply
from tests.helpers.router_env import RouterEnv

HOURS = "Abrimos de lunes a viernes de nueve a ocho."


def test_the_answer_to_a_turn_is_the_reply_and_is_not_spoken_again(tmp_path: Path):
    env = RouterEnv(tmp_path)
    call = env.start("voice")
    env.assistant.script(BotReply([HOURS]))
    dialogue = RouterDialogueClient(env.router)

    async def scenario() -> None:
        reply = await dialogue.send(call, "a qué hora abren", {"channel": "voice"})
        assert reply.texts == [HOURS] and reply.handoff is None
        (answer,) = [m for m in env.store.messages(call) if m.text == HOURS]
        assert await dialogue.answered(answer.to_json())
        assert not await dialogue.answered(answer.to_json())  # one answer, one check

    asyncio.run(scenario())
    assert env.assistant.sent[-1][2] == "voice"


def test_a_handoff_turn_brings_the_queue_notice_and_the_handoff_down(tmp_path: Path):
    env = RouterEnv(tmp_path)
    call = env.start("voice")
    env.assistant.script(handoff_reply())
    dialogue = RouterDialogueClient(env.router)

    reply = asyncio.run(dialogue.send(call, "quiero hablar con una persona", {}))

    assert env.state(call) == State.QUEUED
    assert reply.texts[0] == "Le paso con una persona."
    assert len(reply.texts) == 2  # and where the caller is in the queue, in the same order
    assert reply.handoff is not None and reply.handoff["reason"] == "user_request"


def test_lines_that_answer_no_turn_are_left_to_the_hub(tmp_path: Path):
    env = RouterEnv(tmp_path)
    call = env.start("voice")
    env.queue_up(call)  # queued before this client saw any turn
    dialogue = RouterDialogueClient(env.router)
    notice = env.store.messages(call)[-1]

    async def scenario() -> None:
        assert not await dialogue.answered(notice.to_json())
        reply = await dialogue.send(call, "¿sigo esperando?", {})
        assert reply.texts == [] and reply.handoff is None  # people hold it: no bot answer

    asyncio.run(scenario())


def test_a_keypad_zero_asks_for_a_person_and_the_transcript_says_what_was_pressed(
    tmp_path: Path,
):
    env = RouterEnv(tmp_path)
    call = env.start("voice")
    dialogue = RouterDialogueClient(env.router)

    asyncio.run(dialogue.send(call, "0", {"input": "keypad"}))

    assert env.assistant.sent[-1][1] == "/request_human"
    assert "0" in env.texts(call, "customer")[-1]
