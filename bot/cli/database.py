"""`python -m bot db upgrade|copy`: the schema of the installation's databases, and moving an
installation from the embedded SQLite files to PostgreSQL."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import sqlalchemy as sa

import migrations
from actions.settings import ActionsSettings, SettingsError
from bot.db import DatabaseError, open_engine
from bot.db.copy import CopyError, copy_database
from bot.rasa_server.tracker_table import create_tracker_table
from bot.settings import GatewaySettings, Settings


def add_database_commands(commands: Any) -> None:
    database = commands.add_parser("db", help="database schema upgrades and copies")
    actions = database.add_subparsers(dest="db_command", required=True)
    actions.add_parser(
        "upgrade", help="apply the schema migrations to the gateway's and the actions' database"
    )
    copy = actions.add_parser(
        "copy",
        help="copy an installation's databases into another (e.g. SQLite into PostgreSQL)",
        description="Copies every table of the SOURCE databases into TARGET, which must be "
        "empty. To move the embedded default: python -m bot db copy sqlite:///var/gateway.db "
        "sqlite:///var/actions.db sqlite:///var/conversations.db postgresql://bot:…@host/bot",
    )
    copy.add_argument("databases", nargs="+", metavar="URL", help="SOURCE... TARGET")


def run_database_command(
    args: argparse.Namespace, settings: Settings, gateway_settings: GatewaySettings
) -> int:
    try:
        if args.db_command == "upgrade":
            return _upgrade(settings, gateway_settings)
        return _copy(args.databases)
    except (DatabaseError, CopyError, SettingsError) as error:
        print(f"Nothing was changed: {error}", file=sys.stderr)
        return 1


def _upgrade(settings: Settings, gateway_settings: GatewaySettings) -> int:
    owners = {
        "gateway": str(gateway_settings.database),
        "actions": ActionsSettings.from_env().database_url,
    }
    for branch, location in owners.items():
        engine = open_engine(location)
        before = migrations.revision(engine, branch)
        migrations.upgrade(engine, branch)
        after = migrations.revision(engine, branch)
        state = "up to date" if before == after else f"upgraded from {before or 'empty'}"
        print(f"{branch}: {_shown(engine.url)} at {after} ({state})")
        engine.dispose()
    # Rasa's own table: made here too, so Rasa servers starting together never race to make it
    create_tracker_table(settings.tracker_url)
    print(f"rasa: {_shown(sa.engine.make_url(settings.tracker_url))} (tracker table ready)")
    return 0


def _shown(url: sa.engine.URL) -> str:
    return url.render_as_string(hide_password=True)


def _copy(databases: list[str]) -> int:
    if len(databases) < 2:
        print("Give at least one SOURCE and the TARGET database.", file=sys.stderr)
        return 2
    *sources, target = databases
    report = copy_database(sources, target)
    for table, rows in report.rows.items():
        print(f"{table}: {rows} rows")
    print(f"Copied {sum(report.rows.values())} rows into the target.")
    return 0
