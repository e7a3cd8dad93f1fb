"""Strategies end to end: signed Slack requests in, guard rails, DMs out."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from ltv.keys import TenantKeys
from strategies.engine import Pacer
from strategies.feedback import feedback_averages
from tests.scenarios.conftest import AGENT, COMMUNITY_CHANNEL, CUSTOMER

NOON_S = 12 * 3600
DAY_S = 86_400
ADMIN = "UADMIN0001"
AGENTS_CHANNEL = "CAGENTS001"


@pytest.fixture
def sbot(bot, clock):
    """The harness at midday UTC, with an admin and pacing that does not sleep."""
    clock.advance(NOON_S)
    bot.emulator.add_user(ADMIN, name="root", real_name="Rae Admin", is_admin=True)
    bot.sleeps = []
    bot.runtime.strategies.engine.pacer = Pacer(sleep=bot.sleeps.append)
    return bot


def run(bot, name: str):
    return bot.runtime.runner.run_tenant(name, bot.tenant)


def dm_channel(user: str) -> str:
    return "D" + user[1:]


def dms_to(bot, user: str = CUSTOMER) -> list[dict[str, Any]]:
    """The messages in the user's DM with the bot, oldest first, as Slack keeps them."""
    history = bot.runtime.client.conversations_history(channel=dm_channel(user))
    return list(reversed(history["messages"]))


def posts_to(bot, channel: str) -> list[dict[str, Any]]:
    return [
        c
        for c in bot.emulator.calls("chat.postMessage")
        if c["args"]["channel"] == channel and c["response"]["ok"]
    ]


def dm(bot, user: str, text: str):
    return bot.message(user, text, channel=dm_channel(user), channel_type="im")


def click(bot, user: str, message: dict[str, Any], action_id: str) -> Any:
    action = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    payload = {
        "type": "block_actions",
        "team": {"id": bot.tenant, "domain": "test"},
        "user": {"id": user, "team_id": bot.tenant},
        "api_app_id": "A0TEST",
        "token": "legacy",
        "trigger_id": f"trigger.{bot.next_id()}",
        "channel": {"id": dm_channel(user)},
        "message": {"ts": message["ts"]},
        "actions": [{**action, "block_id": "b", "type": "button", "action_ts": "1.2"}],
    }
    return bot.replayer.post_interaction(payload)


def admin(bot, text: str) -> str:
    return bot.command(ADMIN, f"admin {text}").json()["text"]


def send_log(bot) -> list[dict[str, str]]:
    entries = bot.runtime.redis.xrange(TenantKeys(bot.tenant).send_log)
    return [
        {k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries
    ]


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages]


# Onboarding


def test_onboarding_sends_welcome_tips_and_checkin_once_each(sbot, clock):
    sbot.join(CUSTOMER)

    reports = [run(sbot, "onboarding")]
    clock.advance(3 * DAY_S)
    reports += [run(sbot, "onboarding"), run(sbot, "onboarding")]
    clock.advance(4 * DAY_S)
    reports += [run(sbot, "onboarding"), run(sbot, "onboarding")]

    messages = texts(dms_to(sbot))
    assert [r.sent for r in reports] == [1, 1, 0, 1, 0]
    assert len(messages) == 3
    assert messages[0].startswith("Welcome aboard, Casey!")
    assert "a tip" in messages[1] and "a week" in messages[2]


def test_dry_run_shows_who_would_get_what_and_sends_nothing(sbot):
    sbot.join(CUSTOMER)

    report = sbot.runtime.runner.run_tenant("onboarding", sbot.tenant, dry_run=True)

    assert report.count(report_outcome("would_send")) == 1
    assert report.previews[0].user == CUSTOMER
    assert "Welcome aboard, Casey!" in report.previews[0].text
    assert sbot.emulator.calls("chat.postMessage") == []


def report_outcome(name: str):
    from strategies.delivery import Outcome

    return Outcome(name)


# Opt-out


def test_stop_in_a_dm_is_confirmed_once_and_no_strategy_messages_follow(sbot, clock):
    sbot.join(CUSTOMER)
    dm(sbot, CUSTOMER, "stop")
    dm(sbot, CUSTOMER, "STOP")

    report = run(sbot, "onboarding")

    messages = texts(dms_to(sbot))
    assert len(messages) == 1
    assert "won't get any messages" in messages[0]
    assert report.count(report_outcome("skipped"), "opted_out") == 1
    assert send_log(sbot)[-1]["reason"] == "opted_out"


def test_start_opts_back_in(sbot):
    sbot.join(CUSTOMER)
    dm(sbot, CUSTOMER, "stop")
    dm(sbot, CUSTOMER, "start")

    report = run(sbot, "onboarding")

    assert report.sent == 1
    assert "Welcome back" in texts(dms_to(sbot))[1]


def test_the_unsubscribe_button_stops_that_strategy_only(sbot, clock):
    sbot.join(CUSTOMER)
    run(sbot, "onboarding")
    welcome = dms_to(sbot)[0]

    click(sbot, CUSTOMER, welcome, "ltv_unsubscribe_strategy")
    clock.advance(3 * DAY_S)
    onboarding = run(sbot, "onboarding")

    assert onboarding.count(report_outcome("skipped"), "opted_out") == 1
    assert sbot.runtime.strategies.optouts.categories(sbot.tenant, CUSTOMER) == [
        "onboarding"
    ]
    assert "won't get onboarding messages" in texts(dms_to(sbot))[-1]


# Frequency cap and quiet hours


def test_frequency_cap_holds_a_second_strategy_back(sbot):
    admin(sbot, "set loyalty bronze 1")
    sbot.join(CUSTOMER)
    sbot.command(AGENT, f"purchase <@{CUSTOMER}> 50")

    welcome = run(sbot, "onboarding")
    loyalty = run(sbot, "loyalty")

    assert welcome.sent == 1
    assert loyalty.count(report_outcome("skipped"), "capped") == 1
    assert len(dms_to(sbot)) == 1


def test_a_message_due_at_night_in_the_customers_zone_waits_for_morning(sbot, clock):
    sbot.emulator.add_user(
        CUSTOMER,
        name="casey",
        real_name="Casey Customer",
        tz="America/Los_Angeles",
        tz_offset=-8 * 3600,
    )
    sbot.join(CUSTOMER)  # noon UTC is 04:00 in Los Angeles

    night = run(sbot, "onboarding")
    clock.advance(5 * 3600)  # 09:00 in Los Angeles
    morning = run(sbot, "onboarding")

    assert night.count(report_outcome("skipped"), "quiet_hours") == 1
    assert morning.sent == 1
    assert len(dms_to(sbot)) == 1


# Rate limits and exactly-once


def test_two_429s_in_a_row_are_waited_out_and_the_message_is_sent_once(sbot):
    sbot.join(CUSTOMER)
    sbot.emulator.inject_fault(
        "chat.postMessage", http_status=429, retry_after=1, times=2
    )

    report = run(sbot, "onboarding")

    calls = sbot.emulator.calls("chat.postMessage")
    gaps_s = [b["at"] - a["at"] for a, b in itertools.pairwise(calls)]
    assert report.sent == 1
    assert len(calls) == 3
    assert min(gaps_s) >= 1.0  # Retry-After: 1 was honoured both times
    assert len(dms_to(sbot)) == 1


def test_a_rate_limit_that_outlasts_the_retries_fails_the_candidate_not_the_run(
    sbot,
):
    sbot.join(CUSTOMER)
    sbot.emulator.inject_fault(
        "chat.postMessage", http_status=429, retry_after=0, times=4
    )

    first = run(sbot, "onboarding")
    second = run(sbot, "onboarding")

    assert first.count(report_outcome("failed"), "ratelimited") == 1
    assert sbot.sleeps  # the run backed off before going on
    assert second.sent == 1
    assert len(dms_to(sbot)) == 1


def test_a_claim_left_by_a_crash_is_resent_after_its_lease(sbot, clock):
    sbot.join(CUSTOMER)
    service = sbot.runtime.strategies
    slot = service.ledger.slot("welcome", CUSTOMER, "once")
    service.ledger.claim(sbot.tenant, "onboarding", slot, user=CUSTOMER)

    during_lease = run(sbot, "onboarding")
    clock.advance(service.ledger.lease_s + 1)
    after_lease = run(sbot, "onboarding")

    assert during_lease.sent == 0
    assert after_lease.sent == 1
    assert len(dms_to(sbot)) == 1
    assert sbot.emulator.calls("conversations.history")


def test_a_claim_whose_message_went_out_before_the_crash_is_not_resent(sbot, clock):
    sbot.join(CUSTOMER)
    service = sbot.runtime.strategies
    slot = service.ledger.slot("welcome", CUSTOMER, "once")
    service.ledger.claim(sbot.tenant, "onboarding", slot, user=CUSTOMER)
    service.engine.messenger.send_keyed(
        user=CUSTOMER,
        channel=None,
        text="Welcome",
        blocks=[],
        key=service.ledger.idempotency_key("onboarding", slot),
    )

    clock.advance(service.ledger.lease_s + 1)
    report = run(sbot, "onboarding")

    assert report.count(report_outcome("skipped"), "already_sent") == 1
    assert len(dms_to(sbot)) == 1
    assert service.ledger.state(sbot.tenant, "onboarding", slot) == "sent"


def test_a_final_slack_error_is_logged_with_slacks_error(sbot):
    sbot.join(CUSTOMER)
    sbot.emulator.inject_fault("chat.postMessage", error="is_archived")

    first = run(sbot, "onboarding")
    second = run(sbot, "onboarding")

    assert first.count(report_outcome("failed"), "is_archived") == 1
    assert second.sent == 0
    assert any(
        e["outcome"] == "failed" and e["reason"] == "is_archived"
        for e in send_log(sbot)
    )


# Feedback


def test_feedback_is_asked_after_a_purchase_and_the_click_is_stored(sbot, clock):
    sbot.command(AGENT, f"purchase <@{CUSTOMER}> 20")
    clock.advance(25 * 3600)

    first = run(sbot, "feedback")
    ask = dms_to(sbot)[0]
    click(sbot, CUSTOMER, ask, "ltv_feedback_csat_4")
    click(sbot, CUSTOMER, ask, "ltv_feedback_csat_1")
    clock.advance(2 * DAY_S)
    sbot.command(AGENT, f"purchase <@{CUSTOMER}> 30")
    clock.advance(25 * 3600)
    second = run(sbot, "feedback")

    assert first.sent == 1
    assert feedback_averages(sbot.runtime.redis, sbot.tenant)["csat_average"] == 4
    assert feedback_averages(sbot.runtime.redis, sbot.tenant)["csat_count"] == 1
    assert second.count(report_outcome("skipped"), "cooldown") == 1
    assert dms_to(sbot)[0]["text"] == "Thanks for your feedback!"


def test_an_agent_resolving_a_thread_gets_feedback_asked_and_credited(sbot, clock):
    sbot.emulator.add_user(AGENT, name="agent", real_name="Ada Agent")
    question = sbot.message(
        CUSTOMER, "how do I reset my password?", ts="1704110000.000100"
    )
    assert question.status == 200
    sbot.message(
        AGENT, "try the link", ts="1704110100.000100", thread_ts="1704110000.000100"
    )

    in_conversation = run(sbot, "onboarding")
    sbot.message(
        AGENT, "resolved", ts="1704110200.000200", thread_ts="1704110000.000100"
    )
    clock.advance(3 * 3600)
    asked = run(sbot, "feedback")
    click(sbot, CUSTOMER, dms_to(sbot)[-1], "ltv_feedback_csat_5")

    ratings = sbot.runtime.redis.hvals(f"ltv:{{{sbot.tenant}}}:feedback:ratings")
    assert in_conversation.count(report_outcome("skipped"), "in_conversation") == 1
    assert asked.sent >= 1
    assert json.loads(ratings[0])["agent"] == AGENT
    assert json.loads(ratings[0])["score"] == 5


# Loyalty


def test_a_refund_below_a_tier_means_no_message_for_that_tier(sbot):
    admin(sbot, "set loyalty gold 100000")
    sbot.order_notice(
        f"Order 1 paid: $150.00 by <@{CUSTOMER}>",
        ts=f"{sbot.runtime.ctx.clock.now_s()}.000100",
    )
    sbot.order_notice(
        f"Order 1 refunded: $140.00 to <@{CUSTOMER}>",
        ts=f"{sbot.runtime.ctx.clock.now_s()}.000200",
    )

    report = run(sbot, "loyalty")

    messages = texts(dms_to(sbot))
    assert report.sent == 1
    assert "*bronze*" in messages[0] and "BRONZE5" in messages[0]


def test_moving_up_a_tier_sends_one_message_per_tier(sbot, clock):
    admin(sbot, "set guards cap_hours 0")
    sbot.command(AGENT, f"purchase <@{CUSTOMER}> 5")

    first = [run(sbot, "loyalty"), run(sbot, "loyalty")]
    sbot.command(AGENT, f"purchase <@{CUSTOMER}> 100")
    second = run(sbot, "loyalty")

    assert [r.sent for r in first] == [1, 0]
    assert second.sent == 1
    assert ["bronze" in t for t in texts(dms_to(sbot))] == [True, False]


# Proactive support


def test_an_unanswered_question_alerts_the_agents_channel_not_the_customer(sbot, clock):
    sbot.emulator.add_channel(AGENTS_CHANNEL, name="agents")
    assert "is now" in admin(
        sbot, f"set proactive agents_channel <#{AGENTS_CHANNEL}|agents>"
    )
    sbot.message(CUSTOMER, "is anyone there?", ts=f"{clock.now_s()}.000100")
    clock.advance(5 * 3600)

    report = run(sbot, "proactive")
    again = run(sbot, "proactive")

    alerts = posts_to(sbot, AGENTS_CHANNEL)
    assert report.sent == 1 and again.sent == 0
    assert len(alerts) == 1
    assert f"<@{CUSTOMER}>" in alerts[0]["args"]["text"]
    assert f"<#{COMMUNITY_CHANNEL}>" in alerts[0]["args"]["text"]
    assert dms_to(sbot) == []


def test_a_customer_who_went_quiet_is_contacted_once(sbot, clock):
    for n in range(3):
        sbot.message(CUSTOMER, f"message {n}", ts=f"{clock.now_s()}.00010{n}")
    clock.advance(15 * DAY_S)

    report = run(sbot, "proactive")
    again = run(sbot, "proactive")

    assert report.sent == 1 and again.sent == 0
    assert "15 days" in texts(dms_to(sbot))[0]


# Admin


def test_only_admins_may_manage_strategies(sbot):
    reply = sbot.command(CUSTOMER, "admin disable onboarding").json()

    assert reply["text"] == "Sorry, only workspace admins can do that."
    assert sbot.runtime.strategies.configs.version(sbot.tenant) == 0


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("schedule loyalty 61 9 * * *", "is not usable"),
        (
            "schedule loyalty 0 9 * * * Mars/Olympus",
            "time zone 'Mars/Olympus' is unknown",
        ),
        ("set loyalty gold -5", "expected a number of 0 or more"),
        ("set feedback colour blue", "feedback has no setting 'colour'"),
        (
            "template onboarding welcome Hi {nickname}",
            "template field {nickname} is unknown",
        ),
        ("enable rocket", "strategy 'rocket' is unknown"),
    ],
)
def test_bad_admin_input_is_refused_and_changes_nothing(sbot, command, message):
    before = sbot.runtime.strategies.configs.settings(sbot.tenant, "loyalty")

    reply = admin(sbot, command)

    assert reply.startswith("Nothing changed:")
    assert message in reply
    assert sbot.runtime.strategies.configs.version(sbot.tenant) == 0
    assert sbot.runtime.strategies.configs.settings(sbot.tenant, "loyalty") == before


def test_admin_changes_are_audited_and_listed_with_the_next_run(sbot):
    reply = admin(sbot, "schedule loyalty 30 9 * * 1-5 Europe/Paris")
    admin(sbot, "disable feedback")

    listing = admin(sbot, "list")
    audit = admin(sbot, "audit")

    assert "next run 2024-01-02 08:30 UTC" in reply
    assert "`30 9 * * 1-5` (Europe/Paris)" in listing
    assert "*feedback* — :white_circle: off" in listing
    assert f"<@{ADMIN}> `feedback.enabled`: default → false" in audit
    assert "`loyalty.timezone`" in audit


def test_a_template_change_shows_in_the_preview(sbot):
    sbot.join(CUSTOMER)
    admin(sbot, "template onboarding welcome Hello {first_name}, glad you came!")

    preview = admin(sbot, "preview onboarding")

    assert "Hello Casey, glad you came!" in preview
    assert sbot.emulator.calls("chat.postMessage") == []


def test_the_admin_modal_saves_valid_values_and_reports_bad_ones(sbot):
    from bot.admin import admin_home_blocks, edit_modal

    blocks = admin_home_blocks(sbot.runtime.ctx, sbot.tenant, ADMIN)
    modal = edit_modal(sbot.runtime.ctx, sbot.tenant, "loyalty")

    def submit(values: dict[str, str]):
        state = {
            b["block_id"]: {
                "value": {
                    "type": "plain_text_input",
                    "value": b["element"]["initial_value"],
                }
            }
            for b in modal["blocks"]
        }
        for key, value in values.items():
            state[key]["value"]["value"] = value
        payload = {
            "type": "view_submission",
            "team": {"id": sbot.tenant},
            "user": {"id": ADMIN, "team_id": sbot.tenant},
            "api_app_id": "A0TEST",
            "token": "legacy",
            "trigger_id": "t.1",
            "view": {**modal, "id": "V1", "state": {"values": state}},
        }
        return sbot.replayer.post_interaction(payload)

    bad = submit({"gold": "-1", "silver": "700"})
    good = submit({"silver": "700"})

    assert [b["block_id"] for b in blocks[1:]] == [
        "ltv_admin_onboarding",
        "ltv_admin_proactive",
        "ltv_admin_loyalty",
        "ltv_admin_feedback",
    ]
    assert admin_home_blocks(sbot.runtime.ctx, sbot.tenant, CUSTOMER) == []
    assert bad.json()["response_action"] == "errors"
    assert "gold" in bad.json()["errors"]
    assert good.status == 200 and not good.body
    assert (
        sbot.runtime.strategies.configs.settings(sbot.tenant, "loyalty")["silver"]
        == 700
    )


def test_at_risk_customers_are_chosen_by_the_stored_model(sbot, clock):
    admin(sbot, "set proactive quiet_days 1000")  # only the model trigger
    admin(sbot, "set proactive lookback_days 200")
    model_key = f"ltv:{{{sbot.tenant}}}:model"
    cdnow_fit = {"r": 0.24, "alpha": 4.41, "a": 0.79, "b": 2.43, "unit_days": 7}
    for n, amount in enumerate((20, 30, 25, 40)):
        sbot.command(AGENT, f"purchase <@{CUSTOMER}> {amount}")
        clock.advance(7 * DAY_S if n < 3 else 0)
    clock.advance(40 * DAY_S)
    sbot.runtime.redis.hset(model_key, mapping=cdnow_fit)
    still_active = run(sbot, "proactive")  # P(active) about 0.47
    clock.advance(80 * DAY_S)
    sbot.runtime.redis.delete(model_key)
    without_model = run(sbot, "proactive")
    sbot.runtime.redis.hset(model_key, mapping=cdnow_fit)

    drifting = run(sbot, "proactive")  # P(active) about 0.1

    assert (still_active.sent, without_model.sent, drifting.sent) == (0, 0, 1)
    assert "anything we could do better" in texts(dms_to(sbot))[0]


def test_a_purchase_milestone_is_celebrated_once(sbot):
    admin(sbot, "set loyalty bronze 1000000")
    admin(sbot, "set loyalty silver 1000000")
    admin(sbot, "set loyalty gold 1000000")
    admin(sbot, "set guards cap_hours 0")
    for _ in range(5):
        sbot.command(AGENT, f"purchase <@{CUSTOMER}> 10")

    first = run(sbot, "loyalty")
    second = run(sbot, "loyalty")

    assert (first.sent, second.sent) == (1, 0)
    assert "5th purchase" in texts(dms_to(sbot))[0]


def test_templates_are_filled_from_stored_facts_and_escaped(sbot, clock):
    sbot.emulator.add_user(CUSTOMER, name="casey", real_name="Cas&<Co> Smith")
    sbot.command(AGENT, f"purchase <@{CUSTOMER}> 50")
    admin(
        sbot,
        "template onboarding welcome Hi {first_name}: {purchases} purchase, "
        "last {last_purchase}, LTV {ltv}, tier {tier}",
    )

    run(sbot, "onboarding")

    assert texts(dms_to(sbot)) == [
        "Hi Cas&amp;&lt;Co&gt;: 1 purchase, last 1 January 2024, "
        "LTV $1,800.00, tier silver"
    ]


def test_the_app_home_edit_button_opens_the_strategy_modal(sbot):
    from bot.admin import admin_home_blocks

    home = {"blocks": admin_home_blocks(sbot.runtime.ctx, sbot.tenant, ADMIN)}
    edit = home["blocks"][3]["accessory"]
    payload = {
        "type": "block_actions",
        "team": {"id": sbot.tenant},
        "user": {"id": ADMIN, "team_id": sbot.tenant},
        "api_app_id": "A0TEST",
        "token": "legacy",
        "trigger_id": "trigger.home.1",
        "view": {"id": "VHOME", "type": "home"},
        "actions": [{**edit, "block_id": "ltv_admin_loyalty", "action_ts": "1.2"}],
    }

    delivery = sbot.replayer.post_interaction(payload)

    opened = sbot.emulator.calls("views.open")
    assert delivery.status == 200
    assert len(opened) == 1
    view = opened[0]["args"]["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "ltv_admin_modal"
    assert view["private_metadata"] == "loyalty"
    assert "gold" in [b["block_id"] for b in view["blocks"]]


@pytest.mark.parametrize("fault", [{"http_status": 503}, {"error": "internal_error"}])
def test_a_server_error_on_post_is_resolved_from_history_not_resent_blindly(
    sbot, clock, fault
):
    sbot.join(CUSTOMER)
    sbot.emulator.inject_fault("chat.postMessage", **fault)
    lease_s = sbot.runtime.strategies.ledger.lease_s

    first = run(sbot, "onboarding")
    within_lease = run(sbot, "onboarding")
    clock.advance(lease_s + 1)
    after_lease = run(sbot, "onboarding")
    again = run(sbot, "onboarding")

    assert sum(first.counts[k] for k in first.counts if k.startswith("failed:")) == 1
    assert within_lease.sent == 0
    assert after_lease.sent == 1 and again.sent == 0
    assert len(dms_to(sbot)) == 1


def test_an_in_doubt_claim_is_not_sent_while_its_history_cannot_be_read(sbot, clock):
    sbot.join(CUSTOMER)
    ledger = sbot.runtime.strategies.ledger
    ledger.claim(sbot.tenant, "onboarding", ledger.slot("welcome", CUSTOMER, "once"))
    clock.advance(ledger.lease_s + 1)
    sbot.emulator.inject_fault("conversations.history", error="internal_error")

    unreadable = run(sbot, "onboarding")
    soon_after = run(sbot, "onboarding")
    clock.advance(ledger.lease_s + 1)
    readable = run(sbot, "onboarding")

    assert unreadable.count(report_outcome("failed"), "recovery_internal_error") == 1
    assert soon_after.sent == 0
    assert readable.sent == 1
    assert len(dms_to(sbot)) == 1


def test_the_running_scheduler_follows_admin_changes_without_a_restart(sbot, request):
    from strategies import scheduling
    from strategies.scheduling import (
        job_id,
        run_tenant_strategy_job,
        sync_schedules_job,
    )

    request.addfinalizer(lambda: scheduling.install_sync(None))
    request.addfinalizer(lambda: scheduling.install_runner(None))
    sbot.runtime.start_scheduler()
    scheduler = sbot.runtime.scheduler
    before = str(scheduler.get_job(job_id(sbot.tenant, "loyalty")).trigger)
    admin(sbot, "schedule loyalty 45 7 * * * Asia/Tokyo")
    admin(sbot, "disable feedback")

    sync_schedules_job()
    sbot.join(CUSTOMER)
    run_tenant_strategy_job(sbot.tenant, "onboarding")

    after = scheduler.get_job(job_id(sbot.tenant, "loyalty"))
    assert "hour='11', minute='0'" in before
    assert "hour='7', minute='45'" in str(after.trigger)
    assert str(after.trigger.timezone) == "Asia/Tokyo"
    assert scheduler.get_job(job_id(sbot.tenant, "feedback")) is None
    assert scheduler.get_job("strategies:sync") is not None
    assert len(dms_to(sbot)) == 1


def test_an_agent_reply_in_any_customer_thread_opens_a_conversation(sbot):
    sbot.join(CUSTOMER)
    sbot.message(CUSTOMER, "my order arrived broken", ts="1704110000.000100")
    sbot.message(
        AGENT,
        "sorry to hear that, sending a new one",
        ts="1704110100.000100",
        thread_ts="1704110000.000100",
        parent_user_id=CUSTOMER,
    )

    report = run(sbot, "onboarding")

    assert report.count(report_outcome("skipped"), "in_conversation") == 1
    assert dms_to(sbot) == []
