"""Agent accounts and desk sessions: Argon2id password hashes, random session tokens."""

from __future__ import annotations

import secrets
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.db import IntegrityError
from bot.handoff.models import Agent
from bot.handoff.store import GatewayStore
from bot.settings import GatewaySettings

SESSION_HOURS = 12  # one working shift; then the agent logs in again
ROLES = ("agent", "supervisor", "trainer")
MIN_PASSWORD_CHARS = 10


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why (for the operator)."""


class AgentAccounts:
    """Creates agents, checks passwords and keeps desk sessions.

    Args:
        store: the gateway's database.
        hasher: Argon2id with the library's recommended parameters (RFC 9106 low-memory).
    """

    def __init__(self, store: GatewayStore, hasher: PasswordHasher | None = None) -> None:
        self._store = store
        self._hasher = hasher or PasswordHasher()
        # verifying an unknown user costs the same as a known one: no user enumeration by timing
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    def add(
        self,
        username: str,
        name: str,
        password: str,
        role: str = "agent",
        departments: list[str] | None = None,
    ) -> Agent:
        username = username.strip().lower()
        if not username or not username.replace(".", "").replace("_", "").isalnum():
            raise AccountError(
                "El usuario solo puede tener letras, números, puntos y guiones bajos."
            )
        if role not in ROLES:
            raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
        if len(password) < MIN_PASSWORD_CHARS:
            raise AccountError(
                f"La contraseña debe tener al menos {MIN_PASSWORD_CHARS} caracteres."
            )
        try:
            return self._store.add_agent(
                username,
                name.strip() or username,
                role,
                departments or [],
                self._hasher.hash(password),
            )
        except IntegrityError as error:
            raise AccountError(f"The username '{username}' is taken.") from error

    def has_any(self) -> bool:
        return bool(self._store.agents())

    def verify(self, username: str, password: str) -> Agent | None:
        """The agent when the password is right, else None (same cost either way)."""
        found = self._store.agent_with_hash(username.strip().lower())
        try:
            self._hasher.verify(found[1] if found else self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        if found is None:
            return None
        agent, stored = found
        if self._hasher.check_needs_rehash(stored):
            self._store.set_password_hash(agent.id, self._hasher.hash(password))
        return agent

    def open_session(self, agent: Agent) -> str:
        token = secrets.token_urlsafe(32)
        self._store.add_session(token, agent.id, time.time() + SESSION_HOURS * 3600)
        return token

    def session_agent(self, token: str | None) -> Agent | None:
        return self._store.session_agent(token) if token else None

    def close_session(self, token: str) -> None:
        self._store.delete_session(token)


def ensure_supervisor(settings: GatewaySettings) -> str | None:
    """Creates the first supervisor on first start; returns its password when generated."""
    store = GatewayStore(settings.database)
    try:
        accounts = AgentAccounts(store)
        if accounts.has_any():
            return None
        password = settings.supervisor_password or secrets.token_urlsafe(12)
        try:
            accounts.add(settings.supervisor_username, "Supervisión", password, "supervisor")
        except AccountError:
            return None  # another gateway sharing the database made it a moment ago
        return None if settings.supervisor_password else password
    finally:
        store.close()
