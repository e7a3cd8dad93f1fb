"""Workspace figures for `/ltv stats` and App Home: totals, averages, tiers, sends."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from bot.runtime import BotContext
from bot.tiers import tier_thresholds
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


BATCH = 500


def workspace_stats(ctx: BotContext, tenant: str) -> WorkspaceStats:
    config = ctx.configs.load(tenant)
    summary = WorkspaceStats(
        totals=ctx.store.totals(tenant),
        currency=config.base_currency,
        period=config.period,
        lifespan_periods=config.policy().lifespan_periods,
    )
    batch: list[str] = []
    for user in ctx.store.iter_customers(tenant, batch=BATCH):
        batch.append(user)
        if len(batch) == BATCH:
            add_customers(ctx, tenant, batch, summary)
            batch = []
    add_customers(ctx, tenant, batch, summary)
    summary.sends = strategy_counts(ctx, tenant)
    return summary


def add_customers(
    ctx: BotContext, tenant: str, users: list[str], summary: WorkspaceStats
) -> None:
    policy = ctx.configs.load(tenant).policy()
    tiers = tier_thresholds(ctx, tenant)
    for record, fields in ctx.store.customers_with_fields(tenant, users):
        breakdown = ctx.store.breakdown(record, policy)
        summary.customers += 1
        summary.ltv_sum_minor += breakdown.ltv_minor
        summary.average_value_sum_minor += breakdown.average_purchase_minor
        summary.frequency_sum += breakdown.purchases_per_period
        summary.tiers[tier_of(breakdown.ltv_minor, tiers)[0]] += 1
        if "feedback_sum" in fields and "feedback_count" in fields:
            summary.feedback_sum += float(fields["feedback_sum"])
            summary.feedback_count += int(fields["feedback_count"])


KNOWN_STRATEGIES = ("onboarding", "support", "proactive", "loyalty", "feedback")


def strategy_counts(ctx: BotContext, tenant: str) -> Counter[str]:
    """Outcomes per strategy from the ``sent:*`` hashes: sent, failed, claimed."""
    counts: Counter[str] = Counter()
    keys = TenantKeys(tenant)
    for strategy in KNOWN_STRATEGIES:
        for value in ctx.store.redis.hvals(keys.sent(strategy)):
            text = value.decode() if isinstance(value, bytes) else str(value)
            counts[f"{strategy} {text.partition('|')[0]}"] += 1
    return counts
