"""Admins manage strategies from Slack: `/ltv admin ...` and the App Home section.

Every change is validated before anything is stored; a bad cron expression,
time zone, threshold or template gets a one-sentence error and changes
nothing. Changes go through the strategy config store, which keeps an audit
trail and bumps the version every replica's scheduler watches.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot.roles import Role
from bot.runtime import BotContext
from bot.translate import decode_text
from ltv.errors import LtvError
from strategies.config import GUARDS, SCHEMA, STRATEGIES, parse_setting
from strategies.delivery import RunReport
from strategies.engine import escape
from strategies.service import StrategyRow, StrategyService

logger = logging.getLogger(__name__)

NOT_ADMIN = "Sorry, only workspace admins can manage strategies."
PREVIEW_LINES = 10
ADMIN_USAGE = """*Strategy admin* (`/ltv admin ...`)
• `list` — strategies, schedules, next and last runs
• `show NAME` — every setting of a strategy (`guards` for the shared guard rails)
• `enable NAME` / `disable NAME`
• `schedule NAME MIN HOUR DAY MONTH WEEKDAY [TIME_ZONE]`, \
e.g. `schedule loyalty 0 9 * * 1-5 Europe/Paris`
• `set NAME SETTING VALUE` — e.g. `set loyalty gold 2500`, `set guards cap_hours 48`
• `template NAME STEP TEXT` — e.g. `template onboarding welcome Hi {first_name}!`
• `preview NAME` — who would get what now; sends nothing
• `run NAME` — run now
• `audit` — the latest changes"""


def ephemeral(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"response_type": "ephemeral", "text": text}
    if blocks:
        reply["blocks"] = blocks
    return reply


def is_admin(ctx: BotContext, tenant: str, user: str) -> bool:
    return ctx.roles.role_of(tenant, user) is Role.ADMIN


def is_strategy_admin_command(text: str) -> bool:
    """`/ltv admin` alone or with one of the strategy verbs; other admin verbs
    (exchange rates, workspace settings) are left to their own handlers."""
    words = text.lower().split()
    return words[:1] == ["admin"] and (len(words) == 1 or words[1] in HANDLERS)


def handle_admin_command(
    ctx: BotContext, *, tenant: str, caller: str, text: str
) -> dict[str, Any]:
    """The ephemeral reply to `/ltv admin ...`; only admins get past the door."""
    words = text.split(None, 1)
    if words[:1] and words[0].lower() == "admin":
        text = words[1] if len(words) > 1 else ""
    if not is_admin(ctx, tenant, caller):
        logger.info("admin command refused tenant=%s user=%s", tenant, caller)
        return ephemeral(NOT_ADMIN)
    service = ctx.strategies
    if service is None:
        return ephemeral("Strategies are not running in this process.")
    tokens = decode_text(text).split()
    verb = tokens[0].lower() if tokens else "list"
    handler = HANDLERS.get(verb)
    if handler is None:
        return ephemeral(f"I don't know `{escape(verb[:40])}`.\n\n{ADMIN_USAGE}")
    try:
        return handler(service, tenant, caller, tokens[1:])
    except LtvError as exc:
        return ephemeral(f"Nothing changed: {escape(str(exc))}")


def _name(tokens: list[str], *, guards: bool = False) -> str:
    allowed = (*STRATEGIES, GUARDS) if guards else STRATEGIES
    if not tokens or tokens[0].lower() not in allowed:
        given = tokens[0][:40] if tokens else "nothing"
        raise _UsageError(
            f"strategy {given!r} is unknown; expected one of {', '.join(allowed)}"
        )
    return tokens[0].lower()


class _UsageError(LtvError, ValueError):
    """An admin command with missing or unknown parts."""


def _when(at_s: int | None) -> str:
    if at_s is None:
        return "—"
    return datetime.fromtimestamp(at_s, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def row_text(row: StrategyRow) -> str:
    state = ":large_green_circle: on" if row.enabled else ":white_circle: off"
    last = row.last_run or {}
    return (
        f"*{row.name}* — {state} · `{row.cron}` ({row.timezone})\n"
        f"next run {_when(row.next_run_s)} · last run {_when(last.get('at'))}: "
        f"{last.get('counts', '—')}"
    )


def _list(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    rows = service.rows(tenant)
    text = "\n".join(row_text(r) for r in rows)
    return ephemeral(
        text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    )


def _show(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    name = _name(tokens, guards=True)
    values = service.configs.settings(tenant, name)
    lines = [f"*{name}*"] + [
        f"• `{key}` = {escape(str(value))} — {SCHEMA[name][key].help}"
        for key, value in values.items()
    ]
    return ephemeral("\n".join(lines))


def _toggle(value: str):  # type: ignore[no-untyped-def]
    def toggle(
        service: StrategyService, tenant: str, caller: str, tokens: list[str]
    ) -> dict[str, Any]:
        name = _name(tokens)
        service.configs.set(tenant, name, "enabled", value, by=caller)
        return ephemeral(f"{name} is now {'on' if value == 'true' else 'off'}.")

    return toggle


def _schedule(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    name = _name(tokens)
    if len(tokens) not in (6, 7):
        raise _UsageError(
            "schedule needs five cron fields and an optional time zone, "
            f"got {len(tokens) - 1} words"
        )
    cron = " ".join(tokens[1:6])
    zone = (
        tokens[6]
        if len(tokens) == 7
        else service.configs.settings(tenant, name)["timezone"]
    )
    parse_setting(name, "cron", cron)
    parse_setting(name, "timezone", zone)
    service.configs.set(tenant, name, "cron", cron, by=caller)
    service.configs.set(tenant, name, "timezone", zone, by=caller)
    row = next(r for r in service.rows(tenant) if r.name == name)
    return ephemeral(
        f"{name} now runs `{cron}` ({zone}); next run {_when(row.next_run_s)}."
    )


def _set(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    name = _name(tokens, guards=True)
    if len(tokens) < 3:
        raise _UsageError("set needs a strategy, a setting and a value")
    value = service.configs.set(
        tenant, name, tokens[1], " ".join(tokens[2:]), by=caller
    )
    return ephemeral(f"{name} `{tokens[1]}` is now {escape(str(value))}.")


def _template(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    name = _name(tokens)
    if len(tokens) < 3:
        raise _UsageError("template needs a strategy, a step and the text")
    step = tokens[1].lower()
    service.configs.set(
        tenant, name, f"template_{step}", " ".join(tokens[2:]), by=caller
    )
    return ephemeral(f"{name} {step} template saved.")


def preview_text(report: RunReport) -> str:
    lines = [f"*Preview of {report.strategy}* (nothing sent): {report.summary()}"]
    for preview in report.previews[:PREVIEW_LINES]:
        lines.append(f"• <@{preview.user}> · {preview.step}: {preview.text}")
    hidden = len(report.previews) - PREVIEW_LINES
    if hidden > 0:
        lines.append(f"…and {hidden} more")
    return "\n".join(lines)


def _preview(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    return ephemeral(preview_text(service.preview(tenant, _name(tokens))))


def _run(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    name = _name(tokens)
    report = service.runner.run_tenant(name, tenant)
    if report is None:
        return ephemeral(f"{name} is already running; try again in a minute.")
    logger.info(
        "strategy run by admin tenant=%s strategy=%s by=%s", tenant, name, caller
    )
    return ephemeral(f"{name} ran: {report.summary()}")


def _audit(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    entries = service.configs.audit(tenant)
    if not entries:
        return ephemeral("No changes yet.")
    lines = [
        f"• {_when(int(e['at']))} <@{e['by']}> `{e['field']}`: "
        f"{escape(e['old'] or 'default')} → {escape(e['new'])}"
        for e in entries
    ]
    return ephemeral("\n".join(lines))


def _help(
    service: StrategyService, tenant: str, caller: str, tokens: list[str]
) -> dict[str, Any]:
    return ephemeral(ADMIN_USAGE)


HANDLERS = {
    "list": _list,
    "show": _show,
    "enable": _toggle("true"),
    "disable": _toggle("false"),
    "schedule": _schedule,
    "set": _set,
    "template": _template,
    "preview": _preview,
    "run": _run,
    "audit": _audit,
    "help": _help,
}


def admin_home_blocks(ctx: BotContext, tenant: str, user: str) -> list[dict[str, Any]]:
    """The strategies section of App Home; empty for anyone but an admin."""
    if ctx.strategies is None or not is_admin(ctx, tenant, user):
        return []
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Strategies"}}
    ]
    for row in ctx.strategies.rows(tenant):
        blocks.append(
            {
                "type": "section",
                "block_id": f"ltv_admin_{row.name}",
                "text": {"type": "mrkdwn", "text": row_text(row)},
                "accessory": {
                    "type": "button",
                    "action_id": f"ltv_admin_edit_{row.name}",
                    "text": {"type": "plain_text", "text": "Edit"},
                    "value": row.name,
                },
            }
        )
    return blocks


def edit_modal(ctx: BotContext, tenant: str, name: str) -> dict[str, Any]:
    """A modal with one input per setting, filled with the current values."""
    assert ctx.strategies is not None
    values = ctx.strategies.configs.settings(tenant, name)
    blocks = [
        {
            "type": "input",
            "block_id": key,
            "optional": SCHEMA[name][key].kind in ("channel", "text"),
            "label": {"type": "plain_text", "text": key.replace("_", " ")[:2000]},
            "hint": {"type": "plain_text", "text": SCHEMA[name][key].help},
            "element": {
                "type": "plain_text_input",
                "action_id": "value",
                "multiline": SCHEMA[name][key].kind == "template",
                "initial_value": _initial(value),
            },
        }
        for key, value in values.items()
    ]
    return {
        "type": "modal",
        "callback_id": "ltv_admin_modal",
        "private_metadata": name,
        "title": {"type": "plain_text", "text": f"Strategy: {name}"[:24]},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def _initial(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def submit_modal(
    ctx: BotContext, tenant: str, caller: str, name: str, state: dict[str, Any]
) -> dict[str, str]:
    """Save the modal's changed values, or return errors per block and save none."""
    assert ctx.strategies is not None
    configs = ctx.strategies.configs
    current = configs.settings(tenant, name)
    changes: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key in SCHEMA[name]:
        text = str(((state.get(key) or {}).get("value") or {}).get("value") or "")
        if text == _initial(current[key]):
            continue
        try:
            parse_setting(name, key, text)
        except LtvError as exc:
            errors[key] = str(exc)[:150]
            continue
        changes[key] = text
    if errors:
        return errors
    for key, text in changes.items():
        configs.set(tenant, name, key, text, by=caller)
    return {}
