"""A strategy run through Slack failures: logged, never stopped, never doubled."""

from __future__ import annotations

import logging

from tests.scenarios.conftest import CUSTOMER

OTHERS = ("UCUSTB0002", "UCUSTC0003")


def join_three(bot) -> None:
    for user in OTHERS:
        bot.emulator.add_user(user, name=user.lower(), real_name=user)
    for at, user in enumerate((CUSTOMER, *OTHERS)):
        bot.join(user, at=1_700_000_000 + at)


def posts_by_customer(bot) -> dict[str, list[bool]]:
    """For each customer, whether each post to their DM succeeded, in order."""
    calls = bot.emulator.calls("chat.postMessage")
    outcome: dict[str, list[bool]] = {}
    for user in (CUSTOMER, *OTHERS):
        dm = bot.runtime.client.conversations_open(users=user)["channel"]["id"]
        outcome[user] = [
            c["response"]["ok"] for c in calls if c["args"]["channel"] == dm
        ]
    return outcome


def test_failures_are_logged_per_customer_and_the_run_goes_on(bot, caplog):
    join_three(bot)
    bot.emulator.inject_fault("conversations.open", error="user_not_found")
    bot.emulator.inject_fault("chat.postMessage", http_status=500)
    caplog.set_level(logging.WARNING)

    reports = bot.runtime.runner.run("onboarding")

    counts = reports[0].counts
    assert counts["sent"] == 1
    assert counts["failed:user_not_found"] == 1
    assert counts["failed:delivery_unknown"] == 1
    warnings = [
        r.getMessage() for r in caplog.records if "send failed" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert all("strategy=onboarding" in w and "user=U" in w for w in warnings)


def test_an_unknown_outcome_is_never_resent_and_a_refusal_is_retried_once(bot):
    join_three(bot)
    bot.emulator.inject_fault("chat.postMessage", http_status=504)
    bot.emulator.inject_fault("chat.postMessage", http_status=503)

    first = bot.runtime.runner.run("onboarding")
    second = bot.runtime.runner.run("onboarding")
    third = bot.runtime.runner.run("onboarding")

    posts = posts_by_customer(bot)
    assert first[0].sent == 1
    assert second[0].sent == 1
    assert third[0].sent == 0
    assert posts == {
        CUSTOMER: [False],
        OTHERS[0]: [False, True],
        OTHERS[1]: [True],
    }
