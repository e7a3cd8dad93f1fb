"""Loyalty: one message per tier reached by LTV, and per purchase milestone.

The audience is read from ``idx:ltv``: its score is the LTV as of the
customer's last event, and LTV only falls while nothing happens, so everyone
at or above the lowest tier today is in that range. Each is then checked
against their exact LTV, so a refund that drops them below a tier means no
message for that tier.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ltv.formula import compute_ltv
from ltv.keys import TenantKeys
from ltv.money import currency_exponent
from strategies.base import BATCH_SIZE, DAY_S, BaseStrategy
from strategies.engine import Candidate

STRATEGY = "loyalty"
TIERS = ("gold", "silver", "bronze")
MILESTONE_LOOKBACK_DAYS = 30


class LoyaltyStrategy(BaseStrategy):
    name = STRATEGY

    def candidates(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        yield from self._tiers(tenant, settings)
        yield from self._milestones(tenant, settings)

    def thresholds_minor(
        self, tenant: str, settings: dict[str, Any]
    ) -> list[tuple[str, int]]:
        """Tiers from the highest down, with their LTV threshold in minor units."""
        currency = self.deps.workspaces.load(tenant).base_currency
        scale = 10 ** currency_exponent(currency)
        return [(tier, round(settings[tier] * scale)) for tier in TIERS]

    def _tiers(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        tiers = self.thresholds_minor(tenant, settings)
        lowest = min(minor for _, minor in tiers)
        index = TenantKeys(tenant).index("ltv")
        users = list(self.zrange_by_score(index, lowest, "+inf"))
        for user, ltv_minor in zip(users, self._exact_ltvs(tenant, users), strict=True):
            tier = next((t for t, minor in tiers if ltv_minor >= minor), None)
            if tier is None:
                continue
            yield Candidate(
                user=user,
                step="tier",
                period=tier,
                template=settings["template_tier_up"],
                facts={"tier": tier, "reward": settings[f"reward_{tier}"]},
            )

    def _exact_ltvs(self, tenant: str, users: list[str]) -> list[int]:
        """Each customer's LTV now, from their stored totals, one round trip a batch."""
        keys = TenantKeys(tenant)
        policy = self.deps.workspaces.load(tenant).policy()
        now_s = self.deps.clock.now_s()
        names = ["revenue_minor", "refunds_minor", "purchases", "first_seen_ms"]
        ltvs: list[int] = []
        for start in range(0, len(users), BATCH_SIZE):
            pipe = self.redis.pipeline(transaction=False)
            for user in users[start : start + BATCH_SIZE]:
                pipe.hmget(keys.customer(user), names)
            for revenue, refunds, purchases, first_ms in pipe.execute():
                ltvs.append(
                    compute_ltv(
                        net_revenue_minor=int(revenue or 0) - int(refunds or 0),
                        purchases=int(purchases or 0),
                        first_activity_s=int(float(first_ms or 0)) // 1000,
                        now_s=now_s,
                        policy=policy,
                    ).ltv_minor
                )
        return ltvs

    def _milestones(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        marks = {int(m) for m in str(settings["milestones"]).split(",") if m}
        if not marks:
            return
        keys = TenantKeys(tenant)
        since_ms = (self.deps.clock.now_s() - MILESTONE_LOOKBACK_DAYS * DAY_S) * 1000
        users = list(
            self.zrange_by_score(keys.index("last_purchase"), since_ms, "+inf")
        )
        pipe = self.redis.pipeline(transaction=False)
        for user in users:
            pipe.hget(keys.customer(user), "purchases")
        counts = pipe.execute() if users else []
        for user, raw in zip(users, counts, strict=True):
            purchases = int(raw or 0)
            if purchases not in marks:
                continue
            yield Candidate(
                user=user,
                step="milestone",
                period=f"m{purchases}",
                template=settings["template_milestone"],
                facts={"milestone": str(purchases)},
            )
