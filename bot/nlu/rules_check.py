"""Checks of the YAML files around the examples, for `bot.nlu.checks.check_project`: whether
each file parses at all, and what the domain (`domain/*.yml`) and the rules (`data/rules/*.yml`,
`data/stories/*.yml`) say about intents, responses and actions.

The files are composed with PyYAML (libyaml's parser when installed), which keeps each value's
line, so every problem points at the line the trainer has to look at. Nothing here imports Rasa.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.nlu.problems import Problem

# Rasa's own intents and actions (rasa.shared.core.constants): never declared nor taught here.
DEFAULT_INTENTS = frozenset({"restart", "back", "out_of_scope", "session_start", "nlu_fallback"})
DEFAULT_ACTIONS = frozenset(
    {
        "action_listen",
        "action_restart",
        "action_session_start",
        "action_default_fallback",
        "action_deactivate_loop",
        "action_revert_fallback_events",
        "action_default_ask_affirmation",
        "action_default_ask_rephrase",
        "action_two_stage_fallback",
        "action_unlikely_intent",
        "action_back",
        "action_extract_slots",
        "...",
    }
)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's is ten times faster
Place = tuple[str, int]  # (file relative to the project, line from 1)


@dataclass
class Domain:
    """What the domain files declare, with where each intent is declared.

    Attributes:
        intents: each declared intent and its place.
        entities: the declared entities.
        responses: the `utter_*` responses.
        actions: the custom actions and the forms (a rule runs a form as an action).
        complete: False when a domain file could not be read: checks against it would mislead.
    """

    intents: dict[str, Place] = field(default_factory=dict)
    entities: set[str] = field(default_factory=set)
    responses: set[str] = field(default_factory=set)
    actions: set[str] = field(default_factory=set)
    complete: bool = True


def readable(project: Path, folder: str) -> tuple[list[Path], list[Problem]]:
    """A folder's YAML files that parse, and a problem for each one that does not.

    Args:
        project: the project folder.
        folder: the folder inside it (`data/nlu`).

    Returns:
        The readable files, sorted, and the problems of the others.
    """
    paths: list[Path] = []
    problems: list[Problem] = []
    for path in sorted((project / folder).glob("*.yml")):
        _, problem = load_yaml(project, path)
        if problem:
            problems.append(problem)
        else:
            paths.append(path)
    return paths, problems


def load_yaml(project: Path, path: Path) -> tuple[Node | None, Problem | None]:
    """A file's YAML tree, or the parser's complaint as a Problem at its line.

    Args:
        project: the project folder, for the relative name.
        path: the file.

    Returns:
        The root node (None for an empty file) and None, or None and the problem.
    """
    relative = path.relative_to(project).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        message = "No se puede leer el archivo: no está guardado como texto UTF-8."
        return None, Problem(relative, 0, "error", message)
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            loader.construct_document(node)  # also what composing alone lets pass (bad tags)
        return node, None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        detail = getattr(error, "problem", None) or str(error)
        message = (
            "No se puede leer el archivo: no es YAML válido. Revise la sangría, los guiones y "
            f"las comillas en esta línea o en la anterior. (Detalle técnico: {detail})"
        )
        return None, Problem(relative, mark.line + 1 if mark else 0, "error", message)
    finally:
        loader.dispose()


def read_domain(project: Path) -> tuple[Domain, list[Problem]]:
    """Everything the domain files declare, and the files that could not be read.

    Args:
        project: the project folder (holding `domain/`).

    Returns:
        The domain and the problems of its unreadable files.
    """
    domain = Domain()
    problems: list[Problem] = []
    for path in sorted((project / "domain").glob("*.yml")):
        root, problem = load_yaml(project, path)
        if problem:
            problems.append(problem)
            domain.complete = False
        elif isinstance(root, MappingNode):
            _add_declarations(domain, root, path.relative_to(project).as_posix())
    return domain, problems


def _add_declarations(domain: Domain, root: MappingNode, file: str) -> None:
    for name, line in _names(_get(root, "intents")):
        domain.intents.setdefault(name, (file, line))
    domain.entities.update(name for name, _ in _names(_get(root, "entities")))
    domain.responses.update(name for name, _ in _names(_get(root, "responses")))
    domain.actions.update(name for name, _ in _names(_get(root, "actions")))
    domain.actions.update(name for name, _ in _names(_get(root, "forms")))


def check_declarations(
    domain: Domain, taught: dict[str, Place], all_taught: bool = True
) -> list[Problem]:
    """Intents taught but not declared (errors) and declared but not taught (warnings).

    Args:
        domain: the declarations.
        taught: each intent with examples, at its `- intent:` line.
        all_taught: False when an NLU file could not be read: "no examples" would mislead.

    Returns:
        The problems; none when the domain could not be read whole.
    """
    if not domain.complete:
        return []
    problems: list[Problem] = []
    for intent, place in taught.items():
        if intent not in domain.intents and intent not in DEFAULT_INTENTS:
            message = (
                f"La intención «{intent}» tiene ejemplos pero no está declarada en el dominio "
                "(apartado «intents:» de un archivo de domain/). Añádala allí: si no, el "
                "asistente no podrá usarla."
            )
            problems.append(Problem(*place, "error", message))
    for intent, place in domain.intents.items():
        if all_taught and intent not in taught and intent not in DEFAULT_INTENTS:
            message = (
                f"La intención «{intent}» está declarada pero no tiene ningún ejemplo en "
                "data/nlu/: el asistente nunca la reconocerá."
            )
            problems.append(Problem(*place, "warning", message))
    return problems


def check_rules(
    project: Path, domain: Domain, taught: dict[str, Place], all_taught: bool = True
) -> list[Problem]:
    """The intents and actions the rules (and stories) use, against the examples and domain.

    Args:
        project: the project folder (holding `data/rules/` and maybe `data/stories/`).
        domain: the declarations.
        taught: each intent with examples, at its `- intent:` line.
        all_taught: False when an NLU file could not be read: "no examples" would mislead.

    Returns:
        Unknown responses, actions and intents in the rules (errors), unreadable rule files
        (errors) and intents no rule uses (warnings).
    """
    problems: list[Problem] = []
    used: set[str] = set()
    all_read = True
    folders = [project / "data" / "rules", project / "data" / "stories"]
    for path in [path for folder in folders for path in sorted(folder.glob("*.yml"))]:
        root, problem = load_yaml(project, path)
        if problem:
            problems.append(problem)
            all_read = False
            continue
        file = path.relative_to(project).as_posix()
        for key, name, line in _steps(root):
            if key == "intent":
                used.add(name)
            if key == "intent" and not all_taught:
                continue
            if message := _step_problem(key, name, domain, taught):
                problems.append(Problem(file, line, "error", message))
    if all_read:
        problems += _unused_intents(taught, used)
    return problems


def _unused_intents(taught: dict[str, Place], used: set[str]) -> list[Problem]:
    return [
        Problem(
            *place,
            "warning",
            f"Ninguna regla usa la intención «{intent}»: el asistente la reconocerá pero no "
            "sabrá qué responder.",
        )
        for intent, place in taught.items()
        if intent not in used
    ]


def _step_problem(key: str, name: str, domain: Domain, taught: dict[str, Place]) -> str | None:
    if key == "intent":
        if name in taught or name in DEFAULT_INTENTS:
            return None
        return (
            f"La regla espera la intención «{name}», que no tiene ningún ejemplo en data/nlu/: "
            "esta regla nunca se aplicará."
        )
    if not domain.complete or name in DEFAULT_ACTIONS:
        return None
    if name.startswith("utter_"):
        if name in domain.responses:
            return None
        return (
            f"La regla usa la respuesta «{name}», que no existe en el dominio (apartado "
            "«responses:» de domain/): el asistente no tendría nada que decir aquí."
        )
    if name in domain.actions:
        return None
    return (
        f"La regla usa la acción «{name}», que no está declarada en el dominio (apartados "
        "«actions:» o «forms:» de domain/)."
    )


def _steps(node: Node | None) -> Iterator[tuple[str, str, int]]:
    """Every `intent: x` and `action: y` anywhere under a node, with its line."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if key.value in ("intent", "action") and isinstance(value, ScalarNode):
                yield key.value, value.value, value.start_mark.line + 1
            else:
                yield from _steps(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _steps(item)


def _get(node: MappingNode, key: str) -> Node | None:
    return next((value for k, value in node.value if k.value == key), None)


def _names(node: Node | None) -> Iterator[tuple[str, int]]:
    """The names a domain section lists: a mapping's keys, or a list of names or of
    one-key mappings (`- greet` or `- greet: {use_entities: []}`), each with its line."""
    if isinstance(node, MappingNode):
        entries = [key for key, _ in node.value]
    elif isinstance(node, SequenceNode):
        entries = [
            item.value[0][0] if isinstance(item, MappingNode) and item.value else item
            for item in node.value
        ]
    else:
        entries = []
    for entry in entries:
        if isinstance(entry, ScalarNode):
            yield entry.value, entry.start_mark.line + 1
