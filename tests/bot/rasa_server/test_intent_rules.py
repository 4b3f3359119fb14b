"""The rules that have the last word over the classifier, run as Rasa runs them."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_server.intent_rules import CalmClosingRule, PersonRequestRule, is_calm_closing


def classified(text: str, *ranking: tuple[str, float]) -> Message:
    """A message as the classifier leaves it: its best intent and the ranking."""
    items = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = Message(data={"text": text})
    message.set("intent", items[0], add_to_output=True)
    message.set("intent_ranking", items, add_to_output=True)
    return message


def intent_of(message: Message) -> str:
    return message.get("intent")["name"]


def test_a_request_for_a_person_wins_over_the_classifiers_reading():
    message = classified("no quiero hablar con una máquina", ("deny", 0.45), ("greet", 0.2))
    PersonRequestRule().process([message])
    assert message.get("intent") == {"name": "request_human", "confidence": 1.0}
    # what the classifier thought stays second, for trainers
    assert [i["name"] for i in message.get("intent_ranking")] == ["request_human", "deny", "greet"]


def test_a_person_declined_is_not_a_request():
    message = classified("no, no quiero un agente", ("request_human", 0.6), ("deny", 0.3))
    PersonRequestRule().process([message])
    assert intent_of(message) == "deny"


def test_other_messages_and_button_payloads_are_left_alone():
    hours = classified("¿a qué hora abren?", ("ask_opening_hours", 0.9))
    button = classified("/affirm", ("affirm", 1.0))
    PersonRequestRule().process([hours, button])
    assert intent_of(hours) == "ask_opening_hours" and intent_of(button) == "affirm"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nada más, eso es todo, adiós", "goodbye"),
        ("vale, muchas gracias", "thank"),
        ("perfecto, gracias, eso es todo por hoy", "goodbye"),
    ],
)
def test_a_calm_closing_read_as_frustration_is_a_closing(text, expected):
    message = classified(text, ("express_frustration", 0.85), ("goodbye", 0.1))
    CalmClosingRule().process([message])
    assert intent_of(message) == expected


@pytest.mark.parametrize(
    "text",
    [
        "gracias por nada, sois unos inútiles, adiós",  # anger
        "ADIÓS, YA ESTÁ BIEN",  # shouting
        "nada más, que ya me he cansado de esperar",  # something else is said
    ],
)
def test_an_angry_goodbye_stays_frustration(text):
    assert not is_calm_closing(text)
    message = classified(text, ("express_frustration", 0.85))
    CalmClosingRule().process([message])
    assert intent_of(message) == "express_frustration"


def test_a_request_the_classifier_barely_preferred_is_made_certain():
    # 0.33 against 0.32: the FallbackClassifier would call it ambiguous and ask to rephrase
    message = classified(
        "no quiero hablar con una máquina", ("request_human", 0.33), ("deny", 0.32)
    )
    PersonRequestRule().process([message])
    assert message.get("intent") == {"name": "request_human", "confidence": 1.0}
    assert [i["name"] for i in message.get("intent_ranking")] == ["request_human", "deny"]
