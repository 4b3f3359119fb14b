"""Command line: `python -m bot run` (everything), `cluster` (scaled out), `status` and
`restart` (the servers under supervision), `serve` (the gateway), `agents`, `db` (schema
upgrades, copies), `chat`, `call`, `talk`, `transcribe`, `eval` and `nlu` (the trainers' checks
and reports)."""

from __future__ import annotations

import argparse
import contextlib
import sys

from bot.assistant.client import AssistantClient, BlockingAssistant
from bot.cli.agents import add_agent_commands, run_agents_command
from bot.cli.cluster import add_cluster_command, run_cluster
from bot.cli.database import add_database_commands, run_database_command
from bot.cli.eval import add_eval_commands, run_eval_command
from bot.cli.launcher import Servers, StartError, stop_on_first_signal
from bot.cli.nlu import add_nlu_commands, run_nlu_command
from bot.cli.status import add_status_commands, run_status_command
from bot.cli.terminal_chat import TerminalChat
from bot.cli.transcribe import add_transcribe_command, run_transcribe_command
from bot.cli.voice import add_voice_commands, run_voice_command
from bot.gateway.server import announce_supervisor, gateway_url, serve
from bot.handoff.accounts import ensure_supervisor
from bot.pipeline.engines import speech_model_available, stt_engine
from bot.settings import GatewaySettings, Settings, SettingsError, VoiceSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the Rasa server, the action server and the gateway")
    commands.add_parser("serve", help="run the gateway (web chat, calls, agent desk) alone")
    add_cluster_command(commands)
    commands.add_parser(
        "chat",
        help="chat in the terminal with servers already running (BOT_RASA_TOKEN: their API token)",
    )
    add_voice_commands(commands)
    add_transcribe_command(commands)
    add_agent_commands(commands)
    add_database_commands(commands)
    add_eval_commands(commands)
    add_nlu_commands(commands)
    add_status_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "eval":
        return run_eval_command(args)
    if args.command == "nlu":
        return run_nlu_command(args)
    if args.command == "cluster":
        return run_cluster()
    try:  # read once here and handed down: nothing below reads the environment again
        settings = Settings.from_env()
        gateway_settings = GatewaySettings.from_env()
        voice = VoiceSettings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    if args.command in ("status", "restart"):
        return run_status_command(args, settings)
    if args.command == "transcribe":
        return run_transcribe_command(args, voice)
    if args.command == "serve":
        return serve(settings, gateway_settings, voice)
    if args.command == "agents":
        return run_agents_command(args, gateway_settings)
    if args.command == "db":
        return run_database_command(args, settings, gateway_settings)
    if args.command == "chat":
        assistant = BlockingAssistant(AssistantClient.from_settings(settings))
        try:
            TerminalChat(assistant).run()
        finally:
            assistant.close()
        return 0
    if args.command in ("call", "talk"):
        return run_voice_command(args, settings, voice)
    return run(settings, gateway_settings, voice)


def run(settings: Settings, gateway_settings: GatewaySettings, voice: VoiceSettings) -> int:
    """Starts everything, prints where to go, stops everything on Ctrl-C."""
    url = gateway_url(settings, gateway_settings)
    servers = Servers(settings, None, url)  # each server's lines on this terminal too
    stop_on_first_signal()
    print("Starting the Rasa server, the action server and the gateway…", flush=True)
    try:
        announce_supervisor(gateway_settings, ensure_supervisor(gateway_settings))
        servers.start()
        print(
            f"""
  Web chat:       {url}/chat      (demo page with the widget: {url}/)
  Browser call:   {url}/call{calls_note(gateway_settings, voice)}
  Phone lines:    {phone_lines(url, settings, gateway_settings)}
  Agent desk:     {url}/desk      (supervisor view: {url}/desk/supervisor)
  Trainer pages:  {url}/trainer   (accounts: python -m bot agents add NAME --trainer)
  API:            {url}/api/openapi.json · health: {url}/api/health
  Rasa server:    {settings.rasa_url} · action server: {settings.actions_url}
  Terminal chat:  python -m bot chat (another terminal) · sample call: python -m bot call FILE.wav

Each server restarts by itself if it crashes. State, uptime and restarts: python -m bot status
Logs: {servers.layout.log_dir}/{{rasa,actions,gateway}}.log. Serving until Ctrl-C.""",
            flush=True,
        )
        servers.wait()
    except StartError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        # with the terminal or pipe gone (Ctrl-C also ends `| tee`) printing fails; the servers
        # must be stopped all the same
        with contextlib.suppress(OSError):
            print("Stopping the servers…", flush=True)
        servers.stop()
    return 0


def phone_lines(url: str, settings: Settings, gateway_settings: GatewaySettings) -> str:
    """Where Twilio's webhook and Asterisk's AudioSocket() point (README, "Phone calls")."""
    port = gateway_settings.telephony.audiosocket_port
    public = gateway_settings.telephony.public_url or url
    asterisk = f"AudioSocket(uuid,{settings.host}:{port})" if port else "AudioSocket off"
    return f"Twilio voice webhook {public}/telephony/twilio/voice · Asterisk {asterisk}"


def calls_note(gateway_settings: GatewaySettings, voice: VoiceSettings) -> str:
    """Browser calls need a speech model; say so where the operator looks first."""
    if gateway_settings.call_script:
        return ""
    if speech_model_available(voice):
        return f"      (recognition: {stt_engine(voice)}, voice: {voice.tts_engine})"
    return "      (no speech model yet: `make models` downloads the Spanish one)"
