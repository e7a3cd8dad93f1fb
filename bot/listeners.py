"""Event listeners: customer activity and order notices into the store.

Each listener writes first and acknowledges after, so an event that could not
be stored is answered with an error and Slack delivers it again.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from bot.orders import read_order_notice
from bot.runtime import BotContext
from bot.strategy_actions import observe_message
from bot.translate import (
    decode_text,
    interaction_from_message,
    join_interaction,
    message_key,
    money_event_from_notice,
    tenant_of,
)
from ltv.errors import InvalidIdError, LtvError
from ltv.events import AnyEvent, Void

logger = logging.getLogger(__name__)


def event_tenant(body: dict[str, Any], context: dict[str, Any]) -> str:
    """The installing org or workspace, never the team of a Slack Connect guest."""
    enterprise = context.get("enterprise_id") or body.get("enterprise_id")
    return tenant_of(enterprise, context.get("team_id") or body.get("team_id"))


def is_own_post(event: dict[str, Any], context: dict[str, Any]) -> bool:
    own_ids = {context.get("bot_user_id"), context.get("bot_id")} - {None}
    return bool(own_ids & {event.get("user"), event.get("bot_id")})


def is_bot_post(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("subtype") == "bot_message")


def record(ctx: BotContext, event: AnyEvent) -> None:
    config = ctx.configs.load(event.tenant)
    result = ctx.store.record(event, config.policy())
    logger.info(
        "event handled tenant=%s user=%s type=%s status=%s",
        event.tenant,
        event.user,
        type(event).__name__.lower(),
        result.status,
    )


def handle_message(
    ctx: BotContext,
    body: dict[str, Any],
    event: dict[str, Any],
    context: dict[str, Any],
) -> None:
    if is_own_post(event, context):
        return
    observe_message(ctx, body, event, context)
    tenant = event_tenant(body, context)
    config = ctx.configs.load(tenant)
    event_id = str(body.get("event_id") or "")
    if config.is_orders_channel(event.get("channel")):
        handle_orders_channel(ctx, tenant, event, event_id)
        return
    if is_bot_post(event) or not event_id:
        return
    try:
        interaction = interaction_from_message(tenant, event, event_id)
    except (InvalidIdError, ValidationError):
        logger.warning("message event refused tenant=%s", tenant)
        return
    if interaction is not None:
        ctx.store.register_tenant(tenant)
        record(ctx, interaction)


def handle_orders_channel(
    ctx: BotContext, tenant: str, event: dict[str, Any], event_id: str
) -> None:
    subtype = event.get("subtype")
    if subtype == "message_deleted":
        void_deleted_notice(ctx, tenant, event, event_id)
        return
    message = event.get("message") if subtype == "message_changed" else event
    if not isinstance(message, dict):
        return
    record_order_notice(ctx, tenant, event.get("channel"), message, event_id)


def record_order_notice(
    ctx: BotContext,
    tenant: str,
    channel: str | None,
    message: dict[str, Any],
    event_id: str,
) -> None:
    notice = read_order_notice(decode_text(message.get("text")))
    if notice is None or not channel or not event_id:
        logger.info(
            "orders channel message unmatched tenant=%s channel=%s", tenant, channel
        )
        return
    try:
        money_event = money_event_from_notice(
            tenant,
            notice,
            channel=channel,
            ts=str(message.get("ts")),
            event_id=event_id,
            config=ctx.configs.load(tenant),
        )
    except (LtvError, ValidationError) as exc:
        logger.warning(
            "order notice refused tenant=%s channel=%s reason=%s",
            tenant,
            channel,
            type(exc).__name__,
        )
        return
    ctx.store.register_tenant(tenant)
    record(ctx, money_event)


def void_deleted_notice(
    ctx: BotContext, tenant: str, event: dict[str, Any], event_id: str
) -> None:
    deleted_ts = event.get("deleted_ts") or (event.get("previous_message") or {}).get(
        "ts"
    )
    channel = event.get("channel")
    if not deleted_ts or not channel or not event_id:
        return
    source_ref = message_key(channel, str(deleted_ts))
    owner = ctx.store.find_ref_owner(tenant, source_ref)
    if owner is None:
        return
    void = Void(
        tenant=tenant,
        user=owner,
        at_ms=ctx.clock.now_s() * 1000,
        event_id=event_id,
        source_ref=source_ref,
    )
    record(ctx, void)


def handle_member_joined(
    ctx: BotContext,
    body: dict[str, Any],
    event: dict[str, Any],
    context: dict[str, Any],
) -> None:
    if is_own_post(event, context):
        return
    tenant = event_tenant(body, context)
    event_id = str(body.get("event_id") or "")
    try:
        join = join_interaction(tenant, event, event_id) if event_id else None
    except (InvalidIdError, ValidationError):
        logger.warning("join event refused tenant=%s", tenant)
        return
    if join is not None:
        ctx.store.register_tenant(tenant)
        record(ctx, join)
