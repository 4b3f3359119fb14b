"""What every HTTP handler of the gateway shares, built once per process: the stores, the
assistant, the hub, the queue and router, accounts, limits, voice settings and the trainer's
service. Handlers reach it as `request.app[GATEWAY]`."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import redis
from aiohttp import web
from argon2 import PasswordHasher

from bot.assistant.client import AssistantClient
from bot.db import open_database
from bot.edge.call_directory import CallDirectory
from bot.edge.limits import Limiter, RateLimiter, SharedRateLimiter
from bot.edge.presence import SharedPresence
from bot.edge.relay import RedisRelay
from bot.edge.voice_bridge import VoiceBridge
from bot.handoff.accounts import AgentAccounts
from bot.handoff.departments import Departments, load_departments
from bot.handoff.hub import EventHub
from bot.handoff.queue import HandoffQueue, Presence
from bot.handoff.router import ConversationRouter
from bot.handoff.store import GatewayStore
from bot.nlu.data import NluData
from bot.settings import GatewaySettings, Settings, VoiceSettings
from bot.training.inbox import Inbox
from bot.training.job import TrainingPaths, TrainingService
from bot.training.store import TrainerStore


class LiveCall(Protocol):
    """What the agent desk needs of a call in progress (the channels' `GatewayCall`)."""

    agent_listeners: set[web.WebSocketResponse]  # agents' sockets hearing the caller

    @property
    def agent_may_talk(self) -> bool:
        """Whether an agent has the call now (not after a hand-back or close)."""

    def agent_says(self, pcm: bytes) -> None:
        """The agent's voice, straight to the caller."""


@dataclass
class Gateway:
    """What every handler needs, built once per process."""

    settings: Settings
    gateway_settings: GatewaySettings
    store: GatewayStore
    assistant: AssistantClient
    hub: EventHub
    presence: Presence
    queue: HandoffQueue
    router: ConversationRouter
    accounts: AgentAccounts
    departments: Departments
    message_limits: Limiter
    start_limits: Limiter
    login_limits: Limiter
    login_address_limits: Limiter
    typing_limits: Limiter
    voice: VoiceSettings
    trainer_store: TrainerStore
    trainer: TrainingService
    nlu_data: NluData
    # Argon2 checks are slow on purpose: one thread of their own, so a flood of logins never
    # takes the threads that calls and DNS lookups need
    password_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="passwords")
    )
    # calls in progress (browser or phone) by conversation id (None: being set up)
    calls: dict[str, LiveCall | None] = field(default_factory=dict)
    # Asterisk calls' numbers and transfers, by call UUID
    phone_calls: CallDirectory = field(default_factory=CallDirectory)
    # live events to and from the other gateways (BOT_REDIS_URL); None on a single gateway
    relay: RedisRelay | None = None
    # call audio to and from agents on other gateways (BOT_REDIS_URL); None on a single gateway
    voice_bridge: VoiceBridge | None = None


GATEWAY = web.AppKey("gateway", Gateway)


def build_gateway(
    settings: Settings,
    gateway_settings: GatewaySettings,
    voice: VoiceSettings,
    assistant: AssistantClient | None = None,
    departments: Departments | None = None,
    hasher: PasswordHasher | None = None,
) -> Gateway:
    """Everything the gateway shares; tests pass a fake assistant, their own departments, a
    cheap password hasher."""
    database = open_database(gateway_settings.database)
    store = GatewayStore(database)
    assistant = assistant or AssistantClient.from_settings(settings)
    redis_client = _redis(gateway_settings.redis_url)
    hub = EventHub()
    presence = SharedPresence(redis_client) if redis_client else Presence()
    limit = _limits(redis_client)
    departments = departments or load_departments(gateway_settings.business_dir)
    queue = HandoffQueue(store, presence, gateway_settings.default_handle_minutes * 60)
    trainer_store = TrainerStore(database)
    inbox = Inbox(
        trainer_store,
        gateway_settings.inbox_confidence,
        lambda conversation_id: [
            m.text for m in store.messages(conversation_id) if m.author == "customer"
        ],
    )
    router = ConversationRouter(
        store, assistant, hub, queue, presence, departments, gateway_settings, inbox
    )
    project = gateway_settings.project_dir
    paths = TrainingPaths(
        project=project,
        models=settings.models_dir,
        work=settings.data_dir / "training",
        held_out=project / "tests" / "nlu" / "holdout.yml",
        conversations=project / "tests" / "conversations",
    )
    gateway = Gateway(
        settings=settings,
        gateway_settings=gateway_settings,
        store=store,
        assistant=assistant,
        hub=hub,
        presence=presence,
        queue=queue,
        router=router,
        accounts=AgentAccounts(store, hasher),
        departments=departments,
        message_limits=limit("messages", gateway_settings.messages_per_minute, 60),
        start_limits=limit("starts", gateway_settings.starts_per_minute, 60),
        login_limits=limit("logins", 10, 300),
        login_address_limits=limit("login_addresses", 30, 300),
        typing_limits=RateLimiter(1, 1),
        voice=voice,
        trainer_store=trainer_store,
        trainer=TrainingService(trainer_store, paths, settings.rasa_urls, settings.rasa_token),
        nlu_data=NluData(project),
    )
    if gateway_settings.redis_url:
        gateway.relay = hub.relay = RedisRelay(
            gateway_settings.redis_url, on_event=hub.deliver, on_resumed=router.resync_here
        )
        gateway.voice_bridge = VoiceBridge(gateway_settings.redis_url)
    return gateway


def _redis(url: str | None) -> redis.Redis | None:
    """A client for what is shared in real time; short timeouts, since it is asked on the event
    loop (a Redis that fails is left alone for a while by its users)."""
    if not url:
        return None
    return redis.Redis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.3)


def _limits(client: redis.Redis | None) -> Callable[[str, int, float], Limiter]:
    """Rate limits of this gateway alone, or shared by every gateway through Redis."""
    if client is None:
        return lambda _name, limit, window_s: RateLimiter(limit, window_s)
    return lambda name, limit, window_s: SharedRateLimiter(client, name, limit, window_s)
