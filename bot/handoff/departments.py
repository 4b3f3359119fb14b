"""The departments that take handed-off conversations, from the operator's business data.

Only names and the default queue are needed here; opening hours stay with the action server,
which says in each handoff whether the department is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Departments:
    """Department names by id, in the order the operator lists them, and the default queue."""

    names: dict[str, str]
    default: str

    def name(self, department: str | None) -> str:
        return self.names.get(department or self.default, department or self.default)

    def resolve(self, department: str | None) -> str:
        """A known department id: unknown or missing ones go to the default queue."""
        return department if department in self.names else self.default


def load_departments(business_dir: Path) -> Departments:
    hours = yaml.safe_load((business_dir / "hours.yml").read_text(encoding="utf-8")) or {}
    handoff = yaml.safe_load((business_dir / "handoff.yml").read_text(encoding="utf-8")) or {}
    names = {entry["id"]: entry["name"] for entry in hours.get("departments", [])}
    default = handoff.get("default") or next(iter(names), "general")
    return Departments(names or {default: default}, default)
