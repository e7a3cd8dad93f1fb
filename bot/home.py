"""App Home, one view per role: customers, agents and admins each see their own.

Customers see their tier, their purchases and which messages they want.
Agents see top customers, recent purchases and refunds and unanswered
questions. Admins also see the strategies and the workspace settings.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt import Ack, App

from bot import views
from bot.admin import admin_home_blocks
from bot.privacy import ALL, CATEGORIES, opt_in, opt_out, read_optout
from bot.roles import Role
from bot.runtime import BotContext
from bot.tiers import tier_thresholds
from bot.views import escape, money_text
from ltv.clock import to_datetime
from ltv.keys import TenantKeys

logger = logging.getLogger(__name__)

MESSAGES_ACTION = "home_messages"
SETTINGS_ACTION = "home_edit_settings"
SETTINGS_CALLBACK = "workspace_settings"
RECENT_MONEY = 10
HOME_TOP = 5
RECENT_EVENTS_SCANNED = 500
QUESTIONS_SHOWN = 10
PERIODS = ("day", "week", "month", "year")


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": text},
    }
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def customer_home(ctx: BotContext, tenant: str, user: str) -> list[dict[str, Any]]:
    """The customer's own tier, progress, purchases and message choices."""
    config = ctx.configs.load(tenant)
    record = ctx.store.customer(tenant, user)
    blocks = [header("Your membership")]
    if record is None:
        blocks.append(
            section("Welcome! Your membership starts with your first purchase.")
        )
    else:
        ltv = ctx.store.breakdown(record, config.policy()).ltv_minor
        blocks.append(section(progress_text(ltv, tier_thresholds(ctx, tenant))))
        blocks.append(section(purchases_text(ctx, tenant, user, config.base_currency)))
    blocks += [{"type": "divider"}, messages_block(ctx, tenant, user)]
    return blocks


def progress_text(ltv_minor: Any, tiers: views.Tiers = views.TIERS) -> str:
    tier, following, _ = views.tier_of(ltv_minor, tiers)
    if following is None:
        return f"You are a *{tier}* member, our highest tier. Thank you!"
    low = dict(tiers)[tier]
    high = dict(tiers)[following]
    share = max(0.0, min(1.0, float((ltv_minor - low) / (high - low))))
    bar = "▰" * round(share * 10) + "▱" * (10 - round(share * 10))
    return f"You are a *{tier}* member.\n{bar} {share:.0%} of the way to *{following}*."


def purchases_text(ctx: BotContext, tenant: str, user: str, currency: str) -> str:
    keys = TenantKeys(tenant)
    refs: Any = ctx.store.redis.zrevrange(keys.customer_purchases(user), 0, 9)
    records = ctx.store.redis.hmget(keys.purchases, refs) if refs else []
    lines = []
    for raw in records:
        if raw is None:
            continue
        parts = _text(raw).split("|")
        amount = money_text(int(parts[4]), parts[3])
        lines.append(f"• {views.date_text(int(parts[5]) // 1000)} {amount}")
    return "*Your purchases*\n" + ("\n".join(lines) or "none yet")


def messages_block(ctx: BotContext, tenant: str, user: str) -> dict[str, Any]:
    opted_out = read_optout(ctx.store.redis, tenant, user)
    wanted = [] if ALL in opted_out else [c for c in CATEGORIES if c not in opted_out]
    options = [_option(c) for c in CATEGORIES]
    element: dict[str, Any] = {
        "type": "checkboxes",
        "action_id": MESSAGES_ACTION,
        "options": options,
    }
    if wanted:
        element["initial_options"] = [_option(c) for c in wanted]
    return {
        "type": "section",
        "block_id": "messages",
        "text": {"type": "mrkdwn", "text": "*Messages you want from us*"},
        "accessory": element,
    }


def _option(category: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": category.capitalize()},
        "value": category,
    }


def agent_home(ctx: BotContext, tenant: str) -> list[dict[str, Any]]:
    config = ctx.configs.load(tenant)
    currency = config.base_currency
    lines = []
    for user in ctx.store.top_customers(tenant, HOME_TOP):
        record = ctx.store.customer(tenant, user)
        if record is not None:
            ltv = ctx.store.breakdown(record, config.policy()).ltv_minor
            lines.append(f"• <@{user}> {money_text(ltv, currency)}")
    return [
        header("Top customers"),
        section("\n".join(lines) or "No customers yet."),
        header("Recent purchases and refunds"),
        section(recent_money_text(ctx, tenant, currency)),
        header("Unanswered questions"),
        section(unanswered_text(ctx, tenant)),
    ]


def recent_money_text(ctx: BotContext, tenant: str, currency: str) -> str:
    entries: Any = ctx.store.redis.xrevrange(
        TenantKeys(tenant).events, count=RECENT_EVENTS_SCANNED
    )
    lines = []
    for _, fields in entries:
        raw = {_text(k): _text(v) for k, v in fields.items()}
        if raw.get("k") not in ("purchase", "refund"):
            continue
        when = views.date_text(int(raw.get("t", "0")) // 1000)
        amount = money_text(int(raw.get("o", "0")), raw.get("c") or currency)
        lines.append(f"• {when} {raw['k']} {amount} <@{raw.get('u')}>")
        if len(lines) == RECENT_MONEY:
            break
    return "\n".join(lines) or "None yet."


def questions_key(tenant: str) -> str:
    return f"{TenantKeys(tenant).prefix}questions"


def unanswered_text(ctx: BotContext, tenant: str) -> str:
    members: Any = ctx.store.redis.zrevrange(
        questions_key(tenant), 0, QUESTIONS_SHOWN - 1
    )
    lines = []
    for member in members:
        channel, ts, user = _text(member).split("|")
        when = to_datetime(int(float(ts))).strftime("%Y-%m-%d %H:%M")
        lines.append(f"• <@{user}> in <#{channel}> at {when}")
    return "\n".join(lines) or "None — every customer question has an answer."


def admin_home(ctx: BotContext, tenant: str, user: str) -> list[dict[str, Any]]:
    """The strategies (from bot.admin) above the workspace settings."""
    strategies = admin_home_blocks(ctx, tenant, user) or [
        header("Strategies"),
        section("Strategies are not running in this process."),
    ]
    return [*strategies, *settings_section(ctx, tenant)]


def settings_section(ctx: BotContext, tenant: str) -> list[dict[str, Any]]:
    config = ctx.configs.load(tenant)
    roles = ctx.roles
    rates = ", ".join(f"{k} {v}" for k, v in sorted(config.rates.items())) or "none"
    facts = [
        ("Period", config.period),
        ("Lifespan", f"{config.lifespan} periods"),
        ("Base currency", config.base_currency),
        ("Currency rates", escape(rates)),
        ("Agents", _people(roles.agent_users, roles.agent_usergroup)),
        ("Admins", "workspace admins and owners, " + _people(roles.admin_users, None)),
        (
            "Orders channels",
            ", ".join(f"<#{c}>" for c in config.orders_channels) or "none",
        ),
    ]
    button = {
        "type": "actions",
        "block_id": "settings_actions",
        "elements": [
            {
                "type": "button",
                "action_id": SETTINGS_ACTION,
                "text": {"type": "plain_text", "text": "Edit settings"},
            }
        ],
    }
    return [header("Workspace settings"), views.fields_section(facts), button]


def _people(users: frozenset[str], group: str | None) -> str:
    names = [f"<@{u}>" for u in sorted(users)]
    if group:
        names.append(f"<!subteam^{group}>")
    return ", ".join(names) or "none"


def home_view(ctx: BotContext, tenant: str, user: str) -> dict[str, Any]:
    role = ctx.roles.role_of(tenant, user)
    blocks = customer_home(ctx, tenant, user)
    if role.sees_customer_data:
        blocks = agent_home(ctx, tenant)
    if role is Role.ADMIN:
        blocks += [{"type": "divider"}, *admin_home(ctx, tenant, user)]
    return {"type": "home", "blocks": blocks}


def publish_home(ctx: BotContext, tenant: str, user: str) -> None:
    ctx.roles.client.views_publish(user_id=user, view=home_view(ctx, tenant, user))


def set_wanted_messages(
    ctx: BotContext, tenant: str, user: str, wanted: set[str]
) -> None:
    """The checkboxes' state as opt-outs: nothing ticked means opted out of all."""
    if not wanted & set(CATEGORIES):
        opt_out(ctx.store.redis, tenant, user, ALL, clock=ctx.clock)
        return
    opt_in(ctx.store.redis, tenant, user, ALL, clock=ctx.clock)
    for category in CATEGORIES:
        if category not in wanted:
            opt_out(ctx.store.redis, tenant, user, category, clock=ctx.clock)


def settings_modal(ctx: BotContext, tenant: str) -> dict[str, Any]:
    config = ctx.configs.load(tenant)
    period_options = [
        {"text": {"type": "plain_text", "text": p}, "value": p} for p in PERIODS
    ]
    rates = ", ".join(f"{k}={v}" for k, v in sorted(config.rates.items()))
    channels: dict[str, Any] = {
        "type": "multi_conversations_select",
        "filter": {"include": ["public", "private"]},
    }
    if config.orders_channels:
        channels["initial_conversations"] = list(config.orders_channels)
    blocks = [
        _input(
            "period",
            "Period",
            {
                "type": "static_select",
                "options": period_options,
                "initial_option": period_options[PERIODS.index(config.period)],
            },
        ),
        _input(
            "lifespan", "Lifespan in periods (or auto)", _text_input(config.lifespan)
        ),
        _input("currency", "Base currency", _text_input(config.base_currency)),
        {
            **_input(
                "rates",
                "Rates to the base currency, e.g. EUR=1.08, GBP=1.27",
                _text_input(rates),
            ),
            "optional": True,
        },
        {**_input("orders", "Orders channels", channels), "optional": True},
    ]
    return {
        "type": "modal",
        "callback_id": SETTINGS_CALLBACK,
        "title": {"type": "plain_text", "text": "Workspace settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "private_metadata": json.dumps({"tenant": tenant}),
        "blocks": blocks,
    }


def _input(block_id: str, label: str, element: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {**element, "action_id": block_id},
    }


def _text_input(value: str) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input"}
    if value:
        element["initial_value"] = value
    return element


def parse_rates(text: str) -> dict[str, str]:
    """``EUR=1.08, GBP=1.27`` as a mapping; ValueError names the bad part."""
    rates: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
        code, sep, rate = part.partition("=")
        code, rate = code.strip().upper(), rate.strip()
        if not sep or len(code) != 3 or not code.isalpha():
            raise ValueError(f"{part!r} is not CODE=RATE, e.g. EUR=1.08")
        try:
            if float(rate) <= 0:
                raise ValueError
        except ValueError:
            raise ValueError(f"the rate in {part!r} is not a positive number") from None
        rates[code] = rate
    return rates


def save_settings(ctx: BotContext, tenant: str, view: dict[str, Any]) -> dict[str, str]:
    """Field errors for the modal; an empty dict when saved."""
    values = (view.get("state") or {}).get("values") or {}

    def value(block: str) -> Any:
        return (values.get(block) or {}).get(block) or {}

    try:
        rates = parse_rates(str(value("rates").get("value") or ""))
    except ValueError as exc:
        return {"rates": str(exc)}
    changes = {
        "period": (value("period").get("selected_option") or {}).get("value"),
        "lifespan": str(value("lifespan").get("value") or "").strip(),
        "base_currency": str(value("currency").get("value") or "").strip().upper(),
        "rates": rates,
        "orders_channels": tuple(value("orders").get("selected_conversations") or ()),
    }
    try:
        _check_lifespan(str(changes["lifespan"]))
        ctx.configs.save_overrides(tenant, **changes)
    except (ValidationError, ValueError) as exc:
        return {"lifespan": _short(exc)}
    return {}


def _check_lifespan(text: str) -> None:
    if text == "auto":
        return
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise ValueError(f"lifespan {text!r} is not a positive number or auto")


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"[:150]
    return str(exc)[:150]


def register_home(app: App, ctx: BotContext) -> None:
    from bot.listeners import event_tenant

    @app.event("app_home_opened")
    def on_home_opened(body: dict[str, Any], event: dict[str, Any], context, ack: Ack):
        ack()
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        publish_home(ctx, event_tenant(body, context), str(event["user"]))

    @app.action(MESSAGES_ACTION)
    def on_messages(body: dict[str, Any], context, ack: Ack) -> None:
        ack()
        tenant, user = event_tenant(body, context), str(body["user"]["id"])
        action = (body.get("actions") or [{}])[0]
        wanted = {o.get("value") for o in action.get("selected_options") or []}
        set_wanted_messages(ctx, tenant, user, {str(w) for w in wanted})
        publish_home(ctx, tenant, user)

    @app.action(SETTINGS_ACTION)
    def on_edit_settings(body: dict[str, Any], context, ack: Ack) -> None:
        ack()
        tenant, user = event_tenant(body, context), str(body["user"]["id"])
        if ctx.roles.role_of(tenant, user) is not Role.ADMIN:
            return
        view = settings_modal(ctx, tenant)
        ctx.roles.client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(SETTINGS_CALLBACK)
    def on_settings(body: dict[str, Any], context, ack: Ack) -> None:
        tenant, user = event_tenant(body, context), str(body["user"]["id"])
        if ctx.roles.role_of(tenant, user) is not Role.ADMIN:
            ack(response_action="errors", errors={"period": "Only admins can do that."})
            return
        errors = save_settings(ctx, tenant, body.get("view") or {})
        if errors:
            ack(response_action="errors", errors=errors)
            return
        ack()
        publish_home(ctx, tenant, user)
