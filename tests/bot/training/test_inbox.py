"""Which customer turns reach the trainers' inbox, and how they are kept."""

from __future__ import annotations

import pytest

from bot.handoff.models import Conversation, Message, State
from bot.training.inbox import Inbox
from bot.training.store import TrainerStore

CONVERSATION = Conversation("c1", "webchat", State.BOT, 1000.0)


def said(text: str, message_id: int = 1) -> Message:
    return Message(message_id, CONVERSATION.id, 1000.0 + message_id, "customer", text)


def understood(intent: str, confidence: float, guess: str | None = None) -> dict[str, object]:
    return {"intent": intent, "confidence": confidence, "guess": guess or intent,
            "guess_confidence": confidence if guess is None else 0.4}  # fmt: skip


@pytest.fixture
def inbox() -> Inbox:
    return Inbox(TrainerStore(":memory:"), threshold=0.6)


def test_a_confident_turn_is_not_collected(inbox: Inbox):
    assert not inbox.consider(
        CONVERSATION, said("horario"), understood("ask_opening_hours", 0.9), None
    )
    assert inbox.store.open_items() == ([], 0)


def test_a_fallback_is_collected_with_the_models_best_guess_and_masked(inbox: Inbox):
    turn = said("soy Marta y mi pedido 48213 se perdió en el limbo")
    assert inbox.consider(CONVERSATION, turn, understood("nlu_fallback", 0.7, "track_order"), None)
    [item], total = inbox.store.open_items()
    assert total == 1
    assert (item.reason, item.intent, item.confidence) == ("fallback", "track_order", 0.4)
    assert item.text == "soy «nombre» y mi pedido «número» se perdió en el limbo"
    assert item.to_json()["reason_text"] == "El asistente no lo entendió"


def test_low_confidence_and_handoffs_are_collected_but_a_plain_request_for_a_person_is_not(
    inbox: Inbox,
):
    handoff = {"reason": "user_request"}
    assert inbox.consider(CONVERSATION, said("eh", 1), understood("greet", 0.45), None)
    assert inbox.consider(
        CONVERSATION, said("lo de la linea", 2), understood("report_problem", 0.8), handoff
    )
    assert not inbox.consider(
        CONVERSATION, said("una persona", 3), understood("request_human", 0.95), handoff
    )
    reasons = [item.reason for item in inbox.store.open_items()[0]]
    assert reasons == ["handoff", "low_confidence"]


def test_the_same_message_is_collected_once_and_an_agent_correction_marks_it(inbox: Inbox):
    turn = said("lo del rúter")
    inbox.consider(CONVERSATION, turn, understood("greet", 0.3), None)
    assert not inbox.consider(CONVERSATION, turn, understood("greet", 0.3), None)
    inbox.correct(CONVERSATION, turn, "track_order")
    [item], _ = inbox.store.open_items()
    assert (item.reason, item.suggested_intent) == ("agent", "track_order")


def test_labelled_and_discarded_items_leave_the_inbox(inbox: Inbox):
    inbox.consider(CONVERSATION, said("uno", 1), understood("greet", 0.1), None)
    inbox.consider(CONVERSATION, said("dos", 2), understood("greet", 0.1), None)
    first, second = inbox.store.open_items()[0]
    assert inbox.store.close_item(first.id, "labelled")
    assert not inbox.store.close_item(first.id, "discarded")
    assert inbox.store.close_item(second.id, "discarded")
    assert inbox.store.open_items() == ([], 0)


def test_a_confident_turn_the_dialogue_could_not_place_is_collected(inbox: Inbox):
    reading = {**understood("inform", 0.71), "dialogue_fallback": True}
    assert inbox.consider(CONVERSATION, said("el trasto del salón hace chiribitas"), reading, None)
    [item], _ = inbox.store.open_items()
    assert (item.reason, item.intent) == ("fallback", "inform")


def test_a_turn_without_the_nlu_reading_is_not_collected(inbox: Inbox):
    assert not inbox.consider(CONVERSATION, said("hola"), None, {"reason": "error"})
