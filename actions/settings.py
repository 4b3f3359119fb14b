"""Settings of the action server, read once from the environment."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class ActionsSettings:
    """Where the action server finds its business data and keeps its database.

    Attributes:
        business_dir: folder with the operator's YAML files (hours, appointments, orders, ...).
        database_url: SQLAlchemy URL of the database: ACTIONS_DATABASE_URL, else the system's
            BOT_DATABASE_URL (PostgreSQL), else SQLite under `var/`.
        fixed_now: a frozen "now" for demos and conversation tests (ACTIONS_FIXED_NOW, ISO
            datetime with offset); None uses the real clock.
    """

    business_dir: Path
    database_url: str
    fixed_now: dt.datetime | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> ActionsSettings:
        env = os.environ if environ is None else environ
        business_dir = Path(env.get("ACTIONS_BUSINESS_DIR", PROJECT_ROOT / "data" / "business"))
        if not business_dir.is_dir():
            raise SettingsError(
                f"ACTIONS_BUSINESS_DIR={business_dir} is not a folder with the business data files"
            )
        data_dir = Path(env.get("BOT_DATA_DIR", PROJECT_ROOT / "var"))
        database_url = (
            env.get("ACTIONS_DATABASE_URL")
            or env.get("BOT_DATABASE_URL")
            or f"sqlite:///{data_dir / 'actions.db'}"
        )
        fixed = env.get("ACTIONS_FIXED_NOW")
        try:
            fixed_now = dt.datetime.fromisoformat(fixed) if fixed else None
        except ValueError as error:
            raise SettingsError(f"ACTIONS_FIXED_NOW={fixed!r} is not an ISO datetime") from error
        if fixed_now and fixed_now.tzinfo is None:
            raise SettingsError(
                "ACTIONS_FIXED_NOW needs a UTC offset, e.g. 2026-03-02T09:00:00+01:00"
            )
        return cls(business_dir=business_dir, database_url=database_url, fixed_now=fixed_now)
