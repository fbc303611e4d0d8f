"""The stochastic differential equation of SGD on a quadratic: an Ornstein–Uhlenbeck process
whose mean and variance are known in closed form, against the exact moments of SGD itself.

Notation (chapter 20).  ``f(x) = ½ Σ_j h_j x_j²`` (curvatures ``h``, minimiser 0); a mini-batch
gradient of size ``B`` has noise of variance ``s_j²/B`` in coordinate ``j`` (``s²`` the variance of
one example's gradient).  SGD with step ``η`` is approximated, in the weak sense and to first
order in ``η``, by ``dX = −hX dt + √(η s²/B) dW`` at time ``t = kη`` (Li, Tai & E 2017, "Stochastic
modified equations and adaptive stochastic gradient algorithms").
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax.numpy as jnp

from .. import _checks
from .._types import Array, ArrayLike, Float
from ._common import check_scalar

__all__ = ["Moments", "sgd_sde_moments", "sgd_quadratic_moments"]


class Moments(NamedTuple):
    """Mean and variance of each coordinate at the requested times or steps.

    Attributes:
      mean: ``E x_j``, shape ``(T, d)``.
      variance: ``Var x_j``, shape ``(T, d)``.
    """

    mean: Float[Array, "T d"]
    variance: Float[Array, "T d"]


def _check(curvature: Any, noise_variance: Any, x0: Any, learning_rate: Any, batch_size: Any):
    h = _checks.as_float_array("curvature", curvature, ndim=1)
    _checks.require_positive("curvature", h)
    s2 = _checks.as_float_array("noise_variance", noise_variance, ndim=1)
    _checks.require_nonnegative("noise_variance", s2)
    x = _checks.as_float_array("x0", x0, ndim=1)
    if not (h.shape == s2.shape == x.shape):
        raise ValueError(
            f"curvature, noise_variance and x0 must have the same shape, got {h.shape}, {s2.shape}, {x.shape}"
        )
    check_scalar("learning_rate", learning_rate)
    _checks.require_int("batch_size", batch_size, minimum=1)
    return h, s2, x


def sgd_sde_moments(
    curvature: Float[ArrayLike, " d"],
    noise_variance: Float[ArrayLike, " d"],
    x0: Float[ArrayLike, " d"],
    *,
    learning_rate: float,
    batch_size: int = 1,
    times: Float[ArrayLike, " T"],
) -> Moments:
    """Mean and variance of the SDE of SGD on ``f(x) = ½ Σ_j h_j x_j²``, an Ornstein–Uhlenbeck process:
    ``E X_t = x₀ e^{−ht}`` and ``Var X_t = (η s²/B)(1 − e^{−2ht})/(2h)``.

    It depends on ``η`` and ``B`` only through ``η/B``: the linear scaling rule.

    Args:
      curvature: ``h_j > 0``, shape ``(d,)``.
      noise_variance: ``s_j² ≥ 0``, the gradient-noise variance of one example, shape ``(d,)``.
      x0: the start, shape ``(d,)``.
      learning_rate: ``η > 0`` (keyword-only).
      batch_size: ``B ≥ 1``.
      times: ``t ≥ 0``, shape ``(T,)`` (step ``k`` of SGD is ``t = kη``).

    Returns:
      :class:`Moments` with fields of shape ``(T, d)``.

    Raises:
      TypeError: non-numeric input, a non-integer ``batch_size``.
      ValueError: wrong shapes, ``h ≤ 0``, ``s² < 0``, ``η ≤ 0``, ``B < 1``, a negative time, NaN/inf.
    """
    h, s2, x = _check(curvature, noise_variance, x0, learning_rate, batch_size)
    t = _checks.as_float_array("times", times, ndim=1)
    _checks.require_nonnegative("times", t)
    # region: ou-moments
    decay = jnp.exp(-h[None, :] * t[:, None])
    mean = x[None, :] * decay
    variance = (learning_rate * s2 / batch_size)[None, :] * (1.0 - decay**2) / (2.0 * h[None, :])
    # endregion: ou-moments
    return Moments(mean, variance)


def sgd_quadratic_moments(
    curvature: Float[ArrayLike, " d"],
    noise_variance: Float[ArrayLike, " d"],
    x0: Float[ArrayLike, " d"],
    *,
    learning_rate: float,
    batch_size: int = 1,
    num_steps: int,
) -> Moments:
    """The exact mean and variance of SGD ``x_{k+1} = x_k − η(h x_k + ξ_k)``, ``Var ξ_k = s²/B``, on
    ``f(x) = ½ Σ_j h_j x_j²``: ``E x_k = x₀ r^k`` and ``Var x_k = η² (s²/B)(1 − r^{2k})/(1 − r²)``,
    ``r = 1 − ηh``.

    Args:
      curvature: ``h_j > 0``, shape ``(d,)``.
      noise_variance: ``s_j² ≥ 0``, shape ``(d,)``.
      x0: the start, shape ``(d,)``.
      learning_rate: ``η > 0`` with ``η h_j < 2`` (keyword-only).
      batch_size: ``B ≥ 1``.
      num_steps: ``K ≥ 1`` (keyword-only).

    Returns:
      :class:`Moments` at the steps ``k = 0, …, K`` (shape ``(K+1, d)``).

    Raises:
      TypeError: non-numeric input, non-integer ``batch_size`` or ``num_steps``.
      ValueError: wrong shapes, ``h ≤ 0``, ``s² < 0``, ``η ≤ 0``, ``η h_j ≥ 2`` (SGD diverges),
        ``B < 1``, ``K < 1``.
    """
    h, s2, x = _check(curvature, noise_variance, x0, learning_rate, batch_size)
    _checks.require_int("num_steps", num_steps, minimum=1)
    if _checks.is_concrete((h, learning_rate)) and float(jnp.max(h) * learning_rate) >= 2.0:
        raise ValueError(
            f"learning_rate must satisfy learning_rate * max(curvature) < 2, got {learning_rate!r}"
        )
    k = jnp.arange(num_steps + 1, dtype=h.dtype)[:, None]
    r = 1.0 - learning_rate * h[None, :]
    mean = x[None, :] * r**k
    variance = learning_rate**2 * (s2 / batch_size)[None, :] * (1.0 - r ** (2 * k)) / (1.0 - r**2)
    return Moments(mean, variance)
