"""The servers of the system as one table, rendered for supervisord (`make run`) and for systemd
units (`deploy/systemd/`), so both always run the same commands.

Arguments name environment variables as `{BOT_RASA_TOKEN}`: supervisord and systemd both read
them from the environment when the process starts, so secrets never land in a file of ours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.settings import Settings


@dataclass(frozen=True)
class Program:
    """One server.

    Attributes:
        name: its name for supervisord, systemd (`contact-bot-NAME.service`) and the logs.
        title: what operators read ("the action server").
        executable: the program in the virtual environment's bin/.
        args: its arguments, `{VAR}` standing for an environment variable.
        restart_budget_s: how long a restart may take before it counts as slow; the Rasa
            server loads its model (about 15 s here), the others start in a few seconds.
        environment: variables of this server alone (a second gateway's port).
        user: the account it runs as, when not ours (PostgreSQL refuses to run as root).
    """

    name: str
    title: str
    executable: str  # in the virtual environment's bin/, or an absolute path
    args: tuple[str, ...]
    restart_budget_s: float
    environment: tuple[tuple[str, str], ...] = ()
    user: str | None = None

    def _path(self, bin_dir: Path | str) -> str:
        return (
            self.executable if self.executable.startswith("/") else f"{bin_dir}/{self.executable}"
        )

    def argv(self, bin_dir: Path, values: Mapping[str, str]) -> list[str]:
        """The command as a list, each `{VAR}` replaced from `values` (for a direct start)."""
        args = (_VARIABLE.sub(lambda found: values[found.group(1)], arg) for arg in self.args)
        return [self._path(bin_dir), *args]

    def supervisord_command(self, bin_dir: str) -> str:
        """The command line in supervisord's syntax (`%(ENV_X)s` is an environment variable)."""
        args = (_quoted(_VARIABLE.sub(r"%(ENV_\1)s", arg)) for arg in self.args)
        return " ".join([self._path(bin_dir), *args])

    def systemd_command(self, bin_dir: str) -> str:
        """The command line in systemd's syntax (`${X}` is a variable of the unit)."""
        args = (_VARIABLE.sub(r"${\1}", arg) for arg in self.args)
        return " ".join([self._path(bin_dir), *args])


_VARIABLE = re.compile(r"\{([A-Z_0-9]+)\}")


def _quoted(arg: str) -> str:
    """An argument with spaces (nginx's `-g "daemon off;"`) kept whole by supervisord."""
    return f'"{arg}"' if " " in arg else arg


def _rasa(port_variable: str) -> tuple[str, ...]:
    # `--auth-token=` in one argument: a random token may begin with "-" (one start in 64), and
    # argparse would read a separate one as an option and refuse to start
    return (
        "run", "--enable-api", "--auth-token={BOT_RASA_TOKEN}", "-i", "{BOT_HOST}",
        "-p", f"{{{port_variable}}}", "--model", "{BOT_MODELS_DIR}",
        "--credentials", "credentials.yml", "--endpoints", "{BOT_ENDPOINTS}",
    )  # fmt: skip


RASA = Program("rasa", "the Rasa server", "rasa", _rasa("BOT_RASA_PORT"), 60)
RASA_2 = Program("rasa2", "the second Rasa server", "rasa", _rasa("BOT_RASA_PORT2"), 60)
# rasa_sdk's own entry point rather than `rasa run actions`: the same server without importing
# all of Rasa first, so a restarted action server answers in half the time (2 s, not 4, idle)
ACTIONS = Program(
    "actions",
    "the action server",
    "python",
    ("-m", "rasa_sdk", "--actions", "actions", "-p", "{BOT_ACTIONS_PORT}"),
    10,
)
GATEWAY = Program("gateway", "the gateway", "python", ("-m", "bot", "serve"), 10)
ALL = (RASA, RASA_2, ACTIONS, GATEWAY)


def programs(settings: Settings, with_gateway: bool = True) -> list[Program]:
    """What runs: the Rasa server (two with BOT_RASA_SERVERS=2), the action server, the gateway."""
    return [
        RASA,
        *([RASA_2] if settings.rasa_servers == 2 else []),
        ACTIONS,
        *([GATEWAY] if with_gateway else []),
    ]


def by_name(name: str) -> Program | None:
    return next((program for program in ALL if program.name == name), None)


def environment(settings: Settings) -> dict[str, str]:
    """The variables the commands and the servers read (endpoints.yml, the actions)."""
    return {
        "BOT_HOST": settings.host,
        "BOT_RASA_PORT": str(settings.rasa_port),
        "BOT_RASA_PORT2": str(settings.rasa_port + 1),
        "BOT_ACTIONS_PORT": str(settings.actions_port),
        "BOT_MODELS_DIR": str(settings.models_dir),
        "BOT_DATA_DIR": str(settings.data_dir),
        "BOT_TRACKER_URL": settings.tracker_url,
        "BOT_ENDPOINTS": settings.endpoints,
        **settings.lock_store_environment(),
        "BOT_RASA_TOKEN": settings.rasa_token,
        "ACTION_SERVER_URL": f"{settings.actions_url}/webhook",
    }


def title(name: str) -> str:
    """What operators read for a server's name, as a sentence starts ("The action server")."""
    program = by_name(name)
    text = program.title if program else name
    return text[0].upper() + text[1:]
