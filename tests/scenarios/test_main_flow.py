"""The main job end to end: signed Slack requests in, Redis and Slack calls out."""

from __future__ import annotations

from ltv.formula import PERIOD_SECONDS
from ltv.keys import TenantKeys
from tests.scenarios.conftest import AGENT, BOT_USER, CUSTOMER, ORDERS_CHANNEL

MONTH_S = PERIOD_SECONDS["month"]


def test_a_customer_message_is_logged_as_an_interaction(bot):
    delivery = bot.message(CUSTOMER, "hi, where is my order?")

    assert delivery.status == 200
    assert bot.customer().interactions == 1
    assert bot.runtime.store.totals(bot.tenant).interactions == 1


def test_the_bots_own_posts_and_other_bots_are_ignored(bot):
    bot.message(BOT_USER, "I am the bot")
    bot.message(
        "UOTHER0001",
        "from an integration",
        bot_id="BINTEGRATION",
        subtype="bot_message",
    )

    assert bot.customer(BOT_USER) is None
    assert bot.customer("UOTHER0001") is None


def test_an_order_notice_is_a_purchase_at_the_messages_own_time(bot):
    delivery = bot.order_notice(
        f"Order 1042 paid: $29.33 by <@{CUSTOMER}>", ts="867931200.000100"
    )

    record = bot.customer()
    assert delivery.status == 200
    assert (record.purchases, record.revenue_minor) == (1, 2933)
    assert record.first_purchase_s == 867_931_200


def test_a_retried_order_notice_counts_once(bot):
    text = f"Order 7 paid: $10.00 by <@{CUSTOMER}>"
    bot.order_notice(text, ts="1700000001.000100", event_id="EvRETRY1")

    retry = bot.order_notice(text, ts="1700000001.000100", event_id="EvRETRY1")

    assert retry.status == 200
    assert bot.customer().purchases == 1


def test_an_unreadable_order_notice_is_not_credited(bot):
    bot.order_notice(f"Order 8 paid: 3.350 by <@{CUSTOMER}>", ts="1700000002.000100")

    assert bot.customer() is None


def test_ltv_lookup_answers_the_agent_ephemerally_with_the_parts(bot):
    bot.order_notice(f"Order 1 paid: $50.00 by <@{CUSTOMER}>", ts="1700000000.000100")

    reply = bot.command(AGENT, f"<@{CUSTOMER}|casey>").json()

    assert reply["response_type"] == "ephemeral"
    card = str(reply["blocks"])
    for part in (
        "Average purchase value",
        "Purchase frequency",
        "Lifespan",
        "Purchases",
        "Revenue",
        "First purchase",
        "Last purchase",
    ):
        assert part in card


def test_a_customer_asking_for_ltv_gets_a_polite_refusal_and_no_data(bot):
    bot.order_notice(f"Order 1 paid: $50.00 by <@{CUSTOMER}>", ts="1700000000.000100")

    reply = bot.command(CUSTOMER, f"<@{CUSTOMER}>").json()

    assert reply["text"] == "Sorry, customer values are only shown to the support team."
    assert "blocks" not in reply


def test_agents_log_purchases_and_see_the_worked_example(bot, clock):
    start = clock.now_s()
    for half_month in range(24):
        clock.set(start + half_month * MONTH_S // 2)
        assert (
            "Logged a purchase of $50.00"
            in bot.command(AGENT, f"purchase <@{CUSTOMER}> 50").json()["text"]
        )
    clock.set(start + 12 * MONTH_S)

    reply = bot.command(AGENT, f"<@{CUSTOMER}>").json()

    assert ": $3,600.00 (" in reply["text"]
    assert "LTV $3,600.00" in str(reply["blocks"])
    assert "2.00 per month" in reply["text"]


def test_a_purchase_with_an_ambiguous_amount_is_refused_with_both_readings(bot):
    reply = bot.command(AGENT, f"purchase <@{CUSTOMER}> 3.350").json()

    assert reply["text"].startswith("Purchase not logged:")
    assert "3.35" in reply["text"] and "3,350" in reply["text"]
    assert bot.customer() is None


def test_unknown_subcommands_get_the_help_text(bot):
    reply = bot.command(AGENT, "frobnicate").json()

    assert "I don't know `frobnicate`" in reply["text"]
    assert (
        "LTV = average purchase value × purchase frequency × lifespan" in reply["text"]
    )


def test_a_new_customer_gets_exactly_one_welcome_dm(bot, clock):
    clock.advance(12 * 3600)  # midday UTC, outside the default quiet hours
    bot.join(CUSTOMER)

    first = bot.runtime.runner.run("onboarding")
    second = bot.runtime.runner.run("onboarding")

    posts = bot.emulator.calls("chat.postMessage")
    assert [r.sent for r in first] == [1]
    assert [r.sent for r in second] == [0]
    assert len(posts) == 1
    assert posts[0]["args"]["channel"].startswith("D")


def test_a_bad_signature_is_rejected_and_nothing_is_stored(bot):
    body = (
        b'{"type":"event_callback","team_id":"%s","event_id":"EvX","event":{"type":"message","user":"%s","text":"x","channel":"C1","ts":"1.1"}}'
        % (bot.tenant.encode(), CUSTOMER.encode())
    )
    headers = {"X-Slack-Signature": "v0=" + "0" * 64}

    status = bot.replayer._send(
        body,
        {
            **headers,
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": "1700000000",
        },
    ).status

    assert status == 401
    assert bot.runtime.redis.exists(TenantKeys(bot.tenant).events) == 0


def test_orders_channel_is_the_only_place_bot_posts_count(bot):
    bot.message(
        "UINTEG0001",
        f"Order 1 paid: $5.00 by <@{CUSTOMER}>",
        bot_id="BX",
        subtype="bot_message",
    )

    assert bot.customer() is None
    assert ORDERS_CHANNEL != "CCOMMUNITY1"
