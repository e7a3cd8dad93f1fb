"""Benchmark: import the full CDNOW master file, against the demo's signed-HTTP replay.

Run with `.venv/bin/python bench/bench_import.py [--master PATH] [--replay-seconds S]`.
Everything runs on loopback against a Redis of its own (the embedded one, on a
free port, in a temporary folder), so INFO memory before and after the import
measures what the imported customers take. Prints:

- the bulk import: rows, purchases per second, and a second import of the same
  file (nothing changes: idempotent by order id);
- Redis memory per customer and per purchase, on CDNOW and on synthetic
  customers (one purchase each, then four more each);
- the demo's path on the same data (each purchase a signed Slack event posted
  to the Bolt app over HTTP, with joins), bounded in time, on the first
  customers' purchases; its purchases per second and the ratio.
The file is read from /work/shared/data and is not shipped with the project.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

from bot.demo import CdnowPurchase, DemoRun, build_deliveries, replay
from bot.embedded_redis import EmbeddedRedis
from bot.settings import Settings
from ltv.clock import FixedClock
from ltv.importer import HistoryImporter, RawRow, read_cdnow_rows
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfig

MASTER = Path("/work/shared/data/CDNOW_master.txt")
IMPORT_TEAM = "TBENCHIMP1"
REPLAY_TEAM = "TBENCHRPL1"
NOW_S = 899_251_200  # 1998-07-01
REPLAY_PURCHASES = 3_000
SIZING_TEAM = "TBENCHSIZ1"
SIZING_CUSTOMERS = 10_000


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def bench_import(client: redis.Redis, text: str) -> None:
    store = LtvStore(client, clock=FixedClock(NOW_S))
    importer = HistoryImporter(store, tenant=IMPORT_TEAM, config=WorkspaceConfig())
    before = used_memory(client)

    first = importer.run(read_cdnow_rows(text), total=text.count("\n"))
    after = used_memory(client)
    second = importer.run(read_cdnow_rows(text))

    totals = store.totals(IMPORT_TEAM)
    print(f"import (first):  {first.summary()}")
    print(f"import (again):  {second.summary()}")
    print(
        f"stored: {totals.customers:,} customers, {totals.purchases:,} purchases, "
        f"revenue {totals.revenue_minor / 100:,.2f} USD"
    )
    grown = after - before
    print(
        f"Redis memory: {grown / 2**20:,.1f} MiB for {totals.customers:,} customers "
        f"= {grown / max(totals.customers, 1):,.0f} bytes a customer, "
        f"{grown / max(totals.purchases, 1):,.0f} bytes a purchase"
    )
    return first.rows_per_second


def bench_sizing(client: redis.Redis, customers: int = SIZING_CUSTOMERS) -> None:
    """Memory of N customers with one purchase, then of four more purchases each."""
    store = LtvStore(client, clock=FixedClock(NOW_S))
    importer = HistoryImporter(store, tenant=SIZING_TEAM, config=WorkspaceConfig())

    def rows(round_: int) -> list[RawRow]:
        return [
            RawRow(
                n,
                f"USZ{n:07d}",
                "19.99",
                "USD",
                str(NOW_S - 86_400 * round_),
                f"size-{n}-{round_}",
            )
            for n in range(customers)
        ]

    start = used_memory(client)
    importer.run(rows(0))
    one = used_memory(client)
    for round_ in range(1, 5):
        importer.run(rows(round_))
    five = used_memory(client)
    per_customer = (one - start) / customers
    per_purchase = (five - one) / (4 * customers)
    print(
        f"sizing: {customers:,} customers with 1 purchase: {per_customer:,.0f} bytes "
        f"a customer; each further purchase: {per_purchase:,.0f} bytes"
    )


def replay_rows(text: str, limit: int) -> list[CdnowPurchase]:
    """The first customers' purchases, whole customers, up to `limit` purchases."""
    rows: list[CdnowPurchase] = []
    for raw in read_cdnow_rows(text):
        if len(rows) >= limit and raw.customer != rows[-1].customer:
            break
        cents = int(raw.amount.replace(".", ""))
        rows.append(CdnowPurchase(raw.customer[3:], raw.time, cents))
    return rows


def bench_replay(redis_url: str, text: str, limit: int) -> float:
    rows = replay_rows(text, limit)
    deliveries = build_deliveries(rows, REPLAY_TEAM)
    settings = Settings(_env_file=None, REDIS_URL=redis_url, LOG_LEVEL="WARNING")
    demo = DemoRun(settings, REPLAY_TEAM)
    try:
        started = time.monotonic()
        statuses: Counter[int] = replay(
            demo.url, demo.secret, deliveries, io.StringIO()
        )
        elapsed = time.monotonic() - started
    finally:
        demo.close()
    rate = len(rows) / elapsed
    print(
        f"demo replay (signed HTTP): {len(rows):,} purchases + joins = "
        f"{len(deliveries):,} events in {elapsed:.1f} s: {rate:,.0f} purchases/s "
        f"({len(deliveries) / elapsed:,.0f} events/s); statuses {dict(statuses)}"
    )
    return rate


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--master", type=Path, default=MASTER)
    parser.add_argument("--replay-purchases", type=int, default=REPLAY_PURCHASES)
    args = parser.parse_args(argv)
    if not args.master.exists():
        sys.exit(f"bench_import: {args.master} not found; pass --master PATH")
    text = args.master.read_text()
    with tempfile.TemporaryDirectory() as folder:
        embedded = EmbeddedRedis(Path(folder) / "redis").start()
        client = redis.Redis.from_url(embedded.url)
        try:
            import_rate = bench_import(client, text)
            bench_sizing(client)
            replay_rate = bench_replay(embedded.url, text, args.replay_purchases)
        finally:
            client.close()
            embedded.stop()
    print(
        f"ratio: bulk import is {import_rate / replay_rate:,.1f}x the demo's replay "
        "path (purchases per second)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
