"""Bad input and broken parts never leave the customer in silence."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from bot.assistant.client import BlockingAssistant
from bot.settings import Settings
from tests.helpers.live import blocking_assistant

pytestmark = pytest.mark.integration


def test_very_long_message_gets_an_answer(live_client: BlockingAssistant):
    reply = live_client.send("long-message", "quiero una cita " + "blablabla " * 1000)
    assert reply.texts


def test_missing_conversation_id_is_a_clear_400(live_settings: Settings):
    answer = requests.post(
        f"{live_settings.rasa_url}/webhooks/webchat/webhook", json={"message": "hola"}, timeout=30
    )
    assert answer.status_code == 400 and "sender" in answer.json()["error"]


def test_voice_channel_gets_the_voice_variant(live_settings: Settings):
    voice = blocking_assistant(live_settings.rasa_url, channel="voice")
    reply = voice.send("voice-1", "hola")
    voice.close()
    assert reply.texts == ["Hola, soy el asistente virtual. Dígame en qué puedo ayudarle."]
    assert reply.buttons == []


def test_after_a_handoff_the_assistant_can_take_the_conversation_back(
    live_client: BlockingAssistant,
):
    assert live_client.send("resume-1", "quiero hablar con una persona").handoff
    live_client.resume("resume-1")
    reply = live_client.send("resume-1", "gracias")
    assert reply.handoff is None and "¿Puedo ayudarle en algo más?" in " ".join(reply.texts)


def test_the_rasa_api_needs_the_token(live_settings: Settings):
    tracker = f"{live_settings.rasa_url}/conversations/anyone/tracker"
    assert requests.get(tracker, timeout=30).status_code == 401
    authorised = requests.get(tracker, params={"token": live_settings.rasa_token}, timeout=30)
    assert authorised.status_code == 200


def test_conversations_are_kept_on_disk(live_client: BlockingAssistant, live_settings: Settings):
    """The tracker store is a SQLite file, so a restart of the Rasa server loses nothing."""
    live_client.send("kept-1", "quiero pedir una cita en la tienda de madrid")
    with sqlite3.connect(live_settings.data_dir / "conversations.db") as database:
        rows = database.execute(
            "SELECT count(*) FROM events WHERE sender_id = 'kept-1' AND type_name = 'user'"
        ).fetchone()
    assert rows[0] == 1
