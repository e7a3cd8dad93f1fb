"""Predictive customer-base models: BG/NBD purchases, Gamma-Gamma spend and CLV.

Sources, cited by equation number below:

- [BG/NBD] Fader, Hardie and Lee (2005), "'Counting Your Customers' the Easy
  Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2),
  275-284. Likelihood eq. (6), E[X(t)] eq. (7), conditional expectation eq. (10).
- [P(alive)] Fader, Hardie and Lee (2008), "Computing P(alive) Using the BG/NBD
  Model", technical note.
- [Iso-value] Fader, Hardie and Lee (2005), "RFM and CLV: Using Iso-Value Curves
  for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430.
- [Gamma-Gamma] Fader and Hardie (2013), "The Gamma-Gamma Model of Monetary
  Value", technical note: likelihood of the mean spend and its conditional mean.

The paper symbols are kept inside this module: for each customer, x is the
number of repeat purchase days, t_x the time of the last purchase measured from
the first, T the time from the first purchase to the end of calibration, and
zbar the mean value of the repeat purchase days. Times are in one "period" of
the caller's choosing (weeks reproduce the papers); the scale parameter alpha is
in that same period. BG/NBD parameters are r, alpha (purchase rates are
Gamma(r, alpha)) and a, b (dropout probabilities are Beta(a, b)); Gamma-Gamma
parameters are p, q and gamma.

Amounts are floats here, never money: the spend model is a statistical estimate,
so integer minor units are converted to float only inside this module and
every spend it returns is an estimate in the unit the amounts came in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import OptimizeResult, minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from ltv.errors import ModelFitError

FloatArray = NDArray[np.float64]

MIN_CUSTOMERS = 20
"""Fewest customers (sum of weights) a BG/NBD fit accepts."""

MIN_REPEAT_CUSTOMERS = 10
"""Fewest customers with a repeat purchase that a Gamma-Gamma fit accepts."""

DEFAULT_MAX_ITERATIONS = 500

# Log-parameters are searched in [-15, 15], i.e. values in [3e-7, 3e6].
_LOG_BOUND = 15.0

# Distance from a removable singularity of eq. (7) and (10) at which the
# two sides are averaged instead; the error is of order _NEAR squared.
_NEAR = 1e-4

_MAX_SERIES_TERMS = 10_000


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters: purchase rates Gamma(r, alpha), dropout Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float

    def __post_init__(self) -> None:
        _check_parameters(self)

    def as_dict(self) -> dict[str, float]:
        """Return the parameters as plain floats keyed by name, ready to store."""
        return {field.name: float(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> BgNbdParams:
        """Rebuild parameters stored by `as_dict`; values may be numeric strings."""
        return cls(**_read_parameters(cls, data))


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters: spend shape p, and Gamma(q, gamma) scales."""

    p: float
    q: float
    gamma: float

    def __post_init__(self) -> None:
        _check_parameters(self)

    def as_dict(self) -> dict[str, float]:
        """Return the parameters as plain floats keyed by name, ready to store."""
        return {field.name: float(getattr(self, field.name)) for field in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GammaGammaParams:
        """Rebuild parameters stored by `as_dict`; values may be numeric strings."""
        return cls(**_read_parameters(cls, data))


@dataclass(frozen=True, eq=False)
class PurchaseSummary:
    """Per-customer (x, t_x, T) in periods, and zbar when amounts were given."""

    x: NDArray[np.int64]
    t_x: FloatArray
    T: FloatArray
    zbar: FloatArray | None


def _check_parameters(params: BgNbdParams | GammaGammaParams) -> None:
    for field in fields(params):
        value = getattr(params, field.name)
        if not (np.isfinite(value) and value > 0):
            raise ValueError(
                f"{type(params).__name__}.{field.name} must be a positive finite "
                f"number, got {value!r}"
            )


def _read_parameters(
    cls: type[BgNbdParams | GammaGammaParams], data: Mapping[str, object]
) -> dict[str, float]:
    values = {}
    for field in fields(cls):
        if field.name not in data:
            raise ValueError(
                f"stored {cls.__name__} has no {field.name!r}; "
                f"expected keys {[f.name for f in fields(cls)]}, got {sorted(data)}"
            )
        raw = data[field.name]
        try:
            values[field.name] = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"stored {cls.__name__}.{field.name} is {raw!r}, not a number"
            ) from error
    return values


# Purchase summaries.


def summarise_purchases(
    purchase_days_per_customer: Sequence[ArrayLike],
    calibration_end: np.datetime64 | dt.date | str,
    period_days: float,
    amounts_per_customer: Sequence[ArrayLike] | None = None,
) -> PurchaseSummary:
    """Build (x, t_x, T) and optionally zbar the way the papers do.

    Each customer's purchase dates (anything numpy reads as datetime64[D])
    are cut at `calibration_end`, the last calibration day, inclusive. Several
    purchases on one day count as one purchase day whose value is their sum.
    x is the number of purchase days after the first, t_x the days from the
    first to the last purchase day, T the days from the first purchase day to
    `calibration_end`, both divided by `period_days` (7 gives weeks). zbar is
    the mean value of the repeat purchase days, 0 when x is 0. Amounts may be
    integer minor units; zbar is a float in the same unit.
    """
    if not period_days > 0:
        raise ValueError(f"period_days must be positive, got {period_days!r}")
    end_day = int(np.asarray(calibration_end, dtype="datetime64[D]").astype(np.int64))
    owner, day, counts = _flatten_days(purchase_days_per_customer)
    amount = np.zeros(len(day))
    if amounts_per_customer is not None:
        amount = _flatten_amounts(amounts_per_customer, counts)

    in_calibration = day <= end_day
    owner, day, daily = _total_per_day(
        owner[in_calibration], day[in_calibration], amount[in_calibration]
    )
    n_days = _count_days(owner, len(purchase_days_per_customer))

    last = np.cumsum(n_days) - 1
    first = last - n_days + 1
    x = n_days - 1
    t_x = (day[last] - day[first]) / period_days
    T = (end_day - day[first]) / period_days
    zbar = None
    if amounts_per_customer is not None:
        repeat_total = np.add.reduceat(daily, first) - daily[first]
        zbar = np.where(x > 0, repeat_total / np.maximum(x, 1), 0.0)
    return PurchaseSummary(x=x, t_x=t_x, T=T, zbar=zbar)


def _flatten_days(
    days_per_customer: Sequence[ArrayLike],
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[int]]:
    """Concatenate all purchase days as day numbers, with each one's customer."""
    days = [
        np.atleast_1d(np.asarray(d, dtype="datetime64[D]")) for d in days_per_customer
    ]
    counts = [len(d) for d in days]
    owner = np.repeat(np.arange(len(days)), counts)
    day = np.concatenate(days or [np.array([], "datetime64[D]")])
    _require_rows("purchase day", day, ~np.isnat(day), "a date, not NaT")
    return owner, day.astype(np.int64), counts


def _flatten_amounts(
    amounts_per_customer: Sequence[ArrayLike], counts: list[int]
) -> FloatArray:
    """Concatenate all amounts as floats, checked against the days' layout."""
    if len(amounts_per_customer) != len(counts):
        raise ValueError(
            f"amounts_per_customer has {len(amounts_per_customer)} customers, "
            f"purchase_days_per_customer has {len(counts)}"
        )
    amounts = [
        np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in amounts_per_customer
    ]
    for customer, (a, n_days) in enumerate(zip(amounts, counts, strict=True)):
        if len(a) != n_days:
            raise ValueError(
                f"customer {customer} has {n_days} purchase days but {len(a)} amounts"
            )

    amount = np.concatenate(amounts or [np.array([])])
    _require_rows("amount", amount, (amount >= 0) & np.isfinite(amount), "finite, >= 0")
    return amount


def _total_per_day(
    owner: NDArray[np.int64], day: NDArray[np.int64], amount: FloatArray
) -> tuple[NDArray[np.int64], NDArray[np.int64], FloatArray]:
    order = np.lexsort((day, owner))
    owner, day, amount = owner[order], day[order], amount[order]
    if len(day) == 0:
        return owner, day, amount

    is_new_day = np.ones(len(day), dtype=bool)
    is_new_day[1:] = (owner[1:] != owner[:-1]) | (day[1:] != day[:-1])
    starts = np.flatnonzero(is_new_day)
    return owner[starts], day[starts], np.add.reduceat(amount, starts)


def _count_days(owner: NDArray[np.int64], n_customers: int) -> NDArray[np.int64]:
    n_days = np.bincount(owner, minlength=n_customers).astype(np.int64)
    missing = np.flatnonzero(n_days == 0)
    if missing.size:
        raise ValueError(
            f"customer {missing[0]} has no purchase on or before the calibration "
            f"end ({missing.size} such customers); summarise only customers "
            "acquired by then"
        )
    return n_days


# Input checks.


def _require_rows(
    name: str, values: FloatArray, ok: NDArray[np.bool_], expected: str
) -> None:
    bad = np.flatnonzero(~ok)
    if bad.size:
        row = bad.flat[0]
        raise ValueError(
            f"{name} must be {expected}; row {row} has {name}={values.flat[row]} "
            f"({bad.size} bad rows)"
        )


def _as_history(
    x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x_, t_x_, T_ = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    )
    _require_rows("x", x_, (x_ >= 0) & (x_ == np.floor(x_)), "a whole number >= 0")
    _require_rows("T", T_, (T_ >= 0) & np.isfinite(T_), "finite and >= 0")
    _require_rows("t_x", t_x_, (t_x_ >= 0) & (t_x_ <= T_), "in [0, T]")
    return x_, t_x_, T_


def _as_weights(weights: ArrayLike | None, shape: tuple[int, ...]) -> FloatArray:
    if weights is None:
        return np.ones(shape)
    values = np.broadcast_to(np.asarray(weights, dtype=np.float64), shape)
    _require_rows(
        "weights", values, (values >= 0) & np.isfinite(values), "finite, >= 0"
    )
    return values


def _collapse_rows(
    columns: FloatArray, weights: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Merge identical rows, summing their weights; the likelihood is unchanged."""
    unique, inverse = np.unique(columns, axis=0, return_inverse=True)
    counts = np.bincount(
        inverse.ravel(), weights=weights.ravel(), minlength=len(unique)
    ).astype(np.float64)
    keep = counts > 0
    return unique[keep], counts[keep]


# BG/NBD likelihood, eq. (6) of [BG/NBD].


def _bgnbd_log_terms(
    theta: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Split log L into a shared term and the still-alive and died-at-t_x terms.

    log L = common + log(exp(alive) + exp(died)); `died` is -inf when x is 0,
    because only a customer with a repeat purchase can have dropped out.
    """
    r, alpha, a, b = theta
    common = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x)
        - betaln(a, b)
    )
    alive = -(r + x) * np.log(alpha + T)
    x_at_least_one = np.maximum(x, 1.0)
    died = np.log(a) - np.log(b + x_at_least_one - 1) - (r + x) * np.log(alpha + t_x)
    return common, alive, np.where(x > 0, died, -np.inf)


def _bgnbd_objective(
    log_theta: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood and its gradient in log-parameters."""
    theta = np.exp(log_theta)
    common, alive, died = _bgnbd_log_terms(theta, x, t_x, T)
    both = np.logaddexp(alive, died)
    share_died = np.exp(died - both)

    total = w.sum()
    value = -float(w @ (common + both)) / total
    rows = _bgnbd_gradient_rows(theta, x, t_x, T, share_died)
    gradient = -np.array([w @ d for d in rows]) * theta / total
    return value, gradient


def _bgnbd_gradient_rows(
    theta: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    share_died: FloatArray,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-row derivatives of log L in (r, alpha, a, b).

    `share_died` is exp(died) / (exp(alive) + exp(died)), i.e. 1 - P(alive).
    """
    r, alpha, a, b = theta
    share_alive = 1.0 - share_died
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - share_alive * np.log(alpha + T)
        - share_died * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - (r + x) * (
        share_alive / (alpha + T) + share_died / (alpha + t_x)
    )
    shared_ab = digamma(a + b) - digamma(a + b + x)
    d_a = shared_ab + share_died / a
    d_b = shared_ab + digamma(b + x) - digamma(b)
    d_b = d_b - share_died / (b + np.maximum(x, 1.0) - 1)
    return d_r, d_alpha, d_a, d_b


def compute_bgnbd_log_likelihood(
    params: BgNbdParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """Total log-likelihood of eq. (6) of [BG/NBD], each row counted `weights` times."""
    x_, t_x_, T_ = _as_history(x, t_x, T)
    w = _as_weights(weights, x_.shape)
    theta = np.array([params.r, params.alpha, params.a, params.b])
    common, alive, died = _bgnbd_log_terms(theta, x_, t_x_, T_)
    return float(np.sum(w * (common + np.logaddexp(alive, died))))


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_customers: int = MIN_CUSTOMERS,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> BgNbdParams:
    """Fit BG/NBD by maximum likelihood, eq. (6) of [BG/NBD].

    Rows are customers, or groups of identical customers when `weights` gives
    their counts; identical rows are merged before fitting either way. Raises
    ModelFitError when there are fewer than `min_customers` customers, no
    repeat purchases, or the optimiser does not converge inside the search box.
    """
    x_, t_x_, T_ = (v.ravel() for v in _as_history(x, t_x, T))
    w = _as_weights(weights, x_.shape)
    _require_bgnbd_data(x_, w, min_customers)

    rows, counts = _collapse_rows(np.column_stack([x_, t_x_, T_]), w)
    rate = float(w @ x_) / max(float(w @ T_), np.finfo(float).tiny)
    start = np.array([1.0, 1.0 / rate, 1.0, 1.0])
    theta = _minimise(
        "BG/NBD",
        ("r", "alpha", "a", "b"),
        _bgnbd_objective,
        start,
        (*rows.T, counts),
        max_iterations,
    )
    return BgNbdParams(*(float(v) for v in theta))


def _require_bgnbd_data(x: FloatArray, w: FloatArray, min_customers: int) -> None:
    n_customers = float(w.sum())
    if n_customers < min_customers:
        raise ModelFitError(
            f"BG/NBD needs at least {min_customers} customers to fit, "
            f"got {n_customers:g}"
        )
    if float(w @ x) == 0:
        raise ModelFitError(
            f"BG/NBD cannot be fitted: none of the {n_customers:g} customers "
            "has a repeat purchase"
        )


def _minimise(
    model: str,
    names: tuple[str, ...],
    objective: Callable[..., tuple[float, FloatArray]],
    start: FloatArray,
    args: tuple[FloatArray, ...],
    max_iterations: int,
) -> FloatArray:
    """Minimise a mean negative log-likelihood over log-parameters (L-BFGS-B)."""
    start_log = np.clip(np.log(start), -_LOG_BOUND + 1, _LOG_BOUND - 1)
    # Trial steps far out may overflow; a failed search shows in the result.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        result = minimize(
            objective,
            start_log,
            args=args,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(start),
            options={"maxiter": max_iterations, "ftol": 1e-12, "gtol": 1e-8},
        )
    _require_converged(model, names, result, max_iterations)
    return np.exp(result.x)


def _require_converged(
    model: str, names: tuple[str, ...], result: OptimizeResult, max_iterations: int
) -> None:
    stopped_at = ", ".join(
        f"{name}={value:.4g}"
        for name, value in zip(names, np.exp(result.x), strict=True)
    )
    if np.any(np.abs(result.x) > _LOG_BOUND - 1e-3):
        raise ModelFitError(
            f"{model} fit did not converge: it ran to {stopped_at}, at the edge "
            f"of the search range [{np.exp(-_LOG_BOUND):.1g}, "
            f"{np.exp(_LOG_BOUND):.1g}]; the data do not pin the parameters down"
        )
    is_finite = np.all(np.isfinite(result.x)) and np.isfinite(result.fun)
    if not (result.success and is_finite):
        raise ModelFitError(
            f"{model} fit did not converge after {result.nit} iterations "
            f"(limit {max_iterations}): {result.message.strip(': ')}; "
            f"it stopped at {stopped_at}"
        )


# BG/NBD predictions: eq. (7) and (10) of [BG/NBD], and [P(alive)].


def compute_probability_alive(
    params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """P(alive at T | x, t_x, T), from the [P(alive)] note; 1 when x is 0.

    The note's ratio a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x)
    is formed in log space, so long histories do not overflow.
    """
    x_, t_x_, T_ = _as_history(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds_died = (
        np.log(a)
        - np.log(b + np.maximum(x_, 1.0) - 1)
        + (r + x_) * (np.log(alpha + T_) - np.log(alpha + t_x_))
    )
    return np.where(x_ > 0, expit(-log_odds_died), 1.0)


def predict_new_customer_purchases(params: BgNbdParams, t: ArrayLike) -> FloatArray:
    """E[X(t)], repeat purchases in (0, t] of a newly acquired customer, eq. (7)."""
    t_ = np.asarray(t, dtype=np.float64)
    _require_rows("t", t_, (t_ >= 0) & np.isfinite(t_), "finite and >= 0")
    return _expected_while_alive(params, np.zeros_like(t_), np.zeros_like(t_), t_)


def predict_purchases(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T], expected purchases in (T, T + t], eq. (10).

    Eq. (10) is the expectation for a customer still alive at T, times
    P(alive); both factors are computed separately for stability.
    """
    x_, t_x_, T_ = _as_history(x, t_x, T)
    t_ = np.asarray(t, dtype=np.float64)
    _require_rows("t", t_, (t_ >= 0) & np.isfinite(t_), "finite and >= 0")
    alive = compute_probability_alive(params, x_, t_x_, T_)
    return alive * _expected_while_alive(params, x_, T_, t_)


def _expected_while_alive(
    params: BgNbdParams, x: FloatArray, T: FloatArray, t: FloatArray
) -> FloatArray:
    """Expected purchases in (T, T + t] of a customer alive at T, after x repeats.

    Eq. (7) and (10) have removable singularities at a = 1 and, for x = 0, at
    a + b = 1; there the value is the mean of the two sides, `_NEAR` away.
    """
    a, b = params.a, params.b
    a_points = [a] if abs(a - 1) >= _NEAR else [1 - _NEAR, 1 + _NEAR]
    b_points = [b] if abs(a + b - 1) >= _NEAR else [1 - a - _NEAR, 1 - a + _NEAR]
    values = [
        _expected_while_alive_at(params.r, params.alpha, a_, b_, x, T, t)
        for a_ in a_points
        for b_ in b_points
    ]
    return np.mean(values, axis=0)


def _expected_while_alive_at(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: FloatArray,
    T: FloatArray,
    t: FloatArray,
) -> FloatArray:
    """The numerator of eq. (10), after Euler's transformation of its 2F1.

    Eq. (10) has 1 - (1 - z)^(r + x) 2F1(r + x, b + x; a + b + x - 1; z), with
    z = t / (alpha + T + t). Euler's identity 2F1(A, B; C; z) =
    (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z) turns this into
    1 - (1 - z)^(a - 1) 2F1(a + b - r - 1, a - 1; a + b + x - 1; z), whose
    series stays well behaved for large x. With x = T = 0 it is eq. (7).
    """
    z = t / (alpha + T + t)
    log_scale = (a - 1) * np.log1p(-z)
    series = _hyp2f1(a + b - r - 1, a - 1, a + b + x - 1, z)
    is_positive = series > 0
    log_series = np.log(np.where(is_positive, series, 1.0))
    bracket = np.where(
        is_positive,
        -np.expm1(log_scale + log_series),
        1 - np.exp(log_scale) * series,
    )
    return (a + b + x - 1) / (a - 1) * bracket


def _hyp2f1(A: float, B: float, C: FloatArray, z: FloatArray) -> FloatArray:
    """Gauss's 2F1 from scipy, summed directly where scipy returns inf or nan.

    scipy.special.hyp2f1 (1.17) gives up when C - A - B is a whole number
    above about 98 and z > 0.9; here that is r - a whole and x large. Then C
    is large and the series converges in a few dozen terms.
    """
    values = np.array(hyp2f1(A, B, C, z), dtype=np.float64)
    failed = ~np.isfinite(values)
    if np.any(failed):
        C_failed = np.broadcast_to(C, values.shape)[failed]
        z_failed = np.broadcast_to(z, values.shape)[failed]
        values[failed] = _sum_hypergeometric_series(A, B, C_failed, z_failed)
    return values


def _sum_hypergeometric_series(
    A: float, B: float, C: FloatArray, z: FloatArray
) -> FloatArray:
    term = np.ones_like(z)
    total = np.ones_like(z)
    for k in range(_MAX_SERIES_TERMS):
        term = term * (A + k) * (B + k) / ((C + k) * (k + 1)) * z
        total = total + term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            return total
    raise ModelFitError(
        f"the 2F1({A!r}, {B!r}; C; z) series of eq. (10) did not converge in "
        f"{_MAX_SERIES_TERMS} terms for C={C.flat[0]!r}, z={z.flat[0]!r}"
    )


# Gamma-Gamma spend model, [Gamma-Gamma] and [Iso-value].


def _as_spend(x: ArrayLike, zbar: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x_, zbar_ = np.broadcast_arrays(
        np.asarray(x, dtype=np.float64), np.asarray(zbar, dtype=np.float64)
    )
    _require_rows("x", x_, (x_ >= 0) & (x_ == np.floor(x_)), "a whole number >= 0")
    _require_rows("zbar", zbar_, (zbar_ >= 0) & np.isfinite(zbar_), "finite, >= 0")
    return x_, zbar_


def _gamma_gamma_objective(
    log_theta: FloatArray, x: FloatArray, zbar: FloatArray, w: FloatArray
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of the mean spend zbar, and its gradient."""
    theta = np.exp(log_theta)
    rows = _gamma_gamma_rows(theta, x, zbar)
    p, q, gamma = theta
    log_ratio = np.log(gamma) - np.log(gamma + x * zbar)
    shape = p * x + q
    d_p = x * (
        digamma(shape)
        - digamma(p * x)
        + np.log(x)
        + np.log(zbar)
        - np.log(gamma + x * zbar)
    )
    d_q = digamma(shape) - digamma(q) + log_ratio
    d_gamma = q / gamma - shape / (gamma + x * zbar)

    total = w.sum()
    gradient = -np.array([w @ d for d in (d_p, d_q, d_gamma)]) * theta / total
    return -float(w @ rows) / total, gradient


def _gamma_gamma_rows(theta: FloatArray, x: FloatArray, zbar: FloatArray) -> FloatArray:
    """Log density of zbar given x repeat purchases, from [Gamma-Gamma].

    zbar | nu ~ Gamma(p x, nu x) and nu ~ Gamma(q, gamma) integrate to
    Gamma(p x + q) / (Gamma(p x) Gamma(q)) gamma^q x^(p x) zbar^(p x - 1)
    / (gamma + x zbar)^(p x + q).
    """
    p, q, gamma = theta
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(gamma)
        + p * x * np.log(x)
        + (p * x - 1) * np.log(zbar)
        - (p * x + q) * np.log(gamma + x * zbar)
    )


def _spend_rows(
    x: ArrayLike, zbar: ArrayLike, weights: ArrayLike | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The customers the spend model learns from: x > 0 and zbar > 0."""
    x_, zbar_ = _as_spend(x, zbar)
    w = _as_weights(weights, x_.shape)
    usable = (x_ > 0) & (zbar_ > 0)
    return x_[usable], zbar_[usable], w[usable]


def compute_gamma_gamma_log_likelihood(
    params: GammaGammaParams,
    x: ArrayLike,
    zbar: ArrayLike,
    weights: ArrayLike | None = None,
) -> float:
    """Total log-likelihood of zbar over customers with x > 0 and zbar > 0."""
    x_, zbar_, w = _spend_rows(x, zbar, weights)
    theta = np.array([params.p, params.q, params.gamma])
    return float(w @ _gamma_gamma_rows(theta, x_, zbar_))


def fit_gamma_gamma(
    x: ArrayLike,
    zbar: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    min_customers: int = MIN_REPEAT_CUSTOMERS,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> GammaGammaParams:
    """Fit Gamma-Gamma by maximum likelihood on customers with a repeat purchase.

    Only rows with x > 0 and zbar > 0 inform the fit (a mean of nothing, or a
    spend of exactly 0, has no Gamma density); the others are ignored. Raises
    ModelFitError when fewer than `min_customers` such customers remain or the
    optimiser does not converge.
    """
    x_, zbar_, w = _spend_rows(x, zbar, weights)
    n_customers = float(w.sum())
    if n_customers < min_customers:
        raise ModelFitError(
            f"Gamma-Gamma needs at least {min_customers} customers with a repeat "
            f"purchase of positive value, got {n_customers:g}"
        )

    rows, counts = _collapse_rows(np.column_stack([x_, zbar_]), w)
    mean_spend = float(counts @ rows[:, 1]) / n_customers
    start = np.array([1.0, 3.0, 2.0 * mean_spend])
    theta = _minimise(
        "Gamma-Gamma",
        ("p", "q", "gamma"),
        _gamma_gamma_objective,
        start,
        (*rows.T, counts),
        max_iterations,
    )
    return GammaGammaParams(*(float(v) for v in theta))


def predict_average_spend(
    params: GammaGammaParams, x: ArrayLike, zbar: ArrayLike
) -> FloatArray:
    """E[Z | x, zbar], the expected value of a future purchase day.

    A credibility-weighted mean of the population mean p gamma / (q - 1) and
    the customer's zbar, with weight p x / (p x + q - 1) on zbar ([Iso-value],
    [Gamma-Gamma]). With x = 0 it is the population mean, which needs q > 1.
    """
    x_, zbar_ = _as_spend(x, zbar)
    p, q, gamma = params.p, params.q, params.gamma
    if q <= 1 and np.any(x_ == 0):
        raise ValueError(
            f"the population mean spend needs q > 1, got q={q!r}; "
            "it cannot be used for customers with x = 0"
        )
    return p * (gamma + x_ * zbar_) / (p * x_ + q - 1)


# Customer lifetime value.


def compute_discounted_clv(
    purchase_params: BgNbdParams,
    spend_params: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    zbar: ArrayLike,
    *,
    steps: int,
    step_periods: float,
    discount_rate_per_step: float,
) -> FloatArray:
    """Discounted expected spend over the next `steps` steps of `step_periods`.

    The horizon (T, T + steps * step_periods] is cut into equal steps. Step k
    contributes the purchases expected in it, E[Y(k s)] - E[Y((k - 1) s)] from
    eq. (10), times E[Z | x, zbar], discounted by (1 + d)^k: every purchase in
    a step is valued as if made at the step's end. With weekly periods,
    monthly steps are step_periods = 365.25 / 12 / 7 and d a monthly rate.
    Spend and purchase counts are independent, as the [Iso-value] paper
    assumes. The result is revenue in the unit of zbar, before any margin.
    """
    if not (isinstance(steps, int | np.integer) and steps >= 1):
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    if not (np.isfinite(step_periods) and step_periods > 0):
        raise ValueError(f"step_periods must be positive, got {step_periods!r}")
    if not (np.isfinite(discount_rate_per_step) and discount_rate_per_step > -1):
        raise ValueError(
            f"discount_rate_per_step must be > -1, got {discount_rate_per_step!r}"
        )

    spend = predict_average_spend(spend_params, x, zbar)
    ends = step_periods * np.arange(steps + 1)
    expected = [np.zeros(np.shape(spend))]
    expected += [predict_purchases(purchase_params, end, x, t_x, T) for end in ends[1:]]
    discount = (1.0 + discount_rate_per_step) ** -np.arange(1, steps + 1)
    per_step = np.diff(np.stack(expected), axis=0)
    return spend * np.tensordot(discount, per_step, axes=1)


# Simulation from the models' stories, for checks and benchmarks.


def simulate_bgnbd_histories(
    params: BgNbdParams, T: ArrayLike, rng: np.random.Generator
) -> tuple[NDArray[np.int64], FloatArray]:
    """Draw (x, t_x) for customers observed for T periods after their first purchase.

    Each customer draws a rate from Gamma(r, alpha) and a dropout probability
    from Beta(a, b); after each repeat purchase they drop out with that
    probability. Drawn as: N ~ Poisson(rate T) arrivals, J ~ Geometric(p)
    purchases up to dropout, x = min(N, J), and t_x the x-th of N uniform
    arrival times on (0, T), i.e. T times a Beta(x, N - x + 1) draw.
    """
    T_ = np.asarray(T, dtype=np.float64)
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=T_.shape)
    dropout = np.maximum(rng.beta(params.a, params.b, size=T_.shape), 1e-12)
    arrivals = rng.poisson(rate * T_)
    purchases_until_dropout = rng.geometric(dropout)

    x = np.minimum(arrivals, purchases_until_dropout)
    last_share = rng.beta(np.maximum(x, 1), arrivals - x + 1)
    t_x = np.where(x > 0, T_ * last_share, 0.0)
    return x, t_x


def simulate_gamma_gamma_spend(
    params: GammaGammaParams, x: ArrayLike, rng: np.random.Generator
) -> FloatArray:
    """Draw zbar for customers with x repeat purchases; 0 where x is 0.

    Each customer draws nu from Gamma(q, gamma); the mean of x purchase values,
    each Gamma(p, nu), is Gamma(p x, nu x).
    """
    x_ = np.asarray(x, dtype=np.float64)
    nu = rng.gamma(params.q, 1.0 / params.gamma, size=x_.shape)
    repeat = x_ > 0
    zbar = np.zeros(x_.shape)
    zbar[repeat] = rng.gamma(params.p * x_[repeat], 1.0 / (nu[repeat] * x_[repeat]))
    return zbar
