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


def at_midday(clock) -> None:
    """Outside every customer's quiet hours (their zone defaults to UTC)."""
    clock.set(clock.now_s() - clock.now_s() % 86_400 + 12 * 3600)


def test_failures_are_logged_per_customer_and_the_run_goes_on(bot, clock, caplog):
    at_midday(clock)
    join_three(bot)
    bot.emulator.inject_fault("conversations.open", error="user_not_found")
    bot.emulator.inject_fault("chat.postMessage", http_status=500)
    caplog.set_level(logging.WARNING)

    reports = bot.runtime.runner.run("onboarding")

    counts = reports[0].counts
    assert counts["sent"] == 1
    assert counts["failed:user_not_found"] == 1
    assert counts["failed:http_500"] == 1
    warnings = [
        r.getMessage() for r in caplog.records if "send failed" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert all("strategy=onboarding" in w and "user=U" in w for w in warnings)


def test_failed_posts_end_with_exactly_one_welcome_each(bot, clock):
    at_midday(clock)
    join_three(bot)
    bot.emulator.inject_fault("chat.postMessage", http_status=504)
    bot.emulator.inject_fault("chat.postMessage", http_status=503)

    for _ in range(4):
        bot.runtime.runner.run("onboarding")
        clock.advance(3600)

    posts = posts_by_customer(bot)
    assert {user: outcomes.count(True) for user, outcomes in posts.items()} == {
        CUSTOMER: 1,
        OTHERS[0]: 1,
        OTHERS[1]: 1,
    }
    assert posts[CUSTOMER][0] is False
    assert posts[OTHERS[0]][0] is False
