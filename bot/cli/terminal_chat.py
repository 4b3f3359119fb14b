"""A text conversation with the assistant in the terminal, straight to Rasa's `webchat` channel
(a developer's tool: the gateway's queue and agent desk serve the web chat)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from bot.assistant.client import BlockingAssistant
from bot.assistant.contract import BotReply, DialogueUnavailable
from bot.handoff.models import reason_text

WELCOME = (
    "Asistente de atención al cliente (conversación de texto).\n"
    "Escriba su mensaje y pulse Intro. Para terminar, escriba «salir»."
)
UNAVAILABLE = (
    "Disculpe, el asistente no responde en este momento. Inténtelo de nuevo en unos segundos; "
    "si sigue sin responder, inténtelo en unos minutos."
)
ON_HOLD = (
    "Su conversación espera a una persona. Esta terminal habla directamente con el asistente, "
    "sin la cola ni el escritorio de agentes (para eso, use el chat web que indica `make run`): "
    "escriba «/reanudar» para volver con el asistente o «salir» para terminar."
)
RESUMED = "Vuelve a estar con el asistente. ¿En qué puedo ayudarle?"
HANDOFF_BANNER = "[Traspaso a una persona · motivo: {reason} · prioridad: {priority}]"
PRIORITY_NAMES = {"normal": "normal", "high": "alta"}


class TerminalChat:
    """Reads lines, sends them, prints the replies; numbered buttons can be chosen by number.

    While the conversation waits for a person nothing is sent to the assistant: the bot never
    answers over a human.
    """

    def __init__(
        self,
        client: BlockingAssistant,
        read: Callable[[str], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self._client = client
        self._read = read
        self._write = write
        self._conversation_id = f"terminal-{uuid.uuid4().hex[:12]}"
        self._buttons: list[dict[str, str]] = []
        self._on_hold = False

    def run(self) -> None:
        self._write(WELCOME)
        while True:
            try:
                line = self._read("Usted: ").strip()
            except (EOFError, KeyboardInterrupt):
                self._write("")
                return
            if line.lower() in {"salir", "/salir"}:
                return
            self.handle(line)

    def handle(self, line: str) -> None:
        """One customer line: a command, a button number or a message."""
        if self._on_hold:
            self._handle_on_hold(line)
            return
        if line.isdigit() and 1 <= int(line) <= len(self._buttons):
            line = self._buttons[int(line) - 1]["payload"]
        try:
            reply = self._client.send(self._conversation_id, line, {"channel": "terminal"})
        except DialogueUnavailable:
            self._write(f"Asistente: {UNAVAILABLE}")
            return
        self._show(reply)

    def _handle_on_hold(self, line: str) -> None:
        if line.lower() != "/reanudar":
            self._write(ON_HOLD)
            return
        try:
            self._client.resume(self._conversation_id)
        except DialogueUnavailable:
            self._write(f"Asistente: {UNAVAILABLE}")
            return
        self._on_hold = False
        self._write(f"Asistente: {RESUMED}")

    def _show(self, reply: BotReply) -> None:
        for text in reply.texts:
            self._write(f"Asistente: {text}")
        self._buttons = reply.buttons
        for number, button in enumerate(reply.buttons, start=1):
            self._write(f"   {number}) {button['title']}")
        if reply.handoff:
            reason = str(reply.handoff.get("reason"))
            priority = str(reply.handoff.get("priority"))
            self._write(
                HANDOFF_BANNER.format(
                    reason=reason_text(reason).lower(),
                    priority=PRIORITY_NAMES.get(priority, priority),
                )
            )
            self._on_hold = True
            self._write(ON_HOLD)
