"""Closing a runtime waits for a running strategy job, which releases its lock."""

from __future__ import annotations

import threading

from ltv.keys import TenantKeys
from strategies.delivery import RunReport
from strategies.scheduling import run_strategy_job

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
    bot, tenant, redis_client
):
    runtime = bot.runtime
    lock_key = TenantKeys(tenant).lock("run_onboarding")
    slow = SlowStrategy(lock_key, redis_client)
    runtime.runner.strategies["onboarding"] = slow
    runtime.runner._tenants = lambda: [tenant]
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
