"""Events as Slack sends them: what counts as an interaction, what is ignored,
orders channels with admins' own patterns, Slack Connect and Enterprise Grid."""

from __future__ import annotations

import urllib.request

import pytest

from tests.conftest import delete_tenant_keys
from tests.scenarios.conftest import (
    AGENT,
    BOT_USER,
    COMMUNITY_CHANNEL,
    CUSTOMER,
    ORDERS_CHANNEL,
)
from tests.scenarios.surface import all_payload_problems, command

ADMIN = "UADMIN0001"


@pytest.fixture(autouse=True)
def people(bot):
    bot.emulator.add_user(ADMIN, name="ada", is_admin=True)
    bot.emulator.add_user(
        "UMAIL00001", name="mel", real_name="Mel Mail", email="Mel@Example.com"
    )
    yield
    assert all_payload_problems(bot) == []


def test_reactions_file_shares_and_thread_replies_are_interactions(bot):
    bot.send_event(
        {
            "type": "reaction_added",
            "user": CUSTOMER,
            "reaction": "tada",
            "item": {"type": "message", "channel": COMMUNITY_CHANNEL, "ts": "1.000100"},
            "event_ts": "1700000001.000100",
        }
    )
    bot.message(CUSTOMER, "", subtype="file_share", files=[{"id": "F1"}])
    bot.message(CUSTOMER, "a reply", thread_ts="1700000000.000001")

    assert bot.customer().interactions == 3


def test_link_previews_hidden_replies_and_the_bots_own_posts_are_ignored(bot):
    bot.message(
        CUSTOMER,
        "",
        subtype="message_changed",
        hidden=True,
        message={"user": CUSTOMER, "text": "see https://x", "attachments": [{}]},
    )
    bot.message(CUSTOMER, "", subtype="message_replied", hidden=True)
    bot.message(BOT_USER, "my own DM", subtype="bot_message", bot_id="B0001")
    bot.message(BOT_USER, "my own thread reply", thread_ts="1.1")
    bot.message("UINTEG0001", "Order 1 paid: $5 by casey", bot_id="BOTHER")

    assert bot.customer() is None
    assert bot.customer(BOT_USER) is None
    assert bot.customer("UINTEG0001") is None


def test_slack_connect_guests_keep_their_own_team(bot):
    bot.message(CUSTOMER, "hello from outside", user_team="TPARTNER01")

    assert bot.customer().user_team == "TPARTNER01"


def test_enterprise_grid_payloads_are_kept_under_the_org(bot, redis_client):
    org = "E" + bot.tenant[1:]
    envelope = bot.envelope(
        {
            "type": "message",
            "user": "W0GRID0001",
            "text": "hi",
            "channel": COMMUNITY_CHANNEL,
            "ts": "1700000000.000500",
        }
    )
    envelope["enterprise_id"] = org
    envelope["authorizations"] = [
        {"enterprise_id": org, "team_id": bot.tenant, "is_enterprise_install": False}
    ]
    try:
        delivery = bot.replayer.post_event(envelope)
        record = bot.runtime.store.customer(org, "W0GRID0001")
    finally:
        delete_tenant_keys(redis_client, org)

    assert delivery.status == 200
    assert record is not None and record.interactions == 1


def test_order_notices_are_decoded_once(bot):
    bot.order_notice(
        f"Order A&amp;B paid: $5.00 by <@{CUSTOMER}>", ts="1700000000.000100"
    )
    bot.order_notice(
        f"Order 7 paid: &lt;b&gt;$5.00 by <@{CUSTOMER}>", ts="1700000000.000200"
    )

    assert bot.customer() is None


def test_admins_add_patterns_and_notices_find_customers_by_email(bot):
    bot.runtime.ctx.configs.save_overrides(bot.tenant, rates={"EUR": "1.10"})
    saved = command(
        bot, ADMIN, "orders pattern purchase New sale * total {amount} buyer {customer}"
    )
    refund = command(
        bot, ADMIN, "orders pattern refund Refund #{order}: {amount} {customer}"
    )

    bot.order_notice(
        "New sale via web, total €12,50 buyer <mailto:mel@example.com|mel@example.com>",
        ts="1700000000.000100",
    )
    bot.order_notice(
        f"New sale via pos, total $3.00 buyer {CUSTOMER}", ts="1700000000.000200"
    )

    assert saved["text"].startswith("Saved purchase pattern 1:")
    assert refund["text"].startswith("Saved refund pattern 2:")
    assert bot.customer("UMAIL00001").revenue_minor == 1375
    assert bot.customer(CUSTOMER).revenue_minor == 300


def test_a_notice_in_a_foreign_currency_needs_a_rate(bot):
    command(bot, ADMIN, "orders pattern purchase Sale {amount} by {customer}")
    bot.runtime.ctx.configs.save_overrides(bot.tenant, rates={"EUR": "1.10"})

    bot.order_notice("Sale €10,00 by mel@example.com", ts="1700000000.000300")

    record = bot.customer("UMAIL00001")
    assert (record.purchases, record.revenue_minor) == (1, 1100)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("Sale {amount}", "needs {customer} exactly once"),
        ("Sale {amount} {amount} {customer}", "needs {amount} exactly once"),
        ("Sale {price} {customer}", "unknown placeholder {price}"),
        ("x" * 201 + " {amount} {customer}", "must be 1 to 200 characters"),
    ],
)
def test_invalid_patterns_are_refused_and_nothing_is_saved(bot, template, problem):
    reply = command(bot, ADMIN, f"orders pattern purchase {template}")

    assert reply["text"].startswith("Pattern not saved:")
    assert problem in reply["text"]
    assert "Patterns:\nonly the built-in ones" in command(bot, ADMIN, "orders")["text"]


def test_unmatched_notices_are_counted_listed_and_never_credited(bot):
    bot.order_notice("Weekly report: 12 orders", ts="1700000000.000100")
    bot.order_notice(f"Order 8 paid: 3.350 by <@{CUSTOMER}>", ts="1700000000.000200")
    command(bot, ADMIN, "orders pattern purchase Sale {amount} by {customer}")
    bot.order_notice("Sale $5 by nobody@example.com", ts="1700000000.000300")

    listing = command(bot, ADMIN, "orders unmatched")["text"]
    agent = command(bot, AGENT, "orders unmatched")["text"]

    assert "3 kept" in listing
    for reason in ("no_match", "amount_unreadable", "customer_unknown"):
        assert reason in listing
    assert bot.customer() is None
    assert agent == "Sorry, only workspace admins can do that."


def test_admins_add_and_remove_orders_channels(bot):
    added = command(bot, ADMIN, "orders add <#CSHOP0001|shop>")
    again = command(bot, ADMIN, "orders add <#CSHOP0001|shop>")
    bot.message(
        "UINTEG0001",
        f"Order 1 paid: $5.00 by <@{CUSTOMER}>",
        channel="CSHOP0001",
        bot_id="BSHOP",
        subtype="bot_message",
    )
    removed = command(bot, ADMIN, "orders remove CSHOP0001")

    assert added["text"] == "<#CSHOP0001> is now an orders channel."
    assert again["text"] == "<#CSHOP0001> is already an orders channel."
    assert removed["text"] == "<#CSHOP0001> is no longer an orders channel."
    assert bot.customer().revenue_minor == 500
    assert bot.runtime.ctx.configs.load(bot.tenant).orders_channels == (ORDERS_CHANNEL,)


def test_metrics_are_served_in_prometheus_text(bot, clock):
    clock.advance(12 * 3600)  # midday UTC, outside the default quiet hours
    bot.message(CUSTOMER, "hi")
    bot.order_notice(f"Order 1 paid: $5.00 by <@{CUSTOMER}>", ts="1700000000.000100")
    bot.order_notice("nonsense", ts="1700000000.000200")
    bot.join(CUSTOMER)
    bot.runtime.runner.run("onboarding")
    url = bot.replayer.path.replace("/slack/events", "/metrics")

    with urllib.request.urlopen(
        f"http://{bot.replayer.host}:{bot.replayer.port}{url}", timeout=5
    ) as response:
        body = response.read().decode()
        content_type = response.headers["Content-Type"]

    assert content_type.startswith("text/plain; version=0.0.4")
    assert "# TYPE ltv_events_handled_total counter" in body
    assert 'ltv_purchases_total{kind="purchase",source="slack"}' in body
    assert 'ltv_orders_unmatched_total{reason="no_match"}' in body
    assert 'ltv_messages_total{outcome="sent",reason="' in body
    assert 'strategy="onboarding"} 1' in body


def test_people_chatting_in_an_orders_channel_are_not_unmatched_notices(bot):
    bot.message(AGENT, "thanks all!", channel=ORDERS_CHANNEL)

    assert (
        "No unmatched order notices." == command(bot, ADMIN, "orders unmatched")["text"]
    )
