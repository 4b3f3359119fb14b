"""Command line: `python -m bot run` (servers + terminal chat), `chat`, `call` and `talk`."""

from __future__ import annotations

import argparse
import signal
import sys

from bot.cli_voice import add_voice_commands, run_voice_command
from bot.launcher import Servers, StartError
from bot.rasa_client import RasaClient
from bot.settings import Settings, SettingsError
from bot.terminal_chat import TerminalChat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the Rasa and action servers and chat in the terminal")
    commands.add_parser(
        "chat",
        help="chat in the terminal with servers already running (BOT_RASA_TOKEN: their API token)",
    )
    add_voice_commands(commands)
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command == "chat":
        TerminalChat(RasaClient.from_settings(settings)).run()
        return 0
    if args.command in ("call", "talk"):
        return run_voice_command(args, settings)
    return run(settings)


def run(settings: Settings) -> int:
    """Starts everything, chats when there is a terminal, stops everything on exit or Ctrl-C."""
    interactive = sys.stdin.isatty()
    log_file = settings.data_dir / "log" / "servers.log" if interactive else None
    servers = Servers(settings, log_file)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("Starting the Rasa server and the action server…", flush=True)
    try:
        servers.start()
        print(f"Rasa server:   {settings.rasa_url}  (REST: /webhooks/webchat/webhook)")
        print(f"Action server: {settings.actions_url}")
        print("Voice: in another terminal, python -m bot call audio/samples/hours.wav --out DIR")
        if interactive:
            print(f"Server logs:   {log_file}\n", flush=True)
            TerminalChat(RasaClient.from_settings(settings)).run()
        else:
            print("No terminal attached: serving until Ctrl-C.", flush=True)
            servers.wait()
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        print("Stopping the servers…", flush=True)
        servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
