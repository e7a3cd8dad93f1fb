"""The Bolt app: wires listeners and the /ltv command to the shared context."""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient

from bot.commands import ephemeral, handle_ltv_command
from bot.listeners import event_tenant, handle_member_joined, handle_message
from bot.runtime import BotContext
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


def build_app(
    ctx: BotContext,
    *,
    client: WebClient,
    signing_secret: str,
    token_verification: bool = True,
) -> App:
    """A Bolt app that stores each event before acknowledging it."""
    app = App(
        client=client,
        signing_secret=signing_secret,
        process_before_response=True,
        token_verification_enabled=token_verification,
        request_verification_enabled=True,
        raise_error_for_unhandled_request=False,
    )
    register_listeners(app, ctx)
    app.error(handle_error)
    return app


def register_listeners(app: App, ctx: BotContext) -> None:
    @app.event("message")
    def on_message(
        body: dict[str, Any], event: dict[str, Any], context, ack: Ack
    ) -> None:
        handle_message(ctx, body, event, context)
        ack()

    @app.event("member_joined_channel")
    def on_member_joined(
        body: dict[str, Any], event: dict[str, Any], context, ack: Ack
    ) -> None:
        handle_member_joined(ctx, body, event, context)
        ack()

    @app.command("/ltv")
    def on_ltv(body: dict[str, Any], context, ack: Ack) -> None:
        reply = handle_ltv_command(
            ctx,
            tenant=event_tenant(body, context),
            caller=str(body.get("user_id") or ""),
            text=str(body.get("text") or ""),
            trigger_id=str(body.get("trigger_id") or ""),
        )
        ack(**reply)


def handle_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
    """The one broad catch of the Slack side: log, then answer in one sentence.

    Events get a 500 so that Slack delivers them again; commands get a short
    message, since Slack does not retry them.
    """
    is_command = isinstance(body, dict) and "command" in body
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
