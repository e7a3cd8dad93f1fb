"""`ltv-bot doctor`: checks the tokens, the scopes Slack granted and Redis.

Each check says exactly what is missing and where to fix it. The scopes
come from the ``x-oauth-scopes`` header Slack sends with every Web API
answer (auth.test here) and are compared with those in manifest.yml.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.settings import Settings

# Every bot scope the code uses; manifest.yml requests exactly these.
REQUIRED_SCOPES = {
    "channels:history": "message events in public channels",
    "channels:read": "member_joined_channel in public channels",
    "chat:write": "strategy DMs and confirmations",
    "commands": "the /ltv command",
    "groups:history": "message events in private channels",
    "groups:read": "member_joined_channel in private channels",
    "im:history": "messages customers send the bot",
    "im:write": "opening DMs (conversations.open)",
    "mpim:history": "messages in group DMs",
    "reactions:read": "reaction_added events",
    "usergroups:read": "the agents' user group",
    "users:read": "roles (users.info) and names (users.list)",
    "users:read.email": "order notices naming customers by email",
}


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def check_secrets(settings: Settings) -> list[Check]:
    signing = settings.slack_signing_secret
    app_token = settings.slack_app_token
    checks = [
        Check(
            "SLACK_SIGNING_SECRET",
            bool(signing and signing.get_secret_value()),
            "set"
            if signing
            else "not set; copy it from Basic Information → "
            "App Credentials → Signing Secret",
        )
    ]
    if app_token is None:
        checks.append(Check("mode", True, "HTTP (SLACK_APP_TOKEN not set)"))
        return checks
    good = app_token.get_secret_value().startswith("xapp-")
    detail = (
        "Socket Mode, app-level token set"
        if good
        else (
            "SLACK_APP_TOKEN should start with xapp-; create one under Basic "
            "Information → App-Level Tokens with the connections:write scope"
        )
    )
    checks.append(Check("SLACK_APP_TOKEN", good, detail))
    return checks


def check_bot_token(settings: Settings) -> tuple[list[Check], set[str]]:
    """auth.test with the bot token; the granted scopes from its header."""
    token = settings.slack_bot_token
    if token is None or not token.get_secret_value():
        detail = (
            "not set; copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
        )
        return [Check("SLACK_BOT_TOKEN", False, detail)], set()
    client = WebClient(
        token=token.get_secret_value(),
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        timeout=10,
    )
    try:
        response = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        detail = (
            f"Slack refused it ({error}); reinstall the app and copy the token again"
        )
        return [Check("SLACK_BOT_TOKEN", False, detail)], set()
    except (SlackClientError, OSError) as exc:
        detail = f"could not reach Slack's Web API ({type(exc).__name__})"
        return [Check("SLACK_BOT_TOKEN", False, detail)], set()
    header = response.headers.get("x-oauth-scopes") or response.headers.get(
        "X-OAuth-Scopes", ""
    )
    granted = {s.strip() for s in str(header).split(",") if s.strip()}
    team = response.get("team_id")
    detail = f"valid for team {team} as bot user {response.get('user_id')}"
    return [Check("SLACK_BOT_TOKEN", True, detail)], granted


def check_scopes(granted: set[str]) -> Check:
    missing = sorted(set(REQUIRED_SCOPES) - granted)
    if not missing:
        return Check("scopes", True, f"all {len(REQUIRED_SCOPES)} granted")
    needs = "; ".join(f"{s} ({REQUIRED_SCOPES[s]})" for s in missing)
    return Check(
        "scopes",
        False,
        f"missing {needs}. Add them under OAuth & Permissions → Bot Token "
        "Scopes (or recreate the app from manifest.yml) and reinstall the app",
    )


def check_redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check(
            "Redis", True, "REDIS_URL not set; the embedded Redis will be used"
        )
    try:
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=3, socket_timeout=3
        )
        client.ping()
    except (redis.RedisError, OSError, ValueError) as exc:
        return Check(
            "Redis", False, f"REDIS_URL does not answer PING ({type(exc).__name__})"
        )
    return Check("Redis", True, "answers PING")


def run_checks(settings: Settings) -> list[Check]:
    checks = check_secrets(settings)
    token_checks, granted = check_bot_token(settings)
    checks += token_checks
    if token_checks[0].ok:
        checks.append(check_scopes(granted))
    checks.append(check_redis(settings))
    return checks


def report(settings: Settings) -> tuple[str, bool]:
    """The lines to print and whether every check passed."""
    checks = run_checks(settings)
    return "\n".join(c.line() for c in checks) + "\n", all(c.ok for c in checks)
