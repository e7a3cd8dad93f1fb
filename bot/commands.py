"""The /ltv slash command: one dispatch table of subcommands, each with its role.

Every subcommand is a function of (ctx, request, args) returning the reply as
a message payload. Other modules add theirs with :func:`register_subcommand`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from pydantic import ValidationError

from bot import views
from bot.admin import handle_admin_command
from bot.order_settings import orders_command
from bot.people import is_person_token
from bot.prediction_view import model_estimate_blocks
from bot.privacy import (
    ALL,
    CATEGORIES,
    AuditLog,
    forget_customer,
    opt_in,
    opt_out,
    read_optout,
)
from bot.roles import Role
from bot.runtime import BotContext
from bot.stats import workspace_stats
from bot.tiers import tier_thresholds
from bot.translate import to_base_currency
from ltv.errors import LtvError, StoreUnavailableError
from ltv.events import Purchase, Refund
from ltv.money import Money, currency_exponent, parse_amount
from ltv.store import RecordStatus

logger = logging.getLogger(__name__)

MAX_COMMAND_LENGTH = 2000
MAX_TOP = 25
DEFAULT_TOP = 10
REFUSAL = "Sorry, customer values are only shown to the support team."
ADMIN_ONLY = "Sorry, only workspace admins can do that."
UNAVAILABLE = "The LTV bot is temporarily unavailable, please try again in a minute."
SHARE_WORDS = frozenset({"share", "public", "channel"})

REFUND_REASONS = {
    "refund_too_large": "the refund is larger than what the customer has paid",
    "order_unknown": "no purchase with that order id is on record for this customer",
    "refund_exceeds_order": "the refund is larger than what is left of that order",
    "ref_belongs_elsewhere": "that reference belongs to another record",
    "edit_below_refunds": "the new amount is below what was already refunded",
}


@dataclass(frozen=True)
class CommandRequest:
    """One /ltv invocation, as Slack sent it."""

    tenant: str
    caller: str
    text: str
    trigger_id: str = ""
    channel: str = ""
    response_url: str = ""


@dataclass(frozen=True)
class Subcommand:
    handler: Callable[[BotContext, CommandRequest, list[str]], dict[str, Any]]
    role: Role
    usage: str
    hidden: bool = False


@dataclass
class CommandTable:
    """Subcommands by name; ``lookup`` answers a bare person reference."""

    entries: dict[str, Subcommand] = field(default_factory=dict)

    def add(self, name: str, subcommand: Subcommand) -> None:
        self.entries[name] = subcommand


SUBCOMMANDS = CommandTable()
ROLE_RANK = {Role.CUSTOMER: 0, Role.AGENT: 1, Role.ADMIN: 2}


def register_subcommand(
    name: str,
    handler: Callable[[BotContext, CommandRequest, list[str]], dict[str, Any]],
    *,
    role: Role,
    usage: str,
    hidden: bool = False,
) -> None:
    """Add or replace one `/ltv NAME …` subcommand, reachable by ``role`` and up."""
    SUBCOMMANDS.add(name, Subcommand(handler, role, usage, hidden))


def audit_log(ctx: BotContext) -> AuditLog:
    return AuditLog(ctx.store.redis, clock=ctx.clock)


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        reply["blocks"] = blocks
    return reply


def help_reply(error: str | None = None, role: Role = Role.AGENT) -> dict[str, Any]:
    """Usage of the subcommands ``role`` may use, after the error if any."""
    usable = {
        name: entry
        for name, entry in SUBCOMMANDS.entries.items()
        if is_allowed(role, entry.role)
    }
    text = views.help_text(usable)
    return ephemeral(f"{error}\n\n{text}" if error else text)


def is_allowed(role: Role, needed: Role) -> bool:
    return ROLE_RANK[role] >= ROLE_RANK[needed]


def refusal_for(needed: Role) -> dict[str, Any]:
    return ephemeral(ADMIN_ONLY if needed is Role.ADMIN else REFUSAL)


def handle_ltv_command(ctx: BotContext, request: CommandRequest) -> dict[str, Any]:
    """The reply to one /ltv command; a Redis outage becomes one short sentence."""
    try:
        return dispatch(ctx, request)
    except (StoreUnavailableError, redis.ConnectionError, redis.TimeoutError) as exc:
        logger.warning(
            "command failed, store unavailable tenant=%s error=%s",
            request.tenant,
            type(exc).__name__,
        )
        return ephemeral(UNAVAILABLE)


def dispatch(ctx: BotContext, request: CommandRequest) -> dict[str, Any]:
    if len(request.text) > MAX_COMMAND_LENGTH:
        return help_reply("That command is too long.")
    tokens = request.text.split()
    if not tokens or tokens[0].lower() == "help":
        return help_reply(role=ctx.roles.role_of(request.tenant, request.caller))
    name, args = tokens[0].lower(), tokens[1:]
    if is_person_token(tokens[0]) or name not in SUBCOMMANDS.entries:
        name, args = "lookup", tokens
    subcommand = SUBCOMMANDS.entries[name]
    role = ctx.roles.role_of(request.tenant, request.caller)
    if not is_allowed(role, subcommand.role):
        logger.info(
            "command refused tenant=%s user=%s role=%s sub=%s",
            request.tenant,
            request.caller,
            role,
            name,
        )
        return refusal_for(subcommand.role)
    return subcommand.handler(ctx, request, args)


def split_people(
    ctx: BotContext, tokens: list[str]
) -> tuple[str | None, list[str], str | None]:
    """The one person named first, the remaining tokens, or a problem sentence."""
    if not tokens:
        return None, [], "Name a customer, for example `/ltv @casey`."
    ref = ctx.roles.directory.resolve(tokens[0])
    if ref.problem:
        return None, tokens[1:], ref.problem
    if len(tokens) > 1 and is_person_token(tokens[1]):
        return None, tokens[1:], "Name one customer at a time."
    return ref.user, tokens[1:], None


def lookup(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    user, rest, problem = split_people(ctx, args)
    if problem or user is None:
        first = args[0] if args else ""
        if first and not is_person_token(first) and "can't find" in (problem or ""):
            return help_reply(f"I don't know `{views.escape(first[:40])}`.")
        return ephemeral(problem or "Name a customer.")
    share = len(rest) == 1 and rest[0].lower() in SHARE_WORDS
    if rest and not share:
        return ephemeral("Name one customer at a time, optionally followed by `share`.")
    return customer_card_reply(ctx, request, user, share=share)


def customer_card_reply(
    ctx: BotContext, request: CommandRequest, user: str, *, share: bool
) -> dict[str, Any]:
    record = ctx.store.customer(request.tenant, user)
    audit_log(ctx).record(request.tenant, request.caller, user, "lookup")
    if record is None:
        return ephemeral(f"I have no record of <@{user}> yet.")
    config = ctx.configs.load(request.tenant)
    breakdown = ctx.store.breakdown(record, config.policy())
    details = views.CardDetails.read(
        ctx.store.redis,
        request.tenant,
        user,
        optout=read_optout(ctx.store.redis, request.tenant, user),
        tiers=tier_thresholds(ctx, request.tenant),
    )
    # Sections other features put on the card, between the facts and the button
    # (the predictive model's estimate).
    extra_sections = model_estimate_blocks(
        ctx, request.tenant, user, config.base_currency
    )
    blocks = views.customer_card(
        record, breakdown, config.base_currency, details, extra_sections, shared=share
    )
    reply = ephemeral(
        views.card_fallback_text(record, breakdown, config.base_currency), blocks
    )
    if share:
        reply["response_type"] = "in_channel"
    return reply


RATE_USAGE = (
    "Usage: `/ltv admin rate CURRENCY RATE`, where RATE is how many units of the "
    "base currency one unit of CURRENCY is worth, e.g. `/ltv admin rate EUR 1.08`."
)


def admin(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    """Exchange rates here; strategy administration in bot.admin."""
    if args and args[0].lower() == "rate":
        return set_rate(ctx, request, args[1:])
    return handle_admin_command(
        ctx, tenant=request.tenant, caller=request.caller, text=" ".join(args)
    )


def set_rate(
    ctx: BotContext, request: CommandRequest, args: list[str]
) -> dict[str, Any]:
    """Store one exchange rate; a bad code or rate changes nothing."""
    if len(args) != 2:
        return ephemeral(RATE_USAGE)
    code, rate = args[0].upper(), args[1]
    config = ctx.configs.load(request.tenant)
    try:
        ctx.configs.save_overrides(request.tenant, rates={**config.rates, code: rate})
    except (ValidationError, LtvError) as exc:
        return ephemeral(f"Rate not saved: {_first_line(exc)}\n{RATE_USAGE}")
    logger.info(
        "exchange rate set tenant=%s user=%s currency=%s",
        request.tenant,
        request.caller,
        code,
    )
    return ephemeral(f"Saved: 1 {code} = {rate} {config.base_currency}.")


def top(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    count = DEFAULT_TOP
    if args:
        if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_TOP:
            return ephemeral(f"Usage: `/ltv top [N]` with N from 1 to {MAX_TOP}.")
        count = int(args[0])
    config = ctx.configs.load(request.tenant)
    rows = []
    for user in ctx.store.top_customers(request.tenant, count):
        record = ctx.store.customer(request.tenant, user)
        if record is not None:
            rows.append((record, ctx.store.breakdown(record, config.policy())))
    if not rows:
        return ephemeral("No customers on record yet.")
    text, blocks = views.top_list(rows, config.base_currency)
    return ephemeral(text, blocks)


def stats(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    summary = workspace_stats(ctx, request.tenant)
    text, blocks = views.stats_view(summary)
    return ephemeral(text, blocks)


def _is_currency_code(token: str) -> bool:
    if len(token) != 3 or not token.isalpha():
        return False
    try:
        currency_exponent(token.upper())
    except LtvError:
        return False
    return True


AMOUNT_PUNCTUATION = frozenset(".,'’()+-−")
CURRENCY_PREFIX = re.compile(r"^[A-Za-z]{1,3}(?=\W)")


def is_amount_token(token: str, *, follows_number: bool) -> bool:
    """Digits, separators, signs and currency signs, or a currency code alone.

    A code in any case counts, and so does any three-letter upper-case word
    right after the number, so a mistyped code ("50 EUE") is refused by the
    parser instead of being booked in the base currency with the word as a note.
    """
    if _is_currency_code(token):
        return token.isupper() or follows_number
    if follows_number and len(token) == 3 and token.isalpha() and token.isupper():
        return True
    body = CURRENCY_PREFIX.sub("", token)
    return bool(body) and all(
        ch.isdigit() or ch in AMOUNT_PUNCTUATION or unicodedata.category(ch) == "Sc"
        for ch in body
    )


def _has_digit(token: str) -> bool:
    return any(ch.isdigit() for ch in token)


def read_amount_tokens(tokens: list[str]) -> tuple[str, list[str]]:
    """The amount text and what comes after it.

    Every leading token that can be part of an amount is taken, so "12,50 €",
    "USD 50" and "$1 234.50" reach the parser whole; the parser then refuses
    what is not one amount (two numbers, two currencies) instead of the
    command guessing.
    """
    taken = 0
    while taken < len(tokens) and is_amount_token(
        tokens[taken], follows_number=taken > 0 and _has_digit(tokens[taken - 1])
    ):
        taken += 1
    taken = max(taken, 1)
    return " ".join(tokens[:taken]), tokens[taken:]


def split_refund_tokens(tokens: list[str]) -> tuple[str, list[str]]:
    """A refund's amount and the order it names: the last word, when there are
    several and it is not a currency, is the order (order ids are often bare
    numbers, so "5 1" is $5 against order 1)."""
    last = tokens[-1]
    is_currency = _is_currency_code(last) or all(
        unicodedata.category(ch) == "Sc" for ch in last
    )
    if len(tokens) > 1 and not is_currency:
        return " ".join(tokens[:-1]), [last]
    return read_amount_tokens(tokens)


def purchase(
    ctx: BotContext, request: CommandRequest, args: list[str]
) -> dict[str, Any]:
    if not args:
        from bot.shortcuts import open_purchase_modal

        open_purchase_modal(ctx, request.tenant, request.trigger_id, user=None)
        return ephemeral("Opening the purchase form…")
    usage = "Usage: `/ltv purchase @user AMOUNT [CURRENCY] [note]`."
    user, rest, problem = split_people(ctx, args)
    if problem or user is None or not rest:
        return ephemeral(problem or usage)
    amount_text, note_tokens = read_amount_tokens(rest)
    outcome = log_money_event(
        ctx,
        request.tenant,
        Purchase,
        user=user,
        amount_text=amount_text,
        source_ref=f"cmd:{request.trigger_id}",
        note=" ".join(note_tokens) or None,
    )
    return ephemeral(outcome)


def refund(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    usage = "Usage: `/ltv refund @user AMOUNT [CURRENCY] [order]`."
    user, rest, problem = split_people(ctx, args)
    if problem or user is None or not rest:
        return ephemeral(problem or usage)
    amount_text, order_tokens = split_refund_tokens(rest)
    if len(order_tokens) > 1:
        return ephemeral(usage)
    outcome = log_money_event(
        ctx,
        request.tenant,
        Refund,
        user=user,
        amount_text=amount_text,
        source_ref=f"cmd:{request.trigger_id}",
        order_id=order_tokens[0].lstrip("#") if order_tokens else None,
    )
    return ephemeral(outcome)


def log_money_event(
    ctx: BotContext,
    tenant: str,
    model: type[Purchase] | type[Refund],
    *,
    user: str,
    amount_text: str,
    source_ref: str,
    note: str | None = None,
    order_id: str | None = None,
) -> str:
    """Record a purchase or refund and say in one sentence what happened."""
    word = "Purchase" if model is Purchase else "Refund"
    config = ctx.configs.load(tenant)
    try:
        amount = parse_amount(amount_text, config.base_currency)
        if amount.minor < 0 or (amount.minor == 0 and model is Refund):
            sign = "zero or less" if model is Refund else "negative"
            return f"{word} not logged: the amount can't be {sign}."
        event = model(
            tenant=tenant,
            user=user,
            at_ms=ctx.clock.now_s() * 1000,
            event_id=source_ref,
            source_ref=source_ref,
            amount=amount,
            base_amount_minor=to_base_currency(amount, config).minor,
            note=note,
            order_id=order_id,
        )
    except (LtvError, ValidationError) as exc:
        return f"{word} not logged: {views.escape(_first_line(exc))}"
    ctx.store.register_tenant(tenant)
    result = ctx.store.record(event, config.policy())
    return _outcome_sentence(word, result.status, result.reason, amount, user)


def _outcome_sentence(
    word: str, status: RecordStatus, reason: str, amount: Money, user: str
) -> str:
    shown = views.money_text(amount.minor, amount.currency)
    if status is RecordStatus.REFUSED:
        because = REFUND_REASONS.get(reason, reason.replace("_", " "))
        return f"{word} not logged: {because}."
    if status in (RecordStatus.DUPLICATE, RecordStatus.UNCHANGED):
        return f"That {word.lower()} was already logged; nothing changed."
    verb = "purchase" if word == "Purchase" else "refund"
    return f"Logged a {verb} of {shown} for <@{user}>."


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        message = str(exc.errors()[0].get("msg", "the input was not valid"))
        # pydantic prefixes messages raised by validators; people need only ours.
        return message.removeprefix("Value error, ")
    return str(exc).splitlines()[0]


def optout(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    return change_optout(ctx, request, args, "optout")


def optin(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    return change_optout(ctx, request, args, "optin")


def change_optout(
    ctx: BotContext, request: CommandRequest, args: list[str], verb: str
) -> dict[str, Any]:
    """The caller's own opt-out or opt-in, then what they will now receive."""
    category = _category(args)
    if category is None:
        return ephemeral(views.category_usage(verb))
    change = opt_out if verb == "optout" else opt_in
    now = change(
        ctx.store.redis, request.tenant, request.caller, category, clock=ctx.clock
    )
    return ephemeral(views.optout_sentence(now))


def _category(args: list[str]) -> str | None:
    if not args:
        return ALL
    word = args[0].lower()
    return word if len(args) == 1 and word in (ALL, *CATEGORIES) else None


def forget(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    user, rest, problem = split_people(ctx, args)
    if problem or user is None or rest:
        return ephemeral(problem or "Usage: `/ltv forget @user`.")
    removed = forget_customer(ctx.store.redis, request.tenant, user)
    if removed == 0:
        return ephemeral(f"I held nothing about <@{user}>.")
    return ephemeral(f"Forgot <@{user}>: {removed} record(s) erased.")


def audit(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    count = int(args[0]) if args and args[0].isdigit() else 20
    entries = audit_log(ctx).recent(request.tenant, max(1, min(count, 100)))
    if not entries:
        return ephemeral("No customer lookups on record yet.")
    text, blocks = views.audit_list(entries)
    return ephemeral(text, blocks)


def orders(ctx: BotContext, request: CommandRequest, args: list[str]) -> dict[str, Any]:
    return ephemeral(orders_command(ctx, request.tenant, args))


def _register_builtins() -> None:
    builtins = [
        ("lookup", lookup, Role.AGENT, "`/ltv @user [share]` — a customer's LTV card"),
        ("top", top, Role.AGENT, "`/ltv top [N]` — the customers with the highest LTV"),
        ("stats", stats, Role.AGENT, "`/ltv stats` — workspace totals and averages"),
        (
            "purchase",
            purchase,
            Role.AGENT,
            "`/ltv purchase @user AMOUNT [CURRENCY] [note]` — log a purchase "
            "(no arguments: a form)",
        ),
        (
            "refund",
            refund,
            Role.AGENT,
            "`/ltv refund @user AMOUNT [CURRENCY] [order]` — log a refund",
        ),
        ("optout", optout, Role.CUSTOMER, "`/ltv optout [category]` — stop messages"),
        ("optin", optin, Role.CUSTOMER, "`/ltv optin [category]` — receive them again"),
        ("forget", forget, Role.ADMIN, "`/ltv forget @user` — erase a customer"),
        ("audit", audit, Role.ADMIN, "`/ltv audit [N]` — recent customer lookups"),
        (
            "admin",
            admin,
            Role.ADMIN,
            "`/ltv admin [list|show|enable|disable|schedule|set|template|preview|"
            "run|audit]` — strategies",
        ),
        (
            "orders",
            orders,
            Role.ADMIN,
            "`/ltv orders [list|add|remove|unmatched] …` — orders channels",
        ),
    ]
    for name, handler, role, usage in builtins:
        register_subcommand(name, handler, role=role, usage=usage)


_register_builtins()
