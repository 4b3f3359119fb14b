"""A real Redis server for the tests of what gateways share: started once per test session on
a free port, emptied before each test that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.supervision.local_redis import LocalRedis
from tests.helpers.postgres import free_port, server_in_a_temporary_folder


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    with server_in_a_temporary_folder(LocalRedis, "redis") as server:
        yield server


@pytest.fixture
def redis_url(redis_server: LocalRedis) -> str:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    """A Redis server for this test alone (one it may stop and restart)."""
    server = LocalRedis(tmp_path / "redis", free_port())
    server.start()
    yield server
    server.stop()
