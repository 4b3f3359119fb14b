"""`python -m bot nlu check` and `python -m bot nlu report`: the trainers' command line.

`check` lists every problem of the NLU data as `file:line: problem`, in plain Spanish, and
exits with 1 when any is an error. `report` trains on the data and evaluates the model
(cross-validation, or a held-out file with `--test`), and writes the report as Markdown, HTML
and a confusion-matrix picture. What trainers read is Spanish.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bot.nlu.checks import check_project
from bot.nlu.labels import intent_labels
from bot.nlu.rasa_validation import rasa_validation
from bot.nlu.report import (
    NluReport,
    Prediction,
    build_report,
    render_confusion_png,
    render_html,
    render_markdown,
)
from bot.settings import PROJECT_ROOT

RASA = Path(sys.executable).with_name("rasa")
DEFAULT_REPORT_DIR = PROJECT_ROOT / "var" / "reports" / "nlu-report"


def add_nlu_commands(commands: Any) -> None:
    nlu = commands.add_parser("nlu", help="check the NLU data or report on how well it is learnt")
    actions = nlu.add_subparsers(dest="nlu_command", required=True)
    check = actions.add_parser(
        "check", help="Rasa's validation plus our checks: file:line: problem"
    )
    check.add_argument("--project", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    check.add_argument("--no-rasa", action="store_true", help="only our own checks (fast)")
    report = actions.add_parser("report", help="train, evaluate, write Markdown, HTML and PNG")
    report.add_argument("--project", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    report.add_argument("--test", type=Path, help="a held-out NLU file (default: cross-validation)")
    report.add_argument("--folds", type=int, default=3, help="cross-validation folds (default 3)")
    report.add_argument("--out", type=Path, default=DEFAULT_REPORT_DIR, help="report folder")
    report.add_argument(
        "--model",
        type=Path,
        help="with --test: evaluate this trained model (file or folder) instead of training one",
    )


def run_nlu_command(args: argparse.Namespace) -> int:
    if args.nlu_command == "check":
        return run_check(args.project.resolve(), rasa=not args.no_rasa)
    return run_report(args.project.resolve(), args.test, args.folds, args.out, args.model)


def run_check(project: Path, rasa: bool = True) -> int:
    problems = check_project(project)
    if rasa:
        print("Comprobando los datos con Rasa (unos segundos)…", file=sys.stderr, flush=True)
        problems += rasa_validation(project)
    for problem in problems:
        print(problem)
    errors = sum(problem.level == "error" for problem in problems)
    warnings = len(problems) - errors
    sys.stdout.flush()
    print(f"{errors} {'error' if errors == 1 else 'errores'} y {warnings} "
          f"{'aviso' if warnings == 1 else 'avisos'}.", file=sys.stderr)  # fmt: skip
    return 1 if errors else 0


def run_report(
    project: Path, test_file: Path | None, folds: int, out: Path, model: Path | None = None
) -> int:
    if folds < 2:
        print("Hacen falta al menos 2 pliegues (--folds).", file=sys.stderr)
        return 2
    if model is not None and (test_file is None or not model.exists()):
        print("--model necesita --test y un modelo que exista.", file=sys.stderr)
        return 2
    if test_file is not None and not test_file.is_file():
        print(f"No encuentro el archivo de prueba {test_file}.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nlu-report-") as scratch:
        try:
            predictions = evaluate(project, test_file, folds, Path(scratch), model)
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
    report = build_report(predictions)
    write_report(report, intent_labels(project), out, describe_method(test_file, folds))
    print(f"F1 media {report.macro_f1:.3f}, acierto {report.accuracy:.3f} "
          f"({len(predictions)} frases).")  # fmt: skip
    print(f"Informe: {out / 'report.md'} · {out / 'report.html'} · {out / 'confusion.png'}")
    return 0


def describe_method(test_file: Path | None, folds: int) -> str:
    if test_file is not None:
        return f"Evaluación con las frases de {test_file.name}"
    return f"Evaluación cruzada en {folds} pliegues"


def evaluate(
    project: Path, test_file: Path | None, folds: int, scratch: Path, model: Path | None = None
) -> list[Prediction]:
    """Rasa trains (unless given a `model`) and predicts; its per-sentence results become our
    predictions."""
    common = ["--config", "config.yml", "--domain", "domain", "--out", str(scratch / "results")]
    if test_file is None:
        steps = [(f"Entrenando y evaluando en {folds} pliegues",
                  ["test", "nlu", "--nlu", "data/nlu", "--cross-validation", "--folds",
                   str(folds), "--successes", "--no-plot", *common])]  # fmt: skip
    else:
        trained = model is None
        model = (scratch / "model") if model is None else model.resolve()
        steps = [
            ("Entrenando el modelo de comprensión", ["train", "nlu", "--nlu", "data/nlu",
             "--config", "config.yml", "--domain", "domain", "--out", str(model)]),
            (f"Evaluando con {test_file.name}", ["test", "nlu", "--model", str(model), "--nlu",
             str(test_file.resolve()), "--successes", "--no-plot", *common[4:]]),
        ][0 if trained else 1 :]  # fmt: skip
    for number, (title, args) in enumerate(steps, start=1):
        run_with_progress(f"[{number}/{len(steps)}] {title}", args, project, scratch)
    return read_predictions(scratch / "results")


def run_with_progress(title: str, args: list[str], project: Path, scratch: Path) -> None:
    """Runs a Rasa command, printing the seconds gone every few seconds."""
    log = scratch / "rasa.log"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore"}
    started = time.monotonic()
    done = threading.Event()

    def tick() -> None:
        while not done.wait(5):
            print(f"    … {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)

    print(f"{title}…", file=sys.stderr, flush=True)
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    with log.open("ab") as output:
        result = subprocess.run([str(RASA), *args], cwd=project, env=env, stdout=output,
                                stderr=subprocess.STDOUT, check=False)  # fmt: skip
    done.set()
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise RuntimeError("Rasa ha fallado:\n" + "\n".join(tail))
    print(f"    hecho en {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)


def read_predictions(results: Path) -> list[Prediction]:
    """Rasa's `intent_successes.json` and `intent_errors.json`: every sentence it evaluated."""
    predictions = []
    for name in ("intent_successes.json", "intent_errors.json"):
        path = results / name
        if not path.exists():
            continue
        for item in json.loads(path.read_text(encoding="utf-8")):
            predicted = item.get("intent_prediction") or {}
            predictions.append(Prediction(
                str(item["text"]), str(item["intent"]), str(predicted.get("name")),
                float(predicted.get("confidence") or 0.0),
            ))  # fmt: skip
    if not predictions:
        raise RuntimeError(f"Rasa no dejó resultados en {results}.")
    return predictions


def write_report(report: NluReport, labels: dict[str, str], out: Path, title: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    render_confusion_png(report, labels, out / "confusion.png")
    (out / "report.md").write_text(render_markdown(report, labels, title), encoding="utf-8")
    html = render_html(report, labels, title, "confusion.png")
    (out / "report.html").write_text(html, encoding="utf-8")
    (out / "report.json").write_text(json.dumps(report.to_json(), ensure_ascii=False), "utf-8")
