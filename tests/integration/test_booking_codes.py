"""A booking made in one conversation is checked, moved and cancelled by its code in others."""

from __future__ import annotations

import re

import pytest

from bot.assistant.client import BlockingAssistant

pytestmark = pytest.mark.integration


def say(client: BlockingAssistant, conversation: str, *lines: str) -> str:
    said = ""
    for line in lines:
        reply = client.send(conversation, line)
        assert reply.texts, f"silence after {line!r}"
        said = " ".join(reply.texts)
    return said


def test_book_then_check_move_and_cancel_by_code(live_client: BlockingAssistant):
    confirmation = say(
        live_client,
        "codes-book",
        "quiero pedir cita en la tienda de valencia el jueves a las diez",
        "Rosa Martín",
        "699 111 222",
    )
    assert "Su cita en la tienda de Valencia Colón queda para el jueves 5 de marzo" in confirmation
    code = re.search(r"\b[A-Z]{2}\d{4}\b", confirmation).group(0)

    details = say(live_client, "codes-check", "¿cuándo tengo la cita?", code)
    assert "el jueves 5 de marzo a las diez de la mañana" in details

    moved = say(live_client, "codes-move", "quiero cambiar mi cita", code, "el viernes a las once")
    assert "queda ahora para el viernes 6 de marzo a las once de la mañana" in moved

    question = say(live_client, "codes-cancel", "quiero anular mi cita", code)
    assert "¿Anulo su cita prevista para el viernes 6 de marzo" in question
    assert "queda anulada" in say(live_client, "codes-cancel", "sí")
    assert "está anulada" in say(live_client, "codes-check-2", "¿cuándo es mi cita?", code)
