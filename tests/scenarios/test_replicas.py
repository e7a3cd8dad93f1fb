"""Several bot processes on one Redis: every customer gets each message once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from bot.embedded_redis import EmbeddedRedis
from bot.emulator import SlackEmulator
from bot.messenger import SlackMessenger, build_web_client
from bot.translate import join_interaction
from ltv.clock import FixedClock, SystemClock
from ltv.formula import LtvPolicy
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfig, WorkspaceConfigStore
from strategies.config import StrategyConfigStore
from strategies.engine import Pacer
from strategies.service import build_strategies
from tests.conftest import START_OF_2024_S

CUSTOMERS = [f"UREPLICA{n:03d}" for n in range(40)]
TEAM = "TREPLICAS1"


@pytest.fixture
def private_redis(tmp_path) -> redis.Redis:
    server = EmbeddedRedis(tmp_path / "redis").start()
    client = redis.Redis.from_url(server.url)
    client.url = server.url  # type: ignore[attr-defined]
    yield client
    client.close()
    server.stop()


@pytest.fixture
def directory():
    emulator = SlackEmulator(team_id=TEAM).start()
    for user in CUSTOMERS:
        emulator.add_user(user, name=user.lower(), real_name=f"R {user}")
    yield emulator
    emulator.stop()


def seed_new_customers(client: redis.Redis, clock) -> None:
    store = LtvStore(client, clock=clock)
    store.register_tenant(TEAM)
    for n, user in enumerate(CUSTOMERS):
        event = {"user": user, "event_ts": f"{clock.now_s() - 60}.{n:06d}"}
        store.record(join_interaction(TEAM, event, f"Ev{n}"), LtvPolicy())
    # No quiet hours: the processes run on the machine's clock.
    StrategyConfigStore(client, clock=clock).set(
        TEAM, "guards", "quiet_end_hour", "21", by="test"
    )


def welcomes(emulator: SlackEmulator) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in emulator.calls("chat.postMessage"):
        if call["response"]["ok"]:
            channel = call["args"]["channel"]
            counts[channel] = counts.get(channel, 0) + 1
    return counts


def test_two_bot_processes_send_each_customer_exactly_one_welcome(
    private_redis, directory, tmp_path
):
    seed_new_customers(private_redis, SystemClock())
    env = {
        **os.environ,
        "REDIS_URL": private_redis.url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": directory.api_url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot.cli", "strategies", "run", "onboarding"]
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root)

    processes = [
        subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE)  # noqa: S603
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in processes]

    counts = welcomes(directory)
    assert [p.returncode for p in processes] == [0, 0]
    assert sorted(counts) == sorted("D" + u[1:] for u in CUSTOMERS)
    assert set(counts.values()) == {1}
    assert sum("sent=" in out for out in outputs) >= 1


def test_two_replicas_racing_without_the_run_lock_still_send_once(
    private_redis, directory
):
    clock = FixedClock(START_OF_2024_S + 12 * 3600)
    seed_new_customers(private_redis, clock)
    services = [
        build_strategies(
            private_redis,
            clock=clock,
            store=LtvStore(private_redis, clock=clock),
            workspaces=WorkspaceConfigStore(private_redis, defaults=WorkspaceConfig()),
            messenger=SlackMessenger(build_web_client("xoxb-test", directory.api_url)),
            tenants=lambda: [TEAM],
            pacer=Pacer(sleep=lambda _s: None),
        )
        for _ in range(2)
    ]
    reports = []
    threads = [
        threading.Thread(
            target=lambda s=s: reports.append(s.strategies["onboarding"].run(TEAM))
        )
        for s in services
    ]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    counts = welcomes(directory)
    assert sum(r.sent for r in reports) == len(CUSTOMERS)
    assert len(counts) == len(CUSTOMERS) and set(counts.values()) == {1}


def test_the_dry_run_command_prints_who_would_get_what_and_sends_nothing(
    private_redis, directory, tmp_path
):
    seed_new_customers(private_redis, SystemClock())
    env = {
        **os.environ,
        "REDIS_URL": private_redis.url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": directory.api_url,
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = [sys.executable, "-m", "bot.cli", "strategies", "run", "onboarding"]

    done = subprocess.run(  # noqa: S603
        [*command, "--dry-run"], env=env, cwd=tmp_path, capture_output=True, timeout=120
    )

    out = done.stdout.decode()
    assert done.returncode == 0
    assert f"onboarding {TEAM}: would_send={len(CUSTOMERS)}" in out
    assert f"  {CUSTOMERS[0]} welcome: Welcome aboard, R!" in out
    assert directory.calls("chat.postMessage") == []
