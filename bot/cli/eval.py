"""`python -m bot eval frustration FILE.tsv [FILE.tsv ...]` (single messages) or
`--conversations FILE.jsonl` (whole conversations): how well the frustration meter's text
signals find frustrated customers.

For messages, each file gets its figures at the configured threshold, the ROC AUC, the best
recall with at most 5 % of calm messages flagged, and a sweep of thresholds. The last line
printed is the result as JSON (a list, one entry per file), for scripts and CI.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.rasa_server.frustration_eval import evaluate_conversations, evaluate_messages
from bot.settings import models_dir


def add_eval_commands(commands: Any) -> None:
    evaluate = commands.add_parser("eval", help="evaluate a detector on a labelled file")
    evaluate.add_argument("detector", choices=["frustration"])
    evaluate.add_argument(
        "files", type=Path, nargs="+", metavar="FILE",
        help="TSV (text, label) or, with --conversations, JSONL",
    )  # fmt: skip
    evaluate.add_argument(
        "--conversations", action="store_true", help="FILE is JSONL: {turns, handoff_at}"
    )
    evaluate.add_argument(
        "--nlu",
        nargs="?",
        const="latest",
        metavar="MODEL",
        help="with --conversations: read each turn with a trained Rasa model (default: the newest "
        "in models/), as the assistant does, so intents and explicit requests count too",
    )


def run_eval_command(args: argparse.Namespace) -> int:
    missing = [path for path in args.files if not path.is_file()]
    if missing:
        print(f"No encuentro {', '.join(map(str, missing))}.", file=sys.stderr)
        return 2
    results = []
    for path in args.files:
        if args.conversations:
            model = None if args.nlu is None else _model_path(args.nlu)
            result = evaluate_conversations(path, model)
        else:
            try:
                result = evaluate_messages(path)
            except ValueError as error:
                print(error, file=sys.stderr)
                return 2
        _show(path, result)
        results.append({key: value for key, value in result.items() if key != "mistakes"})
    print(json.dumps(results if len(results) > 1 else results[0], ensure_ascii=False))
    return 0


def _show(path: Path, result: dict[str, Any]) -> None:
    print(f"== {path}")
    for key, value in result.items():
        if key not in ("mistakes", "sweep"):
            print(f"{key:>22}: {value}")
    if "sweep" in result:
        print(f"{'umbral':>8} {'precisión':>10} {'exhaustividad':>14} {'falsos positivos':>17}")
        for row in result["sweep"]:
            print(f"{row['threshold']:>8} {row['precision']:>10} {row['recall']:>14} "
                  f"{row['false_positive_rate']:>17}")  # fmt: skip


def _model_path(name: str) -> Path:
    if name != "latest":
        return Path(name)
    models = sorted(models_dir().glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("No trained model in models/: run `make train` first.")
    return models[-1]
