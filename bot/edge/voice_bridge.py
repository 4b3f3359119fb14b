"""The voices of a call whose agent is on another gateway (BOT_REDIS_URL).

A call's audio stays on the gateway that holds the caller's line; the load balancer may put
the agent's desk on another one. Then the two gateways pass the audio over Redis pub/sub, one
channel per call and direction:

- `contact-bot:voice:<conversation>:caller`: the caller's voice, from the call's gateway;
- `contact-bot:voice:<conversation>:agent`: the agent's voice, from the desk's gateway.

Audio is live: a frame that cannot be published at once is dropped, never queued behind a slow
Redis (a late word is worse than a lost 20 ms). Each listening side has its own connection, so
a call's audio never waits behind another call's.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot import metrics

logger = logging.getLogger(__name__)

RECONNECT_S = 0.5  # a listener that lost Redis tries again this soon
MAX_PENDING_FRAMES = 25  # half a second of 20 ms frames waiting to be published; beyond, dropped


class Voice(enum.Enum):
    """Whose voice a channel carries."""

    CALLER = "caller"
    AGENT = "agent"


def channel(conversation_id: str, voice: Voice) -> str:
    return f"contact-bot:voice:{conversation_id}:{voice.value}"


class VoiceBridge:
    """Publishes and receives call audio between gateways.

    Args:
        url: redis://host:port/db, the Redis every gateway shares.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._publisher = aioredis.from_url(url, socket_connect_timeout=1, socket_timeout=1)

    def sender(self, conversation_id: str, voice: Voice) -> VoiceSender:
        """Where one side's frames go; close it when that side stops talking."""
        return VoiceSender(self._publisher, channel(conversation_id, voice))

    async def frames(self, conversation_id: str, voice: Voice) -> AsyncIterator[bytes]:
        """The frames of `voice` on this call as they arrive, until the caller of this stops
        iterating; a lost Redis is waited for (frames of that moment are lost)."""
        name = channel(conversation_id, voice)
        while True:
            client = aioredis.from_url(self.url, socket_connect_timeout=1)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(name)
                    async for message in pubsub.listen():
                        if message.get("type") == "message" and isinstance(message["data"], bytes):
                            yield message["data"]
            except (RedisError, OSError) as error:
                logger.warning("voice_bridge.unavailable channel=%s error=%s", name, error)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await client.close()
            await asyncio.sleep(RECONNECT_S)

    async def close(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._publisher.close()


class VoiceSender:
    """One side's frames to one channel, published in order by a task of their own, so the
    audio loop that calls `send` never waits for Redis."""

    def __init__(self, client: aioredis.Redis, name: str) -> None:
        self._client = client
        self._name = name
        self._pending: asyncio.Queue[bytes] = asyncio.Queue(MAX_PENDING_FRAMES)
        self._task = asyncio.create_task(self._publishing(), name=f"voice-{name}")

    def send(self, pcm: bytes) -> None:
        try:
            self._pending.put_nowait(pcm)
        except asyncio.QueueFull:
            metrics.ERRORS.labels("voice_bridge_dropped").inc()

    def close(self) -> None:
        self._task.cancel()

    async def _publishing(self) -> None:
        failing = False
        while True:
            pcm = await self._pending.get()
            try:
                await self._client.publish(self._name, pcm)
                failing = False
            except (RedisError, OSError) as error:
                metrics.ERRORS.labels("voice_bridge_dropped").inc()
                if not failing:
                    logger.warning("voice_bridge.publish_failed channel=%s error=%s",
                                   self._name, error)  # fmt: skip
                failing = True
