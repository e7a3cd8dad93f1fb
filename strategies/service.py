"""The strategies as one unit: built once, then used by jobs, commands and buttons."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from ltv.clock import Clock
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfigStore
from strategies.base import BaseStrategy, StrategyDeps
from strategies.config import STRATEGIES, StrategyConfigStore
from strategies.delivery import RunReport, SendLedger
from strategies.engine import DeliveryEngine, Pacer
from strategies.facts import CustomerFacts
from strategies.feedback import FeedbackStrategy
from strategies.guards import Conversations, OptOuts, Profiles
from strategies.loyalty import LoyaltyStrategy
from strategies.messenger import Messenger
from strategies.onboarding import OnboardingStrategy
from strategies.proactive import ProactiveStrategy
from strategies.scheduling import StrategyRunner, next_run_s

CLASSES: dict[str, type[BaseStrategy]] = {
    "onboarding": OnboardingStrategy,
    "proactive": ProactiveStrategy,
    "loyalty": LoyaltyStrategy,
    "feedback": FeedbackStrategy,
}


@dataclass(frozen=True)
class StrategyRow:
    """One line of the admin list: a strategy, its schedule and its last run."""

    name: str
    enabled: bool
    cron: str
    timezone: str
    next_run_s: int | None
    last_run: dict[str, Any] | None


@dataclass
class StrategyService:
    redis: redis.Redis
    clock: Clock
    configs: StrategyConfigStore
    optouts: OptOuts
    conversations: Conversations
    ledger: SendLedger
    engine: DeliveryEngine
    strategies: dict[str, BaseStrategy]
    runner: StrategyRunner

    def rows(self, tenant: str) -> list[StrategyRow]:
        rows = []
        for name in STRATEGIES:
            s = self.configs.settings(tenant, name)
            upcoming = (
                next_run_s(s["cron"], s["timezone"], self.clock.now_s())
                if s["enabled"]
                else None
            )
            rows.append(
                StrategyRow(
                    name,
                    s["enabled"],
                    s["cron"],
                    s["timezone"],
                    upcoming,
                    self.configs.last_run(tenant, name),
                )
            )
        return rows

    def preview(self, tenant: str, name: str) -> RunReport:
        return self.strategies[name].run(tenant, dry_run=True)


def build_strategies(
    client: redis.Redis,
    *,
    clock: Clock,
    store: LtvStore,
    workspaces: WorkspaceConfigStore,
    messenger: Messenger,
    tenants: Callable[[], list[str]],
    initial: dict[str, dict[str, Any]] | None = None,
    pacer: Pacer | None = None,
    lease_s: int | None = None,
) -> StrategyService:
    """Every strategy with its guard rails, sharing one ledger and one engine."""
    ledger = (
        SendLedger(client, clock=clock, lease_s=lease_s)
        if lease_s
        else SendLedger(client, clock=clock)
    )
    optouts = OptOuts(client, clock=clock)
    conversations = Conversations(client, clock=clock)
    configs = StrategyConfigStore(client, clock=clock, initial=initial)
    engine = DeliveryEngine(
        clock=clock,
        ledger=ledger,
        messenger=messenger,
        optouts=optouts,
        conversations=conversations,
        profiles=Profiles(client, clock=clock, messenger=messenger),
        pacer=pacer,
        facts=CustomerFacts(store, workspaces=workspaces, configs=configs),
    )
    deps = StrategyDeps(client, clock, store, workspaces, configs, engine)
    strategies = {name: cls(deps) for name, cls in CLASSES.items()}
    runner = StrategyRunner(client, strategies=strategies, tenants=tenants)  # type: ignore[arg-type]
    return StrategyService(
        client,
        clock,
        configs,
        optouts,
        conversations,
        ledger,
        engine,
        strategies,
        runner,
    )
