"""The Block Kit checker names each documented limit broken and passes good payloads."""

from __future__ import annotations

import pytest

from bot.blockkit import (
    BlockKitError,
    check_message,
    check_view,
    message_problems,
    view_problems,
)
from bot.home import settings_modal
from bot.shortcuts import purchase_modal
from bot.views import help_text


def section(text: str = "hi", **extra) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str = "a", text: str = "Go", **extra) -> dict:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        **extra,
    }


def modal(blocks: list, title: str = "Title") -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks,
    }


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({"text": ""}, "text: a message needs text or blocks"),
        ({"blocks": [section()] * 51}, "51 blocks, the limit is 50"),
        ({"blocks": [section("x" * 3001)]}, "3001 characters, the limit is 3000"),
        ({"blocks": [section("")]}, "must not be empty"),
        (
            {
                "blocks": [
                    {
                        "type": "header",
                        "text": {"type": "plain_text", "text": "h" * 151},
                    }
                ]
            },
            "151 characters, the limit is 150",
        ),
        (
            {"blocks": [{"type": "header", "text": {"type": "mrkdwn", "text": "h"}}]},
            "type 'mrkdwn'",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "section",
                        "fields": [{"type": "mrkdwn", "text": "f"}] * 11,
                    }
                ]
            },
            "at most 10 fields",
        ),
        (
            {
                "blocks": [
                    {
                        "type": "section",
                        "fields": [{"type": "mrkdwn", "text": "f" * 2001}],
                    }
                ]
            },
            "2001 characters, the limit is 2000",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button(text="b" * 76)]}]},
            "76 characters, the limit is 75",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("a" * 256)]}]},
            "256 characters, the limit is 255",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button("a"), button("a")]}]},
            "duplicate action_id 'a'",
        ),
        (
            {"blocks": [section(block_id="b"), section(block_id="b")]},
            "duplicate block_id 'b'",
        ),
        (
            {"blocks": [{"type": "actions", "elements": [button(style="pink")]}]},
            "is not primary or danger",
        ),
        ({"blocks": [{"type": "carousel"}]}, "unknown block type 'carousel'"),
        (
            {
                "blocks": [
                    {"type": "input", "label": {"type": "plain_text", "text": "x"}}
                ]
            },
            "input blocks belong in modals",
        ),
        ({"blocks": [{"type": "context", "elements": []}]}, "1 to 10 elements"),
        ({"text": "x" * 40_001}, "40001 characters"),
    ],
)
def test_each_broken_message_limit_is_named_with_its_path(payload, problem):
    problems = message_problems(payload)

    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("view", "problem"),
    [
        (modal([section()] * 101), "101 blocks, the limit is 100"),
        (modal([section()], title="t" * 25), "title.text: 25 characters"),
        ({"type": "home", "blocks": [section()] * 100}, None),
        ({"type": "sheet", "blocks": []}, "expected modal or home"),
        ({**modal([section()]), "private_metadata": "m" * 3001}, "over 3000"),
        (
            modal(
                [
                    {
                        "type": "input",
                        "label": {"type": "plain_text", "text": "x"},
                        "element": {
                            "type": "static_select",
                            "action_id": "s",
                            "options": [
                                {
                                    "text": {"type": "plain_text", "text": "o"},
                                    "value": "v" * 151,
                                }
                            ],
                        },
                    }
                ]
            ),
            "151 characters, the limit is 150",
        ),
    ],
)
def test_each_broken_view_limit_is_named(view, problem):
    problems = view_problems(view)

    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_check_raises_one_error_naming_every_problem():
    with pytest.raises(BlockKitError) as caught:
        check_message({"blocks": [section(""), {"type": "carousel"}]})

    assert len(caught.value.problems) == 2
    assert isinstance(caught.value, ValueError)
    assert "blocks[0].text.text: must not be empty" in str(caught.value)


def test_the_bots_own_modals_and_help_pass():
    view = purchase_modal(user="U1", amount_text="$5.00", metadata={"tenant": "T1"})

    assert check_view(view) is view
    assert message_problems({"text": help_text({})}) == []


def test_the_settings_modal_passes(store, redis_client, tenant, clock):
    from bot.runtime import BotContext
    from ltv.workspace import WorkspaceConfig, WorkspaceConfigStore

    class NoRoles:
        client = None

    ctx = BotContext(
        store=store,
        configs=WorkspaceConfigStore(redis_client, defaults=WorkspaceConfig()),
        roles=NoRoles(),  # type: ignore[arg-type]
        clock=clock,
    )

    assert view_problems(settings_modal(ctx, tenant)) == []
