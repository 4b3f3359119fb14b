"""`python -m bot eval frustration FILE.tsv` (single messages) or `--conversations FILE.jsonl`
(whole conversations): how well the frustration meter's text signals find frustrated customers.

The last line printed is the result as JSON, for scripts and CI.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

from bot.handoff.frustration import (
    FrustrationMeter,
    FrustrationWeights,
    combined,
    load_lexicon,
    text_signs,
)


def add_eval_commands(commands: Any) -> None:
    evaluate = commands.add_parser("eval", help="evaluate a detector on a labelled file")
    evaluate.add_argument("detector", choices=["frustration"])
    evaluate.add_argument(
        "file", type=Path, help="TSV (text, label) or, with --conversations, JSONL"
    )
    evaluate.add_argument(
        "--conversations", action="store_true", help="FILE is JSONL: {turns, handoff_at}"
    )


def run_eval_command(args: argparse.Namespace) -> int:
    result = (
        evaluate_conversations(args.file) if args.conversations else evaluate_messages(args.file)
    )
    for key, value in result.items():
        if key != "mistakes":
            print(f"{key:>22}: {value}")
    print(json.dumps(result, ensure_ascii=False))
    return 0


def evaluate_messages(path: Path, weights: FrustrationWeights | None = None) -> dict[str, Any]:
    """Each line scored on its own (text signals only)."""
    weights = weights or FrustrationWeights()
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source, delimiter="\t"))
    lexicon = load_lexicon()
    labels = [int(row["label"]) for row in rows]
    scores = [combined(text_signs(row["text"], lexicon, weights)) for row in rows]
    predicted = [int(score >= weights.threshold) for score in scores]
    negatives = labels.count(0)
    false_positives = sum(1 for p, y in zip(predicted, labels, strict=True) if p and not y)
    return {
        "messages": len(rows),
        "threshold": weights.threshold,
        "precision": round(float(precision_score(labels, predicted)), 3),
        "recall": round(float(recall_score(labels, predicted)), 3),
        "f1": round(float(f1_score(labels, predicted)), 3),
        "false_positive_rate": round(false_positives / max(1, negatives), 3),
        "roc_auc": round(float(roc_auc_score(labels, scores)), 3),
        "mistakes": [
            {"text": row["text"], "label": y, "score": round(s, 2)}
            for row, y, p, s in zip(rows, labels, predicted, scores, strict=True)
            if p != y
        ],
    }


def evaluate_conversations(path: Path) -> dict[str, Any]:
    """Whole conversations: the turn the meter hands off against the labelled one."""
    lexicon = load_lexicon()
    outcomes: dict[str, int] = {
        "on_time": 0,
        "early": 0,
        "late": 0,
        "calm_kept": 0,
        "calm_handed_off": 0,
    }
    offsets = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        conversation = json.loads(line)
        meter, handed_off = FrustrationMeter(lexicon), None
        for index, turn in enumerate(conversation["turns"]):
            meter.update(turn)
            if meter.crossed:
                handed_off = index
                break
        expected = conversation.get("handoff_at")
        if expected is None:
            outcomes["calm_kept" if handed_off is None else "calm_handed_off"] += 1
            continue
        late_by = (len(conversation["turns"]) if handed_off is None else handed_off) - expected
        offsets.append(late_by)
        outcomes["on_time" if late_by == 0 else "late" if late_by > 0 else "early"] += 1
    return {**outcomes, "turns_late": offsets}
