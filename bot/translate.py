"""Slack payloads in, typed customer events out; every field checked on the way."""

from __future__ import annotations

import html
import re
from typing import Any, TypeGuard

from bot.orders import OrderNotice
from ltv.errors import InvalidIdError
from ltv.events import Interaction, InteractionKind, Purchase, Refund
from ltv.keys import TENANT_ID, USER_ID
from ltv.money import Money, convert, parse_amount
from ltv.workspace import WorkspaceConfig

SLACK_TS = re.compile(r"^\d{1,12}(\.\d{1,6})?$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
IGNORED_SUBTYPES = frozenset(
    {
        "message_changed",
        "message_deleted",
        "message_replied",
        "bot_message",
        "channel_topic",
        "channel_purpose",
        "channel_name",
        "channel_archive",
        "channel_unarchive",
        "channel_leave",
        "group_leave",
        "pinned_item",
        "unpinned_item",
        "ekm_access_denied",
        "tombstone",
        "assistant_app_thread",
    }
)


def tenant_of(enterprise_id: str | None, team_id: str | None) -> str:
    """The Enterprise Grid org when there is one, otherwise the workspace."""
    for candidate in (enterprise_id, team_id):
        if isinstance(candidate, str) and TENANT_ID.match(candidate):
            return candidate
    raise InvalidIdError("team id", team_id)


def ts_to_ms(ts: object) -> int:
    """Slack's "seconds.micros" timestamp as whole milliseconds."""
    if not isinstance(ts, str) or not SLACK_TS.match(ts):
        raise InvalidIdError("message ts", ts)
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1000 + int((fraction + "000000")[:3])


def decode_text(text: object) -> str:
    """Slack escapes &, < and > as entities; decode them exactly once."""
    if not isinstance(text, str):
        return ""
    return html.unescape(text) if "&" in text else text


def message_key(channel: str, ts: str) -> str:
    """One key per message, shared by a thread broadcast and its thread copy."""
    return f"msg:{channel}:{ts}"


def is_valid_user(user: object) -> TypeGuard[str]:
    return isinstance(user, str) and bool(USER_ID.match(user)) and user[0] != "B"


def interaction_kind(event: dict[str, Any]) -> InteractionKind | None:
    subtype = event.get("subtype")
    if subtype in ("channel_join", "group_join"):
        return "join"
    if subtype == "file_share":
        return "file"
    if subtype in (None, "thread_broadcast", "me_message"):
        thread_ts = event.get("thread_ts")
        return "reply" if thread_ts and thread_ts != event.get("ts") else "message"
    return None


def interaction_from_message(
    tenant: str, event: dict[str, Any], event_id: str
) -> Interaction | None:
    """A customer's message as an interaction; None for anything else."""
    kind = interaction_kind(event)
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if kind is None or event.get("hidden") or not is_valid_user(user):
        return None
    if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
        return None
    return Interaction(
        tenant=tenant,
        user=user,
        at_ms=ts_to_ms(ts),
        event_id=event_id,
        kind=kind,
        message_key=message_key(channel, str(ts)),
        user_team=team_of(event.get("user_team")),
    )


def join_interaction(
    tenant: str, event: dict[str, Any], event_id: str
) -> Interaction | None:
    """member_joined_channel as a join interaction."""
    user = event.get("user")
    if not is_valid_user(user):
        return None
    at = event.get("event_ts") or event.get("ts")
    return Interaction(
        tenant=tenant,
        user=user,
        at_ms=ts_to_ms(at),
        event_id=event_id,
        kind="join",
        message_key=None,
        user_team=team_of(event.get("user_team")),
    )


def money_event_from_notice(
    tenant: str,
    notice: OrderNotice,
    *,
    channel: str,
    ts: str,
    event_id: str,
    config: WorkspaceConfig,
) -> Purchase | Refund:
    """The purchase or refund an order notification announces, at its own time."""
    amount = parse_amount(notice.amount_text, default_currency=config.base_currency)
    base = to_base_currency(amount, config)
    model = Purchase if notice.kind == "purchase" else Refund
    return model(
        tenant=tenant,
        user=notice.user,
        at_ms=ts_to_ms(ts),
        event_id=event_id,
        source_ref=message_key(channel, ts),
        amount=amount,
        base_amount_minor=base.minor,
        order_id=notice.order_id or None,
    )


def to_base_currency(amount: Money, config: WorkspaceConfig) -> Money:
    """The amount in the workspace's base currency; refuses a missing rate."""
    return convert(amount, config.base_currency, config.rates)


def team_of(value: object) -> str | None:
    return value if isinstance(value, str) and TENANT_ID.match(value) else None
