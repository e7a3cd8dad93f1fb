"""Shared fixtures: a real Redis with a database of its own, and unique tenants."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from bot.embedded_redis import EmbeddedRedis
from bot.redis_urls import cluster_client, is_cluster_url
from ltv.clock import FixedClock
from ltv.store import LtvStore

# A database of its own on the machine's Redis, and per-test tenants inside it,
# so the suite never touches anyone else's keys. With no Redis on the machine,
# the suite starts the embedded one the product itself uses.
MACHINE_REDIS_URL = "redis://127.0.0.1:6379/13"
START_OF_2024_S = 1_704_067_200


def is_reachable(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def client_for(url: str) -> redis.Redis:
    """A plain client, or a cluster one for a redis+cluster:// URL (only db 0)."""
    if is_cluster_url(url):
        return cluster_client(url)
    return redis.Redis.from_url(url)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("LTV_TEST_REDIS_URL")
    if configured or is_reachable(MACHINE_REDIS_URL):
        yield configured or MACHINE_REDIS_URL
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis")).start()
    yield embedded.url
    embedded.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = client_for(redis_url)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"tests need a Redis at {redis_url}: {exc}")
    yield client
    client.close()


@pytest.fixture
def tenant(redis_client: redis.Redis) -> Iterator[str]:
    """A fresh tenant id; its keys are deleted after the test."""
    tenant_id = "T" + uuid.uuid4().hex[:10].upper()
    yield tenant_id
    delete_tenant_keys(redis_client, tenant_id)


def delete_tenant_keys(client: redis.Redis, tenant_id: str) -> None:
    keys = list(client.scan_iter(match=f"ltv:{{{tenant_id}}}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    client.srem("ltv:tenants", tenant_id)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_OF_2024_S)


@pytest.fixture
def store(redis_client: redis.Redis, clock: FixedClock) -> LtvStore:
    return LtvStore(redis_client, clock=clock)
