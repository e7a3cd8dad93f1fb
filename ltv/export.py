"""Export of every customer's LTV, its parts and the predictive model's estimates.

The model columns are filled when a fitted model is stored in the tenant's
``model`` hash (BG/NBD parameters r, alpha, a, b, optionally Gamma-Gamma p,
q, gamma, and ``time_unit_days``, the period its times are in, as
ltv/model_store.py writes them); otherwise they are left empty.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from ltv.formula import LtvPolicy
from ltv.keys import TenantKeys
from ltv.predictive import (
    BgNbdParams,
    GammaGammaParams,
    compute_probability_alive,
    predict_average_spend,
    predict_purchases,
)
from ltv.store import CustomerRecord, LtvStore

logger = logging.getLogger(__name__)

DAY_S = 86_400
DEFAULT_MODEL_PERIOD_DAYS = 7.0
HORIZON_PERIODS = 52.0

COLUMNS = [
    "user",
    "ltv_minor",
    "average_purchase_minor",
    "purchases_per_period",
    "lifespan_periods",
    "tenure_periods",
    "purchases",
    "revenue_minor",
    "refunds_minor",
    "net_revenue_minor",
    "interactions",
    "first_seen",
    "last_seen",
    "first_purchase",
    "last_purchase",
    "period",
    "p_alive",
    "expected_purchases_next_52_periods",
    "expected_average_spend",
]


@dataclass(frozen=True)
class StoredModel:
    """A fitted model read from Redis, with the period length its times use."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams | None
    period_days: float


def load_model(store: LtvStore, tenant: str) -> StoredModel | None:
    """The tenant's fitted model, or None when none (or nothing usable) is stored."""
    raw = store.redis.hgetall(TenantKeys(tenant).model)
    fields = {_text(k): _text(v) for k, v in raw.items()}
    if not fields:
        return None
    try:
        bgnbd = BgNbdParams.from_dict(fields)
    except ValueError as exc:
        logger.warning("stored model unusable tenant=%s error=%s", tenant, exc)
        return None
    try:
        gamma_gamma: GammaGammaParams | None = GammaGammaParams.from_dict(fields)
    except ValueError:
        gamma_gamma = None
    # The model store names it time_unit_days; weeks when absent.
    unit = fields.get("time_unit_days") or fields.get("period_days")
    period_days = _float(unit, DEFAULT_MODEL_PERIOD_DAYS)
    return StoredModel(bgnbd, gamma_gamma, period_days)


def _float(raw: str | None, default: float) -> float:
    try:
        value = float(raw) if raw is not None else default
    except ValueError:
        return default
    return value if value > 0 else default


def customer_rows(
    store: LtvStore, tenant: str, policy: LtvPolicy
) -> Iterator[dict[str, Any]]:
    """One dict per customer with the formula's parts and, if fitted, the model's."""
    model = load_model(store, tenant)
    for user in store.iter_customers(tenant):
        record = store.customer(tenant, user)
        if record is None:
            continue
        row = formula_row(store, record, policy)
        row.update(model_columns(model, record, store.clock.now_s()))
        yield row


def formula_row(
    store: LtvStore, record: CustomerRecord, policy: LtvPolicy
) -> dict[str, Any]:
    b = store.breakdown(record, policy)
    return {
        "user": record.user,
        "ltv_minor": b.ltv_minor,
        "average_purchase_minor": _decimal(b.average_purchase_minor),
        "purchases_per_period": _decimal(b.purchases_per_period),
        "lifespan_periods": _decimal(b.lifespan_periods),
        "tenure_periods": _decimal(b.tenure_periods),
        "purchases": record.purchases,
        "revenue_minor": record.revenue_minor,
        "refunds_minor": record.refunds_minor,
        "net_revenue_minor": record.net_revenue_minor,
        "interactions": record.interactions,
        "first_seen": record.first_seen_s,
        "last_seen": record.last_seen_s,
        "first_purchase": record.first_purchase_s,
        "last_purchase": record.last_purchase_s,
        "period": policy.period,
    }


def model_columns(
    model: StoredModel | None, record: CustomerRecord, now_s: int
) -> dict[str, Any]:
    """P(alive), expected purchases and spend; empty without a model or purchases.

    The history is approximated from the aggregates: x is purchases minus one,
    t_x the time between first and last purchase, T first purchase to now.
    """
    empty = dict.fromkeys(COLUMNS[-3:])
    if model is None or record.first_purchase_s is None:
        return empty
    period_s = model.period_days * DAY_S
    x = max(record.purchases - 1, 0)
    t_x = (
        (record.last_purchase_s or record.first_purchase_s) - record.first_purchase_s
    ) / period_s
    age = max(now_s - record.first_purchase_s, 0) / period_s
    alive = compute_probability_alive(model.bgnbd, x, t_x, max(age, t_x))
    expected = predict_purchases(model.bgnbd, HORIZON_PERIODS, x, t_x, max(age, t_x))
    row = {
        "p_alive": round(float(alive), 6),
        "expected_purchases_next_52_periods": round(float(expected), 6),
        "expected_average_spend": None,
    }
    if model.gamma_gamma is not None and record.purchases > 0:
        mean = record.net_revenue_minor / record.purchases
        spend = predict_average_spend(model.gamma_gamma, record.purchases, mean)
        row["expected_average_spend"] = round(float(spend), 2)
    return row


def export_customers(
    store: LtvStore, tenant: str, policy: LtvPolicy, out: TextIO, *, fmt: str
) -> int:
    """Write every customer as CSV or JSON lines-in-an-array; returns the count."""
    rows = customer_rows(store, tenant, policy)
    if fmt == "json":
        return _write_json(rows, out)
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def _write_json(rows: Iterator[dict[str, Any]], out: TextIO) -> int:
    out.write("[")
    count = 0
    for row in rows:
        out.write(("," if count else "") + "\n" + json.dumps(row))
        count += 1
    out.write("\n]\n")
    return count


def _decimal(value: Any) -> str:
    """A Fraction as a decimal string with six places; exact enough to read."""
    return f"{float(value):.6f}"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
