"""Settings of the gateway process, read once from the environment."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def models_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where trained and speech models live (BOT_MODELS_DIR, default models/)."""
    env = os.environ if environ is None else environ
    return Path(env.get("BOT_MODELS_DIR", PROJECT_ROOT / "models"))


@contextlib.contextmanager
def variables_set(overrides: Mapping[str, str]) -> Iterator[None]:
    """These environment variables while inside (servers started then inherit them), the
    earlier values back after: the cluster, the benchmarks and the tests start systems so."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class SettingsError(ValueError):
    """A setting is malformed; the message says which and how to fix it."""


DATABASE_SCHEMES = ("postgresql://", "postgresql+psycopg2://", "sqlite:///")


def check_database_url(url: str) -> str:
    """`url` when it names a database the system runs on; else a SettingsError saying so."""
    if not url.startswith(DATABASE_SCHEMES):
        shown = url.split("://")[0] + "://…" if "://" in url else repr(url[:40])
        raise SettingsError(
            f"BOT_DATABASE_URL {shown} is not a database the system runs on; use "
            "postgresql://USER:PASSWORD@HOST:5432/DATABASE (or leave it unset for SQLite)"
        )
    return url


def tracker_url(data_dir: Path, database_url: str | None) -> str:
    """Rasa's tracker store: the shared database, or its own SQLite file by default."""
    return database_url or f"sqlite:///{data_dir / 'conversations.db'}"


@dataclass(frozen=True)
class Settings:
    """Where the servers listen and where outputs go.

    Attributes:
        rasa_port / actions_port: local ports of the Rasa server and the action server.
        data_dir: databases and logs (git-ignored).
        models_dir: trained Rasa models.
        reply_timeout: seconds to wait for the assistant's answer to one message; slower is a
            fault (the apology and a person), so a stalled Rasa server never leaves anyone waiting.
        rasa_token: guards the Rasa server's HTTP API (conversations hold personal data);
            BOT_RASA_TOKEN, or a fresh random one for each start.
        rasa_servers: Rasa server processes (1 or 2, BOT_RASA_SERVERS); the second listens on
            rasa_port + 1. One process answers on one core; the gateway sends each conversation
            always to the same one, so they share the SQL tracker store and need no lock store.
        database_url: BOT_DATABASE_URL, one PostgreSQL database for every store (the gateway's,
            the action server's, Rasa's tracker store); None keeps the embedded SQLite files
            under data_dir.
        redis_url: BOT_REDIS_URL, set when the work is shared by several instances: the Rasa
            servers then lock each conversation in Redis (endpoints.cluster.yml), so any of
            them may serve it.
    """

    host: str
    rasa_port: int
    actions_port: int
    data_dir: Path
    models_dir: Path
    reply_timeout: float
    rasa_token: str
    rasa_servers: int = 1
    database_url: str | None = None
    redis_url: str | None = None

    def __post_init__(self) -> None:
        if self.rasa_servers not in (1, 2):
            raise SettingsError(
                "BOT_RASA_SERVERS must be 1 or 2 (more needs more cores and PostgreSQL)"
            )
        if self.database_url is not None:
            check_database_url(self.database_url)

    @property
    def endpoints(self) -> str:
        """The Rasa servers' endpoints file: with Redis, the one with Redis's lock store."""
        return "endpoints.cluster.yml" if self.redis_url else "endpoints.yml"

    def lock_store_environment(self) -> dict[str, str]:
        """Where endpoints.cluster.yml finds Redis (Rasa wants host and port apart)."""
        if not self.redis_url:
            return {}
        url = urlsplit(self.redis_url)
        return {
            "BOT_REDIS_HOST": url.hostname or "127.0.0.1",
            "BOT_REDIS_PORT": str(url.port or 6379),
        }

    @property
    def tracker_url(self) -> str:
        """Where Rasa's SQL tracker store keeps the conversations (endpoints.yml)."""
        return tracker_url(self.data_dir, self.database_url)

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_urls(self) -> list[str]:
        return [f"http://{self.host}:{self.rasa_port + i}" for i in range(self.rasa_servers)]

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
                models_dir=models_dir(env),
                reply_timeout=float(env.get("BOT_REPLY_TIMEOUT", "4")),
                rasa_token=env.get("BOT_RASA_TOKEN") or secrets.token_urlsafe(24),
                rasa_servers=int(env.get("BOT_RASA_SERVERS", "1")),
                database_url=env.get("BOT_DATABASE_URL") or None,
                redis_url=env.get("BOT_REDIS_URL") or None,
            )
        except ValueError as error:
            raise SettingsError(f"BOT_* setting malformed: {error}") from error


DEFAULT_VOSK_MODEL = "vosk-model-small-es-0.42"
DEFAULT_WHISPER_MODEL = "whisper-base"  # the embedded copy the set-up installs under models/
STT_ENGINES = ("auto", "vosk", "whisper")
TTS_ENGINES = ("pico", "pyttsx3")


@dataclass(frozen=True)
class VoiceSettings:
    """How calls listen and speak.

    Attributes:
        stt_engine: the recogniser (BOT_STT_ENGINE): "vosk", "whisper", or "auto" (a Vosk
            model when one is installed, else Whisper).
        vosk_model: directory of the Vosk model (BOT_VOSK_MODEL; by default the Spanish small
            model that `make models` unpacks under models/).
        whisper_model: directory of a CTranslate2 Whisper conversion (BOT_WHISPER_MODEL; by
            default the embedded base model the set-up installs under models/).
        whisper_beam: beam size of Whisper's decoding (BOT_WHISPER_BEAM; 1 is greedy).
        whisper_threads: CPU threads of one Whisper decode (BOT_WHISPER_THREADS; 0: all cores).
        whisper_window_s: shortest audio window Whisper's encoder sees (BOT_WHISPER_WINDOW_S);
            a turn is padded to it, longer turns to their own length plus a margin, turns over
            30 s use Whisper's standard windows. Shorter is faster; too short invents words.
        vad_aggressiveness: webrtcvad's 0 (lets most sound through) to 3 (strictest).
        frame_ms: audio frame length for the VAD: 10, 20 or 30 ms.
        speech_start_ms: voiced audio needed before a sound counts as speech; shorter noise
            bursts are ignored and never interrupt the bot.
        end_silence_ms: trailing silence that ends a caller's turn.
        early_end_silence_ms: shorter silence that ends the turn when the recognizer's words
            are clearly complete.
        backchannel_max_ms: longest utterance that can be a backchannel ("sí", "vale").
        reprompt_after_s: caller silence before "¿Sigue en la línea?"; a second one ends the call.
        tts_engine: the bot's voice (BOT_TTS_ENGINE): "pico" (SVOX Pico, natural es-ES) or
            "pyttsx3" (espeak-ng here; the system's own Spanish voices on Windows and macOS).
        tts_voice: pyttsx3's voice ("es" Spain, "es-419" Latin America; BOT_TTS_VOICE).
        tts_speed: speaking rate, 1.0 the voice's normal pace (BOT_TTS_SPEED, 0.5-2.0).
        tts_pitch: pitch, 1.0 the voice's own (BOT_TTS_PITCH, 0.5-2.0).
        prompts_dir: pre-rendered fixed prompts (cache, git-ignored).
    """

    vosk_model: Path
    stt_engine: str = "auto"
    whisper_model: Path = PROJECT_ROOT / "models" / DEFAULT_WHISPER_MODEL
    whisper_beam: int = 5
    whisper_threads: int = 0
    whisper_window_s: float = 8.0
    vad_aggressiveness: int = 2
    frame_ms: int = 20
    speech_start_ms: int = 80
    end_silence_ms: int = 500
    early_end_silence_ms: int = 250
    backchannel_max_ms: int = 700
    reprompt_after_s: float = 8.0
    tts_engine: str = "pico"
    tts_voice: str = "es"
    tts_speed: float = 1.0
    tts_pitch: float = 1.0
    prompts_dir: Path = PROJECT_ROOT / "audio" / "prompts"

    def __post_init__(self) -> None:
        if self.frame_ms not in (10, 20, 30):
            raise SettingsError("BOT_VAD_FRAME_MS must be 10, 20 or 30 (webrtcvad's frame sizes)")
        if not 0 <= self.vad_aggressiveness <= 3:
            raise SettingsError("BOT_VAD_AGGRESSIVENESS must be 0, 1, 2 or 3")
        if not 0 < self.early_end_silence_ms <= self.end_silence_ms:
            raise SettingsError(
                "BOT_VAD_EARLY_END_SILENCE_MS must be positive and at most BOT_VAD_END_SILENCE_MS"
            )
        if self.reprompt_after_s <= 0:
            raise SettingsError("BOT_REPROMPT_AFTER_S must be positive")
        if self.stt_engine not in STT_ENGINES:
            raise SettingsError(f"BOT_STT_ENGINE must be one of {', '.join(STT_ENGINES)}")
        if self.tts_engine not in TTS_ENGINES:
            raise SettingsError(f"BOT_TTS_ENGINE must be one of {', '.join(TTS_ENGINES)}")
        if not (0.5 <= self.tts_speed <= 2.0 and 0.5 <= self.tts_pitch <= 2.0):
            raise SettingsError("BOT_TTS_SPEED and BOT_TTS_PITCH must be between 0.5 and 2.0")
        if not 1 <= self.whisper_beam <= 10 or self.whisper_threads < 0:
            raise SettingsError("BOT_WHISPER_BEAM must be 1-10 and BOT_WHISPER_THREADS >= 0")
        if not 1.0 <= self.whisper_window_s <= 30.0:
            raise SettingsError("BOT_WHISPER_WINDOW_S must be between 1 and 30 seconds")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> VoiceSettings:
        env = os.environ if environ is None else environ
        models = models_dir(env)
        try:
            return cls(
                vosk_model=Path(env.get("BOT_VOSK_MODEL", models / DEFAULT_VOSK_MODEL)),
                stt_engine=env.get("BOT_STT_ENGINE", "auto").strip().lower(),
                whisper_model=Path(env.get("BOT_WHISPER_MODEL", models / DEFAULT_WHISPER_MODEL)),
                whisper_beam=int(env.get("BOT_WHISPER_BEAM", "5")),
                whisper_threads=int(env.get("BOT_WHISPER_THREADS", "0")),
                whisper_window_s=float(env.get("BOT_WHISPER_WINDOW_S", "8")),
                vad_aggressiveness=int(env.get("BOT_VAD_AGGRESSIVENESS", "2")),
                frame_ms=int(env.get("BOT_VAD_FRAME_MS", "20")),
                speech_start_ms=int(env.get("BOT_VAD_SPEECH_START_MS", "80")),
                end_silence_ms=int(env.get("BOT_VAD_END_SILENCE_MS", "500")),
                early_end_silence_ms=int(env.get("BOT_VAD_EARLY_END_SILENCE_MS", "250")),
                backchannel_max_ms=int(env.get("BOT_BACKCHANNEL_MAX_MS", "700")),
                reprompt_after_s=float(env.get("BOT_REPROMPT_AFTER_S", "8")),
                tts_engine=env.get("BOT_TTS_ENGINE", "pico").strip().lower(),
                tts_voice=env.get("BOT_TTS_VOICE", "es"),
                tts_speed=float(env.get("BOT_TTS_SPEED", "1.0")),
                tts_pitch=float(env.get("BOT_TTS_PITCH", "1.0")),
                prompts_dir=Path(env.get("BOT_PROMPTS_DIR", PROJECT_ROOT / "audio" / "prompts")),
            )
        except ValueError as error:
            raise SettingsError(f"BOT_* voice setting malformed: {error}") from error


@dataclass(frozen=True)
class TelephonySettings:
    """Phone lines into the gateway (README, "Phone calls").

    Attributes:
        public_url: the gateway's address as Twilio reaches it (BOT_PUBLIC_URL, https://…);
            the stream URL in the TwiML and the signature check use it. Unset: the request's
            own host (fine behind a proxy that keeps the Host header).
        twilio_auth_token: checks that webhooks come from Twilio (X-Twilio-Signature) and
            authorises transfers (BOT_TWILIO_AUTH_TOKEN). Unset: unsigned webhooks are accepted
            (a warning is logged): only for a gateway that Twilio alone can reach.
        twilio_transfer_to: a number (+34…) or SIP address (sip:…) that takes handed-off phone
            calls through Twilio's call-update API, instead of the agent desk's queue
            (BOT_TWILIO_TRANSFER_TO).
        twilio_api_url: Twilio's REST API (BOT_TWILIO_API_URL; tests point it at a local peer).
        audiosocket_port: where Asterisk's AudioSocket() connects (BOT_AUDIOSOCKET_PORT; 0: off).
        asterisk_transfer_to: what the dialplan does with a handed-off call, read back with
            CURL after AudioSocket() returns (BOT_ASTERISK_TRANSFER_TO, e.g. the queue "soporte";
            unset: calls wait in the agent desk's queue).
        keypad_pause_s: keypad silence that ends an entry of digits.
    """

    public_url: str = ""
    twilio_auth_token: str = ""
    twilio_transfer_to: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    audiosocket_port: int = 9092
    asterisk_transfer_to: str = ""
    keypad_pause_s: float = 2.0

    @classmethod
    def from_env(cls, env: os._Environ[str] | dict[str, str]) -> TelephonySettings:
        settings = cls(
            public_url=env.get("BOT_PUBLIC_URL", "").rstrip("/"),
            twilio_auth_token=env.get("BOT_TWILIO_AUTH_TOKEN", ""),
            twilio_transfer_to=env.get("BOT_TWILIO_TRANSFER_TO", "").strip(),
            twilio_api_url=env.get("BOT_TWILIO_API_URL", cls.twilio_api_url).rstrip("/"),
            audiosocket_port=int(env.get("BOT_AUDIOSOCKET_PORT", "9092")),
            asterisk_transfer_to=env.get("BOT_ASTERISK_TRANSFER_TO", "").strip(),
            keypad_pause_s=float(env.get("BOT_KEYPAD_PAUSE_S", "2")),
        )
        if settings.public_url and not settings.public_url.startswith(("https://", "http://")):
            raise SettingsError("BOT_PUBLIC_URL must start with https:// (or http:// in tests)")
        if settings.twilio_transfer_to and not settings.twilio_auth_token:
            raise SettingsError("BOT_TWILIO_TRANSFER_TO needs BOT_TWILIO_AUTH_TOKEN (Twilio's API)")
        if not 0 <= settings.audiosocket_port <= 65535 or settings.keypad_pause_s <= 0:
            raise SettingsError("BOT_AUDIOSOCKET_PORT or BOT_KEYPAD_PAUSE_S out of range")
        return settings


@dataclass(frozen=True)
class GatewaySettings:
    """The contact-centre gateway (`python -m bot serve`).

    Attributes:
        port: where the gateway's pages and API listen (BOT_GATEWAY_PORT).
        database: the gateway's database (conversations, queue, callbacks, agents, inbox): a
            SQLite file (BOT_GATEWAY_DB, default data_dir/gateway.db) or BOT_DATABASE_URL.
        business_dir: the operator's business data (department names, default queue).
        callback_offer_minutes: expected waits longer than this offer a callback.
        default_handle_minutes: handling time assumed for wait estimates until measured.
        hold_prompt_s: how often a caller on hold hears where they are in the queue.
        supervisor_username / supervisor_password: the first account, created on first start
            when there is none (BOT_SUPERVISOR_PASSWORD; a random one is printed if unset).
        messages_per_minute: per conversation; faster customers get a polite notice.
        max_calls: browser calls at once (each holds a recogniser and a synthesiser); more
            callers are told the lines are busy.
        call_script: test-only scripted recogniser for browser calls (one line per caller turn;
            BOT_CALL_SCRIPT), used where no Spanish Vosk model can be installed.
        call_script_with_vosk: benchmarks only: scripted calls also decode their audio with the
            Vosk model (BOT_CALL_SCRIPT_WITH_VOSK=1), so they cost what real calls cost.
        project_dir: the Rasa project that trainers edit and train (BOT_PROJECT_DIR).
        inbox_confidence: customer turns understood with less confidence go to the trainers'
            inbox (BOT_INBOX_CONFIDENCE, 0..1).
        telephony: phone lines (Twilio, Asterisk); see TelephonySettings.
        redis_url: BOT_REDIS_URL, set when several gateways share the work: live events cross
            between them and rate limits and login throttling count for all of them.
        gateway_id: this gateway among those sharing a database (BOT_GATEWAY_ID, default
            host:port); the calls it started are its own to close when it restarts.
        starts_per_minute: new conversations one address may start in a minute.
        trusted_proxies: the load balancers in front (BOT_TRUSTED_PROXIES, addresses separated
            by commas): a request from one of them is counted as from the address it forwards
            (X-Forwarded-For), not as from the balancer.
    """

    port: int = 8000
    database: Path | str = PROJECT_ROOT / "var" / "gateway.db"
    business_dir: Path = PROJECT_ROOT / "data" / "business"
    callback_offer_minutes: int = 5
    default_handle_minutes: float = 4.0
    hold_prompt_s: float = 30.0
    supervisor_username: str = "supervisor"
    supervisor_password: str = ""
    messages_per_minute: int = 30
    max_calls: int = 20
    call_script: Path | None = None
    call_script_with_vosk: bool = False
    project_dir: Path = PROJECT_ROOT
    inbox_confidence: float = 0.6
    telephony: TelephonySettings = TelephonySettings()
    redis_url: str | None = None
    gateway_id: str = "gateway"
    starts_per_minute: int = 30
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> GatewaySettings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("BOT_DATA_DIR", PROJECT_ROOT / "var"))
        try:
            settings = cls(
                port=int(env.get("BOT_GATEWAY_PORT", "8000")),
                database=_gateway_database(env, data_dir),
                business_dir=Path(env.get("ACTIONS_BUSINESS_DIR", cls.business_dir)),
                callback_offer_minutes=int(env.get("BOT_CALLBACK_OFFER_MINUTES", "5")),
                default_handle_minutes=float(env.get("BOT_DEFAULT_HANDLE_MINUTES", "4")),
                hold_prompt_s=float(env.get("BOT_HOLD_PROMPT_S", "30")),
                supervisor_username=env.get("BOT_SUPERVISOR_USERNAME", "supervisor"),
                supervisor_password=env.get("BOT_SUPERVISOR_PASSWORD", ""),
                messages_per_minute=int(env.get("BOT_MESSAGES_PER_MINUTE", "30")),
                max_calls=int(env.get("BOT_MAX_CALLS", "20")),
                call_script=Path(env["BOT_CALL_SCRIPT"]) if env.get("BOT_CALL_SCRIPT") else None,
                call_script_with_vosk=env.get("BOT_CALL_SCRIPT_WITH_VOSK", "") == "1",
                project_dir=Path(env.get("BOT_PROJECT_DIR", PROJECT_ROOT)),
                inbox_confidence=float(env.get("BOT_INBOX_CONFIDENCE", "0.6")),
                telephony=TelephonySettings.from_env(env),
                redis_url=env.get("BOT_REDIS_URL") or None,
                gateway_id=env.get("BOT_GATEWAY_ID")
                or f"{socket.gethostname()}:{env.get('BOT_GATEWAY_PORT', '8000')}",
                starts_per_minute=int(env.get("BOT_STARTS_PER_MINUTE", "30")),
                trusted_proxies=tuple(
                    part.strip()
                    for part in env.get("BOT_TRUSTED_PROXIES", "").split(",")
                    if part.strip()
                ),
            )
        except ValueError as error:
            raise SettingsError(f"BOT_* gateway setting malformed: {error}") from error
        if 0 < len(settings.supervisor_password) < 10:
            raise SettingsError("BOT_SUPERVISOR_PASSWORD needs at least 10 characters")
        if not 0 <= settings.inbox_confidence <= 1:
            raise SettingsError("BOT_INBOX_CONFIDENCE must be between 0 and 1")
        if not (settings.project_dir / "config.yml").is_file():
            raise SettingsError(f"BOT_PROJECT_DIR has no config.yml: {settings.project_dir}")
        if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://")):
            raise SettingsError("BOT_REDIS_URL must look like redis://HOST:6379/0")
        if settings.default_handle_minutes <= 0 or settings.hold_prompt_s <= 0:
            raise SettingsError("BOT_DEFAULT_HANDLE_MINUTES and BOT_HOLD_PROMPT_S must be positive")
        return settings


def _gateway_database(env: Mapping[str, str], data_dir: Path) -> Path | str:
    if env.get("BOT_GATEWAY_DB"):
        return Path(env["BOT_GATEWAY_DB"])
    if env.get("BOT_DATABASE_URL"):
        return check_database_url(env["BOT_DATABASE_URL"])
    return data_dir / "gateway.db"
