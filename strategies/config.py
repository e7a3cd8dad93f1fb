"""Strategy settings: defaults, a config file, and admins' changes in Redis.

Each setting is read from three layers, last one wins: the defaults below, an
optional JSON file (``{"loyalty": {"gold": 2000}}``), and the values admins set
from Slack, stored per tenant with a version counter and an audit stream.
"""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis

from ltv.clock import Clock
from ltv.errors import LtvError
from ltv.keys import TenantKeys

logger = logging.getLogger(__name__)

STRATEGIES = ("onboarding", "proactive", "loyalty", "feedback")
GUARDS = "guards"
TEMPLATE_FIELDS = frozenset(
    {
        "first_name",
        "tier",
        "reward",
        "last_purchase",
        "ltv",
        "purchases",
        "milestone",
        "days_quiet",
        "user",
        "channel",
        "hours_waiting",
    }
)

UPDATE_LUA = """
-- KEYS[1] settings hash; KEYS[2] version; KEYS[3] audit stream
-- ARGV[1] field; ARGV[2] new JSON value; ARGV[3] who; ARGV[4] now (s)
-- Returns the new version.
local old = redis.call('HGET', KEYS[1], ARGV[1]) or ''
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local version = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 10000, '*', 'field', ARGV[1],
  'old', old, 'new', ARGV[2], 'by', ARGV[3], 'at', ARGV[4])
return version
"""


class SettingError(LtvError, ValueError):
    """A strategy setting that cannot be used; nothing was changed."""


@dataclass(frozen=True, slots=True)
class Setting:
    kind: str
    default: Any
    help: str


def _s(kind: str, default: Any, help_text: str) -> Setting:
    return Setting(kind, default, help_text)


COMMON = {
    "enabled": _s("bool", True, "whether the strategy runs on its schedule"),
    "cron": _s("cron", "*/15 * * * *", "five-field cron schedule"),
    "timezone": _s("tz", "UTC", "time zone of the cron schedule"),
}
SCHEMA: dict[str, dict[str, Setting]] = {
    "onboarding": {
        **COMMON,
        "tips_after_days": _s("number", 3, "days after joining to send tips"),
        "checkin_after_days": _s("number", 7, "days after joining to check in"),
        "template_welcome": _s(
            "template",
            "Welcome aboard, {first_name}! :wave: Ask us anything in this chat; "
            "a real person from the team will answer.",
            "welcome message",
        ),
        "template_tips": _s(
            "template",
            "Hi {first_name}, a tip: ask in this chat any time, and we reply "
            "within a working day.",
            "tips message",
        ),
        "template_checkin": _s(
            "template",
            "Hi {first_name}, you've been with us a week. How is it going?",
            "check-in message",
        ),
    },
    "proactive": {
        **COMMON,
        "cron": _s("cron", "0 10 * * *", "five-field cron schedule"),
        "quiet_days": _s("number", 14, "days without activity before reaching out"),
        "lookback_days": _s("number", 60, "ignore customers quiet for longer"),
        "min_interactions": _s("number", 3, "how active they must have been"),
        "alive_threshold": _s("fraction", 0.3, "P(active) below which to reach out"),
        "unanswered_hours": _s("number", 4, "hours before a question alerts agents"),
        "agents_channel": _s("channel", "", "channel for unanswered-question alerts"),
        "template_inactive": _s(
            "template",
            "Hi {first_name}, we haven't heard from you in {days_quiet} days. "
            "Anything we can help with?",
            "message to a quiet customer",
        ),
        "template_at_risk": _s(
            "template",
            "Hi {first_name}, just checking in: is there anything we could do "
            "better for you?",
            "message when the model says they may be drifting away",
        ),
        "template_unanswered": _s(
            "template",
            ":rotating_light: {user} asked a question in {channel} "
            "{hours_waiting} hours ago and no agent has replied yet.",
            "alert to the agents' channel",
        ),
    },
    "loyalty": {
        **COMMON,
        "cron": _s("cron", "0 11 * * *", "five-field cron schedule"),
        "bronze": _s("number", 100, "LTV for bronze, in base currency units"),
        "silver": _s("number", 500, "LTV for silver, in base currency units"),
        "gold": _s("number", 2000, "LTV for gold, in base currency units"),
        "reward_bronze": _s("text", "a 5% discount code: BRONZE5", "bronze reward"),
        "reward_silver": _s("text", "a 10% discount code: SILVER10", "silver reward"),
        "reward_gold": _s("text", "free shipping for a year", "gold reward"),
        "milestones": _s("numbers", "5,10,25,50", "purchase counts to celebrate"),
        "template_tier_up": _s(
            "template",
            "Congratulations {first_name}, you're now a *{tier}* customer! "
            "As a thank-you: {reward}.",
            "tier message",
        ),
        "template_milestone": _s(
            "template",
            "Thank you {first_name}: that was your {milestone}th purchase with us!",
            "purchase milestone message",
        ),
    },
    "feedback": {
        **COMMON,
        "after_purchase_hours": _s("number", 24, "hours after a purchase to ask"),
        "after_resolved_hours": _s("number", 2, "hours after a resolved thread"),
        "cooldown_days": _s("number", 30, "days before asking the same person again"),
        "window_days": _s("number", 7, "ignore purchases older than this"),
        "ask_nps": _s("bool", False, "also ask the 0-10 recommend question"),
        "template_ask": _s(
            "template",
            "Hi {first_name}, how was your experience with us? Tap a score.",
            "feedback question",
        ),
    },
    GUARDS: {
        "cap_hours": _s("number", 72, "at most one strategy message per customer"),
        "quiet_start_hour": _s("hour", 21, "quiet hours start (customer's time)"),
        "quiet_end_hour": _s("hour", 8, "quiet hours end (customer's time)"),
        "default_timezone": _s("tz", "UTC", "when a customer's zone is unknown"),
        "conversation_hours": _s(
            "number", 24, "an agent reply keeps a conversation open"
        ),
    },
}


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _key(tenant: str, name: str) -> str:
    return f"{TenantKeys(tenant).prefix}{name}"


def check_template(text: str) -> str:
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise SettingError(f"template {text[:60]!r} is malformed: {exc}") from exc
    for _, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS or spec or conversion:
            raise SettingError(
                f"template field {{{field}}} is unknown; expected one of "
                + ", ".join(f"{{{f}}}" for f in sorted(TEMPLATE_FIELDS))
            )
    return text


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value >= 0 or value == float("inf"):
        raise SettingError(f"{text!r} is not usable; expected a number of 0 or more")
    return int(value) if value.is_integer() else value


def _fraction(text: str) -> float:
    value = _number(text)
    if value > 1:
        raise SettingError(f"{text!r} is not usable; expected a fraction from 0 to 1")
    return value


def _hour(text: str) -> int:
    value = _number(text)
    if value != int(value) or value > 23:
        raise SettingError(f"{text!r} is not usable; expected an hour from 0 to 23")
    return int(value)


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in {"true", "false", "on", "off", "yes", "no", "1", "0"}:
        raise SettingError(f"{text!r} is not usable; expected on or off")
    return lowered in {"true", "on", "yes", "1"}


def _tz(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingError(
            f"time zone {text!r} is unknown; expected an IANA name like Europe/Paris"
        ) from exc
    return text


def _cron(text: str) -> str:
    from strategies.scheduling import ScheduleError, parse_cron

    try:
        parse_cron(text, "UTC")
    except ScheduleError as exc:
        raise SettingError(str(exc)) from exc
    return text


def _channel(text: str) -> str:
    channel = text.strip().lstrip("<#").split("|")[0].rstrip(">")
    if channel and not (
        channel[:1] in "CG" and channel.isalnum() and channel.isupper()
    ):
        raise SettingError(f"{text!r} is not usable; expected a channel like #support")
    return channel


def _numbers(text: str) -> str:
    values = [int(_number(p)) for p in text.replace(" ", "").split(",") if p]
    return ",".join(str(v) for v in sorted(set(values)))


PARSERS: dict[str, Callable[[str], Any]] = {
    "bool": _bool,
    "cron": _cron,
    "tz": _tz,
    "number": _number,
    "fraction": _fraction,
    "hour": _hour,
    "channel": _channel,
    "numbers": _numbers,
    "text": lambda t: t.strip()[:500],
    "template": check_template,
}


def parse_setting(strategy: str, name: str, text: str) -> Any:
    """The typed value of one setting, or SettingError naming what was expected."""
    schema = SCHEMA.get(strategy)
    if schema is None:
        raise SettingError(
            f"strategy {strategy!r} is unknown; expected one of "
            + ", ".join((*STRATEGIES, GUARDS))
        )
    setting = schema.get(name)
    if setting is None:
        raise SettingError(
            f"{strategy} has no setting {name!r}; expected one of " + ", ".join(schema)
        )
    return PARSERS[setting.kind](text)


def load_file(path: str | None) -> dict[str, dict[str, Any]]:
    """Initial settings from a JSON file, each value checked like an admin's."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    checked: dict[str, dict[str, Any]] = {}
    for strategy, values in data.items():
        for name, value in values.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            checked.setdefault(strategy, {})[name] = parse_setting(strategy, name, text)
    return checked


class StrategyConfigStore:
    """Reads effective settings and applies admins' changes with an audit trail."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Clock,
        initial: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.redis = client
        self.clock = clock
        self.initial = {k: dict(v) for k, v in (initial or {}).items()}
        self._update = client.register_script(UPDATE_LUA)

    def settings(self, tenant: str, strategy: str) -> dict[str, Any]:
        values = {name: s.default for name, s in SCHEMA[strategy].items()}
        values.update(self.initial.get(strategy, {}))
        raw = self.redis.hgetall(_key(tenant, "strategies"))
        prefix = f"{strategy}."
        for field, value in raw.items():
            name = _text(field)
            if name.startswith(prefix) and name[len(prefix) :] in values:
                values[name[len(prefix) :]] = json.loads(value)
        return values

    def set(self, tenant: str, strategy: str, name: str, text: str, *, by: str) -> Any:
        """Validate, store and audit one change; on SettingError nothing is stored."""
        value = parse_setting(strategy, name, text)
        self._update(
            keys=[
                _key(tenant, "strategies"),
                _key(tenant, "strategies:version"),
                _key(tenant, "strategies:audit"),
            ],
            args=[f"{strategy}.{name}", json.dumps(value), by, self.clock.now_s()],
        )
        logger.info(
            "strategy setting changed tenant=%s strategy=%s setting=%s by=%s",
            tenant,
            strategy,
            name,
            by,
        )
        return value

    def version(self, tenant: str) -> int:
        return int(self.redis.get(_key(tenant, "strategies:version")) or 0)

    def audit(self, tenant: str, count: int = 20) -> list[dict[str, str]]:
        entries: Any = self.redis.xrevrange(
            _key(tenant, "strategies:audit"), count=count
        )
        return [{_text(k): _text(v) for k, v in e[1].items()} for e in entries]

    def record_run(self, tenant: str, strategy: str, at_s: int, summary: str) -> None:
        value = json.dumps({"at": at_s, "counts": summary})
        self.redis.hset(_key(tenant, "strategies:runs"), strategy, value)

    def last_run(self, tenant: str, strategy: str) -> dict[str, Any] | None:
        raw = self.redis.hget(_key(tenant, "strategies:runs"), strategy)
        return None if raw is None else json.loads(raw)
