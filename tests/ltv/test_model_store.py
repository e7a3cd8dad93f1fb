"""The model store: fits from Redis, stores per tenant and predicts one customer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from fractions import Fraction

import numpy as np
import pytest
import redis

from bot.demo import read_cdnow
from ltv.clock import FixedClock
from ltv.errors import ModelFitError
from ltv.events import Purchase
from ltv.formula import LtvPolicy
from ltv.importer import cdnow_user
from ltv.keys import TenantKeys
from ltv.model_store import (
    NO_MODEL,
    NOT_ENOUGH_HISTORY,
    CustomerHistory,
    ModelStore,
    fit_histories,
)
from ltv.money import Money
from ltv.predictive import BgNbdParams, predict_purchases
from ltv.store import LtvStore
from tests.conftest import delete_tenant_keys

POLICY = LtvPolicy(period="month", lifespan_periods=Fraction(36))
DAY_S = 86_400
CDNOW_CALIBRATION_END = datetime(1997, 9, 30, 12, tzinfo=UTC)
# Fader, Hardie and Lee (2005) on the same 2,357 customers.
PUBLISHED = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)


def record_purchase(store, tenant, user, day_s, minor, ref):
    store.record(
        Purchase(
            tenant=tenant,
            user=user,
            at_ms=day_s * 1000,
            event_id=f"ev-{ref}",
            source_ref=ref,
            amount=Money(minor, "USD"),
            base_amount_minor=minor,
        ),
        POLICY,
    )


def load_cdnow(store, tenant):
    for index, row in enumerate(read_cdnow()):
        day = datetime.strptime(row.day, "%Y%m%d").replace(tzinfo=UTC)
        at_s = int(day.timestamp()) + 12 * 3600
        user = cdnow_user(row.customer)
        record_purchase(store, tenant, user, at_s, row.amount_minor, f"cd{index}")


@pytest.fixture
def models(redis_client, clock):
    return ModelStore(redis_client, clock=clock)


@pytest.fixture(scope="module")
def cdnow_tenant(redis_url):
    """The CDNOW sample recorded once through the store into a tenant of its own."""
    client = redis.Redis.from_url(redis_url)
    tenant = "T" + uuid.uuid4().hex[:10].upper()
    load_cdnow(LtvStore(client, clock=FixedClock(CDNOW_CALIBRATION_END)), tenant)
    yield tenant
    delete_tenant_keys(client, tenant)
    client.close()


@pytest.fixture
def cdnow_models(redis_client, cdnow_tenant):
    return ModelStore(redis_client, clock=FixedClock(CDNOW_CALIBRATION_END))


def test_a_fit_from_redis_reproduces_the_published_cdnow_estimates(
    cdnow_models, cdnow_tenant
):
    models, tenant = cdnow_models, cdnow_tenant

    model = models.fit(tenant)

    assert model.customers == 2357
    stored = models.load(tenant)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(stored.purchases, name) == pytest.approx(
            getattr(PUBLISHED, name), abs=1e-3
        )
    assert stored.fitted_at_s == int(CDNOW_CALIBRATION_END.timestamp())
    # Published in dollars (p 6.25, q 3.74, gamma 15.44); the store fits cents.
    assert stored.spend.p == pytest.approx(6.25, abs=0.01)
    assert stored.spend.q == pytest.approx(3.74, abs=0.01)
    assert stored.spend.gamma / 100 == pytest.approx(15.44, abs=0.01)


def test_a_prediction_for_one_customer_matches_eq_10_and_is_bounded(
    cdnow_models, cdnow_tenant
):
    models, tenant = cdnow_models, cdnow_tenant
    model = models.fit(tenant)

    prediction = models.predict(tenant, cdnow_user("4"), horizon_days=273)

    history = models.history(tenant, cdnow_user("4"))
    end = int(CDNOW_CALIBRATION_END.timestamp()) // DAY_S
    days = sorted({day for day in history.days if day <= end})
    x, t_x, T = len(days) - 1, (days[-1] - days[0]) / 7, (end - days[0]) / 7
    expected = predict_purchases(model.purchases, 273 / 7, x, t_x, T)
    assert prediction.is_available
    assert prediction.expected_purchases == pytest.approx(float(expected), rel=1e-9)
    assert 0 < prediction.probability_active <= 1
    assert 0 < prediction.discounted_clv_minor < prediction.expected_spend_minor


def test_too_little_history_gives_the_reason_and_no_numbers(
    store, models, tenant, clock
):
    record_purchase(store, tenant, "U0ONE0001", clock.now_s() - 9 * DAY_S, 500, "a")
    record_purchase(store, tenant, "U0ONE0001", clock.now_s() - 2 * DAY_S, 500, "b")

    with pytest.raises(ModelFitError):
        models.fit(tenant)
    prediction = models.predict(tenant, "U0ONE0001")

    assert prediction.reason == NOT_ENOUGH_HISTORY
    assert NOT_ENOUGH_HISTORY == "not enough history to fit the model"
    assert prediction.expected_purchases is None


def test_a_tenant_never_fitted_says_so(models, tenant):
    assert models.predict(tenant, "U0ONE0001").reason == NO_MODEL


def test_a_failed_refit_keeps_the_previous_good_model(store, models, tenant, clock):
    for user in ("U0A0001", "U0B0001"):
        record_purchase(store, tenant, user, clock.now_s() - DAY_S, 100, user)
    good = {"status": "ok", "fitted_at_s": "1", "customers": "30"}
    good |= {k: str(v) for k, v in PUBLISHED.as_dict().items()}
    models.redis.hset(TenantKeys(tenant).model, mapping=good)

    with pytest.raises(ModelFitError):
        models.fit(tenant)

    assert models.load(tenant).purchases == PUBLISHED
    assert models.predict(tenant, "U0A0001").is_available


def simulate_histories(params: BgNbdParams, customers: int, seed: int):
    """Purchase days drawn from the BG/NBD story, on whole days, weeks as unit."""
    rng = np.random.default_rng(seed)
    histories = []
    end_day = 3 * 365
    for index in range(customers):
        rate_per_week = rng.gamma(params.r, 1 / params.alpha)
        dropout = rng.beta(params.a, params.b)
        day = float(rng.integers(0, 180))
        days = [int(day)]
        while True:
            day += rng.exponential(7 / rate_per_week)
            if day > end_day:
                break
            days.append(int(day))
            if rng.random() < dropout:
                break
        histories.append(CustomerHistory(f"U{index:08d}", days, [1000] * len(days)))
    return histories, end_day


def test_auto_lifespan_recovers_the_known_answer_from_simulated_customers():
    truth = BgNbdParams(r=2.0, alpha=8.0, a=2.0, b=6.0)
    # A customer with the mean rate 1/4 a week and mean dropout 1/4 stays for
    # 4 repeat purchases of 4 weeks each on average: 16 weeks, 112 days.
    known_days = 7 * truth.alpha * (truth.a + truth.b) / (truth.r * truth.a)
    histories, end_day = simulate_histories(truth, 4000, seed=20240601)

    model = fit_histories(histories, now_s=end_day * DAY_S)

    assert known_days == 112
    assert model.lifespan_days == pytest.approx(known_days, rel=0.1)
