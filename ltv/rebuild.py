"""Rebuild every aggregate and index of a tenant from its event stream.

The stream is the source of truth. A rebuild replays it, oldest first, through
the same recording script into fresh keys under ``ltv:{T}:rebuild:``, then
swaps them in with one atomic script that refuses if an event arrived after
the last one replayed; the rebuild then replays the new events and tries again.
Live recording never stops, readers never see a half-built state, and a crash
mid-rebuild leaves the live keys untouched (the next rebuild clears the shadow
keys first). The idempotency set, onboarding queue, send ledger, settings and
model are not derived from the stream and are kept as they are.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ltv.errors import LtvError
from ltv.formula import LtvPolicy
from ltv.keys import TenantKeys
from ltv.store import LtvStore, RecordStatus, load_script

logger = logging.getLogger(__name__)

REPLAY_BATCH = 1000
MAX_SWAP_ATTEMPTS = 20
LOCK_TTL_MS = 60 * 60 * 1000
SHADOW_SCAN_COUNT = 1000
# Customer-hash fields the recording script computes; others are carried over.
COMPUTED_FIELDS = (
    "first_seen_ms",
    "last_seen_ms",
    "user_team",
    "interactions",
    "purchases",
    "revenue_minor",
    "refunds_minor",
    "currency_last",
    "first_purchase_ms",
    "last_purchase_ms",
    "ltv_score",
)
# Stream entry fields in the order of the script's ARGV[1..10], then ARGV[14].
EVENT_FIELDS = ("e", "m", "k", "u", "t", "r", "a", "c", "o", "d")


class RebuildError(LtvError, RuntimeError):
    """A rebuild that could not finish; the live keys are unchanged."""


class ShadowKeys(TenantKeys):
    """A tenant's key names under the rebuild prefix, in the same hash slot."""

    def __init__(self, tenant: str) -> None:
        super().__init__(tenant)
        self.live_prefix = self.prefix
        self.prefix = f"{self.prefix}rebuild:"


@dataclass(frozen=True, slots=True)
class RebuildReport:
    tenant: str
    events: int
    customers: int
    swap_attempts: int


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Rebuilder:
    """Replays a tenant's stream into fresh keys and swaps them in."""

    def __init__(self, store: LtvStore, *, policy: Callable[[str], LtvPolicy]) -> None:
        self.store = store
        self.redis = store.redis
        self._policy = policy
        self._swap = self.redis.register_script(load_script("swap_rebuild.lua"))

    def rebuild(self, tenant: str) -> RebuildReport:
        """Recompute the tenant's aggregates and indexes from its stream."""
        lock = TenantKeys(tenant).lock("rebuild")
        token = uuid.uuid4().hex
        if not self.redis.set(lock, token, nx=True, px=LOCK_TTL_MS):
            raise RebuildError(f"a rebuild of tenant {tenant} is already running")
        try:
            return self._rebuild_locked(tenant)
        finally:
            if self.redis.get(lock) == token.encode():
                self.redis.delete(lock)

    def _rebuild_locked(self, tenant: str) -> RebuildReport:
        self.clear_shadow(tenant)
        last_id, replayed = "0-0", 0
        for attempt in range(1, MAX_SWAP_ATTEMPTS + 1):
            last_id, count = self.replay(tenant, after_id=last_id)
            replayed += count
            if self.swap(tenant, last_id):
                report = RebuildReport(
                    tenant, replayed, self.store.customer_count(tenant), attempt
                )
                logger.info(
                    "rebuild finished tenant=%s events=%s customers=%s attempts=%s",
                    tenant,
                    report.events,
                    report.customers,
                    attempt,
                )
                return report
        self.clear_shadow(tenant)
        raise RebuildError(
            f"tenant {tenant} kept receiving events: the rebuild could not catch "
            f"up in {MAX_SWAP_ATTEMPTS} attempts; the live keys are unchanged"
        )

    def clear_shadow(self, tenant: str) -> None:
        pattern = f"{ShadowKeys(tenant).prefix}*"
        batch = list(self.redis.scan_iter(match=pattern, count=SHADOW_SCAN_COUNT))
        for start in range(0, len(batch), 500):
            self.redis.delete(*batch[start : start + 500])

    def replay(self, tenant: str, *, after_id: str) -> tuple[str, int]:
        """Apply stream entries after `after_id` to the shadow keys, in order."""
        keys, live = ShadowKeys(tenant), TenantKeys(tenant)
        policy_args = self.store.policy_args(self._policy(tenant))
        last_id, count = after_id, 0
        while True:
            entries = self.redis.xrange(
                live.events, min=f"({last_id}", count=REPLAY_BATCH
            )
            if not entries:
                return last_id, count
            for entry_id, fields in entries:
                self._apply_entry(keys, fields, policy_args)
                last_id, count = _text(entry_id), count + 1

    def _apply_entry(
        self,
        keys: ShadowKeys,
        fields: Any,
        policy_args: list[str | int],
    ) -> None:
        values = {_text(k): _text(v) for k, v in fields.items()}
        args: list[str | int] = [values.get(name, "") for name in EVENT_FIELDS]
        args += [*policy_args, values.get("x", "{}"), "1"]
        result = self.store.apply(keys, values["u"], args)
        if result.status is not RecordStatus.RECORDED:
            logger.warning(
                "rebuild replay not recorded tenant=%s user=%s status=%s reason=%s",
                keys.tenant,
                values["u"],
                result.status,
                result.reason,
            )

    def swap(self, tenant: str, last_id: str) -> bool:
        """Swap the rebuilt keys in, unless the stream moved past `last_id`."""
        keys = ShadowKeys(tenant)
        status, _ = self._swap(
            keys=[TenantKeys(tenant).events],
            args=[keys.live_prefix, keys.prefix, last_id, *COMPUTED_FIELDS],
        )
        return _text(status) == "swapped"
