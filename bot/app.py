"""The Bolt app: wires events, /ltv, shortcuts, buttons, views and App Home."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import redis
from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.request.internals import build_context
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import home, shortcuts
from bot.commands import (
    REFUSAL,
    SUBCOMMANDS,
    CommandRequest,
    ephemeral,
    handle_ltv_command,
)
from bot.listeners import (
    event_tenant,
    handle_member_joined,
    handle_message,
    handle_reaction,
)
from bot.metrics import METRICS
from bot.responder import DeferredReplies
from bot.runtime import BotContext
from bot.stats_chart import is_stats_chart_request, stats_chart_reply
from bot.strategy_actions import register_strategy_actions
from ltv.errors import InvalidIdError, StoreUnavailableError

logger = logging.getLogger(__name__)

UNAVAILABLE = "The LTV bot is temporarily unavailable, please try again in a minute."
FAILED = "Sorry, something went wrong on our side. Please try again."
# Redis failures met outside the store (config reads, role caches) mean the
# same as StoreUnavailableError: nothing was stored, answer so Slack retries.
REDIS_UNAVAILABLE = (
    StoreUnavailableError,
    redis.ConnectionError,
    redis.TimeoutError,
    redis.BusyLoadingError,
)


def repair_form_body(req: BoltRequest) -> BoltRequest:
    """Bolt reads a form body containing the word "payload" anywhere as an
    interactivity payload (``parse_body`` tests ``"payload" in body``), so
    ``/ltv payload`` or a channel named #payload arrives as an empty body and
    reaches no listener. Such a body is parsed again as the form it is."""
    raw = req.raw_body
    if req.mode != "http" or req.body or not raw or raw.lstrip().startswith("{"):
        return req
    fields = dict(parse_qsl(raw, keep_blank_values=True))
    if not fields or "payload" in fields:
        return req
    req.body = fields
    req.context = build_context(req.context, fields)
    return req


class LtvApp(App):
    """Bolt's App with whole form bodies and a responder for slow commands."""

    replies: DeferredReplies

    def dispatch(self, req: BoltRequest) -> BoltResponse:
        return super().dispatch(repair_form_body(req))


def build_app(
    ctx: BotContext,
    *,
    client: WebClient,
    signing_secret: str,
    token_verification: bool = True,
) -> LtvApp:
    """A Bolt app that stores each event before acknowledging it."""
    app = LtvApp(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        token_verification_enabled=token_verification,
        request_verification_enabled=True,
        raise_error_for_unhandled_request=False,
    )
    app.replies = DeferredReplies()
    register_listeners(app, ctx)
    register_strategy_actions(app, ctx)
    app.error(handle_error)
    return app


def register_listeners(app: LtvApp, ctx: BotContext) -> None:
    """Every listener group; other features add theirs with one line here."""
    register_events(app, ctx)
    register_command(app, ctx)
    register_purchase_actions(app, ctx)
    home.register_home(app, ctx)


def register_events(app: LtvApp, ctx: BotContext) -> None:
    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any], context, ack: Ack):
        handle_message(ctx, body, event, context)
        ack()

    @app.event("member_joined_channel")
    def on_member_joined(
        body: dict[str, Any], event: dict[str, Any], context, ack: Ack
    ) -> None:
        handle_member_joined(ctx, body, event, context)
        ack()

    @app.event("reaction_added")
    def on_reaction(body: dict[str, Any], event: dict[str, Any], context, ack: Ack):
        handle_reaction(ctx, body, event, context)
        ack()


def register_command(app: LtvApp, ctx: BotContext) -> None:
    @app.command("/ltv")
    def on_ltv(body: dict[str, Any], context, ack: Ack, client) -> None:
        if is_stats_chart_request(str(body.get("text") or "")):
            ack(**stats_chart_reply(ctx, client, body, context))
            return
        request = CommandRequest(
            tenant=event_tenant(body, context),
            caller=str(body.get("user_id") or ""),
            text=str(body.get("text") or ""),
            trigger_id=str(body.get("trigger_id") or ""),
            channel=str(body.get("channel_id") or ""),
            response_url=str(body.get("response_url") or ""),
        )
        METRICS.inc("ltv_commands_total", subcommand=_first_word(request.text))
        reply = app.replies.answer(
            lambda: handle_ltv_command(ctx, request), request.response_url
        )
        ack(**reply)


def _first_word(text: str) -> str:
    """The subcommand as a metric label: known names only, so labels stay few."""
    word = (text.split() or ["help"])[0].lower()
    return word if word in SUBCOMMANDS.entries or word == "help" else "lookup"


def is_agent(ctx: BotContext, tenant: str, user: str) -> bool:
    return ctx.roles.role_of(tenant, user).sees_customer_data


def tell_refused(body: dict[str, Any]) -> None:
    """A refusal to a button or shortcut, through its response_url when it has one."""
    url = body.get("response_url")
    if url:
        WebhookClient(str(url), timeout=10).send_dict(ephemeral(REFUSAL))


def register_purchase_actions(app: LtvApp, ctx: BotContext) -> None:
    @app.action("open_purchase_modal")
    def on_card_button(body: dict[str, Any], context, ack: Ack) -> None:
        ack()
        tenant, user = event_tenant(body, context), _actor(body)
        if not is_agent(ctx, tenant, user):
            tell_refused(body)
            return
        customer = str((body.get("actions") or [{}])[0].get("value") or "") or None
        shortcuts.open_purchase_modal(
            ctx, tenant, str(body.get("trigger_id") or ""), user=customer
        )

    @app.shortcut(shortcuts.SHORTCUT_CALLBACK)
    def on_log_purchase(body: dict[str, Any], context, ack: Ack) -> None:
        ack()
        tenant = event_tenant(body, context)
        if not is_agent(ctx, tenant, _actor(body)):
            tell_refused(body)
            return
        shortcuts.open_from_message(ctx, tenant, body)

    @app.view(shortcuts.PURCHASE_CALLBACK)
    def on_purchase_submit(body: dict[str, Any], context, ack: Ack) -> None:
        tenant, agent = event_tenant(body, context), _actor(body)
        if not is_agent(ctx, tenant, agent):
            ack(response_action="errors", errors={shortcuts.CUSTOMER_BLOCK: REFUSAL})
            return
        errors = shortcuts.submit_purchase(ctx, tenant, agent, body.get("view") or {})
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()


def _actor(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def handle_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """The one broad catch of the Slack side: log, then answer in one sentence.

    Events get a 500 so that Slack delivers them again; commands get a short
    message, since Slack does not retry them.
    """
    is_command = isinstance(body, dict) and "command" in body
    METRICS.inc("ltv_errors_total", kind=type(error).__name__)
    if isinstance(error, InvalidIdError):
        return refuse_bad_id(error, is_command=is_command)
    unavailable = isinstance(error, REDIS_UNAVAILABLE)
    if unavailable:
        logger.warning("store unavailable: %s", type(error.__cause__ or error).__name__)
    else:
        logger.error("listener failed: %s", type(error).__name__, exc_info=error)
    if not is_command:
        return BoltResponse(status=500, body="")
    reply = ephemeral(UNAVAILABLE if unavailable else FAILED)
    return BoltResponse(
        status=200, body=json.dumps(reply), headers={"content-type": "application/json"}
    )


def refuse_bad_id(error: InvalidIdError, *, is_command: bool) -> BoltResponse:
    """A payload naming an id of the wrong shape: refused, stored nowhere.

    An event is acknowledged (a retry would carry the same id); a command gets
    one sentence naming what could not be read.
    """
    logger.warning("request refused: unreadable %s", error.kind)
    if not is_command:
        return BoltResponse(status=200, body="")
    reply = ephemeral(f"Sorry, that request carried a {error.kind} I could not read.")
    return BoltResponse(
        status=200, body=json.dumps(reply), headers={"content-type": "application/json"}
    )
