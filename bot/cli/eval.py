"""`python -m bot eval frustration FILE.tsv` (single messages) or `--conversations FILE.jsonl`
(whole conversations): how well the frustration meter's text signals find frustrated customers.

The last line printed is the result as JSON, for scripts and CI.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bot.rasa_server.frustration_eval import evaluate_conversations, evaluate_messages
from bot.settings import models_dir


def add_eval_commands(commands: Any) -> None:
    evaluate = commands.add_parser("eval", help="evaluate a detector on a labelled file")
    evaluate.add_argument("detector", choices=["frustration"])
    evaluate.add_argument(
        "file", type=Path, help="TSV (text, label) or, with --conversations, JSONL"
    )
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
    if args.conversations:
        model = None if args.nlu is None else _model_path(args.nlu)
        result = evaluate_conversations(args.file, model)
    else:
        result = evaluate_messages(args.file)
    for key, value in result.items():
        if key != "mistakes":
            print(f"{key:>22}: {value}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _model_path(name: str) -> Path:
    if name != "latest":
        return Path(name)
    models = sorted(models_dir().glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise SystemExit("No trained model in models/: run `make train` first.")
    return models[-1]
