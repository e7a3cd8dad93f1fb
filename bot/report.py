"""The HTML report: one self-contained page of charts drawn by inline JavaScript.

The data is gathered from the tenant's Redis keys, embedded as JSON, and the
page's own script draws each chart as SVG and marks its figure with
``data-drawn`` (the number of marks drawn), so a headless browser can check
that every chart rendered. Nothing is loaded from elsewhere (a CSP forbids it).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ltv.errors import ModelFitError
from ltv.keys import TenantKeys
from ltv.predictive import (
    fit_bgnbd,
    predict_new_customer_purchases,
    summarise_purchases,
)
from ltv.store import LtvStore
from ltv.workspace import WorkspaceConfig

logger = logging.getLogger(__name__)

CHARTS = ("ltv", "monthly", "cohorts", "tiers", "strategies", "model")
TIERS = (("platinum", 0.95), ("gold", 0.80), ("silver", 0.50), ("bronze", 0.0))
HISTOGRAM_BINS = 20
MAX_COHORT_MONTHS = 18
SENDLOG_READ = 100_000


def purchase_records(store: LtvStore, tenant: str) -> list[tuple[str, int, int]]:
    """Every live purchase as (user, at_s, base minor units), oldest first."""
    rows = []
    for _, raw in store.redis.hscan_iter(TenantKeys(tenant).purchases, count=1000):
        parts = (raw.decode() if isinstance(raw, bytes) else raw).split("|")
        if parts[0] != "purchase" or parts[7] == "1":
            continue
        rows.append((parts[1], int(float(parts[5])) // 1000, int(float(parts[2]))))
    rows.sort(key=lambda row: row[1])
    return rows


def month_of(at_s: int) -> str:
    return datetime.fromtimestamp(at_s, UTC).strftime("%Y-%m")


def ltv_values(store: LtvStore, tenant: str, config: WorkspaceConfig) -> list[int]:
    policy = config.policy()
    values = []
    for user in store.iter_customers(tenant):
        record = store.customer(tenant, user)
        if record is not None:
            values.append(store.breakdown(record, policy).ltv_minor)
    return values


def ltv_histogram(values: list[int]) -> dict[str, Any]:
    if not values:
        return {"labels": [], "counts": []}
    top = float(np.percentile(values, 99)) or 1.0
    edges = np.linspace(0, top, HISTOGRAM_BINS + 1)
    counts, _ = np.histogram(np.minimum(values, top), bins=edges)
    labels = [f"{edges[i] / 100:,.0f}" for i in range(HISTOGRAM_BINS)]
    return {"labels": labels, "counts": [int(c) for c in counts]}


def monthly_series(purchases: list[tuple[str, int, int]]) -> dict[str, Any]:
    revenue: Counter[str] = Counter()
    active: dict[str, set[str]] = defaultdict(set)
    for user, at_s, minor in purchases:
        month = month_of(at_s)
        revenue[month] += minor
        active[month].add(user)
    months = sorted(revenue)
    return {
        "labels": months,
        "revenue": [revenue[m] / 100 for m in months],
        "active": [len(active[m]) for m in months],
    }


def cohort_retention(purchases: list[tuple[str, int, int]]) -> dict[str, Any]:
    """Share of each first-purchase-month cohort buying again k months later."""
    first: dict[str, str] = {}
    months_of: dict[str, set[str]] = defaultdict(set)
    for user, at_s, _ in purchases:
        month = month_of(at_s)
        first.setdefault(user, month)
        months_of[user].add(month)
    cohorts = sorted(set(first.values()))[:MAX_COHORT_MONTHS]
    rows = []
    for cohort in cohorts:
        members = [u for u, m in first.items() if m == cohort]
        shares = []
        for k in range(MAX_COHORT_MONTHS):
            target = _add_months(cohort, k)
            buyers = sum(1 for u in members if target in months_of[u])
            shares.append(round(buyers / len(members), 4))
        rows.append({"cohort": cohort, "size": len(members), "shares": shares})
    return {"rows": rows, "months": MAX_COHORT_MONTHS}


def _add_months(month: str, k: int) -> str:
    year, mon = int(month[:4]), int(month[5:]) + k
    year += (mon - 1) // 12
    return f"{year:04d}-{(mon - 1) % 12 + 1:02d}"


def tier_counts(values: list[int]) -> dict[str, Any]:
    """Customers per LTV tier: top 5 %, next 15 %, next 30 %, the rest."""
    if not values:
        return {"labels": [t for t, _ in TIERS], "counts": [0] * len(TIERS)}
    cuts = {name: float(np.quantile(values, q)) for name, q in TIERS}
    counts: Counter[str] = Counter()
    for value in values:
        counts[next(name for name, _ in TIERS if value >= cuts[name])] += 1
    return {"labels": [t for t, _ in TIERS], "counts": [counts[t] for t, _ in TIERS]}


def strategy_outcomes(store: LtvStore, tenant: str) -> dict[str, Any]:
    """Sent and skipped-by-reason counts per strategy, and feedback scores."""
    entries = (
        store.redis.xrevrange(TenantKeys(tenant).send_log, count=SENDLOG_READ) or []
    )
    counts: Counter[str] = Counter()
    scores: Counter[str] = Counter()
    for _, raw in entries:
        entry = {_s(k): _s(v) for k, v in (raw or {}).items()}
        outcome = entry.get("outcome", "?")
        reason = entry.get("reason", "")
        label = f"{entry.get('strategy', '?')}: {outcome}"
        counts[f"{label} ({reason})" if reason else label] += 1
        if entry.get("score"):
            scores[entry["score"]] += 1
    labels = sorted(counts)
    return {
        "labels": labels,
        "counts": [counts[label] for label in labels],
        "scores": {**dict(sorted(scores.items())), **feedback_ratings(store, tenant)},
    }


def feedback_ratings(store: LtvStore, tenant: str) -> dict[str, str]:
    """Count and mean per rating kind from the feedback strategy's totals hash."""
    raw = store.redis.hgetall(f"{TenantKeys(tenant).prefix}feedback:totals")
    totals = {_s(k): _s(v) for k, v in raw.items()}
    ratings = {}
    for name in sorted(totals):
        if not name.endswith("_count"):
            continue
        kind = name.removesuffix("_count")
        count = int(totals[name] or 0)
        if count > 0:
            mean = int(totals.get(f"{kind}_sum", "0")) / count
            ratings[kind] = f"{count} ratings, mean {mean:.2f}"
    return ratings


def _s(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def model_fit(purchases: list[tuple[str, int, int]]) -> dict[str, Any]:
    """Weekly repeat purchases, actual and BG/NBD-predicted, as in the paper's fig.

    The model is fitted on the first half of the span (calibration); the
    prediction for every week, holdout included, sums E[X(t)] (eq. 7) over
    customers by the time since their first purchase.
    """
    if len(purchases) < 2:
        return {"error": "not enough purchases to fit the model"}
    days_by_user: dict[str, list[int]] = defaultdict(list)
    for user, at_s, _ in purchases:
        days_by_user[user].append(at_s // 86_400)
    start = min(d for days in days_by_user.values() for d in days)
    end = max(d for days in days_by_user.values() for d in days)
    calibration_end = start + (end - start) // 2
    try:
        params = _fit_calibration(days_by_user, calibration_end)
    except (ModelFitError, ValueError) as exc:
        return {"error": f"the model could not be fitted: {exc}"}
    return _weekly_fit(days_by_user, params, start, end, calibration_end)


def _fit_calibration(days_by_user: dict[str, list[int]], calibration_end: int):  # type: ignore[no-untyped-def]
    cohort = [
        np.array(sorted(set(days)), dtype="datetime64[D]")
        for days in days_by_user.values()
        if min(days) <= calibration_end
    ]
    summary = summarise_purchases(cohort, np.datetime64(calibration_end, "D"), 7.0)
    return fit_bgnbd(summary.x, summary.t_x, summary.T)


def _weekly_fit(days_by_user, params, start, end, calibration_end) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    weeks = (end - start) // 7 + 1
    actual = np.zeros(weeks)
    firsts = []
    for days in days_by_user.values():
        unique = sorted(set(days))
        firsts.append(unique[0])
        for day in unique[1:]:
            actual[(day - start) // 7] += 1
    firsts_arr = np.array(firsts, dtype=np.float64)
    cumulative = []
    for week in range(weeks + 1):
        t = np.maximum((start + 7 * week - firsts_arr) / 7.0, 0.0)
        cumulative.append(float(predict_new_customer_purchases(params, t).sum()))
    predicted = np.diff(cumulative)
    return {
        "labels": [f"w{w + 1}" for w in range(weeks)],
        "actual": [float(a) for a in actual],
        "predicted": [round(float(p), 3) for p in predicted],
        "holdout_from": int((calibration_end - start) // 7),
        "params": {k: round(v, 4) for k, v in params.as_dict().items()},
    }


def gather(store: LtvStore, tenant: str, config: WorkspaceConfig) -> dict[str, Any]:
    purchases = purchase_records(store, tenant)
    values = ltv_values(store, tenant, config)
    return {
        "tenant": tenant,
        "generated": datetime.fromtimestamp(store.clock.now_s(), UTC).isoformat(),
        "customers": len(values),
        "currency": config.base_currency,
        "ltv": ltv_histogram(values),
        "monthly": monthly_series(purchases),
        "cohorts": cohort_retention(purchases),
        "tiers": tier_counts(values),
        "strategies": strategy_outcomes(store, tenant),
        "model": model_fit(purchases),
    }


def render_html(data: dict[str, Any]) -> str:
    # "</" inside the JSON would close the script element; escape it.
    payload = json.dumps(data).replace("</", "<\\/")
    return PAGE.replace("__DATA__", payload).replace(
        "__TENANT__", _escape(str(data["tenant"]))
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_report(
    store: LtvStore, tenant: str, config: WorkspaceConfig, out_dir: Path
) -> Path:
    """Write report.html into out_dir; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(render_html(gather(store, tenant, config)), encoding="utf-8")
    logger.info("report written tenant=%s path=%s", tenant, path)
    return path


PAGE = (Path(__file__).with_name("report_page.html")).read_text(encoding="utf-8")
