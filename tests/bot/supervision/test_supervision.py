"""The supervision's own logic: restart counts, crash loops, the configuration supervisord reads,
the systemd units, and the servers' lines copied to one stream."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from bot.settings import PROJECT_ROOT, Settings
from bot.supervision.logs import LogFollower
from bot.supervision.programs import (
    ACTIONS,
    GATEWAY,
    RASA,
    Program,
    environment,
    programs,
)
from bot.supervision.supervisor import Layout, render_config
from bot.supervision.systemd import units
from bot.supervision.watch import CRASH_LOOP_EXITS, CRASH_LOOP_WINDOW_S, Watcher, read_records


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _watcher(tmp_path: Path, clock: Clock) -> tuple[Watcher, list[str], io.StringIO]:
    stopped: list[str] = []
    report = io.StringIO()
    watcher = Watcher(tmp_path / "state.json", tmp_path / "log", stopped.append, report, clock)
    return watcher, stopped, report


def _crash_and_restart(watcher: Watcher, name: str) -> None:
    watcher.on_event("PROCESS_STATE_EXITED", {"processname": name, "expected": "0", "pid": "42"})
    watcher.on_event("PROCESS_STATE_STARTING", {"processname": name, "from_state": "EXITED"})


def test_restarts_are_counted_and_saved(tmp_path: Path):
    clock = Clock()
    watcher, stopped, report = _watcher(tmp_path, clock)
    watcher.on_event("PROCESS_STATE_STARTING", {"processname": "actions", "from_state": "STOPPED"})
    _crash_and_restart(watcher, "actions")

    assert read_records(tmp_path / "state.json")["actions"]["restarts"] == 1
    assert stopped == []
    assert "The action server stopped unexpectedly (pid 42); restarting it." in report.getvalue()


def test_a_crash_loop_is_stopped_and_said_plainly(tmp_path: Path):
    clock = Clock()
    watcher, stopped, report = _watcher(tmp_path, clock)
    for _ in range(CRASH_LOOP_EXITS - 1):
        _crash_and_restart(watcher, "gateway")
        clock.now += 10
    assert stopped == []
    _crash_and_restart(watcher, "gateway")

    assert stopped == ["gateway"]
    assert "The gateway crashed 5 times in 5 minutes; it is no longer restarted." in (
        report.getvalue()
    )
    assert read_records(tmp_path / "state.json")["gateway"]["gave_up"] is True


def test_crashes_far_apart_are_not_a_loop(tmp_path: Path):
    clock = Clock()
    watcher, stopped, _ = _watcher(tmp_path, clock)
    for _ in range(CRASH_LOOP_EXITS * 2):
        _crash_and_restart(watcher, "rasa")
        clock.now += CRASH_LOOP_WINDOW_S / (CRASH_LOOP_EXITS - 1) + 1
    assert stopped == []
    assert watcher.records()["rasa"].restarts == CRASH_LOOP_EXITS * 2


def test_supervisords_give_up_is_reported(tmp_path: Path):
    watcher, _, report = _watcher(tmp_path, Clock())
    watcher.on_event("PROCESS_STATE_FATAL", {"processname": "rasa", "from_state": "BACKOFF"})
    assert "The Rasa server failed every time it started" in report.getvalue()
    assert str(tmp_path / "log" / "rasa.log") in report.getvalue()


def test_expected_exits_are_not_crashes(tmp_path: Path):
    watcher, stopped, report = _watcher(tmp_path, Clock())
    watcher.on_event("PROCESS_STATE_EXITED", {"processname": "rasa", "expected": "1", "pid": "7"})
    assert watcher.records()["rasa"].crashes == 0 and report.getvalue() == "" and stopped == []


def test_supervisord_reads_the_configuration(tmp_path: Path):
    settings = Settings.from_env({"BOT_DATA_DIR": str(tmp_path), "BOT_RASA_SERVERS": "2"})
    layout = Layout.of(settings)
    layout.run_dir.mkdir(parents=True)
    layout.log_dir.mkdir(parents=True)
    layout.config.write_text(render_config(programs(settings), layout))
    options = ServerOptions()
    variables = {**environment(settings), "BOT_RASA_TOKEN": "secret"}
    options.environ_expansions = {f"ENV_{name}": value for name, value in variables.items()}
    options.realize(args=["-c", str(layout.config)])

    groups = {group.name: group for group in options.process_group_configs}
    assert set(groups) == {"rasa", "rasa2", "actions", "gateway", "watch"}
    actions = groups["actions"].process_configs[0]
    assert actions.autorestart is RestartUnconditionally
    assert actions.stopasgroup and actions.killasgroup
    assert actions.stdout_logfile == str(layout.log("actions"))
    rasa = groups["rasa"].process_configs[0].command
    assert "--auth-token=secret" in rasa  # read from the environment, never written down
    assert "secret" not in layout.config.read_text()


def test_a_server_run_as_another_account_starts_outside_the_project_folder(tmp_path: Path):
    """supervisord changes folder after switching accounts, and the project may sit in a
    folder only we can enter (a clone in a private temporary folder)."""
    settings = Settings.from_env({"BOT_DATA_DIR": str(tmp_path)})
    layout = Layout.of(settings)
    layout.run_dir.mkdir(parents=True)
    layout.log_dir.mkdir(parents=True)
    database = Program("postgres", "PostgreSQL", "/usr/bin/true", (), 10, user="postgres")
    layout.config.write_text(render_config([ACTIONS, database], layout))
    options = ServerOptions()
    options.environ_expansions = {f"ENV_{name}": value for name, value in
                                  environment(settings).items()}  # fmt: skip
    options.realize(args=["-c", str(layout.config)])

    groups = {group.name: group.process_configs[0] for group in options.process_group_configs}
    assert groups["postgres"].directory == "/" and groups["postgres"].uid is not None
    assert groups["actions"].directory == str(PROJECT_ROOT)


def test_deploy_units_are_the_generated_ones():
    folder = PROJECT_ROOT / "deploy" / "systemd"
    expected = units()
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)
    for name, text in expected.items():
        assert (folder / name).read_text(encoding="utf-8") == text, (
            f"{name} is stale: run `python -m bot.supervision.systemd`"
        )


def test_units_run_the_same_commands_as_make_run():
    generated = units("/srv/bot")
    for program in (RASA, ACTIONS, GATEWAY):
        unit = generated[f"contact-bot-{program.name}.service"]
        exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
        supervisord = program.supervisord_command("/srv/bot/.venv/bin")
        assert (
            exec_start.removeprefix("ExecStart=").replace("${", "%(ENV_").replace("}", ")s")
            == supervisord
        )


def test_systemd_accepts_the_units(tmp_path: Path):
    """systemd's own checker, on the units made for this checkout (its programs exist)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: scripts/setup.sh installs the systemd package"
    for name, text in units(str(PROJECT_ROOT)).items():
        (tmp_path / name).write_text(text)
    files = sorted(str(path) for path in tmp_path.iterdir())
    checked = subprocess.run([analyze, "verify", *files], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr


def test_log_lines_are_copied_with_the_servers_name(tmp_path: Path):
    rasa, actions = tmp_path / "rasa.log", tmp_path / "actions.log"
    rasa.write_text("before the start\n")  # only what is new is copied
    output = io.BytesIO()
    follower = LogFollower({"rasa": rasa, "actions": actions}, output)  # type: ignore[arg-type]
    follower.start()
    with rasa.open("a") as log:
        log.write("model loaded\nhalf a li")
    actions.write_text("action server up\n")
    time.sleep(0.5)
    with rasa.open("a") as log:
        log.write("ne\n")
    follower.stop()
    lines = output.getvalue().decode().splitlines()
    assert sorted(lines) == sorted(
        ["rasa    | model loaded", "rasa    | half a line", "actions | action server up"]
    )


@pytest.mark.parametrize("name", ["rasa", "actions", "gateway"])
def test_each_server_has_its_own_log_file(tmp_path: Path, name: str):
    layout = Layout.of(Settings.from_env({"BOT_DATA_DIR": str(tmp_path)}))
    assert layout.log(name) == tmp_path / "log" / f"{name}.log"
    assert json.loads(json.dumps(read_records(layout.state_file))) == {}


def test_a_program_started_directly_has_its_variables_filled_in():
    command = ACTIONS.argv(Path("/venv/bin"), {"BOT_ACTIONS_PORT": "5099"})
    assert command == ["/venv/bin/python", "-m", "rasa_sdk", "--actions", "actions", "-p", "5099"]


def test_rasa_accepts_a_token_that_begins_with_a_dash():
    from rasa.__main__ import create_argument_parser

    token = "-Xk3" + "a" * 28  # token_urlsafe gives one like this in 64 starts
    command = RASA.argv(
        Path("/venv/bin"),
        {
            "BOT_RASA_TOKEN": token,
            "BOT_HOST": "127.0.0.1",
            "BOT_RASA_PORT": "5005",
            "BOT_MODELS_DIR": "models",
            "BOT_ENDPOINTS": "endpoints.yml",
        },
    )
    arguments = create_argument_parser().parse_args(command[1:])
    assert arguments.auth_token == token
