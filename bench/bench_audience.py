"""Benchmark: choose a strategy's audience among a million customers, two ways.

Run with `.venv/bin/python bench/bench_audience.py [--customers N] [--redis URL]`
(default 1,000,000 customers on redis://127.0.0.1:6379/13). Loads N customers
into a fresh tenant of its own with pipelined writes (a customer hash plus the
last-seen and first-seen indexes, as the Lua recorder keeps them), then picks
the proactive strategy's "gone quiet" audience:

- from the index: the strategy's own code, a ZRANGEBYSCORE window on
  ``idx:last_seen`` and one pipelined HMGET batch per 500 candidates;
- by a full scan: SCAN over every customer hash, an HMGET of each, filtered in
  Python.

Both must choose the same customers. Prints seconds and Redis round trips of
each and their ratio, then deletes the tenant's keys.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from typing import Any

import redis
from redis.client import Pipeline

from ltv.clock import FixedClock
from ltv.keys import TenantKeys
from strategies.config import StrategyConfigStore
from strategies.proactive import ProactiveStrategy

NOW_S = 1_704_067_200
DAY_S = 86_400
LOAD_BATCH = 10_000
SCAN_COUNT = 1_000
SEED = 4


class CountingPipeline(Pipeline):
    """A pipeline that counts one round trip per execute."""

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        self.counter[0] += 1  # type: ignore[attr-defined]
        return super().execute(raise_on_error)


class CountingRedis(redis.Redis):
    """A client that counts its round trips to Redis."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter = [0]

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.counter[0] += 1
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        pipe = CountingPipeline(
            self.connection_pool, self.response_callbacks, transaction, shard_hint
        )
        pipe.counter = self.counter  # type: ignore[attr-defined]
        return pipe


def load(client: redis.Redis, keys: TenantKeys, customers: int) -> None:
    rng = random.Random(SEED)
    for start in range(0, customers, LOAD_BATCH):
        pipe = client.pipeline(transaction=False)
        last_seen, first_seen = {}, {}
        for n in range(start, min(start + LOAD_BATCH, customers)):
            user = f"UB{n:09d}"
            seen_ms = (NOW_S - rng.randrange(365 * DAY_S)) * 1000
            first_ms = seen_ms - rng.randrange(365 * DAY_S) * 1000
            pipe.hset(
                keys.customer(user),
                mapping={
                    "interactions": rng.randrange(10),
                    "last_seen_ms": seen_ms,
                    "first_seen_ms": first_ms,
                },
            )
            last_seen[user], first_seen[user] = seen_ms, first_ms
        pipe.zadd(keys.index("last_seen"), last_seen)
        pipe.zadd(keys.index("first_seen"), first_seen)
        pipe.execute()


def by_index(client: CountingRedis, tenant: str) -> tuple[set[str], float, int]:
    clock = FixedClock(NOW_S)
    configs = StrategyConfigStore(client, clock=clock)
    deps = type("Deps", (), {})()
    deps.clock, deps.configs = clock, configs  # type: ignore[attr-defined]
    strategy = ProactiveStrategy.__new__(ProactiveStrategy)
    strategy.deps, strategy.redis = deps, client  # type: ignore[assignment]
    settings = configs.settings(tenant, "proactive")
    client.counter[0] = 0
    started = time.perf_counter()
    chosen = {c.user for c in strategy._inactive(tenant, settings)}
    return chosen, time.perf_counter() - started, client.counter[0]


def by_scan(client: CountingRedis, tenant: str) -> tuple[set[str], float, int]:
    keys = TenantKeys(tenant)
    settings = StrategyConfigStore(client, clock=FixedClock(NOW_S)).settings(
        tenant, "proactive"
    )
    low_ms = (NOW_S - settings["lookback_days"] * DAY_S) * 1000
    high_ms = (NOW_S - settings["quiet_days"] * DAY_S) * 1000
    client.counter[0] = 0
    started = time.perf_counter()
    chosen: set[str] = set()
    cursor = 0
    prefix = len(keys.customer("UX00")) - len("UX00")
    while True:
        cursor, found = client.scan(
            cursor, match=f"{keys.prefix}cust:*", count=SCAN_COUNT
        )
        pipe = client.pipeline(transaction=False)
        for key in found:
            pipe.hmget(key, ["interactions", "last_seen_ms"])
        for key, (interactions, seen) in zip(found, pipe.execute(), strict=True):
            seen_ms = float(seen or 0)
            if (
                low_ms <= seen_ms <= high_ms
                and int(interactions or 0) >= settings["min_interactions"]
            ):
                chosen.add(key.decode()[prefix:])
        if cursor == 0:
            break
    return chosen, time.perf_counter() - started, client.counter[0]


def delete_tenant(client: redis.Redis, tenant: str) -> None:
    batch: list[bytes] = []
    for key in client.scan_iter(
        match=f"{TenantKeys(tenant).prefix}*", count=SCAN_COUNT
    ):
        batch.append(key)
        if len(batch) >= LOAD_BATCH:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    if not 1 <= args.customers <= 2_000_000:
        parser.error("--customers must be between 1 and 2,000,000")
    client = CountingRedis.from_url(args.redis)
    tenant = "TBENCH" + uuid.uuid4().hex[:8].upper()
    try:
        started = time.perf_counter()
        load(client, TenantKeys(tenant), args.customers)
        print(
            f"loaded {args.customers:,} customers "
            f"in {time.perf_counter() - started:.1f} s"
        )
        index_users, index_s, index_trips = by_index(client, tenant)
        scan_users, scan_s, scan_trips = by_scan(client, tenant)
        assert index_users == scan_users, "the two ways chose different customers"
        print(
            f"audience: {len(index_users):,} customers quiet 14-60 days "
            "with 3+ interactions"
        )
        print(f"from the index: {index_s:8.2f} s {index_trips:8,} round trips")
        print(f"full scan:      {scan_s:8.2f} s {scan_trips:8,} round trips")
        print(
            f"ratio (scan / index): {scan_s / index_s:.1f}x time, "
            f"{scan_trips / index_trips:.1f}x round trips"
        )
    finally:
        delete_tenant(client, tenant)
        client.close()


if __name__ == "__main__":
    main()
