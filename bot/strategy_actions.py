"""Bolt handlers for strategy messages: ratings, opt-outs and the admin modal.

Also the one hook the message listener calls: a customer's "stop"/"start" in a
DM, questions asked in channels, agents' replies and resolved threads.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.admin import edit_modal, is_admin, submit_modal
from bot.roles import Role
from bot.runtime import BotContext
from bot.translate import decode_text, tenant_of
from ltv.errors import InvalidIdError
from ltv.keys import USER_ID
from strategies.config import STRATEGIES
from strategies.feedback import record_rating, thread_resolved
from strategies.guards import ALL
from strategies.messenger import SendError

logger = logging.getLogger(__name__)

RATING_ACTION = re.compile(r"^ltv_feedback_(csat|nps)_\d{1,2}$")
STOP_WORDS = {"stop", "unsubscribe"}
START_WORDS = {"start", "subscribe"}
RESOLVED = re.compile(r"(^|\s)(resolved|:white_check_mark:)(\s|$)", re.IGNORECASE)
THANKS = "Thanks for your feedback!"


def _confirm_text(category: str, *, stopped: bool) -> str:
    what = "any messages" if category == ALL else f"{category} messages"
    if stopped:
        return f"Done: you won't get {what} from us again. Reply *start* to undo."
    return f"Welcome back: you'll get {what} from us again. Reply *stop* to opt out."


def register_strategy_actions(app: App, ctx: BotContext) -> None:
    """Button clicks and modal submissions of the strategies and their admin."""

    @app.action(RATING_ACTION)
    def on_rating(
        body: dict[str, Any],
        action: dict[str, Any],
        context,
        client: WebClient,
        ack: Ack,
    ) -> None:
        handle_rating(ctx, body, action, context, client)
        ack()

    @app.action(re.compile(r"^ltv_unsubscribe_(strategy|all)$"))
    def on_unsubscribe(
        body: dict[str, Any],
        action: dict[str, Any],
        context,
        client: WebClient,
        ack: Ack,
    ) -> None:
        handle_unsubscribe(ctx, body, action, context, client)
        ack()

    @app.action(re.compile(r"^ltv_admin_edit(_[a-z]+)?$"))
    def on_admin_edit(
        body: dict[str, Any],
        action: dict[str, Any],
        context,
        client: WebClient,
        ack: Ack,
    ) -> None:
        ack()
        open_admin_modal(ctx, body, action, context, client)

    @app.view("ltv_admin_modal")
    def on_admin_submit(
        body: dict[str, Any], view: dict[str, Any], context, ack: Ack
    ) -> None:
        errors = handle_admin_submit(ctx, body, view, context)
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()


CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,31}$")
MESSAGE_TS = re.compile(r"^\d{9,11}\.\d{1,6}$")


def event_tenant(body: dict[str, Any], context: dict[str, Any]) -> str:
    enterprise = context.get("enterprise_id") or body.get("enterprise_id")
    return tenant_of(enterprise, context.get("team_id") or body.get("team_id"))


def _is_from_a_bot(event: dict[str, Any], context: dict[str, Any]) -> bool:
    own = {context.get("bot_user_id"), context.get("bot_id")} - {None}
    return bool(
        own & {event.get("user"), event.get("bot_id")}
        or event.get("bot_id")
        or event.get("subtype") == "bot_message"
    )


def _clicker(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def handle_rating(
    ctx: BotContext,
    body: dict[str, Any],
    action: dict[str, Any],
    context,
    client: WebClient,
) -> None:
    tenant = event_tenant(body, context)
    try:
        value = json.loads(action.get("value") or "{}")
        stored = record_rating(
            ctx.store.redis,
            tenant,
            user=_clicker(body),
            kind=str(value["k"]),
            score=int(value["s"]),
            slot=str(value["slot"])[:120],
            agent=str(value.get("a") or "")[:32],
            at_s=ctx.clock.now_s(),
        )
    except (ValueError, KeyError, TypeError, InvalidIdError):
        logger.warning("rating refused tenant=%s user=%s", tenant, _clicker(body))
        return
    logger.info(
        "rating stored tenant=%s user=%s new=%s", tenant, _clicker(body), stored
    )
    _thank(client, body)


def _thank(client: WebClient, body: dict[str, Any]) -> None:
    channel = (body.get("channel") or {}).get("id")
    ts = (body.get("message") or {}).get("ts")
    if not channel or not ts:
        return
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": THANKS}}]
    try:
        client.chat_update(channel=channel, ts=ts, text=THANKS, blocks=blocks)
    except SlackApiError as exc:
        logger.warning("thank-you update failed error=%s", exc.response.get("error"))


def handle_unsubscribe(
    ctx: BotContext,
    body: dict[str, Any],
    action: dict[str, Any],
    context,
    client: WebClient,
) -> None:
    tenant = event_tenant(body, context)
    category = str(action.get("value") or ALL)
    if category not in (*STRATEGIES, ALL):
        return
    set_opt_out(ctx, tenant, _clicker(body), category, stop=True)


def set_opt_out(
    ctx: BotContext, tenant: str, user: str, category: str, *, stop: bool
) -> bool:
    """Opt out or back in; confirms by DM only when something changed."""
    if ctx.strategies is None or not USER_ID.match(user):
        return False
    optouts = ctx.strategies.optouts
    changed = (
        optouts.opt_out(tenant, user, category)
        if stop
        else optouts.opt_in(tenant, user, category)
    )
    logger.info(
        "opt-out tenant=%s user=%s category=%s stop=%s changed=%s",
        tenant,
        user,
        category,
        stop,
        changed,
    )
    if changed:
        _confirm(ctx, tenant, user, _confirm_text(category, stopped=stop))
    return changed


def _confirm(ctx: BotContext, tenant: str, user: str, text: str) -> None:
    assert ctx.strategies is not None
    try:
        ctx.strategies.engine.messenger.send_direct_message(tenant, user, text=text)
    except SendError as exc:
        logger.warning("opt-out confirmation failed user=%s error=%s", user, exc.code)


def open_admin_modal(
    ctx: BotContext,
    body: dict[str, Any],
    action: dict[str, Any],
    context,
    client: WebClient,
) -> None:
    tenant = event_tenant(body, context)
    name = str(action.get("value") or "")
    if name not in STRATEGIES or not is_admin(ctx, tenant, _clicker(body)):
        return
    client.views_open(trigger_id=body["trigger_id"], view=edit_modal(ctx, tenant, name))


def handle_admin_submit(
    ctx: BotContext, body: dict[str, Any], view: dict[str, Any], context
) -> dict[str, str]:
    tenant = event_tenant(body, context)
    name = str(view.get("private_metadata") or "")
    caller = _clicker(body)
    if name not in STRATEGIES or not is_admin(ctx, tenant, caller):
        return {}
    state = (view.get("state") or {}).get("values") or {}
    return submit_modal(ctx, tenant, caller, name, state)


def observe_message(
    ctx: BotContext, body: dict[str, Any], event: dict[str, Any], context
) -> None:
    """What strategies learn from a message: opt-outs in DMs, questions and answers."""
    if ctx.strategies is None or _is_from_a_bot(event, context):
        return
    user = str(event.get("user") or "")
    if event.get("subtype") or not USER_ID.match(user):
        return
    tenant = event_tenant(body, context)
    text = decode_text(event.get("text")).strip()
    if event.get("channel_type") == "im":
        _dm_command(ctx, tenant, user, text)
        return
    _track_thread(ctx, tenant, user, event, text)


def _dm_command(ctx: BotContext, tenant: str, user: str, text: str) -> None:
    words = text.lower().split()
    if not words or words[0] not in STOP_WORDS | START_WORDS or len(words) > 2:
        return
    category = words[1] if len(words) == 2 else ALL
    if category not in (*STRATEGIES, ALL):
        return
    set_opt_out(ctx, tenant, user, category, stop=words[0] in STOP_WORDS)


def _parent_customer(ctx: BotContext, tenant: str, event: dict[str, Any]) -> str | None:
    """The thread's author as Slack names it, when that is a customer."""
    parent = str(event.get("parent_user_id") or "")
    if not USER_ID.match(parent) or parent == event.get("user"):
        return None
    return parent if ctx.roles.role_of(tenant, parent) is Role.CUSTOMER else None


def _track_thread(
    ctx: BotContext, tenant: str, user: str, event: dict[str, Any], text: str
) -> None:
    assert ctx.strategies is not None
    conversations = ctx.strategies.conversations
    channel = str(event.get("channel") or "")
    ts = str(event.get("ts") or "")
    thread_ts = str(event.get("thread_ts") or "")
    if not CHANNEL_ID.match(channel) or not MESSAGE_TS.match(ts):
        return
    if thread_ts and not MESSAGE_TS.match(thread_ts):
        return
    is_agent = ctx.roles.role_of(tenant, user) in (Role.AGENT, Role.ADMIN)
    if not is_agent:
        if not thread_ts and text.endswith("?"):
            conversations.question_asked(tenant, user, channel, ts)
        return
    if not thread_ts:
        return
    customer = conversations.question_answered(tenant, channel, thread_ts)
    customer = customer or conversations.thread_customer(tenant, channel, thread_ts)
    customer = customer or _parent_customer(ctx, tenant, event)
    if customer is None:
        return
    if RESOLVED.search(text):
        conversations.resolve(tenant, customer)
        thread_resolved(
            ctx.store.redis, tenant, customer, user, thread_ts, ctx.clock.now_s()
        )
        return
    conversations.agent_replied(tenant, customer)
    conversations.remember_thread(tenant, channel, thread_ts, customer)
