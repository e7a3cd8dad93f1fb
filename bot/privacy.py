"""Customers' privacy: opt-outs, the audit of who looked at whom, and forgetting.

Opt-out state is kept by the strategies' guard rails (strategies.guards.OptOuts,
one tenant hash of ``user:category`` fields); this module only offers the
customer-facing operations on it, so there is one source of truth.

Forgetting a customer removes every trace of their id from the tenant's keys:
key names, hash fields and values, set and sorted-set members, and stream
entries. Workspace totals are reduced by the customer's aggregates first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import redis

from ltv.clock import Clock, SystemClock
from ltv.keys import TenantKeys, check_user
from strategies.config import STRATEGIES
from strategies.guards import ALL, OptOuts

logger = logging.getLogger(__name__)

CATEGORIES = STRATEGIES
AUDIT_MAXLEN = 10_000
TOTAL_FIELDS = ("purchases", "revenue_minor", "refunds_minor", "interactions")


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def audit_key(tenant: str) -> str:
    return f"{TenantKeys(tenant).prefix}audit"


def _optouts(client: redis.Redis, clock: Clock | None = None) -> OptOuts:
    return OptOuts(client, clock=clock or SystemClock())


def read_optout(client: redis.Redis, tenant: str, user: str) -> frozenset[str]:
    """The categories the customer opted out of, as the guard rails read them."""
    return frozenset(_optouts(client).categories(tenant, user))


def opt_out(
    client: redis.Redis, tenant: str, user: str, category: str = ALL, *, clock: Clock
) -> frozenset[str]:
    """The categories the customer is now opted out of."""
    optouts = _optouts(client, clock)
    if category == ALL:
        optouts.opt_in(tenant, user, ALL)
    optouts.opt_out(tenant, user, category)
    return read_optout(client, tenant, user)


def opt_in(
    client: redis.Redis, tenant: str, user: str, category: str = ALL, *, clock: Clock
) -> frozenset[str]:
    """Opting in to ``all`` clears every category; one category clears that one."""
    optouts = _optouts(client, clock)
    current = read_optout(client, tenant, user)
    optouts.opt_in(tenant, user, category)
    if category != ALL and ALL in current:
        optouts.opt_in(tenant, user, ALL)
        for other in CATEGORIES:
            if other != category:
                optouts.opt_out(tenant, user, other)
    return read_optout(client, tenant, user)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at_s: int
    viewer: str
    customer: str
    action: str


class AuditLog:
    """Every lookup of a customer's data: who looked at whom, and when."""

    def __init__(self, client: redis.Redis, *, clock: Clock) -> None:
        self.redis = client
        self.clock = clock

    def record(self, tenant: str, viewer: str, customer: str, action: str) -> None:
        fields: dict[Any, Any] = {
            "viewer": check_user(viewer),
            "customer": check_user(customer),
            "action": action,
            "at": self.clock.now_s(),
        }
        self.redis.xadd(
            audit_key(tenant), fields, maxlen=AUDIT_MAXLEN, approximate=True
        )
        logger.info(
            "customer data viewed tenant=%s viewer=%s customer=%s action=%s",
            tenant,
            viewer,
            customer,
            action,
        )

    def recent(self, tenant: str, count: int) -> list[AuditEntry]:
        entries: Any = self.redis.xrevrange(audit_key(tenant), count=count)
        return [_audit_entry(fields) for _, fields in entries]


def _audit_entry(fields: dict) -> AuditEntry:
    raw = {_text(k): _text(v) for k, v in fields.items()}
    return AuditEntry(
        at_s=int(raw.get("at", "0")),
        viewer=raw.get("viewer", ""),
        customer=raw.get("customer", ""),
        action=raw.get("action", ""),
    )


def forget_customer(client: redis.Redis, tenant: str, user: str) -> int:
    """Erase every trace of ``user`` in the tenant; returns how many were removed."""
    keys = TenantKeys(tenant)
    check_user(user)
    _subtract_from_totals(client, keys, user)
    removed = _drop_order_links(client, keys, user)
    for key in list(client.scan_iter(match=f"{keys.prefix}*", count=1000)):
        removed += _scrub_key(client, _text(key), user)
    logger.info("customer forgotten tenant=%s removed=%d", tenant, removed)
    return removed


def _subtract_from_totals(client: redis.Redis, keys: TenantKeys, user: str) -> None:
    fields = client.hmget(keys.customer(user), ["first_seen_ms", *TOTAL_FIELDS])
    if fields[0] is None:
        return
    pipe = client.pipeline(transaction=True)
    pipe.hincrby(keys.totals, "customers", -1)
    for name, raw in zip(TOTAL_FIELDS, fields[1:], strict=True):
        if raw is not None and int(raw):
            pipe.hincrby(keys.totals, name, -int(raw))
    pipe.execute()


def _drop_order_links(client: redis.Redis, keys: TenantKeys, user: str) -> int:
    """Order ids point at purchase refs, not users: drop those of the user's refs."""
    refs = {
        _text(ref)
        for ref, record in client.hscan_iter(keys.purchases, count=1000)
        if _text(record).split("|")[1:2] == [user]
    }
    doomed = [
        order
        for order, ref in client.hscan_iter(keys.orders, count=1000)
        if _text(ref) in refs
    ]
    return int(client.hdel(keys.orders, *doomed)) if doomed else 0


def _scrub_key(client: redis.Redis, key: str, user: str) -> int:
    if user in key:
        return int(client.delete(key))
    kind = _text(client.type(key))
    scrubber = SCRUBBERS.get(kind)
    return scrubber(client, key, user) if scrubber else 0


def _scrub_hash(client: redis.Redis, key: str, user: str) -> int:
    doomed = [
        field
        for field, value in client.hscan_iter(key, count=1000)
        if user in _text(field) or user in _text(value)
    ]
    return int(client.hdel(key, *doomed)) if doomed else 0


def _scrub_set(client: redis.Redis, key: str, user: str) -> int:
    doomed = [m for m in client.sscan_iter(key, count=1000) if user in _text(m)]
    return int(client.srem(key, *doomed)) if doomed else 0


def _scrub_zset(client: redis.Redis, key: str, user: str) -> int:
    doomed = [m for m, _ in client.zscan_iter(key, count=1000) if user in _text(m)]
    return int(client.zrem(key, *doomed)) if doomed else 0


def _scrub_list(client: redis.Redis, key: str, user: str) -> int:
    values: Any = client.lrange(key, 0, -1)
    doomed = {v for v in values if user in _text(v)}
    return sum(int(client.lrem(key, 0, v)) for v in doomed)


def _scrub_string(client: redis.Redis, key: str, user: str) -> int:
    value = client.get(key)
    return int(client.delete(key)) if value and user in _text(value) else 0


def _scrub_stream(client: redis.Redis, key: str, user: str) -> int:
    removed, start = 0, "-"
    while True:
        batch: Any = client.xrange(key, min=start, count=1000)
        if not batch:
            return removed
        doomed = [entry_id for entry_id, fields in batch if _mentions(fields, user)]
        if doomed:
            removed += int(client.xdel(key, *doomed))
        last = _text(batch[-1][0])
        start = "(" + last


def _mentions(fields: dict, user: str) -> bool:
    return any(user in _text(k) or user in _text(v) for k, v in fields.items())


SCRUBBERS = {
    "hash": _scrub_hash,
    "set": _scrub_set,
    "zset": _scrub_zset,
    "list": _scrub_list,
    "string": _scrub_string,
    "stream": _scrub_stream,
}
