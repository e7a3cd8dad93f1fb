"""Fitted predictive models per tenant: fit from Redis, store, and predict one customer.

A tenant's purchase history is read from the per-customer purchase sorted sets
and the purchase records (net of order-linked refunds, in base-currency minor
units), summarised at daily granularity with weeks as the model's time unit, as
in Fader, Hardie and Lee (2005), and fitted with `ltv.predictive`. The fitted
parameters and when they were fitted live in the tenant's ``model`` hash.

Every number this module returns is a statistical estimate, not money: spends
are floats in base-currency minor units, rounded only for display.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import redis

from ltv.clock import Clock
from ltv.errors import ModelFitError
from ltv.keys import TenantKeys, check_user
from ltv.predictive import (
    BgNbdParams,
    GammaGammaParams,
    compute_discounted_clv,
    compute_probability_alive,
    fit_bgnbd,
    fit_gamma_gamma,
    predict_average_spend,
    predict_purchases,
    summarise_purchases,
)

logger = logging.getLogger(__name__)

DAY_MS = 86_400_000
WEEK_DAYS = 7.0
MONTH_DAYS = 365.25 / 12
READ_BATCH = 500
DEFAULT_HORIZON_DAYS = 365
DEFAULT_ANNUAL_DISCOUNT = Fraction(10, 100)
NOT_ENOUGH_HISTORY = "not enough history to fit the model"
NO_MODEL = "the model has not been fitted yet"
NO_PURCHASES = "the customer has no purchases yet"


@dataclass(frozen=True, slots=True)
class CustomerHistory:
    """One customer's purchases: the day numbers and net amounts in minor units."""

    user: str
    days: list[int]
    amounts_minor: list[int]


@dataclass(frozen=True, slots=True)
class FittedModel:
    """What the tenant's ``model`` hash holds after a successful fit."""

    purchases: BgNbdParams
    spend: GammaGammaParams | None
    fitted_at_s: int
    customers: int
    spend_error: str | None = None

    @property
    def lifespan_days(self) -> float:
        """Expected lifetime of a customer with the mean rate and mean dropout.

        In BG/NBD a customer drops out after each repeat purchase with
        probability p, so with purchase rate lambda the expected lifetime after
        the first purchase is 1 / (lambda p). The population mean of that is
        infinite whenever r <= 1 or a <= 1 (CDNOW has both), so the estimate
        uses the mean rate r / alpha and the mean dropout a / (a + b):
        alpha (a + b) / (r a) weeks.
        """
        params = self.purchases
        weeks = params.alpha * (params.a + params.b) / (params.r * params.a)
        return weeks * WEEK_DAYS


@dataclass(frozen=True, slots=True)
class CustomerPrediction:
    """The model's estimate for one customer over a horizon, or the reason why not."""

    reason: str | None
    horizon_days: int = DEFAULT_HORIZON_DAYS
    expected_purchases: float | None = None
    probability_active: float | None = None
    expected_spend_minor: float | None = None
    discounted_clv_minor: float | None = None
    fitted_at_s: int | None = None

    @property
    def is_available(self) -> bool:
        return self.reason is None


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _net_amount(record: str) -> int:
    """Amount minus order-linked refunds of a stored purchase record."""
    parts = record.split("|")
    return max(int(parts[2]) - int(parts[6]), 0)


class ModelStore:
    """Fits, stores and reads the predictive models of each tenant."""

    def __init__(self, client: redis.Redis, *, clock: Clock) -> None:
        self.redis = client
        self.clock = clock

    def histories(self, tenant: str) -> Iterator[CustomerHistory]:
        """Every customer with at least one purchase, read in batches."""
        keys = TenantKeys(tenant)
        start = 0
        while True:
            users = [
                _text(u)
                for u in self.redis.zrange(
                    keys.index("first_seen"), start, start + READ_BATCH - 1
                )
            ]
            if not users:
                return
            yield from self._read_batch(keys, users)
            start += READ_BATCH

    def history(self, tenant: str, user: str) -> CustomerHistory | None:
        found = list(self._read_batch(TenantKeys(tenant), [check_user(user)]))
        return found[0] if found else None

    def _read_batch(
        self, keys: TenantKeys, users: list[str]
    ) -> Iterator[CustomerHistory]:
        pipe = self.redis.pipeline(transaction=False)
        for user in users:
            pipe.zrange(keys.customer_purchases(user), 0, -1, withscores=True)
        per_user = pipe.execute()
        refs = [_text(ref) for entries in per_user for ref, _ in entries]
        records = self.redis.hmget(keys.purchases, refs) if refs else []
        position = 0
        for user, entries in zip(users, per_user, strict=True):
            if not entries:
                continue
            chunk = records[position : position + len(entries)]
            position += len(entries)
            yield CustomerHistory(
                user=user,
                days=[int(at_ms) // DAY_MS for _, at_ms in entries],
                amounts_minor=[_net_amount(_text(r)) if r else 0 for r in chunk],
            )

    def fit(self, tenant: str) -> FittedModel:
        """Fit both models to the tenant's history and store them; ModelFitError
        (stored as the tenant's model status) when there is too little data."""
        now_s = self.clock.now_s()
        histories = list(self.histories(tenant))
        try:
            model = fit_histories(histories, now_s)
        except ModelFitError as exc:
            self._store_failure(tenant, now_s, len(histories), str(exc))
            raise
        self._store(tenant, model)
        logger.info(
            "model fitted tenant=%s customers=%s spend=%s",
            tenant,
            model.customers,
            model.spend is not None,
        )
        return model

    def _store(self, tenant: str, model: FittedModel) -> None:
        mapping: dict[Any, Any] = {
            "status": "ok",
            "fitted_at_s": str(model.fitted_at_s),
            "customers": str(model.customers),
            "time_unit_days": str(WEEK_DAYS),
            "lifespan_days": repr(model.lifespan_days),
            **{k: repr(v) for k, v in model.purchases.as_dict().items()},
        }
        if model.spend is not None:
            mapping.update({k: repr(v) for k, v in model.spend.as_dict().items()})
        if model.spend_error:
            mapping["spend_error"] = model.spend_error
        key = TenantKeys(tenant).model
        pipe = self.redis.pipeline(transaction=True)
        pipe.delete(key)
        pipe.hset(key, mapping=mapping)
        pipe.execute()

    def _store_failure(
        self, tenant: str, now_s: int, customers: int, error: str
    ) -> None:
        """Keep a previous good fit; record the failure beside it."""
        key = TenantKeys(tenant).model
        self.redis.hset(
            key,
            mapping={
                "last_error": error,
                "last_error_at_s": str(now_s),
                "last_error_customers": str(customers),
            },
        )
        logger.warning("model fit failed tenant=%s customers=%s", tenant, customers)

    def load(self, tenant: str) -> FittedModel | None:
        raw = {
            _text(k): _text(v)
            for k, v in self.redis.hgetall(TenantKeys(tenant).model).items()
        }
        if raw.get("status") != "ok":
            return None
        spend = None
        if "p" in raw:
            spend = GammaGammaParams.from_dict(raw)
        return FittedModel(
            purchases=BgNbdParams.from_dict(raw),
            spend=spend,
            fitted_at_s=int(raw["fitted_at_s"]),
            customers=int(raw["customers"]),
            spend_error=raw.get("spend_error"),
        )

    def status_reason(self, tenant: str) -> str:
        """Why there is no model: never fitted, or too little history."""
        error = self.redis.hget(TenantKeys(tenant).model, "last_error")
        return NOT_ENOUGH_HISTORY if error is not None else NO_MODEL

    def lifespan_days(self, tenant: str) -> float | None:
        raw = self.redis.hget(TenantKeys(tenant).model, "lifespan_days")
        return None if raw is None else float(raw)

    def predict(
        self,
        tenant: str,
        user: str,
        *,
        horizon_days: int = DEFAULT_HORIZON_DAYS,
        annual_discount: Fraction = DEFAULT_ANNUAL_DISCOUNT,
    ) -> CustomerPrediction:
        """The model estimate for one customer, or a reason when there is none."""
        model = self.load(tenant)
        if model is None:
            return CustomerPrediction(reason=self.status_reason(tenant))
        history = self.history(tenant, user)
        if history is None or min(history.days) > self.clock.now_s() // 86_400:
            return CustomerPrediction(
                reason=NO_PURCHASES, fitted_at_s=model.fitted_at_s
            )
        return predict_customer(
            model,
            history,
            now_s=self.clock.now_s(),
            horizon_days=horizon_days,
            annual_discount=annual_discount,
        )


def summarise(histories: list[CustomerHistory], now_s: int):  # type: ignore[no-untyped-def]
    """(x, t_x, T) in weeks and zbar in minor units, as of today."""
    today = np.datetime64(now_s // 86_400, "D")
    return summarise_purchases(
        [np.array(h.days, dtype="datetime64[D]") for h in histories],
        today,
        WEEK_DAYS,
        [np.array(h.amounts_minor, dtype=np.int64) for h in histories],
    )


def fit_histories(histories: list[CustomerHistory], now_s: int) -> FittedModel:
    """BG/NBD must fit; Gamma-Gamma may fail alone and is then left out."""
    today = now_s // 86_400
    histories = [h for h in histories if min(h.days) <= today]
    if not histories:
        raise ModelFitError("BG/NBD needs customers with purchases to fit, got none")
    summary = summarise(histories, now_s)
    purchases = fit_bgnbd(summary.x, summary.t_x, summary.T)
    spend, spend_error = None, None
    try:
        spend = fit_gamma_gamma(summary.x, summary.zbar)
    except ModelFitError as exc:
        spend_error = str(exc)
    return FittedModel(
        purchases=purchases,
        spend=spend,
        fitted_at_s=now_s,
        customers=len(histories),
        spend_error=spend_error,
    )


def predict_customer(
    model: FittedModel,
    history: CustomerHistory,
    *,
    now_s: int,
    horizon_days: int,
    annual_discount: Fraction,
) -> CustomerPrediction:
    """Eq. (10) purchases, P(alive), Gamma-Gamma spend and a discounted CLV."""
    if horizon_days < 1:
        raise ValueError(f"horizon must be at least one day, got {horizon_days}")
    summary = summarise([history], now_s)
    x, t_x, T = summary.x, summary.t_x, summary.T
    horizon = horizon_days / WEEK_DAYS
    expected = float(predict_purchases(model.purchases, horizon, x, t_x, T)[0])
    alive = float(compute_probability_alive(model.purchases, x, t_x, T)[0])
    base = CustomerPrediction(
        reason=None,
        horizon_days=horizon_days,
        expected_purchases=expected,
        probability_active=alive,
        fitted_at_s=model.fitted_at_s,
    )
    if model.spend is None or model.spend.q <= 1:
        return base
    return _with_spend(base, model, summary, annual_discount)


def _with_spend(
    base: CustomerPrediction,
    model: FittedModel,
    summary,  # type: ignore[no-untyped-def]
    annual_discount: Fraction,
) -> CustomerPrediction:
    assert model.spend is not None
    x, zbar = summary.x, summary.zbar
    spend = float(predict_average_spend(model.spend, x, zbar)[0])
    steps = max(math.ceil(base.horizon_days / MONTH_DAYS), 1)
    monthly_rate = float((1 + annual_discount) ** (1 / 12)) - 1
    clv = compute_discounted_clv(
        model.purchases,
        model.spend,
        x,
        summary.t_x,
        summary.T,
        zbar,
        steps=steps,
        step_periods=base.horizon_days / steps / WEEK_DAYS,
        discount_rate_per_step=monthly_rate,
    )
    return CustomerPrediction(
        reason=None,
        horizon_days=base.horizon_days,
        expected_purchases=base.expected_purchases,
        probability_active=base.probability_active,
        expected_spend_minor=spend * (base.expected_purchases or 0.0),
        discounted_clv_minor=float(clv[0]),
        fitted_at_s=base.fitted_at_s,
    )
