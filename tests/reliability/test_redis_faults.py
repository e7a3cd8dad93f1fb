"""Nothing lost, nothing doubled: Slack's retries, Redis outages and reconnects."""

from __future__ import annotations

import http.client
import json
import time

from slack_bolt.request import BoltRequest

from bot.app import UNAVAILABLE
from ltv.keys import TenantKeys
from tests.reliability.replaying import (
    deliver,
    envelope,
    history,
    retry_until_acknowledged,
    snapshot,
)
from tests.scenarios.conftest import COMMUNITY_CHANNEL, CUSTOMER, ORDERS_CHANNEL

SLACK_DEADLINE_S = 3.0
RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def order_event(text: str, ts: str) -> dict:
    return {
        "type": "message",
        "subtype": "bot_message",
        "bot_id": "BSHOP01",
        "text": text,
        "channel": ORDERS_CHANNEL,
        "ts": ts,
    }


def purchase_payload(tenant: str, event_id: str = "EvPAY00001") -> dict:
    text = f"Order 55 paid: $12.50 by <@{CUSTOMER}>"
    return envelope(tenant, event_id, order_event(text, "1700000100.000100"))


def stream_length(bot) -> int:
    return int(bot.runtime.redis.xlen(TenantKeys(bot.tenant).events))


def test_slack_retries_of_a_delivered_event_count_once(bot):
    payload = purchase_payload(bot.tenant)
    first = bot.replayer.post_event(payload)

    retries = [
        bot.replayer.post_event(
            payload, extra_headers={**RETRY, "X-Slack-Retry-Num": str(n)}
        )
        for n in (1, 2, 3)
    ]

    assert first.status == 200
    assert [r.status for r in retries] == [200, 200, 200]
    assert bot.customer().purchases == 1
    assert bot.customer().revenue_minor == 1250
    assert stream_length(bot) == 1


def test_one_message_under_two_event_ids_counts_once(bot):
    message = {
        "type": "message",
        "user": CUSTOMER,
        "text": "hello",
        "channel": COMMUNITY_CHANNEL,
        "ts": "1700000200.000100",
    }
    bot.replayer.post_event(envelope(bot.tenant, "EvFIRST0001", message))

    again = bot.replayer.post_event(envelope(bot.tenant, "EvOTHER0002", message))

    assert again.status == 200
    assert bot.customer().interactions == 1
    assert stream_length(bot) == 1


def test_one_order_notice_under_two_event_ids_counts_once(bot):
    bot.replayer.post_event(purchase_payload(bot.tenant, "EvPAYA0001"))

    again = bot.replayer.post_event(purchase_payload(bot.tenant, "EvPAYB0002"))

    assert again.status == 200
    assert bot.customer().purchases == 1
    assert stream_length(bot) == 1


def test_socket_mode_redeliveries_count_once(bot):
    body = json.dumps(purchase_payload(bot.tenant))

    responses = [
        bot.runtime.app.dispatch(BoltRequest(body=body, mode="socket_mode"))
        for _ in range(3)
    ]

    assert [r.status for r in responses] == [200, 200, 200]
    assert bot.customer().purchases == 1


def test_an_event_is_not_acknowledged_while_redis_is_down(own_bot, own_redis):
    own_redis.kill()

    refused = own_bot.replayer.post_event(purchase_payload(own_bot.tenant))

    assert refused.status == 500
    own_redis.start()
    assert own_bot.customer() is None


def test_a_retry_after_a_first_attempt_that_wrote_nothing_is_recorded_once(
    own_bot, own_redis
):
    payload = purchase_payload(own_bot.tenant)
    own_redis.kill()
    first = own_bot.replayer.post_event(payload)
    own_redis.start()

    retry = own_bot.replayer.post_event(payload, extra_headers=RETRY)
    second_retry = own_bot.replayer.post_event(
        payload, extra_headers={**RETRY, "X-Slack-Retry-Num": "2"}
    )

    assert (first.status, retry.status, second_retry.status) == (500, 200, 200)
    assert own_bot.customer().purchases == 1
    assert stream_length(own_bot) == 1


def test_a_hung_redis_gets_a_500_within_slacks_deadline(own_bot, own_redis):
    payload = purchase_payload(own_bot.tenant)
    own_redis.freeze()
    started = time.monotonic()
    try:
        refused = own_bot.replayer.post_event(payload)
        elapsed_s = time.monotonic() - started
    finally:
        own_redis.thaw()

    retry = own_bot.replayer.post_event(payload, extra_headers=RETRY)

    assert refused.status == 500
    assert elapsed_s < SLACK_DEADLINE_S
    assert retry.status == 200
    assert own_bot.customer().purchases == 1


def test_killed_client_connections_are_reopened_without_loss(own_bot, own_redis):
    admin = own_redis.client()
    statuses = []
    for n in range(5):
        admin.client_kill_filter(_type="normal", skipme=True)
        text = f"Order {n} paid: $1.00 by <@{CUSTOMER}>"
        event = order_event(text, f"17000003{n:02d}.000100")
        statuses.append(
            own_bot.replayer.post_event(envelope(own_bot.tenant, f"EvK{n:08d}", event))
        )

    assert [d.status for d in statuses] == [200] * 5
    assert own_bot.customer().purchases == 5
    assert stream_length(own_bot) == 5


def test_a_replay_with_redis_killed_midway_ends_as_one_without_the_fault(
    own_bot, own_redis, own_tenant
):
    clean_tenant = own_tenant[:-1] + ("Z" if own_tenant[-1] != "Z" else "Y")
    assert deliver(own_bot.replayer, history(clean_tenant)) == []
    payloads = history(own_bot.tenant)
    kill_at, restart_at = len(payloads) // 3, len(payloads) // 2

    def fault(index: int) -> None:
        if index == kill_at:
            own_redis.kill()
        if index == restart_at:
            own_redis.start()

    unacknowledged = deliver(own_bot.replayer, payloads, before=fault)
    left = retry_until_acknowledged(own_bot.replayer, unacknowledged)

    assert len(unacknowledged) >= restart_at - kill_at
    assert left == []
    faulty = snapshot(own_redis.client(), own_bot.tenant)
    clean = snapshot(own_redis.client(), clean_tenant)
    assert faulty == clean
    assert faulty["totals"][b"purchases"] == b"24"


def test_connections_closed_by_redis_when_idle_are_reopened(own_bot, own_redis):
    admin = own_redis.client()
    first = own_bot.replayer.post_event(purchase_payload(own_bot.tenant, "EvIDLE0001"))
    admin.config_set("timeout", 1)
    # Redis closes idle clients in its own cron; its clock cannot be injected.
    deadline = time.monotonic() + 10
    while len(admin.client_list(_type="normal")) > 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    idle_closed = len(admin.client_list(_type="normal")) == 1

    text = f"Order 56 paid: $1.00 by <@{CUSTOMER}>"
    second = own_bot.replayer.post_event(
        envelope(own_bot.tenant, "EvIDLE0002", order_event(text, "1700000101.000100"))
    )

    assert idle_closed
    assert (first.status, second.status) == (200, 200)
    assert own_bot.customer().purchases == 2


def test_a_command_while_redis_is_hung_says_so_in_one_sentence(own_bot, own_redis):
    own_redis.freeze()
    try:
        reply = own_bot.command("UAGENT0001", f"<@{CUSTOMER}>").json()
    finally:
        own_redis.thaw()

    assert reply["text"] == UNAVAILABLE
    assert reply["response_type"] == "ephemeral"


def test_the_health_check_says_when_redis_is_down(own_bot, own_redis):
    port = own_bot.replayer.port

    def health() -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/healthz")
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    up = health()
    own_redis.kill()
    down = health()
    own_redis.start()
    back = health()

    assert up == (200, b'{"ok": true, "redis": "up"}')
    assert down == (503, b'{"ok": false, "redis": "down"}')
    assert back[0] == 200
