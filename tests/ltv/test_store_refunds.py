"""Refunds: edits replace their amount, and voids never count money twice."""

from dataclasses import replace
from fractions import Fraction

import pytest

from ltv.events import Refund, Void
from ltv.formula import LtvPolicy
from ltv.store import RecordStatus
from tests.ltv.test_rebuild import RandomHistory
from tests.ltv.test_store import USER, purchase, refund

POLICY = LtvPolicy(period="month", lifespan_periods=Fraction(36))


def void(tenant, ref, event_id):
    return Void(tenant=tenant, user=USER, at_ms=9, event_id=event_id, source_ref=ref)


def edited_refund(tenant, minor, *, ref, event_id, order_id=None):
    return refund(tenant, minor, ref=ref, order_id=order_id).model_copy(
        update={"event_id": event_id}
    )


def test_an_edited_refund_replaces_its_amount(store, tenant):
    store.record(purchase(tenant, 5000, ref="p1", order_id="A"), POLICY)
    store.record(refund(tenant, 1000, ref="r1", order_id="A"), POLICY)

    result = store.record(
        edited_refund(tenant, 1500, ref="r1", event_id="Ev-edit", order_id="A"),
        POLICY,
    )

    record = store.customer(tenant, USER)
    assert (result.status, result.reason) == (RecordStatus.RECORDED, "refund_edited")
    assert (record.purchases, record.refunds_minor) == (1, 1500)
    assert store.totals(tenant).refunds_minor == 1500


def test_an_edited_refund_above_net_revenue_is_refused_and_changes_nothing(
    store, tenant
):
    store.record(purchase(tenant, 5000, ref="p1"), POLICY)
    store.record(refund(tenant, 1000, ref="r1"), POLICY)

    result = store.record(
        edited_refund(tenant, 5001, ref="r1", event_id="Ev-edit"), POLICY
    )

    assert (result.status, result.reason) == (RecordStatus.REFUSED, "refund_too_large")
    assert store.customer(tenant, USER).refunds_minor == 1000


def test_an_edited_refund_cannot_exceed_its_order(store, tenant):
    store.record(purchase(tenant, 5000, ref="p1", order_id="A"), POLICY)
    store.record(purchase(tenant, 5000, ref="p2", order_id="B"), POLICY)
    store.record(refund(tenant, 1000, ref="r1", order_id="A"), POLICY)

    result = store.record(
        edited_refund(tenant, 5001, ref="r1", event_id="Ev-edit", order_id="A"),
        POLICY,
    )

    assert result.reason == "refund_exceeds_order"
    assert store.customer(tenant, USER).refunds_minor == 1000


def test_a_refund_edited_to_the_same_amount_is_unchanged(store, tenant):
    store.record(purchase(tenant, 5000, ref="p1"), POLICY)
    store.record(refund(tenant, 1000, ref="r1"), POLICY)

    result = store.record(
        edited_refund(tenant, 1000, ref="r1", event_id="Ev-edit"), POLICY
    )

    assert result.status is RecordStatus.UNCHANGED
    assert store.customer(tenant, USER).refunds_minor == 1000


def test_voiding_an_order_then_its_refund_does_not_return_the_refund_twice(
    store, tenant
):
    store.record(purchase(tenant, 3000, ref="p0"), POLICY)
    store.record(purchase(tenant, 5000, ref="p1", order_id="A"), POLICY)
    store.record(refund(tenant, 2000, ref="r1", order_id="A"), POLICY)

    store.record(void(tenant, "p1", "Ev-del-p1"), POLICY)
    store.record(void(tenant, "r1", "Ev-del-r1"), POLICY)

    record = store.customer(tenant, USER)
    assert (record.revenue_minor, record.refunds_minor) == (3000, 0)
    assert store.totals(tenant).refunds_minor == 0


def test_a_refund_never_raises_ltv(store, tenant):
    store.record(purchase(tenant, 5000, ref="p1"), POLICY)
    before = store.breakdown(store.customer(tenant, USER), POLICY).ltv_minor

    store.record(refund(tenant, 2500, ref="r1"), POLICY)

    after = store.breakdown(store.customer(tenant, USER), POLICY)
    assert after.ltv_minor < before
    assert after.purchases == 1


def test_a_refused_refund_explains_itself_in_one_sentence(store, tenant):
    store.record(purchase(tenant, 5000, ref="p1"), POLICY)

    result = store.record(refund(tenant, 5001, ref="r1"), POLICY)

    assert result.reason_text == "the refund is larger than the customer's net revenue"


@pytest.mark.parametrize("seed", [21, 22])
def test_no_recorded_refund_or_refund_edit_ever_raises_ltv(store, tenant, seed):
    """A new refund never raises LTV; an edited one never lifts it above the LTV
    the customer would have without that refund at all."""
    history = RandomHistory(tenant, seed)
    checked = 0

    for _ in range(400):
        event = history.next_event()
        before = store.customer(tenant, event.user)
        result = store.record(event, POLICY)
        if not isinstance(event, Refund) or result.status is not RecordStatus.RECORDED:
            continue
        after = store.customer(tenant, event.user)
        without = replace(after, refunds_minor=after.refunds_minor - event.amount.minor)
        ceiling = store.breakdown(
            before if result.reason == "refund" else without, POLICY
        )
        assert store.breakdown(after, POLICY).ltv_minor <= ceiling.ltv_minor
        assert after.purchases == before.purchases
        checked += 1

    assert checked > 50
