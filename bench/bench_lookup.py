"""Benchmark: `/ltv @user` lookups with a million customers stored.

Run with `.venv/bin/python bench/bench_lookup.py [--customers 1000000]`. It
starts its own redis-server on a free loopback port (no persistence, stopped
at the end), records one purchase for each customer through the product's own
Lua script in pipelined batches, and reads INFO memory before and after to
give Redis memory per customer (customer hash, indexes, stream entry,
idempotency keys and purchase record included). It then serves the bot in
this process over HTTP and times signed `/ltv @user` slash commands from an
agent for random customers (p50/p99), and the same lookups without HTTP, at
the command handler.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import redis
from pydantic import SecretStr

from bot.commands import CommandRequest, handle_ltv_command
from bot.composition import build_runtime, redis_client_for
from bot.embedded_redis import free_port, redis_server_binary
from bot.emulator import SlackEmulator
from bot.http import HttpServer, wsgi_app
from bot.replay import SlackReplayer
from bot.settings import Settings
from ltv.clock import FixedClock
from ltv.events import Purchase
from ltv.formula import LtvPolicy
from ltv.keys import TenantKeys
from ltv.money import Money
from ltv.store import LtvStore

TEAM = "TBENCHLOOKUP"
AGENT = "UBENCHAGENT"
SECRET = "bench-lookup-secret"
NOW_S = 1_704_067_200
BATCH = 2_000
SEED = 20261204


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    binary = shutil.which("redis-server") or redis_server_binary()
    command = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(work)]
    command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    probe = redis.Redis(port=port)
    for _ in range(200):
        try:
            probe.ping()
            return process, port
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not start on port {port}")


def customer_id(n: int) -> str:
    return f"U{n:010d}"


def purchase_of(n: int) -> Purchase:
    amount = 500 + (n * 7919) % 20_000
    return Purchase(
        tenant=TEAM,
        user=customer_id(n),
        at_ms=(NOW_S - 86_400 * (1 + n % 700)) * 1000,
        event_id=f"EvL{n:010d}",
        source_ref=f"msg:CORDERS:{NOW_S - n}.000100",
        amount=Money(amount, "USD"),
        base_amount_minor=amount,
        order_id=f"{n}",
    )


def load_customers(store: LtvStore, customers: int) -> float:
    """One purchase per customer through record_event.lua, pipelined; seconds."""
    policy = LtvPolicy(period="month", lifespan_periods=Fraction(36))
    started = time.perf_counter()
    for first in range(0, customers, BATCH):
        pipe = store.redis.pipeline(transaction=False)
        for n in range(first, min(first + BATCH, customers)):
            event = purchase_of(n)
            # The store's own script, keys and arguments, queued on a pipeline
            # (LtvStore.record sends one event a round trip).
            store._record_script(
                keys=store._script_keys(TenantKeys(TEAM), event.user),
                args=store._script_args(event, policy, rebuilding=False),
                client=pipe,
            )
        pipe.execute()
        if first % 100_000 == 0:
            sys.stderr.write(f"loaded {first} customers\n")
    return time.perf_counter() - started


def used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def percentile_ms(samples: list[float], q: int) -> float:
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, len(ordered) * q // 100)]


def time_lookups(runtime, replayer, customers: int, lookups: int):
    rng = random.Random(SEED)
    over_http, in_process = [], []
    for _ in range(lookups):
        user = customer_id(rng.randrange(customers))
        fields = {
            "team_id": TEAM,
            "user_id": AGENT,
            "command": "/ltv",
            "text": f"<@{user}>",
            "channel_id": "CBENCH",
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": "t.1",
        }
        started = time.perf_counter()
        reply = replayer.post_command(fields).json()
        over_http.append(time.perf_counter() - started)
        if "LTV" not in str(reply.get("blocks")):
            raise RuntimeError(f"lookup of {user} did not answer with a card: {reply}")
        started = time.perf_counter()
        handle_ltv_command(
            runtime.ctx, CommandRequest(tenant=TEAM, caller=AGENT, text=f"<@{user}>")
        )
        in_process.append(time.perf_counter() - started)
    return over_http, in_process


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as tmp:
        process, port = start_redis(Path(tmp))
        try:
            return run(f"redis://127.0.0.1:{port}/0", args.customers, args.lookups)
        finally:
            process.terminate()
            process.wait(timeout=30)


def run(redis_url: str, customers: int, lookups: int) -> int:
    loader = redis.Redis.from_url(redis_url, socket_timeout=60)
    store = LtvStore(loader, clock=FixedClock(NOW_S))
    before = used_memory(loader)
    seconds = load_customers(store, customers)
    after = used_memory(loader)
    stored = store.customer_count(TEAM)
    sys.stdout.write(
        f"loaded {stored} customers in {seconds:.1f} s "
        f"({stored / seconds:.0f} purchases/s through record_event.lua)\n"
        f"redis used_memory {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB: "
        f"{(after - before) / stored:.0f} bytes per customer\n"
    )
    emulator = SlackEmulator(team_id=TEAM, bot_user_id="UBENCHBOT").start()
    emulator.add_user(AGENT, name="agent", real_name="Bench Agent")
    settings = Settings(
        _env_file=None,
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN=SecretStr("xoxb-bench"),
        SLACK_SIGNING_SECRET=SecretStr(SECRET),
        SLACK_API_URL=emulator.api_url,
        LTV_AGENT_USERS=AGENT,
    )
    runtime = build_runtime(
        settings, clock=FixedClock(NOW_S), redis_client=redis_client_for(redis_url)
    )
    server = HttpServer(
        wsgi_app(runtime.app, runtime.store, SECRET), "127.0.0.1", 0
    ).start()
    replayer = SlackReplayer(f"http://127.0.0.1:{server.port}/slack/events", SECRET)
    try:
        over_http, in_process = time_lookups(runtime, replayer, stored, lookups)
    finally:
        server.stop()
        runtime.close()
        emulator.stop()
    for name, samples in (("signed HTTP /ltv", over_http), ("handler", in_process)):
        sys.stdout.write(
            f"{name}: {len(samples)} lookups, p50 {percentile_ms(samples, 50):.2f} ms, "
            f"p99 {percentile_ms(samples, 99):.2f} ms, "
            f"mean {1000 * statistics.fmean(samples):.2f} ms\n"
        )
    keys = TenantKeys(TEAM)
    sys.stdout.write(f"stream entries {loader.xlen(keys.events)}\n")
    return 0 if stored == customers else 1


if __name__ == "__main__":
    sys.exit(main())
