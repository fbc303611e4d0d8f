"""OGM-G: the optimized method for small gradient norm (chapter 2)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from .._types import Array, Float, Int
from ..first_order import (
    _require_scalar,
    _tagged,
)
from ._common import _tmap


# --------------------------------------------------------------------------- OGM-G
class OGMGState(NamedTuple):
    """State of :func:`ogm_g`.

    Attributes:
      count: the number of updates so far (optax's field name).
      y: ``y_i``, the last gradient-step point (``y_0 = x_0``; a pytree like the params).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    y: Any  # y_i


def ogm_g_theta(*, num_steps: int) -> Float[np.ndarray, " N+1"]:
    """The OGM-G parameters ``θ̃_0, …, θ̃_N`` (Kim and Fessler, 2021), ``N = num_steps``.

    ``θ̃_N = 1``, ``θ̃_i = (1 + √(1 + 4θ̃_{i+1}²))/2`` for ``1 ≤ i ≤ N−1`` and
    ``θ̃_0 = (1 + √(1 + 8θ̃_1²))/2``.  :func:`ogm_g` guarantees
    ``‖∇f(x_N)‖² ≤ 2L(f(x_0) − f*)/θ̃_0²`` and ``θ̃_0² ≥ (N+1)²/2``.

    Args:
      num_steps: the horizon ``N ≥ 1`` (a Python integer).

    Returns:
      The ``(N+1,)`` float64 NumPy array ``θ̃``.

    Raises:
      TypeError: ``num_steps`` is not an integer.
      ValueError: ``num_steps < 1``.
    """
    _checks.require_int("num_steps", num_steps, minimum=1)
    theta = np.ones(num_steps + 1)
    for i in range(num_steps - 1, 0, -1):
        theta[i] = (1.0 + math.sqrt(1.0 + 4.0 * theta[i + 1] ** 2)) / 2.0
    theta[0] = (1.0 + math.sqrt(1.0 + 8.0 * theta[1] ** 2)) / 2.0
    return theta


def ogm_g(
    learning_rate: float | Float[Array, ""], *, num_steps: int
) -> optax.GradientTransformationExtraArgs:
    """OGM-G, the optimized gradient method for the gradient norm (Kim and Fessler, 2021).

    With ``η = 1/L`` and ``θ̃`` = :func:`ogm_g_theta` ``(num_steps=N)``, ``y_0 = x_0``, for ``i < N``:
    ``y_{i+1} = x_i − η∇f(x_i)``,
    ``x_{i+1} = y_{i+1} + a_i (y_{i+1} − y_i) + b_i (y_{i+1} − x_i)`` with
    ``a_i = (θ̃_i − 1)(2θ̃_{i+1} − 1)/(θ̃_i(2θ̃_i − 1))`` and
    ``b_i = (2θ̃_{i+1} − 1)/(2θ̃_i − 1)``.  For convex ``L``-smooth ``f`` the last point has
    ``‖∇f(x_N)‖² ≤ 2L(f(x_0) − f*)/θ̃_0² ≤ 4L(f(x_0) − f*)/(N+1)²``, the optimal order in
    terms of ``f(x_0) − f*``; the bound is attained on ``f(x) = (L/2)‖x‖²``.  Started from
    the point of ``N`` steps of Nesterov's method it gives ``‖∇f‖ = O(L‖x_0 − x*‖/N²)``.
    The coefficients depend on the horizon: run exactly ``N`` steps (later steps repeat the
    last coefficients and carry no guarantee).

    Args:
      learning_rate: ``η = 1/L > 0`` (a constant; the guarantee needs ``η ≤ 1/L``).
      num_steps: the horizon ``N ≥ 1`` (a Python integer).

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``; the params
      are the points ``x_i``).

    Raises:
      TypeError: ``learning_rate`` is not a real scalar, ``num_steps`` not an integer.
      ValueError: ``learning_rate ≤ 0`` or ``num_steps < 1``.
    """
    _require_scalar("learning_rate", learning_rate)
    _checks.require_positive("learning_rate", learning_rate)
    theta = ogm_g_theta(num_steps=num_steps)
    th, th_next = theta[:-1], theta[1:]
    a_coef = (th - 1.0) * (2.0 * th_next - 1.0) / (th * (2.0 * th - 1.0))
    b_coef = (2.0 * th_next - 1.0) / (2.0 * th - 1.0)

    def init(params):
        return OGMGState(jnp.zeros([], jnp.int32), params)

    def update(updates, state, params=None, **extra):
        del extra
        _checks.require_update_params("ogm_g", params)
        i = jnp.minimum(state.count, num_steps - 1)
        a, b = jnp.asarray(a_coef)[i], jnp.asarray(b_coef)[i]

        def leaf(x, y, g):
            y_new = x - learning_rate * g
            x_new = y_new + a.astype(x.dtype) * (y_new - y) + b.astype(x.dtype) * (y_new - x)
            return (x_new - x).astype(x.dtype), y_new.astype(x.dtype)

        pairs = _tmap(leaf, params, state.y, updates)
        is_pair = lambda t: isinstance(t, tuple)  # noqa: E731
        out = _tmap(lambda p: p[0], pairs, is_leaf=is_pair)
        y_new = _tmap(lambda p: p[1], pairs, is_leaf=is_pair)
        return out, OGMGState(state.count + 1, y_new)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "ogm_g", learning_rate, num_steps)
