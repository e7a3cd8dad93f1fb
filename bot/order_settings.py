"""Admins' orders settings: which channels carry order notices, which patterns
read them, and the notices no pattern could read."""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Literal

import redis

from bot.metrics import METRICS
from bot.orders import MAX_PATTERNS, OrderPattern, OrderPatternError, compile_template
from bot.runtime import BotContext
from bot.views import escape
from ltv.clock import to_datetime
from ltv.keys import TenantKeys
from ltv.store import REASON_TEXT

logger = logging.getLogger(__name__)

PATTERNS_FIELD = "order_patterns"
UNMATCHED_MAXLEN = 1000
CHANNEL_REF = re.compile(
    r"^<#(?P<id>[CG][A-Z0-9]{2,31})(?:\|[^>]*)?>$|^(?P<bare>[CG][A-Z0-9]{8,31})$"
)
USAGE = (
    "Usage: `/ltv orders list`, `/ltv orders add #channel`, "
    "`/ltv orders remove #channel`, "
    "`/ltv orders pattern purchase|refund TEMPLATE` (placeholders {order}, "
    "{amount}, {customer}, and * for any text), `/ltv orders unpattern N`, "
    "`/ltv orders unmatched`."
)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def unmatched_key(tenant: str) -> str:
    return f"{TenantKeys(tenant).prefix}orders_unmatched"


def load_patterns(client: redis.Redis, tenant: str) -> list[OrderPattern]:
    raw = client.hget(TenantKeys(tenant).config, PATTERNS_FIELD)
    if not raw:
        return []
    return [OrderPattern(p["kind"], p["template"]) for p in json.loads(raw)]


def save_patterns(
    client: redis.Redis, tenant: str, patterns: list[OrderPattern]
) -> None:
    for pattern in patterns:
        compile_template(pattern.template)
    payload = [{"kind": p.kind, "template": p.template} for p in patterns]
    client.hset(TenantKeys(tenant).config, PATTERNS_FIELD, json.dumps(payload))


def record_unmatched(
    client: redis.Redis, tenant: str, channel: str, ts: str, reason: str
) -> None:
    """Count and keep a notice no pattern read; it is never credited to a guess."""
    METRICS.inc("ltv_orders_unmatched_total", reason=reason)
    client.xadd(
        unmatched_key(tenant),
        {"channel": channel, "ts": ts, "reason": reason},
        maxlen=UNMATCHED_MAXLEN,
        approximate=True,
    )
    logger.info(
        "orders notice unmatched tenant=%s channel=%s reason=%s",
        tenant,
        channel,
        reason,
    )


def orders_command(ctx: BotContext, tenant: str, args: list[str]) -> str:
    """Admins' `/ltv orders …`: one sentence back, nothing stored on bad input."""
    action = args[0].lower() if args else "list"
    handlers = {
        "list": lambda: describe(ctx, tenant),
        "add": lambda: change_channel(ctx, tenant, args[1:], add=True),
        "remove": lambda: change_channel(ctx, tenant, args[1:], add=False),
        "pattern": lambda: add_pattern(ctx, tenant, args[1:]),
        "unpattern": lambda: remove_pattern(ctx, tenant, args[1:]),
        "unmatched": lambda: list_unmatched(ctx, tenant),
    }
    handler = handlers.get(action)
    return handler() if handler else USAGE


def describe(ctx: BotContext, tenant: str) -> str:
    config = ctx.configs.load(tenant)
    channels = ", ".join(f"<#{c}>" for c in config.orders_channels) or "none"
    patterns = load_patterns(ctx.store.redis, tenant)
    lines = [
        f"{i}. {p.kind}: `{escape(p.template)}`" for i, p in enumerate(patterns, 1)
    ]
    shown = "\n".join(lines) or "only the built-in ones"
    unmatched = ctx.store.redis.xlen(unmatched_key(tenant))
    return (
        f"Orders channels: {channels}\nPatterns:\n{shown}\n"
        f"Unmatched notices kept: {unmatched}"
    )


def change_channel(ctx: BotContext, tenant: str, args: list[str], *, add: bool) -> str:
    match = CHANNEL_REF.match(args[0]) if len(args) == 1 else None
    if not match:
        return "Name one channel, for example `/ltv orders add #shop-orders`."
    channel = match["id"] or match["bare"]
    current = list(ctx.configs.load(tenant).orders_channels)
    if add and channel not in current:
        current.append(channel)
    elif not add and channel in current:
        current.remove(channel)
    else:
        return f"<#{channel}> is {'already' if add else 'not'} an orders channel."
    ctx.configs.save_overrides(tenant, orders_channels=tuple(current))
    verb = "now" if add else "no longer"
    return f"<#{channel}> is {verb} an orders channel."


def add_pattern(ctx: BotContext, tenant: str, args: list[str]) -> str:
    if len(args) < 2 or args[0].lower() not in ("purchase", "refund"):
        return USAGE
    template = " ".join(args[1:])
    patterns = load_patterns(ctx.store.redis, tenant)
    if len(patterns) >= MAX_PATTERNS:
        return f"Pattern not saved: at most {MAX_PATTERNS} patterns; remove one first."
    try:
        compile_template(template)
    except OrderPatternError as exc:
        return f"Pattern not saved: {escape(str(exc))}."
    kind: Literal["purchase", "refund"] = (
        "purchase" if args[0].lower() == "purchase" else "refund"
    )
    save_patterns(ctx.store.redis, tenant, [*patterns, OrderPattern(kind, template)])
    return f"Saved {kind} pattern {len(patterns) + 1}: `{escape(template)}`."


def remove_pattern(ctx: BotContext, tenant: str, args: list[str]) -> str:
    patterns = load_patterns(ctx.store.redis, tenant)
    if (
        len(args) != 1
        or not args[0].isdigit()
        or not 1 <= int(args[0]) <= len(patterns)
    ):
        return (
            f"Name a pattern by its number, 1 to {len(patterns)} (`/ltv orders list`)."
        )
    removed = patterns.pop(int(args[0]) - 1)
    save_patterns(ctx.store.redis, tenant, patterns)
    return f"Removed pattern `{escape(removed.template)}`."


# Why a notice was not recorded, for the admin reading the list; the codes
# of the recording script are explained by ltv.store.REASON_TEXT.
UNMATCHED_TEXT = {
    "no_match": "no pattern reads it",
    "customer_unknown": "the customer it names is not a member",
    "amount_unreadable": "the amount cannot be read for certain",
    "no_exchange_rate": "its currency has no exchange rate (`/ltv admin rate`)",
    "not_from_an_app": "a person typed it; notices must come from the shop's app",
    **REASON_TEXT,
}


def unmatched_line(raw: dict[str, str]) -> str:
    """When, a link to the message, and why it was not recorded."""
    channel, ts = raw.get("channel", ""), raw.get("ts", "0")
    when = to_datetime(int(float(ts))).strftime("%Y-%m-%d %H:%M")
    link = f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
    reason = raw.get("reason", "")
    why = UNMATCHED_TEXT.get(reason, reason.replace("_", " "))
    return f"• <#{channel}> <{link}|{when}> — {escape(why)} (`{escape(reason)}`)"


def list_unmatched(ctx: BotContext, tenant: str) -> str:
    entries: Any = ctx.store.redis.xrevrange(unmatched_key(tenant), count=20)
    if not entries:
        return "No unmatched order notices."
    lines = []
    for _, fields in entries:
        raw = {_text(k): _text(v) for k, v in fields.items()}
        lines.append(unmatched_line(raw))
    total = ctx.store.redis.xlen(unmatched_key(tenant))
    return f"Unmatched order notices ({total} kept, latest first):\n" + "\n".join(lines)
