"""Workspace figures for `/ltv stats` and App Home: totals, averages, tiers, sends."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from bot.runtime import BotContext
from bot.views import tier_of
from ltv.keys import TenantKeys
from ltv.store import WorkspaceTotals


@dataclass
class WorkspaceStats:
    """Totals as stored, plus averages over every customer computed exactly."""

    totals: WorkspaceTotals
    currency: str
    period: str
    customers: int = 0
    ltv_sum_minor: Fraction = Fraction(0)
    average_value_sum_minor: Fraction = Fraction(0)
    frequency_sum: Fraction = Fraction(0)
    lifespan_periods: Fraction = Fraction(0)
    tiers: Counter[str] = field(default_factory=Counter)
    feedback_sum: float = 0.0
    feedback_count: int = 0
    sends: Counter[str] = field(default_factory=Counter)

    def average(self, total: Fraction) -> Fraction:
        return total / self.customers if self.customers else Fraction(0)


def workspace_stats(ctx: BotContext, tenant: str) -> WorkspaceStats:
    config = ctx.configs.load(tenant)
    policy = config.policy()
    summary = WorkspaceStats(
        totals=ctx.store.totals(tenant),
        currency=config.base_currency,
        period=config.period,
        lifespan_periods=policy.lifespan_periods,
    )
    for user in ctx.store.iter_customers(tenant):
        record = ctx.store.customer(tenant, user)
        if record is None:
            continue
        breakdown = ctx.store.breakdown(record, policy)
        summary.customers += 1
        summary.ltv_sum_minor += breakdown.ltv_minor
        summary.average_value_sum_minor += breakdown.average_purchase_minor
        summary.frequency_sum += breakdown.purchases_per_period
        summary.tiers[tier_of(breakdown.ltv_minor)[0]] += 1
    add_feedback(ctx, tenant, summary)
    summary.sends = strategy_counts(ctx, tenant)
    return summary


def add_feedback(ctx: BotContext, tenant: str, summary: WorkspaceStats) -> None:
    keys = TenantKeys(tenant)
    for user in ctx.store.iter_customers(tenant):
        total, count = ctx.store.redis.hmget(
            keys.customer(user), ["feedback_sum", "feedback_count"]
        )
        if total is not None and count is not None:
            summary.feedback_sum += float(total)
            summary.feedback_count += int(count)


def strategy_counts(ctx: BotContext, tenant: str) -> Counter[str]:
    """Outcomes per strategy from the ``sent:*`` hashes: sent, failed, claimed."""
    counts: Counter[str] = Counter()
    prefix = TenantKeys(tenant).prefix
    for key in ctx.store.redis.scan_iter(match=f"{prefix}sent:*", count=100):
        name = key.decode() if isinstance(key, bytes) else str(key)
        strategy = name.rsplit(":", 1)[-1]
        for value in ctx.store.redis.hvals(key):
            text = value.decode() if isinstance(value, bytes) else str(value)
            counts[f"{strategy} {text.partition('|')[0]}"] += 1
    return counts
