"""Settings of the gateway process, read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(ValueError):
    """A setting is malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Settings:
    """Where the servers listen and where outputs go.

    Attributes:
        rasa_port / actions_port: local ports of the Rasa server and the action server.
        data_dir: databases and logs (git-ignored).
        models_dir: trained Rasa models.
        reply_timeout: seconds to wait for the assistant's answer to one message.
        rasa_token: guards the Rasa server's HTTP API (conversations hold personal data);
            BOT_RASA_TOKEN, or a fresh random one for each start.
    """

    host: str
    rasa_port: int
    actions_port: int
    data_dir: Path
    models_dir: Path
    reply_timeout: float
    rasa_token: str

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        try:
            return cls(
                host=env.get("BOT_HOST", "127.0.0.1"),
                rasa_port=int(env.get("BOT_RASA_PORT", "5005")),
                actions_port=int(env.get("BOT_ACTIONS_PORT", "5055")),
                data_dir=Path(env.get("BOT_DATA_DIR", PROJECT_ROOT / "var")),
                models_dir=Path(env.get("BOT_MODELS_DIR", PROJECT_ROOT / "models")),
                reply_timeout=float(env.get("BOT_REPLY_TIMEOUT", "15")),
                rasa_token=env.get("BOT_RASA_TOKEN") or secrets.token_urlsafe(24),
            )
        except ValueError as error:
            raise SettingsError(f"BOT_* setting malformed: {error}") from error
