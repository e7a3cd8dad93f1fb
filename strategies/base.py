"""What every strategy shares: its dependencies and the run loop."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from ltv.clock import Clock
from ltv.keys import TenantKeys
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfigStore
from strategies.config import GUARDS, StrategyConfigStore
from strategies.delivery import RunReport
from strategies.engine import Candidate, DeliveryEngine

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
DAY_S = 86_400


@dataclass(frozen=True)
class StrategyDeps:
    redis: redis.Redis
    clock: Clock
    store: LtvStore
    workspaces: WorkspaceConfigStore
    configs: StrategyConfigStore
    engine: DeliveryEngine


def text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def day_key(at_s: float) -> str:
    """A period key naming the UTC day of ``at_s``, e.g. d20240101."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(at_s, tz=UTC).strftime("d%Y%m%d")


class BaseStrategy:
    """Runs: read settings, choose candidates from indexes, deliver each."""

    name = "base"

    def __init__(self, deps: StrategyDeps) -> None:
        self.deps = deps
        self.redis = deps.redis
        self.keys_of = TenantKeys

    def run(self, tenant: str, *, dry_run: bool = False) -> RunReport:
        settings = self.deps.configs.settings(tenant, self.name)
        guards = self.deps.configs.settings(tenant, GUARDS)
        report = RunReport(strategy=self.name, tenant=tenant)
        for cand in self.candidates(tenant, settings):
            self.deps.engine.deliver(
                tenant, self.name, cand, guards, report, dry_run=dry_run
            )
        if not dry_run:
            self.deps.configs.record_run(
                tenant, self.name, self.deps.clock.now_s(), report.summary()
            )
        logger.info(
            "strategy run strategy=%s tenant=%s dry_run=%s %s",
            self.name,
            tenant,
            dry_run,
            report.summary(),
        )
        return report

    def candidates(self, tenant: str, settings: dict[str, Any]) -> Iterator[Candidate]:
        raise NotImplementedError

    def zrange_by_score(
        self, key: str, low: float | str, high: float | str
    ) -> Iterator[str]:
        """Members scored in [low, high], read in batches (one round trip each)."""
        offset = 0
        while True:
            batch = self.redis.zrangebyscore(
                key, low, high, start=offset, num=BATCH_SIZE
            )
            yield from (text(m) for m in batch)
            if len(batch) < BATCH_SIZE:
                return
            offset += BATCH_SIZE
