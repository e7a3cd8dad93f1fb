"""The Redis store: records events atomically and reads customers back."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

import redis

from ltv.clock import Clock
from ltv.errors import StoreUnavailableError
from ltv.events import AnyEvent, Interaction, MoneyEvent, Refund, Void
from ltv.formula import LtvBreakdown, LtvPolicy, compute_ltv
from ltv.keys import TENANTS_KEY, TenantKeys, check_user, digest

logger = logging.getLogger(__name__)

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


class RecordStatus(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    IGNORED = "ignored"


# One sentence per reason the recording script refuses or skips an event, for
# replies to people (the command layer adds the amounts it knows).
REASON_TEXT: dict[str, str] = {
    "refund_too_large": "the refund is larger than the customer's net revenue",
    "order_already_recorded": "a purchase with that order id is already recorded",
    "refund_exceeds_order": "the refund is larger than what is left of that order",
    "order_unknown": "no purchase of this customer carries that order id",
    "refund_order_changed": "an edited refund cannot name a different order",
    "edit_below_refunds": "the edited amount is below what was already refunded",
    "ref_belongs_elsewhere": "that message already records another customer's "
    "purchase or refund",
    "purchase_voided": "that purchase was deleted",
    "refund_voided": "that refund was deleted",
    "order_voided": "the order that refund names was deleted",
    "ref_unknown": "there is no purchase or refund from that message",
    "same_amount": "the amount did not change",
    "already_voided": "it was already deleted",
}


@dataclass(frozen=True, slots=True)
class RecordResult:
    status: RecordStatus
    reason: str

    @property
    def is_stored(self) -> bool:
        """True when Redis now holds the event's effect (new or already there)."""
        return self.status is not RecordStatus.REFUSED

    @property
    def reason_text(self) -> str:
        """The reason as one sentence for people, e.g. for a refused refund."""
        return REASON_TEXT.get(self.reason, self.reason.replace("_", " "))


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """A customer's running aggregates as stored, in integer units."""

    tenant: str
    user: str
    first_seen_s: int
    last_seen_s: int
    purchases: int
    revenue_minor: int
    refunds_minor: int
    interactions: int
    first_purchase_s: int | None
    last_purchase_s: int | None
    user_team: str | None

    @property
    def net_revenue_minor(self) -> int:
        return self.revenue_minor - self.refunds_minor


@dataclass(frozen=True, slots=True)
class WorkspaceTotals:
    customers: int
    purchases: int
    revenue_minor: int
    refunds_minor: int
    interactions: int

    @property
    def net_revenue_minor(self) -> int:
        return self.revenue_minor - self.refunds_minor


def load_script(name: str) -> str:
    return resources.files("ltv.scripts").joinpath(name).read_text(encoding="utf-8")


def _ms_to_s(raw: bytes | str | None) -> int | None:
    return None if raw is None else int(float(raw)) // 1000


def _as_int(raw: bytes | str | None) -> int:
    return 0 if raw is None else int(raw)


class LtvStore:
    """Every read and write of customer value goes through here."""

    def __init__(self, client: redis.Redis, *, clock: Clock) -> None:
        self.redis = client
        self.clock = clock
        self._record_script = client.register_script(load_script("record_event.lua"))

    def record(
        self, event: AnyEvent, policy: LtvPolicy, *, rebuilding: bool = False
    ) -> RecordResult:
        """Apply one event in a single atomic step; a replay is a harmless no-op."""
        args = self._script_args(event, policy, rebuilding=rebuilding)
        result = self.apply(TenantKeys(event.tenant), event.user, args)
        logger.debug(
            "event tenant=%s user=%s kind=%s status=%s",
            event.tenant,
            event.user,
            type(event).__name__,
            result.status,
        )
        return result

    def apply(self, keys: TenantKeys, user: str, args: list[str | int]) -> RecordResult:
        """Run the recording script on `keys` (live, or a rebuild's fresh keys)."""
        try:
            status, reason = self._record_script(
                keys=self._script_keys(keys, user), args=args
            )
        except REDIS_ERRORS as exc:
            raise StoreUnavailableError(f"could not record event: {exc}") from exc
        return RecordResult(RecordStatus(_text(status)), _text(reason))

    def policy_args(self, policy: LtvPolicy) -> list[str | int]:
        """ARGV[11..13] of the script: now, lifespan and period, for the LTV score."""
        return [
            self.clock.now_s() * 1000,
            str(float(policy.lifespan_periods)),
            policy.period_seconds * 1000,
        ]

    def load_scripts(self) -> None:
        """Load the script on every server (every primary of a cluster).

        A pipeline that calls it by its digest then finds it everywhere; redis-py
        loads it by itself only for plain pipelines, not cluster ones.
        """
        self.redis.script_load(self._record_script.script)

    def record_in(
        self, pipe: redis.client.Pipeline, event: AnyEvent, policy: LtvPolicy
    ) -> None:
        """Queue one event's script call on a pipeline; each call stays atomic."""
        self._record_script(
            keys=self._script_keys(TenantKeys(event.tenant), event.user),
            args=self._script_args(event, policy, rebuilding=False),
            client=pipe,
        )

    def register_tenant(self, tenant: str) -> None:
        self.redis.sadd(TENANTS_KEY, TenantKeys(tenant).tenant)

    def tenants(self) -> list[str]:
        return sorted(_text(t) for t in self.redis.smembers(TENANTS_KEY))

    @staticmethod
    def _script_keys(keys: TenantKeys, user: str) -> list[str]:
        return [
            keys.seen,
            keys.events,
            keys.customer(user),
            keys.customer_purchases(user),
            keys.purchases,
            keys.totals,
            keys.index("ltv"),
            keys.index("first_seen"),
            keys.index("last_seen"),
            keys.index("last_purchase"),
            keys.pending("onboarding"),
            keys.orders,
        ]

    def _script_args(
        self, event: AnyEvent, policy: LtvPolicy, *, rebuilding: bool
    ) -> list[str | int]:
        kind, ref, amount, currency, original, detail = _event_fields(event)
        message_key = event.message_dedupe_key if isinstance(event, Interaction) else ""
        return [
            event.event_key,
            message_key,
            kind,
            event.user,
            event.at_ms,
            ref,
            amount,
            currency,
            original,
            detail,
            *self.policy_args(policy),
            event.extra_json(),
            "1" if rebuilding else "0",
        ]

    def find_ref_owner(self, tenant: str, source_ref: str) -> str | None:
        """The customer a purchase or refund read from a message belongs to."""
        raw = self.redis.hget(TenantKeys(tenant).purchases, digest(source_ref))
        if raw is None:
            return None
        return _text(raw).split("|")[1]

    def customer(self, tenant: str, user: str) -> CustomerRecord | None:
        fields = self.redis.hgetall(TenantKeys(tenant).customer(user))
        if not fields:
            return None
        return _customer_from_hash(tenant, check_user(user), fields)

    def customers_with_fields(
        self, tenant: str, users: list[str]
    ) -> list[tuple[CustomerRecord, dict[str, str]]]:
        """Several customers in one round trip, each with its raw hash fields."""
        keys = TenantKeys(tenant)
        pipe = self.redis.pipeline(transaction=False)
        for user in users:
            pipe.hgetall(keys.customer(user))
        found = []
        for user, fields in zip(users, pipe.execute(), strict=True):
            if fields:
                raw = {_text(k): _text(v) for k, v in fields.items()}
                found.append((_customer_from_hash(tenant, user, fields), raw))
        return found

    def breakdown(self, record: CustomerRecord, policy: LtvPolicy) -> LtvBreakdown:
        """The customer's LTV as of the clock's now, computed exactly."""
        return compute_ltv(
            net_revenue_minor=record.net_revenue_minor,
            purchases=record.purchases,
            first_activity_s=record.first_seen_s,
            now_s=self.clock.now_s(),
            policy=policy,
        )

    def totals(self, tenant: str) -> WorkspaceTotals:
        raw = {
            _text(k): v
            for k, v in self.redis.hgetall(TenantKeys(tenant).totals).items()
        }
        return WorkspaceTotals(
            customers=_as_int(raw.get("customers")),
            purchases=_as_int(raw.get("purchases")),
            revenue_minor=_as_int(raw.get("revenue_minor")),
            refunds_minor=_as_int(raw.get("refunds_minor")),
            interactions=_as_int(raw.get("interactions")),
        )

    def top_customers(self, tenant: str, count: int) -> list[str]:
        """Users with the highest LTV score, best first."""
        members = self.redis.zrevrange(TenantKeys(tenant).index("ltv"), 0, count - 1)
        return [_text(m) for m in members]

    def customer_count(self, tenant: str) -> int:
        return int(self.redis.zcard(TenantKeys(tenant).index("first_seen")))

    def iter_customers(self, tenant: str, batch: int = 500):
        """Every customer of a tenant, in first-seen order, read in batches."""
        index = TenantKeys(tenant).index("first_seen")
        start = 0
        while True:
            users = self.redis.zrange(index, start, start + batch - 1)
            if not users:
                return
            yield from (_text(u) for u in users)
            start += batch

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except REDIS_ERRORS:
            return False


def _event_fields(event: AnyEvent) -> tuple[str, str, int, str, int, str]:
    if isinstance(event, Interaction):
        return "interaction", "", 0, "", 0, event.kind
    if isinstance(event, Void):
        return "void", event.ref, 0, "", 0, ""
    assert isinstance(event, MoneyEvent)
    kind = "refund" if isinstance(event, Refund) else "purchase"
    detail = event.order_digest
    return (
        kind,
        event.ref,
        event.base_amount_minor,
        event.amount.currency,
        event.amount.minor,
        detail,
    )


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _customer_from_hash(
    tenant: str, user: str, fields: Mapping[Any, Any]
) -> CustomerRecord:
    raw = {_text(k): _text(v) for k, v in fields.items()}
    return CustomerRecord(
        tenant=tenant,
        user=user,
        first_seen_s=_ms_to_s(raw.get("first_seen_ms")) or 0,
        last_seen_s=_ms_to_s(raw.get("last_seen_ms")) or 0,
        purchases=_as_int(raw.get("purchases")),
        revenue_minor=_as_int(raw.get("revenue_minor")),
        refunds_minor=_as_int(raw.get("refunds_minor")),
        interactions=_as_int(raw.get("interactions")),
        first_purchase_s=_ms_to_s(raw.get("first_purchase_ms")),
        last_purchase_s=_ms_to_s(raw.get("last_purchase_ms")),
        user_team=raw.get("user_team"),
    )
