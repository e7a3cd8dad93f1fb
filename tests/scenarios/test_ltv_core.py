"""LTV core end to end: edits, deletions, broadcasts, identity, currencies, the card.

Payloads follow the shapes in Slack's reference pages for the message event
and its message_changed, message_deleted and thread_broadcast subtypes.
"""

from __future__ import annotations

import uuid

import pytest

from ltv.keys import TenantKeys, digest
from strategies.model_refit import REFIT_JOB_ID, install_refitter, refit_models_job
from tests.conftest import delete_tenant_keys
from tests.scenarios.conftest import (
    AGENT,
    COMMUNITY_CHANNEL,
    CUSTOMER,
    ORDERS_CHANNEL,
)

NOTICE_TS = "1700000100.000200"


def order_message(text: str, ts: str) -> dict:
    return {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BSHOP01",
        "text": text,
        "ts": ts,
    }


def message_changed(old_text: str, new_text: str, ts: str, edit_ts: str) -> dict:
    edited = order_message(new_text, ts) | {"edited": {"user": "U0SHOP", "ts": edit_ts}}
    return {
        "type": "message",
        "subtype": "message_changed",
        "hidden": True,
        "channel": ORDERS_CHANNEL,
        "ts": edit_ts,
        "event_ts": edit_ts,
        "channel_type": "channel",
        "message": edited,
        "previous_message": order_message(old_text, ts),
    }


def message_deleted(text: str, ts: str, delete_ts: str) -> dict:
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "channel": ORDERS_CHANNEL,
        "ts": delete_ts,
        "event_ts": delete_ts,
        "deleted_ts": ts,
        "channel_type": "channel",
        "previous_message": order_message(text, ts),
    }


def paid(amount: str, order: str = "1042") -> str:
    return f"Order {order} paid: {amount} by <@{CUSTOMER}>"


def refunded(amount: str, order: str = "1042") -> str:
    return f"Order {order} refunded: {amount} to <@{CUSTOMER}>"


def test_an_edited_order_notice_replaces_the_amount_and_adds_no_purchase(bot):
    bot.order_notice(paid("$10.00"), ts=NOTICE_TS)

    delivery = bot.send_event(
        message_changed(paid("$10.00"), paid("$12.50"), NOTICE_TS, "1700000200.000100")
    )

    record = bot.customer()
    assert delivery.status == 200
    assert (record.purchases, record.revenue_minor) == (1, 1250)
    assert record.first_purchase_s == 1_700_000_100


def test_an_edit_delivered_twice_applies_once(bot):
    bot.order_notice(paid("$10.00"), ts=NOTICE_TS)
    edit = message_changed(paid("$10.00"), paid("$12.50"), NOTICE_TS, "1700000200.1")

    bot.send_event(edit, event_id="EvEDIT1")
    bot.send_event(edit, event_id="EvEDIT1")

    assert bot.customer().revenue_minor == 1250


def test_a_deleted_order_notice_voids_its_purchase(bot):
    bot.order_notice(paid("$10.00"), ts=NOTICE_TS)
    bot.order_notice(paid("$5.00", "1043"), ts="1700000300.000100")

    bot.send_event(message_deleted(paid("$10.00"), NOTICE_TS, "1700000400.000100"))

    record = bot.customer()
    assert (record.purchases, record.revenue_minor) == (1, 500)
    assert bot.runtime.store.totals(bot.tenant).purchases == 1


def test_an_edit_after_a_deletion_does_not_bring_the_purchase_back(bot):
    bot.order_notice(paid("$10.00"), ts=NOTICE_TS)
    bot.send_event(message_deleted(paid("$10.00"), NOTICE_TS, "1700000400.000100"))

    bot.send_event(
        message_changed(paid("$10.00"), paid("$99.00"), NOTICE_TS, "1700000500.1")
    )

    record = bot.customer()
    assert (record.purchases, record.revenue_minor) == (0, 0)


def test_a_refund_notice_lowers_revenue_and_an_edit_replaces_its_amount(bot):
    bot.order_notice(paid("$50.00"), ts=NOTICE_TS)
    bot.order_notice(refunded("$5.00"), ts="1700000300.000100")

    bot.send_event(
        message_changed(
            refunded("$5.00"), refunded("$7.50"), "1700000300.000100", "1700000400.1"
        )
    )

    record = bot.customer()
    assert (record.purchases, record.refunds_minor, record.net_revenue_minor) == (
        1,
        750,
        4250,
    )


def test_a_refund_notice_larger_than_net_revenue_is_refused(bot):
    bot.order_notice(paid("$50.00"), ts=NOTICE_TS)

    bot.order_notice(refunded("$50.01"), ts="1700000300.000100")

    assert bot.customer().refunds_minor == 0


def test_a_deleted_refund_notice_gives_the_revenue_back(bot):
    bot.order_notice(paid("$50.00"), ts=NOTICE_TS)
    bot.order_notice(refunded("$5.00"), ts="1700000300.000100")

    bot.send_event(
        message_deleted(refunded("$5.00"), "1700000300.000100", "1700000400.1")
    )

    assert bot.customer().net_revenue_minor == 5000


def thread_broadcast(user: str, ts: str, thread_ts: str) -> dict:
    return {
        "type": "message",
        "subtype": "thread_broadcast",
        "user": user,
        "text": "also sending this to the channel",
        "ts": ts,
        "thread_ts": thread_ts,
        "root": {
            "type": "message",
            "user": AGENT,
            "text": "welcome",
            "ts": thread_ts,
            "thread_ts": thread_ts,
        },
        "channel": COMMUNITY_CHANNEL,
        "event_ts": ts,
        "channel_type": "channel",
    }


def test_a_thread_broadcast_and_its_thread_copy_are_one_message(bot):
    broadcast = thread_broadcast(CUSTOMER, "1700000600.000200", "1700000500.000100")
    thread_copy = {k: v for k, v in broadcast.items() if k not in ("subtype", "root")}

    bot.send_event(broadcast)
    bot.send_event(thread_copy)

    assert bot.customer().interactions == 1


def test_an_order_notice_broadcast_from_a_thread_counts_once(bot):
    bot.order_notice(paid("$10.00"), ts=NOTICE_TS)

    bot.order_notice(paid("$10.00"), ts=NOTICE_TS, subtype="thread_broadcast")

    assert bot.customer().purchases == 1


@pytest.fixture
def other_tenant(redis_client):
    tenant = "T" + uuid.uuid4().hex[:10].upper()
    yield tenant
    delete_tenant_keys(redis_client, tenant)


@pytest.fixture
def grid_org(redis_client):
    org = "E" + uuid.uuid4().hex[:10].upper()
    yield org
    delete_tenant_keys(redis_client, org)


def customer_message(ts: str, **extra) -> dict:
    return {
        "type": "message",
        "user": CUSTOMER,
        "text": "hello",
        "channel": COMMUNITY_CHANNEL,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        **extra,
    }


def post_as(bot, event: dict, *, team: str, enterprise: str | None = None):
    envelope = bot.envelope(event) | {"team_id": team}
    if enterprise:
        envelope["enterprise_id"] = enterprise
        envelope["authorizations"] = [
            {
                "enterprise_id": enterprise,
                "team_id": team,
                "user_id": "UBOT0001",
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ]
    return bot.replayer.post_event(envelope)


def test_the_same_user_id_in_two_workspaces_is_two_customers(bot, other_tenant):
    bot.message(CUSTOMER, "hi from the first workspace")

    post_as(bot, customer_message("1700000700.000100"), team=other_tenant)

    store = bot.runtime.store
    assert store.customer(bot.tenant, CUSTOMER).interactions == 1
    assert store.customer(other_tenant, CUSTOMER).interactions == 1


def test_a_grid_user_is_one_customer_across_the_orgs_workspaces(
    bot, other_tenant, grid_org
):
    post_as(
        bot, customer_message("1700000800.000100"), team=bot.tenant, enterprise=grid_org
    )
    post_as(
        bot,
        customer_message("1700000900.000100", channel="CELSEWHERE1"),
        team=other_tenant,
        enterprise=grid_org,
    )

    store = bot.runtime.store
    assert store.customer(grid_org, CUSTOMER).interactions == 2
    assert store.customer(bot.tenant, CUSTOMER) is None
    assert store.customer(other_tenant, CUSTOMER) is None


def test_a_slack_connect_member_is_a_customer_here_with_their_team_kept(
    bot, other_tenant
):
    event = customer_message("1700001000.000100", user_team=other_tenant)

    post_as(bot, event | {"team": other_tenant}, team=bot.tenant)

    record = bot.runtime.store.customer(bot.tenant, CUSTOMER)
    assert record.user_team == other_tenant
    assert bot.runtime.store.customer(other_tenant, CUSTOMER) is None


def test_a_purchase_in_a_currency_without_a_rate_is_refused_clearly(bot):
    reply = bot.command(AGENT, f"purchase <@{CUSTOMER}> 50 EUR").json()

    assert reply["text"] == (
        "Purchase not logged: no exchange rate from EUR to USD is configured; "
        "an admin can set one with `/ltv admin rate EUR &lt;rate&gt;`"
    )
    assert bot.customer() is None


def test_a_purchase_in_another_currency_keeps_its_amount_and_converts(bot):
    bot.runtime.ctx.configs.save_overrides(bot.tenant, rates={"EUR": "1.1"})

    bot.command(AGENT, f"purchase <@{CUSTOMER}> 50 EUR")

    records = bot.runtime.redis.hvals(TenantKeys(bot.tenant).purchases)
    fields = records[0].decode().split("|")
    assert fields[2:5] == ["5500", "EUR", "5000"]
    assert bot.customer().revenue_minor == 5500


def test_an_order_notice_in_a_currency_without_a_rate_is_not_credited(bot):
    bot.order_notice(paid("45.00 GBP"), ts=NOTICE_TS)

    assert bot.customer() is None


def test_a_zero_purchase_is_valid(bot):
    reply = bot.command(AGENT, f"purchase <@{CUSTOMER}> $0.00").json()

    assert reply["text"].startswith("Logged a purchase of $0.00")
    assert (bot.customer().purchases, bot.customer().revenue_minor) == (1, 0)


def test_the_card_shows_a_model_estimate_section_with_its_reason(bot):
    bot.order_notice(paid("$50.00"), ts=NOTICE_TS)

    reply = bot.command(AGENT, f"<@{CUSTOMER}>").json()

    card = str(reply["blocks"])
    assert "model estimate" in card
    assert "the model has not been fitted yet" in card


def test_the_card_shows_the_fitted_models_prediction(bot):
    bot.order_notice(paid("$50.00"), ts=NOTICE_TS)
    model = {"status": "ok", "fitted_at_s": "1700000000", "customers": "100"}
    model |= {"r": "0.243", "alpha": "4.414", "a": "0.793", "b": "2.426"}
    model |= {"p": "6.25", "q": "3.74", "gamma": "1544"}
    bot.runtime.redis.hset(TenantKeys(bot.tenant).model, mapping=model)

    reply = bot.command(AGENT, f"<@{CUSTOMER}>").json()

    card = str(reply["blocks"])
    assert "P(active): 100%" in card
    assert "discounted CLV: $" in card
    assert digest("unused") not in card


def test_the_bot_registers_the_refit_job_when_its_scheduler_starts(bot):
    bot.runtime.start_scheduler(every_seconds=3600)
    try:
        job = bot.runtime.scheduler.get_job(REFIT_JOB_ID)
    finally:
        bot.runtime.scheduler.shutdown(wait=False)
        install_refitter(None)

    assert job is not None
    assert job.func is refit_models_job


def test_a_damaged_model_leaves_the_card_working_with_a_reason(bot):
    bot.order_notice(paid("$50.00"), ts=NOTICE_TS)
    bot.runtime.redis.hset(
        TenantKeys(bot.tenant).model,
        mapping={"status": "ok", "fitted_at_s": "1", "customers": "9", "r": "x"},
    )

    reply = bot.command(AGENT, f"<@{CUSTOMER}>").json()

    card = str(reply["blocks"])
    assert "LTV $" in card
    assert "the model could not estimate this customer" in card
