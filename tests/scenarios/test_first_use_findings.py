"""Faults a first-time user found, each kept as the behaviour that is right."""

from __future__ import annotations

import pytest

from tests.scenarios.conftest import AGENT, CUSTOMER, ORDERS_CHANNEL
from tests.scenarios.surface import all_payload_problems, command

ADMIN = "UADMIN0001"


@pytest.fixture(autouse=True)
def people(bot):
    bot.emulator.add_user(ADMIN, name="ada", is_admin=True)
    yield
    assert all_payload_problems(bot) == []


def stored_purchases(bot):
    record = bot.customer()
    return None if record is None else (record.purchases, record.revenue_minor)


@pytest.mark.parametrize(
    ("amount", "logged"),
    [
        ("$1 234.50", "Logged a purchase of $1,234.50"),
        ("USD 50", "Logged a purchase of $50.00"),
        ("12,50 €", "Logged a purchase of €12.50"),
        ("1.234,50 €", "Logged a purchase of €1,234.50"),
        ("50 EUR for the shoes", "Logged a purchase of €50.00"),
        ("50 eur for the shoes", "Logged a purchase of €50.00"),
    ],
)
def test_every_documented_amount_form_is_read_whole_from_the_command(
    bot, amount, logged
):
    command(bot, ADMIN, "admin rate EUR 1.10")

    reply = command(bot, AGENT, f"purchase <@{CUSTOMER}> {amount}")

    assert reply["text"].startswith(logged)


@pytest.mark.parametrize(
    "amount",
    ["500 ¥", "12.50 £", "5 USD 6 USD", "50 EUE", "50 QQQ"],
    ids=["yen", "pound", "two", "typo", "no-such-code"],
)
def test_amounts_the_bot_cannot_take_are_refused_not_stored_in_dollars(bot, amount):
    reply = command(bot, AGENT, f"purchase <@{CUSTOMER}> {amount}")

    assert reply["text"].startswith("Purchase not logged:")
    assert stored_purchases(bot) is None


def test_a_refund_names_its_order_after_an_amount_with_a_trailing_symbol(bot):
    command(bot, ADMIN, "admin rate EUR 1.10")
    bot.order_notice(f"Order A1 paid: €10.00 by <@{CUSTOMER}>", ts="1700000000.000100")

    reply = command(bot, AGENT, f"refund <@{CUSTOMER}> 5 € A1")

    assert reply["text"].startswith("Logged a refund of €5.00")


def test_a_person_typing_an_order_notice_is_not_credited_but_listed(bot):
    bot.message(
        CUSTOMER, f"Order 2010 paid: $7.00 by <@{CUSTOMER}>", channel=ORDERS_CHANNEL
    )

    listing = command(bot, ADMIN, "orders unmatched")["text"]

    assert stored_purchases(bot) is None
    assert "not_from_an_app" in listing


def test_one_order_id_in_two_messages_counts_once_and_the_second_is_listed(bot):
    text = f"Order 2008 paid: $1,000.00 by <@{CUSTOMER}>"
    bot.order_notice(text, ts="1700000000.000100")

    bot.order_notice(text, ts="1700000000.000200")

    assert stored_purchases(bot) == (1, 100_000)
    assert "order_already_recorded" in command(bot, ADMIN, "orders unmatched")["text"]


def test_a_refused_refund_notice_is_listed_for_admins(bot):
    bot.order_notice(
        f"Order 3002 paid: $10.00 by <@{CUSTOMER}>", ts="1700000000.000100"
    )

    bot.order_notice(
        f"Order 3002 refunded: $9,999.00 to <@{CUSTOMER}>", ts="1700000000.000200"
    )

    assert bot.customer().net_revenue_minor == 1000
    assert "refund_too_large" in command(bot, ADMIN, "orders unmatched")["text"]


def test_a_notice_in_a_currency_without_a_rate_is_listed_with_that_reason(bot):
    bot.order_notice(
        f"Order 3003 paid: £20.00 by <@{CUSTOMER}>", ts="1700000000.000100"
    )

    listing = command(bot, ADMIN, "orders unmatched")["text"]

    assert stored_purchases(bot) is None
    assert "its currency has no exchange rate" in listing
    assert "https://slack.com/archives/CORDERS01/p1700000000000100" in listing


def test_a_view_submission_without_a_view_type_is_a_400_not_a_500(bot):
    payload = {
        "type": "view_submission",
        "user": {"id": AGENT},
        "team": {"id": bot.tenant},
        "view": {"callback_id": "x"},
    }

    delivery = bot.replayer.post_interaction(payload)

    assert delivery.status == 400
    assert b"view.type" in delivery.body


def test_a_body_nested_too_deeply_is_a_400_not_a_500(bot):
    body = b'{"type":"event_callback","x":' + b"[" * 5000 + b"]" * 5000 + b"}"

    delivery = bot.replayer.post(body, content_type="application/json")

    assert delivery.status == 400
    assert b"nested too deeply" in delivery.body
