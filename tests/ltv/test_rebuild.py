"""Rebuild: the state recomputed from the event stream equals the live state."""

from __future__ import annotations

import random
from fractions import Fraction

import pytest

from ltv.events import Interaction, Purchase, Refund, Void
from ltv.formula import LtvPolicy
from ltv.keys import TenantKeys
from ltv.money import Money
from ltv.rebuild import Rebuilder, RebuildError, ShadowKeys
from ltv.store import RecordStatus

POLICY = LtvPolicy(period="month", lifespan_periods=Fraction(24))
USERS = [f"U0R{n:05d}" for n in range(5)]
DAY_MS = 86_400_000
# Keys not derived from the stream, and so not compared.
NOT_DERIVED = ("seen", "events", "pending:", "sent:", "sendlog", "config", "model")


def snapshot(client, tenant: str) -> dict:
    """Every derived key of the tenant with its full content."""
    prefix = TenantKeys(tenant).prefix
    state = {}
    for raw in client.scan_iter(match=f"{prefix}*", count=1000):
        key = raw.decode()
        name = key[len(prefix) :]
        if name.startswith(NOT_DERIVED) or name.startswith(("lock:", "rebuild:")):
            continue
        kind = client.type(key).decode()
        if kind == "hash":
            state[name] = client.hgetall(key)
        elif kind == "zset":
            state[name] = client.zrange(key, 0, -1, withscores=True)
        else:
            state[name] = (kind, client.dump(key))
    return state


class RandomHistory:
    """A seeded mix of purchases, refunds, edits, deletions, replays and chat."""

    def __init__(self, tenant: str, seed: int) -> None:
        self.tenant = tenant
        self.rng = random.Random(seed)
        self.count = 0
        self.purchases: list[Purchase] = []
        self.refunds: list[Refund] = []
        self.sent: list = []

    def next_event(self):
        self.count += 1
        roll = self.rng.random()
        if roll < 0.30 or not self.purchases:
            event = self.purchase()
        elif roll < 0.42:
            event = self.edit(self.rng.choice(self.purchases))
        elif roll < 0.55:
            event = self.refund()
        elif roll < 0.62 and self.refunds:
            event = self.edit(self.rng.choice(self.refunds))
        elif roll < 0.72:
            event = self.void()
        elif roll < 0.82 and self.sent:
            return self.rng.choice(self.sent)
        else:
            event = self.interaction()
        self.sent.append(event)
        return event

    def common(self, user: str) -> dict:
        return {
            "tenant": self.tenant,
            "user": user,
            "at_ms": self.rng.randrange(0, 400) * DAY_MS,
            "event_id": f"Ev{self.count}",
        }

    def money(self, high: int) -> dict:
        minor = self.rng.randrange(0, high)
        return {"amount": Money(minor, "USD"), "base_amount_minor": minor}

    def purchase(self) -> Purchase:
        user = self.rng.choice(USERS)
        order = f"O{self.count}" if self.rng.random() < 0.6 else None
        event = Purchase(
            **self.common(user),
            **self.money(10_000),
            source_ref=f"msg:C1:{self.count}",
            order_id=order,
        )
        self.purchases.append(event)
        return event

    def refund(self) -> Refund:
        target = self.rng.choice(self.purchases)
        order = target.order_id if self.rng.random() < 0.6 else None
        event = Refund(
            **self.common(target.user),
            **self.money(4_000),
            source_ref=f"msg:C1:{self.count}",
            order_id=order,
        )
        self.refunds.append(event)
        return event

    def edit(self, original):
        high = 10_000 if isinstance(original, Purchase) else 4_000
        return original.model_copy(
            update={"event_id": f"Ev{self.count}", **self.money(high)}
        )

    def void(self) -> Void:
        target = self.rng.choice(self.purchases + self.refunds)
        return Void(
            **self.common(target.user) | {"at_ms": target.at_ms},
            source_ref=target.source_ref,
        )

    def interaction(self) -> Interaction:
        key = f"msg:C2:{self.rng.randrange(0, 40)}"
        return Interaction(
            **self.common(self.rng.choice(USERS)), kind="message", message_key=key
        )


def record_history(store, tenant: str, seed: int, events: int) -> None:
    history = RandomHistory(tenant, seed)
    for _ in range(events):
        store.record(history.next_event(), POLICY)


def check_aggregates_match_records(store, tenant: str) -> None:
    """Customer aggregates equal the sums of their live purchase records."""
    records = [
        r.decode().split("|") for r in store.redis.hvals(TenantKeys(tenant).purchases)
    ]
    voided_orders = {r[8] for r in records if r[0] == "purchase" and r[7] == "1"}
    totals = store.totals(tenant)
    assert totals.customers == store.customer_count(tenant)
    sums = {"purchases": 0, "revenue": 0, "refunds": 0}
    for user in store.iter_customers(tenant):
        mine = [r for r in records if r[1] == user and r[7] == "0"]
        bought = [r for r in mine if r[0] == "purchase"]
        returned = [
            r
            for r in mine
            if r[0] == "refund" and (r[8] == "" or r[8] not in voided_orders)
        ]
        customer = store.customer(tenant, user)
        assert customer.purchases == len(bought)
        assert customer.revenue_minor == sum(int(r[2]) for r in bought)
        assert customer.refunds_minor == sum(int(r[2]) for r in returned)
        sums["purchases"] += customer.purchases
        sums["revenue"] += customer.revenue_minor
        sums["refunds"] += customer.refunds_minor
    assert (totals.purchases, totals.revenue_minor, totals.refunds_minor) == (
        sums["purchases"],
        sums["revenue"],
        sums["refunds"],
    )


@pytest.fixture
def rebuilder(store):
    return Rebuilder(store, policy=lambda tenant: POLICY)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rebuilt_state_equals_live_state_after_a_long_random_history(
    store, rebuilder, tenant, seed
):
    record_history(store, tenant, seed, events=600)
    live = snapshot(store.redis, tenant)

    report = rebuilder.rebuild(tenant)

    assert snapshot(store.redis, tenant) == live
    assert report.customers == len(USERS)
    assert report.events == store.redis.xlen(TenantKeys(tenant).events)
    check_aggregates_match_records(store, tenant)


def test_rebuild_repairs_damaged_aggregates(store, rebuilder, tenant):
    record_history(store, tenant, 7, events=200)
    live = snapshot(store.redis, tenant)
    keys = TenantKeys(tenant)
    store.redis.hincrby(keys.customer(USERS[0]), "revenue_minor", 999)
    store.redis.delete(keys.index("ltv"), keys.totals)

    rebuilder.rebuild(tenant)

    assert snapshot(store.redis, tenant) == live


def test_events_arriving_during_a_rebuild_are_caught_up_before_the_swap(
    store, rebuilder, tenant
):
    history = RandomHistory(tenant, 11)
    for _ in range(100):
        store.record(history.next_event(), POLICY)
    rebuilder.clear_shadow(tenant)
    last_id, _ = rebuilder.replay(tenant, after_id="0-0")
    history.count += 1
    late = store.record(history.purchase(), POLICY)

    swapped_stale = rebuilder.swap(tenant, last_id)
    live = snapshot(store.redis, tenant)
    rebuilder.rebuild(tenant)

    assert late.status is RecordStatus.RECORDED
    assert swapped_stale is False
    assert snapshot(store.redis, tenant) == live
    check_aggregates_match_records(store, tenant)


def test_a_rebuild_keeps_profile_fields_and_idempotency(store, rebuilder, tenant):
    history = RandomHistory(tenant, 5)
    first = history.purchase()
    store.record(first, POLICY)
    store.redis.hset(TenantKeys(tenant).customer(first.user), "tz", "Europe/Paris")

    rebuilder.rebuild(tenant)

    customer_key = TenantKeys(tenant).customer(first.user)
    assert store.redis.hget(customer_key, "tz") == b"Europe/Paris"
    assert store.record(first, POLICY).status is RecordStatus.DUPLICATE
    assert not list(store.redis.scan_iter(match=f"{ShadowKeys(tenant).prefix}*"))


def test_a_second_rebuild_at_the_same_time_is_refused(store, rebuilder, tenant):
    store.redis.set(TenantKeys(tenant).lock("rebuild"), "other", px=60_000)

    with pytest.raises(RebuildError, match="already running"):
        rebuilder.rebuild(tenant)
