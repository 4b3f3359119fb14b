"""Checks of the training data, with messages a trainer can act on, for the editing page.

`check_project` is fast (plain PyYAML and rapidfuzz, no Rasa) and runs on every save: repeated
and contradictory examples, near-duplicates across intents, thin intents, broken entity marks,
intents and responses missing from the domain or the rules (those in `bot.nlu.rules_check`).
`rasa_validation` runs Rasa's own `rasa data validate` in a subprocess and translates what it
says. Each finding is a `Problem` at a file and line, in Spanish.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from bot.nlu.data import Example, NluFile
from bot.text import unaccented

MIN_EXAMPLES = 10
NEAR_DUPLICATE_RATIO = 92  # rapidfuzz ratio (0-100) on normalised text
_PUNCTUATION = re.compile(r"[^\w\s]+")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_RECORD = re.compile(  # where one of Rasa's warnings, log lines or errors starts
    r"^(?:(?P<source>\S+\.py):\d+: (?P<category>\w+): (?P<warning>.*)"
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?P<log>[A-Z]+)\s+\S+\s+- (?P<logged>.*)"
    r"|(?P<error>[A-Z]\w*(?:Exception|Error): .*)"
    r"|(?P<traceback>Traceback \(most recent call last\):))$"
)
_NOISE = re.compile(
    r"^\s*$|^\s*(More info at |Project validation completed with errors|Processed )"
)
_ISSUE_IN = re.compile(r"^Issue found (?:in|while processing) '(?P<file>[^']+)':\s*")
_DOMAIN = "en el dominio (apartado «{}» de domain/)"
# fmt: off
_RASA_MESSAGES = [  # (what Rasa says, level, file when it names none, what we say)
    (r"The intent '(?P<a>[^']+)' is listed in the domain file, but is not found in the NLU",
     "warning", "domain", "La intención «{a}» está declarada pero no tiene ejemplos."),
    (r"labeled with intent '(?P<a>[^']+)'\. This intent is not listed in your domain",
     "error", "domain", "La intención «{a}» tiene ejemplos pero no está declarada "
     + _DOMAIN.format("intents:") + "."),
    (r"intent '(?P<a>[^']+)' (is used in your stories|in stories which is not part of the dom)",
     "error", "domain", "Una regla usa la intención «{a}», que no está declarada "
     + _DOMAIN.format("intents:") + "."),
    (r"The intent '(?P<a>[^']+)' is not used in any story or rule",
     "warning", "", "Ninguna regla usa la intención «{a}»: el asistente no sabrá qué responder."),
    (r"The example '(?P<a>.*)' was found labeled with multiple .* labeled with: (?P<b>.*?)\.?$",
     "error", "", "La frase «{a}» está en varias intenciones ({b}): déjela solo en una."),
    (r"The action '(?P<a>[^']+)' is used in the stories, but is not a valid utterance",
     "error", "domain", "Una regla usa la respuesta «{a}», que no existe "
     + _DOMAIN.format("responses:") + "."),
    (r"The utterance '(?P<a>[^']+)' is not used in any story or rule",
     "warning", "domain", "Ninguna regla usa la respuesta «{a}»."),
    (r"The (action|form) '(?P<a>[^']+)' is used in the '(?P<b>[^']+)' block, but it is not",
     "error", "domain", "La regla «{b}» usa «{a}», que no está declarada "
     + _DOMAIN.format("actions:» o «forms:") + "."),
    (r"The form slot '(?P<a>[^']+)' in form '(?P<b>[^']+)' is not present in the domain slots",
     "error", "domain", "El formulario «{b}» pide el dato «{a}», que no está declarado "
     + _DOMAIN.format("slots:") + "."),
    (r"Story structure conflict after (?:intent|action) '(?P<a>[^']+)':\s*(?P<b>[\s\S]*)",
     "error", "", "Hay reglas o historias que se contradicen después de «{a}»: {b}"),
    (r"The config file is missing the '(?P<a>[^']+)' mandatory key",
     "warning", "config.yml", "Falta la clave obligatoria «{a}» en config.yml."),
    (r"Failed to read '(?P<file>[^']+)'",
     "error", "", "No se puede leer el archivo: no es YAML válido. Revise la sangría, los "
     "guiones y las comillas en esta línea o en la anterior."),
    (r"Encountered empty domain", "error", "domain", "El dominio está vacío o no se puede leer."),
]
# fmt: on
_SMILEY = re.compile(r"[:;=xX]-?[()]")  # "gracias :)" is not a broken mark
_MARK = re.compile(
    r"\[(?P<text>[^\[\]]*)\](?:\((?P<name>[^()]*)\)|(?P<json>\{[^{}]*\})|(?P<list>\[\{.*?\}\]))?"
)


@dataclass(frozen=True)
class Problem:
    """One finding, where the trainer has to look.

    Attributes:
        file: relative to the project (`data/nlu/orders.yml`); "" when it names no file.
        line: from 1; 0 when it is about a whole file or intent.
        level: "error" (must be fixed before training) or "warning".
        message: what is wrong and what to do, in Spanish.
    """

    file: str
    line: int
    level: str
    message: str

    def to_json(self) -> dict[str, object]:
        """The problem as a JSON object for the web page."""
        return {"file": self.file, "line": self.line, "level": self.level, "message": self.message}

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{place}: {self.level}: {self.message}" if place else f"{self.level}: {self.message}"
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
    from bot.nlu import rules_check  # it imports Problem from here, hence not at the top

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
    return sorted(problems, key=lambda problem: (problem.file, problem.line))


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


def rasa_validation(project: Path, timeout: float = 300) -> list[Problem]:
    """Rasa's own `rasa data validate`, its warnings and errors as Problems (in Spanish when
    recognised, else "Rasa dice: " and Rasa's English).

    Args:
        project: the project folder (holding `config.yml`, `domain/` and `data/`).
        timeout: seconds to wait for Rasa (it takes about 10 s).

    Returns:
        Rasa's findings; at least one error when Rasa failed.
    """
    folders = [f for f in ("data/nlu", "data/rules", "data/stories") if (project / f).is_dir()]
    command = [str(Path(sys.executable).with_name("rasa")), "data", "validate", "--domain"]
    command += ["domain", "--data", *folders, "--config", "config.yml"]
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONWARNINGS"}
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # config's components
    environment["RASA_TELEMETRY_ENABLED"] = "false"
    try:
        result = subprocess.run(
            command,
            cwd=project,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # one stream, in the order Rasa wrote it
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [Problem("", 0, "error", f"La validación de Rasa no terminó en {timeout:.0f} s.")]
    except OSError as error:
        return [Problem("", 0, "error", f"No se pudo ejecutar Rasa: {error}")]
    problems: dict[tuple[str, str], Problem] = {}  # Rasa says some things twice
    for level, text in _records(result.stdout):
        problem = _translate(level, text)
        problems.setdefault((problem.level, problem.message), problem)
    if result.returncode and not any(problem.level == "error" for problem in problems.values()):
        problems[("error", "")] = _failure(result.stdout)
    return list(problems.values())


def _records(output: str) -> list[tuple[str, str]]:
    """Rasa's warnings and errors in its output, each as (level, text of all its lines)."""
    records: list[tuple[str, list[str]]] = []
    for line in _ANSI.sub("", output).splitlines():
        line = line.split("\r")[-1]  # progress bars redraw their line
        if match := _RECORD.match(line):
            first = match["warning"] or match["logged"] or match["error"] or ""
            records.append((_level(match), [first]))
        elif records and not _NOISE.match(line):
            records[-1][1].append(line.strip())
    return [(level, "\n".join(lines)) for level, lines in records if level]


def _level(record: re.Match[str]) -> str:
    """The level: "error", "warning", or "" for what is not Rasa speaking about the data."""
    if record["error"]:
        return "error"
    if record["log"]:
        return {"WARNING": "warning", "ERROR": "error", "CRITICAL": "error"}.get(record["log"], "")
    is_rasa = "rasa" in (record["source"] or "")
    return "warning" if record["category"] in ("UserWarning", "FutureWarning") and is_rasa else ""


def _translate(level: str, text: str) -> Problem:
    """One of Rasa's findings in Spanish (when known), at the file and line it names."""
    file = ""
    if issue := _ISSUE_IN.match(text):
        file, text = issue["file"], text[issue.end() :]
    for pattern, known_level, default_file, spanish in _RASA_MESSAGES:
        if match := re.search(pattern, text):
            file = match.groupdict().get("file") or file or default_file
            lines = re.findall(r"line:? (\d+)", text) if file.endswith(".yml") else []
            message = spanish.format(**match.groupdict()).replace(" predicted in ", " en ")
            message = re.sub(r"'([^'\n]*)'", r"«\1»", re.sub(r"\s*\n\s*", "; ", message))
            return Problem(file, int(lines[-1]) if lines else 0, known_level, message)
    return Problem(file, 0, level, "Rasa dice: " + " ".join(text.split()))


def _failure(output: str) -> Problem:
    lines = [line for line in _ANSI.sub("", output).splitlines() if not _NOISE.match(line)]
    last = " / ".join(line.strip() for line in lines[-6:])
    return Problem("", 0, "error", f"La validación de Rasa ha fallado. Sus últimas líneas: {last}")


def _problem(example: Example, level: str, message: str) -> Problem:
    return Problem(example.file, example.line, level, message)
