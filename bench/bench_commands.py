"""Benchmark: /ltv answers against Slack's 3-second deadline, over loopback.

Run with `.venv/bin/python bench/bench_commands.py`. Starts the Slack
emulator, the bot in HTTP mode and uses the Redis at LTV_BENCH_REDIS_URL
(default 127.0.0.1:6379 database 13) under a fresh tenant whose keys are
deleted at the end. Records CUSTOMERS customers with one purchase each, then
times signed /ltv requests end to end (sign, post, Bolt, Redis, reply): a
card lookup, a lookup by bare name (users.list), `top 25` and `stats`.
Prints the median, 95th percentile and maximum milliseconds of each and how
many answers arrived late (deferred to response_url). Bounded in count.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable

import redis

from bot.composition import build_runtime
from bot.emulator import SlackEmulator
from bot.http import HttpServer, wsgi_app
from bot.replay import SlackReplayer
from bot.settings import Settings
from ltv.clock import FixedClock
from ltv.events import Purchase
from ltv.money import Money

CUSTOMERS = 2_000
LOOKUPS = 200
SLOW_REPEATS = 10
SECRET = "bench-secret"
AGENT = "UBENCHAGENT"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def seed(runtime, tenant: str) -> None:  # type: ignore[no-untyped-def]
    policy = runtime.ctx.configs.load(tenant).policy()
    for i in range(CUSTOMERS):
        user = f"UB{i:08d}"
        purchase = Purchase(
            tenant=tenant,
            user=user,
            at_ms=1_700_000_000_000 + i * 1000,
            event_id=f"bench-{i}",
            source_ref=f"bench-{i}",
            amount=Money(1000 + i, "USD"),
            base_amount_minor=1000 + i,
        )
        runtime.store.record(purchase, policy)


def timed(label: str, runs: int, send: Callable[[], dict]) -> None:
    samples, late, first = [], 0, ""
    for _ in range(runs):
        started = time.perf_counter()
        reply = send()
        first = first or reply["text"][:48].replace("\n", " ")
        samples.append((time.perf_counter() - started) * 1000)
        late += reply["text"].startswith("Working on it")
    print(
        f"{label:<18} n={runs:<4} median={statistics.median(samples):7.1f} ms  "
        f"p95={percentile(samples, 0.95):7.1f} ms  max={max(samples):7.1f} ms  "
        f"deferred={late}  answer: {first!r}"
    )


def main() -> None:
    url = os.environ.get("LTV_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    client = redis.Redis.from_url(url)
    tenant = "T" + uuid.uuid4().hex[:10].upper()
    emulator = SlackEmulator(team_id=tenant).start()
    emulator.add_user(AGENT, name="agent")
    emulator.add_user("UB00000007", name="seven")
    settings = Settings(
        _env_file=None,
        REDIS_URL=url,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=emulator.api_url,
        LTV_AGENT_USERS=AGENT,
    )
    runtime = build_runtime(
        settings, clock=FixedClock(1_704_067_200), redis_client=client
    )
    server = HttpServer(
        wsgi_app(runtime.app, runtime.store, SECRET), "127.0.0.1", 0
    ).start()
    replayer = SlackReplayer(f"http://127.0.0.1:{server.port}/slack/events", SECRET)

    def command(text: str) -> dict:
        fields = {
            "team_id": tenant,
            "user_id": AGENT,
            "command": "/ltv",
            "text": text,
            "channel_id": "CBENCH01",
            "response_url": emulator.response_url("bench"),
            "trigger_id": uuid.uuid4().hex,
        }
        return replayer.post_command(fields).json()

    try:
        started = time.perf_counter()
        seed(runtime, tenant)
        print(f"seeded {CUSTOMERS} customers in {time.perf_counter() - started:.2f} s")
        timed("lookup <@U…>", LOOKUPS, lambda: command("<@UB00000007>"))
        timed("lookup by name", LOOKUPS, lambda: command("seven"))
        timed("top 25", SLOW_REPEATS, lambda: command("top 25"))
        timed("stats", SLOW_REPEATS, lambda: command("stats"))
        runtime.app.replies.wait_idle(30)
    finally:
        server.stop()
        emulator.stop()
        keys = list(client.scan_iter(match=f"ltv:{{{tenant}}}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.srem("ltv:tenants", tenant)
        client.close()


if __name__ == "__main__":
    main()
