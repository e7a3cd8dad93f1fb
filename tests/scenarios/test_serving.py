"""Production serving: gunicorn with two workers, and a clean stop on SIGTERM."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.replay import SlackReplayer
from ltv.keys import TenantKeys
from tests.scenarios.conftest import COMMUNITY_CHANNEL, ORDERS_CHANNEL, SIGNING_SECRET

START_TIMEOUT_S = 60.0
EVENTS = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(redis_url: str, emulator, port: int, *, scheduler: bool) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": redis_url,
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": emulator.api_url,
        "LTV_ORDERS_CHANNELS": ORDERS_CHANNEL,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LTV_SCHEDULER_ENABLED": "true" if scheduler else "false",
        # The scheduler runs, but no strategy run falls inside the test (a run
        # would visit every tenant of the shared test database).
        "LTV_ONBOARDING_CRON": "0 0 1 1 *",
        "LOG_LEVEL": "INFO",
    }


class Process:
    """A bot process whose stderr is collected in the background."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 -- this interpreter, fixed args
            args, env=env, cwd=cwd, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def log(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout_s: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout_s)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def healthz(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status
    except OSError:
        return 0
    finally:
        conn.close()


def wait_healthy(port: int, process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.proc.poll() is not None:
            pytest.fail(f"bot exited early:\n{process.log()[-3000:]}")
        if healthz(port) == 200:
            return
        time.sleep(0.1)
    pytest.fail(f"bot did not answer /healthz in time:\n{process.log()[-3000:]}")


def message_event(tenant: str, n: int) -> dict:
    ts = f"1700000000.{n:06d}"
    return {
        "token": "legacy",
        "team_id": tenant,
        "api_app_id": "A0TEST",
        "type": "event_callback",
        "event_id": f"EvSRV{n:08d}",
        "event_time": 1_700_000_000,
        "event": {
            "type": "message",
            "user": f"USRV{n:05d}",
            "text": "hello",
            "channel": COMMUNITY_CHANNEL,
            "channel_type": "channel",
            "ts": ts,
            "event_ts": ts,
        },
    }


def post(replayer: SlackReplayer, payload: dict) -> int:
    """The HTTP status, or 0 when no whole answer came (Slack then retries)."""
    try:
        return replayer.post_event(payload).status
    except (OSError, http.client.HTTPException):
        return 0


GUNICORN = ["-m", "gunicorn", "-c", "python:bot.wsgi", "bot.wsgi:create_app()"]


@pytest.mark.parametrize(
    "command",
    [
        [*GUNICORN, "--workers", "2", "--bind", "127.0.0.1:{port}"],
        ["-m", "bot.cli", "serve", "--workers", "2"],
    ],
    ids=["gunicorn-command", "ltv-bot-serve-workers"],
)
def test_gunicorn_with_two_workers_answers_healthz_and_a_signed_event(
    command, redis_url, emulator, tenant, store, tmp_path
):
    port = free_port()
    env = bot_env(redis_url, emulator, port, scheduler=True)
    args = [sys.executable, *(part.format(port=port) for part in command)]
    process = Process(args, env, tmp_path)
    try:
        wait_healthy(port, process)
        replayer = SlackReplayer(
            f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET
        )

        status = post(replayer, message_event(tenant, 1))
        code = process.stop()
    finally:
        process.kill()

    assert status == 200
    assert store.customer(tenant, "USRV00001").interactions == 1
    assert code == 0, process.log()[-3000:]
    assert process.log().count("Booting worker") == 2
    assert process.log().count("worker stopped cleanly") == 2


def test_sigterm_stops_taking_events_finishes_those_in_flight_and_exits_0(
    bot, redis_url, emulator, tenant, store, tmp_path, redis_client
):
    env = bot_env(redis_url, emulator, 0, scheduler=True)
    args = [sys.executable, "-X", "faulthandler", "-m", "bot.cli", "serve"]
    process = Process(args, env, tmp_path)
    try:
        port = wait_for_port(process)
        wait_healthy(port, process)
        replayer = SlackReplayer(
            f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET
        )
        statuses = deliver_while_stopping(replayer, tenant, process)
        code = wait_for_exit(process)
    finally:
        process.kill()

    acked = [n for n, status in statuses.items() if status == 200]
    refused = [n for n, status in statuses.items() if status != 200]
    assert code == 0, process.log()[-3000:]
    assert acked, "no event was answered before the stop"
    for n in acked:
        assert store.customer(tenant, f"USRV{n:05d}") is not None, f"event {n} lost"
    assert set(statuses.values()) <= {200, 503, 0}
    # Slack retries whatever was not acknowledged; each retry counts once.
    for n in refused:
        assert bot.replayer.post_event(message_event(tenant, n)).status == 200
    assert store.totals(tenant).interactions == EVENTS
    locks = f"{TenantKeys(tenant).prefix}lock:*"
    assert list(redis_client.scan_iter(match=locks)) == []


def wait_for_exit(process: Process, timeout_s: float = 60.0) -> int:
    """The exit code; on a hang, every thread's stack (faulthandler) in the failure."""
    try:
        return process.proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.proc.send_signal(signal.SIGABRT)
        process.proc.wait(timeout=10)
        process._reader.join(timeout=5)
        pytest.fail(f"bot did not stop after SIGTERM:\n{process.log()[-6000:]}")


def wait_for_port(process: Process) -> int:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        for line in process.lines:
            if "http mode listening" in line:
                return int(line.rsplit("port=", 1)[1].split()[0])
        if process.proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"bot did not start listening:\n{process.log()[-3000:]}")


def deliver_while_stopping(
    replayer: SlackReplayer, tenant: str, process: Process
) -> dict[int, int]:
    """Posts EVENTS events from 4 clients; SIGTERM goes out after the tenth."""
    statuses: dict[int, int] = {}
    sent_signal = threading.Event()

    def one(n: int) -> None:
        statuses[n] = post(replayer, message_event(tenant, n))
        if len(statuses) >= 10 and not sent_signal.is_set():
            sent_signal.set()
            process.proc.send_signal(signal.SIGTERM)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(1, EVENTS + 1)))
    return statuses
