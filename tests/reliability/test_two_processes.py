"""Two bot processes, one Redis: concurrent purchases are each counted once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.replay import SlackReplayer
from tests.reliability.conftest import OwnRedis
from tests.reliability.processes import BotProcess
from tests.reliability.replaying import envelope
from tests.scenarios.conftest import CUSTOMER, ORDERS_CHANNEL, SIGNING_SECRET

ROUNDS = 20
PURCHASES_PER_ROUND = 25


@pytest.fixture
def two_bots(
    tmp_path: Path, own_redis: OwnRedis, own_emulator
) -> Iterator[list[BotProcess]]:
    bots = []
    try:
        for n in range(2):
            bots.append(
                BotProcess(
                    tmp_path / f"bot{n}",
                    redis_url=own_redis.url,
                    api_url=own_emulator.api_url,
                ).start()
            )
        yield bots
    finally:
        for bot in bots:
            bot.stop()


def purchase(tenant: str, round_no: int, n: int) -> tuple[dict, int]:
    amount_minor = 100 + round_no * PURCHASES_PER_ROUND + n
    ts = f"{1_700_000_000 + round_no * 100 + n}.000100"
    text = (
        f"Order R{round_no}N{n} paid: ${amount_minor // 100}.{amount_minor % 100:02d}"
        f" by <@{CUSTOMER}>"
    )
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BSHOP01",
        "text": text,
        "channel": ORDERS_CHANNEL,
        "ts": ts,
    }
    return envelope(tenant, f"EvR{round_no:03d}N{n:05d}", event), amount_minor


@pytest.mark.slow
def test_concurrent_purchases_at_two_processes_count_exactly_once(
    two_bots, own_redis, own_tenant
):
    replayers = [SlackReplayer(b.url, SIGNING_SECRET, timeout_s=30) for b in two_bots]
    client = own_redis.client()
    customer_key = f"ltv:{{{own_tenant}}}:cust:{CUSTOMER}"
    expected_count = expected_minor = 0

    with ThreadPoolExecutor(max_workers=2 * PURCHASES_PER_ROUND) as pool:
        for round_no in range(ROUNDS):
            batch = [
                purchase(own_tenant, round_no, n) for n in range(PURCHASES_PER_ROUND)
            ]
            # Each purchase reaches both processes at once, as a delivery and
            # Slack's retry of it might.
            futures = [
                pool.submit(r.post_event, payload)
                for payload, _ in batch
                for r in replayers
            ]
            statuses = [f.result().status for f in futures]
            expected_count += PURCHASES_PER_ROUND
            expected_minor += sum(amount for _, amount in batch)

            stored = client.hgetall(customer_key)
            assert statuses == [200] * len(futures), f"round {round_no}"
            assert int(stored[b"purchases"]) == expected_count, f"round {round_no}"
            assert int(stored[b"revenue_minor"]) == expected_minor
            assert client.xlen(f"ltv:{{{own_tenant}}}:events") == expected_count
