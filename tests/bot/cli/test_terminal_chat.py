"""The terminal conversation: buttons by number, handoff on hold, a stopped server explained."""

from bot.assistant.contract import BotReply, parse_reply
from bot.cli.terminal_chat import ON_HOLD, UNAVAILABLE, TerminalChat
from tests.helpers.fakes import UNAVAILABLE as DOWN
from tests.helpers.fakes import FakeAssistant

HANDOFF = {"reason": "user_request", "department": "billing", "priority": "normal"}


def chat_with(replies, lines):
    client, shown = FakeAssistant(replies), []
    feed = iter(lines)

    def read(_prompt: str) -> str:
        line = next(feed, None)
        if line is None:
            raise EOFError  # what input() raises at the end of the terminal's input
        return line

    TerminalChat(client, read=read, write=shown.append).run()
    return client, "\n".join(shown)


def test_buttons_can_be_chosen_by_number():
    menu = BotReply(
        ["¿Qué cita necesita?"], [{"title": "Cita en tienda", "payload": "cita en tienda"}]
    )
    client, shown = chat_with([menu, BotReply(["¿En qué tienda?"])], ["quiero cita", "1", "salir"])
    assert client.sent == ["quiero cita", "cita en tienda"]
    assert "   1) Cita en tienda" in shown and "Asistente: ¿En qué tienda?" in shown


def test_nothing_is_sent_while_waiting_for_a_person_until_resumed():
    handoff = BotReply(["Le paso con una persona de facturación."], handoff=HANDOFF)
    client, shown = chat_with(
        [handoff, BotReply(["Hola"])],
        ["una persona", "¿hay alguien?", "/reanudar", "hola", "salir"],
    )
    assert client.sent == ["una persona", "hola"] and client.resumed
    assert shown.count(ON_HOLD) == 2 and "motivo: lo pidió el cliente" in shown


def test_stopped_server_gets_an_apology_not_a_crash():
    _, shown = chat_with([DOWN], ["hola", "salir"])
    assert UNAVAILABLE in shown


def test_end_of_input_ends_the_chat():
    client, _ = chat_with([], [])
    assert client.sent == []


def test_parse_reply_finds_texts_buttons_and_handoff():
    reply = parse_reply(
        [
            {"recipient_id": "x", "text": "Hola", "buttons": [{"title": "A", "payload": "/a"}]},
            {"recipient_id": "x", "custom": {"handoff": HANDOFF}},
        ]
    )
    assert (
        reply.texts == ["Hola"] and reply.buttons[0]["payload"] == "/a" and reply.handoff == HANDOFF
    )
