"""Finds a request for a person in a customer's message, by rule, so that none is missed.

Handing over on request is what the product is named for, and the statistical classifier alone
misses the common indirect and negated ways people ask: "no quiero hablar con una máquina" came
out as `deny`. This reader knows the shapes of a request, each clause of the message on its own:

- talking to or being put through to someone: "hablar con", "páseme con", "comuníqueme con"
  followed by a person ("un agente", "alguien de facturación", "el supervisor");
- wanting a person: "quiero un agente", "prefiero una persona";
- being served by one: "que me atienda alguien", "una persona que me ayude";
- phrases that say it whatever surrounds them: "de carne y hueso", "alguien de verdad";
- rejecting the machine: "no quiero hablar con una máquina", "nada de robots", "basta de
  contestadores";
- a person on its own: "operador", "un agente, por favor", "persona!!!".

It also knows when a person is declined ("no, no quiero un agente", "no hace falta que me pase
con nadie") and when the customer only asks what they are talking to ("¿eres una persona
real?", a `bot_challenge`). The words live in data/handoff/person_request.yml, for trainers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from rapidfuzz import process
from rapidfuzz.fuzz import ratio

from bot.settings import PROJECT_ROOT
from bot.text import clauses, plain_words

VOCABULARY_FILE = PROJECT_ROOT / "data" / "handoff" / "person_request.yml"
MIN_SIMILARITY = 88  # "oprador" is "operador"; "ascensor" is not "asesor"
FUZZY_MIN_LENGTH = 6

TALK_VERBS = frozenset(
    [
        "hablar",
        "ablar",
        "hablarle",
        "hablarlo",
        "comunicar",
        "comunicarme",
        "comunicarnos",
        "contactar",
        "contactarme",
        "conectar",
        "conectarme",
        "charlar",
        "chatear",
        "platicar",
        "chat",
        "conversar",
        "tratar",
    ]
)  # not "hablo": "¿hablo con una persona?" asks what the assistant is
# nouns that ask for a conversation, when wanted: "quiero atención telefónica con una persona",
# not "me cortaron la llamada con el agente"
TALK_NOUNS = frozenset(
    {"atencion", "llamada", "videollamada", "conversacion", "ayuda", "asistencia"}
)
# "la llamada con el técnico fue ayer" speaks of one; "una llamada con un agente" asks for one
DEFINITE = frozenset({"el", "la", "con", "a", "al", "de"})
# words of a question about opening hours, where "atienden" asks when, not for someone now
OPENING_HOURS_WORDS = frozenset({"horario", "horarios", "festivos", "abren"})
WEEKDAYS = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabados", "domingos")
# a person who said something: "el operador me dijo que llamara" reports, it does not ask
SAYING_VERBS = frozenset({"dijo", "dijeron", "dice", "dicen", "comento", "explico", "conto"})
# how many words may stand between a verb of wanting and the noun wanted ("quiero una llamada")
WANTED_REACH = 3
TRANSFER_VERBS = frozenset(
    [
        "pasar",
        "pasarme",
        "pasame",
        "paseme",
        "pasenme",
        "pasa",
        "pase",
        "pasen",
        "pasas",
        "pasais",
        "pasad",
        "ponme",
        "pongame",
        "ponganme",
        "poner",
        "ponerme",
        "pon",
        "ponga",
        "pongan",
        "pones",
        "comunicame",
        "comuniqueme",
        "comuniquenme",
        "comunica",
        "comunique",
        "comuniquen",
        "comunicas",
        "transferir",
        "transferirme",
        "transfiereme",
        "transfierame",
        "transfiere",
        "transfiera",
        "transfieran",
        "derivar",
        "derivarme",
        "derivame",
        "deriveme",
        "deriva",
        "derive",
        "deriven",
        "conectame",
        "conecteme",
        "conecta",
        "conecte",
        "mandame",
        "transferame",
        "pases",
        "pongas",
        "comuniques",
        "transfieras",
        "derivas",
        "derives",
        "conectes",
        "mandes",
        "mandeme",
        "redirigir",
        "redirigeme",
        "redirijame",
    ]
)
# "llama a un agente", "busque a alguien": a request only when nothing follows the person
# ("avise al técnico que llegaré tarde" is a message for them)
CALL_OVER_VERBS = frozenset({"llama", "avisa", "avise", "busca", "busque", "buscame", "busqueme"})
# "que se ponga alguien", but not "cómo se llama el agente"
COME_TO_PHONE = frozenset({"ponga", "pongan"})
WANT_VERBS = frozenset(
    [
        "quiero",
        "quisiera",
        "queria",
        "necesito",
        "necesitaria",
        "prefiero",
        "preferiria",
        "exijo",
        "pido",
        "solicito",
        "dame",
        "deme",
        "denme",
        "busco",
        "gustaria",
        "deseo",
        "requiero",
        "ocupo",
    ]
)
SERVE_VERBS = frozenset(
    [
        "atienda",
        "atiende",
        "atienden",
        "atendiera",
        "contactara",
        "llamara",
        "atiendan",
        "atender",
        "atenderme",
        "atiendame",
        "atiendeme",
        "llame",
        "llamen",
        "llameme",
        "llamame",
        "llamarme",
        "llamar",
        "contacte",
        "contacten",
        "contacteme",
        "devuelva",
        "revise",
        "revisar",
        "devolver",
        "vea",
        "viera",
        "ayude",
        "ayuden",
        "ayudeme",
        "explique",
        "expliquen",
        "conteste",
        "contesten",
        "responda",
        "escuche",
        "resuelva",
        "gestione",
        "entienda",
    ]
)
# who else may serve: "que me atienda personal de la tienda", "que me llame un comercial"
SERVED_BY_TOO = frozenset({"alguien", "personal", "comercial"})
SERVED = frozenset({"atendido", "atendida", "atendidos", "atendidas"})
TO = frozenset({"con", "a", "al"})
# "¿queda algún agente libre?", "no hay ninguna persona": asking whether there is one, even negated
THERE_IS = frozenset({"hay", "queda", "quedan"})
# "cita con un asesor" books an appointment with the shop's adviser
APPOINTMENT_WORDS = frozenset({"cita", "citas", "visita", "turno", "reserva", "hora", "reunion"})
NEGATIONS = frozenset({"no", "nunca", "tampoco", "ni"})
# words that may stand between "no" and the verb it negates: "no hace falta que me pase"
NEGATION_BRIDGE = frozenset(
    [
        "me",
        "le",
        "te",
        "nos",
        "lo",
        "la",
        "que",
        "hace",
        "falta",
        "quiero",
        "necesito",
        "deseo",
        "voy",
        "a",
        "pienso",
        "por",
        "ahora",
        "ya",
        "gracias",
        "realmente",
        "de",
        "momento",
        "hablar",
        "pasar",
    ]
)
# a person on their own: "un agente, por favor", "operador humano", "persona ya"
BARE_FILLERS = frozenset(
    [
        "un",
        "una",
        "el",
        "la",
        "con",
        "a",
        "al",
        "por",
        "favor",
        "porfa",
        "porfavor",
        "pf",
        "ya",
        "ahora",
        "mismo",
        "oiga",
        "oye",
        "hola",
        "buenas",
        "real",
        "de",
        "verdad",
        "urgente",
        "rapido",
        "basta",
        "venga",
        "mejor",
        "gracias",
        "pues",
        "bueno",
    ]
)
REJECTIONS = (
    "no quiero", "no deseo", "no pienso", "no voy", "no necesito", "nada de", "basta de",
    "basta ya de", "harto de", "harta de", "hartos de", "cansado de", "cansada de", "paso de",
    "paso del", "deja de", "dejate de", "dejese de", "dejen de", "no mas", "odio", "no soporto",
    "me niego", "no me sirve", "no me sirven", "no aguanto", "no me fio", "que no sea",
    "en vez de", "en lugar de", "no con", "sin", "ni",
)  # fmt: skip
REJECTION_REACH = 6  # words from the rejection to the machine
# "no puedo hablar con nadie", "no me dejan hablar con nadie"
UNABLE = frozenset({"puedo", "podemos", "deja", "dejan", "consigo", "logro", "hay", "manera"})
# a verb of wanting or talking starts a new request, punctuated or not
NEW_CLAUSE_VERBS = WANT_VERBS | TALK_VERBS | TRANSFER_VERBS
# "¿eres una persona real?" asks what the assistant is; it asks for nobody
CHALLENGES = re.compile(
    r"\b(eres|sos|seras|es usted|usted es|hablo|estoy hablando|estoy chateando|esta atendiendo"
    r"|me atiende un robot|esto es|escribiendo|contestando|respondiendo|leyendo|escuchando"
    r"|al otro lado|detras)\b"
    # "¿me atiende una persona o un sistema automático?": which of the two
    r"|\bo (?:es |sigue siendo |con )?(?:un |una |el |la )?"
    r"(?:sistema|maquina|robot|bot|programa|contestador|automatico|automatica|grabacion)(?:_\w+)?\b"
    # "¿quién me atiende, una persona?": who it is
    r"|\bquien me (?:atiende|contesta|responde|escribe|habla)\b"
)

Kind = Literal["request", "declined"]


@dataclass(frozen=True)
class Verdict:
    """What the reader found: a request for a person or a person declined, and the words."""

    kind: Kind
    words: str


@dataclass(frozen=True)
class Vocabulary:
    """The words of data/handoff/person_request.yml, normalised."""

    people: frozenset[str]
    talk_to_only: frozenset[str]
    machines: frozenset[str]
    phrases: tuple[str, ...]
    heard_as: tuple[tuple[str, str], ...] = ()  # recogniser joins: ("una gente", "un agente")
    said_last: frozenset[str] = frozenset()  # phrases that ask only at the end of a clause

    @classmethod
    def load(cls, path: Path = VOCABULARY_FILE) -> Vocabulary:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}

        def words(key: str) -> list[str]:
            return [" ".join(plain_words(str(w))) for w in data.get(key) or []]

        return cls(
            frozenset(words("people")),
            frozenset(words("talk_to_only")),
            frozenset(words("machines")),
            tuple(sorted(words("phrases") + words("said_last"), key=len, reverse=True)),
            tuple(
                (" ".join(plain_words(str(heard))), " ".join(plain_words(str(meant))))
                for heard, meant in (data.get("heard_as") or {}).items()
            ),
            frozenset(words("said_last")),
        )


class PersonRequestReader:
    """Reads one message at a time; thread-safe and stateless between messages."""

    def __init__(self, vocabulary: Vocabulary | None = None) -> None:
        self._vocabulary = vocabulary or Vocabulary.load()
        self._people = sorted(w for w in self._vocabulary.people if len(w) >= FUZZY_MIN_LENGTH)
        # several-word entries are read as one token: "atencion al cliente" -> "atencion_al_cliente"
        self._joined = sorted(
            (w for w in self._vocabulary.talk_to_only | self._vocabulary.machines if " " in w),
            key=len,
            reverse=True,
        )
        self._is_person = lru_cache(maxsize=4096)(self._person_word)

    def read(self, text: str) -> Verdict | None:
        """A request if any clause asks for a person; else declined if one turns one down."""
        declined = None
        for clause in clauses(text):
            found = self._read_clause(" ".join(clause.words), clause.asked)
            if found is not None and found.kind == "request":
                return found
            declined = declined or found
        return declined

    def _read_clause(self, clause: str, question: bool) -> Verdict | None:
        for heard, meant in self._vocabulary.heard_as:
            clause = re.sub(rf"\b{heard}\b", meant, clause)
        for joined in self._joined:
            clause = re.sub(rf"\b{joined}\b", joined.replace(" ", "_"), clause)
        words = clause.split()
        if found := self._rejects_machine(clause, words):
            return Verdict("request", found)
        challenges = _challenge_spans(clause)
        phrase = next((p for p in self._vocabulary.phrases if f" {p} " in f" {clause} "), None)
        if phrase is not None:
            at = _position(words, phrase)
            if self._phrase_fits(words, at, phrase) and not _challenged(words, at, challenges):
                return self._unless_declined(words, at, phrase, question)
        for index, word in enumerate(words):
            target = self._target_after(words, index)
            if target is not None and not _challenged(words, index, challenges):
                asked = question or word in THERE_IS  # "no hay ninguna persona" wants one
                first, last = sorted((index, target))  # the person may come first
                return self._unless_declined(words, index, " ".join(words[first:last + 1]),
                                             asked)  # fmt: skip
            if word == "nadie" and _cannot_reach_anyone(words[:index]):
                return Verdict("request", " ".join(words[: index + 1]))
            if word == "nadie" and not question and _turns_down_everyone(words[:index]):
                return Verdict("declined", " ".join(words[: index + 1]))
        if not challenges and (self._bare(words) or _bare_transfer(words) or self._with(words)):
            return Verdict("request", " ".join(words))
        return None

    def _target_after(self, words: Sequence[str], index: int) -> int | None:
        """The index of the person that the verb at `index` asks for, if it asks for one."""
        word = words[index]
        if (word.endswith("me") and (word in TRANSFER_VERBS or word in CALL_OVER_VERBS)) or (
            word in COME_TO_PHONE and words[index - 1 : index] == ["se"]
        ):
            # "ponme un operador", "que se ponga alguien": no "con" needed
            for end in range(index + 1, min(len(words), index + 3)):
                if self._is_person(words[end]) or words[end] == "alguien":
                    return end
        if (
            word in TALK_VERBS
            or word in TRANSFER_VERBS
            or word in CALL_OVER_VERBS
            or (word in TALK_NOUNS and _wanted(words, index))
        ):
            for end in range(index + 1, min(len(words), index + 8)):
                if self._addressee(words, end) and any(w in TO for w in words[index + 1 : end]):
                    if word in CALL_OVER_VERBS and not _nothing_after(words, end):
                        break
                    return end
                if words[end] in NEW_CLAUSE_VERBS or self._is_machine(words[end]):
                    break  # "no pienso hablar con un programa quiero una persona", unpunctuated
        if word in WANT_VERBS and words[index + 1 : index + 3] in (["alguien"], ["a", "alguien"]):
            return len(words) - 1  # "quiero a alguien", nothing after it
        if word in WANT_VERBS or word in THERE_IS:
            for end in range(index + 1, min(len(words), index + 5)):
                if self._is_person(words[end]) and not _for_appointment(words, end):
                    return end
        if (
            word in SERVED
            and words[index - 1 : index] == ["ser"]
            and not _asks_opening_hours(words)
        ):
            # "quiero ser atendido por una persona"
            for end in range(index + 1, min(len(words), index + 5)):
                if self._is_person(words[end]) or words[end] in SERVED_BY_TOO:
                    return end
        if word in SERVE_VERBS and not _asks_opening_hours(words):
            for end in range(max(0, index - 6), min(len(words), index + 5)):
                if end == index or not (self._is_person(words[end]) or words[end] in SERVED_BY_TOO):
                    continue
                if not any(w in SAYING_VERBS for w in words[end + 1 : index]):
                    return end  # not "el operador me dijo que llamara"
        return None

    def _addressee(self, words: Sequence[str], index: int) -> bool:
        word = words[index]
        talk_only = word.replace("_", " ") in self._vocabulary.talk_to_only
        return (self._is_person(word) or talk_only) and not _for_appointment(words, index)

    def _rejects_machine(self, clause: str, words: Sequence[str]) -> str | None:
        machines = [i for i, w in enumerate(words) if self._is_machine(w)]
        if not machines:
            return None
        padded = f" {clause} "
        for rejection in REJECTIONS:
            at = padded.find(f" {rejection} ")
            if at < 0:
                continue
            start = len(padded[:at].split())
            end = start + len(rejection.split())
            if any(end <= m < end + REJECTION_REACH for m in machines):
                return " ".join(words[start : max(m for m in machines if m >= end) + 1])
        last = machines[-1]
        if words[last + 1 : last + 2] == ["no"] and (
            last + 2 == len(words) or words[last + 2] in TO
        ):
            return " ".join(words[last : last + 2])  # "máquinas no", "con una máquina no, con…"
        return None

    def _is_machine(self, word: str) -> bool:
        plain = word.replace("_", " ")
        machines = self._vocabulary.machines
        return plain in machines or any(s in machines for s in _singulars(plain))

    def _person_word(self, word: str) -> bool:
        people = self._vocabulary.people
        if word in people or any(s in people for s in _singulars(word)):
            return True
        if len(word) < FUZZY_MIN_LENGTH or word.startswith("personal"):
            return False
        match = process.extractOne(word, self._people, scorer=ratio, score_cutoff=MIN_SIMILARITY)
        return match is not None

    def _phrase_fits(self, words: Sequence[str], at: int, phrase: str) -> bool:
        """A noun phrase asks only when wanted ("necesito ayuda humana", not "la ayuda de una
        persona fue clave"); a closing question only at the end ("¿no hay nadie ahí?", not "no
        hay nadie ahí para recoger el paquete")."""
        if phrase.split()[0] in TALK_NOUNS and not _wanted(words, at):
            return False
        if phrase in self._vocabulary.said_last:
            return _nothing_after(words, at + len(phrase.split()) - 1)
        return True

    def _with(self, words: Sequence[str]) -> bool:
        """ "Con alguien de la tienda, por favor": whom to be put through to, the verb left out."""
        start = 2 if words[1:2] in (["un"], ["una"], ["el"], ["la"]) else 1
        return (
            words[:1] == ["con"]
            and len(words) > start
            # "con quien sea", but not "con quien hablé ayer…"
            and (words[start] != "quien" or words[start + 1 : start + 2] == ["sea"])
            and self._addressee(words, start)
        )

    def _bare(self, words: Sequence[str]) -> bool:
        people = [w for w in words if self._is_person(w)]
        return bool(people) and all(w in BARE_FILLERS or self._is_person(w) for w in words)

    def _unless_declined(
        self, words: Sequence[str], index: int, found: str, question: bool
    ) -> Verdict:
        negation = None if question else _negated(words, index)
        if negation is not None:
            return Verdict("declined", " ".join(words[negation : index + 1]) + f" … {found}")
        return Verdict("request", found)


def _asks_opening_hours(words: Sequence[str]) -> bool:
    """ "¿Hasta qué hora atiende el personal?", "¿atiende alguien los domingos?": when someone
    serves, not a request to be served now."""
    joined = f" {' '.join(words)} "
    return (
        any(w in OPENING_HOURS_WORDS for w in words)
        or " que hora " in joined  # "¿a qué hora…?", not "a esta hora"
        or any(f" los {day} " in joined for day in WEEKDAYS)
    )


def _wanted(words: Sequence[str], index: int) -> bool:
    """Whether the noun at `index` is asked for: a verb of wanting shortly before it, or nothing
    but fillers ("atención humana, por favor")."""
    before = words[:index]
    opening = all(w in BARE_FILLERS and w not in DEFINITE for w in before)
    return opening or any(w in WANT_VERBS for w in before[-WANTED_REACH:])


def _nothing_after(words: Sequence[str], index: int) -> bool:
    """Only fillers after the word at `index` ("llame a un agente, por favor")."""
    return all(w in BARE_FILLERS for w in words[index + 1 :])


def _challenge_spans(clause: str) -> list[tuple[int, int]]:
    """The words (first, last) of each question about what the assistant is."""
    spans = []
    for match in CHALLENGES.finditer(clause):
        first = len(clause[: match.start()].split())
        spans.append((first, first + max(1, len(match.group().split())) - 1))
    return spans


def _challenged(words: Sequence[str], at: int, challenges: Sequence[tuple[int, int]]) -> bool:
    """Whether a question about the assistant belongs with the request found at `at`: unless a
    new verb of wanting or talking stands between them, as in the unpunctuated "eres un robot
    quiero hablar con una persona" (two sentences run together by the recogniser)."""
    for first, last in challenges:
        between = words[last + 1 : at + 1] if last < at else words[at + 1 : first]
        if not any(w in NEW_CLAUSE_VERBS for w in between):
            return True
    return False


def _negated(words: Sequence[str], index: int) -> int | None:
    """Where the "no" is that negates the word at `index` ("no hace falta que me pase"), if any."""
    for back in range(index - 1, max(-1, index - 6), -1):
        if words[back] in NEGATIONS:
            return back
        if words[back] not in NEGATION_BRIDGE:
            return None
    return None


def _turns_down_everyone(before: Sequence[str]) -> bool:
    """ "No necesito hablar con nadie", "no hace falta que me pase con nadie"."""
    verbs = TALK_VERBS | TRANSFER_VERBS
    wanted = any(w in WANT_VERBS or w == "falta" for w in before)
    return any(w in NEGATIONS for w in before) and wanted and any(w in verbs for w in before)


def _cannot_reach_anyone(before: Sequence[str]) -> bool:
    """ "No puedo hablar con nadie", "no me dejan hablar con nadie": a complaint, and a request."""
    verbs = TALK_VERBS | TRANSFER_VERBS
    unable = any(w in UNABLE for w in before)
    return any(w in NEGATIONS for w in before) and unable and any(w in verbs for w in before)


def _bare_transfer(words: Sequence[str]) -> bool:
    """ "Transfiérame, por favor", "¿me pasa?": put me through, to whoever answers."""
    verbs = [w for w in words if w in TRANSFER_VERBS and w.endswith("me")]
    return bool(verbs) and all(w in BARE_FILLERS or w in verbs for w in words)


def _for_appointment(words: Sequence[str], index: int) -> bool:
    """The person is the one an appointment is with: "una cita con un asesor"; not after a verb
    of its own ("llevo media hora pásame con un humano")."""
    for word in reversed(words[max(0, index - 4) : index]):
        if word in NEW_CLAUSE_VERBS:
            return False
        if word in APPOINTMENT_WORDS:
            return True
    return False


def _position(words: Sequence[str], phrase: str) -> int:
    first = phrase.split()[0]
    return words.index(first) if first in words else 0


def _singulars(word: str) -> tuple[str, ...]:
    """'agentes' -> 'agente', 'operadores' -> 'operador', 'robots' -> 'robot'."""
    forms = []
    if word.endswith("es"):
        forms.append(word[:-2])
    if word.endswith("s"):
        forms.append(word[:-1])
    return tuple(forms)
