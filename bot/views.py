"""Block Kit for what the bot shows: the customer card and the help text."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ltv.clock import to_datetime
from ltv.formula import LtvBreakdown
from ltv.money import Money, format_money
from ltv.store import CustomerRecord

LITTLE_HISTORY_MARK = ":seedling: little history yet"

HELP_TEXT = """*LTV bot* — what a customer is worth, from your conversations.
• `/ltv @user` — the customer's lifetime value and its parts (only you see it)
• `/ltv purchase @user AMOUNT [CURRENCY] [note]` — log a purchase
• `/ltv help` — this text

*How LTV is computed*, over one period (the workspace's setting):
• average purchase value = net revenue ÷ purchases
• purchase frequency = purchases ÷ tenure, where tenure is the time from the \
customer's first activity to now, in periods, at least one period
• lifespan = the expected number of periods a customer stays (a setting)
• *LTV = average purchase value × purchase frequency × lifespan*
For example $50 a purchase, 2 purchases a month and a 36-month lifespan \
give $3,600.00."""


def format_fraction(value: Fraction, places: int = 2) -> str:
    """A ratio for display only; the stored numbers stay exact."""
    scaled = round(value * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**places)
    return f"{sign}{whole:,}.{part:0{places}d}"


def money_text(minor: int | Fraction, currency: str) -> str:
    return format_money(Money(round(minor), currency))


def date_text(epoch_s: int | None) -> str:
    return "—" if epoch_s is None else to_datetime(epoch_s).strftime("%Y-%m-%d")


def ltv_headline(breakdown: LtvBreakdown, currency: str) -> str:
    text = money_text(breakdown.ltv_minor, currency)
    return f"{text}  {LITTLE_HISTORY_MARK}" if breakdown.little_history else text


def ltv_parts(breakdown: LtvBreakdown, currency: str) -> list[tuple[str, str]]:
    period = breakdown.period
    return [
        (
            "Average purchase value",
            money_text(breakdown.average_purchase_minor, currency),
        ),
        (
            "Purchase frequency",
            f"{format_fraction(breakdown.purchases_per_period)} per {period}",
        ),
        ("Lifespan", f"{format_fraction(breakdown.lifespan_periods)} {period}s"),
        ("Tenure", f"{format_fraction(breakdown.tenure_periods)} {period}s"),
    ]


def customer_facts(record: CustomerRecord, currency: str) -> list[tuple[str, str]]:
    return [
        ("Purchases", f"{record.purchases:,}"),
        ("Revenue", money_text(record.revenue_minor, currency)),
        ("Refunds", money_text(record.refunds_minor, currency)),
        ("First purchase", date_text(record.first_purchase_s)),
        ("Last purchase", date_text(record.last_purchase_s)),
        ("Interactions", f"{record.interactions:,}"),
    ]


def fields_section(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in pairs],
    }


def customer_card(
    record: CustomerRecord, breakdown: LtvBreakdown, currency: str
) -> list[dict[str, Any]]:
    """The agent's view of one customer: LTV first, then its parts and the facts."""
    headline = ltv_headline(breakdown, currency)
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Customer value"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"<@{record.user}>  *LTV {headline}*"},
        },
        fields_section(ltv_parts(breakdown, currency)),
        fields_section(customer_facts(record, currency)),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "LTV = average purchase value × purchase frequency × "
                    f"lifespan, per {breakdown.period}. Only you can see this.",
                }
            ],
        },
    ]


def card_fallback_text(
    record: CustomerRecord, breakdown: LtvBreakdown, currency: str
) -> str:
    parts = "; ".join(f"{k}: {v}" for k, v in ltv_parts(breakdown, currency))
    return f"LTV of <@{record.user}>: {ltv_headline(breakdown, currency)} ({parts})"
