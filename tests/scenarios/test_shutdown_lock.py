"""Closing a runtime waits for a running strategy job, which releases its lock."""

from __future__ import annotations

import threading

from bot.composition import build_runtime
from ltv.keys import TenantKeys
from strategies.delivery import RunReport
from strategies.scheduling import run_strategy_job
from tests.conftest import client_for
from tests.scenarios.conftest import harness_settings

WAIT_S = 10.0


class SlowStrategy:
    """Holds its run open until told to finish, so a shutdown can meet it running."""

    name = "onboarding"

    def __init__(self, lock_key: str, client) -> None:
        self.lock_key = lock_key
        self.redis = client
        self.started = threading.Event()
        self.release = threading.Event()
        self.lock_seen_while_running = False
        self.finished = False

    def run(self, tenant: str, *, dry_run: bool = False) -> RunReport:
        self.lock_seen_while_running = bool(self.redis.exists(self.lock_key))
        self.started.set()
        self.release.wait(WAIT_S)
        self.finished = True
        return RunReport(strategy=self.name, tenant=tenant)


def test_close_waits_for_the_running_job_and_the_lock_is_released(
    emulator, redis_url, tenant, redis_client, clock
):
    # A client of its own: close() closes it, and a closed cluster client
    # cannot be used again by the fixtures' clean-up.
    runtime = build_runtime(
        harness_settings(emulator, redis_url),
        clock=clock,
        redis_client=client_for(redis_url),
        tenants=lambda: [tenant],
    )
    lock_key = TenantKeys(tenant).lock("run_onboarding")
    slow = SlowStrategy(lock_key, redis_client)
    runtime.runner.strategies["onboarding"] = slow
    runtime.start_scheduler(every_seconds=3600)
    runtime.scheduler.add_job(run_strategy_job, args=["onboarding"], id="now")
    assert slow.started.wait(WAIT_S)

    closer = threading.Thread(target=runtime.close)
    closer.start()
    closer.join(timeout=0.3)
    still_closing = closer.is_alive()
    slow.release.set()
    closer.join(timeout=WAIT_S)

    assert slow.lock_seen_while_running
    assert still_closing, "close() returned while a strategy job was still sending"
    assert not closer.is_alive()
    assert slow.finished
    assert not redis_client.exists(lock_key)
