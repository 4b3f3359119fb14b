"""`python -m bench compare OLD.json NEW.json`: what got better or worse between two runs.

Every number of results.json is compared by its place in the document (levels by their number
of calls, sessions or streams). Changes under `THRESHOLD` are noise on these machines and only
counted. Times, memory, CPU, real-time factors, ratios and failures are better lower; the few
figures where more is better are listed in HIGHER_IS_BETTER.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

THRESHOLD = 0.10  # relative change
HIGHER_IS_BETTER = ("max_real_time_calls", "messages_per_s", "real_time_streams_possible")
SKIPPED = ("run", "targets", "samples", "caller", "think_s", "window_s")
LEVEL_KEYS = ("calls", "sessions", "streams")


def flatten(node: Any, path: str = "") -> dict[str, float]:
    """Numbers (and booleans as 0/1) of a results document, by path."""
    figures: dict[str, float] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            if key not in SKIPPED:
                figures.update(flatten(value, f"{path}.{key}" if path else key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            label = next(
                (
                    f"{key}={item[key]}"
                    for key in LEVEL_KEYS
                    if isinstance(item, dict) and key in item
                ),
                str(index),
            )
            figures.update(flatten(item, f"{path}[{label}]"))
    elif isinstance(node, (bool, int, float)):
        figures[path] = float(node)
    return figures


def higher_is_better(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return last in HIGHER_IS_BETTER or last.startswith("real_time")


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[tuple[str, float, float]]]:
    """Changes by kind: better, worse, (within the threshold) same, and only in one run."""
    before, after = flatten(old), flatten(new)
    found: dict[str, list[tuple[str, float, float]]] = {
        "better": [],
        "worse": [],
        "same": [],
        "only_old": [],
        "only_new": [],
    }
    for path in sorted(before.keys() | after.keys()):
        if path not in after:
            found["only_old"].append((path, before[path], float("nan")))
            continue
        if path not in before:
            found["only_new"].append((path, float("nan"), after[path]))
            continue
        was, now = before[path], after[path]
        change = (now - was) / abs(was) if was else (0.0 if now == was else float("inf"))
        if abs(change) < THRESHOLD or (path.endswith(".n") and was == now):
            found["same"].append((path, was, now))
            continue
        improved = (now > was) == higher_is_better(path)
        found["better" if improved else "worse"].append((path, was, now))
    return found


def render(found: dict[str, list[tuple[str, float, float]]]) -> str:
    lines = []
    for kind, title in (("worse", "Worse"), ("better", "Better")):
        lines.append(f"{title} ({len(found[kind])}):")
        for path, was, now in found[kind]:
            change = f"{(now - was) / abs(was):+.0%}" if was else "new"
            lines.append(f"  {path:70} {was:>10g} → {now:<10g} {change}")
    lines.append(f"Within ±{THRESHOLD:.0%}: {len(found['same'])} figures.")
    for kind, title in (("only_old", "Only in the old run"), ("only_new", "Only in the new run")):
        if found[kind]:
            lines.append(f"{title}: " + ", ".join(path for path, _, _ in found[kind]))
    return "\n".join(lines)


def compare_files(old: Path, new: Path) -> str:
    documents = [json.loads(path.read_text(encoding="utf-8")) for path in (old, new)]
    for path, document in zip((old, new), documents, strict=True):
        if document.get("schema") != 1:
            raise ValueError(f"{path} is not a bench/results.json of schema 1")
    return render(compare(*documents))
