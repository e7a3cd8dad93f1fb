"""Benchmark: signed Slack event deliveries over HTTP, the bot beside a no-op app.

Run with `.venv/bin/python bench/bench_load.py [--events 3000] [--clients 8]`.
It starts its own redis-server (the embedded one) on a free loopback port, the
Slack Web API emulator, the bot as an `ltv-bot serve` child process in HTTP
mode, and a no-op Bolt app served by the same server class behind the same
WSGI wrapper and signing check, also in a child process. Several client threads
post signed order-notice events to each in turn, one connection per request as
Slack does; a tenth of the deliveries are sent again as Slack retries. It
prints events per second and p50/p99 acknowledgement latency for both, their
ratio, and checks afterwards that the bot's totals hold every purchase exactly
once. Everything is on loopback, bounded in count and in time (--max-seconds).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from bot.embedded_redis import EmbeddedRedis, free_port
from bot.emulator import SlackEmulator
from bot.replay import SlackReplayer

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench-token"
TEAM = "TBENCHLOAD1"
ORDERS = "CBENCHORDERS"
CUSTOMERS = 500
RETRY_SHARE = 10


@dataclass
class LoadResult:
    name: str
    sent: int
    acknowledged: int
    seconds: float
    latencies_s: list[float]

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds

    def percentile_ms(self, q: int) -> float:
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, len(ordered) * q // 100)]


def purchase(n: int) -> tuple[dict[str, Any], int]:
    user = f"UB{n % CUSTOMERS:08d}"
    amount_minor = 100 + n % 9_900
    text = (
        f"Order {n} paid: ${amount_minor // 100}.{amount_minor % 100:02d} by <@{user}>"
    )
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BSHOP01",
        "text": text,
        "channel": ORDERS,
        "ts": f"{1_700_000_000 + n}.000100",
    }
    payload = {
        "token": "legacy",
        "team_id": TEAM,
        "api_app_id": "A0BENCH",
        "type": "event_callback",
        "event_id": f"EvB{n:010d}",
        "event_time": 1_700_000_000 + n,
        "event": event,
    }
    return payload, amount_minor


def deliveries(events: int) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """Each purchase once, and every tenth one again as Slack's retry."""
    plan = []
    for n in range(events):
        payload, _ = purchase(n)
        plan.append((payload, {}))
        if n % RETRY_SHARE == 0:
            plan.append((payload, {"X-Slack-Retry-Num": "1"}))
    return plan


def run_load(
    name: str, url: str, events: int, clients: int, max_seconds: float
) -> LoadResult:
    replayer = SlackReplayer(url, SECRET, timeout_s=10)
    plan = deliveries(events)
    deadline = time.monotonic() + max_seconds
    latencies: list[float] = []
    acknowledged = 0
    lock = threading.Lock()

    def send(item: tuple[dict[str, Any], dict[str, str]]) -> None:
        nonlocal acknowledged
        if time.monotonic() > deadline:
            return
        started = time.perf_counter()
        status = replayer.post_event(item[0], extra_headers=item[1]).status
        elapsed = time.perf_counter() - started
        with lock:
            latencies.append(elapsed)
            acknowledged += 200 <= status < 300

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(send, plan))
    seconds = time.perf_counter() - started
    return LoadResult(name, len(latencies), acknowledged, seconds, latencies)


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def start_child(args: list[str], env: dict[str, str], port: int, cwd: Path):
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL
    )
    wait_healthy(port, process)
    return process


def bot_env(redis_url: str, api_url: str, port: int, data_dir: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "REDIS_URL": redis_url,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": api_url,
        "LTV_ORDERS_CHANNELS": ORDERS,
        "LTV_SCHEDULER_ENABLED": "false",
        "LTV_DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
    }


def serve_noop(port: int, api_url: str, redis_url: str) -> None:
    """The same server class and WSGI wrapper around a Bolt app that only acks.

    The wrapper's health check and metrics read the bench's Redis; the app
    itself touches nothing per event.
    """
    from slack_bolt import App
    from slack_sdk import WebClient

    from bot.http import HttpServer, wsgi_app
    from ltv.clock import SystemClock
    from ltv.store import LtvStore

    app = App(
        client=WebClient(token=TOKEN, base_url=api_url),
        signing_secret=SECRET,
        process_before_response=True,
        token_verification_enabled=False,
    )
    app.event("message")(lambda ack: ack())
    store = LtvStore(redis.Redis.from_url(redis_url), clock=SystemClock())
    server = HttpServer(wsgi_app(app, store, SECRET), "127.0.0.1", port)
    server.serve_forever()


def check_exactly_once(client: redis.Redis, events: int) -> bool:
    """The bot's totals against every purchase sent, retries included once."""
    expected_minor = sum(purchase(n)[1] for n in range(events))
    totals = client.hgetall(f"ltv:{{{TEAM}}}:totals")
    purchases = int(totals.get(b"purchases", 0))
    revenue = int(totals.get(b"revenue_minor", 0))
    stream = int(client.xlen(f"ltv:{{{TEAM}}}:events"))
    ok = (purchases, revenue, stream) == (events, expected_minor, events)
    sys.stdout.write(
        f"exact count check: {'OK' if ok else 'FAILED'}: purchases {purchases} "
        f"(expected {events}), revenue_minor {revenue} (expected "
        f"{expected_minor}), stream entries {stream}\n"
    )
    return ok


def report(bot: LoadResult, noop: LoadResult) -> None:
    for r in (noop, bot):
        sys.stdout.write(
            f"{r.name:>5}: {r.sent} deliveries ({r.acknowledged} acknowledged) in "
            f"{r.seconds:.2f} s = {r.per_second:.0f} events/s; ack latency "
            f"p50 {r.percentile_ms(50):.1f} ms, p99 {r.percentile_ms(99):.1f} ms, "
            f"mean {1000 * statistics.fmean(r.latencies_s):.1f} ms\n"
        )
    sys.stdout.write(
        f"ratio bot/no-op: throughput {bot.per_second / noop.per_second:.2f}, "
        f"p50 latency {bot.percentile_ms(50) / noop.percentile_ms(50):.2f}x, "
        f"p99 latency {bot.percentile_ms(99) / noop.percentile_ms(99):.2f}x\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--serve-noop", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--api-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_noop is not None:
        serve_noop(args.serve_noop, args.api_url, args.redis_url)
        return 0
    return run_bench(args.events, args.clients, args.max_seconds)


def run_bench(events: int, clients: int, max_seconds: float) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        work = Path(tmp)
        embedded = EmbeddedRedis(work / "redis").start()
        emulator = SlackEmulator(team_id=TEAM, bot_user_id="UBENCHBOT").start()
        bot_port, noop_port = free_port(), free_port()
        env = bot_env(embedded.url, emulator.api_url, bot_port, work / "var")
        children = []
        try:
            children.append(
                start_child(["-m", "bot.cli", "serve"], env, bot_port, work)
            )
            noop_args = [
                __file__,
                "--serve-noop",
                str(noop_port),
                "--api-url",
                emulator.api_url,
                "--redis-url",
                embedded.url,
            ]
            noop_env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
            children.append(start_child(noop_args, noop_env, noop_port, work))
            url = "http://127.0.0.1:{}/slack/events"
            noop = run_load(
                "no-op", url.format(noop_port), events, clients, max_seconds
            )
            bot = run_load("bot", url.format(bot_port), events, clients, max_seconds)
            report(bot, noop)
            if bot.sent < len(deliveries(events)):
                sys.stdout.write("stopped at --max-seconds: no count check\n")
                return 1
            ok = check_exactly_once(redis.Redis.from_url(embedded.url), events)
            return 0 if ok and bot.acknowledged == bot.sent else 1
        finally:
            for child in children:
                child.terminate()
                child.wait(timeout=15)
            emulator.stop()
            embedded.stop()


if __name__ == "__main__":
    sys.exit(main())
