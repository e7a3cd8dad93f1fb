"""Benchmark: recording events through the store vs one plain HINCRBY per event.

Run with `.venv/bin/python bench/bench_store.py [--events N]`. Starts its own
Redis on a free loopback port (the embedded one the product uses), so other
users of the machine's Redis neither slow it down nor see its keys, and stops
it afterwards. Both sides run sequentially, one round trip per event, against
that same Redis in the same run: the store runs the whole recording script
(idempotency check, stream append, customer aggregates, totals, indexes);
the baseline does a single HINCRBY. Events are built before timing, so the
figures are Redis round trips plus argument building, not pydantic.
Prints events per second of both, their ratio, the store's per-event cost,
and how fast `ltv-bot rebuild` replays the same stream into fresh keys.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from fractions import Fraction

import redis

from bot.embedded_redis import EmbeddedRedis
from ltv.clock import FixedClock
from ltv.events import Interaction, Purchase
from ltv.formula import LtvPolicy
from ltv.keys import TenantKeys
from ltv.money import Money
from ltv.rebuild import Rebuilder
from ltv.store import LtvStore, RecordStatus

TENANT = "TBENCH0001"
USERS = 1000
POLICY = LtvPolicy(period="month", lifespan_periods=Fraction(36))
START_S = 1_704_067_200


def build_events(count: int) -> list[Purchase | Interaction]:
    """Two purchases for every interaction, spread over USERS customers."""
    events: list[Purchase | Interaction] = []
    for index in range(count):
        user = f"UB{index % USERS:06d}"
        common = {
            "tenant": TENANT,
            "user": user,
            "at_ms": (START_S + index) * 1000,
            "event_id": f"Ev{index}",
        }
        if index % 3 == 2:
            events.append(
                Interaction(**common, kind="message", message_key=f"msg:C1:{index}")
            )
            continue
        minor = 100 + index % 9_900
        events.append(
            Purchase(
                **common,
                source_ref=f"msg:C2:{index}",
                amount=Money(minor, "USD"),
                base_amount_minor=minor,
            )
        )
    return events


def time_store(client: redis.Redis, events: list[Purchase | Interaction]) -> float:
    store = LtvStore(client, clock=FixedClock(START_S + len(events)))
    started = time.perf_counter()
    for event in events:
        result = store.record(event, POLICY)
        if result.status is not RecordStatus.RECORDED:
            raise SystemExit(f"benchmark event not recorded: {result}")
    return time.perf_counter() - started


def time_hincrby(client: redis.Redis, events: list[Purchase | Interaction]) -> float:
    keys = TenantKeys("TBENCH0002")
    started = time.perf_counter()
    for event in events:
        client.hincrby(keys.customer(event.user), "events", 1)
    return time.perf_counter() - started


def time_rebuild(client: redis.Redis, count: int) -> float:
    store = LtvStore(client, clock=FixedClock(START_S + count))
    rebuilder = Rebuilder(store, policy=lambda tenant: POLICY)
    started = time.perf_counter()
    report = rebuilder.rebuild(TENANT)
    if report.events != count:
        raise SystemExit(f"rebuild replayed {report.events} events, not {count}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    count = min(parser.parse_args().events, 200_000)
    events = build_events(count)
    with tempfile.TemporaryDirectory() as data_dir:
        embedded = EmbeddedRedis(data_dir).start()
        try:
            client = redis.Redis.from_url(embedded.url)
            baseline_s = time_hincrby(client, events)
            store_s = time_store(client, events)
            stored = client.hget(TenantKeys(TENANT).totals, "purchases")
            rebuild_s = time_rebuild(client, len(events))
            client.close()
        finally:
            embedded.stop()

    store_rate, baseline_rate = count / store_s, count / baseline_s
    print(f"events                    {count:,} ({stored.decode()} purchases)")
    print(f"store.record (Lua script) {store_rate:10,.0f} events/s {store_s:6.2f} s")
    print(
        f"plain HINCRBY             {baseline_rate:10,.0f} events/s {baseline_s:6.2f} s"
    )
    print(f"ratio store / HINCRBY     {store_rate / baseline_rate:10.2f}")
    print(f"store cost per event      {1e6 * store_s / count:10.1f} µs")
    print(f"HINCRBY cost per event    {1e6 * baseline_s / count:10.1f} µs")
    rebuild_rate = count / rebuild_s
    print(
        f"rebuild from the stream   {rebuild_rate:10,.0f} events/s {rebuild_s:6.2f} s"
    )


if __name__ == "__main__":
    main()
