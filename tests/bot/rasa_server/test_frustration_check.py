"""The frustration check of the Rasa channels: what the dialogue gets for each turn."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from bot.rasa_server.frustration import FrustrationWeights, Sign
from bot.rasa_server.frustration_check import ACKNOWLEDGEMENT, CheckedTurn, FrustrationCheck
from bot.rasa_server.frustration_meter import Assessment, MeterState


def parsed(intent: str, confidence: float = 0.9) -> dict[str, Any]:
    return {"text": "…", "intent": {"name": intent, "confidence": confidence}, "entities": [1]}


class FakeTrackerStore:
    """Holds user events as the SQL tracker store gives them back."""

    def __init__(self, metadata_by_turn: list[dict[str, Any]]) -> None:
        self.events = [SimpleNamespace(type_name="user", metadata=m) for m in metadata_by_turn]
        self.retrieved = 0

    async def retrieve(self, sender: str) -> Any:
        self.retrieved += 1
        return SimpleNamespace(events=self.events)


def check_turns(check: FrustrationCheck, turns: list[tuple[str, str]], agent: Any = None) -> list:
    async def run() -> list:
        results = []
        for text, intent in turns:
            checked = await check.check(agent, "c1", text, parsed(intent), {"channel": "webchat"})
            check.remember("c1", checked.state)
            results.append(checked)
        return results

    return asyncio.run(run())


def test_over_the_threshold_the_dialogue_gets_express_frustration_with_the_words_kept():
    (checked,) = check_turns(
        FrustrationCheck(FrustrationWeights()), [("joder, qué mal", "track_order")]
    )
    assert checked.parse_data["intent"] == {"name": "express_frustration", "confidence": 1.0}
    assert checked.parse_data["entities"] == [1]
    record = checked.metadata["frustration"]
    assert record["handoff"] and record["understood_intent"] == "track_order"
    assert record["reasons"][0] == "palabras malsonantes («joder»)"
    assert checked.metadata["channel"] == "webchat" and "state" in record


def test_a_request_for_a_person_keeps_its_intent_whatever_the_score():
    (checked,) = check_turns(
        FrustrationCheck(), [("PÁSEME CON UNA PERSONA, JODER", "request_human")]
    )
    assert checked.intent == "request_human" and checked.metadata["frustration"]["handoff"]


def test_rising_frustration_leads_the_replies_with_an_acknowledgement_once():
    check = FrustrationCheck()
    turns = check_turns(
        check,
        [
            ("¿dónde está mi pedido?", "track_order"),
            ("le digo que dónde está mi pedido", "track_order"),
            ("gracias", "thank"),
        ],
    )
    replies = [{"recipient_id": "c1", "text": "¿Me dice el número de pedido?"}]
    assert turns[0].with_acknowledgement(replies, "webchat", "c1") == replies
    led = turns[1].with_acknowledgement(replies, "webchat", "c1")
    assert led[0]["text"] == ACKNOWLEDGEMENT and led[1:] == replies
    assert led[0]["buttons"] == [{"title": "Hablar con una persona", "payload": "/request_human"}]
    assert "buttons" not in turns[1].with_acknowledgement(replies, "voice", "c1")[0]
    handing_off = [*replies, {"custom": {"handoff": {"reason": "repeated_fallback"}}}]
    assert turns[1].with_acknowledgement(handing_off, "webchat", "c1") == handing_off
    assert turns[2].with_acknowledgement(replies, "webchat", "c1") == replies


def test_the_state_comes_back_from_the_tracker_after_a_restart():
    first = FrustrationCheck()
    (earlier,) = check_turns(first, [("¿dónde está mi pedido?", "track_order")])
    store = FakeTrackerStore([{}, {"frustration": {"state": earlier.state.to_json()}}])
    agent = SimpleNamespace(tracker_store=store)

    restarted = FrustrationCheck()
    (again,) = check_turns(restarted, [("¿dónde está mi pedido? no llega", "track_order")], agent)

    assert "repitió 2 veces lo mismo" in again.assessment.reasons
    assert store.retrieved == 1
    check_turns(restarted, [("hola", "greet")], agent)
    assert store.retrieved == 1  # in memory from then on


def test_button_payloads_and_voice_features_from_the_wire():
    async def run() -> Any:
        check = FrustrationCheck()
        return await check.check(
            None, "c2", "/affirm", parsed("affirm"), {"voice": {"loudness_db": "muy alto"}}
        )

    checked = asyncio.run(run())
    assert checked.assessment.score == 0.0 and checked.metadata["voice"] == {
        "loudness_db": "muy alto"
    }


def upset_turn(kind: str, intent: str = "track_order") -> CheckedTurn:
    assessment = Assessment(0.4, [Sign(kind, 0.3, "…")], ["…"], False, False, upset=True)
    return CheckedTurn(parsed(intent), {}, assessment, MeterState(score=0.4))


def test_an_upset_customer_gets_an_apology_for_what_upset_them_and_a_person_at_hand():
    replies = [{"recipient_id": "c1", "text": "¿Me dice el número de pedido?"}]
    toned = upset_turn("repetition").with_acknowledgement(replies, "webchat", "c1")
    assert toned[0]["text"] == "Perdone que tenga que repetírmelo. ¿Me dice el número de pedido?"
    assert toned[0]["buttons"] == [{"title": "Hablar con una persona", "payload": "/request_human"}]
    assert replies[0]["text"] == "¿Me dice el número de pedido?"  # the originals are untouched
    spoken = upset_turn("tone").with_acknowledgement(replies, "voice", "c1")
    assert spoken[0]["text"].startswith("Siento las molestias.") and "buttons" not in spoken[0]
    handing_off = [*replies, {"recipient_id": "c1", "custom": {"handoff": {}}}]
    assert upset_turn("tone").with_acknowledgement(handing_off, "webchat", "c1") == handing_off
