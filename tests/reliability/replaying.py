"""A deterministic little history delivered as Slack would, with Slack's retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from bot.replay import SlackReplayer
from tests.scenarios.conftest import COMMUNITY_CHANNEL, ORDERS_CHANNEL

MAX_RETRY_ROUNDS = 5


def envelope(tenant: str, event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": tenant,
        "api_app_id": "A0TEST",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "event": event,
    }


def history(tenant: str, customers: int = 8) -> list[dict[str, Any]]:
    """Joins, messages and order notices of a few customers, in time order."""
    payloads = []
    for n in range(customers):
        user = f"UC{n:08d}"
        base = 1_700_000_000 + n * 1000
        payloads.append(
            envelope(
                tenant,
                f"EvJ{n:09d}",
                {
                    "type": "member_joined_channel",
                    "user": user,
                    "channel": COMMUNITY_CHANNEL,
                    "event_ts": f"{base}.000100",
                },
            )
        )
        for k in range(2):
            ts = f"{base + 10 + k}.000200"
            payloads.append(
                envelope(
                    tenant,
                    f"EvM{n:07d}{k:02d}",
                    {
                        "type": "message",
                        "user": user,
                        "text": f"question {k}",
                        "channel": COMMUNITY_CHANNEL,
                        "ts": ts,
                    },
                )
            )
        for k in range(3):
            ts = f"{base + 100 + k}.000300"
            text = f"Order {n * 10 + k} paid: ${10 + n}.{k}5 by <@{user}>"
            payloads.append(
                envelope(
                    tenant,
                    f"EvO{n:07d}{k:02d}",
                    {
                        "type": "message",
                        "subtype": "bot_message",
                        "bot_id": "BSHOP01",
                        "text": text,
                        "channel": ORDERS_CHANNEL,
                        "ts": ts,
                    },
                )
            )
    return payloads


def deliver(
    replayer: SlackReplayer,
    payloads: list[dict[str, Any]],
    before: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Send each payload once; return those that were not acknowledged with 2xx."""
    unacknowledged = []
    for index, payload in enumerate(payloads):
        if before is not None:
            before(index)
        if not is_acknowledged(replayer.post_event(payload).status):
            unacknowledged.append(payload)
    return unacknowledged


def retry_until_acknowledged(
    replayer: SlackReplayer, payloads: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Slack's retries: the same body again with X-Slack-Retry-Num, a few rounds."""
    pending = payloads
    for attempt in range(1, MAX_RETRY_ROUNDS + 1):
        headers = {
            "X-Slack-Retry-Num": str(attempt),
            "X-Slack-Retry-Reason": "http_error",
        }
        pending = [
            p
            for p in pending
            if not is_acknowledged(replayer.post_event(p, extra_headers=headers).status)
        ]
        if not pending:
            break
    return pending


def is_acknowledged(status: int) -> bool:
    return 200 <= status < 300


def snapshot(client: redis.Redis, tenant: str) -> dict[str, Any]:
    """Every key of a tenant by its name after the tenant prefix, with its content.

    Stream entries are compared without their ids (which carry arrival times)
    and in sorted order, since retries arrive later than first attempts.
    """
    prefix = f"ltv:{{{tenant}}}:"
    state: dict[str, Any] = {}
    for key in client.scan_iter(match=prefix + "*", count=1000):
        name = key.decode()[len(prefix) :]
        state[name] = read_key(client, key)
    return state


def read_key(client: redis.Redis, key: bytes) -> Any:
    kind = client.type(key).decode()
    if kind == "hash":
        return client.hgetall(key)
    if kind == "zset":
        return client.zrange(key, 0, -1, withscores=True)
    if kind == "set":
        return sorted(client.smembers(key))
    if kind == "stream":
        return sorted(sorted(fields.items()) for _, fields in client.xrange(key))
    return client.get(key)
