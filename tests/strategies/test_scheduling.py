"""Schedules: stable jobs, one run after downtime, DST, and live config changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from ltv.clock import FixedClock
from strategies.config import StrategyConfigStore
from strategies.scheduling import (
    MISFIRE_GRACE_S,
    ScheduleError,
    ScheduleSync,
    StrategyRunner,
    add_tenant_job,
    build_scheduler,
    job_id,
    parse_cron,
)
from tests.conftest import START_OF_2024_S

PARIS = ZoneInfo("Europe/Paris")
missed_runs: list[str] = []
ran_once = threading.Event()


def record_missed_run(name: str) -> None:
    missed_runs.append(name)
    ran_once.set()


def fire_times(cron: str, tz: str, start: datetime, count: int) -> list[datetime]:
    trigger = parse_cron(cron, tz)
    times, previous, now = [], None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        times.append(fire)
        previous, now = fire, fire.astimezone(UTC) + timedelta(seconds=1)
    return times


@pytest.mark.parametrize(
    "start", [datetime(2024, 3, 29, tzinfo=PARIS), datetime(2024, 10, 25, tzinfo=PARIS)]
)
def test_a_daily_local_job_fires_once_a_day_across_a_dst_change(start):
    times = fire_times("0 9 * * *", "Europe/Paris", start, 5)

    assert [t.astimezone(PARIS).hour for t in times] == [9] * 5
    assert [t.astimezone(PARIS).date() for t in times] == [
        start.date() + timedelta(days=n) for n in range(5)
    ]
    gaps_h = {(b - a).total_seconds() / 3600 for a, b in pairwise(times)}
    assert gaps_h <= {23.0, 24.0, 25.0}


def test_a_job_in_the_skipped_hour_still_runs_that_day_once():
    times = fire_times(
        "30 2 * * *", "Europe/Paris", datetime(2024, 3, 30, tzinfo=PARIS), 3
    )

    assert [t.astimezone(PARIS).date().day for t in times] == [30, 31, 1]


def test_a_job_in_the_repeated_hour_runs_once_that_day():
    times = fire_times(
        "30 2 * * *", "Europe/Paris", datetime(2024, 10, 26, tzinfo=PARIS), 3
    )

    assert [t.astimezone(PARIS).date().day for t in times] == [26, 27, 28]


def test_a_bad_cron_or_zone_names_the_value_and_what_was_expected():
    with pytest.raises(
        ScheduleError, match=r"schedule '0 25 \* \* \*'.*five cron fields"
    ):
        parse_cron("0 25 * * *", "UTC")
    with pytest.raises(ScheduleError, match="Nowhere/Land"):
        parse_cron("0 9 * * *", "Nowhere/Land")


def test_after_downtime_a_missed_job_runs_once_not_once_per_slot():
    missed_runs.clear()
    ran_once.clear()
    scheduler = build_scheduler()
    add_tenant_job(scheduler, "TDOWNTIME1", "loyalty", "* * * * *", "UTC")
    scheduler.start(paused=True)
    job = scheduler.get_job(job_id("TDOWNTIME1", "loyalty"))
    job.func = record_missed_run
    job.modify(
        func=record_missed_run,
        args=["loyalty"],
        next_run_time=datetime.now(UTC) - timedelta(minutes=10),
    )

    scheduler.resume()
    ran_once.wait(timeout=10)
    scheduler.shutdown(wait=True)

    assert missed_runs == ["loyalty"]
    assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (
        True,
        1,
        MISFIRE_GRACE_S,
    )


def test_a_config_change_reschedules_the_running_scheduler(redis_client, tenant):
    clock = FixedClock(START_OF_2024_S)
    configs = StrategyConfigStore(redis_client, clock=clock)
    runner = StrategyRunner(
        redis_client,
        strategies={n: object() for n in ("onboarding", "loyalty")},  # type: ignore[misc]
        tenants=lambda: [tenant],
    )
    scheduler = BackgroundScheduler()
    scheduler.start(paused=True)
    sync = ScheduleSync(scheduler, runner=runner, configs=configs)
    first = sync.sync()
    unchanged = sync.sync()

    configs.set(tenant, "loyalty", "cron", "15 8 * * *", by="UADMIN0001")
    configs.set(tenant, "onboarding", "enabled", "off", by="UADMIN0001")
    second = sync.sync()

    loyalty = scheduler.get_job(job_id(tenant, "loyalty"))
    assert (first, unchanged, second) == (1, 0, 1)
    onboarding = scheduler.get_job(job_id(tenant, "onboarding"))
    scheduler.shutdown(wait=False)
    assert "hour='8', minute='15'" in str(loyalty.trigger)
    assert onboarding is None
