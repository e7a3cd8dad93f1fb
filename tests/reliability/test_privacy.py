"""Tokens and secrets never reach the logs; INFO lines carry ids, not content."""

from __future__ import annotations

import logging

from tests.scenarios.conftest import AGENT, CUSTOMER, SIGNING_SECRET

BOT_TOKEN = "xoxb-test-token"
MESSAGE_TEXT = "MySecretQuestionAboutInvoice"
AMOUNT_TEXTS = ("4,321.09", "4321.09", "432109")


def run_scenario(bot, own_redis=None) -> None:
    """Every path that handles a token, a secret, text or an amount."""
    bot.join(CUSTOMER)
    bot.message(CUSTOMER, MESSAGE_TEXT)
    bot.order_notice(
        f"Order 77 paid: $4,321.09 by <@{CUSTOMER}>", ts="1700000500.000100"
    )
    bot.command(AGENT, f"purchase <@{CUSTOMER}> $4,321.09 {MESSAGE_TEXT}")
    bot.command(AGENT, f"<@{CUSTOMER}>")
    bot.command(CUSTOMER, f"<@{CUSTOMER}>")
    bot.command(AGENT, f"purchase <@{CUSTOMER}> 3.350")
    bot.replayer._send(b"{}", {"Content-Type": "application/json"})
    bot.emulator.inject_fault("chat.postMessage", error="invalid_auth")
    bot.runtime.runner.run("onboarding")
    if own_redis is not None:
        own_redis.kill()
        bot.message(CUSTOMER, MESSAGE_TEXT)
        bot.command(AGENT, f"<@{CUSTOMER}>")
        own_redis.start()


def logged_text(records: list[logging.LogRecord]) -> str:
    lines = []
    for record in records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def test_no_token_or_secret_is_logged_even_at_debug(own_bot, own_redis, caplog):
    caplog.set_level(logging.DEBUG)

    run_scenario(own_bot, own_redis)

    text = logged_text(caplog.records)
    assert len(caplog.records) > 20
    assert BOT_TOKEN not in text
    assert SIGNING_SECRET not in text


def test_info_logs_carry_ids_not_message_text_or_amounts(own_bot, own_redis, caplog):
    caplog.set_level(logging.INFO)

    run_scenario(own_bot, own_redis)

    ours = [
        r
        for r in caplog.records
        if r.name.split(".")[0] in {"bot", "ltv", "strategies"}
    ]
    text = logged_text(ours)
    assert CUSTOMER in text
    assert MESSAGE_TEXT not in text
    for amount in AMOUNT_TEXTS:
        assert amount not in text
