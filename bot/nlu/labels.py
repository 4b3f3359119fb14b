"""What each intent means in trainers' words (`data/trainers/intents.yml`)."""

from __future__ import annotations

from pathlib import Path

import yaml

LABELS_FILE = Path("data") / "trainers" / "intents.yml"


def intent_descriptions(project: Path) -> dict[str, dict[str, str]]:
    """{intent: {"label": ..., "description": ...}}; empty when the file is missing or bad."""
    try:
        data = yaml.safe_load((project / LABELS_FILE).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    intents = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(intents, dict):
        return {}
    return {
        str(name): {"label": str(info.get("label") or name),
                    "description": str(info.get("description") or "")}
        for name, info in intents.items() if isinstance(info, dict)
    }  # fmt: skip


def intent_labels(project: Path) -> dict[str, str]:
    """{intent: Spanish label}."""
    return {name: info["label"] for name, info in intent_descriptions(project).items()}
