"""`python -m bot agents add|list`: accounts of the desk (agents, supervisors) and of the
trainer pages (trainers)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from bot.handoff.accounts import AccountError, AgentAccounts
from bot.handoff.departments import load_departments
from bot.handoff.store import GatewayStore
from bot.settings import GatewaySettings


def add_agent_commands(commands: Any) -> None:
    agents = commands.add_parser("agents", help="desk accounts: add or list agents")
    actions = agents.add_subparsers(dest="agents_command", required=True)
    add = actions.add_parser("add", help="create an agent (the password is asked for)")
    add.add_argument("username")
    add.add_argument("--name", default="", help="the name customers see, e.g. 'Lucía'")
    role = add.add_mutually_exclusive_group()
    role.add_argument("--supervisor", action="store_true", help="also sees the supervisor view")
    role.add_argument(
        "--trainer", action="store_true", help="a trainer: the trainer pages, not the desk"
    )
    add.add_argument(
        "--departments", default="", help="comma-separated department ids (default: all)"
    )
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    actions.add_parser("list", help="list the accounts")


def run_agents_command(args: argparse.Namespace, settings: GatewaySettings) -> int:
    store = GatewayStore(settings.database)
    try:
        if args.agents_command == "list":
            for agent in store.agents():
                served = ", ".join(agent.departments) or "all departments"
                print(f"{agent.username:<16} {agent.role:<10} {agent.name} ({served})")
            return 0
        return _add(args, settings, AgentAccounts(store))
    finally:
        store.close()


def _add(args: argparse.Namespace, settings: GatewaySettings, accounts: AgentAccounts) -> int:
    known = load_departments(settings.business_dir).names
    departments = [d.strip() for d in args.departments.split(",") if d.strip()]
    unknown = [d for d in departments if d not in known]
    if unknown:
        print(f"Unknown departments {unknown}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat it: ") != password:
            print("The passwords do not match.", file=sys.stderr)
            return 2
    role = "supervisor" if args.supervisor else "trainer" if args.trainer else "agent"
    try:
        agent = accounts.add(args.username, args.name, password, role, departments)
    except AccountError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Created {agent.role} '{agent.username}' ({agent.name}).")
    return 0
