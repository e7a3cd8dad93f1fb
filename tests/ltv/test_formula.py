"""The LTV formula, exact to the minor unit."""

from fractions import Fraction

import pytest

from ltv.formula import (
    PERIOD_SECONDS,
    LtvPolicy,
    compute_ltv,
    ltv_from_parts,
    tenure_in_periods,
)

MONTH_S = PERIOD_SECONDS["month"]


def test_worked_example_50_dollars_twice_a_month_for_36_months_is_3600():
    ltv_minor = ltv_from_parts(
        average_purchase_minor=5000, purchases_per_period=2, lifespan_periods=36
    )

    assert ltv_minor == 360_000


def test_worked_example_in_years_gives_the_same_3600():
    ltv_minor = ltv_from_parts(
        average_purchase_minor=5000, purchases_per_period=24, lifespan_periods=3
    )

    assert ltv_minor == 360_000


def test_worked_example_from_a_year_of_history_reproduces_3600():
    policy = LtvPolicy(period="month", lifespan_periods=Fraction(36))

    breakdown = compute_ltv(
        net_revenue_minor=24 * 5000,
        purchases=24,
        first_activity_s=0,
        now_s=12 * MONTH_S,
        policy=policy,
    )

    assert breakdown.ltv_minor == 360_000
    assert breakdown.average_purchase_minor == 5000
    assert breakdown.purchases_per_period == 2
    assert breakdown.tenure_periods == 12
    assert breakdown.little_history is False


def test_twelve_months_make_exactly_one_year():
    assert PERIOD_SECONDS["month"] * 12 == PERIOD_SECONDS["year"]


def test_customer_without_purchases_has_zero_ltv():
    breakdown = compute_ltv(
        net_revenue_minor=0,
        purchases=0,
        first_activity_s=0,
        now_s=5 * MONTH_S,
        policy=LtvPolicy(),
    )

    assert breakdown.ltv_minor == 0
    assert breakdown.little_history is True


def test_tenure_is_never_below_one_period():
    assert tenure_in_periods(100, 100, MONTH_S) == 1
    assert tenure_in_periods(100, 50, MONTH_S) == 1


def test_one_purchase_is_marked_as_little_history():
    breakdown = compute_ltv(
        net_revenue_minor=2933,
        purchases=1,
        first_activity_s=0,
        now_s=3 * MONTH_S,
        policy=LtvPolicy(),
    )

    assert breakdown.little_history is True
    assert breakdown.ltv_minor == round(Fraction(2933 * 36, 3))


def test_half_cent_results_round_to_even():
    assert ltv_from_parts(Fraction(1, 2), 1, 1) == 0
    assert ltv_from_parts(Fraction(3, 2), 1, 1) == 2


def test_negative_net_revenue_never_gives_negative_ltv():
    breakdown = compute_ltv(
        net_revenue_minor=-500,
        purchases=2,
        first_activity_s=0,
        now_s=2 * MONTH_S,
        policy=LtvPolicy(),
    )

    assert breakdown.ltv_minor == 0


@pytest.mark.parametrize(
    ("period", "lifespan", "message"),
    [
        ("fortnight", Fraction(3), "period 'fortnight' is not one of"),
        ("month", Fraction(0), "lifespan must be a positive number"),
    ],
)
def test_bad_policy_is_refused_with_a_message(period, lifespan, message):
    with pytest.raises(ValueError, match=message):
        LtvPolicy(period=period, lifespan_periods=lifespan)
