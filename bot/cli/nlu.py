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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bot.nlu.checks import check_project
from bot.nlu.data import NluFile
from bot.nlu.labels import intent_labels
from bot.nlu.rasa_validation import rasa_validation
from bot.nlu.report import (
    NluReport,
    Prediction,
    SpokenReport,
    build_report,
    render_confusion_png,
    render_html,
    render_markdown,
    spoken_markdown,
)
from bot.nlu.spoken_forms import mine_slips, slips_yaml, write_spoken_variants
from bot.settings import PROJECT_ROOT, VoiceSettings
from bot.training.evaluation import load_held_out
from bot.training.spoken import VOICES, SpokenCorpus

RASA = Path(sys.executable).with_name("rasa")
NOTHING_HEARD = "(nada)"  # the recogniser returned no words
MAX_MISHEARD = 12
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
    report.add_argument(
        "--spoken",
        action="store_true",
        help="with --test: also each sentence spoken by Pico and espeak-ng and recognised by "
        "Whisper, as on a call (about a second a sentence the first time; then cached)",
    )
    report.add_argument(
        "--voices", default=",".join(VOICES), help=f"with --spoken: {', '.join(VOICES)}"
    )
    report.add_argument(
        "--sample", type=int, help="with --spoken: speak only N sentences, spread over the file"
    )
    slips = actions.add_parser(
        "slips", help="speak the training sentences, recognise them, and write the recogniser's "
        "slips to data/speech/slips.yml (a second a sentence the first time)",
    )  # fmt: skip
    slips.add_argument("--project", type=Path, default=PROJECT_ROOT, help=argparse.SUPPRESS)
    slips.add_argument("--voices", default=",".join(VOICES), help=f"of {', '.join(VOICES)}")
    slips.add_argument("--every", type=int, default=1, help="only one sentence in N (quicker)")


def run_nlu_command(args: argparse.Namespace) -> int:
    if args.nlu_command == "check":
        return run_check(args.project.resolve(), rasa=not args.no_rasa)
    if args.nlu_command == "slips":
        return run_slips(args.project.resolve(), args.voices.split(","), args.every)
    voices = [v.strip() for v in args.voices.split(",") if v.strip()] if args.spoken else []
    return run_report(
        args.project.resolve(), args.test, args.folds, args.out, args.model, voices, args.sample
    )


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
    project: Path,
    test_file: Path | None,
    folds: int,
    out: Path,
    model: Path | None = None,
    voices: list[str] | None = None,
    sample: int | None = None,
) -> int:
    voices = voices or []
    if folds < 2:
        print("Hacen falta al menos 2 pliegues (--folds).", file=sys.stderr)
        return 2
    if voices and test_file is None:
        print("--spoken necesita --test.", file=sys.stderr)
        return 2
    unknown = [voice for voice in voices if voice not in VOICES]
    if unknown:
        print(f"Voz desconocida: {', '.join(unknown)} (hay {', '.join(VOICES)}).", file=sys.stderr)
        return 2
    if model is not None and (test_file is None or not model.exists()):
        print("--model necesita --test y un modelo que exista.", file=sys.stderr)
        return 2
    if test_file is not None and not test_file.is_file():
        print(f"No encuentro el archivo de prueba {test_file}.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="nlu-report-") as folder:
        scratch = Path(folder)
        try:
            predictions = evaluate(project, test_file, folds, scratch, model)
            trained = model.resolve() if model is not None else scratch / "model"
            said = write_sample(test_file, sample, scratch) if test_file and sample else test_file
            spoken = [
                evaluate_spoken(project, said, voice, trained, scratch)
                for voice in voices
                if said is not None
            ]
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
    report = build_report(predictions)
    write_report(report, intent_labels(project), out, describe_method(test_file, folds), spoken)
    print(f"F1 media {report.macro_f1:.3f}, acierto {report.accuracy:.3f} "
          f"({len(predictions)} frases).")  # fmt: skip
    for result in spoken:
        print(f"Hablado ({result.voice}): F1 media {result.report.macro_f1:.3f}, "
              f"acierto {result.report.accuracy:.3f}.")  # fmt: skip
    print(f"Informe: {out / 'report.md'} · {out / 'report.html'} · {out / 'confusion.png'}")
    return 0


def run_slips(project: Path, voices: list[str], every: int) -> int:
    """Speaks every `every`-th training sentence in each voice, recognises it, and writes the
    word slips found to data/speech/slips.yml."""
    sentences = []
    for path in sorted((project / "data" / "nlu").glob("*.yml")):
        examples, _ = NluFile(path, path.name).scan()
        sentences += [example.plain for example in examples]
    sentences = sentences[:: max(1, every)]
    pairs = []
    for voice in voices:
        print(f"Diciendo y reconociendo {len(sentences)} frases con la voz {voice}…",
              file=sys.stderr, flush=True)  # fmt: skip
        heard = SpokenCorpus(voice, VoiceSettings.from_env()).hear(sentences, _every_25)
        pairs += list(zip(sentences, heard, strict=True))
    found = mine_slips(pairs)
    path = project / "data" / "speech" / "slips.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(slips_yaml(found, len(sentences), voices), encoding="utf-8")
    print(f"{len(found)} confusiones de palabras en {path}.")
    return 0


def _every_25(done: int) -> None:
    if done % 25 == 0:
        print(f"    … {done} frases", file=sys.stderr, flush=True)


def write_sample(test_file: Path, count: int, scratch: Path) -> Path:
    """`count` sentences spread evenly over the file, as an NLU file of their own."""
    examples = load_held_out(test_file)
    if count < len(examples):
        examples = [examples[int(i * len(examples) / count)] for i in range(count)]
    path = scratch / f"sample-{test_file.name}"
    write_nlu(path, [(e.text, e.intent) for e in examples])
    return path


def write_nlu(path: Path, sentences: list[tuple[str, str]]) -> None:
    """An NLU file of (sentence, intent) in Rasa's block style, sentences in their order."""
    by_intent: dict[str, list[str]] = {}
    for text, intent in sentences:
        by_intent.setdefault(intent, []).append(" ".join(text.split()))
    lines = ['version: "3.1"', "nlu:"]
    for intent, texts in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in dict.fromkeys(texts)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def evaluate_spoken(
    project: Path, test_file: Path, voice: str, model: Path, scratch: Path
) -> SpokenReport:
    """The held-out sentences spoken in `voice`, recognised, and read by the model."""
    examples = load_held_out(test_file)
    print(f"Diciendo y reconociendo {len(examples)} frases con la voz {voice}…", file=sys.stderr,
          flush=True)  # fmt: skip

    heard = SpokenCorpus(voice, VoiceSettings.from_env()).hear(
        [e.text for e in examples], _every_25
    )
    said_as = {h: e.text for e, h in zip(examples, heard, strict=True) if h}
    path = scratch / f"spoken-{voice}.yml"
    write_nlu(path, [(h, e.intent) for e, h in zip(examples, heard, strict=True) if h])
    results = scratch / f"results-{voice}"
    run_with_progress(f"Evaluando lo oído con la voz {voice}", ["test", "nlu", "--model",
                      str(model), "--nlu", str(path), "--successes", "--no-plot", "--out",
                      str(results)], project, scratch)  # fmt: skip
    predictions = read_predictions(results)
    # a sentence the recogniser lost is one the assistant did not understand
    predictions += [Prediction("", e.intent, NOTHING_HEARD, 0.0)
                    for e, h in zip(examples, heard, strict=True) if not h]  # fmt: skip
    misheard = tuple(
        (said_as.get(p.text, ""), p.text, p.expected, p.predicted)
        for p in predictions
        if p.predicted != p.expected
    )[:MAX_MISHEARD]
    return SpokenReport(voice, build_report(predictions), misheard)


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
        nlu_data = _with_spoken_forms(project, scratch) if trained else project / "data" / "nlu"
        steps = [
            ("Entrenando el modelo de comprensión", ["train", "nlu", "--nlu", str(nlu_data),
             "--config", "config.yml", "--domain", "domain", "--out", str(model)]),
            (f"Evaluando con {test_file.name}", ["test", "nlu", "--model", str(model), "--nlu",
             str(test_file.resolve()), "--successes", "--no-plot", *common[4:]]),
        ][0 if trained else 1 :]  # fmt: skip
    for number, (title, args) in enumerate(steps, start=1):
        run_with_progress(f"[{number}/{len(steps)}] {title}", args, project, scratch)
    return read_predictions(scratch / "results")


def _with_spoken_forms(project: Path, scratch: Path) -> Path:
    """The NLU data and its spoken forms in one folder, as the shipped model is trained
    (`rasa train nlu` takes a single path)."""
    folder = scratch / "nlu"
    shutil.copytree(project / "data" / "nlu", folder)
    write_spoken_variants(project / "data" / "nlu", folder / "spoken.yml")
    return folder


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


def write_report(
    report: NluReport,
    labels: dict[str, str],
    out: Path,
    title: str,
    spoken: list[SpokenReport] | None = None,
) -> None:
    spoken = spoken or []
    out.mkdir(parents=True, exist_ok=True)
    render_confusion_png(report, labels, out / "confusion.png")
    markdown = render_markdown(report, labels, title)
    if spoken:
        markdown += "\n" + spoken_markdown(report, spoken, labels)
    (out / "report.md").write_text(markdown, encoding="utf-8")
    html = render_html(report, labels, title, "confusion.png", spoken)
    (out / "report.html").write_text(html, encoding="utf-8")
    data = report.to_json()
    if spoken:
        data["spoken"] = {result.voice: result.report.to_json() for result in spoken}
    (out / "report.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
