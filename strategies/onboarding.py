"""Onboarding: a welcome, tips after a few days, a check-in after a week.

New customers wait in ``pending:onboarding`` (filled when their first event is
recorded). The welcome moves them to ``pending:onboarding_next``, scored by when
it was sent; the later steps are timed from the welcome, so a customer whose
history was imported long ago still gets the sequence in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from ltv.keys import TenantKeys
from strategies.base import DAY_S, BaseStrategy
from strategies.engine import Candidate

STRATEGY = "onboarding"
WELCOME_STEP = "welcome"
FOLLOW_UPS = (("tips", "tips_after_days"), ("checkin", "checkin_after_days"))


class OnboardingStrategy(BaseStrategy):
    name = STRATEGY

    def _next_key(self, tenant: str) -> str:
        return f"{TenantKeys(tenant).prefix}pending:onboarding_next"

    def candidates(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        pending = TenantKeys(tenant).pending(STRATEGY)
        for user in list(self.zrange_by_score(pending, "-inf", "+inf")):
            yield Candidate(
                user=user,
                step=WELCOME_STEP,
                period="once",
                template=settings["template_welcome"],
                on_settled=partial(self._welcomed, tenant, user),
            )
        yield from self._follow_ups(tenant, settings)

    def _follow_ups(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        now_s = self.deps.clock.now_s()
        first_due = min(settings[days] for _, days in FOLLOW_UPS) * DAY_S
        due = list(self.zrange_by_score(self._next_key(tenant), 0, now_s - first_due))
        scores = self.redis.zmscore(self._next_key(tenant), due) if due else []
        for user, welcomed_s in zip(due, scores, strict=True):
            step = self._due_step(tenant, user, settings, now_s - int(welcomed_s or 0))
            if step is None:
                continue
            name, is_last = step
            yield Candidate(
                user=user,
                step=name,
                period="once",
                template=settings[f"template_{name}"],
                on_settled=partial(self._finished, tenant, user) if is_last else None,
            )

    def _due_step(
        self, tenant: str, user: str, settings: dict[str, Any], age_s: int
    ) -> tuple[str, bool] | None:
        """The first follow-up that is due and not yet settled."""
        for index, (name, days) in enumerate(FOLLOW_UPS):
            slot = self.deps.engine.ledger.slot(name, user, "once")
            if self.deps.engine.ledger.state(tenant, STRATEGY, slot) in (
                "sent",
                "failed",
            ):
                continue
            if age_s < settings[days] * DAY_S:
                return None
            return name, index == len(FOLLOW_UPS) - 1
        self._finished(tenant, user)
        return None

    def _welcomed(self, tenant: str, user: str) -> None:
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(TenantKeys(tenant).pending(STRATEGY), user)
        pipe.zadd(self._next_key(tenant), {user: self.deps.clock.now_s()}, nx=True)
        pipe.execute()

    def _finished(self, tenant: str, user: str) -> None:
        self.redis.zrem(self._next_key(tenant), user)
