"""Every request is signed or refused: 401, and nothing stored, scheduled or sent."""

from __future__ import annotations

import json
import time

import pytest

from bot.composition import ConfigurationError, build_runtime
from bot.replay import event_body, form_body, sign
from bot.settings import Settings
from tests.reliability.conftest import tenant_keys
from tests.scenarios.conftest import (
    AGENT,
    COMMUNITY_CHANNEL,
    CUSTOMER,
    SIGNING_SECRET,
)

FIVE_MINUTES_S = 300


def message_payload(tenant: str, text: str) -> dict:
    return {
        "token": "legacy",
        "team_id": tenant,
        "api_app_id": "A0TEST",
        "type": "event_callback",
        "event_id": "EvSIGNED0001",
        "event_time": 1_700_000_000,
        "event": {
            "type": "message",
            "user": CUSTOMER,
            "text": text,
            "channel": COMMUNITY_CHANNEL,
            "ts": "1700000000.000100",
        },
    }


def post_raw(bot, body: bytes, headers: dict[str, str], content_type: str):
    return bot.replayer._send(body, {"Content-Type": content_type, **headers})


def signed_headers(body: bytes, stamp: int, secret: str = SIGNING_SECRET):
    return {
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(secret, stamp, body),
    }


def assert_nothing_happened(bot) -> None:
    assert tenant_keys(bot.runtime.redis, bot.tenant) == []
    assert bot.tenant.encode() not in bot.runtime.redis.smembers("ltv:tenants")
    assert bot.emulator.calls("chat.postMessage") == []
    assert bot.emulator.calls("chat.postEphemeral") == []
    assert bot.emulator.calls("response_url") == []


def forged_requests(tenant: str) -> dict[str, tuple[bytes, dict[str, str]]]:
    body = event_body(message_payload(tenant, "hello"))
    now = int(time.time())
    tampered = body.replace(b"hello", b"HELLO")
    return {
        "no signature headers": (body, {}),
        "no signature": (body, {"X-Slack-Request-Timestamp": str(now)}),
        "no timestamp": (
            body,
            {"X-Slack-Signature": signed_headers(body, now)["X-Slack-Signature"]},
        ),
        "zero signature": (
            body,
            {
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": "v0=" + "0" * 64,
            },
        ),
        "wrong secret": (body, signed_headers(body, now, secret="not-the-secret")),
        "too old": (body, signed_headers(body, now - FIVE_MINUTES_S - 5)),
        "ahead": (body, signed_headers(body, now + FIVE_MINUTES_S + 5)),
        "tampered body": (tampered, signed_headers(body, now)),
        "v1 scheme": (
            body,
            {
                "X-Slack-Request-Timestamp": str(now),
                "X-Slack-Signature": signed_headers(body, now)[
                    "X-Slack-Signature"
                ].replace("v0=", "v1="),
            },
        ),
        "not a number timestamp": (
            body,
            {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
        ),
        "non-ascii signature": (
            body,
            {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0=\u00e9"},
        ),
        "negative timestamp": (body, signed_headers(body, -now)),
    }


@pytest.mark.parametrize(
    "case",
    [
        "no signature headers",
        "no signature",
        "no timestamp",
        "zero signature",
        "wrong secret",
        "too old",
        "ahead",
        "tampered body",
        "v1 scheme",
        "not a number timestamp",
        "non-ascii signature",
        "negative timestamp",
    ],
)
def test_a_forged_event_is_refused_and_changes_nothing(bot, case):
    body, headers = forged_requests(bot.tenant)[case]

    delivery = post_raw(bot, body, headers, "application/json")

    assert delivery.status == 401
    assert_nothing_happened(bot)


def test_a_forged_slash_command_is_refused_and_logs_no_purchase(bot):
    body = form_body(
        {
            "team_id": bot.tenant,
            "user_id": AGENT,
            "command": "/ltv",
            "text": f"purchase <@{CUSTOMER}> 50",
            "channel_id": COMMUNITY_CHANNEL,
            "response_url": bot.emulator.response_url("cmd"),
            "trigger_id": "t.1",
        }
    )
    headers = signed_headers(body, int(time.time()), secret="guessed")

    delivery = post_raw(bot, body, headers, "application/x-www-form-urlencoded")

    assert delivery.status == 401
    assert_nothing_happened(bot)


def test_a_forged_button_click_is_refused(bot):
    payload = {"type": "block_actions", "team": {"id": bot.tenant}, "actions": []}
    body = form_body({"payload": json.dumps(payload)})
    now = int(time.time())

    delivery = post_raw(
        bot, body, signed_headers(body, now - 3600), "application/x-www-form-urlencoded"
    )

    assert delivery.status == 401
    assert_nothing_happened(bot)


def test_a_signature_a_few_minutes_old_is_still_accepted(bot):
    body = event_body(message_payload(bot.tenant, "hi"))

    delivery = post_raw(
        bot,
        body,
        signed_headers(body, int(time.time()) - FIVE_MINUTES_S + 30),
        "application/json",
    )

    assert delivery.status == 200
    assert bot.customer().interactions == 1


@pytest.mark.parametrize(
    "text",
    [
        "Grüße aus Köln — 50 €",
        "注文はどこですか？",
        "مرحبا 👋🏽 family: 👨‍👩‍👧‍👦",
        "zero\u200bwidth and\u00a0nbsp and a lone combining \u0301",
    ],
)
def test_non_ascii_bodies_verify_and_are_stored(bot, text):
    body = json.dumps(message_payload(bot.tenant, text), ensure_ascii=False).encode()

    delivery = post_raw(
        bot, body, signed_headers(body, int(time.time())), "application/json"
    )

    assert delivery.status == 200
    assert bot.customer().interactions == 1


def test_the_bot_refuses_to_start_without_a_signing_secret(redis_url):
    settings = Settings(
        _env_file=None,
        REDIS_URL=redis_url,
        SLACK_BOT_TOKEN="xoxb-test-token",
        SLACK_SIGNING_SECRET="",
    )

    with pytest.raises(ConfigurationError, match="SLACK_SIGNING_SECRET is not set"):
        build_runtime(settings)


def test_a_signed_body_that_is_not_utf8_is_refused_with_400_and_stores_nothing(bot):
    body = b"\xff\xfe{}"

    delivery = bot.replayer.post(body, content_type="application/json")

    assert delivery.status == 400
    assert b"not UTF-8" in delivery.body
    assert bot.runtime.redis.exists(f"ltv:{{{bot.tenant}}}:events") == 0
