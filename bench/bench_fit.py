"""Benchmark: fit BG/NBD and Gamma-Gamma to a million simulated customers.

Run with `.venv/bin/python bench/bench_fit.py`. Customers are acquired over
12 weeks and observed to the end of week 39, as in CDNOW; the time of the last
purchase is rounded to the nearest whole day, as a difference of purchase dates
is, so many customers share an (x, t_x, T) row and the BG/NBD fit works on the
merged rows. Prints seconds per fit (timed under tracemalloc), peak traced
memory and the process's peak resident size, and the recovered parameters
beside the true ones.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from ltv.predictive import (
    BgNbdParams,
    GammaGammaParams,
    fit_bgnbd,
    fit_gamma_gamma,
    simulate_bgnbd_histories,
    simulate_gamma_gamma_spend,
)

R = TypeVar("R")

CUSTOMERS = 1_000_000
SEED = 20050401
CALIBRATION_DAYS = 273
ACQUISITION_DAYS = 84
PURCHASES = BgNbdParams(r=0.25, alpha=4.0, a=0.8, b=2.5)
SPEND = GammaGammaParams(p=6.0, q=4.0, gamma=15.0)


def simulate_customers(
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Draw (x, t_x, T) in weeks, on whole days, and zbar for every customer."""
    first_day = rng.integers(0, ACQUISITION_DAYS, size=CUSTOMERS)
    T_days = CALIBRATION_DAYS - first_day
    x, t_x_weeks = simulate_bgnbd_histories(PURCHASES, T_days / 7.0, rng)
    t_x_days = np.minimum(np.round(t_x_weeks * 7.0), T_days)
    zbar = simulate_gamma_gamma_spend(SPEND, x, rng)
    return x, t_x_days / 7.0, T_days / 7.0, zbar


def time_call(label: str, function: Callable[..., R], *args: object) -> R:
    """Run function(*args), printing its seconds and traced peak memory."""
    tracemalloc.start()
    started = time.perf_counter()
    result = function(*args)
    seconds = time.perf_counter() - started
    _, peak_bytes = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<22} {seconds:8.2f} s   tracemalloc peak {peak_bytes / 2**20:8.1f} MiB"
    )
    return result


def print_recovery(truth: dict[str, float], fitted: dict[str, float]) -> None:
    for name, value in truth.items():
        error = fitted[name] / value - 1
        print(
            f"  {name:<6} true {value:8.4f}   fitted {fitted[name]:8.4f}   {error:+.2%}"
        )


def main() -> None:
    rng = np.random.default_rng(SEED)
    x, t_x, T, zbar = time_call("simulate", simulate_customers, rng)
    rows = np.unique(np.column_stack([x, t_x, T]), axis=0).shape[0]
    print(
        f"{CUSTOMERS:,} customers, {int((x > 0).sum()):,} with a repeat purchase, "
        f"{rows:,} distinct (x, t_x, T) rows"
    )

    purchases = time_call("fit BG/NBD", fit_bgnbd, x, t_x, T)
    print_recovery(PURCHASES.as_dict(), purchases.as_dict())
    spend = time_call("fit Gamma-Gamma", fit_gamma_gamma, x, zbar)
    print_recovery(SPEND.as_dict(), spend.as_dict())

    max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak resident size (ru_maxrss) {max_rss_mib:.1f} MiB")


if __name__ == "__main__":
    main()
