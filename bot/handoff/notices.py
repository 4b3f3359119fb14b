"""What the gateway itself tells customers about the queue, in Spanish.

Numbers are in words ("dos personas", "unos cuatro minutos"): they read well in a chat and
espeak-ng says them naturally on a call.
"""

from __future__ import annotations

from num2words import num2words

from bot.handoff.models import Conversation
from bot.handoff.queue import QueuePlace

ACCEPTED = "Le atiende {agent}."
HANDED_BACK = "Vuelve a atenderle el asistente virtual. ¿En qué más puedo ayudarle?"
CLOSED = "{agent} ha cerrado la conversación. Gracias por contactar con nosotros."
BACK_TO_BOT = "De acuerdo, seguimos con el asistente virtual. ¿En qué puedo ayudarle?"
CALL_LOST = "La llamada se cortó al reiniciarse el sistema."
HUNG_UP = "El cliente ha colgado."
TRANSFER_FAILED = (
    "No he podido pasarle la llamada. Sigue en la cola; le atenderá la próxima persona disponible."
)
INTERRUPTED_TURN = (
    "Disculpe, hemos tenido un problema técnico y no he podido responder a su último mensaje. "
    "¿Puede escribírmelo de nuevo?"
)
HELD_FOR_PERSON = (
    "Su mensaje queda anotado y se lo haremos llegar a la persona que le atiende en cuanto "
    "resolvamos el problema técnico, en unos instantes."
)
TOO_FAST = "Está enviando mensajes muy deprisa. Espere unos segundos, por favor."
TOO_LONG = "El mensaje es demasiado largo (máximo {limit} caracteres). ¿Puede resumirlo?"


def keypad_entry(digits: str) -> str:
    """A caller's keypad entry as the transcript shows it to agents and trainers."""
    if digits == "0":
        return "(teclado) 0: pide hablar con una persona"
    return f"(teclado) {digits}"


# Whom a notice is for: "webchat", "voice" (a browser call, with its page), "phone" (a phone
# line that gave the caller's number: one key books the callback), "phone_anonymous".
_CALLBACK_OFFER = {
    "webchat": "Si lo prefiere, déjenos su teléfono y le llamamos nosotros.",
    "voice": "Si prefiere que le llamemos, deje su teléfono en la página de la llamada.",
    "phone": "Si prefiere que le llamemos a este número, pulse uno.",
    "phone_anonymous": "",
}
_CLOSED_OFFER = {
    "webchat": (
        "Puede dejarnos su teléfono y le llamamos cuando abramos, o seguir con el asistente."
    ),
    "voice": (
        "Puede dejar su teléfono en la página de la llamada y le llamamos cuando abramos, o seguir "
        "con el asistente."
    ),
    "phone": "Si quiere, pulse uno y le llamamos a este número cuando abramos.",
    "phone_anonymous": "Puede volver a llamarnos cuando abramos.",
}
PHONE_CALLBACK_KEY = "1"
PHONE_CALLBACK_WHEN = "lo antes posible"


def audience(conversation: Conversation) -> str:
    """Whom the queue notices speak to (see _CALLBACK_OFFER)."""
    if conversation.on_the_phone:
        return "phone" if conversation.caller else "phone_anonymous"
    return conversation.channel


def _number(n: int, feminine: bool) -> str:
    """num2words says "veintiuno" on its own; before a noun Spanish says "veintiuna personas",
    "veintiún minutos", "treinta y un minutos"."""
    words = num2words(n, lang="es")
    if not words.endswith("uno"):
        return words
    if feminine:
        return words[:-1] + "a"
    return words[:-3] + ("ún" if words.endswith("veintiuno") else "un")


def callback_confirmed(channel: str, phone: str, when: str) -> str:
    """'Hecho: le llamaremos al 600 123 456, hoy por la tarde. …' (a call needs no window)."""
    closing = "ya puede colgar" if channel in ("voice", "phone") else "ya puede cerrar esta ventana"
    return f"Hecho: le llamaremos al {phone}, {when}. Gracias por su paciencia; {closing}."


def count_people(n: int) -> str:
    """'una persona', 'dos personas', 'veintiuna personas'."""
    return "una persona" if n == 1 else f"{_number(n, feminine=True)} personas"


def say_wait(minutes: int | None) -> str:
    """'menos de un minuto', 'unos dos minutos'; None: nobody is online to give an estimate."""
    if minutes is None:
        return "cuanto se conecte alguien"
    if minutes <= 1:
        return "menos de un minuto"
    return f"unos {_number(minutes, feminine=False)} minutos"


def _when(place: QueuePlace) -> str:
    """'le atenderán en unos dos minutos' / 'le atenderán en cuanto se conecte alguien'."""
    return f"le atenderán en {say_wait(place.wait_minutes)}"


def _ahead(place: QueuePlace) -> str:
    """'a dos personas delante; unos cuatro minutos' (no estimate: when someone connects)."""
    wait = say_wait(place.wait_minutes) if place.wait_minutes is not None else _when(place)
    return f"a {count_people(place.ahead)} delante; {wait}"


def say_place(place: QueuePlace) -> str:
    """'Tiene a dos personas delante; unos cuatro minutos.' / 'No tiene a nadie delante; …'."""
    if place.ahead == 0:
        return f"No tiene a nadie delante; {_when(place)}."
    return f"Tiene {_ahead(place)}."


def queued_notice(
    place: QueuePlace,
    department: str,
    channel: str,
    department_open: bool,
    offer_callback: bool,
    department_hours: str | None = None,
) -> str:
    """The first thing a customer hears or reads once queued: place and wait, told honestly."""
    offer = _CALLBACK_OFFER.get(channel, _CALLBACK_OFFER["webchat"])
    if not department_open:
        return _CLOSED_OFFER.get(channel, _CLOSED_OFFER["webchat"])
    if place.wait_minutes is None:
        return _nobody_online(department, channel, offer, department_hours)
    notice = say_place(place)
    return f"{notice} {offer}".strip() if offer_callback else notice


def place_update(place: QueuePlace) -> str:
    """Said when the customer moves up the queue."""
    if place.ahead == 0:
        return f"Ya no tiene a nadie delante; {_when(place)}."
    return f"Ahora tiene {_ahead(place)}."


def _nobody_online(department: str, channel: str, offer: str, hours: str | None) -> str:
    """Honest about it, with the department's hours in writing (a call keeps it short)."""
    nobody = f"Ahora mismo no hay nadie de {department} conectado."
    spoken = channel != "webchat"
    if hours and not spoken:
        nobody += f" El horario de {department} es {hours}."
    if channel.startswith("phone"):  # no page to go back to the assistant from: wait or be called
        return f"{nobody} {offer or 'Le atenderán en cuanto se conecte alguien.'}"
    wait = "" if spoken else ", o esperar aquí: le atenderán en cuanto se conecte alguien"
    return f"{nobody} {offer} También puede seguir con el asistente{wait}."


def hold_reminder(
    place: QueuePlace, department: str, department_open: bool, audience: str = "voice"
) -> str:
    """What a caller on hold hears every so often: still there, and where in the queue."""
    if not department_open:
        return f"Sigue en la cola de {department}. {_CLOSED_OFFER[audience]}"
    return f"Sigue en la cola de {department}. {say_place(place)}"
