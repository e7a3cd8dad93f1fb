"""The store records each event once, atomically, and keeps exact aggregates."""

from fractions import Fraction

import pytest

from ltv.events import Interaction, Purchase, Refund, Void
from ltv.formula import PERIOD_SECONDS, LtvPolicy
from ltv.keys import TenantKeys
from ltv.money import Money
from ltv.store import RecordStatus

POLICY = LtvPolicy(period="month", lifespan_periods=Fraction(36))
USER = "U0CUSTOMER1"
DAY_MS = 86_400_000


def purchase(tenant, minor, *, ref, at_ms=0, event_id=None, order_id=None):
    return Purchase(
        tenant=tenant,
        user=USER,
        at_ms=at_ms,
        event_id=event_id or f"ev-{ref}",
        source_ref=ref,
        amount=Money(minor, "USD"),
        base_amount_minor=minor,
        order_id=order_id,
    )


def refund(tenant, minor, *, ref, order_id=None, at_ms=DAY_MS):
    return Refund(
        tenant=tenant,
        user=USER,
        at_ms=at_ms,
        event_id=f"ev-{ref}",
        source_ref=ref,
        amount=Money(minor, "USD"),
        base_amount_minor=minor,
        order_id=order_id,
    )


def test_a_purchase_updates_the_customer_and_the_totals(store, tenant):
    result = store.record(purchase(tenant, 2933, ref="msg:C1:1.000001"), POLICY)

    record = store.customer(tenant, USER)
    assert result.status is RecordStatus.RECORDED
    assert (record.purchases, record.revenue_minor) == (1, 2933)
    assert store.totals(tenant).customers == 1
    assert store.totals(tenant).revenue_minor == 2933


def test_a_retried_event_is_counted_once(store, tenant):
    event = purchase(tenant, 1000, ref="msg:C1:1.000001", event_id="Ev1")

    first = store.record(event, POLICY)
    second = store.record(event, POLICY)

    assert (first.status, second.status) == (
        RecordStatus.RECORDED,
        RecordStatus.DUPLICATE,
    )
    assert store.customer(tenant, USER).purchases == 1
    assert store.redis.xlen(TenantKeys(tenant).events) == 1


def test_an_edit_replaces_the_amount_and_never_adds_a_purchase(store, tenant):
    store.record(purchase(tenant, 1000, ref="msg:C1:1.1", event_id="Ev1"), POLICY)

    edited = store.record(
        purchase(tenant, 1500, ref="msg:C1:1.1", event_id="Ev2"), POLICY
    )

    record = store.customer(tenant, USER)
    assert edited.reason == "edited"
    assert (record.purchases, record.revenue_minor) == (1, 1500)


def test_a_deleted_notice_voids_its_purchase(store, tenant):
    store.record(purchase(tenant, 1000, ref="msg:C1:1.1", at_ms=DAY_MS), POLICY)
    store.record(purchase(tenant, 700, ref="msg:C1:2.2", at_ms=2 * DAY_MS), POLICY)

    store.record(
        Void(
            tenant=tenant,
            user=USER,
            at_ms=3 * DAY_MS,
            event_id="EvDel",
            source_ref="msg:C1:2.2",
        ),
        POLICY,
    )

    record = store.customer(tenant, USER)
    assert (record.purchases, record.revenue_minor) == (1, 1000)
    assert record.last_purchase_s == 86_400


def test_a_zero_dollar_purchase_counts_as_a_purchase(store, tenant):
    store.record(purchase(tenant, 0, ref="msg:C1:1.1"), POLICY)

    assert store.customer(tenant, USER).purchases == 1


def test_a_refund_lowers_revenue_not_the_purchase_count(store, tenant):
    store.record(purchase(tenant, 5000, ref="msg:C1:1.1", order_id="1042"), POLICY)

    result = store.record(
        refund(tenant, 2000, ref="msg:C1:3.3", order_id="1042"), POLICY
    )

    record = store.customer(tenant, USER)
    assert result.status is RecordStatus.RECORDED
    assert (record.purchases, record.net_revenue_minor) == (1, 3000)


def test_a_refund_above_net_revenue_is_refused_and_changes_nothing(store, tenant):
    store.record(purchase(tenant, 5000, ref="msg:C1:1.1"), POLICY)
    stream_before = store.redis.xlen(TenantKeys(tenant).events)

    result = store.record(refund(tenant, 5001, ref="msg:C1:3.3"), POLICY)

    assert (result.status, result.reason) == (RecordStatus.REFUSED, "refund_too_large")
    assert store.customer(tenant, USER).net_revenue_minor == 5000
    assert store.redis.xlen(TenantKeys(tenant).events) == stream_before


def test_a_refund_naming_an_unknown_order_is_refused(store, tenant):
    store.record(purchase(tenant, 5000, ref="msg:C1:1.1", order_id="1042"), POLICY)

    result = store.record(
        refund(tenant, 100, ref="msg:C1:3.3", order_id="9999"), POLICY
    )

    assert result.reason == "order_unknown"


def test_a_refund_cannot_exceed_the_order_it_names(store, tenant):
    store.record(purchase(tenant, 5000, ref="msg:C1:1.1", order_id="A"), POLICY)
    store.record(purchase(tenant, 5000, ref="msg:C1:2.2", order_id="B"), POLICY)

    result = store.record(refund(tenant, 6000, ref="msg:C1:3.3", order_id="A"), POLICY)

    assert result.reason == "refund_exceeds_order"


def test_interactions_dedupe_on_the_message_key_across_event_ids(store, tenant):
    def message(event_id):
        return Interaction(
            tenant=tenant,
            user=USER,
            at_ms=5,
            event_id=event_id,
            kind="message",
            message_key="msg:C1:5.000000",
        )

    store.record(message("EvA"), POLICY)
    second = store.record(message("EvB"), POLICY)

    assert second.status is RecordStatus.DUPLICATE
    assert store.customer(tenant, USER).interactions == 1


def test_first_activity_is_the_earliest_event_even_when_late(store, tenant):
    store.record(purchase(tenant, 100, ref="r1", at_ms=10 * DAY_MS), POLICY)

    store.record(purchase(tenant, 100, ref="r2", at_ms=2 * DAY_MS), POLICY)

    record = store.customer(tenant, USER)
    assert record.first_seen_s == 2 * 86_400
    assert record.first_purchase_s == 2 * 86_400
    assert record.last_purchase_s == 10 * 86_400


def test_stored_customer_reproduces_the_worked_example(store, tenant, clock):
    month_ms = PERIOD_SECONDS["month"] * 1000
    for index in range(24):
        at = index * month_ms // 2
        store.record(purchase(tenant, 5000, ref=f"r{index}", at_ms=at), POLICY)
    clock.set(PERIOD_SECONDS["month"] * 12)

    breakdown = store.breakdown(store.customer(tenant, USER), POLICY)

    assert breakdown.ltv_minor == 360_000


@pytest.mark.parametrize("bad_user", ["u123", "C0123", "U12 3", "U{x}", ""])
def test_events_with_malformed_user_ids_are_refused_before_any_key(tenant, bad_user):
    with pytest.raises(ValueError, match="user"):
        purchase(tenant, 1, ref="r").model_copy(
            update={"user": bad_user}
        ).model_validate(
            {**purchase(tenant, 1, ref="r").model_dump(), "user": bad_user}
        )
