"""Shortcuts, buttons, modals and App Home through signed interactivity payloads."""

from __future__ import annotations

import pytest

from bot.privacy import forget_customer
from ltv.keys import TenantKeys
from strategies.delivery import Outcome, SendLedger
from strategies.guards import OptOuts
from tests.scenarios.conftest import AGENT, COMMUNITY_CHANNEL, CUSTOMER
from tests.scenarios.surface import (
    all_payload_problems,
    button,
    command,
    home_action,
    last_opened_view,
    message_shortcut,
    responses,
    submit_view,
)

ADMIN = "UADMIN0001"
OTHER = "UOTHER0001"


@pytest.fixture(autouse=True)
def people(bot):
    bot.emulator.add_user(ADMIN, name="ada", real_name="Ada Admin", is_owner=True)
    bot.emulator.add_user(OTHER, name="otto", real_name="Otto Other")
    yield
    assert all_payload_problems(bot) == []


def customer_message(text: str, ts: str = "1700000100.000200") -> dict:
    return {"type": "message", "user": CUSTOMER, "text": text, "ts": ts}


def purchase_values(user: str, amount: str, note: str = "") -> dict:
    return {
        "customer": {"customer": {"type": "users_select", "selected_user": user}},
        "amount": {"amount": {"type": "plain_text_input", "value": amount}},
        "note": {"note": {"type": "plain_text_input", "value": note or None}},
    }


def test_the_message_shortcut_prefills_the_author_and_the_amount(bot):
    message_shortcut(
        bot, AGENT, customer_message("I just paid &lt;b&gt; 1.234,50 € for it"), "C1"
    )

    view = last_opened_view(bot)
    customer, amount = view["blocks"][0]["element"], view["blocks"][1]["element"]
    assert customer["initial_user"] == CUSTOMER
    assert amount["initial_value"] == "€1,234.50"


def test_a_purchase_logged_twice_from_one_message_counts_once(bot):
    bot.runtime.ctx.configs.save_overrides(bot.tenant, rates={"EUR": "1.10"})
    message = customer_message("paid $40 today")
    message_shortcut(bot, AGENT, message, COMMUNITY_CHANNEL)
    view = last_opened_view(bot)

    first = submit_view(bot, AGENT, view, purchase_values(CUSTOMER, "$40"))
    second = submit_view(bot, AGENT, view, purchase_values(CUSTOMER, "$40"))

    assert first is None and second is None
    record = bot.customer()
    assert (record.purchases, record.revenue_minor) == (1, 4000)
    dms = [c["args"]["text"] for c in bot.emulator.calls("chat.postMessage")]
    assert dms == [
        f"Logged a purchase of $40.00 for <@{CUSTOMER}>.",
        "That purchase was already logged; nothing changed.",
    ]


def test_a_bad_amount_in_the_modal_is_a_field_error_and_stores_nothing(bot):
    message_shortcut(bot, AGENT, customer_message("no amount here"), "C1")
    view = last_opened_view(bot)

    reply = submit_view(bot, AGENT, view, purchase_values(CUSTOMER, "3.350"))

    assert reply["response_action"] == "errors"
    assert "3.35" in reply["errors"]["amount"]
    assert "initial_value" not in view["blocks"][1]["element"]
    assert bot.customer() is None


def test_customers_cannot_use_the_shortcut_the_button_or_the_modal(bot):
    message_shortcut(bot, OTHER, customer_message("paid $40"), "C1")
    button(bot, OTHER, "open_purchase_modal", CUSTOMER)
    opened = {"callback_id": "purchase_modal", "private_metadata": "{}"}
    reply = submit_view(bot, OTHER, opened, purchase_values(OTHER, "$10"))

    assert bot.emulator.calls("views.open") == []
    assert [r["text"] for r in responses(bot)] == [
        "Sorry, customer values are only shown to the support team."
    ] * 2
    assert reply["response_action"] == "errors"
    assert bot.customer(OTHER) is None


def test_the_card_button_opens_the_purchase_form_for_that_customer(bot):
    button(bot, AGENT, "open_purchase_modal", CUSTOMER)

    view = last_opened_view(bot)

    assert view["callback_id"] == "purchase_modal"
    assert view["blocks"][0]["element"]["initial_user"] == CUSTOMER


def home_of(bot, user):
    bot.send_event({"type": "app_home_opened", "user": user, "tab": "home"})
    return str(bot.emulator.home_view(user)["blocks"])


def test_a_customers_home_shows_tier_purchases_and_message_choices(bot):
    bot.order_notice(f"Order 1 paid: $20.00 by <@{CUSTOMER}>", ts="1700000000.000100")

    home = home_of(bot, CUSTOMER)

    assert "member" in home and "Your purchases" in home and "$20.00" in home
    assert "home_messages" in home
    assert "Top customers" not in home and "Workspace settings" not in home


def test_unticking_message_categories_opts_the_customer_out(bot):
    action = {
        "type": "checkboxes",
        "action_id": "home_messages",
        "block_id": "messages",
        "selected_options": [{"value": "onboarding"}, {"value": "proactive"}],
        "action_ts": "1.1",
    }
    optouts = OptOuts(bot.runtime.redis, clock=bot.runtime.ctx.clock)

    home_action(bot, CUSTOMER, action)
    partial = optouts.categories(bot.tenant, CUSTOMER)
    home_action(bot, CUSTOMER, {**action, "selected_options": []})
    none = optouts.categories(bot.tenant, CUSTOMER)

    assert partial == ["feedback", "loyalty"]
    assert none == ["all"]
    assert bot.emulator.home_view(CUSTOMER) is not None


def test_an_agents_home_shows_top_customers_money_and_unanswered_questions(bot):
    bot.order_notice(f"Order 1 paid: $20.00 by <@{CUSTOMER}>", ts="1700000000.000100")
    bot.message(CUSTOMER, "where is my parcel?", ts="1700000200.000100")
    bot.message(OTHER, "can I pay by card?", ts="1700000300.000100", channel="CHELP01")
    bot.message(AGENT, "on its way", ts="1700000400.000100")

    home = home_of(bot, AGENT)

    assert "Top customers" in home and f"<@{CUSTOMER}> $" in home
    assert "purchase $20.00" in home
    assert f"<@{OTHER}> in <#CHELP01>" in home
    assert f"<@{CUSTOMER}> in" not in home
    assert "Workspace settings" not in home


def test_an_admins_home_has_strategies_and_settings_that_save(bot):
    home = home_of(bot, ADMIN)
    button(bot, ADMIN, "home_edit_settings")
    view = last_opened_view(bot)
    values = {
        "period": {"period": {"selected_option": {"value": "year"}}},
        "lifespan": {"lifespan": {"value": "3"}},
        "currency": {"currency": {"value": "usd"}},
        "rates": {"rates": {"value": "EUR=1.08, gbp=1.27"}},
        "orders": {"orders": {"selected_conversations": ["CSHOP0001"]}},
    }

    bad = submit_view(
        bot, ADMIN, view, {**values, "rates": {"rates": {"value": "EUR=abc"}}}
    )
    saved = submit_view(bot, ADMIN, view, values)

    assert "Strategies" in home and "Workspace settings" in home
    assert "Orders channels" in home and "Currency rates" in home
    assert bad["response_action"] == "errors" and "EUR=abc" in bad["errors"]["rates"]
    assert saved is None
    config = bot.runtime.ctx.configs.load(bot.tenant)
    assert (config.period, config.lifespan) == ("year", "3")
    assert config.rates == {"EUR": "1.08", "GBP": "1.27"}
    assert config.orders_channels == ("CSHOP0001",)


def test_agents_cannot_open_the_settings(bot):
    button(bot, AGENT, "home_edit_settings")

    assert bot.emulator.calls("views.open") == []


def test_forget_erases_every_trace_of_the_customer(bot, redis_client):
    keys = TenantKeys(bot.tenant)
    bot.join(CUSTOMER)
    bot.message(CUSTOMER, "is this thing on?")
    bot.order_notice(f"Order 9 paid: $20.00 by <@{CUSTOMER}>", ts="1700000000.000100")
    bot.order_notice(f"Order 9 refunded: $5.00 to <@{CUSTOMER}>", ts="1700000001.0001")
    bot.order_notice(f"Order 10 paid: $7.00 by <@{OTHER}>", ts="1700000002.000100")
    command(bot, AGENT, f"<@{CUSTOMER}>")
    command(bot, CUSTOMER, "optout loyalty")
    ledger = SendLedger(redis_client, clock=bot.runtime.ctx.clock)
    slot = SendLedger.slot("welcome", CUSTOMER, "once")
    claim = ledger.claim(bot.tenant, "onboarding", slot, user=CUSTOMER)
    ledger.settle(bot.tenant, "onboarding", slot, claim, Outcome.SENT, user=CUSTOMER)
    redis_client.hset(f"{keys.prefix}feedback:{CUSTOMER}", "score", "5")

    reply = command(bot, ADMIN, f"forget <@{CUSTOMER}>")

    assert reply["text"].startswith(f"Forgot <@{CUSTOMER}>:")
    assert traces_of(redis_client, keys, CUSTOMER) == []
    assert traces_of(redis_client, keys, OTHER) != []
    totals = bot.runtime.store.totals(bot.tenant)
    assert (totals.customers, totals.purchases, totals.revenue_minor) == (1, 1, 700)
    assert totals.refunds_minor == 0
    assert forget_customer(redis_client, bot.tenant, CUSTOMER) == 0


def traces_of(client, keys: TenantKeys, user: str) -> list[str]:
    """Every place a tenant key still holds the user's id."""
    found = []
    for raw_key in client.scan_iter(match=f"{keys.prefix}*", count=1000):
        key = raw_key.decode()
        kind = client.type(raw_key).decode()
        values: list = [key]
        if kind == "hash":
            values += [x for pair in client.hgetall(raw_key).items() for x in pair]
        elif kind == "set":
            values += list(client.smembers(raw_key))
        elif kind == "zset":
            values += client.zrange(raw_key, 0, -1)
        elif kind == "stream":
            for _, fields in client.xrange(raw_key):
                values += [x for pair in fields.items() for x in pair]
        elif kind == "string":
            values.append(client.get(raw_key))
        text = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
        found += [f"{key}: {t}" for t in text if user in t]
    return found


def test_only_admins_may_forget(bot):
    bot.message(CUSTOMER, "hello")

    reply = command(bot, AGENT, f"forget <@{CUSTOMER}>")

    assert reply["text"] == "Sorry, only workspace admins can do that."
    assert bot.customer() is not None
