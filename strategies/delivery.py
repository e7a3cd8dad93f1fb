"""Sending exactly once: leased claims, outcomes and the send log in Redis.

A claim is a lease, not a promise. A process claims a (strategy, step,
customer, period) slot, sends, then settles the slot as sent or failed. If it
dies between claim and settle, the lease runs out and the slot is *in doubt*:
the next claimer takes it over, looks for the message in the conversation's
history by its idempotency key, and sends only if it is not there. So a crash
neither drops the message nor sends it twice.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import redis

from ltv.clock import Clock
from ltv.keys import TenantKeys, check_name, check_user

logger = logging.getLogger(__name__)

SCRIPTS = Path(__file__).parent / "scripts"
DEFAULT_LEASE_S = 10 * 60
SEND_LOG_MAXLEN = 100_000


class Outcome(StrEnum):
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    WOULD_SEND = "would_send"


class ClaimStatus(StrEnum):
    CLAIMED = "claimed"
    IN_DOUBT = "in_doubt"
    ALREADY_SENT = "already_sent"
    BUSY = "busy"
    CAPPED = "capped"


@dataclass(frozen=True, slots=True)
class Claim:
    status: ClaimStatus
    token: str
    detail: str = ""

    @property
    def may_send(self) -> bool:
        return self.status in (ClaimStatus.CLAIMED, ClaimStatus.IN_DOUBT)


@dataclass(frozen=True, slots=True)
class Preview:
    """One line of a dry run: who would get which step, and the text."""

    user: str
    step: str
    text: str


@dataclass
class RunReport:
    """What one strategy run did with each candidate, counted by outcome and reason."""

    strategy: str
    tenant: str
    counts: Counter[str] = field(default_factory=Counter)
    previews: list[Preview] = field(default_factory=list)

    def add(self, outcome: Outcome, reason: str = "") -> None:
        self.counts[f"{outcome}:{reason}" if reason else str(outcome)] += 1

    @property
    def sent(self) -> int:
        return self.counts[str(Outcome.SENT)]

    def count(self, outcome: Outcome, reason: str = "") -> int:
        return self.counts[f"{outcome}:{reason}" if reason else str(outcome)]

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.counts.items())) or "none"


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class SendLedger:
    """Claims a (strategy, step, customer, period) slot before sending, atomically."""

    def __init__(
        self, client: redis.Redis, *, clock: Clock, lease_s: int = DEFAULT_LEASE_S
    ) -> None:
        self.redis = client
        self.clock = clock
        self.lease_s = lease_s
        self._claim = client.register_script(
            (SCRIPTS / "claim_send.lua").read_text(encoding="utf-8")
        )
        self._settle = client.register_script(
            (SCRIPTS / "settle_send.lua").read_text(encoding="utf-8")
        )

    @staticmethod
    def slot(step: str, user: str, period_key: str) -> str:
        return f"{check_name(step)}:{check_user(user)}:{check_name(period_key)}"

    @staticmethod
    def idempotency_key(strategy: str, slot: str) -> str:
        return f"{check_name(strategy)}:{slot}"

    def claim(
        self, tenant: str, strategy: str, slot: str, *, user: str = "", cap_s: int = 0
    ) -> Claim:
        """Claim the slot and reserve the user's frequency cap in one step."""
        keys = TenantKeys(tenant)
        token = uuid.uuid4().hex
        status, detail = self._claim(
            keys=[keys.sent(strategy), lastmsg_key(tenant)],
            args=[slot, user, self.clock.now_s(), self.lease_s, token, cap_s],
        )
        return Claim(ClaimStatus(_text(status)), token, _text(detail))

    def settle(
        self,
        tenant: str,
        strategy: str,
        slot: str,
        claim: Claim,
        outcome: Outcome,
        *,
        user: str = "",
        detail: str = "",
    ) -> bool:
        """Mark the slot sent or failed; False if the claim was not ours any more."""
        action = "sent" if outcome is Outcome.SENT else "failed"
        return self._settle_call(tenant, strategy, slot, claim, action, user, detail)

    def release(
        self,
        tenant: str,
        strategy: str,
        slot: str,
        claim: Claim,
        *,
        user: str = "",
        reason: str = "",
    ) -> bool:
        """Give a claim back after a failure worth retrying on a later run."""
        return self._settle_call(
            tenant, strategy, slot, claim, "release", user, reason or "retry_later"
        )

    def _settle_call(
        self,
        tenant: str,
        strategy: str,
        slot: str,
        claim: Claim,
        action: str,
        user: str,
        detail: str,
    ) -> bool:
        keys = TenantKeys(tenant)
        done = self._settle(
            keys=[keys.sent(strategy), lastmsg_key(tenant), keys.send_log],
            args=[
                slot,
                claim.token,
                action,
                self.clock.now_s(),
                detail,
                user,
                strategy,
                detail,
            ],
        )
        return bool(done)

    def log_skip(self, tenant: str, strategy: str, slot: str, reason: str) -> None:
        """A candidate that was not sent to, and why, in the send log."""
        self.redis.xadd(
            TenantKeys(tenant).send_log,
            {
                "strategy": strategy,
                "slot": slot,
                "outcome": str(Outcome.SKIPPED),
                "reason": reason,
                "at": self.clock.now_s(),
            },
            maxlen=SEND_LOG_MAXLEN,
            approximate=True,
        )

    def state(self, tenant: str, strategy: str, slot: str) -> str | None:
        """The slot's state (claimed, sent, failed), or None if never claimed."""
        raw = self.redis.hget(TenantKeys(tenant).sent(strategy), slot)
        return None if raw is None else _text(raw).split("|")[0]

    def is_claimed(self, tenant: str, strategy: str, slot: str) -> bool:
        return self.state(tenant, strategy, slot) is not None

    def sent_count(self, tenant: str, strategy: str) -> int:
        values = self.redis.hvals(TenantKeys(tenant).sent(strategy))
        return sum(1 for v in values if _text(v).startswith("sent|"))

    def last_message_s(self, tenant: str, user: str) -> int | None:
        score = self.redis.zscore(lastmsg_key(tenant), user)
        return None if score is None else int(score)


def lastmsg_key(tenant: str) -> str:
    return f"{TenantKeys(tenant).prefix}lastmsg"
