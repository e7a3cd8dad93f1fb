"""Event listeners: customer activity and order notices into the store.

Each listener writes first and acknowledges after, so an event that could not
be stored is answered with an error and Slack delivers it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.metrics import METRICS
from bot.order_settings import load_patterns, record_unmatched
from bot.orders import (
    OrderNotice,
    customer_reference,
    read_custom_notice,
    read_order_notice,
)
from bot.runtime import BotContext
from bot.strategy_actions import observe_message
from bot.translate import (
    decode_text,
    interaction_from_message,
    is_valid_user,
    join_interaction,
    message_key,
    money_event_from_notice,
    team_of,
    tenant_of,
    ts_to_ms,
)
from ltv.errors import InvalidIdError, LtvError, MissingRateError
from ltv.events import AnyEvent, Interaction, Purchase, Refund, Void
from ltv.keys import TenantKeys
from ltv.store import RecordResult, RecordStatus

logger = logging.getLogger(__name__)


def event_tenant(body: dict[str, Any], context: dict[str, Any]) -> str:
    """The installing org or workspace, never the team of a Slack Connect guest."""
    enterprise = context.get("enterprise_id") or body.get("enterprise_id")
    return tenant_of(enterprise, context.get("team_id") or body.get("team_id"))


def is_own_post(event: dict[str, Any], context: dict[str, Any]) -> bool:
    """The bot's own post, by bot id or bot user id, whatever the subtype."""
    own_ids = {context.get("bot_user_id"), context.get("bot_id")} - {None}
    message = event.get("message")
    inner: dict[str, Any] = message if isinstance(message, dict) else {}
    authors = {event.get("user"), event.get("bot_id")}
    authors |= {inner.get("user"), inner.get("bot_id")}
    return bool(own_ids & authors)


def is_bot_post(event: dict[str, Any]) -> bool:
    return bool(event.get("bot_id") or event.get("subtype") == "bot_message")


def record(ctx: BotContext, event: AnyEvent) -> RecordResult:
    config = ctx.configs.load(event.tenant)
    result = ctx.store.record(event, config.policy())
    kind = type(event).__name__.lower()
    METRICS.inc("ltv_events_handled_total", type=kind, status=str(result.status))
    if isinstance(event, Purchase | Refund) and result.status == "recorded":
        METRICS.inc("ltv_purchases_total", kind=kind, source="slack")
    logger.info(
        "event handled tenant=%s user=%s type=%s status=%s",
        event.tenant,
        event.user,
        type(event).__name__.lower(),
        result.status,
    )
    return result


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
        track_question(ctx, tenant, event)


def track_question(ctx: BotContext, tenant: str, event: dict[str, Any]) -> None:
    """A customer's question waits until an agent posts in its channel after it."""
    user, channel, ts = event.get("user"), str(event.get("channel")), str(event["ts"])
    key = f"{TenantKeys(tenant).prefix}questions"
    asks = "?" in decode_text(event.get("text"))
    if not asks and not ctx.store.redis.exists(key):
        return
    is_agent = ctx.roles.role_of(tenant, str(user)).sees_customer_data
    if asks and not is_agent:
        ctx.store.redis.zadd(key, {f"{channel}|{ts}|{user}": float(ts)})
        return
    if is_agent:
        waiting: list[Any] = ctx.store.redis.zrangebyscore(key, "-inf", float(ts))
        answered = [m for m in waiting if _text(m).startswith(f"{channel}|")]
        if answered:
            ctx.store.redis.zrem(key, *answered)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


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
    ts = str(message.get("ts") or "")
    if not channel or not event_id or not ts:
        return
    notice, reason = read_notice(ctx, tenant, decode_text(message.get("text")))
    if notice is None:
        # People talking in an orders channel are not unread notices.
        if is_bot_post(message):
            record_unmatched(ctx.store.redis, tenant, channel, ts, reason or "no_match")
        return
    if not is_bot_post(message):
        # Order notices come from the shop's app; a person typing one is not a
        # purchase (agents log purchases with /ltv purchase).
        record_unmatched(ctx.store.redis, tenant, channel, ts, "not_from_an_app")
        return
    try:
        money_event = money_event_from_notice(
            tenant,
            notice,
            channel=channel,
            ts=ts,
            event_id=event_id,
            config=ctx.configs.load(tenant),
        )
    except (LtvError, ValidationError) as exc:
        reason = (
            "no_exchange_rate"
            if isinstance(exc, MissingRateError)
            else "amount_unreadable"
        )
        record_unmatched(ctx.store.redis, tenant, channel, ts, reason)
        logger.warning(
            "order notice refused tenant=%s channel=%s reason=%s",
            tenant,
            channel,
            type(exc).__name__,
        )
        return
    ctx.store.register_tenant(tenant)
    result = record(ctx, money_event)
    if result.status is RecordStatus.REFUSED:
        # A refused refund or edit is listed for admins, not silently dropped.
        record_unmatched(ctx.store.redis, tenant, channel, ts, result.reason)


def read_notice(
    ctx: BotContext, tenant: str, text: str
) -> tuple[OrderNotice | None, str | None]:
    """The built-in patterns first, then the admins' own; the customer resolved."""
    notice = read_order_notice(text)
    if notice is not None:
        return notice, None
    custom, written = read_custom_notice(text, load_patterns(ctx.store.redis, tenant))
    if custom is None or written is None:
        return None, "no_match"
    user, email = customer_reference(written)
    if user is None and email is not None:
        user = lookup_email(ctx, email)
    if user is None:
        return None, "customer_unknown"
    return OrderNotice(custom.kind, custom.order_id, custom.amount_text, user), None


def lookup_email(ctx: BotContext, email: str) -> str | None:
    try:
        found = ctx.roles.client.users_lookupByEmail(email=email)
    except (SlackApiError, SlackClientError, OSError) as exc:
        logger.info("order customer email unknown error=%s", type(exc).__name__)
        return None
    user = (found.get("user") or {}).get("id")
    return str(user) if user else None


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


def record_interaction_event(
    ctx: BotContext,
    body: dict[str, Any],
    event: dict[str, Any],
    context: dict[str, Any],
    build: Callable[[str, dict[str, Any], str], Interaction | None],
) -> None:
    """The shared path of join and reaction events: checked, built, recorded."""
    event_id = str(body.get("event_id") or "")
    if is_own_post(event, context) or not event_id:
        return
    tenant = event_tenant(body, context)
    try:
        interaction = build(tenant, event, event_id)
    except (InvalidIdError, ValidationError):
        logger.warning("%s event refused tenant=%s", event.get("type"), tenant)
        return
    if interaction is not None:
        ctx.store.register_tenant(tenant)
        record(ctx, interaction)


def handle_member_joined(
    ctx: BotContext,
    body: dict[str, Any],
    event: dict[str, Any],
    context: dict[str, Any],
) -> None:
    record_interaction_event(ctx, body, event, context, join_interaction)


def reaction_interaction(
    tenant: str, event: dict[str, Any], event_id: str
) -> Interaction | None:
    """A customer's reaction is an interaction of its own (each one counts)."""
    user = event.get("user")
    if not is_valid_user(user):
        return None
    return Interaction(
        tenant=tenant,
        user=user,
        at_ms=ts_to_ms(event.get("event_ts")),
        event_id=event_id,
        kind="reaction",
        user_team=team_of(event.get("user_team")),
    )


def handle_reaction(
    ctx: BotContext,
    body: dict[str, Any],
    event: dict[str, Any],
    context: dict[str, Any],
) -> None:
    record_interaction_event(ctx, body, event, context, reaction_interaction)
