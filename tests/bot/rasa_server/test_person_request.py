"""The rule that never misses a request for a person (data/handoff/person_request.yml)."""

from __future__ import annotations

import pytest

from bot.rasa_server.person_request import PersonRequestReader, Verdict, Vocabulary

REQUESTS = [
    # direct, in both registers, Spain and Latin America
    "quiero hablar con una persona", "pásame con un agente", "¿me puede pasar con un asesor?",
    "me comunica con un ejecutivo por favor", "ocupo hablar con alguien ahorita",
    "pasame con alguien, che", "necesito hablar con alguien de facturación",
    "comuníqueme con el supervisor", "quiero un agente", "¿puedo hablar con un ser humano?",
    # indirect
    "¿hay alguien de carne y hueso?", "que me atienda alguien de verdad",
    "prefiero que me lo explique una persona", "que me llame alguien",
    "¿no hay nadie que me pueda atender?", "quiero a alguien",
    # rejecting the machine
    "no quiero hablar con una máquina", "nada de robots", "basta de contestadores",
    "estoy harto de hablar con una máquina", "máquinas no", "no quiero un bot quiero una persona",
    # impatient, and a person on their own
    "pásame YA con alguien", "operador, operador", "persona!!!", "agente humano por favor",
    "un asesor", "OPERADORA",
    # after other words, in another clause
    "no me entiendes, pásame con una persona", "¿no me puede pasar con alguien?",
    # as a recogniser writes it, with its slips
    "quiero ablar con un umano", "pasame con un oprador porfa",
    "no me entiendes pasame con una persona",
    # as Whisper wrote Pico saying them: joined words, no question mark, no commas
    "pásame con una gente", "una gente por favor", "a gente humano por favor",
    "que me llame una sesor cuando pueda", "no hay ninguna persona disponible",
    "no pienso hablar con un programa quiero una persona", "con una maquina no con una persona",
    "agente agente agente agente",
    # tú forms, callbacks and a review by someone
    "que me pases con alguien te digo", "que me pongas con un humano",
    "me derivas con un compañero",
    "me puede llamar una persona de ventas", "pido que me contacte un responsable",
    "¿puede revisar mi caso un empleado?", "alguien de la compañía me puede atender",
    "¿queda algún agente libre?", "chat con un agente",
    # unable to reach anyone, put through to whoever, the machine turned down
    "no puedo hablar con nadie", "no me dejan hablar con nadie", "pásame con quien sea",
    "transfiérame por favor", "ni robot ni nada una persona", "no quiero hablar contigo",
    "llevo media hora pasame con un humano", "mejor con una persona gracias",
    "quisiera que me contactara un agente", "¿me atiende un agente, por favor?",
    # sentences run together by the recogniser, the verb left out, someone to come to the phone
    "eres un robot quiero hablar con una persona", "esto es un contestador paseme con alguien",
    "con alguien de la tienda por favor", "con quien sea", "que se ponga alguien",
    "ponme un operador", "deseo ser atendido por un humano", "llama a un humano",
    "basta, una persona", "ayuda humana por favor", "oiga no hay nadie ahí",
    "que me atienda personal de la compañía", "atención telefónica con una persona",
    "que me llame por teléfono un comercial",
    # a noun of help or talk, when wanted; someone called over with nothing after
    "quiero una llamada con un agente", "una llamada con un agente, por favor",
    "necesito la ayuda de una persona", "avise a un encargado", "búsqueme a alguien",
    "¿hay alguien ahí?", "necesito que me atienda alguien a esta hora",
    "que una persona me atienda, por favor",
]  # fmt: skip
DECLINED = [
    "no, no quiero un agente", "no hace falta que me pase con nadie",
    "no necesito hablar con nadie",
]  # fmt: skip
NEITHER = [
    # asking what the assistant is (bot_challenge)
    "¿eres una persona real?", "¿hablo con una máquina?", "¿estoy hablando con un humano?",
    "¿eres un robot?", "¿hay un humano escribiendo esto?", "¿hay alguien real contestando?",
    "me atiende una persona o un sistema automático",
    # people mentioned, nobody asked for
    "quiero una cita con un asesor", "necesito que venga un técnico",
    "la persona que me atendió fue muy amable", "el agente me colgó",
    "hablé con un operador ayer y no me lo solucionó",
    "quiero poner una queja del técnico que vino",
    "¿el técnico me llamará antes de venir?",
    # words that look alike
    "el ascensor no funciona", "quiero cambiar mis datos personales",
    "mi número personal es el 600123123",
    # people of the past, and verbs that also ask for a person
    "con quien hablé ayer me dijo otra cosa", "ya fui atendido por un agente ayer",
    "llama a mi móvil", "búscame una cita con un asesor",
    # departments asked about, not asked for
    "¿a qué hora abre atención al cliente?", "horario de facturación",
    "nada más, eso es todo, adiós", "no tengo internet",
    # complaints about a call or a person, named people, messages for someone
    "cómo se llama el agente que me atendió", "me cortaron la llamada con el agente",
    "la atención con el agente de ayer fue un desastre", "la llamada con el técnico fue ayer",
    "tengo una llamada pendiente con el comercial",
    "la conversación con el agente no sirvió de nada",
    "la ayuda de una persona de la tienda fue clave",
    "avise al técnico de que llegaré tarde", "no hay nadie ahí para recoger el paquete",
    # when someone serves, and what someone said
    "¿hasta qué hora atiende el personal de la tienda?", "¿atiende alguien los domingos?",
    "¿a qué hora atienden los comerciales?", "el operador me dijo que llamara",
]  # fmt: skip


@pytest.fixture(scope="module")
def reader() -> PersonRequestReader:
    return PersonRequestReader()


@pytest.mark.parametrize("text", REQUESTS)
def test_every_way_of_asking_for_a_person_is_a_request(reader, text):
    verdict = reader.read(text)
    assert verdict is not None and verdict.kind == "request", verdict


@pytest.mark.parametrize("text", DECLINED)
def test_a_person_turned_down_is_declined(reader, text):
    verdict = reader.read(text)
    assert verdict is not None and verdict.kind == "declined", verdict


@pytest.mark.parametrize("text", NEITHER)
def test_mentions_and_questions_about_the_assistant_ask_for_nobody(reader, text):
    assert reader.read(text) is None


def test_the_words_that_decided_are_given_for_the_log(reader):
    assert reader.read("no quiero hablar con una máquina") == Verdict(
        "request", "no quiero hablar con una maquina"
    )


def test_trainers_words_come_from_the_vocabulary_file(tmp_path):
    path = tmp_path / "words.yml"
    path.write_text("people: [conserje]\nmachines: [cacharro]\n", encoding="utf-8")
    reader = PersonRequestReader(Vocabulary.load(path))
    assert reader.read("páseme con el conserje").kind == "request"
    assert reader.read("nada de cacharros").kind == "request"
    assert reader.read("páseme con un agente") is None  # not in this vocabulary


@pytest.mark.parametrize("text", ["", "   ", "?!", "a" * 5000, "no " * 400 + "persona"])
def test_odd_input_is_read_without_error(reader, text):
    reader.read(text)
