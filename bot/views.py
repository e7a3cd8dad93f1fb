"""Block Kit for what the bot shows: the customer card and the help text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import redis

from ltv.clock import to_datetime
from ltv.formula import LtvBreakdown
from ltv.keys import TenantKeys
from ltv.money import Money, format_money
from ltv.store import CustomerRecord

LITTLE_HISTORY_MARK = ":seedling: little history yet"

HELP_HEAD = "*LTV bot* — what a customer is worth, from your conversations."
FORMULA_TEXT = """*How LTV is computed*, over one period (the workspace's setting):
• average purchase value = net revenue ÷ purchases
• purchase frequency = purchases ÷ tenure, where tenure is the time from the \
customer's first activity to now, in periods, at least one period
• lifespan = the expected number of periods a customer stays (a setting)
• *LTV = average purchase value × purchase frequency × lifespan*
For example $50 a purchase, 2 purchases a month and a 36-month lifespan \
give $3,600.00."""
HELP_TEXT = f"""{HELP_HEAD}
• `/ltv @user` — the customer's lifetime value and its parts (only you see it)
• `/ltv help` — this text

{FORMULA_TEXT}"""
# Thresholds in minor units of the base currency, lowest first; the loyalty
# strategy's settings replace these defaults (see tier_thresholds).
Tiers = tuple[tuple[str, int], ...]
TIERS: Tiers = (
    ("Member", 0),
    ("Bronze", 10_000),
    ("Silver", 50_000),
    ("Gold", 200_000),
)
RECENT_SENDS = 5
SEND_LOG_SCANNED = 2000


def escape(text: str) -> str:
    """Slack's three control characters, escaped once for text sent back."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def help_text(entries: Mapping[str, Any]) -> str:
    """Usage of every visible subcommand, then the formula's definitions."""
    lines = [f"• {e.usage}" for e in entries.values() if not e.hidden]
    lines.append("• `/ltv help` — this text")
    return "\n".join([HELP_HEAD, *lines, "", FORMULA_TEXT])


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


def tier_of(
    ltv_minor: int | Fraction, tiers: Tiers = TIERS
) -> tuple[str, str | None, int | None]:
    """The tier an LTV reaches, the next tier and the LTV still needed for it."""
    current, following = tiers[0][0], None
    for name, threshold in tiers:
        if ltv_minor >= threshold:
            current = name
        elif following is None:
            following = (name, threshold)
    if following is None:
        return current, None, None
    return current, following[0], following[1] - round(ltv_minor)


@dataclass(frozen=True)
class CardDetails:
    """What the card shows beyond the aggregates: stored by strategies and agents."""

    tier: str | None = None
    feedback: str | None = None
    optout: str | None = None
    sends: list[str] = field(default_factory=list)
    tiers: Tiers = TIERS

    @classmethod
    def read(
        cls,
        client: redis.Redis,
        tenant: str,
        user: str,
        *,
        optout: frozenset[str] = frozenset(),
        tiers: Tiers = TIERS,
    ) -> CardDetails:
        keys = TenantKeys(tenant)
        raw = client.hmget(keys.customer(user), ["feedback_sum", "feedback_count"])
        total, count = (_decode(v) for v in raw)
        feedback = None
        if total and count and int(count) > 0:
            feedback = f"{float(total) / int(count):.1f} / 5 ({count} answers)"
        optout_text = ", ".join(sorted(optout)) or None
        sends = recent_sends(client, keys, user)
        return cls(None, feedback, optout_text, sends, tiers)


def _decode(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def recent_sends(client: redis.Redis, keys: TenantKeys, user: str) -> list[str]:
    """The customer's latest strategy messages sent, from the recent send log."""
    found: list[str] = []
    for _, fields in client.xrevrange(keys.send_log, count=SEND_LOG_SCANNED) or []:
        raw = {_decode(k): _decode(v) for k, v in (fields or {}).items()}
        slot = raw.get("slot") or ""
        if raw.get("outcome") != "sent" or f":{user}:" not in f":{slot}:":
            continue
        step = slot.split(":")[0]
        at_s = int(raw.get("at") or 0)
        found.append(f"{raw.get('strategy')}/{step}: sent {date_text(at_s)}")
        if len(found) == RECENT_SENDS:
            break
    return found


def card_details_fields(
    breakdown: LtvBreakdown, details: CardDetails
) -> list[tuple[str, str]]:
    tier = details.tier or tier_of(breakdown.ltv_minor, details.tiers)[0]
    return [
        ("Tier", escape(tier)),
        ("Feedback score", details.feedback or "—"),
        ("Opted out of", escape(details.optout) if details.optout else "nothing"),
        ("Period", breakdown.period),
    ]


def customer_card(
    record: CustomerRecord,
    breakdown: LtvBreakdown,
    currency: str,
    details: CardDetails | None = None,
    extra_sections: list[dict[str, Any]] | None = None,
    *,
    shared: bool = False,
) -> list[dict[str, Any]]:
    """The agent's view of one customer: LTV first, then its parts and the facts."""
    details = details or CardDetails()
    headline = ltv_headline(breakdown, currency)
    who = "Shared by an agent." if shared else "Only you can see this."
    sends = "\n".join(f"• {escape(s)}" for s in details.sends) or "none yet"
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Customer value"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"<@{record.user}>  *LTV {headline}*"},
        },
        fields_section(ltv_parts(breakdown, currency)),
        fields_section(customer_facts(record, currency)),
        fields_section(card_details_fields(breakdown, details)),
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"*Last strategy messages*\n{sends}"},
        },
        *(extra_sections or []),
        {
            "type": "actions",
            "block_id": "card_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_purchase_modal",
                    "text": {"type": "plain_text", "text": "Log a purchase"},
                    "value": record.user,
                }
            ],
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "LTV = average purchase value × purchase frequency × "
                    f"lifespan, per {breakdown.period}. {who}",
                }
            ],
        },
    ]


def card_fallback_text(
    record: CustomerRecord, breakdown: LtvBreakdown, currency: str
) -> str:
    parts = "; ".join(f"{k}: {v}" for k, v in ltv_parts(breakdown, currency))
    return f"LTV of <@{record.user}>: {ltv_headline(breakdown, currency)} ({parts})"


def top_list(
    rows: list[tuple[CustomerRecord, LtvBreakdown]], currency: str
) -> tuple[str, list[dict[str, Any]]]:
    lines = [
        f"{i}. <@{record.user}> — {money_text(b.ltv_minor, currency)} "
        f"({record.purchases:,} purchases)"
        for i, (record, b) in enumerate(rows, start=1)
    ]
    text = "\n".join(lines)
    header = {"type": "header", "text": {"type": "plain_text", "text": "Top customers"}}
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}}
        for chunk in _chunks(lines, 20)
    ]
    return f"Top customers:\n{text}", [header, *sections]


def _chunks(lines: list[str], size: int) -> list[list[str]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def audit_list(entries: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    lines = [
        f"{to_datetime(e.at_s).strftime('%Y-%m-%d %H:%M')} <@{e.viewer}> "
        f"{escape(e.action)} <@{e.customer}>"
        for e in entries
    ]
    header = {
        "type": "header",
        "text": {"type": "plain_text", "text": "Recent customer lookups"},
    }
    sections = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}}
        for chunk in _chunks(lines, 20)
    ]
    return "Recent customer lookups:\n" + "\n".join(lines), [header, *sections]


def category_usage(word: str) -> str:
    from bot.privacy import CATEGORIES

    return f"Usage: `/ltv {word} [all|{'|'.join(CATEGORIES)}]`."


def optout_sentence(categories: frozenset[str]) -> str:
    if not categories:
        return "You will receive all our messages. `/ltv optout` stops them."
    if "all" in categories:
        return "You will receive no more messages from us. `/ltv optin` undoes this."
    shown = ", ".join(sorted(categories))
    return f"You will receive no {shown} messages. `/ltv optin` undoes this."


def stats_view(summary: Any) -> tuple[str, list[dict[str, Any]]]:
    """`/ltv stats`: totals, average LTV and its parts, tiers, feedback, sends."""
    cur, totals = summary.currency, summary.totals
    facts = [
        ("Customers", f"{totals.customers:,}"),
        ("Purchases", f"{totals.purchases:,}"),
        ("Revenue", money_text(totals.revenue_minor, cur)),
        ("Refunds", money_text(totals.refunds_minor, cur)),
        ("Interactions", f"{totals.interactions:,}"),
        ("Average LTV", money_text(summary.average(summary.ltv_sum_minor), cur)),
        (
            "Average purchase value",
            money_text(summary.average(summary.average_value_sum_minor), cur),
        ),
        (
            "Average frequency",
            f"{format_fraction(summary.average(summary.frequency_sum))} "
            f"per {summary.period}",
        ),
        ("Lifespan", f"{format_fraction(summary.lifespan_periods)} {summary.period}s"),
    ]
    tiers = ", ".join(f"{name} {summary.tiers[name]:,}" for name, _ in TIERS)
    feedback = (
        f"{summary.feedback_sum / summary.feedback_count:.1f} / 5 "
        f"({summary.feedback_count:,} answers)"
        if summary.feedback_count
        else "no answers yet"
    )
    sends = ", ".join(f"{escape(k)} {v:,}" for k, v in sorted(summary.sends.items()))
    lines = (
        f"*Tiers* {tiers}\n*Feedback* {feedback}\n"
        f"*Strategy messages* {sends or 'none yet'}"
    )
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Workspace LTV"}},
        fields_section(facts[:5]),
        fields_section(facts[5:]),
        {"type": "section", "text": {"type": "mrkdwn", "text": lines}},
    ]
    text = "; ".join(f"{k}: {v}" for k, v in facts)
    return f"Workspace LTV — {text}", blocks
