"""Bot processes for multi-process tests: `ltv-bot serve` children on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.embedded_redis import free_port
from tests.scenarios.conftest import AGENT, ORDERS_CHANNEL, SIGNING_SECRET

START_TIMEOUT_S = 60.0


class BotProcess:
    """One `ltv-bot serve` in HTTP mode, its scheduler off, its log in a file."""

    def __init__(self, work_dir: Path, *, redis_url: str, api_url: str) -> None:
        self.work_dir = work_dir
        self.port = free_port()
        self.log_path = work_dir / f"bot-{self.port}.log"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "REDIS_URL": redis_url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": api_url,
            "LTV_ORDERS_CHANNELS": ORDERS_CHANNEL,
            "LTV_AGENT_USERS": AGENT,
            "LTV_SCHEDULER_ENABLED": "false",
            "LTV_DATA_DIR": str(work_dir / "var"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self) -> BotProcess:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                cwd=self.work_dir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        health = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                with urllib.request.urlopen(health, timeout=1) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"bot on port {self.port} did not become healthy: "
            f"{self.log_path.read_text(errors='replace')[-2000:]}"
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
