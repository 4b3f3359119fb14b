"""The dialogue stage: each caller turn goes to the assistant, its reply comes back as text."""

from __future__ import annotations

import asyncio

from bot.assistant.contract import BotReply, DialogueUnavailable
from bot.frames import BotTextFrame, HandoffFrame, InterruptFrame, TranscriptFrame, VoiceFeatures
from bot.pipeline import prompts
from bot.pipeline.dialogue import DialogueStage
from tests.helpers.voice_fakes import FakeDialogueClient, ManualClock, of_type, run_stage

METADATA = {"channel": "voice", "caller": "+34600000000"}
HANDOFF = {
    "reason": "customer_request",
    "department": "orders",
    "priority": "normal",
    "summary": "Quiere hablar con una persona.",
    "intents": ["request_human"],
    "slots": {},
}


QUIET_TURN = {"loudness_db": None, "pitch_hz": None, "words_per_s": None, "barged_in": False}
CONTRACT_KEYS = ("reason", "department", "priority", "summary", "intents", "slots")


def final(text: str, turn: int = 1) -> TranscriptFrame:
    return TranscriptFrame(text, final=True, at=2.0, turn=turn)


def run(client: FakeDialogueClient, frames, now: float = 2.4) -> list:
    stage = DialogueStage(client, "call-1", METADATA, ManualClock(now))
    return asyncio.run(run_stage(stage, frames))


def test_a_final_transcript_becomes_one_bot_text_per_reply_text():
    client = FakeDialogueClient([BotReply(["Abrimos a las 10:00.", "¿Algo más?"])])
    transcript = final("a qué hora abren", turn=3)

    out = run(client, [transcript])

    assert out == [
        transcript,
        BotTextFrame("Abrimos a las 10:00.", 2.4, 3),
        BotTextFrame("¿Algo más?", 2.4, 3),
    ]
    assert client.sent == [("call-1", "a qué hora abren", {**METADATA, "voice": QUIET_TURN})]


def test_a_handoff_follows_the_reply_texts():
    client = FakeDialogueClient([BotReply(["Le paso con un compañero."], handoff=HANDOFF)])

    out = run(client, [final("quiero hablar con una persona", turn=2)])

    assert out[1:] == [
        BotTextFrame("Le paso con un compañero.", 2.4, 2),
        HandoffFrame(2.4, HANDOFF, 2),
    ]


def test_a_handoff_without_text_says_the_transfer_line():
    client = FakeDialogueClient([BotReply([], handoff=HANDOFF)])

    out = run(client, [final("un agente", turn=2)])

    assert [type(frame) for frame in out] == [TranscriptFrame, BotTextFrame, HandoffFrame]
    assert out[1].text == prompts.TRANSFER
    assert out[1].turn == 2
    assert out[2].handoff == HANDOFF


def test_an_unavailable_assistant_apologises_and_hands_over():
    client = FakeDialogueClient([DialogueUnavailable("connection refused")])

    out = run(client, [final("hola", turn=1)])

    [text] = of_type(out, BotTextFrame)
    [handoff] = of_type(out, HandoffFrame)
    assert text.text == prompts.TECHNICAL_PROBLEM
    assert out.index(text) < out.index(handoff)
    assert handoff.turn == 1
    assert set(handoff.handoff) == set(CONTRACT_KEYS)
    assert handoff.handoff["reason"] == "error"
    assert handoff.handoff["priority"] in ("normal", "high")
    assert isinstance(handoff.handoff["summary"], str) and handoff.handoff["summary"]
    assert handoff.handoff["intents"] == [] and handoff.handoff["slots"] == {}


def test_partial_and_empty_transcripts_are_not_sent():
    client = FakeDialogueClient([BotReply(["Dígame."])])
    frames = [
        TranscriptFrame("a qué", final=False, at=1.0),
        TranscriptFrame("", final=True, at=1.5, turn=1),
        BotTextFrame("Hola", 0.0, prompt=True),
    ]

    out = run(client, frames)

    assert out == frames
    assert client.sent == []


def test_the_call_metadata_goes_with_every_turn():
    client = FakeDialogueClient([BotReply(["Vale."]), BotReply(["De nada."])])

    run(client, [final("hola", 1), final("gracias", 2)])

    with_voice = {**METADATA, "voice": QUIET_TURN}
    assert [(cid, meta) for cid, _, meta in client.sent] == [
        ("call-1", with_voice),
        ("call-1", with_voice),
    ]
    assert client.texts == ["hola", "gracias"]


def test_each_turn_says_how_the_caller_said_it_and_whether_they_cut_in():
    client = FakeDialogueClient([BotReply(["Vale."]), BotReply(["De acuerdo."])])
    heard = VoiceFeatures(loudness_db=-20.0, pitch_hz=180.0, words_per_s=3.2)
    calm = TranscriptFrame("quiero saber mi pedido", final=True, at=2.0, turn=1, voice=heard)
    cutting_in = TranscriptFrame("que no, escúcheme", final=True, at=9.0, turn=2)

    run(client, [calm, InterruptFrame(8.0, 7.8, 2), cutting_in])

    first, second = (metadata["voice"] for _, _, metadata in client.sent)
    assert first == {
        "loudness_db": -20.0,
        "pitch_hz": 180.0,
        "words_per_s": 3.2,
        "barged_in": False,
    }
    assert second == {**QUIET_TURN, "barged_in": True}
    assert all(metadata["channel"] == "voice" for _, _, metadata in client.sent)
