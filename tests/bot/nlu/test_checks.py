"""The training data checks: each check on a small project written here, the real project, and
Rasa's own validation (integration)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.nlu import rasa_validation as validation
from bot.nlu.checks import MIN_EXAMPLES, check_project
from bot.nlu.problems import Problem
from bot.nlu.rasa_validation import rasa_validation

REAL_PROJECT = Path(__file__).parents[3]
GREET = [
    "hola",
    "buenos días",
    "buenas tardes",
    "qué tal",
    "saludos",
    "hola buenas",
    "buenas noches",
    "hey",
    "muy buenas",
    "hola qué tal estás",
]
BYE = [
    "adiós",
    "hasta luego",
    "nos vemos",
    "chao",
    "hasta mañana",
    "me despido",
    "hasta pronto",
    "que vaya bien",
    "hasta la próxima",
    "un saludo y adiós",
]
# data/nlu/base.yml: greet at line 3, its examples at 5-14; bye at 15, its examples at 17-26
DOMAIN = """\
version: "3.1"
intents:
  - greet
  - bye
responses:
  utter_greet:
    - text: "¡Hola!"
  utter_bye:
    - text: "Adiós"
"""
RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: bye
  steps:
  - intent: bye
  - action: utter_bye
"""


def nlu(intents: dict[str, list[str]]) -> str:
    """An NLU file: each intent takes its line, the `examples:` line and one per example."""
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in intents.items():
        lines += [f"- intent: {intent}", "  examples: |", *(f"    - {e}" for e in examples)]
    return "\n".join(lines) + "\n"


def make_project(root: Path, files: dict[str, str] | None = None) -> Path:
    """The base project (greet and bye, declared, answered), with `files` added or replaced."""
    written = {
        "data/nlu/base.yml": nlu({"greet": GREET, "bye": BYE}),
        "data/rules/base.yml": RULES,
        "domain/base.yml": DOMAIN,
        **(files or {}),
    }
    for name, text in written.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def places(problems: list[Problem]) -> list[tuple[str, int, str]]:
    return [(p.file, p.line, p.level) for p in problems]


def test_problem_prints_as_file_line_level_message():
    problem = Problem("data/nlu/orders.yml", 12, "error", "Mal.")
    assert str(problem) == "data/nlu/orders.yml:12: error: Mal."
    assert str(Problem("domain", 0, "warning", "Ojo.")) == "domain: warning: Ojo."
    assert problem.to_json() == {
        "file": "data/nlu/orders.yml",
        "line": 12,
        "level": "error",
        "message": "Mal.",
    }


def test_the_base_project_is_clean(tmp_path):
    assert check_project(make_project(tmp_path)) == []


def test_a_sentence_in_two_intents_is_an_error_naming_the_other(tmp_path):
    project = make_project(tmp_path, {"data/nlu/more.yml": nlu({"bye": ["¡Hola!"]})})
    [problem] = check_project(project)
    assert places([problem]) == [("data/nlu/more.yml", 5, "error")]
    assert "data/nlu/base.yml:5 como «greet»" in problem.message


def test_the_same_sentence_twice_in_one_intent_is_a_repetition(tmp_path):
    project = make_project(tmp_path, {"data/nlu/more.yml": nlu({"greet": ["hola"]})})
    [problem] = check_project(project)
    assert places([problem]) == [("data/nlu/more.yml", 5, "warning")]
    assert "repetido" in problem.message and "data/nlu/base.yml:5" in problem.message


def test_accents_case_or_punctuation_alone_add_nothing(tmp_path):
    project = make_project(tmp_path, {"data/nlu/more.yml": nlu({"greet": ["¡Buenos DIAS!"]})})
    [problem] = check_project(project)
    assert places([problem]) == [("data/nlu/more.yml", 5, "warning")]
    assert "tildes" in problem.message and "data/nlu/base.yml:6" in problem.message


def test_near_duplicates_across_intents_are_warned_not_within_one(tmp_path):
    more = nlu({"bye": ["hola qué tal estáis"], "greet": ["buenas nochess"]})
    project = make_project(tmp_path, {"data/nlu/more.yml": more})
    [problem] = check_project(project)  # "buenas nochess" is near "buenas noches": both greet
    assert places([problem]) == [("data/nlu/more.yml", 5, "warning")]
    assert "«hola qué tal estás» (data/nlu/base.yml:14)" in problem.message


def test_an_intent_with_few_examples_is_warned_at_its_intent_line(tmp_path):
    domain = DOMAIN.replace("  - bye\n", "  - bye\n  - thank\n")
    rules = RULES + "- rule: thank\n  steps:\n  - intent: thank\n  - action: utter_greet\n"
    more = nlu({"thank": ["gracias", "muchas gracias", "mil gracias"]})
    project = make_project(
        tmp_path,
        {"data/nlu/more.yml": more, "domain/base.yml": domain, "data/rules/base.yml": rules},
    )
    [problem] = check_project(project)
    assert places([problem]) == [("data/nlu/more.yml", 3, "warning")]
    assert f"solo tiene 3 ejemplos: conviene tener al menos {MIN_EXAMPLES}" in problem.message


def test_broken_entity_marks_are_errors_and_undeclared_entities_warnings(tmp_path):
    marks = [
        "me llamo [Ana](name)",  # 5: fine
        "hola soy [Luis",  # 6: unbalanced
        "mi nombre es [Pepe] y ya",  # 7: no entity after the brackets
        "yo soy [Marta]()",  # 8: empty entity name
        'soy [Eva]{"entity": }',  # 9: invalid JSON
        "hola (soy Juan",  # 10: unbalanced parenthesis
        "vivo en [Madrid](city)",  # 11: not declared
        'vivo en [Sevilla]{"entity": "name", "role": "x"}',  # 12: fine
    ]
    domain = DOMAIN + "entities:\n  - name\n"
    project = make_project(
        tmp_path, {"data/nlu/more.yml": nlu({"greet": marks}), "domain/base.yml": domain}
    )
    problems = check_project(project)
    assert places(problems) == [
        ("data/nlu/more.yml", 6, "error"),
        ("data/nlu/more.yml", 7, "error"),
        ("data/nlu/more.yml", 8, "error"),
        ("data/nlu/more.yml", 9, "error"),
        ("data/nlu/more.yml", 10, "error"),
        ("data/nlu/more.yml", 11, "warning"),
    ]
    assert "«city»" in problems[-1].message


def test_intents_must_be_declared_and_declared_intents_taught(tmp_path):
    domain = DOMAIN.replace("  - bye\n", "  - lonely\n")  # bye not declared; lonely untaught
    rules = RULES + "- rule: lonely\n  steps:\n  - intent: lonely\n  - action: utter_bye\n"
    project = make_project(tmp_path, {"domain/base.yml": domain, "data/rules/base.yml": rules})
    problems = check_project(project)
    assert places(problems) == [
        ("data/nlu/base.yml", 15, "error"),  # bye: not declared
        ("data/rules/base.yml", 13, "error"),  # the rule expects lonely, which has no examples
        ("domain/base.yml", 4, "warning"),  # lonely: no examples
    ]
    assert "«bye»" in problems[0].message and "«lonely»" in problems[2].message


def test_rules_need_responses_and_taught_intents_and_intents_need_rules(tmp_path):
    rules = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_nothing
- rule: misunderstood
  steps:
  - intent: nlu_fallback
  - action: action_default_fallback
- rule: thanks
  steps:
  - intent: thank
  - action: action_unknown
"""
    project = make_project(tmp_path, {"data/rules/base.yml": rules})
    problems = check_project(project)
    assert places(problems) == [
        ("data/nlu/base.yml", 15, "warning"),  # no rule uses bye
        ("data/rules/base.yml", 6, "error"),  # utter_nothing has no response
        ("data/rules/base.yml", 13, "error"),  # thank has no examples
        ("data/rules/base.yml", 14, "error"),  # action_unknown is not declared
    ]
    assert "«utter_nothing»" in problems[1].message
    assert "no sabrá qué responder" in problems[0].message


def test_an_invalid_nlu_file_is_one_error_at_its_line_and_nothing_more(tmp_path):
    broken = 'version: "3.1"\nnlu:\n- intent: bye\n  examples: |\n    - adiós\n  - x: [\n'
    files = {"data/nlu/base.yml": nlu({"greet": GREET}), "data/nlu/more.yml": broken}
    [problem] = check_project(make_project(tmp_path, files))  # bye's rule and domain entry: ok
    assert places([problem]) == [("data/nlu/more.yml", 6, "error")]
    assert "YAML" in problem.message


def test_an_invalid_domain_or_rules_file_is_one_error_at_its_line(tmp_path):
    domain = DOMAIN.replace("responses:", " responses:")  # line 5: the intents list breaks
    files = {"domain/base.yml": domain, "data/rules/base.yml": "version: 3.1\nrules: a: b\n"}
    problems = check_project(make_project(tmp_path, files))  # nothing about what they declare
    assert places(problems) == [
        ("data/rules/base.yml", 2, "error"),
        ("domain/base.yml", 5, "error"),
    ]


def test_empty_files_smileys_and_or_steps_are_fine_and_latin1_is_an_error(tmp_path):
    or_rule = "- rule: either\n  steps:\n  - or:\n    - intent: greet\n    - intent: bye\n"
    files = {
        "data/nlu/empty.yml": "",
        "data/nlu/more.yml": nlu({"greet": ["hola, amigo :)"]}),
        "data/rules/more.yml": 'version: "3.1"\nrules:\n' + or_rule + "  - action: utter_greet\n",
    }
    project = make_project(tmp_path, files)
    (project / "domain" / "old.yml").write_bytes("intents:\n  - adiós\n".encode("latin-1"))
    problems = check_project(project)
    assert places(problems) == [("domain/old.yml", 0, "error")]
    assert "UTF-8" in problems[0].message


def test_the_real_project_has_no_errors():
    problems = check_project(REAL_PROJECT)
    warnings = [p for p in problems if p.level == "warning"]
    print(f"{len(warnings)} warnings in the real data:", *warnings, sep="\n")
    assert [str(p) for p in problems if p.level == "error"] == []


def test_the_real_project_check_returns_sorted_places_that_exist():
    problems = check_project(REAL_PROJECT)
    assert problems == sorted(problems, key=lambda p: (p.file, p.line))
    for problem in problems:
        lines = (REAL_PROJECT / problem.file).read_text(encoding="utf-8").splitlines()
        assert 0 <= problem.line <= len(lines), problem


RASA_OUTPUT = """\
/x/site-packages/pkg_resources/__init__.py:3117: DeprecationWarning: Deprecated call
  declare_namespace(pkg)
2026-01-01 10:00:00 INFO     rasa.validator  - Validating intents...
\x1b[93m/x/site-packages/rasa/shared/utils/io.py:100: UserWarning: Issue found in \
'data/rules/a.yml':
Found intent 'nope' in stories which is not part of the domain.
  More info at https://rasa.com/docs/rasa/stories
\x1b[0m/x/site-packages/rasa/shared/utils/io.py:100: UserWarning: Something new.
2026-01-01 10:00:00 WARNING  rasa.validator  - Story structure conflict after intent 'hi':
  utter_a predicted in 'one'
  utter_b predicted in 'two'

\x1b[91mProject validation completed with errors.\x1b[0m
"""


def test_rasa_output_is_translated(monkeypatch):
    def fake_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 1, stdout=RASA_OUTPUT)

    monkeypatch.setattr(validation.subprocess, "run", fake_run)
    assert [(p.file, p.level, p.message) for p in rasa_validation(Path("."))] == [
        (
            "data/rules/a.yml",
            "error",
            "Una regla usa la intención «nope», que no está declarada "
            "en el dominio (apartado «intents:» de domain/).",
        ),
        ("", "warning", "Rasa dice: Something new."),
        (
            "",
            "error",
            "Hay reglas o historias que se contradicen después de «hi»: utter_a en "
            "«one»; utter_b en «two»",
        ),
    ]


def test_a_rasa_failure_without_a_known_message_is_one_error(monkeypatch):
    def fake_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 1, stdout="boom\nsomething broke\n")

    monkeypatch.setattr(validation.subprocess, "run", fake_run)
    [problem] = rasa_validation(Path("."))
    assert problem.level == "error" and "something broke" in problem.message


def real_copy(root: Path) -> Path:
    shutil.copy(REAL_PROJECT / "config.yml", root / "config.yml")
    for folder in ("domain", "data/nlu", "data/rules"):
        shutil.copytree(REAL_PROJECT / folder, root / folder)
    return root


@pytest.mark.integration
def test_rasa_finds_no_error_in_the_real_project(tmp_path):
    problems = rasa_validation(real_copy(tmp_path))
    print(*problems, sep="\n")
    assert [str(p) for p in problems if p.level == "error"] == []


@pytest.mark.integration
def test_rasa_finds_a_missing_response(tmp_path):
    shutil.copy(REAL_PROJECT / "config.yml", tmp_path / "config.yml")
    rules = RULES.replace("utter_bye", "utter_nothing")
    problems = rasa_validation(make_project(tmp_path, {"data/rules/base.yml": rules}))
    assert any(p.level == "error" and "«utter_nothing»" in p.message for p in problems), problems
