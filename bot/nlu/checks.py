"""Checks of the training data, with messages a trainer can act on, for the editing page.

`check_project` is fast (plain PyYAML and rapidfuzz, no Rasa) and runs on every save: repeated
and contradictory examples, near-duplicates across intents, thin intents, broken entity marks,
intents and responses missing from the domain or the rules (those in `bot.nlu.rules_check`).
Rasa's own validation is `bot.nlu.rasa_validation`. Each finding is a `Problem` at a file and
line, in Spanish.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.nlu import rules_check
from bot.nlu.data import Example, NluFile
from bot.nlu.labels import intent_labels
from bot.nlu.problems import Problem
from bot.text import unaccented

MIN_EXAMPLES = 10
_QUOTED_NAME = re.compile(r"«([a-z][a-z0-9_]*)»")
NEAR_DUPLICATE_RATIO = 92  # rapidfuzz ratio (0-100) on normalised text
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SMILEY = re.compile(r"[:;=xX]-?[()]")  # "gracias :)" is not a broken mark
_MARK = re.compile(
    r"\[(?P<text>[^\[\]]*)\](?:\((?P<name>[^()]*)\)|(?P<json>\{[^{}]*\})|(?P<list>\[\{.*?\}\]))?"
)


def normalised(text: str) -> str:
    """Text as compared: lower case, no accents, punctuation and spacing collapsed."""
    return " ".join(_PUNCTUATION.sub(" ", unaccented(text)).split())


def check_project(project: Path) -> list[Problem]:
    """Our own checks (fast, no Rasa import), sorted by file then line.

    Args:
        project: the project folder (holding `data/nlu/`, `data/rules/` and `domain/`).

    Returns:
        Every problem found; an unreadable file is one error and is otherwise skipped.
    """
    paths, problems = rules_check.readable(project, "data/nlu")
    all_taught = not problems  # else "no examples" may be a consequence of a broken file
    examples, taught = _scan(project, paths)
    domain, domain_problems = rules_check.read_domain(project)
    problems += domain_problems
    problems += _repeated(examples) + _near_duplicates(examples)
    problems += _too_few(examples, taught)
    problems += _annotations(examples, domain.entities if domain.complete else None)
    problems += rules_check.check_declarations(domain, taught, all_taught)
    problems += rules_check.check_rules(project, domain, taught, all_taught)
    named = with_labels(problems, intent_labels(project))
    return sorted(named, key=lambda problem: (problem.file, problem.line))


def with_labels(problems: list[Problem], labels: dict[str, str]) -> list[Problem]:
    """«track_order» -> «Seguimiento de pedido» (track_order): trainers know intents by their
    labels (data/trainers/intents.yml)."""

    def named(match: re.Match[str]) -> str:
        name = match.group(1)
        return f"«{labels[name]}» ({name})" if name in labels else match.group(0)

    return [Problem(p.file, p.line, p.level, _QUOTED_NAME.sub(named, p.message)) for p in problems]


def _scan(project: Path, paths: list[Path]) -> tuple[list[Example], dict[str, tuple[str, int]]]:
    """The examples of NLU files, and each intent's first `- intent:` line."""
    examples: list[Example] = []
    taught: dict[str, tuple[str, int]] = {}
    for path in paths:
        nlu_file = NluFile(path, path.relative_to(project).as_posix())
        file_examples, blocks = nlu_file.scan()
        examples += file_examples
        for block in blocks:
            taught.setdefault(block.intent, (block.file, _intent_line(nlu_file, block.header_line)))
    return examples, taught


def _intent_line(nlu_file: NluFile, header_line: int) -> int:
    """The `- intent:` line above an `examples:` line (usually the line just before)."""
    for number in range(header_line - 1, 0, -1):
        if "intent:" in nlu_file.lines[number - 1]:
            return number
    return header_line - 1


def _repeated(examples: list[Example]) -> list[Problem]:
    """The same sentence twice: in two intents (error) or twice in one (warning)."""
    problems: list[Problem] = []
    seen: dict[str, list[Example]] = {}
    for example in examples:
        earlier = seen.setdefault(normalised(example.plain), [])
        other = next((e for e in earlier if e.intent != example.intent), None)
        if other:
            problems.append(_problem(example, "error", _contradiction(example, other)))
        elif earlier:
            same = [e for e in earlier if e.plain.strip() == example.plain.strip()] or earlier
            problems.append(_problem(example, "warning", _repetition(example, same[0])))
        earlier.append(example)
    return problems


def _contradiction(example: Example, other: Example) -> str:
    return (
        f"Esta frase también está en {other.file}:{other.line} como «{other.intent}» (aquí es "
        f"«{example.intent}»). Una frase no puede enseñar dos intenciones: déjela solo en la "
        "correcta."
    )


def _repetition(example: Example, other: Example) -> str:
    where = f"{other.file}:{other.line}"
    if example.plain.strip() == other.plain.strip():
        return f"Ejemplo repetido: ya está en {where}. Puede borrarlo."
    return (
        f"Este ejemplo solo se diferencia de «{other.text}» ({where}) en tildes, mayúsculas o "
        "signos de puntuación: no enseña nada nuevo al asistente. Puede borrarlo."
    )


def _near_duplicates(examples: list[Example]) -> list[Problem]:
    """Almost the same sentence in two intents: the assistant cannot tell them apart."""
    first: dict[str, Example] = {}
    for example in examples:
        first.setdefault(normalised(example.plain), example)
    texts = list(first)
    scores = process.cdist(
        texts,
        texts,
        scorer=fuzz.ratio,
        score_cutoff=NEAR_DUPLICATE_RATIO,
        dtype=np.uint8,
        workers=1,
    )
    problems = []
    for row, column in zip(*np.nonzero(np.triu(scores, k=1)), strict=True):
        other, example = first[texts[row]], first[texts[column]]
        if example.intent != other.intent:
            message = (
                f"Se parece mucho a «{other.plain}» ({other.file}:{other.line}), que es de "
                f"«{other.intent}» (esta es de «{example.intent}»). Frases casi iguales en "
                "intenciones distintas confunden al asistente: cambie una de las dos o muévala "
                "a la intención correcta."
            )
            problems.append(_problem(example, "warning", message))
    return problems


def _too_few(examples: list[Example], taught: dict[str, tuple[str, int]]) -> list[Problem]:
    """Intents with fewer than MIN_EXAMPLES examples, at their `- intent:` line."""
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.intent] = counts.get(example.intent, 0) + 1
    problems = []
    for intent, (file, line) in taught.items():
        if (count := counts.get(intent, 0)) < MIN_EXAMPLES:
            message = (
                f"La intención «{intent}» solo tiene {count} "
                f"{'ejemplo' if count == 1 else 'ejemplos'}: conviene tener al menos "
                f"{MIN_EXAMPLES}, variados, para que el asistente la reconozca bien."
            )
            problems.append(Problem(file, line, "warning", message))
    return problems


def _annotations(examples: list[Example], declared: set[str] | None) -> list[Problem]:
    """Entity marks that do not parse (errors) or name undeclared entities (warnings).

    Args:
        examples: the examples.
        declared: the domain's entities; None when the domain could not be read whole.
    """
    problems = []
    for example in examples:
        error, entities = _parse_marks(example.text)
        if error:
            problems.append(_problem(example, "error", error))
        undeclared = set() if declared is None else entities - declared
        for entity in sorted(undeclared):
            message = (
                f"La entidad «{entity}» no está declarada en el dominio (apartado «entities:» "
                "de un archivo de domain/): añádala allí o corrija el nombre."
            )
            problems.append(_problem(example, "warning", message))
    return problems


def _parse_marks(text: str) -> tuple[str | None, set[str]]:
    """The first error in a sentence's entity marks, if any, and the entities it names."""
    entities: set[str] = set()
    for mark in _MARK.finditer(text):
        error, entity = _parse_mark(mark)
        if error:
            return error, entities
        entities.update([entity] if entity else [])
    rest = _MARK.sub(" ", text)
    if "[" in rest or "]" in rest:
        return (
            "Hay un corchete «[» o «]» sin pareja. Para marcar una entidad escriba "
            "[texto](entidad), por ejemplo: [Madrid](ciudad).",
            entities,
        )
    if not _balanced(_SMILEY.sub(" ", rest)):
        return "Hay un paréntesis «(» o «)» sin pareja.", entities
    return None, entities


def _balanced(text: str) -> bool:
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def _parse_mark(mark: re.Match[str]) -> tuple[str | None, str | None]:
    """One `[text](entity)` or `[text]{"entity": ...}` mark: an error or the entity."""
    text = mark.group("text")
    if mark.group("list"):
        return None, None  # several entities on one span: left to Rasa's validation
    if mark.group("name") is None and mark.group("json") is None:
        return (
            f"«[{text}]» debe ir seguido del nombre de la entidad entre paréntesis, por ejemplo: "
            f"[{text}](ciudad).",
            None,
        )
    if not text.strip():
        return "Hay una marca de entidad sin texto dentro de los corchetes «[]».", None
    if mark.group("name") is not None:
        name = mark.group("name").split(":")[0].strip()
        return (None, name) if name else (f"Falta el nombre de la entidad en «{mark[0]}».", None)
    try:
        entity = json.loads(mark.group("json")).get("entity")
    except (ValueError, AttributeError):
        entity = None
    if isinstance(entity, str) and entity.strip():
        return None, entity.strip()
    return (
        f'La marca «{mark[0]}» no es válida: debe ser como [{text}]{{"entity": "ciudad"}}.',
        None,
    )


def _problem(example: Example, level: str, message: str) -> Problem:
    return Problem(example.file, example.line, level, message)
