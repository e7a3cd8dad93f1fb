"""Guard rails shared by every strategy: opt-outs, conversations, quiet hours."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import redis

from ltv.clock import Clock
from ltv.keys import TenantKeys, check_user
from strategies.messenger import Messenger, UserInfo

logger = logging.getLogger(__name__)

ALL = "all"
PROFILE_TTL_S = 24 * 3600


def _key(tenant: str, name: str) -> str:
    return f"{TenantKeys(tenant).prefix}{name}"


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class OptOuts:
    """Who asked not to be messaged, per strategy or for all strategies."""

    def __init__(self, client: redis.Redis, *, clock: Clock) -> None:
        self.redis = client
        self.clock = clock

    def opt_out(self, tenant: str, user: str, category: str = ALL) -> bool:
        """True when this is new, so the confirmation is sent once."""
        field = f"{check_user(user)}:{category}"
        return bool(
            self.redis.hsetnx(_key(tenant, "optout"), field, self.clock.now_s())
        )

    def opt_in(self, tenant: str, user: str, category: str = ALL) -> bool:
        """Undo one opt-out; opting in to ``all`` clears every category."""
        key = _key(tenant, "optout")
        if category != ALL:
            return bool(self.redis.hdel(key, f"{check_user(user)}:{category}"))
        fields = [f for f in self.categories(tenant, user)]
        if not fields:
            return False
        return bool(self.redis.hdel(key, *[f"{user}:{c}" for c in fields]))

    def categories(self, tenant: str, user: str) -> list[str]:
        prefix = f"{check_user(user)}:"
        found = self.redis.hscan_iter(_key(tenant, "optout"), match=f"{prefix}*")
        return sorted(_text(f)[len(prefix) :] for f, _ in found)

    def is_opted_out(self, tenant: str, user: str, category: str) -> bool:
        fields = [f"{check_user(user)}:{ALL}", f"{user}:{category}"]
        return any(
            v is not None for v in self.redis.hmget(_key(tenant, "optout"), fields)
        )


class Conversations:
    """Open agent conversations and customer questions waiting for an agent."""

    def __init__(self, client: redis.Redis, *, clock: Clock) -> None:
        self.redis = client
        self.clock = clock

    def agent_replied(self, tenant: str, customer: str) -> None:
        self.redis.zadd(
            _key(tenant, "conv:open"), {check_user(customer): self.clock.now_s()}
        )

    def resolve(self, tenant: str, customer: str) -> None:
        self.redis.zrem(_key(tenant, "conv:open"), check_user(customer))

    def is_open(self, tenant: str, customer: str, *, window_s: int) -> bool:
        score = self.redis.zscore(_key(tenant, "conv:open"), customer)
        return score is not None and score > self.clock.now_s() - window_s

    def question_asked(self, tenant: str, customer: str, channel: str, ts: str) -> None:
        member = f"{check_user(customer)}|{channel}|{ts}"
        self.redis.zadd(_key(tenant, "pending:questions"), {member: float(ts)}, nx=True)

    def question_answered(
        self, tenant: str, channel: str, thread_ts: str
    ) -> str | None:
        """Drop the question the agent answered; the asker's id, if it was one."""
        key = _key(tenant, "pending:questions")
        found = self.redis.zrangebyscore(key, float(thread_ts), float(thread_ts))
        for raw in found:
            member = _text(raw)
            user, asked_channel, _ = member.split("|")
            if asked_channel == channel:
                self.redis.zrem(key, member)
                return user
        return None

    def remember_thread(
        self, tenant: str, channel: str, thread_ts: str, customer: str
    ) -> None:
        """Which customer a thread an agent answered belongs to, for a week."""
        key = _key(tenant, f"conv:thread:{channel}:{thread_ts}")
        self.redis.set(key, check_user(customer), ex=7 * 86_400)

    def thread_customer(self, tenant: str, channel: str, thread_ts: str) -> str | None:
        raw = self.redis.get(_key(tenant, f"conv:thread:{channel}:{thread_ts}"))
        return None if raw is None else _text(raw)

    def drop(self, tenant: str, member: str) -> None:
        self.redis.zrem(_key(tenant, "pending:questions"), member)

    def waiting_since(self, tenant: str, before_s: float) -> list[tuple[str, str, str]]:
        raw = self.redis.zrangebyscore(_key(tenant, "pending:questions"), 0, before_s)
        return [tuple(_text(m).split("|")) for m in raw]  # type: ignore[misc]


class Profiles:
    """Users' first names and time zones, read from Slack and kept for a day."""

    def __init__(self, client: redis.Redis, *, clock: Clock, messenger: Messenger):
        self.redis = client
        self.clock = clock
        self.messenger = messenger

    def get(self, tenant: str, user: str) -> UserInfo:
        key = _key(tenant, "profiles")
        raw = self.redis.hget(key, check_user(user))
        if raw is not None:
            fetched, name, tz = _text(raw).split("|", 2)
            if int(fetched) > self.clock.now_s() - PROFILE_TTL_S:
                return UserInfo(first_name=name, timezone=tz or None)
        info = self.messenger.user_info(user)
        name = info.first_name.replace("|", " ")
        value = f"{self.clock.now_s()}|{name}|{info.timezone or ''}"
        self.redis.hset(key, user, value)
        return info


def zone_or_utc(*names: str | None) -> ZoneInfo:
    """The first usable time zone of ``names``, else UTC."""
    for name in names:
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("unknown time zone ignored tz=%s", name)
    return ZoneInfo("UTC")


def quiet_until(
    now_s: int, zone: ZoneInfo, *, start_hour: int, end_hour: int
) -> int | None:
    """When quiet hours end if ``now_s`` is inside them in ``zone``, else None."""
    if start_hour == end_hour:
        return None
    local = datetime.fromtimestamp(now_s, tz=UTC).astimezone(zone)
    hour = local.hour
    is_quiet = (
        start_hour <= hour or hour < end_hour
        if start_hour > end_hour
        else start_hour <= hour < end_hour
    )
    if not is_quiet:
        return None
    day = local.date() if hour < end_hour else local.date() + timedelta(days=1)
    morning = datetime(day.year, day.month, day.day, end_hour, tzinfo=zone)
    return int(morning.timestamp())
