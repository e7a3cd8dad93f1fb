"""Feedback: ask for a rating after a purchase or a resolved support thread.

The question carries CSAT buttons (1-5) and, when enabled, NPS buttons (0-10).
A click is stored once per question and kind, with the customer, the time and
the agent of the thread; the totals behind the averages change in the same
atomic step. A customer is not asked again within the cooldown.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

import redis

from ltv.errors import LtvError
from ltv.keys import TenantKeys, check_user
from strategies.base import DAY_S, BaseStrategy, day_key, text
from strategies.engine import Candidate

STRATEGY = "feedback"
CSAT_ACTION = "ltv_feedback_csat"
NPS_ACTION = "ltv_feedback_nps"
SCALES = {"csat": range(1, 6), "nps": range(0, 11)}

RECORD_RATING_LUA = """
-- KEYS[1] ratings hash: "slot:kind" -> JSON; KEYS[2] totals hash;
-- KEYS[3] the customer's hash (their own CSAT sum and count, for the card)
-- ARGV[1] field; ARGV[2] JSON; ARGV[3] kind; ARGV[4] score
-- Returns 1 when stored, 0 when this question was already answered.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
local kind, score = ARGV[3], tonumber(ARGV[4])
redis.call('HINCRBY', KEYS[2], kind .. '_count', 1)
redis.call('HINCRBY', KEYS[2], kind .. '_sum', score)
if kind == 'csat' then
  redis.call('HINCRBY', KEYS[3], 'feedback_count', 1)
  redis.call('HINCRBY', KEYS[3], 'feedback_sum', score)
end
if kind == 'nps' then
  if score >= 9 then redis.call('HINCRBY', KEYS[2], 'nps_promoters', 1) end
  if score <= 6 then redis.call('HINCRBY', KEYS[2], 'nps_detractors', 1) end
end
return 1
"""


class RatingError(LtvError, ValueError):
    """A rating that is not on its scale."""


def _key(tenant: str, name: str) -> str:
    return f"{TenantKeys(tenant).prefix}{name}"


def rating_blocks(kind: str, slot: str, agent: str) -> dict[str, Any]:
    action = CSAT_ACTION if kind == "csat" else NPS_ACTION
    return {
        "type": "actions",
        "block_id": f"ltv_feedback_{kind}",
        "elements": [
            {
                "type": "button",
                "action_id": f"{action}_{score}",
                "text": {"type": "plain_text", "text": str(score)},
                "value": json.dumps({"k": kind, "s": score, "slot": slot, "a": agent}),
            }
            for score in SCALES[kind]
        ],
    }


def nps_prompt() -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": "How likely are you to recommend us (0-10)?"}
        ],
    }


class FeedbackStrategy(BaseStrategy):
    name = STRATEGY

    def candidates(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        yield from self._after_resolved(tenant, settings)
        yield from self._after_purchase(tenant, settings)

    def _cooldown_reason(
        self, tenant: str, user: str, settings: dict[str, Any]
    ) -> str | None:
        asked = self.redis.zscore(_key(tenant, "feedback:asked"), user)
        cooldown_s = settings["cooldown_days"] * DAY_S
        if asked is not None and asked > self.deps.clock.now_s() - cooldown_s:
            return "cooldown"
        return None

    def _ask(
        self, tenant: str, settings: dict[str, Any], user: str, period: str, agent: str
    ) -> Candidate:
        slot = f"ask:{user}:{period}"
        blocks = [rating_blocks("csat", slot, agent)]
        if settings["ask_nps"]:
            blocks += [nps_prompt(), rating_blocks("nps", slot, agent)]
        asked_key = _key(tenant, "feedback:asked")
        return Candidate(
            user=user,
            step="ask",
            period=period,
            template=settings["template_ask"],
            extra_blocks=blocks,
            skip_reason=self._cooldown_reason(tenant, user, settings),
            on_sent=lambda: self._asked(asked_key, user),
        )

    def _drop(self, key: str, member: str) -> None:
        self.redis.zrem(key, member)

    def _asked(self, asked_key: str, user: str) -> None:
        self.redis.zadd(asked_key, {user: self.deps.clock.now_s()})

    def _after_purchase(
        self, tenant: str, settings: dict[str, Any]
    ) -> Iterator[Candidate]:
        now_s = self.deps.clock.now_s()
        low_ms = (now_s - settings["window_days"] * DAY_S) * 1000
        high_ms = (now_s - settings["after_purchase_hours"] * 3600) * 1000
        index = TenantKeys(tenant).index("last_purchase")
        users = list(self.zrange_by_score(index, low_ms, high_ms))
        scores = self.redis.zmscore(index, users) if users else []
        for user, at_ms in zip(users, scores, strict=True):
            if at_ms is None:
                continue
            yield self._ask(tenant, settings, user, "p" + day_key(at_ms / 1000), "")

    def _after_resolved(
        self, tenant: str, settings: dict[str, Any]
    ) -> Iterator[Candidate]:
        key = _key(tenant, "pending:feedback")
        due_s = self.deps.clock.now_s() - settings["after_resolved_hours"] * 3600
        for member in list(self.zrange_by_score(key, 0, due_s)):
            user, agent, thread_ts = member.split("|")
            cand = self._ask(
                tenant, settings, user, "t" + thread_ts.replace(".", "_"), agent
            )
            cand.on_settled = partial(self._drop, key, member)
            if cand.skip_reason:
                self.redis.zrem(key, member)
            yield cand


def thread_resolved(
    client: redis.Redis,
    tenant: str,
    customer: str,
    agent: str,
    thread_ts: str,
    at_s: int,
) -> None:
    """Queue a feedback question for a support thread an agent marked resolved."""
    member = f"{check_user(customer)}|{check_user(agent)}|{thread_ts}"
    client.zadd(_key(tenant, "pending:feedback"), {member: at_s}, nx=True)


def record_rating(
    client: redis.Redis,
    tenant: str,
    *,
    user: str,
    kind: str,
    score: int,
    slot: str,
    agent: str,
    at_s: int,
) -> bool:
    """Store one click; False when that question was already answered."""
    if kind not in SCALES or score not in SCALES[kind]:
        raise RatingError(
            f"rating {kind}={score!r} is off the scale; expected csat 1-5 or nps 0-10"
        )
    rating = json.dumps(
        {
            "user": check_user(user),
            "kind": kind,
            "score": score,
            "agent": agent,
            "at": at_s,
        }
    )
    stored = client.eval(
        RECORD_RATING_LUA,
        3,
        _key(tenant, "feedback:ratings"),
        _key(tenant, "feedback:totals"),
        TenantKeys(tenant).customer(user),
        f"{slot}:{kind}",
        rating,
        kind,
        score,
    )
    return bool(stored)


def feedback_averages(
    client: redis.Redis, tenant: str
) -> dict[str, float | int | None]:
    """CSAT average (1-5), NPS (-100..100) and how many answers each rests on."""
    raw = {
        text(k): int(v)
        for k, v in client.hgetall(_key(tenant, "feedback:totals")).items()
    }
    csat_n, nps_n = raw.get("csat_count", 0), raw.get("nps_count", 0)
    nps = None
    if nps_n:
        nps = 100 * (raw.get("nps_promoters", 0) - raw.get("nps_detractors", 0)) / nps_n
    return {
        "csat_average": raw.get("csat_sum", 0) / csat_n if csat_n else None,
        "csat_count": csat_n,
        "nps": nps,
        "nps_count": nps_n,
    }
