"""A strategy process killed mid-run, then restarted: everyone welcomed exactly once.

The first run is an `ltv-bot strategies run onboarding` process, SIGKILLed while
one of its Slack calls hangs. The restart runs after the killed run's claim
lease has passed (an injected clock) and its run lock has expired in Redis.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.composition import build_runtime, redis_client_for
from ltv.clock import FixedClock, SystemClock
from ltv.events import Interaction
from ltv.formula import LtvPolicy
from ltv.store import LtvStore
from strategies.config import GUARDS, StrategyConfigStore
from strategies.delivery import DEFAULT_LEASE_S
from tests.reliability.processes import BotProcess
from tests.scenarios.conftest import harness_settings

CUSTOMERS = [f"UCRASH{n:04d}" for n in range(4)]
WAIT_S = 60.0


def seed_new_customers(own_redis, tenant: str) -> None:
    store = LtvStore(own_redis.client(), clock=FixedClock(1_700_000_000))
    store.register_tenant(tenant)
    # No quiet hours, so the test does not depend on the time of day it runs.
    configs = StrategyConfigStore(own_redis.client(), clock=SystemClock())
    for name in ("quiet_start_hour", "quiet_end_hour"):
        configs.set(tenant, GUARDS, name, "0", by="UTESTADMIN")
    for n, user in enumerate(CUSTOMERS):
        join = Interaction(
            tenant=tenant,
            user=user,
            at_ms=(1_700_000_000 + n) * 1000,
            event_id=f"EvCRASH{n:04d}",
            kind="join",
        )
        store.record(join, LtvPolicy())


def strategy_run(tmp_path: Path, own_redis, emulator) -> subprocess.Popen[bytes]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = BotProcess(tmp_path, redis_url=own_redis.url, api_url=emulator.api_url).env
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "strategies", "run", "onboarding"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def successful_posts(emulator) -> dict[str, int]:
    client = WebClient(token="xoxb-test-token", base_url=emulator.api_url)
    calls = emulator.calls("chat.postMessage")
    counts = {}
    for user in CUSTOMERS:
        dm = client.conversations_open(users=user)["channel"]["id"]
        counts[user] = sum(
            1 for c in calls if c["args"]["channel"] == dm and c["response"]["ok"]
        )
    return counts


def expire_run_lock(own_redis) -> None:
    """The killed run's lock, as it is once its TTL has passed (Redis's clock)."""
    client = own_redis.client()
    locks = list(client.scan_iter(match="ltv:*:lock:run_onboarding"))
    assert len(locks) == 1, "the killed run should still hold its lock"
    client.delete(*locks)


def kill_during_second(
    method: str, tmp_path, own_redis, tenant: str, own_emulator
) -> None:
    """Run onboarding, SIGKILL it while its second `method` call hangs, run again."""
    for user in CUSTOMERS:
        own_emulator.add_user(user, name=user.lower(), real_name=user)
    own_emulator.inject_fault(method, delay_seconds=0.001)
    own_emulator.inject_fault(method, delay_seconds=3.0)
    first = strategy_run(tmp_path / "first", own_redis, own_emulator)
    wait_for(lambda: len(own_emulator.calls(method)) >= 2, f"a second {method}")
    first.kill()
    first.wait(timeout=30)
    wait_for(
        lambda: own_emulator.calls(method)[1]["response"] is not None,
        "the hung call to finish on Slack's side",
    )
    expire_run_lock(own_redis)
    restart_after_the_lease(own_redis, tenant, own_emulator)


def restart_after_the_lease(own_redis, tenant: str, emulator) -> None:
    later = FixedClock(int(time.time()) + DEFAULT_LEASE_S + 60)
    runtime = build_runtime(
        harness_settings(emulator, own_redis.url),
        clock=later,
        redis_client=redis_client_for(own_redis.url),
        tenants=lambda: [tenant],
    )
    try:
        runtime.runner.run("onboarding")
    finally:
        runtime.close()


@pytest.mark.slow
def test_a_run_killed_while_a_post_is_in_flight_sends_it_once(
    tmp_path, own_redis, own_tenant, own_emulator
):
    seed_new_customers(own_redis, own_tenant)

    kill_during_second(
        "chat.postMessage", tmp_path, own_redis, own_tenant, own_emulator
    )

    assert successful_posts(own_emulator) == dict.fromkeys(CUSTOMERS, 1)


@pytest.mark.slow
def test_a_run_killed_before_its_post_still_welcomes_everyone_once(
    tmp_path, own_redis, own_tenant, own_emulator
):
    seed_new_customers(own_redis, own_tenant)

    kill_during_second(
        "conversations.open", tmp_path, own_redis, own_tenant, own_emulator
    )

    assert successful_posts(own_emulator) == dict.fromkeys(CUSTOMERS, 1)
