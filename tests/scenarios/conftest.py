"""A whole bot on loopback: real Redis, the Slack emulator, signed HTTP requests."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.composition import Runtime, build_runtime
from bot.emulator import SlackEmulator
from bot.http import HttpServer, wsgi_app
from bot.replay import Delivery, SlackReplayer
from bot.settings import Settings

SIGNING_SECRET = "test-signing-secret"
ORDERS_CHANNEL = "CORDERS01"
COMMUNITY_CHANNEL = "CCOMMUNITY1"
AGENT = "UAGENT0001"
CUSTOMER = "UCUST00001"
BOT_USER = "UBOT0001"


@dataclass
class BotHarness:
    """Sends Slack-shaped requests to the bot the way Slack would."""

    runtime: Runtime
    emulator: SlackEmulator
    replayer: SlackReplayer
    tenant: str
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def next_id(self) -> int:
        return next(self._ids)

    def envelope(
        self, event: dict[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "token": "legacy",
            "team_id": self.tenant,
            "api_app_id": "A0TEST",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{self.next_id():010d}",
            "event_time": 1_700_000_000,
        }

    def send_event(self, event: dict[str, Any], **kwargs: Any) -> Delivery:
        event_id = kwargs.pop("event_id", None)
        return self.replayer.post_event(self.envelope(event, event_id), **kwargs)

    def message(
        self,
        user: str,
        text: str,
        *,
        channel: str = COMMUNITY_CHANNEL,
        ts: str | None = None,
        **extra: Any,
    ) -> Delivery:
        ts = ts or f"1700000000.{self.next_id():06d}"
        event = {
            "type": "message",
            "user": user,
            "text": text,
            "channel": channel,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
            **extra,
        }
        return self.send_event(event)

    def order_notice(
        self,
        text: str,
        *,
        ts: str,
        subtype: str = "bot_message",
        event_id: str | None = None,
    ) -> Delivery:
        event = {
            "type": "message",
            "subtype": subtype,
            "bot_id": "BSHOP01",
            "text": text,
            "channel": ORDERS_CHANNEL,
            "ts": ts,
            "event_ts": ts,
        }
        return self.send_event(event, event_id=event_id)

    def join(self, user: str, *, at: int = 1_700_000_000) -> Delivery:
        event = {
            "type": "member_joined_channel",
            "user": user,
            "channel": COMMUNITY_CHANNEL,
            "event_ts": f"{at}.000100",
        }
        return self.send_event(event)

    def command(self, user: str, text: str) -> Delivery:
        fields = {
            "token": "legacy",
            "team_id": self.tenant,
            "team_domain": "test",
            "channel_id": COMMUNITY_CHANNEL,
            "channel_name": "community",
            "user_id": user,
            "user_name": "someone",
            "command": "/ltv",
            "text": text,
            "api_app_id": "A0TEST",
            "is_enterprise_install": "false",
            "response_url": self.emulator.response_url("cmd"),
            "trigger_id": f"trigger.{self.next_id()}",
        }
        return self.replayer.post_command(fields)

    def customer(self, user: str = CUSTOMER):
        return self.runtime.store.customer(self.tenant, user)


def harness_settings(emulator: SlackEmulator, redis_url: str) -> Settings:
    return Settings(
        _env_file=None,
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=emulator.api_url,
        LTV_ORDERS_CHANNELS=ORDERS_CHANNEL,
        LTV_AGENT_USERS=AGENT,
    )


@pytest.fixture
def emulator(tenant: str) -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(team_id=tenant, bot_user_id=BOT_USER).start()
    emulator.add_user(AGENT, name="agent", real_name="Ada Agent")
    emulator.add_user(CUSTOMER, name="casey", real_name="Casey Customer")
    yield emulator
    emulator.stop()


@pytest.fixture
def bot(redis_client, redis_url, tenant, emulator, clock) -> Iterator[BotHarness]:
    # Strategies run for this test's tenant only: other tests share the Redis.
    runtime = build_runtime(
        harness_settings(emulator, redis_url),
        clock=clock,
        redis_client=redis_client,
        tenants=lambda: [tenant],  # not the other tests' tenants in the shared db
    )
    server = HttpServer(
        wsgi_app(runtime.app, runtime.store, SIGNING_SECRET), "127.0.0.1", 0
    ).start()
    replayer = SlackReplayer(
        f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET
    )
    yield BotHarness(
        runtime=runtime, emulator=emulator, replayer=replayer, tenant=tenant
    )
    server.stop()
    runtime.scheduler.shutdown(wait=False) if runtime.scheduler.running else None
