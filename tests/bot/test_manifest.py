"""manifest.yml asks for exactly what the code uses, in both Socket Mode and HTTP."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot import shortcuts
from bot.doctor import REQUIRED_SCOPES

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
# Bolt event listeners registered in bot/app.py and bot/home.py, and the
# manifest subscriptions that deliver them.
EVENTS = {
    "app_home_opened",
    "member_joined_channel",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    "reaction_added",
}


def load() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_the_scopes_are_exactly_those_the_doctor_checks():
    assert set(load()["oauth_config"]["scopes"]["bot"]) == set(REQUIRED_SCOPES)


def test_events_command_shortcut_and_interactivity_are_declared():
    manifest = load()
    features, settings = manifest["features"], manifest["settings"]

    assert set(settings["event_subscriptions"]["bot_events"]) == EVENTS
    assert [c["command"] for c in features["slash_commands"]] == ["/ltv"]
    assert features["slash_commands"][0]["should_escape"] is True
    assert [s["callback_id"] for s in features["shortcuts"]] == [
        shortcuts.SHORTCUT_CALLBACK
    ]
    assert features["shortcuts"][0]["type"] == "message"
    assert settings["interactivity"]["is_enabled"] is True
    assert features["app_home"]["home_tab_enabled"] is True


def test_every_request_url_is_the_one_bolt_path_for_http_mode():
    manifest = load()
    urls = [
        manifest["features"]["slash_commands"][0]["url"],
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
    ]

    assert {u.rsplit("/", 2)[-2] + "/" + u.rsplit("/", 1)[-1] for u in urls} == {
        "slack/events"
    }
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_texts_fit_slacks_manifest_limits():
    manifest = load()
    command = manifest["features"]["slash_commands"][0]

    assert len(manifest["display_information"]["description"]) <= 140
    assert len(command["description"]) <= 100
    assert len(command["usage_hint"]) <= 100
    assert len(manifest["features"]["shortcuts"][0]["description"]) <= 80
