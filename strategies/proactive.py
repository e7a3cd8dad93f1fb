"""Proactive support: reach out to quiet customers, and flag unanswered questions.

Three triggers, each chosen from an index rather than a scan:
- inactive: ``idx:last_seen`` between the look-back and the quiet threshold,
  for customers with enough past interactions;
- at risk: customers whose BG/NBD probability of being active, from the model
  stored at ``ltv:{T}:model``, is below the threshold (skipped without a model);
- unanswered: questions in ``pending:questions`` older than the limit, sent as
  an alert to the agents' channel, never to the customer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from functools import partial
from typing import Any

import numpy as np

from ltv.errors import LtvError
from ltv.keys import TenantKeys
from ltv.predictive import BgNbdParams, compute_probability_alive
from strategies.base import BATCH_SIZE, DAY_S, BaseStrategy, day_key, text
from strategies.engine import Candidate

logger = logging.getLogger(__name__)

STRATEGY = "proactive"
MODEL_UNIT_DAYS_DEFAULT = 7.0
RECENT_BUYER_DAYS = 7


class ProactiveStrategy(BaseStrategy):
    name = STRATEGY

    def candidates(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        yield from self._inactive(tenant, settings)
        yield from self._at_risk(tenant, settings)
        yield from self._unanswered(tenant, settings)

    def _inactive(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        keys = TenantKeys(tenant)
        now_s = self.deps.clock.now_s()
        low_ms = (now_s - settings["lookback_days"] * DAY_S) * 1000
        high_ms = (now_s - settings["quiet_days"] * DAY_S) * 1000
        users = list(self.zrange_by_score(keys.index("last_seen"), low_ms, high_ms))
        for user, row in zip(
            users,
            self._fields(tenant, users, "interactions", "last_seen_ms"),
            strict=True,
        ):
            interactions, last_seen_ms = row
            if int(interactions or 0) < settings["min_interactions"]:
                continue
            last_seen_s = int(float(last_seen_ms or 0)) // 1000
            yield Candidate(
                user=user,
                step="inactive",
                period=day_key(last_seen_s),
                template=settings["template_inactive"],
                facts={"days_quiet": str((now_s - last_seen_s) // DAY_S)},
            )

    def _fields(self, tenant: str, users: list[str], *names: str) -> list[list[Any]]:
        """The named fields of each customer, one pipelined round trip per batch."""
        keys = TenantKeys(tenant)
        rows: list[list[Any]] = []
        for start in range(0, len(users), BATCH_SIZE):
            pipe = self.redis.pipeline(transaction=False)
            for user in users[start : start + BATCH_SIZE]:
                pipe.hmget(keys.customer(user), list(names))
            rows.extend(pipe.execute())
        return rows

    def load_model(self, tenant: str) -> tuple[BgNbdParams, float] | None:
        raw = {
            text(k): text(v)
            for k, v in self.redis.hgetall(TenantKeys(tenant).model).items()
        }
        values = {
            n: raw.get(n, raw.get(f"bgnbd_{n}", raw.get(f"bgnbd.{n}")))
            for n in ("r", "alpha", "a", "b")
        }
        if any(v is None for v in values.values()):
            return None
        try:
            params = BgNbdParams.from_dict(values)
        except (LtvError, ValueError, TypeError):
            logger.warning("stored model unusable tenant=%s", tenant)
            return None
        return params, float(raw.get("unit_days") or MODEL_UNIT_DAYS_DEFAULT)

    def _at_risk(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        model = self.load_model(tenant)
        if model is None:
            return
        params, unit_days = model
        now_s = self.deps.clock.now_s()
        low_ms = (now_s - settings["lookback_days"] * DAY_S) * 1000
        high_ms = (now_s - RECENT_BUYER_DAYS * DAY_S) * 1000
        users = list(
            self.zrange_by_score(
                TenantKeys(tenant).index("last_purchase"), low_ms, high_ms
            )
        )
        rows = self._fields(
            tenant, users, "purchases", "first_purchase_ms", "last_purchase_ms"
        )
        if not users:
            return
        first = np.array([float(r[1] or 0) / 1000 for r in rows])
        last = np.array([float(r[2] or 0) / 1000 for r in rows])
        unit_s = unit_days * DAY_S
        repeat = np.array([max(int(r[0] or 0) - 1, 0) for r in rows], dtype=float)
        alive = compute_probability_alive(
            params, repeat, (last - first) / unit_s, (now_s - first) / unit_s
        )
        for user, p_alive, last_s in zip(users, alive, last, strict=True):
            if p_alive >= settings["alive_threshold"]:
                continue
            yield Candidate(
                user=user,
                step="at_risk",
                period=day_key(last_s),
                template=settings["template_at_risk"],
            )

    def _unanswered(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        channel = settings["agents_channel"]
        if not channel:
            return
        conversations = self.deps.engine.conversations
        now_s = self.deps.clock.now_s()
        before_s = now_s - settings["unanswered_hours"] * 3600
        for user, asked_channel, ts in conversations.waiting_since(tenant, before_s):
            yield Candidate(
                user=user,
                step="unanswered",
                period="q" + ts.replace(".", "_"),
                template=settings["template_unanswered"],
                facts={
                    "channel": f"<#{asked_channel}>",
                    "hours_waiting": str(int((now_s - float(ts)) // 3600)),
                },
                channel=channel,
                on_settled=partial(
                    conversations.drop, tenant, f"{user}|{asked_channel}|{ts}"
                ),
            )
