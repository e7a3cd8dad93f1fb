"""Tests of the BG/NBD and Gamma-Gamma models against published CDNOW figures."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import approx_fprime
from scipy.special import betaln, gammaln

from ltv import predictive
from ltv.errors import ModelFitError
from ltv.predictive import (
    BgNbdParams,
    GammaGammaParams,
    compute_bgnbd_log_likelihood,
    compute_discounted_clv,
    compute_probability_alive,
    fit_bgnbd,
    fit_gamma_gamma,
    predict_average_spend,
    predict_new_customer_purchases,
    predict_purchases,
    simulate_bgnbd_histories,
    simulate_gamma_gamma_spend,
    summarise_purchases,
)

DATA = Path(__file__).parent.parent / "data"
CDNOW_SAMPLE = Path(predictive.__file__).parent / "data" / "CDNOW_sample.txt"
CALIBRATION_END = np.datetime64("1997-09-30")

# Fader, Hardie and Lee (2005), BG/NBD paper, on the 2,357-customer sample.
PUBLISHED_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
PUBLISHED_BGNBD_LOG_LIKELIHOOD = -9582.4
# Fader and Hardie, "The Gamma-Gamma Model of Monetary Value", same sample.
PUBLISHED_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def load_summary() -> np.ndarray:
    return np.loadtxt(DATA / "cdnow_calibration_summary.csv", delimiter=",", skiprows=1)


def load_monetary_summary() -> np.ndarray:
    return np.loadtxt(
        DATA / "cdnow_calibration_summary_monetary.csv", delimiter=",", skiprows=1
    )


def load_cdnow_purchases() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Purchase days and amounts in cents per customer, in sample-id order."""
    raw = np.loadtxt(CDNOW_SAMPLE, dtype=str)
    customer = raw[:, 1].astype(int)
    day = np.array(
        [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]"
    )
    cents = np.round(raw[:, 4].astype(float) * 100).astype(np.int64)

    order = np.argsort(customer, kind="stable")
    _, starts = np.unique(customer[order], return_index=True)
    days = np.split(day[order], starts[1:])
    amounts = np.split(cents[order], starts[1:])
    return days, amounts


def integrate_over_population(
    params: BgNbdParams, x: int, t_x: float, T: float, t: float
) -> tuple[float, float, float]:
    """Likelihood, P(alive) and E[Y(t)] by brute-force integration over (rate, p).

    An independent route to eq. (6), P(alive) and eq. (10): the individual
    likelihood, P(alive | rate, p) and E[Y(t) | rate, p, alive] = (1 - e^{-rate p
    t}) / p are integrated against the Gamma and Beta priors with the trapezoid
    rule on log-rate and logit-p, which is exponentially accurate for smooth,
    fast-decaying integrands.
    """
    step = 0.05
    log_rate = np.arange(-150.0, 8.0, step)[:, None]
    logit_p = np.arange(-60.0, 40.0, step)[None, :]
    rate = np.exp(log_rate)
    log_p = -np.logaddexp(0.0, -logit_p)
    log_q = -np.logaddexp(0.0, logit_p)

    log_prior = (
        params.r * (np.log(params.alpha) + log_rate)
        - params.alpha * rate
        - gammaln(params.r)
        + params.a * log_p
        + params.b * log_q
        - betaln(params.a, params.b)
    )
    alive = np.exp(log_prior + x * (log_q + log_rate) - rate * T)
    died = np.zeros_like(alive)
    if x > 0:
        died = np.exp(log_prior + log_p + (x - 1) * log_q + x * log_rate - rate * t_x)

    p = np.exp(log_p)
    evidence = (alive + died).sum()
    future = (alive * -np.expm1(-rate * p * t) / p).sum()
    return evidence * step**2, alive.sum() / evidence, future / evidence


# Published CDNOW figures.


def test_fit_bgnbd_reproduces_published_cdnow_estimates() -> None:
    summary = load_summary()

    fitted = fit_bgnbd(summary[:, 1], summary[:, 2], summary[:, 3])

    # Published to three decimals: allow one unit in the last place.
    assert fitted.r == pytest.approx(PUBLISHED_BGNBD.r, abs=1e-3)
    assert fitted.alpha == pytest.approx(PUBLISHED_BGNBD.alpha, abs=1e-3)
    assert fitted.a == pytest.approx(PUBLISHED_BGNBD.a, abs=1e-3)
    assert fitted.b == pytest.approx(PUBLISHED_BGNBD.b, abs=1e-3)


def test_bgnbd_log_likelihood_at_the_fit_matches_published_value() -> None:
    summary = load_summary()
    fitted = fit_bgnbd(summary[:, 1], summary[:, 2], summary[:, 3])

    log_likelihood = compute_bgnbd_log_likelihood(
        fitted, summary[:, 1], summary[:, 2], summary[:, 3]
    )

    # Published to one decimal.
    assert log_likelihood == pytest.approx(PUBLISHED_BGNBD_LOG_LIKELIHOOD, abs=0.05)


def test_fit_gamma_gamma_reproduces_published_cdnow_estimates() -> None:
    summary = load_monetary_summary()

    fitted = fit_gamma_gamma(summary[:, 1], summary[:, 4])

    # Published to two decimals: allow one unit in the last place.
    assert fitted.p == pytest.approx(PUBLISHED_GAMMA_GAMMA.p, abs=0.01)
    assert fitted.q == pytest.approx(PUBLISHED_GAMMA_GAMMA.q, abs=0.01)
    assert fitted.gamma == pytest.approx(PUBLISHED_GAMMA_GAMMA.gamma, abs=0.01)


def test_conditional_expectation_matches_fader_hardie_spreadsheet() -> None:
    # Customer 1 of the sample; Fader and Hardie's BG/NBD spreadsheet gives
    # 1.226 purchases in the 39 weeks after calibration.
    expected = predict_purchases(PUBLISHED_BGNBD, 39.0, 2, 30.43, 38.86)

    assert expected == pytest.approx(1.226, abs=5e-4)


def test_summarise_purchases_rebuilds_the_cdnow_calibration_summary() -> None:
    days, cents = load_cdnow_purchases()
    published = load_monetary_summary()

    summary = summarise_purchases(days, CALIBRATION_END, 7.0, cents)

    assert summary.zbar is not None
    np.testing.assert_array_equal(summary.x, published[:, 1])
    # The CSV rounds weeks and dollars to two decimals.
    np.testing.assert_allclose(summary.t_x, published[:, 2], atol=0.01)
    np.testing.assert_allclose(summary.T, published[:, 3], atol=0.01)
    np.testing.assert_allclose(summary.zbar / 100, published[:, 4], atol=0.01)
    assert summary.t_x.sum() == pytest.approx(published[:, 2].sum(), abs=0.01 * 2357)
    assert summary.T.sum() == pytest.approx(published[:, 3].sum(), abs=0.01 * 2357)


# Summaries.


def test_summarise_purchases_counts_a_day_once_and_sums_its_value() -> None:
    days = [np.array(["2024-01-01", "2024-01-08", "2024-01-08", "2024-01-22"])]
    cents = [np.array([500, 1_000, 400, 2_000])]

    summary = summarise_purchases(days, np.datetime64("2024-01-29"), 7.0, cents)

    assert summary.x.tolist() == [2]
    assert summary.t_x.tolist() == [3.0]
    assert summary.T.tolist() == [4.0]
    assert summary.zbar is not None
    assert summary.zbar.tolist() == [1_700.0]


def test_summarise_purchases_ignores_purchases_after_calibration_end() -> None:
    days = [["2024-01-01", "2024-01-03", "2024-02-01"], ["2024-01-05"]]
    cents = [[100, 300, 900], [250]]

    summary = summarise_purchases(days, "2024-01-15", 1.0, cents)

    assert summary.x.tolist() == [1, 0]
    assert summary.t_x.tolist() == [2.0, 0.0]
    assert summary.T.tolist() == [14.0, 10.0]
    assert summary.zbar is not None
    assert summary.zbar.tolist() == [300.0, 0.0]


def test_summarise_purchases_rejects_customer_acquired_after_calibration() -> None:
    days = [np.array(["2024-01-01"]), np.array(["2024-03-01"])]

    with pytest.raises(ValueError) as raised:
        summarise_purchases(days, "2024-01-31", 7.0)

    assert str(raised.value) == (
        "customer 1 has no purchase on or before the calibration end "
        "(1 such customers); summarise only customers acquired by then"
    )


def test_summarise_purchases_rejects_negative_amount() -> None:
    with pytest.raises(ValueError) as raised:
        summarise_purchases(
            [["2024-01-01", "2024-01-02"]], "2024-01-31", 7.0, [[5, -3]]
        )

    assert str(raised.value) == (
        "amount must be finite, >= 0; row 1 has amount=-3.0 (1 bad rows)"
    )


# Simulate and recover.


def test_fit_bgnbd_recovers_simulated_parameters() -> None:
    truth = BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5)
    rng = np.random.default_rng(20050401)
    T = rng.uniform(52.0, 104.0, size=100_000)
    x, t_x = simulate_bgnbd_histories(truth, T, rng)

    fitted = fit_bgnbd(x, t_x, T)

    # Over seeds, standard errors at this size are about 0.5% (r), 1% (alpha),
    # 2% (a) and 3% (b); 10% leaves more than three of them for each.
    for name, value in truth.as_dict().items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.10), name


def test_fit_gamma_gamma_recovers_simulated_parameters() -> None:
    truth = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)
    rng = np.random.default_rng(20130101)
    x = 1 + rng.poisson(3.0, size=100_000)
    zbar = simulate_gamma_gamma_spend(truth, x, rng)

    fitted = fit_gamma_gamma(x, zbar)

    # Over seeds, standard errors at this size are about 3% (p, gamma) and
    # 1% (q); 10% leaves more than three of them for each.
    for name, value in truth.as_dict().items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.10), name


def test_simulated_mean_purchases_match_eq_7() -> None:
    rng = np.random.default_rng(7)
    T = np.full(200_000, 39.0)

    x, _ = simulate_bgnbd_histories(PUBLISHED_BGNBD, T, rng)

    expected = predict_new_customer_purchases(PUBLISHED_BGNBD, 39.0)
    standard_error = x.std() / np.sqrt(x.size)
    assert abs(x.mean() - expected) < 4 * standard_error


def test_fit_bgnbd_with_counts_equals_fit_on_repeated_rows() -> None:
    summary = load_summary()
    x, t_x, T = summary[:, 1], summary[:, 2], summary[:, 3]
    counts = np.where(x > 2, 3.0, 1.0)

    weighted = fit_bgnbd(x, t_x, T, counts)
    repeated = fit_bgnbd(*(np.repeat(v, counts.astype(int)) for v in (x, t_x, T)))

    for name, value in repeated.as_dict().items():
        assert getattr(weighted, name) == pytest.approx(value, rel=1e-5), name


# Predictions, checked a second, independent way.


@pytest.mark.parametrize(
    ("params", "history", "t"),
    [
        (PUBLISHED_BGNBD, (2, 30.43, 38.86), 39.0),
        (PUBLISHED_BGNBD, (10, 20.0, 38.0), 52.0),
        (PUBLISHED_BGNBD, (0, 0.0, 10.0), 20.0),
        (BgNbdParams(r=0.3, alpha=2.0, a=0.3, b=0.5), (0, 0.0, 10.0), 20.0),
        (BgNbdParams(r=1.5, alpha=6.0, a=1.0, b=3.0), (4, 12.0, 30.0), 26.0),
    ],
)
def test_predictions_match_numerical_integration(
    params: BgNbdParams, history: tuple[int, float, float], t: float
) -> None:
    evidence, alive, future = integrate_over_population(params, *history, t)

    assert compute_bgnbd_log_likelihood(params, *history) == pytest.approx(
        np.log(evidence), abs=1e-7
    )
    assert compute_probability_alive(params, *history) == pytest.approx(alive, rel=1e-7)
    assert predict_purchases(params, t, *history) == pytest.approx(future, rel=1e-7)


@pytest.mark.parametrize(
    "params",
    [
        PUBLISHED_BGNBD,
        BgNbdParams(r=0.3, alpha=2.0, a=0.3, b=0.5),
        BgNbdParams(r=0.3, alpha=2.0, a=0.4, b=0.6),
        BgNbdParams(r=1.5, alpha=6.0, a=1.0, b=3.0),
    ],
)
def test_new_customer_expectation_matches_numerical_integration(
    params: BgNbdParams,
) -> None:
    _, _, future = integrate_over_population(params, 0, 0.0, 0.0, 26.0)

    assert predict_new_customer_purchases(params, 26.0) == pytest.approx(
        future, rel=1e-7
    )


def test_conditional_expectation_survives_whole_number_r_minus_a() -> None:
    # scipy's hyp2f1 returns inf here (r - a whole, x large, z > 0.9); the
    # value must match that at a neighbouring r, where scipy copes.
    whole = BgNbdParams(r=1.0, alpha=1.0, a=2.0, b=1.0)
    nudged = BgNbdParams(r=1.0 + 1e-9, alpha=1.0, a=2.0, b=1.0)

    expected = predict_purchases(whole, [13.0, 260.0], 150, 9.5, 10.0)

    reference = predict_purchases(nudged, [13.0, 260.0], 150, 9.5, 10.0)
    np.testing.assert_allclose(expected, reference, rtol=1e-7)


def test_probability_alive_is_one_without_repeat_purchases() -> None:
    alive = compute_probability_alive(PUBLISHED_BGNBD, [0, 0], [0.0, 0.0], [1.0, 50.0])

    assert alive.tolist() == [1.0, 1.0]


histories = st.tuples(
    st.integers(min_value=0, max_value=500),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=1_000.0),
).map(lambda h: (h[0], h[1] * h[2] if h[0] > 0 else 0.0, h[2]))

bgnbd_params = st.builds(
    BgNbdParams,
    r=st.floats(min_value=0.01, max_value=20.0),
    alpha=st.floats(min_value=0.01, max_value=500.0),
    a=st.floats(min_value=0.01, max_value=20.0),
    b=st.floats(min_value=0.01, max_value=20.0),
)


@given(params=bgnbd_params, history=histories)
def test_probability_alive_lies_between_zero_and_one(
    params: BgNbdParams, history: tuple[int, float, float]
) -> None:
    alive = compute_probability_alive(params, *history)

    assert 0.0 <= alive <= 1.0


@given(params=bgnbd_params, history=histories)
def test_expected_purchases_grow_with_the_horizon(
    params: BgNbdParams, history: tuple[int, float, float]
) -> None:
    horizons = np.array([0.0, 1.0, 4.0, 13.0, 52.0, 260.0])

    expected = predict_purchases(params, horizons, *history)

    assert expected[0] == 0.0
    assert np.all(np.isfinite(expected))
    assert np.all(np.diff(expected) >= -1e-9 * np.abs(expected[1:]))


def test_bgnbd_gradient_matches_finite_differences() -> None:
    summary = load_summary()
    args = (summary[:, 1], summary[:, 2], summary[:, 3], np.ones(len(summary)))
    log_at = np.log([0.2, 4.0, 0.9, 2.0])

    _, gradient = predictive._bgnbd_objective(log_at, *args)

    numeric = approx_fprime(
        log_at, lambda v: predictive._bgnbd_objective(v, *args)[0], 1e-7
    )
    np.testing.assert_allclose(gradient, numeric, atol=1e-6)


def test_gamma_gamma_gradient_matches_finite_differences() -> None:
    summary = load_monetary_summary()
    repeat = summary[:, 1] > 0
    args = (summary[repeat, 1], summary[repeat, 4], np.ones(int(repeat.sum())))
    log_at = np.log([5.0, 4.0, 14.0])

    _, gradient = predictive._gamma_gamma_objective(log_at, *args)

    numeric = approx_fprime(
        log_at, lambda v: predictive._gamma_gamma_objective(v, *args)[0], 1e-7
    )
    np.testing.assert_allclose(gradient, numeric, atol=1e-6)


# Spend and CLV.


def test_average_spend_without_repeats_is_the_population_mean() -> None:
    params = PUBLISHED_GAMMA_GAMMA

    spend = predict_average_spend(params, [0, 1_000_000], [0.0, 42.0])

    assert spend[0] == pytest.approx(params.p * params.gamma / (params.q - 1))
    assert spend[1] == pytest.approx(42.0, rel=1e-5)


def test_discounted_clv_without_discount_is_spend_times_expected_purchases() -> None:
    history = ([2, 0], [30.43, 0.0], [38.86, 38.86], [22.35, 0.0])

    clv = compute_discounted_clv(
        PUBLISHED_BGNBD,
        PUBLISHED_GAMMA_GAMMA,
        *history,
        steps=12,
        step_periods=52.0 / 12,
        discount_rate_per_step=0.0,
    )

    purchases = predict_purchases(PUBLISHED_BGNBD, 52.0, *history[:3])
    spend = predict_average_spend(PUBLISHED_GAMMA_GAMMA, history[0], history[3])
    np.testing.assert_allclose(clv, purchases * spend, rtol=1e-12)


def test_discounted_clv_discounts_each_step_at_its_end() -> None:
    history = (3, 20.0, 38.0, 30.0)
    step = 365.25 / 12 / 7

    clv = compute_discounted_clv(
        PUBLISHED_BGNBD,
        PUBLISHED_GAMMA_GAMMA,
        *history,
        steps=2,
        step_periods=step,
        discount_rate_per_step=0.01,
    )

    first, both = predict_purchases(PUBLISHED_BGNBD, [step, 2 * step], *history[:3])
    spend = predict_average_spend(PUBLISHED_GAMMA_GAMMA, history[0], history[3])
    assert clv == pytest.approx(spend * (first / 1.01 + (both - first) / 1.01**2))


def test_discounted_clv_rejects_a_fractional_number_of_steps() -> None:
    with pytest.raises(ValueError) as raised:
        compute_discounted_clv(
            PUBLISHED_BGNBD,
            PUBLISHED_GAMMA_GAMMA,
            1,
            1.0,
            2.0,
            10.0,
            steps=2.5,  # type: ignore[arg-type]
            step_periods=4.0,
            discount_rate_per_step=0.01,
        )

    assert str(raised.value) == "steps must be a whole number >= 1, got 2.5"


# Parameters in storage.


def test_params_survive_a_round_trip_through_stored_strings() -> None:
    stored = {key: repr(value) for key, value in PUBLISHED_BGNBD.as_dict().items()}

    restored = BgNbdParams.from_dict(stored)

    assert restored == PUBLISHED_BGNBD
    assert all(type(v) is float for v in PUBLISHED_GAMMA_GAMMA.as_dict().values())
    assert GammaGammaParams.from_dict(PUBLISHED_GAMMA_GAMMA.as_dict()) == (
        PUBLISHED_GAMMA_GAMMA
    )


def test_params_from_dict_names_the_missing_key() -> None:
    with pytest.raises(ValueError) as raised:
        GammaGammaParams.from_dict({"p": 1.0, "q": 2.0})

    assert str(raised.value) == (
        "stored GammaGammaParams has no 'gamma'; "
        "expected keys ['p', 'q', 'gamma'], got ['p', 'q']"
    )


def test_params_refuse_a_non_positive_value() -> None:
    with pytest.raises(ValueError) as raised:
        BgNbdParams(r=0.2, alpha=-1.0, a=0.5, b=1.0)

    assert str(raised.value) == (
        "BgNbdParams.alpha must be a positive finite number, got -1.0"
    )


# Too little data and failed fits.


def test_fit_bgnbd_refuses_too_few_customers() -> None:
    with pytest.raises(ModelFitError) as raised:
        fit_bgnbd([1, 0, 2], [3.0, 0.0, 5.0], [10.0, 10.0, 10.0])

    assert str(raised.value) == "BG/NBD needs at least 20 customers to fit, got 3"


def test_fit_bgnbd_refuses_customers_without_repeat_purchases() -> None:
    with pytest.raises(ModelFitError) as raised:
        fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 10.0))

    assert str(raised.value) == (
        "BG/NBD cannot be fitted: none of the 50 customers has a repeat purchase"
    )


def test_fit_gamma_gamma_refuses_too_few_repeat_customers() -> None:
    with pytest.raises(ModelFitError) as raised:
        fit_gamma_gamma([0, 0, 3, 1], [0.0, 0.0, 12.5, 0.0])

    assert str(raised.value) == (
        "Gamma-Gamma needs at least 10 customers with a repeat purchase of "
        "positive value, got 1"
    )


def test_fit_bgnbd_reports_non_convergence() -> None:
    summary = load_summary()

    with pytest.raises(ModelFitError) as raised:
        fit_bgnbd(summary[:, 1], summary[:, 2], summary[:, 3], max_iterations=2)

    assert re.fullmatch(
        r"BG/NBD fit did not converge after 2 iterations \(limit 2\): "
        r"STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT; "
        r"it stopped at r=\S+, alpha=\S+, a=\S+, b=\S+",
        str(raised.value),
    )


def test_fit_gamma_gamma_reports_parameters_running_off_to_the_edge() -> None:
    # Every customer spends exactly the same: the spend shape p is unbounded.
    x = np.arange(1, 41)

    with pytest.raises(ModelFitError) as raised:
        fit_gamma_gamma(x, np.full(40, 25.0))

    assert re.fullmatch(
        r"Gamma-Gamma fit did not converge: it ran to p=\S+, q=\S+, gamma=\S+, "
        r"at the edge of the search range \[3e-07, 3e\+06\]; "
        r"the data do not pin the parameters down",
        str(raised.value),
    )


def test_fit_bgnbd_rejects_recency_beyond_age() -> None:
    with pytest.raises(ValueError) as raised:
        fit_bgnbd([1, 2], [5.0, 12.0], [10.0, 10.0])

    assert str(raised.value) == (
        "t_x must be in [0, T]; row 1 has t_x=12.0 (1 bad rows)"
    )
