"""`python -m bot status`: each server with its state, uptime and restarts;
`python -m bot restart NAME`: starts a server again (after a crash loop was stopped)."""

from __future__ import annotations

import argparse
import datetime
import xmlrpc.client

from bot.settings import Settings
from bot.supervision.programs import ALL
from bot.supervision.supervisor import Layout, process_table, rpc

NOT_RUNNING = (
    "The servers are not running under supervision here (no supervisord at {socket}).\n"
    "Start them with `make run`; with systemd, use `systemctl status 'contact-bot-*'`."
)


def add_status_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    commands.add_parser("status", help="each server's state, uptime and restarts")
    restart = commands.add_parser("restart", help="start a server again (e.g. after a crash loop)")
    restart.add_argument("name", choices=[program.name for program in ALL])


def run_status_command(args: argparse.Namespace, settings: Settings) -> int:
    layout = Layout.of(settings)
    try:
        if args.command == "restart":
            return _restart(layout, args.name)
        table = process_table(layout)
    except (OSError, xmlrpc.client.Fault):
        print(NOT_RUNNING.format(socket=layout.socket))
        return 3
    print(f"{'SERVER':<9} {'STATE':<9} {'PID':>7} {'UPTIME':>9} {'RESTARTS':>8}  LOG")
    for process in table:
        uptime = str(datetime.timedelta(seconds=int(process.uptime_s))) if process.pid else "-"
        pid = str(process.pid) if process.pid else "-"
        print(
            f"{process.name:<9} {process.state:<9} {pid:>7} {uptime:>9} "
            f"{process.restarts:>8}  {process.log}"
        )
    healthy = all(process.state == "RUNNING" for process in table)
    return 0 if healthy else 1


def _restart(layout: Layout, name: str) -> int:
    supervisor = rpc(layout).supervisor
    if supervisor.getProcessInfo(name)["statename"] == "RUNNING":
        supervisor.stopProcess(name, True)
    supervisor.startProcess(name, True)
    print(f"{name} started again.")
    return 0
