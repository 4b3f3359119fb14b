"""How well the frustration meter finds frustrated customers, on labelled messages or whole
conversations; with a trained model, each turn is read by Rasa's NLU as in the Rasa server."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score, roc_auc_score, roc_curve

from bot.rasa_server.complaint_wording import read_labelled
from bot.rasa_server.frustration import FrustrationWeights, combined, load_lexicon, text_signs
from bot.rasa_server.frustration_check import FrustrationCheck, parse

MAX_FALSE_POSITIVES = 0.05  # the share of calm messages a detector may flag (the gate)
SWEEP = tuple(round(0.1 * step, 1) for step in range(1, 10))


def evaluate_messages(path: Path, weights: FrustrationWeights | None = None) -> dict[str, Any]:
    """Each line scored on its own (text signals only): the figures at the configured
    threshold, the ROC AUC, the best recall with at most 5 % of calm messages flagged, and a
    sweep of thresholds."""
    weights = weights or FrustrationWeights()
    rows = read_labelled(path)
    lexicon = load_lexicon()
    labels = [row.label for row in rows]
    scores = [combined(text_signs(row.text, lexicon, weights)) for row in rows]
    at_threshold = _at(labels, scores, weights.threshold)
    return {
        "file": path.name,
        "messages": len(rows),
        "frustrated": sum(labels),
        "threshold": weights.threshold,
        **{key: at_threshold[key] for key in ("precision", "recall", "false_positive_rate")},
        "f1": round(float(f1_score(labels, [int(s >= weights.threshold) for s in scores])), 3),
        "roc_auc": round(float(roc_auc_score(labels, scores)), 3),
        **recall_at_false_positives(labels, scores, MAX_FALSE_POSITIVES),
        "sweep": [_at(labels, scores, threshold) for threshold in SWEEP],
        "mistakes": [
            {"text": row.text, "label": row.label, "score": round(score, 2)}
            for row, score in zip(rows, scores, strict=True)
            if (score >= weights.threshold) != bool(row.label)
        ],
    }


def recall_at_false_positives(
    labels: list[int], scores: list[float], max_rate: float
) -> dict[str, float]:
    """The best recall of any threshold that flags at most `max_rate` of the calm messages."""
    false_rates, true_rates, thresholds = roc_curve(labels, scores)
    allowed = [i for i, rate in enumerate(false_rates) if rate <= max_rate]
    best = max(allowed, key=lambda i: (true_rates[i], -false_rates[i]))
    return {
        "recall_at_5pct_fp": round(float(true_rates[best]), 3),
        "threshold_at_5pct_fp": round(float(min(thresholds[best], 1.0)), 3),
    }


def _at(labels: list[int], scores: list[float], threshold: float) -> dict[str, float]:
    flagged = [score >= threshold for score in scores]
    hits = sum(1 for f, y in zip(flagged, labels, strict=True) if f and y)
    false_alarms = sum(1 for f, y in zip(flagged, labels, strict=True) if f and not y)
    return {
        "threshold": threshold,
        "precision": round(hits / max(1, hits + false_alarms), 3),
        "recall": round(hits / max(1, sum(labels)), 3),
        "false_positive_rate": round(false_alarms / max(1, labels.count(0)), 3),
    }


def evaluate_conversations(path: Path, model: Path | None = None) -> dict[str, Any]:
    """Whole conversations: the turn the assistant hands off against the labelled one.

    Without a model only the text signals score the turns. With one, each turn goes through the
    same check as in the Rasa channels (NLU, then the meter), and the dialogue's own handoff
    rules apply too: a request for a person, and two misunderstandings in a row.
    """
    conversations = [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    handoffs = asyncio.run(_handoffs(conversations, model))
    outcomes = dict.fromkeys(
        ["on_time", "early", "late", "calm_kept", "calm_handed_off", "calm_asked_for_person"], 0
    )
    offsets = []
    for conversation, (handed_off, reason) in zip(conversations, handoffs, strict=True):
        expected = conversation.get("handoff_at")
        if expected is None:
            # a calm customer who asks for a person gets one: that is no false alarm
            calm = "calm_asked_for_person" if reason == "user_request" else "calm_handed_off"
            outcomes["calm_kept" if handed_off is None else calm] += 1
            continue
        late_by = (len(conversation["turns"]) if handed_off is None else handed_off) - expected
        offsets.append(late_by)
        outcomes["on_time" if late_by == 0 else "late" if late_by > 0 else "early"] += 1
    return {"nlu": str(model) if model else None, **outcomes, "turns_late": offsets}


async def _handoffs(
    conversations: list[dict[str, Any]], model: Path | None
) -> list[tuple[int | None, str | None]]:
    """For each conversation, the index of the turn that hands off (None: never) and why."""
    agent = None
    if model is not None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from rasa.core.agent import load_agent  # heavy: only when asked for
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)  # not every parse on the screen
        agent = await load_agent(model_path=str(model))
    check = FrustrationCheck(FrustrationWeights())
    handoffs: list[tuple[int | None, str | None]] = []
    for number, conversation in enumerate(conversations):
        sender, misunderstood = f"eval-{number}", 0
        handoff: tuple[int | None, str | None] = (None, None)
        for index, text in enumerate(conversation["turns"]):
            parse_data = await parse(agent, text) if agent else None
            checked = await check.check(agent, sender, text, parse_data, {})
            check.remember(sender, checked.state)
            misunderstood = misunderstood + 1 if checked.intent == "nlu_fallback" else 0
            if checked.intent == "request_human":
                handoff = (index, "user_request")
            elif checked.assessment.crossed:
                handoff = (index, "frustration")
            elif misunderstood >= 2:
                handoff = (index, "repeated_fallback")
            if handoff[0] is not None:
                break
        handoffs.append(handoff)
    return handoffs
