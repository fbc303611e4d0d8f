"""Test functions of chapter 14: Rastrigin and a strict saddle."""

from __future__ import annotations

import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
)
from .._types import Array, Float

# ---------------------------------------------------------------------------
# test functions
# ---------------------------------------------------------------------------


def rastrigin(
    x: Float[Array, "*batch d"], shift: float | Float[ArrayLike, "*batch d"] = 0.0
) -> Float[Array, "*batch"]:
    r"""Rastrigin ``f(x) = 10d + Σ_i (y_i² − 10 cos(2π y_i))``, ``y = x − shift``;
    global minimum 0 at ``x = shift``, a local minimum near every other integer point.

    Args:
      x: ``(..., d)`` point(s), ``d ≥ 1``.
      shift: the minimiser (scalar or broadcastable to ``x``).

    Returns:
      ``f(x)`` (shape ``x.shape[:-1]``).

    Raises:
      TypeError / ValueError: non-numeric, 0-D or non-finite input.
    """
    x = as_float_array("x", x)
    shift = as_float_array("shift", shift)
    if jnp.ndim(x) < 1:
        raise ValueError(f"x must have at least one dimension, got shape {tuple(jnp.shape(x))}")
    y = x - shift
    return 10.0 * y.shape[-1] + jnp.sum(y**2 - 10.0 * jnp.cos(2 * jnp.pi * y), axis=-1)


def strict_saddle(x: Float[Array, " d"]) -> Float[Array, ""]:
    r"""``f(x) = ½Σ_{i<d} x_i² − ½x_d² + ¼x_d⁴``: a strict saddle at 0 (Hessian
    ``diag(1, …, 1, −1)``), minima ``f* = −¼`` at ``x = ±e_d``.

    Args:
      x: ``(d,)`` point, ``d ≥ 1``.

    Returns:
      the scalar ``f(x)``.

    Raises:
      TypeError / ValueError: non-numeric input, wrong number of dimensions, NaN/inf.
    """
    x = as_float_array("x", x, ndim=1)
    if jnp.shape(x)[0] < 1:
        raise ValueError("x must have at least one coordinate, got shape (0,)")
    return 0.5 * jnp.sum(x[:-1] ** 2) - 0.5 * x[-1] ** 2 + 0.25 * x[-1] ** 4
