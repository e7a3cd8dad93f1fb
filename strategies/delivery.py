"""Sending exactly once: claims, outcomes and the send log in Redis."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

import redis

from ltv.clock import Clock
from ltv.keys import TenantKeys, check_name, check_user

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    WOULD_SEND = "would_send"


@dataclass
class RunReport:
    """What one strategy run did with each candidate, counted by outcome and reason."""

    strategy: str
    tenant: str
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, outcome: Outcome, reason: str = "") -> None:
        self.counts[f"{outcome}:{reason}" if reason else str(outcome)] += 1

    @property
    def sent(self) -> int:
        return self.counts[str(Outcome.SENT)]

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "none"


class SendLedger:
    """Claims a (strategy, step, customer, period) slot before sending, atomically."""

    def __init__(self, client: redis.Redis, *, clock: Clock) -> None:
        self.redis = client
        self.clock = clock

    @staticmethod
    def slot(step: str, user: str, period_key: str) -> str:
        return f"{check_name(step)}:{check_user(user)}:{check_name(period_key)}"

    def claim(self, tenant: str, strategy: str, slot: str) -> bool:
        """True for the one caller that may send; every later caller gets False."""
        keys = TenantKeys(tenant)
        value = f"claimed|{self.clock.now_s()}"
        return bool(self.redis.hsetnx(keys.sent(strategy), slot, value))

    def is_claimed(self, tenant: str, strategy: str, slot: str) -> bool:
        return bool(self.redis.hexists(TenantKeys(tenant).sent(strategy), slot))

    def release(self, tenant: str, strategy: str, slot: str) -> None:
        """Give a claim back after a failure worth retrying on a later run."""
        self.redis.hdel(TenantKeys(tenant).sent(strategy), slot)

    def record(
        self,
        tenant: str,
        strategy: str,
        slot: str,
        outcome: Outcome,
        reason: str = "",
    ) -> None:
        """Write the outcome to the claim and the tenant's send log in one step."""
        keys = TenantKeys(tenant)
        now_s = self.clock.now_s()
        pipe = self.redis.pipeline(transaction=True)
        if outcome in (Outcome.SENT, Outcome.FAILED):
            pipe.hset(keys.sent(strategy), slot, f"{outcome}|{now_s}|{reason}")
        pipe.xadd(
            keys.send_log,
            {
                "strategy": strategy,
                "slot": slot,
                "outcome": str(outcome),
                "reason": reason,
                "at": now_s,
            },
            maxlen=100_000,
            approximate=True,
        )
        pipe.execute()

    def sent_count(self, tenant: str, strategy: str) -> int:
        values = self.redis.hvals(TenantKeys(tenant).sent(strategy))
        return sum(1 for v in values if v.startswith(b"sent|"))
