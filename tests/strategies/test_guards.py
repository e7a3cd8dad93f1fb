"""Guard rails: quiet hours in the customer's zone, opt-outs, the frequency cap."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from strategies.delivery import ClaimStatus, SendLedger
from strategies.guards import OptOuts, quiet_until, zone_or_utc

TOKYO = ZoneInfo("Asia/Tokyo")


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


@pytest.mark.parametrize(
    ("now", "zone", "until"),
    [
        ("2024-01-01T12:00:00+00:00", "UTC", None),
        ("2024-01-01T22:30:00+00:00", "UTC", "2024-01-02T08:00:00+00:00"),
        ("2024-01-01T03:00:00+00:00", "UTC", "2024-01-01T08:00:00+00:00"),
        ("2024-01-01T14:00:00+00:00", "Asia/Tokyo", "2024-01-02T08:00:00+09:00"),
        ("2024-03-31T00:30:00+00:00", "Europe/Paris", "2024-03-31T08:00:00+02:00"),
    ],
)
def test_quiet_hours_end_at_the_next_local_morning(now, zone, until):
    result = quiet_until(at(now), ZoneInfo(zone), start_hour=21, end_hour=8)

    assert result == (None if until is None else at(until))


def test_equal_start_and_end_turn_quiet_hours_off():
    assert (
        quiet_until(at("2024-01-01T23:00:00+00:00"), TOKYO, start_hour=8, end_hour=8)
        is None
    )


def test_an_unknown_zone_falls_back_to_the_workspace_default_then_utc():
    assert zone_or_utc(None, "Asia/Tokyo") == TOKYO
    assert zone_or_utc("Not/AZone", None) == ZoneInfo("UTC")


def test_opting_out_is_new_once_and_all_covers_every_strategy(
    redis_client, tenant, clock
):
    optouts = OptOuts(redis_client, clock=clock)

    first = optouts.opt_out(tenant, "UCUST00001")
    again = optouts.opt_out(tenant, "UCUST00001")

    assert (first, again) == (True, False)
    assert optouts.is_opted_out(tenant, "UCUST00001", "loyalty")
    assert not optouts.is_opted_out(tenant, "UCUST00002", "loyalty")
    assert optouts.opt_in(tenant, "UCUST00001")
    assert not optouts.is_opted_out(tenant, "UCUST00001", "loyalty")


def test_the_frequency_cap_is_checked_in_the_same_step_as_the_claim(
    redis_client, tenant, clock
):
    ledger = SendLedger(redis_client, clock=clock)
    cap_s = 3 * 86_400

    first = ledger.claim(
        tenant, "loyalty", "tier:UCUST00001:gold", user="UCUST00001", cap_s=cap_s
    )
    second = ledger.claim(
        tenant, "feedback", "ask:UCUST00001:once", user="UCUST00001", cap_s=cap_s
    )
    clock.advance(cap_s)
    later = ledger.claim(
        tenant, "feedback", "ask:UCUST00001:once", user="UCUST00001", cap_s=cap_s
    )

    assert (first.status, second.status, later.status) == (
        ClaimStatus.CLAIMED,
        ClaimStatus.CAPPED,
        ClaimStatus.CLAIMED,
    )


def test_a_retryable_failure_gives_the_cap_back(redis_client, tenant, clock):
    ledger = SendLedger(redis_client, clock=clock)
    claim = ledger.claim(
        tenant, "loyalty", "tier:UCUST00001:gold", user="UCUST00001", cap_s=3600
    )

    ledger.release(tenant, "loyalty", "tier:UCUST00001:gold", claim, user="UCUST00001")

    assert ledger.last_message_s(tenant, "UCUST00001") is None
    assert ledger.state(tenant, "loyalty", "tier:UCUST00001:gold") is None


def test_only_the_holder_of_a_claim_can_settle_it(redis_client, tenant, clock):
    from strategies.delivery import Outcome

    ledger = SendLedger(redis_client, clock=clock, lease_s=60)
    stale = ledger.claim(tenant, "loyalty", "tier:UCUST00001:gold")
    clock.advance(61)
    taken_over = ledger.claim(tenant, "loyalty", "tier:UCUST00001:gold")

    stale_settled = ledger.settle(
        tenant, "loyalty", "tier:UCUST00001:gold", stale, Outcome.SENT
    )

    assert taken_over.status is ClaimStatus.IN_DOUBT
    assert stale_settled is False
    assert ledger.state(tenant, "loyalty", "tier:UCUST00001:gold") == "claimed"


def test_posts_to_one_channel_are_paced_a_second_apart():
    from strategies.engine import Pacer

    now = [100.0]
    slept: list[float] = []
    pacer = Pacer(
        sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)),
        monotonic=lambda: now[0],
    )

    pacer.wait("C1")
    now[0] += 0.25
    pacer.wait("C1")
    pacer.wait("C2")
    pacer.back_off(7)

    assert slept == [0.75, 7]
