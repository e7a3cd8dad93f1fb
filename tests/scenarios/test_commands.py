"""/ltv end to end: every form of naming a person, every subcommand, every role."""

from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.composition import build_runtime
from bot.http import HttpServer, wsgi_app
from bot.replay import SlackReplayer
from strategies.delivery import Outcome, SendLedger
from strategies.feedback import record_rating
from strategies.guards import OptOuts
from tests.conftest import delete_tenant_keys
from tests.scenarios.conftest import (
    AGENT,
    CUSTOMER,
    SIGNING_SECRET,
    BotHarness,
    harness_settings,
)
from tests.scenarios.surface import all_payload_problems, command, responses

ADMIN = "UADMIN0001"
GRID_USER = "W0GRID0001"
OTHER = "UOTHER0001"


@pytest.fixture(autouse=True)
def people(bot):
    bot.emulator.add_user(ADMIN, name="ada", real_name="Ada Admin", is_admin=True)
    bot.emulator.add_user(GRID_USER, name="grace", real_name="Grace Grid")
    bot.emulator.add_user(OTHER, name="otto", real_name="Otto Other")
    yield
    assert all_payload_problems(bot) == []


def buy(bot: BotHarness, user: str = CUSTOMER, amount: str = "$50.00", order="1"):
    ts = f"1700000000.{bot.next_id():06d}"
    return bot.order_notice(f"Order {order} paid: {amount} by <@{user}>", ts=ts)


@pytest.mark.parametrize(
    "text",
    [
        f"<@{CUSTOMER}|casey>",
        f"<@{CUSTOMER}>",
        "@casey",
        "casey",
        "Casey",
        f"   <@{CUSTOMER}|casey>   ",
        CUSTOMER,
    ],
)
def test_every_form_of_naming_the_customer_gets_the_card(bot, text):
    buy(bot)

    reply = command(bot, AGENT, text)

    assert reply["response_type"] == "ephemeral"
    assert f"<@{CUSTOMER}>  *LTV" in str(reply["blocks"])


def test_a_grid_user_id_gets_the_card(bot):
    buy(bot, GRID_USER)

    reply = command(bot, AGENT, f"<@{GRID_USER}>")

    assert f"<@{GRID_USER}>  *LTV" in str(reply["blocks"])


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("<#C0123ABCD|general>", "That's a channel"),
        ("#general", "That's a channel"),
        ("<!subteam^S0123ABC|@support>", "That's a user group"),
        ("<!here>", "everyone in the channel"),
        ("@nobody", "I can't find anyone called `nobody`"),
        (f"<@{CUSTOMER}> <@{OTHER}>", "Name one customer at a time"),
        (f"<@{CUSTOMER}> extra words", "Name one customer at a time"),
    ],
)
def test_what_is_not_one_person_gets_a_clear_answer(bot, text, answer):
    reply = command(bot, AGENT, text)

    assert answer in reply["text"]
    assert "blocks" not in reply


def test_an_ambiguous_name_gets_a_hint_listing_the_candidates(bot):
    bot.emulator.add_user("UCASEY0002", name="casey.b", real_name="casey")

    reply = command(bot, AGENT, "casey")

    assert "Several people are called `casey`" in reply["text"]
    assert f"<@{CUSTOMER}>" in reply["text"] and "<@UCASEY0002>" in reply["text"]


def test_an_unknown_customer_is_said_to_have_no_record(bot):
    reply = command(bot, AGENT, f"<@{OTHER}>")

    assert reply["text"] == f"I have no record of <@{OTHER}> yet."


def test_share_posts_the_card_in_the_channel(bot):
    buy(bot)

    reply = command(bot, AGENT, f"<@{CUSTOMER}> share")

    assert reply["response_type"] == "in_channel"
    assert "Shared by an agent." in str(reply["blocks"])


@pytest.mark.parametrize(
    "text", [f"<@{CUSTOMER}>", "casey", "top", "stats", "refund @casey 5", "audit"]
)
def test_a_customer_gets_a_polite_refusal_and_no_data(bot, text):
    buy(bot)

    reply = command(bot, OTHER, text)

    assert (
        reply
        == {
            "response_type": "ephemeral",
            "text": "Sorry, customer values are only shown to the support team.",
        }
        or reply["text"] == "Sorry, only workspace admins can do that."
    )
    assert "$" not in str(reply)


def test_the_card_shows_every_part_the_agent_needs(bot):
    buy(bot, amount="$120.00")
    redis_client, clock = bot.runtime.redis, bot.runtime.ctx.clock
    OptOuts(redis_client, clock=clock).opt_out(bot.tenant, CUSTOMER, "loyalty")
    for slot, score in (("p1", 4), ("p2", 5)):
        record_rating(
            redis_client,
            bot.tenant,
            user=CUSTOMER,
            kind="csat",
            score=score,
            slot=slot,
            agent=AGENT,
            at_s=clock.now_s(),
        )
    ledger = SendLedger(redis_client, clock=clock)
    slot = SendLedger.slot("welcome", CUSTOMER, "once")
    claim = ledger.claim(bot.tenant, "onboarding", slot, user=CUSTOMER)
    ledger.settle(bot.tenant, "onboarding", slot, claim, Outcome.SENT, user=CUSTOMER)

    card = str(command(bot, AGENT, f"<@{CUSTOMER}>")["blocks"])

    for part in (
        "Average purchase value",
        "Purchase frequency",
        "Lifespan",
        "Tenure",
        "Revenue",
        "Refunds",
        "First purchase",
        "Last purchase",
        "Interactions",
        "*Tier*\\nGold",
        "4.5 / 5 (2 answers)",
        "*Opted out of*\\nloyalty",
        "onboarding/welcome: sent",
        "open_purchase_modal",
        "per month",
    ):
        assert part in card, part


def test_every_lookup_is_audited_and_admins_can_list_them(bot):
    buy(bot)
    command(bot, AGENT, f"<@{CUSTOMER}>")
    command(bot, AGENT, "casey")

    agent_try = command(bot, AGENT, "audit")
    listing = command(bot, ADMIN, "audit")

    assert agent_try["text"] == "Sorry, only workspace admins can do that."
    assert listing["text"].count(f"<@{AGENT}> lookup <@{CUSTOMER}>") == 2


def test_top_lists_customers_by_ltv(bot):
    buy(bot, CUSTOMER, "$10.00", order="1")
    buy(bot, OTHER, "$90.00", order="2")

    reply = command(bot, AGENT, "top 5")

    assert reply["text"].index(OTHER) < reply["text"].index(CUSTOMER)
    assert command(bot, AGENT, "top 0")["text"].startswith("Usage: `/ltv top [N]`")


def test_stats_shows_totals_averages_tiers_and_strategy_counts(bot):
    buy(bot, CUSTOMER, "$10.00", order="1")
    buy(bot, OTHER, "$90.00", order="2")

    reply = command(bot, AGENT, "stats")

    assert "Customers: 2" in reply["text"]
    assert "Revenue: $100.00" in reply["text"]
    assert "Average purchase value: $50.00" in reply["text"]
    assert "*Tiers* Starter 0, Bronze 1, Silver 0, Gold 1" in str(reply["blocks"])


@pytest.mark.parametrize(
    ("setup", "text", "answer"),
    [
        ([], "refund @casey 5", "Refund not logged: the refund is larger than what"),
        (["$20.00"], "refund @casey 30", "the refund is larger than what the customer"),
        (["$20.00"], "refund @casey 5 #999", "no purchase with that order id"),
        (["$20.00"], "refund @casey 25 EUR", "Refund not logged:"),
        (["$20.00"], "refund @casey -5", "Refund not logged:"),
        (["$20.00"], "refund @casey 5 1", "Logged a refund of $5.00"),
    ],
)
def test_refunds_are_logged_or_refused_in_one_sentence(bot, setup, text, answer):
    for amount in setup:
        buy(bot, amount=amount, order="1")

    reply = command(bot, AGENT, text)

    assert answer in reply["text"]


def test_a_refund_larger_than_what_is_left_of_the_order_is_refused(bot):
    buy(bot, amount="$20.00", order="1")
    buy(bot, amount="$50.00", order="2")
    command(bot, AGENT, "refund @casey 15 1")

    reply = command(bot, AGENT, "refund @casey 10 1")

    assert reply["text"] == (
        "Refund not logged: the refund is larger than what is left of that order."
    )
    assert bot.customer().refunds_minor == 1500


def test_agents_log_purchases_with_notes(bot):
    refused = command(bot, AGENT, "purchase @casey 12,50 EUR gift card")

    assert refused["text"].startswith("Purchase not logged:")
    assert bot.customer() is None
    assert command(bot, AGENT, "purchase @casey $12.50 gift")["text"] == (
        f"Logged a purchase of $12.50 for <@{CUSTOMER}>."
    )


def test_purchase_without_arguments_opens_the_form(bot):
    reply = command(bot, AGENT, "purchase")

    assert reply["text"] == "Opening the purchase form…"
    assert bot.emulator.calls("views.open")


def test_customers_opt_out_and_back_in_where_the_guard_rails_read_it(bot):
    optouts = OptOuts(bot.runtime.redis, clock=bot.runtime.ctx.clock)

    out = command(bot, OTHER, "optout loyalty")
    stored_after_out = optouts.categories(bot.tenant, OTHER)
    command(bot, OTHER, "optout feedback")
    both = optouts.categories(bot.tenant, OTHER)
    everything = command(bot, OTHER, "optout")
    stored_all = optouts.categories(bot.tenant, OTHER)
    back = command(bot, OTHER, "optin")

    assert out["text"].startswith("You will receive no loyalty messages.")
    assert stored_after_out == ["loyalty"]
    assert both == ["feedback", "loyalty"]
    assert stored_all == ["all"]
    assert everything["text"].startswith("You will receive no more messages")
    assert back["text"].startswith("You will receive all our messages.")
    assert optouts.categories(bot.tenant, OTHER) == []
    assert command(bot, OTHER, "optout spam")["text"].startswith("Usage:")


def test_an_opt_out_before_any_activity_does_not_hide_a_new_customer(bot):
    command(bot, CUSTOMER, "optout")

    buy(bot)

    assert bot.runtime.store.totals(bot.tenant).customers == 1


def test_help_and_unknown_subcommands_get_the_usage(bot):
    helped = command(bot, OTHER, "help")
    agents = command(bot, AGENT, "")
    admins = command(bot, ADMIN, "help")
    unknown = command(bot, AGENT, "frobnicate now")

    assert "`/ltv optout [category]`" in helped["text"]
    assert "/ltv top" not in helped["text"] and "/ltv top" in agents["text"]
    assert "/ltv forget" not in agents["text"] and "/ltv forget" in admins["text"]
    assert (
        "LTV = average purchase value × purchase frequency × lifespan"
        in (helped["text"])
    )
    assert unknown["text"].startswith("I don't know `frobnicate`.")


def test_user_text_sent_back_is_escaped(bot):
    reply = command(bot, AGENT, "<b>&co")

    assert "<b>" not in reply["text"]


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("payload", {}),
        (f"<@{CUSTOMER}>", {"channel_name": "payload-team"}),
        ("purchase @casey $5 payload refund", {}),
    ],
)
def test_the_word_payload_anywhere_still_reaches_the_command(bot, text, extra):
    buy(bot)

    reply = command(bot, AGENT, text, **extra)

    assert reply["response_type"] in ("ephemeral", "in_channel")
    assert reply["text"]


def test_slow_work_is_acknowledged_at_once_and_answered_via_response_url(bot):
    buy(bot)
    bot.runtime.app.replies.budget_s = 0.05
    bot.emulator.inject_fault("users.list", delay_seconds=0.5)

    ack = command(bot, AGENT, "casey")
    finished = bot.runtime.app.replies.wait_idle(10)

    assert ack["text"].startswith("Working on it")
    assert finished
    assert f"<@{CUSTOMER}>  *LTV" in str(responses(bot)[-1]["blocks"])


def test_redis_down_gives_a_short_unavailable_answer(bot, emulator, redis_url):
    dead = redis.Redis(host="127.0.0.1", port=1, retry=Retry(NoBackoff(), 0))
    runtime = build_runtime(
        harness_settings(emulator, redis_url),
        clock=bot.runtime.ctx.clock,
        redis_client=dead,
    )
    server = HttpServer(
        wsgi_app(runtime.app, runtime.store, SIGNING_SECRET), "127.0.0.1", 0
    ).start()
    down = BotHarness(
        runtime=runtime,
        emulator=emulator,
        replayer=SlackReplayer(
            f"http://127.0.0.1:{server.port}/slack/events", SIGNING_SECRET
        ),
        tenant=bot.tenant,
    )
    try:
        acks = [command(down, AGENT, t) for t in (f"<@{CUSTOMER}>", "top", "stats")]
        runtime.app.replies.wait_idle(10)
    finally:
        server.stop()

    late = [r["text"] for r in responses(bot)]
    answers = [a["text"] for a in acks if not a["text"].startswith("Working")] + late
    assert (
        answers
        == ["The LTV bot is temporarily unavailable, please try again in a minute."] * 3
    )


def test_a_grid_command_reads_the_orgs_customers(bot, redis_client):
    org = "E" + bot.tenant[1:]
    envelope = bot.envelope(
        {
            "type": "message",
            "user": GRID_USER,
            "text": "hi",
            "channel": "CCOMMUNITY1",
            "ts": "1700000000.000700",
        }
    )
    envelope["enterprise_id"] = org
    try:
        bot.replayer.post_event(envelope)
        reply = command(bot, AGENT, f"<@{GRID_USER}|grace>", enterprise_id=org)
    finally:
        delete_tenant_keys(redis_client, org)

    assert f"<@{GRID_USER}>  *LTV" in str(reply["blocks"])
    assert "*Interactions*\\n1" in str(reply["blocks"])
