"""Helpers for the Slack-surface scenarios: interactivity payloads, Block Kit checks."""

from __future__ import annotations

import json
from typing import Any

from bot.blockkit import message_problems, view_problems
from tests.scenarios.conftest import COMMUNITY_CHANNEL, BotHarness

MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")
VIEW_METHODS = ("views.open", "views.publish", "views.update", "views.push")


def command(bot: BotHarness, user: str, text: str, **overrides: str) -> dict[str, Any]:
    """A signed /ltv command; its acknowledgement body, checked as Block Kit."""
    fields = {
        "token": "legacy",
        "team_id": bot.tenant,
        "team_domain": "test",
        "channel_id": COMMUNITY_CHANNEL,
        "channel_name": "community",
        "user_id": user,
        "user_name": "someone",
        "command": "/ltv",
        "text": text,
        "api_app_id": "A0TEST",
        "is_enterprise_install": "false",
        "response_url": bot.emulator.response_url("cmd"),
        "trigger_id": f"trigger.{bot.next_id()}",
        **overrides,
    }
    delivery = bot.replayer.post_command(fields)
    assert delivery.status == 200, delivery.body
    reply = delivery.json()
    assert message_problems(reply) == [], reply
    return reply


def interaction(bot: BotHarness, payload: dict[str, Any]) -> Any:
    delivery = bot.replayer.post_interaction(payload)
    assert delivery.status == 200, delivery.body
    return delivery.json()


def actor(bot: BotHarness, user: str) -> dict[str, Any]:
    return {
        "user": {"id": user, "username": "x", "name": "x", "team_id": bot.tenant},
        "team": {"id": bot.tenant, "domain": "test"},
        "api_app_id": "A0TEST",
        "token": "legacy",
        "enterprise": None,
        "is_enterprise_install": False,
        "trigger_id": f"trigger.{bot.next_id()}",
    }


def message_shortcut(
    bot: BotHarness, user: str, message: dict[str, Any], channel: str
) -> Any:
    payload = {
        "type": "message_action",
        "callback_id": "log_purchase",
        **actor(bot, user),
        "channel": {"id": channel, "name": "community"},
        "message": message,
        "message_ts": message["ts"],
        "response_url": bot.emulator.response_url("shortcut"),
    }
    return interaction(bot, payload)


def button(bot: BotHarness, user: str, action_id: str, value: str = "") -> Any:
    payload = {
        "type": "block_actions",
        **actor(bot, user),
        "container": {"type": "message", "message_ts": "1.1", "is_ephemeral": True},
        "channel": {"id": COMMUNITY_CHANNEL, "name": "community"},
        "response_url": bot.emulator.response_url("button"),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "card_actions",
                "value": value,
                "action_ts": "1.2",
            }
        ],
    }
    return interaction(bot, payload)


def home_action(bot: BotHarness, user: str, action: dict[str, Any]) -> Any:
    payload = {
        "type": "block_actions",
        **actor(bot, user),
        "container": {"type": "view", "view_id": "V1"},
        "view": {"id": "V1", "type": "home"},
        "actions": [action],
    }
    return interaction(bot, payload)


def submit_view(
    bot: BotHarness, user: str, opened: dict[str, Any], values: dict[str, Any]
) -> Any:
    """Submit the view the bot opened, with the given state values."""
    view = {
        "id": "V" + str(bot.next_id()).rjust(8, "0"),
        "type": "modal",
        "callback_id": opened["callback_id"],
        "private_metadata": opened.get("private_metadata", ""),
        "state": {"values": values},
    }
    payload = {"type": "view_submission", **actor(bot, user), "view": view}
    return interaction(bot, payload)


def last_opened_view(bot: BotHarness) -> dict[str, Any]:
    calls = bot.emulator.calls("views.open")
    assert calls, "no views.open call"
    view = calls[-1]["args"]["view"]
    return json.loads(view) if isinstance(view, str) else view


def responses(bot: BotHarness) -> list[dict[str, Any]]:
    return [c["args"] for c in bot.emulator.calls("response_url")]


def all_payload_problems(bot: BotHarness) -> list[str]:
    """Every Block Kit problem in every message and view the emulator received."""
    problems: list[str] = []
    for call in bot.emulator.calls():
        args = call["args"]
        if call["method"] in MESSAGE_METHODS or call["method"] == "response_url":
            problems += [f"{call['method']}: {p}" for p in message_problems(args)]
        if call["method"] in VIEW_METHODS:
            view = args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            problems += [f"{call['method']}: {p}" for p in view_problems(view)]
    return problems
