"""`ltv-bot doctor` names what is missing: tokens, scopes, Redis."""

from __future__ import annotations

from bot.doctor import REQUIRED_SCOPES, report
from bot.emulator import SlackEmulator
from bot.settings import Settings


def settings_for(api_url: str, redis_url: str, **extra: str) -> Settings:
    values = {
        "SLACK_BOT_TOKEN": "xoxb-good",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": api_url,
        "REDIS_URL": redis_url,
        **extra,
    }
    return Settings(_env_file=None, **values)


def test_a_complete_setup_passes(redis_url):
    with SlackEmulator(token="xoxb-good", scopes=sorted(REQUIRED_SCOPES)) as slack:
        text, healthy = report(settings_for(slack.api_url, redis_url))

    assert healthy, text
    assert f"ok   scopes: all {len(REQUIRED_SCOPES)} granted" in text


def test_missing_scopes_are_named_with_what_they_are_for(redis_url):
    granted = sorted(set(REQUIRED_SCOPES) - {"reactions:read", "users:read.email"})
    with SlackEmulator(token="xoxb-good", scopes=granted) as slack:
        text, healthy = report(settings_for(slack.api_url, redis_url))

    assert not healthy
    assert "FAIL scopes: missing reactions:read (reaction_added events); " in text
    assert "users:read.email (order notices naming customers by email)" in text


def test_a_rejected_token_and_a_dead_redis_are_reported(redis_url):
    with SlackEmulator(token="xoxb-good") as slack:
        settings = settings_for(
            slack.api_url,
            "redis://127.0.0.1:1/0",
            SLACK_BOT_TOKEN="xoxb-wrong",
            SLACK_APP_TOKEN="xoxb-not-an-app-token",
        )
        text, healthy = report(settings)

    assert not healthy
    assert "FAIL SLACK_BOT_TOKEN: Slack refused it (invalid_auth)" in text
    assert "FAIL SLACK_APP_TOKEN: SLACK_APP_TOKEN should start with xapp-" in text
    assert "FAIL Redis: REDIS_URL does not answer PING" in text
    assert "scopes" not in text
