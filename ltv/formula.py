"""The LTV formula: average purchase value x purchase frequency x lifespan.

Every quantity is exact: money in integer minor units, ratios as Fractions,
and the result rounded half-to-even to a whole minor unit only at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

# A month is a twelfth of a Julian year so that 12 months make exactly a year.
PERIOD_SECONDS: dict[str, int] = {
    "day": 86_400,
    "week": 7 * 86_400,
    "month": 2_629_800,  # 365.25 / 12 days
    "year": 31_557_600,  # 365.25 days
}


@dataclass(frozen=True, slots=True)
class LtvPolicy:
    """How a workspace measures LTV: the period and the expected lifespan in it."""

    period: str = "month"
    lifespan_periods: Fraction = Fraction(36)

    def __post_init__(self) -> None:
        if self.period not in PERIOD_SECONDS:
            raise ValueError(
                f"period {self.period!r} is not one of {', '.join(PERIOD_SECONDS)}"
            )
        if self.lifespan_periods <= 0:
            raise ValueError(
                f"lifespan must be a positive number of periods, "
                f"got {self.lifespan_periods}"
            )

    @property
    def period_seconds(self) -> int:
        return PERIOD_SECONDS[self.period]


@dataclass(frozen=True, slots=True)
class LtvBreakdown:
    """A customer's LTV and the three parts it is the product of."""

    ltv_minor: int
    average_purchase_minor: Fraction
    purchases_per_period: Fraction
    lifespan_periods: Fraction
    tenure_periods: Fraction
    purchases: int
    net_revenue_minor: int
    period: str
    little_history: bool


def round_half_even(value: Fraction) -> int:
    """The nearest integer, ties to even, as banks round money."""
    return round(value)


def ltv_from_parts(
    average_purchase_minor: Fraction | int,
    purchases_per_period: Fraction | int,
    lifespan_periods: Fraction | int,
) -> int:
    """LTV = (average purchase x purchase frequency) x lifespan, in minor units."""
    product = (
        Fraction(average_purchase_minor)
        * Fraction(purchases_per_period)
        * Fraction(lifespan_periods)
    )
    return round_half_even(product)


def tenure_in_periods(
    first_activity_s: int, now_s: int, period_seconds: int
) -> Fraction:
    """Time from first activity to now in periods, never less than one period."""
    elapsed = Fraction(max(now_s - first_activity_s, 0), period_seconds)
    return max(elapsed, Fraction(1))


def compute_ltv(
    *,
    net_revenue_minor: int,
    purchases: int,
    first_activity_s: int,
    now_s: int,
    policy: LtvPolicy,
) -> LtvBreakdown:
    """The breakdown for one customer; no purchases means an LTV of zero."""
    tenure = tenure_in_periods(first_activity_s, now_s, policy.period_seconds)
    raw_elapsed = Fraction(max(now_s - first_activity_s, 0), policy.period_seconds)
    little_history = purchases <= 1 or raw_elapsed < 1
    net = max(net_revenue_minor, 0)

    if purchases <= 0:
        average = Fraction(0)
        frequency = Fraction(0)
    else:
        average = Fraction(net, purchases)
        frequency = Fraction(purchases) / tenure

    return LtvBreakdown(
        ltv_minor=ltv_from_parts(average, frequency, policy.lifespan_periods),
        average_purchase_minor=average,
        purchases_per_period=frequency,
        lifespan_periods=policy.lifespan_periods,
        tenure_periods=tenure,
        purchases=max(purchases, 0),
        net_revenue_minor=net,
        period=policy.period,
        little_history=little_history,
    )
