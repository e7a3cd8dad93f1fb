"""APScheduler wiring: one job per strategy, run once across every bot process.

Job functions live at module level and take only the strategy's name, so the
job store never needs to pickle a live object; the running process installs
its runner once at start-up and the job looks it up.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ltv.errors import LtvError
from ltv.keys import TenantKeys
from strategies.config import StrategyConfigStore
from strategies.delivery import RunReport

logger = logging.getLogger(__name__)

MISFIRE_GRACE_S = 15 * 60
LOCK_TTL_MS = 10 * 60 * 1000

RELEASE_LOCK_LUA = """
-- KEYS[1] lock key; ARGV[1] this holder's token. Returns 1 if released.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Strategy(Protocol):
    name: str

    def run(self, tenant: str, *, dry_run: bool = False) -> RunReport: ...


class ScheduleError(LtvError, ValueError):
    """A schedule that cannot be used: a bad cron expression or time zone."""


class StrategyRunner:
    """Runs a strategy for every tenant, holding a Redis lock per tenant."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        strategies: dict[str, Strategy],
        tenants: Callable[[], list[str]],
    ) -> None:
        self.redis = client
        self.strategies = strategies
        self._tenants = tenants
        self._release = client.register_script(RELEASE_LOCK_LUA)

    def tenants(self) -> list[str]:
        return self._tenants()

    def run(self, name: str, *, dry_run: bool = False) -> list[RunReport]:
        reports = []
        for tenant in self._tenants():
            report = self.run_tenant(name, tenant, dry_run=dry_run)
            if report is not None:
                reports.append(report)
        return reports

    def run_tenant(
        self, name: str, tenant: str, *, dry_run: bool = False
    ) -> RunReport | None:
        """One run for one tenant; None when another process holds its lock."""
        strategy = self.strategies[name]
        if dry_run:
            return strategy.run(tenant, dry_run=True)
        with self.tenant_lock(tenant, name) as acquired:
            if not acquired:
                logger.info(
                    "strategy run skipped strategy=%s tenant=%s "
                    "reason=another_process_holds_the_lock",
                    name,
                    tenant,
                )
                return None
            return strategy.run(tenant)

    @contextmanager
    def tenant_lock(self, tenant: str, name: str) -> Iterator[bool]:
        key = TenantKeys(tenant).lock(f"run_{name}")
        token = uuid.uuid4().hex
        acquired = bool(self.redis.set(key, token, nx=True, px=LOCK_TTL_MS))
        try:
            yield acquired
        finally:
            if acquired:
                self._release(keys=[key], args=[token])


_runner_lock = threading.Lock()
_runner: StrategyRunner | None = None


def install_runner(runner: StrategyRunner | None) -> None:
    """Make this process's runner the one that scheduled jobs use."""
    global _runner
    with _runner_lock:
        _runner = runner


def run_strategy_job(strategy: str) -> None:
    """The scheduled job: never raises, so a bad run cannot stop the scheduler."""
    with _runner_lock:
        runner = _runner
    if runner is None:
        logger.warning("strategy job has no runner strategy=%s", strategy)
        return
    try:
        runner.run(strategy)
    except Exception:
        logger.exception("strategy job failed strategy=%s", strategy)


def run_tenant_strategy_job(tenant: str, strategy: str) -> None:
    """The scheduled job of one tenant's strategy; never raises."""
    with _runner_lock:
        runner = _runner
    if runner is None:
        logger.warning("strategy job has no runner strategy=%s", strategy)
        return
    try:
        runner.run_tenant(strategy, tenant)
    except Exception:
        logger.exception("strategy job failed tenant=%s strategy=%s", tenant, strategy)


class WallClockCronTrigger(CronTrigger):
    """A cron trigger that fires once per wall-clock time, even when DST repeats it.

    When clocks go back, 02:30 happens twice; APScheduler's CronTrigger fires
    at both. This skips the second, so a daily job runs once that day too.
    """

    def get_next_fire_time(self, previous_fire_time, now):  # type: ignore[no-untyped-def]
        fire = super().get_next_fire_time(previous_fire_time, now)
        if fire is None or previous_fire_time is None:
            return fire
        if _wall(fire, self.timezone) == _wall(previous_fire_time, self.timezone):
            after = fire.astimezone(UTC) + timedelta(seconds=1)
            return super().get_next_fire_time(fire, after)
        return fire


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def parse_cron(expression: str, timezone: str) -> CronTrigger:
    try:
        return WallClockCronTrigger.from_crontab(expression, timezone=timezone)
    except (ValueError, LookupError) as exc:
        raise ScheduleError(
            f"schedule {expression!r} in time zone {timezone!r} is not usable: "
            f"{exc}; expected five cron fields such as '0 9 * * 1-5'"
        ) from exc


def build_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_S,
        }
    )


def schedule_strategy(
    scheduler: BackgroundScheduler,
    strategy: str,
    cron: str,
    timezone: str,
    *,
    every_seconds: int | None = None,
) -> None:
    """Add or replace the strategy's job; ``every_seconds`` overrides the cron."""
    trigger = (
        IntervalTrigger(seconds=every_seconds)
        if every_seconds
        else parse_cron(cron, timezone)
    )
    scheduler.add_job(
        run_strategy_job,
        trigger=trigger,
        args=[strategy],
        id=f"strategy:{strategy}",
        name=f"strategy {strategy}",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_S,
    )


def job_id(tenant: str, strategy: str) -> str:
    return f"strategy:{tenant}:{strategy}"


class ScheduleSync:
    """Keeps this process's jobs in step with the schedules admins store in Redis.

    Every process calls ``sync`` on a short interval: it compares each
    tenant's config version with the one it last applied and re-adds the jobs
    of a tenant whose version moved, so a change made on any replica takes
    effect everywhere without a restart.
    """

    def __init__(
        self,
        scheduler: BackgroundScheduler,
        *,
        runner: StrategyRunner,
        configs: StrategyConfigStore,
    ) -> None:
        self.scheduler = scheduler
        self.runner = runner
        self.configs = configs
        self._applied: dict[str, int] = {}

    def sync(self) -> int:
        """Apply every tenant whose version changed; returns how many were."""
        changed = 0
        for tenant in self.runner.tenants():
            version = self.configs.version(tenant)
            if self._applied.get(tenant) == version:
                continue
            self.apply(tenant)
            self._applied[tenant] = version
            changed += 1
        return changed

    def apply(self, tenant: str) -> None:
        for name in self.runner.strategies:
            settings = self.configs.settings(tenant, name)
            existing = self.scheduler.get_job(job_id(tenant, name))
            if not settings["enabled"]:
                if existing is not None:
                    self.scheduler.remove_job(job_id(tenant, name))
                continue
            add_tenant_job(
                self.scheduler, tenant, name, settings["cron"], settings["timezone"]
            )
        logger.info("schedules applied tenant=%s", tenant)


def add_tenant_job(
    scheduler: BackgroundScheduler, tenant: str, strategy: str, cron: str, timezone: str
) -> None:
    scheduler.add_job(
        run_tenant_strategy_job,
        trigger=parse_cron(cron, timezone),
        args=[tenant, strategy],
        id=job_id(tenant, strategy),
        name=f"strategy {strategy} for {tenant}",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_S,
    )


_sync_lock = threading.Lock()
_sync: ScheduleSync | None = None


def install_sync(sync: ScheduleSync | None) -> None:
    global _sync
    with _sync_lock:
        _sync = sync


def sync_schedules_job() -> None:
    """The periodic job that re-reads schedules; never raises."""
    with _sync_lock:
        sync = _sync
    if sync is None:
        return
    try:
        sync.sync()
    except Exception:
        logger.exception("schedule sync failed")


def schedule_sync(scheduler: BackgroundScheduler, every_seconds: int) -> None:
    scheduler.add_job(
        sync_schedules_job,
        trigger=IntervalTrigger(seconds=every_seconds),
        id="strategies:sync",
        name="strategy schedule sync",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=every_seconds,
    )


def next_run_s(cron: str, timezone: str, after_s: int) -> int | None:
    """When a schedule fires next after ``after_s``, for display."""
    after = datetime.fromtimestamp(after_s, tz=UTC)
    fire = parse_cron(cron, timezone).get_next_fire_time(None, after)
    return None if fire is None else int(fire.timestamp())
