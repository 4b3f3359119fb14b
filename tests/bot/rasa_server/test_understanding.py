"""What the Rasa channels tell the gateway about each turn's understanding, for the inbox."""

from __future__ import annotations

import asyncio

from bot.assistant.contract import parse_reply
from bot.rasa_server.channels import ChannelCollector, understanding_message

FALLBACK_PARSE = {
    "intent": {"name": "nlu_fallback", "confidence": 0.7},
    "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.7},
        {"name": "report_problem", "confidence": 0.2512345},
        {"name": "greet", "confidence": 0.1},
    ],
}


def test_a_fallback_carries_the_best_real_intent_and_the_gateway_reads_it():
    message = understanding_message("c1", FALLBACK_PARSE)
    reply = parse_reply([{"recipient_id": "c1", "text": "¿Perdón?"}, message])
    assert reply.texts == ["¿Perdón?"] and reply.handoff is None
    assert reply.understanding == {
        "intent": "nlu_fallback", "confidence": 0.7, "guess": "report_problem",
        "guess_confidence": 0.2512, "dialogue_fallback": False,
    }  # fmt: skip


def test_no_parse_says_nothing_was_understood():
    understanding = understanding_message("c1", None)["custom"]["understanding"]
    assert understanding["intent"] is None and understanding["confidence"] == 0.0


def test_the_collector_notices_rasas_core_fallback_response():
    collector = ChannelCollector("webchat")
    asyncio.run(collector.send_response("c1", {"text": "Hola", "utter_action": "utter_greet"}))
    assert not collector.fell_back
    asyncio.run(collector.send_response("c1", {"text": "Perdone", "utter_action": "utter_default"}))
    assert collector.fell_back
    assert [m["text"] for m in collector.messages] == ["Hola", "Perdone"]
