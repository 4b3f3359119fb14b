"""What gateways share through a real Redis: rate limits count for all of them, every
gateway's agents count in queue estimates, and a Redis that goes away makes each gateway fall
back to its own counts instead of refusing anyone."""

from __future__ import annotations

import redis

from bot.edge.limits import SharedRateLimiter
from bot.edge.presence import PREFIX, SharedPresence
from bot.handoff.models import Agent
from bot.supervision.local_redis import LocalRedis

LUCIA = Agent(1, "lucia", "Lucía", "agent", ("sales",))
PABLO = Agent(2, "pablo", "Pablo", "agent", ("complaints",))


def client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=0.3, socket_timeout=0.3)


def test_a_limit_counts_the_requests_made_through_every_gateway(redis_url: str):
    here = SharedRateLimiter(client(redis_url), "logins", 3, 60)
    there = SharedRateLimiter(client(redis_url), "logins", 3, 60)

    allowed = [limiter.allow("lucia") for limiter in (here, there, here, there)]

    assert allowed == [True, True, True, False]
    assert there.allow("pablo")  # per key
    assert SharedRateLimiter(client(redis_url), "messages", 3, 60).allow("lucia")  # per limit


def test_without_redis_each_gateway_keeps_limiting_on_its_own(own_redis: LocalRedis):
    limiter = SharedRateLimiter(client(own_redis.url), "logins", 2, 60)
    own_redis.stop()

    assert [limiter.allow("lucia") for _ in range(3)] == [True, True, False]


def test_agents_on_every_gateway_count_and_leave_at_once(redis_url: str):
    here, there = SharedPresence(client(redis_url)), SharedPresence(client(redis_url))
    here.arrive(LUCIA)
    there.arrive(PABLO)

    assert {a.id for a in here.online()} == {a.id for a in there.online()} == {1, 2}
    assert [a.name for a in there.online("sales")] == ["Lucía"]
    assert there.is_online(LUCIA.id)

    here.leave(LUCIA)

    assert [a.id for a in there.online()] == [2]


def test_a_dead_gateways_agents_stop_counting_when_its_entry_expires(redis_url: str):
    dead = SharedPresence(client(redis_url))
    dead.arrive(LUCIA)
    shared = client(redis_url)
    (key,) = shared.keys(PREFIX + "*")
    assert 0 < shared.ttl(key) <= 15  # refreshed by the living gateway, else it expires

    shared.delete(key)  # what expiry does once the gateway stops refreshing

    assert SharedPresence(client(redis_url)).online() == []


def test_without_redis_a_gateway_counts_its_own_desks(own_redis: LocalRedis):
    presence = SharedPresence(client(own_redis.url))
    own_redis.stop()

    presence.arrive(LUCIA)

    assert [a.id for a in presence.online()] == [1]
