"""`python -m bot agents add|list`: desk accounts from the command line."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.handoff.accounts import AgentAccounts
from tests.helpers.gateway_fakes import FAST_HASHER

PASSWORD = "una contraseña larga"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "gw.db"
    monkeypatch.setenv("BOT_GATEWAY_DB", str(path))
    # still Argon2id, only cheaper; test_accounts covers the production parameters
    monkeypatch.setattr(
        "bot.cli.agents.AgentAccounts", lambda store: AgentAccounts(store, FAST_HASHER)
    )
    return path


def agents_command(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["agents", *args])


def accounts(database: Path) -> list[tuple[str, str, str, str, str]]:
    rows = sqlite3.connect(database).execute(
        "SELECT username, name, role, departments, password_hash FROM agents ORDER BY username"
    )
    return list(rows)


def test_add_with_the_password_on_stdin(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    done = agents_command(
        monkeypatch,
        "add",
        "Lucia",
        "--name",
        "Lucía",
        "--departments",
        "sales, complaints",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )

    assert done == 0
    assert "Created agent 'lucia' (Lucía)." in capsys.readouterr().out
    ((username, name, role, departments, password_hash),) = accounts(database)
    assert (username, name, role) == ("lucia", "Lucía", "agent")
    assert departments == '["sales", "complaints"]'
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash


def test_add_a_supervisor(database: Path, monkeypatch: pytest.MonkeyPatch):
    done = agents_command(
        monkeypatch, "add", "sara", "--supervisor", "--password-stdin", stdin=PASSWORD + "\n"
    )

    assert done == 0
    assert accounts(database)[0][2] == "supervisor"


def test_list_shows_accounts_and_what_they_serve(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    agents_command(monkeypatch, "add", "lucia", "--name", "Lucía", "--password-stdin",
                   stdin=PASSWORD)  # fmt: skip
    agents_command(monkeypatch, "add", "pablo", "--departments", "sales", "--password-stdin",
                   stdin=PASSWORD)  # fmt: skip
    capsys.readouterr()

    assert agents_command(monkeypatch, "list") == 0

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].split() == ["lucia", "agent", "Lucía", "(all", "departments)"]
    assert lines[1].split() == ["pablo", "agent", "pablo", "(sales)"]
    assert PASSWORD not in "\n".join(lines)


def test_a_weak_password_is_refused(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    done = agents_command(monkeypatch, "add", "lucia", "--password-stdin", stdin="corta\n")

    assert done == 2
    assert "al menos 10 caracteres" in capsys.readouterr().err
    assert accounts(database) == []


def test_a_duplicate_username_is_refused(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    agents_command(monkeypatch, "add", "lucia", "--password-stdin", stdin=PASSWORD)

    done = agents_command(monkeypatch, "add", "LUCIA", "--password-stdin", stdin=PASSWORD)

    assert done == 2
    assert "taken" in capsys.readouterr().err
    assert len(accounts(database)) == 1


def test_an_unknown_department_is_refused_before_the_password_is_read(
    database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    done = agents_command(
        monkeypatch,
        "add",
        "lucia",
        "--departments",
        "sales,marketing",
        "--password-stdin",
        stdin=PASSWORD,
    )

    assert done == 2
    error = capsys.readouterr().err
    assert "Unknown departments ['marketing']" in error and "sales" in error
    assert accounts(database) == []
