"""The RDP accountant of the Poisson-subsampled Gaussian mechanism, on the host in float64
NumPy (chapter 17)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from jax.typing import ArrayLike
from scipy import special

from .._checks import (
    require_in_range,
    require_int,
)
from .._types import Float, Int
from ._common import (
    DEFAULT_ORDERS,
    _check_delta,
    _check_noise,
    _check_orders,
    _check_q,
    _host_numpy,
    _host_positive,
    _host_scalar,
)

# ---------------------------------------------------------------------------
# RDP accountant (float64 NumPy on the host)
# ---------------------------------------------------------------------------


def rdp_gaussian(
    noise_multiplier: float, orders: Sequence[int] | Int[np.ndarray, " n_orders"] = DEFAULT_ORDERS
) -> Float[np.ndarray, " n_orders"]:
    """RDP ``α/(2σ²)`` of one Gaussian mechanism (no subsampling) at each order.

    Args:
      noise_multiplier: ``σ > 0``, a concrete scalar.
      orders: non-empty integers ``α ≥ 2``.

    Returns:
      float64 RDP values, one per order.

    Raises:
      TypeError, ValueError: non-numeric, traced, non-positive or non-finite ``σ``; bad ``orders``.
    """
    s = _check_noise(noise_multiplier)
    a = _check_orders(orders).astype(float)
    return a / (2.0 * s**2)


def rdp_subsampled_gaussian(
    sampling_rate: float,
    noise_multiplier: float,
    orders: Sequence[int] | Int[np.ndarray, " n_orders"] = DEFAULT_ORDERS,
) -> Float[np.ndarray, " n_orders"]:
    """RDP of one step of the Poisson-subsampled Gaussian mechanism at integer orders:
    ``log(A_α)/(α−1)`` with the binomial expansion of Mironov, Talwar & Zhang (2019)
    (``q = 1`` is the plain Gaussian ``α/(2σ²)``).  Float64, log-sum-exp, all orders at
    once (one (orders × (max α + 1)) array).

    Args:
      sampling_rate: ``q ∈ (0, 1]``.
      noise_multiplier: ``σ > 0``.
      orders: non-empty integers ``α ≥ 2``.

    Returns:
      float64 RDP values, one per order.

    Raises:
      TypeError, ValueError: ``q`` outside (0, 1], bad ``σ`` or ``orders``.
    """
    q = _check_q(sampling_rate)
    s = _check_noise(noise_multiplier)
    a = _check_orders(orders)
    if q == 1.0:
        return a.astype(float) / (2.0 * s**2)
    alpha = a.astype(float)[:, None]
    k = np.arange(int(a.max()) + 1, dtype=float)[None, :]
    inside = k <= alpha
    kk = np.where(inside, k, 0.0)  # masked entries are dropped below
    log_terms = (
        special.gammaln(alpha + 1)
        - special.gammaln(kk + 1)
        - special.gammaln(alpha - kk + 1)
        + kk * math.log(q)
        + (alpha - kk) * math.log1p(-q)
        + (kk * kk - kk) / (2.0 * s**2)
    )
    log_terms = np.where(inside, log_terms, -np.inf)
    return special.logsumexp(log_terms, axis=1) / (alpha[:, 0] - 1)


def rdp_to_epsilon(
    orders: Sequence[int] | Int[np.ndarray, " n_orders"],
    rdp: Float[ArrayLike, " n_orders"],
    delta: float,
    *,
    conversion: str = "improved",
) -> tuple[float, int]:
    """Best ``(ε, α)`` for target ``δ`` from RDP values at the given orders.

    ``conversion="improved"``: ``ε = r + log(1−1/α) − log(δα)/(α−1)`` (Balle et al., 2020;
    the bound ``dp_accounting`` uses, including its rule ``ε = 0`` when
    ``δ² + e^{−r} > 1``).  ``"classic"``: ``ε = r + log(1/δ)/(α−1)`` (Mironov, 2017).

    Args:
      orders: non-empty integers ``α ≥ 2``.
      rdp: RDP values ``r ≥ 0`` (``+inf`` allowed), one per order.
      delta: ``δ ∈ (0, 1)``.
      conversion: ``"improved"`` or ``"classic"``.

    Returns:
      ``(ε, α)``: the smallest ε over the orders and the order attaining it.

    Raises:
      TypeError, ValueError: bad ``orders``; ``rdp`` of another shape, negative or NaN;
        ``delta`` outside (0, 1); unknown ``conversion``.
    """
    a = _check_orders(orders)
    r = _host_numpy("rdp", rdp).astype(np.float64)
    if r.shape != a.shape:
        raise ValueError(f"rdp must have the same shape as orders {a.shape}, got {r.shape}")
    if np.any(np.isnan(r)) or np.any(r < 0):
        raise ValueError(f"rdp must be non-negative (and not NaN), got {r.tolist()!r}")
    d = _check_delta(delta)
    if not isinstance(conversion, str) or conversion not in ("improved", "classic"):
        raise ValueError(f"conversion must be 'improved' or 'classic', got {conversion!r}")
    af = a.astype(float)
    with np.errstate(invalid="ignore"):  # r = inf gives ε = inf at that order
        if conversion == "classic":
            eps = r + math.log(1.0 / d) / (af - 1.0)
        else:
            eps = r + np.log1p(-1.0 / af) - np.log(d * af) / (af - 1.0)
            eps = np.where(d**2 + np.expm1(-r) > 0, 0.0, eps)
    i = int(np.argmin(eps))
    return max(0.0, float(eps[i])), int(a[i])


class PrivacySpent(NamedTuple):
    """The privacy spent after ``num_steps`` steps.

    Attributes:
      epsilon: ``ε`` of the ``(ε, δ)`` guarantee.
      delta: ``δ``.
      order: the Rényi order ``α`` attaining ``ε``.
      orders: the Rényi orders tried.
      rdp: the RDP curve: ``ε_RDP(α)`` at each order.
    """

    epsilon: float
    delta: float
    order: int
    orders: np.ndarray
    rdp: np.ndarray


def dp_sgd_privacy(
    noise_multiplier: float,
    sampling_rate: float,
    *,
    num_steps: int,
    delta: float,
    orders: Sequence[int] = DEFAULT_ORDERS,
    conversion: str = "improved",
) -> PrivacySpent:
    """``(ε, δ)`` of ``num_steps`` DP-SGD steps with Poisson sampling rate ``q`` and noise
    multiplier ``σ``: ``num_steps ×`` :func:`rdp_subsampled_gaussian`, then
    :func:`rdp_to_epsilon`.  Full-batch DP-GD is ``sampling_rate=1``.

    Args:
      noise_multiplier: ``σ > 0``.
      sampling_rate: ``q ∈ (0, 1]``.
      num_steps: an integer ``T ≥ 1``.
      delta: ``δ ∈ (0, 1)``.
      orders: non-empty integers ``α ≥ 2``.
      conversion: ``"improved"`` or ``"classic"``.

    Returns:
      A :class:`PrivacySpent`.

    Raises:
      TypeError, ValueError: any argument out of its range, non-numeric or traced.
    """
    _check_noise(noise_multiplier)
    _check_q(sampling_rate)
    require_int("num_steps", num_steps, minimum=1)
    d = _check_delta(delta)
    a = _check_orders(orders)
    if not isinstance(conversion, str) or conversion not in ("improved", "classic"):
        raise ValueError(f"conversion must be 'improved' or 'classic', got {conversion!r}")
    rdp = int(num_steps) * rdp_subsampled_gaussian(sampling_rate, noise_multiplier, a)
    eps, order = rdp_to_epsilon(a, rdp, d, conversion=conversion)
    return PrivacySpent(eps, d, order, a, rdp)


def calibrate_noise(
    target_epsilon: float,
    delta: float,
    sampling_rate: float,
    *,
    num_steps: int,
    orders: Sequence[int] = DEFAULT_ORDERS,
    tol: float = 1e-6,
) -> float:
    """Smallest noise multiplier ``σ`` (to relative tolerance ``tol``) whose DP-SGD run
    satisfies ``ε(σ) ≤ target_epsilon``; bisection on ``log σ`` (ε decreases in σ).

    Args:
      target_epsilon: ``ε > 0``, finite.
      delta, sampling_rate, num_steps, orders: as :func:`dp_sgd_privacy`.
      tol: the bisection's relative stopping tolerance, in ``(0, 1)``.

    Returns:
      σ, with ``ε(σ) ≤ target_epsilon < ε(σ/(1 + tol))``.

    Raises:
      TypeError, ValueError: any argument out of its range; ``target_epsilon`` not
        reachable with ``σ ≤ 1e6``.
    """
    target = _host_positive("target_epsilon", target_epsilon)
    d = _check_delta(delta)
    q = _check_q(sampling_rate)
    require_int("num_steps", num_steps, minimum=1)
    tol = _host_scalar("tol", tol)
    require_in_range("tol", tol, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    a = _check_orders(orders)

    def eps(s):
        return dp_sgd_privacy(s, q, num_steps=num_steps, delta=d, orders=a).epsilon

    lo, hi = 1e-2, 1.0
    while eps(hi) > target:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            raise ValueError(f"target_epsilon={target} is not reachable with sigma <= 1e6")
    while eps(lo) <= target and lo > 1e-6:
        lo /= 2.0
    while hi / lo - 1.0 > tol:
        mid = math.sqrt(lo * hi)
        if eps(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi
