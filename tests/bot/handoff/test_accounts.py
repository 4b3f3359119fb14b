"""Agent accounts: Argon2id hashes, checks on new accounts, and desk sessions."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bot.handoff.accounts import AccountError, AgentAccounts
from bot.handoff.store import GatewayStore, token_hash
from tests.helpers.gateway_fakes import FAST_HASHER

PASSWORD = "una contraseña larga"
SHIFT_S = 12 * 3600  # a desk session lasts one working shift


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GatewayStore]:
    built = GatewayStore(tmp_path / "gw.db")
    yield built
    built.close()


@pytest.fixture
def accounts(store: GatewayStore) -> AgentAccounts:
    return AgentAccounts(store, FAST_HASHER)


def stored_password_hashes(tmp_path: Path) -> list[str]:
    rows = sqlite3.connect(tmp_path / "gw.db").execute("SELECT password_hash FROM agents")
    return [row[0] for row in rows]


def test_passwords_are_stored_as_argon2id_hashes_by_default(store: GatewayStore, tmp_path: Path):
    accounts = AgentAccounts(store)  # the library's recommended parameters, as in production

    accounts.add("lucia", "Lucía", PASSWORD)

    (stored,) = stored_password_hashes(tmp_path)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert accounts.verify("lucia", PASSWORD) is not None


def test_add_normalises_the_username_and_keeps_role_and_departments(accounts: AgentAccounts):
    agent = accounts.add("  Lucia.Perez ", "Lucía", PASSWORD, "supervisor", ["sales"])

    assert agent.username == "lucia.perez"
    assert agent.name == "Lucía" and agent.role == "supervisor" and agent.is_supervisor
    assert agent.departments == ("sales",)
    assert accounts.has_any()


def test_a_blank_name_falls_back_to_the_username(accounts: AgentAccounts):
    assert accounts.add("marta", "   ", PASSWORD).name == "marta"


@pytest.mark.parametrize("username", ["", "lucía pérez", "lucia;drop", "../admin"])
def test_usernames_with_other_characters_are_refused(accounts: AgentAccounts, username: str):
    with pytest.raises(AccountError, match="letras, números"):
        accounts.add(username, "X", PASSWORD)


def test_a_short_password_is_refused_in_spanish(accounts: AgentAccounts):
    with pytest.raises(AccountError, match="al menos 10 caracteres"):
        accounts.add("lucia", "Lucía", "corta")
    assert not accounts.has_any()


def test_an_unknown_role_is_refused(accounts: AgentAccounts):
    with pytest.raises(AccountError, match="role"):
        accounts.add("lucia", "Lucía", PASSWORD, role="admin")


def test_a_taken_username_is_refused_whatever_its_case(accounts: AgentAccounts):
    accounts.add("lucia", "Lucía", PASSWORD)

    with pytest.raises(AccountError, match="taken"):
        accounts.add("LUCIA", "Otra", PASSWORD)


def test_verify_accepts_only_the_right_password(accounts: AgentAccounts):
    created = accounts.add("lucia", "Lucía", PASSWORD)

    assert accounts.verify(" LUCIA ", PASSWORD) == created
    assert accounts.verify("lucia", PASSWORD + "x") is None
    assert accounts.verify("nobody", PASSWORD) is None


def test_an_outdated_hash_is_upgraded_at_the_next_login(store: GatewayStore, tmp_path: Path):
    AgentAccounts(store, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)).add(
        "lucia", "Lucía", PASSWORD
    )
    (old,) = stored_password_hashes(tmp_path)
    stronger = AgentAccounts(store, PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))

    assert stronger.verify("lucia", PASSWORD) is not None

    (new,) = stored_password_hashes(tmp_path)
    assert new != old and "m=2048,t=2" in new
    assert stronger.verify("lucia", PASSWORD) is not None


def test_a_session_lasts_one_shift(
    accounts: AgentAccounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    agent = accounts.add("lucia", "Lucía", PASSWORD)
    start = time.time()
    monkeypatch.setattr(time, "time", lambda: start)

    token = accounts.open_session(agent)

    stored = [r[0] for r in sqlite3.connect(tmp_path / "gw.db").execute("SELECT * FROM sessions")]
    assert stored == [token_hash(token)]
    assert accounts.session_agent(token) == agent
    monkeypatch.setattr(time, "time", lambda: start + SHIFT_S - 1)
    assert accounts.session_agent(token) == agent
    monkeypatch.setattr(time, "time", lambda: start + SHIFT_S + 1)
    assert accounts.session_agent(token) is None


def test_closing_a_session_logs_out(accounts: AgentAccounts):
    agent = accounts.add("lucia", "Lucía", PASSWORD)
    token = accounts.open_session(agent)

    accounts.close_session(token)

    assert accounts.session_agent(token) is None
    assert accounts.session_agent(None) is None
    assert accounts.session_agent("made-up") is None
