"""The /ltv slash command: parsing its text and answering the agent."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot.prediction_view import model_estimate_blocks
from bot.roles import Role
from bot.runtime import BotContext
from bot.translate import to_base_currency
from bot.views import HELP_TEXT, card_fallback_text, customer_card, money_text
from ltv.errors import LtvError
from ltv.events import Purchase
from ltv.money import currency_exponent, parse_amount
from ltv.store import RecordStatus

logger = logging.getLogger(__name__)

MENTION = re.compile(r"^<@(?P<user>[UW][A-Z0-9]{2,31})(?:\|[^>]*)?>$")
MAX_COMMAND_LENGTH = 2000

REFUSAL = "Sorry, customer values are only shown to the support team."


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    action: str
    user: str | None = None
    amount_text: str | None = None
    note: str | None = None
    error: str | None = None


def read_mention(token: str) -> str | None:
    match = MENTION.match(token)
    return match["user"] if match else None


def parse_command(text: str) -> ParsedCommand:
    """What the agent asked for; unknown input becomes help with a reason."""
    if len(text) > MAX_COMMAND_LENGTH:
        return ParsedCommand("help", error="That command is too long.")
    tokens = text.split()
    if not tokens or tokens[0].lower() == "help":
        return ParsedCommand("help")
    if tokens[0].lower() == "purchase":
        return _parse_purchase(tokens[1:])
    user = read_mention(tokens[0])
    if user and len(tokens) == 1:
        return ParsedCommand("lookup", user=user)
    if user:
        return ParsedCommand("help", error="Name one customer at a time.")
    return ParsedCommand("help", error=f"I don't know `{tokens[0][:40]}`.")


def _parse_purchase(tokens: list[str]) -> ParsedCommand:
    usage = "Usage: `/ltv purchase @user AMOUNT [CURRENCY] [note]`."
    if len(tokens) < 2 or not read_mention(tokens[0]):
        return ParsedCommand("help", error=usage)
    amount_tokens = tokens[1:2]
    if len(tokens) > 2 and _is_currency_code(tokens[2]):
        amount_tokens = tokens[1:3]
    note = " ".join(tokens[1 + len(amount_tokens) :]) or None
    return ParsedCommand(
        "purchase",
        user=read_mention(tokens[0]),
        amount_text=" ".join(amount_tokens),
        note=note,
    )


def _is_currency_code(token: str) -> bool:
    if len(token) != 3 or not token.isalpha():
        return False
    try:
        currency_exponent(token.upper())
    except LtvError:
        return False
    return True


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        reply["blocks"] = blocks
    return reply


def help_reply(error: str | None) -> dict[str, Any]:
    return ephemeral(f"{error}\n\n{HELP_TEXT}" if error else HELP_TEXT)


def handle_ltv_command(
    ctx: BotContext, *, tenant: str, caller: str, text: str, trigger_id: str
) -> dict[str, Any]:
    """The reply to one /ltv command, as an ephemeral message."""
    command = parse_command(text)
    if command.action == "help":
        return help_reply(command.error)
    if not ctx.roles.role_of(tenant, caller).sees_customer_data:
        logger.info(
            "command refused tenant=%s user=%s role=%s", tenant, caller, Role.CUSTOMER
        )
        return ephemeral(REFUSAL)
    assert command.user is not None
    if command.action == "purchase":
        return log_purchase(ctx, tenant, command, trigger_id)
    return lookup_customer(ctx, tenant, command.user)


def lookup_customer(ctx: BotContext, tenant: str, user: str) -> dict[str, Any]:
    record = ctx.store.customer(tenant, user)
    if record is None:
        return ephemeral(f"I have no record of <@{user}> yet.")
    config = ctx.configs.load(tenant)
    breakdown = ctx.store.breakdown(record, config.policy())
    currency = config.base_currency
    return ephemeral(
        card_fallback_text(record, breakdown, currency),
        customer_card(record, breakdown, currency)
        + model_estimate_blocks(ctx, tenant, user, currency),
    )


def log_purchase(
    ctx: BotContext, tenant: str, command: ParsedCommand, trigger_id: str
) -> dict[str, Any]:
    config = ctx.configs.load(tenant)
    try:
        amount = parse_amount(command.amount_text or "", config.base_currency)
        if amount.minor < 0:
            return ephemeral("A purchase can't be negative; use `/ltv refund` instead.")
        purchase = Purchase(
            tenant=tenant,
            user=command.user,
            at_ms=ctx.clock.now_s() * 1000,
            event_id=f"cmd:{trigger_id}",
            source_ref=f"cmd:{trigger_id}",
            amount=amount,
            base_amount_minor=to_base_currency(amount, config).minor,
            note=command.note,
        )
    except (LtvError, ValidationError) as exc:
        return ephemeral(f"Purchase not logged: {_first_line(exc)}")
    result = ctx.store.record(purchase, config.policy())
    if result.status is RecordStatus.REFUSED:
        return ephemeral(f"Purchase not logged: {result.reason.replace('_', ' ')}.")
    shown = money_text(amount.minor, amount.currency)
    return ephemeral(f"Logged a purchase of {shown} for <@{command.user}>.")


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return exc.errors()[0].get("msg", "the input was not valid")
    return str(exc).splitlines()[0]
