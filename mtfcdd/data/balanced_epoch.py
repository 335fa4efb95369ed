"""Balanced epochs: the expected length of an epoch of balanced sampling.

Paper 4.2, Eq. 4 and 5. Balanced sampling picks one of ``m`` image classes
(normal and each defect type) with equal probability at every draw; a
balanced epoch ends once every class ``i`` has been drawn at least ``n_i``
times, ``n_i`` being its number of images. The number of draws ``T`` is the
stopping time of the generalised coupon collector with equal probabilities.

Eq. 4 gives its mean::

    E[T] = m * integral_0^inf [1 - prod_i (1 - S_{n_i}(t) e^{-t})] dt,
    S_n(t) = sum_{j=0}^{n-1} t^j / j!

``S_n(t) e^{-t}`` is the probability that a unit-rate Poisson process has
fewer than ``n`` arrivals by time ``t``, i.e. the regularised upper
incomplete gamma function ``Q(n, t)``. Hence ``1 - S_n(t) e^{-t} = P(n, t)``
= ``scipy.special.gammainc(n, t)``, the CDF of a Gamma(n, 1) variable, and
the integral is ``E[max_i G_i]`` for independent ``G_i ~ Gamma(n_i, 1)``.
The paper calls the integral infeasible for large quotas and estimates
``E[T]`` by Monte Carlo (Eq. 5); with the incomplete gamma function it costs
milliseconds even for ``n ~ 54,000``.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from typing import Optional, Tuple

import numpy as np
from scipy import integrate, special

from mtfcdd.constants import BALANCED_EPOCH_METHODS


# Breakpoints for the integral, in standard deviations (sqrt(n)) of each
# Gamma(n, 1) around its mean n: the integrand changes only in these windows.
_BREAKPOINT_DEVIATIONS = (-12, -8, -5, -3, -2, -1, 0, 1, 2, 3, 5, 8, 12, 20)
# Beyond max(n + 20 sqrt(n) + 50) every Q(n, t) is below 1e-20; the tail
# integral past it is still added, by quad's infinite-range rule.
_TAIL_DEVIATIONS = 20
_TAIL_OFFSET = 50


@dataclasses.dataclass(frozen=True)
class ExpectedDraws:
    """``E[T]``, the expected number of draws of one balanced epoch.

    Attributes:
        expected_draws: ``E[T]`` (Eq. 4) or its Monte Carlo estimate (Eq. 5).
        standard_error: standard error of the Monte Carlo mean; None for the
            exact value.
        method: ``"exact"`` or ``"monte_carlo"``.
        trials: number of simulated epochs; None for the exact value.
    """

    expected_draws: float
    standard_error: Optional[float]
    method: str
    trials: Optional[int]


@dataclasses.dataclass(frozen=True)
class BalancedEpochSummary:
    """The numbers of the paper's Table 2 for one training split.

    Attributes:
        counts: images per class (the quotas ``n_i``).
        batch_size: images per mini-batch.
        draws: the expected number of draws per balanced epoch.
    """

    counts: Tuple[int, ...]
    batch_size: int
    draws: ExpectedDraws

    @property
    def expected_draws(self):
        return self.draws.expected_draws

    @property
    def balanced_iterations(self):
        """Mini-batch iterations per balanced epoch, ``E[T] / batch``."""
        return self.draws.expected_draws / self.batch_size

    @property
    def standard_iterations(self):
        """Mini-batch iterations of a standard epoch (each image once)."""
        return sum(self.counts) / self.batch_size

    @property
    def standard_epochs_per_balanced_epoch(self):
        return self.balanced_iterations / self.standard_iterations

    def to_dict(self):
        """The summary as JSON-ready plain values."""
        return {
            "counts": list(self.counts),
            "batch_size": self.batch_size,
            "method": self.draws.method,
            "trials": self.draws.trials,
            "expected_draws": self.expected_draws,
            "standard_error": self.draws.standard_error,
            "balanced_iterations": self.balanced_iterations,
            "standard_iterations": self.standard_iterations,
            "standard_epochs_per_balanced_epoch": (
                self.standard_epochs_per_balanced_epoch
            ),
        }


def expected_draws(counts: Sequence[int], method: str = "exact", trials: int = 10000, seed: int = 0) -> ExpectedDraws:
    """Expected draws until every class ``i`` is drawn ``counts[i]`` times.

    Args:
        counts: the quotas ``n_i``, one positive integer per class.
        method: ``"exact"`` (Eq. 4) or ``"monte_carlo"`` (Eq. 5).
        trials: simulated epochs for ``"monte_carlo"`` (at least 2).
        seed: random seed for ``"monte_carlo"``.

    Returns:
        An ``ExpectedDraws``.
    """
    quotas = _validated_counts(counts)
    if method == "exact":
        return ExpectedDraws(_exact_expected_draws(quotas), None, method, None)
    if method == "monte_carlo":
        trials = _validated_integer(trials, "trials", minimum=2)
        draws = simulate_draws(quotas, trials, seed)
        standard_error = float(np.std(draws, ddof=1) / np.sqrt(trials))
        return ExpectedDraws(float(np.mean(draws)), standard_error, method, trials)
    raise ValueError(f"method must be one of {BALANCED_EPOCH_METHODS}; got {method!r}.")


def balanced_epoch_summary(
    counts: Sequence[int], batch_size: int = 32, method: str = "exact", trials: int = 10000, seed: int = 0
) -> BalancedEpochSummary:
    """Balanced and standard iterations per epoch (paper Table 2).

    Args:
        counts: images per class, one positive integer per class.
        batch_size: images per mini-batch (the paper uses 32).
        method, trials, seed: as for ``expected_draws``.

    Returns:
        A ``BalancedEpochSummary``.
    """
    quotas = _validated_counts(counts)
    batch_size = _validated_integer(batch_size, "batch_size", minimum=1)
    draws = expected_draws(quotas, method=method, trials=trials, seed=seed)
    return BalancedEpochSummary(quotas, batch_size, draws)


def simulate_draws(counts, trials, seed=0):
    """Draws ``T_k`` of ``trials`` simulated balanced epochs (Eq. 5).

    Exact sampler, with O(m) work per epoch however large the quotas:
    embed the draws in a rate-``m`` Poisson process, so that the draws of
    each class form independent unit-rate processes and class ``i`` meets
    its quota at ``G_i ~ Gamma(n_i, 1)``. The epoch ends at
    ``G = max_i G_i``; by then class ``i`` has ``n_i`` draws plus the
    Poisson(``G - G_i``) arrivals after ``G_i`` (independent of everything
    that decided ``G``), so ``T = sum_i n_i + Poisson(sum_i (G - G_i))``.

    Args:
        counts: the quotas ``n_i``, one positive integer per class.
        trials: number of epochs to simulate.
        seed: random seed.

    Returns:
        Integer array of shape (trials,).
    """
    quotas = np.asarray(_validated_counts(counts), dtype=np.float64)
    trials = _validated_integer(trials, "trials", minimum=1)
    generator = np.random.default_rng(seed)
    quota_times = generator.standard_gamma(quotas, size=(trials, quotas.size))
    overshoot = quota_times.max(axis=1, keepdims=True) - quota_times
    extra_draws = generator.poisson(overshoot.sum(axis=1))
    return int(quotas.sum()) + extra_draws


def _exact_expected_draws(quotas):
    """Eq. 4 by adaptive quadrature over the windows where the CDF moves."""
    sizes = np.asarray(quotas, dtype=np.float64)
    deviations = np.sqrt(sizes)
    upper_limit = float(np.max(sizes + _TAIL_DEVIATIONS * deviations + _TAIL_OFFSET))
    windows = sizes[:, None] + deviations[:, None] * np.asarray(_BREAKPOINT_DEVIATIONS)
    breakpoints = np.unique(windows)
    breakpoints = breakpoints[(breakpoints > 0.0) & (breakpoints < upper_limit)]

    def survival(time):
        return _survival_of_maximum(time, sizes)

    body, _ = integrate.quad(
        survival, 0.0, upper_limit, points=breakpoints,
        limit=4 * breakpoints.size + 50, epsabs=1e-9, epsrel=1e-13,
    )
    tail, _ = integrate.quad(survival, upper_limit, np.inf, epsabs=1e-12)
    return float(len(quotas) * (body + tail))


def _survival_of_maximum(time, sizes):
    """``1 - prod_i P(n_i, t)``, the integrand of Eq. 4, without cancellation.

    The product is summed in logs: ``log P`` where ``P`` is small and
    ``log1p(-Q)`` where ``P`` is close to 1 (there ``1 - P`` is only exact as
    ``Q``). ``-expm1`` then keeps the integrand's relative accuracy when it
    is tiny, far right of every quota.
    """
    lower = special.gammainc(sizes, time)
    upper = special.gammaincc(sizes, time)
    with np.errstate(divide="ignore"):
        log_lower = np.where(lower < 0.5, np.log(lower), np.log1p(-upper))
    return -np.expm1(np.sum(log_lower))


def _validated_counts(counts):
    try:
        values = tuple(counts)
    except TypeError:
        raise ValueError(
            f"counts must be a sequence of positive integers; got {counts!r}."
        ) from None
    if not values:
        raise ValueError("counts must hold at least one class; got none.")
    return tuple(
        _validated_integer(value, f"counts[{index}]", minimum=1)
        for index, value in enumerate(values)
    )


def _validated_integer(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value}.")
    return int(value)
