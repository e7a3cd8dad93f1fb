"""Bad input: never a 500, never a crash, never a change from a refused input."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import MAX_COMMAND_LENGTH, CommandRequest, handle_ltv_command
from bot.replay import event_body, form_body
from ltv.errors import LtvError
from ltv.keys import TENANT_ID, USER_ID
from ltv.money import parse_amount
from tests.reliability.mutations import load, mutants
from tests.reliability.replaying import snapshot
from tests.scenarios.conftest import AGENT, CUSTOMER, ORDERS_CHANNEL

KEY_GRAMMAR = re.compile(
    r"^ltv:(tenants|\{[TE][A-Z0-9]{2,31}\}:("
    r"cust:[UW][A-Z0-9]{2,31}(:purchases)?"
    r"|[a-z][a-z_]{0,31}(:[a-z][a-z0-9_]{0,31})?"
    r"))$"
)
FAILED_TEXT = "Sorry, something went wrong on our side. Please try again."

slack_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300
)
command_words = st.sampled_from(
    [
        "purchase",
        "help",
        "PURCHASE",
        f"<@{CUSTOMER}>",
        f"<@{CUSTOMER}|casey>",
        "<@>",
        "<@U1>",
        "$5",
        "50",
        "3.350",
        "EUR",
        "usd",
        "-$20.00",
        "($1)",
        "1e9",
        "∞",
        "NaN",
    ]
)
command_texts = st.one_of(
    slack_text,
    st.lists(st.one_of(command_words, slack_text), max_size=8).map(" ".join),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=command_texts)
def test_the_command_handler_answers_every_text_as_an_agent(own_bot, text):
    request = CommandRequest(
        tenant=own_bot.tenant, caller=AGENT, text=text, trigger_id="t.1"
    )

    reply = handle_ltv_command(own_bot.runtime.ctx, request)

    assert isinstance(reply.get("text"), str) and reply["text"]
    assert reply["text"] != FAILED_TEXT
    assert "Traceback" not in reply["text"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=command_texts)
def test_a_customers_command_never_shows_customer_data(own_bot, text):
    own_bot.runtime.store.register_tenant(own_bot.tenant)
    request = CommandRequest(
        tenant=own_bot.tenant, caller=CUSTOMER, text=text, trigger_id="t.1"
    )

    reply = handle_ltv_command(own_bot.runtime.ctx, request)

    assert "LTV $" not in str(reply)
    assert "Average purchase value" not in str(reply)


def test_an_overlong_command_is_refused_in_one_sentence(own_bot):
    request = CommandRequest(
        tenant=own_bot.tenant, caller=AGENT, text="purchase " * MAX_COMMAND_LENGTH
    )

    reply = handle_ltv_command(own_bot.runtime.ctx, request)

    assert reply["text"].startswith("That command is too long.")


@settings(max_examples=500, deadline=None)
@given(st.one_of(slack_text, command_texts))
def test_the_amount_parser_returns_money_or_a_value_error(text):
    try:
        money = parse_amount(text, "USD")
    except LtvError as exc:
        assert isinstance(exc, ValueError)
        assert str(exc)
        return

    assert isinstance(money.minor, int)
    assert len(money.currency) == 3


def signed_event_cases(tenant: str):
    for name in (
        "00_url_verification.json",
        "01_message_channel_customer.json",
        "02_message_im.json",
        "11_member_joined_channel.json",
    ):
        payload = retarget(load(name), tenant)
        for seed, (label, mutant) in enumerate(mutants(payload, seed=len(name))):
            yield f"{name}:{label}:{seed}", mutant
    order = retarget(load("01_message_channel_customer.json"), tenant)
    order["event"].update(
        subtype="bot_message",
        bot_id="BSHOP01",
        channel=ORDERS_CHANNEL,
        text=f"Order 9 paid: $9.99 by <@{CUSTOMER}>",
    )
    order["event"].pop("user")
    for label, mutant in mutants(order, seed=99):
        yield f"order:{label}", mutant


def retarget(payload: dict, tenant: str) -> dict:
    """A recorded payload moved into the test's tenant, as one of its users."""
    text = (
        json.dumps(payload)
        .replace("T0001", tenant)
        .replace("U0CUST1", CUSTOMER)
        .replace("U0AGENT1", AGENT)
    )
    return json.loads(text)


def test_mutated_events_never_get_a_500_and_leave_only_valid_keys(
    own_bot, own_redis, caplog
):
    caplog.set_level(logging.WARNING)
    failures = []

    for label, payload in signed_event_cases(own_bot.tenant):
        delivery = own_bot.replayer.post(
            event_body(payload), content_type="application/json"
        )
        if delivery.status >= 500 or b"Traceback" in delivery.body:
            failures.append((label, delivery.status))

    keys = [k.decode() for k in own_redis.client().scan_iter(count=1000)]
    assert failures == [], "\n".join(f"{s} {lab}" for lab, s in failures)
    assert [k for k in keys if not KEY_GRAMMAR.match(k)] == []
    assert [r.message for r in caplog.records if r.levelno >= logging.ERROR] == []


NASTY_COMMAND_TEXTS = [
    "",
    "purchase",
    f"purchase <@{CUSTOMER}>",
    f"purchase <@{CUSTOMER}> 3.350",
    f"purchase <@{CUSTOMER}> 1e400",
    f"purchase <@{CUSTOMER}> 99999999999999999999999",
    f"purchase <@{CUSTOMER}> -$5",
    f"purchase <@{CUSTOMER}> NaN",
    f"purchase <@{CUSTOMER}> ５０",
    f"purchase <@{CUSTOMER}|<b>> 5",
    "purchase <@U0|x> 5",
    "purchase <@ucust00001> 5",
    "purchase <#C0001|general> 5",
    "<@UCUST00001> <@UCUST00002>",
    "\u202e<@UCUST00001>",
    "x" * 5000,
    "\u0000\u0001\u0002",
    "<!channel> <!here>",
]


@pytest.mark.parametrize("text", NASTY_COMMAND_TEXTS)
def test_a_refused_command_changes_nothing_and_says_why(own_bot, text):
    before = snapshot(own_bot.runtime.redis, own_bot.tenant)

    reply = own_bot.command(AGENT, text)

    after = snapshot(own_bot.runtime.redis, own_bot.tenant)
    answer = reply.json()
    assert reply.status == 200
    assert answer["text"] != FAILED_TEXT
    assert "Traceback" not in answer["text"]
    assert not answer["text"].startswith("Logged a purchase")
    assert after == before


def command_fields(tenant: str) -> dict:
    return {k: str(v) for k, v in retarget(load("ltv_help.json"), tenant).items()}


@pytest.mark.parametrize("field", ["team_id", "user_id", "text", "command"])
@pytest.mark.parametrize(
    "value", ["", "x" * 5000, "T0\u0000", "U" + "Z" * 40, "<@>", "\ud7ff"]
)
def test_a_command_with_a_bad_field_is_never_a_500(own_bot, field, value):
    fields = {**command_fields(own_bot.tenant), field: value}
    before = snapshot(own_bot.runtime.redis, own_bot.tenant)

    delivery = own_bot.replayer.post_command(fields)

    assert delivery.status < 500
    assert b"Traceback" not in delivery.body
    assert snapshot(own_bot.runtime.redis, own_bot.tenant) == before


def test_mutated_button_clicks_are_never_a_500(own_bot):
    payload = retarget(load("block_actions_button.json"), own_bot.tenant)
    statuses = {}

    for label, mutant in mutants(payload, seed=7, per_path=2):
        body = form_body({"payload": json.dumps(mutant)})
        delivery = own_bot.replayer.post(
            body, content_type="application/x-www-form-urlencoded"
        )
        statuses[label] = delivery.status

    assert {k: v for k, v in statuses.items() if v >= 500} == {}


def test_the_tenant_and_user_patterns_are_what_the_key_grammar_expects():
    assert TENANT_ID.pattern == r"^[TE][A-Z0-9]{2,31}$"
    assert USER_ID.pattern == r"^[UWB][A-Z0-9]{2,31}$"
