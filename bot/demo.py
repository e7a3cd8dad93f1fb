"""The demo: real CDNOW purchase history replayed into the bot as Slack would send it.

It starts Redis (embedded unless REDIS_URL is set), the Slack Web API emulator
and the bot in HTTP mode on free loopback ports; each customer joins a channel,
each purchase arrives as a signed order-notification message at its
historical time, and the scheduled onboarding job welcomes every newcomer.
"""

from __future__ import annotations

import logging
import secrets
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import redis
from pydantic import SecretStr

from bot.composition import Runtime, build_runtime, open_redis
from bot.emulator import SlackEmulator
from bot.http import HttpServer, wsgi_app
from bot.replay import SlackReplayer
from bot.settings import Settings
from bot.views import format_fraction
from ltv.clock import FixedClock
from ltv.formula import LtvPolicy
from ltv.importer import cdnow_user
from ltv.keys import TENANTS_KEY, TenantKeys
from ltv.money import Money, format_money

logger = logging.getLogger(__name__)

DEMO_TEAM = "TDEMO0001"
ORDERS_CHANNEL = "CORDERS001"
COMMUNITY_CHANNEL = "CCOMMUNITY1"
AGENT_USER = "UAGENT0001"
# The demo's "now": the day after the last purchase in the data.
DEMO_NOW = datetime(1998, 7, 1, tzinfo=UTC)
REPLAY_WORKERS = 4
ONBOARDING_EVERY_S = 2
# Each welcome now also reads the customer's name and time zone (users.info).
DRAIN_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class CdnowPurchase:
    customer: str
    day: str
    amount_minor: int


def read_cdnow(path: Path | None = None) -> list[CdnowPurchase]:
    """Rows of the CDNOW sample: customer, sample id, YYYYMMDD, CDs, amount (USD)."""
    if path is None:
        text = resources.files("ltv.data").joinpath("CDNOW_sample.txt").read_text()
    else:
        text = path.read_text()
    rows = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        rows.append(CdnowPurchase(fields[0], fields[2], dollars_to_cents(fields[4])))
    return rows


def dollars_to_cents(text: str) -> int:
    """ "29.33" as 2933, read digit by digit so no float is ever involved."""
    whole, _, cents = text.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def day_epoch(day: str) -> int:
    return int(datetime.strptime(day, "%Y%m%d").replace(tzinfo=UTC).timestamp())


def build_deliveries(rows: list[CdnowPurchase], team: str) -> list[dict[str, Any]]:
    """Every join and order notice as an Events API payload, in time order."""
    first_day: dict[str, str] = {}
    for row in rows:
        first_day[row.customer] = min(first_day.get(row.customer, row.day), row.day)
    timed: list[tuple[int, int, dict[str, Any]]] = []
    for seq, (customer, day) in enumerate(sorted(first_day.items())):
        at = day_epoch(day) + 9 * 3600
        timed.append((at, seq, join_event(cdnow_user(customer), at, seq, team)))
    for seq, row in enumerate(rows):
        at = day_epoch(row.day) + 12 * 3600
        timed.append((at, seq, order_event(row, at, seq, team)))
    timed.sort(key=lambda item: (item[0], item[1]))
    return [payload for _, _, payload in timed]


def envelope(
    event: dict[str, Any], event_id: str, at: int, team: str
) -> dict[str, Any]:
    return {
        "token": "demo",
        "team_id": team,
        "api_app_id": "ADEMO0001",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": at,
        "authorizations": [
            {
                "team_id": team,
                "user_id": "UBOT0001",
                "is_bot": True,
                "is_enterprise_install": False,
                "enterprise_id": None,
            }
        ],
    }


def join_event(user: str, at: int, seq: int, team: str) -> dict[str, Any]:
    event = {
        "type": "member_joined_channel",
        "user": user,
        "channel": COMMUNITY_CHANNEL,
        "channel_type": "C",
        "team": team,
        "event_ts": f"{at}.{seq:06d}",
    }
    return envelope(event, f"EvJOIN{seq:08d}", at, team)


def order_event(row: CdnowPurchase, at: int, seq: int, team: str) -> dict[str, Any]:
    user = cdnow_user(row.customer)
    amount = format_money(Money(row.amount_minor, "USD"))
    ts = f"{at}.{seq:06d}"
    event = {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BSHOP0001",
        "username": "Shop orders",
        "text": f"Order {seq + 1:05d} paid: {amount} by <@{user}>",
        "channel": ORDERS_CHANNEL,
        "channel_type": "channel",
        "ts": ts,
        "event_ts": ts,
    }
    return envelope(event, f"EvORDER{seq:08d}", at, team)


def demo_settings(base: Settings, emulator: SlackEmulator, redis_url: str) -> Settings:
    return base.model_copy(
        update={
            "redis_url": redis_url,
            "slack_bot_token": _secret("xoxb-demo-local"),
            "slack_signing_secret": _secret(secrets.token_hex(16)),
            "slack_api_url": emulator.api_url,
            "orders_channels": [ORDERS_CHANNEL],
            "admin_users": [AGENT_USER],
        }
    )


def _secret(value: str) -> SecretStr:
    return SecretStr(value)


def reset_demo_tenant(client: redis.Redis, team: str) -> None:
    """A rerun starts from nothing, so the totals can be checked exactly."""
    keys = list(client.scan_iter(match=f"{TenantKeys(team).prefix}*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    client.srem(TENANTS_KEY, team)


def seed_directory(emulator: SlackEmulator, rows: list[CdnowPurchase]) -> None:
    emulator.add_user(AGENT_USER, name="avery", real_name="Avery Agent", is_admin=True)
    for customer in sorted({row.customer for row in rows}):
        user = cdnow_user(customer)
        emulator.add_user(
            user, name=f"customer{int(customer)}", real_name=f"Customer {int(customer)}"
        )


def replay(
    replayer_url: str, secret: str, deliveries: list[dict[str, Any]], out: TextIO
) -> Counter[int]:
    """Posts every delivery with a few concurrent clients; counts HTTP statuses."""
    statuses: Counter[int] = Counter()
    step = max(len(deliveries) // 10, 1)
    started = time.monotonic()

    def post(payload: dict[str, Any]) -> int:
        return SlackReplayer(replayer_url, secret).post_event(payload).status

    with ThreadPoolExecutor(max_workers=REPLAY_WORKERS) as pool:
        for done, status in enumerate(pool.map(post, deliveries), start=1):
            statuses[status] += 1
            if done % step == 0 or done == len(deliveries):
                rate = done / max(time.monotonic() - started, 1e-9)
                out.write(
                    f"  replayed {done:>6,}/{len(deliveries):,} events "
                    f"({rate:,.0f}/s)\n"
                )
                out.flush()
    return statuses


def wait_for_onboarding(
    runtime: Runtime, team: str, timeout_s: float = DRAIN_TIMEOUT_S
) -> int:
    """Lets the scheduled onboarding job empty its queue; returns what is left."""
    pending_key = TenantKeys(team).pending("onboarding")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if runtime.redis.zcard(pending_key) == 0:
            break
        time.sleep(0.25)
    return int(runtime.redis.zcard(pending_key))


@dataclass(frozen=True, slots=True)
class FileTotals:
    customers: int
    purchases: int
    revenue_minor: int


def file_totals(rows: list[CdnowPurchase]) -> FileTotals:
    return FileTotals(
        customers=len({row.customer for row in rows}),
        purchases=len(rows),
        revenue_minor=sum(row.amount_minor for row in rows),
    )


def usd(minor: int) -> str:
    return format_money(Money(minor, "USD"))


def write_report(
    runtime: Runtime, team: str, expected: FileTotals, dms: int, out: TextIO
) -> bool:
    """Prints the report; True when the stored totals equal the file's."""
    store = runtime.store
    totals = store.totals(team)
    policy = runtime.ctx.configs.load(team).policy()
    stored = (totals.customers, totals.purchases, totals.revenue_minor)
    matches = stored == (expected.customers, expected.purchases, expected.revenue_minor)
    out.write(f"\nLTV demo report (CDNOW sample, as of {DEMO_NOW:%Y-%m-%d})\n")
    out.write(f"  customers  {totals.customers:>11,}   file: {expected.customers:,}\n")
    out.write(f"  purchases  {totals.purchases:>11,}   file: {expected.purchases:,}\n")
    out.write(
        f"  revenue    {usd(totals.revenue_minor):>11}   "
        f"file: {usd(expected.revenue_minor)}\n"
    )
    out.write(f"  totals match the file exactly: {'yes' if matches else 'NO'}\n")
    out.write(
        f"  average LTV {usd(average_ltv(runtime, team, policy))} "
        f"(period {policy.period}, lifespan {policy.lifespan_periods} "
        f"{policy.period}s)\n"
    )
    write_top_ten(runtime, team, policy, out)
    out.write(f"  onboarding DMs received by the Slack emulator: {dms:,}\n")
    return matches


def average_ltv(runtime: Runtime, team: str, policy: LtvPolicy) -> int:
    store = runtime.store
    ltvs = []
    for user in store.iter_customers(team):
        record = store.customer(team, user)
        if record is not None:
            ltvs.append(store.breakdown(record, policy).ltv_minor)
    return round(Fraction(sum(ltvs), len(ltvs))) if ltvs else 0


def write_top_ten(runtime: Runtime, team: str, policy: LtvPolicy, out: TextIO) -> None:
    store = runtime.store
    out.write(
        "\n  top 10 customers       LTV  avg purchase  per month  lifespan"
        "  purchases      revenue\n"
    )
    for rank, user in enumerate(store.top_customers(team, 10), start=1):
        record = store.customer(team, user)
        if record is None:
            continue
        b = store.breakdown(record, policy)
        out.write(
            f"  {rank:>2}. {user:<10} {usd(b.ltv_minor):>11} "
            f"{usd(round(b.average_purchase_minor)):>13} "
            f"{format_fraction(b.purchases_per_period):>10} "
            f"{format_fraction(b.lifespan_periods):>9}"
            f" {record.purchases:>10} {usd(record.net_revenue_minor):>12}\n"
        )
    out.write("\n")


def select_rows(limit: int | None) -> list[CdnowPurchase]:
    rows = read_cdnow()
    if not limit:
        return rows
    keep = set(sorted({r.customer for r in rows})[:limit])
    return [r for r in rows if r.customer in keep]


class DemoRun:
    """One demo: its Redis, emulator, bot and HTTP server, stopped in reverse."""

    def __init__(self, settings: Settings, team: str) -> None:
        self.team = team
        self.client, self.embedded = open_redis(settings)
        self.emulator = SlackEmulator(team_id=team).start()
        redis_url = settings.redis_url or self.embedded.url  # type: ignore[union-attr]
        reset_demo_tenant(self.client, team)
        self.runtime = build_runtime(
            demo_settings(settings, self.emulator, redis_url),
            clock=FixedClock(DEMO_NOW),
            redis_client=self.client,
            tenants=lambda: [team],
        )
        # Replayed history is welcomed at one fixed instant: no night to wait for.
        self.runtime.ctx.strategies.configs.set(  # type: ignore[union-attr]
            team, "guards", "quiet_end_hour", "21", by="demo"
        )
        self.server = HttpServer(
            wsgi_app(
                self.runtime.app,
                self.runtime.store,
                self.runtime.signing_secret,
            ),
            "127.0.0.1",
            0,
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    @property
    def secret(self) -> str:
        secret = self.runtime.settings.slack_signing_secret
        assert secret is not None
        return secret.get_secret_value()

    def close(self) -> None:
        self.server.stop()
        self.runtime.close()
        self.emulator.stop()
        if self.embedded is not None:
            self.embedded.stop()


def run_demo(
    settings: Settings,
    *,
    limit: int | None = None,
    out: TextIO = sys.stdout,
    team: str = DEMO_TEAM,
) -> int:
    """Runs the whole demo; the exit status is 0 only if every check held."""
    started = time.monotonic()
    rows = select_rows(limit)
    demo = DemoRun(settings, team)
    try:
        seed_directory(demo.emulator, rows)
        demo.runtime.start_scheduler(every_seconds=ONBOARDING_EVERY_S)
        deliveries = build_deliveries(rows, team)
        out.write(
            f"Replaying {len(deliveries):,} Slack events ({len(rows):,} purchases) "
            f"into {demo.url}\n"
        )
        statuses = replay(demo.url, demo.secret, deliveries, out)
        left = wait_for_onboarding(demo.runtime, team)
        dms = len(demo.emulator.calls("chat.postMessage"))
        expected = file_totals(rows)
        ok = write_report(demo.runtime, team, expected, dms, out)
        ok = ok and statuses == Counter({200: len(deliveries)})
        ok = ok and left == 0 and dms == expected.customers
        out.write(f"  HTTP statuses: {dict(statuses)}; onboarding queue left: {left}\n")
        elapsed = time.monotonic() - started
        verdict = "all checks passed" if ok else "CHECKS FAILED"
        out.write(f"Demo finished in {elapsed:.1f} s: {verdict}\n")
        return 0 if ok else 1
    finally:
        demo.close()
