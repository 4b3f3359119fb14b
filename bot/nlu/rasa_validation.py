"""Rasa's own `rasa data validate`, run in a subprocess, with what it says translated into
Problems a trainer can act on (Spanish when the message is known, else "Rasa dice: " and
Rasa's English)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.nlu.problems import Problem

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
