"""Redis URLs: a single server (redis://) or a Redis Cluster (redis+cluster://).

Every key of a tenant carries one hash tag, so the multi-key Lua script and
the pipelines and transactions of one tenant stay in one slot of a cluster.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.cluster import RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def plain_url(url: str) -> str:
    """The URL with a cluster scheme mapped to the one redis-py reads."""
    scheme, sep, rest = url.partition("://")
    return CLUSTER_SCHEMES.get(scheme.lower(), scheme) + sep + rest


def cluster_client(url: str, **options: Any) -> redis.Redis:
    """A cluster client from any node's address; it finds the others itself."""
    client = RedisCluster.from_url(plain_url(url), **options)
    return client  # type: ignore[return-value]
