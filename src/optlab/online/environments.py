"""Losses and environments for online learning (chapter 10)."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
    require_finite,
    require_int,
    require_key,
    require_nonnegative,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _check_scalar

# ---------------------------------------------------------------------------
# losses and environments
# ---------------------------------------------------------------------------


def logcosh_loss(x: Float[Array, " d"], c: Float[Array, ""] | Float[Array, " d"]) -> Float[Array, ""]:
    """``f(x; c) = Σ_i log cosh(x_i − c_i)``: convex, 1-smooth, ``∇f = tanh(x − c) ∈ (−1, 1)ᵈ``.

    Computed stably as ``|z| + log1p(e^{−2|z|}) − log 2``.

    Args:
      x: ``(d,)`` point.
      c: ``(d,)`` centre (or a scalar).

    Returns:
      the scalar loss.

    Raises:
      TypeError / ValueError: non-numeric or non-finite input, mismatched shapes.
    """
    x = as_float_array("x", x)
    c = as_float_array("c", c)
    if jnp.ndim(c) > 0 and jnp.shape(c) != jnp.shape(x):
        raise ValueError(f"c must have the shape of x {tuple(jnp.shape(x))}, got {tuple(jnp.shape(c))}")
    z = jnp.abs(x - c)
    return jnp.sum(z + jnp.log1p(jnp.exp(-2.0 * z)) - math.log(2.0))


def sea_centers(
    num_rounds: int,
    dim: int,
    noise: float | Float[Array, ""],
    drift: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    period: int = 50,
    center: float | Float[Array, ""] = 0.5,
) -> Float[Array, "num_rounds dim"]:
    """Centres ``c_t = μ_t + σ ξ_t`` of a stochastically extended adversarial sequence.

    ``μ_t = center·𝟙 + drift · s_t · v`` with a fixed unit direction ``v`` and a sign
    ``s_t = ±1`` that flips every ``period`` rounds (the adversarial part, its
    variation grows with ``drift``), and ``ξ_t`` i.i.d. standard normal (the
    stochastic part, of variance ``σ² = noise²`` per coordinate).  ``noise`` and
    ``drift`` may be traced, so a grid of environments is one ``vmap``.

    Args:
      key: a JAX PRNG key (an integer seed is refused).
      num_rounds, dim, period: positive integers.
      noise, drift: ``≥ 0`` scalars (may be traced).
      center: finite scalar.

    Returns:
      ``(num_rounds, dim)`` centres; use them as ``thetas`` with :func:`logcosh_loss`.

    Raises:
      TypeError / ValueError: invalid key, counts or levels.
    """
    require_key("key", key)
    require_int("num_rounds", num_rounds, minimum=1)
    require_int("dim", dim, minimum=1)
    require_int("period", period, minimum=1)
    for name, v in (("noise", noise), ("drift", drift), ("center", center)):
        _check_scalar(name, v)
    require_nonnegative("noise", noise)
    require_nonnegative("drift", drift)
    require_finite("center", as_float_array("center", center))
    k_dir, k_noise = jax.random.split(key)
    v = jax.random.normal(k_dir, (dim,))
    v = v / jnp.linalg.norm(v)
    t = jnp.arange(num_rounds)
    sign = jnp.where((t // period) % 2 == 0, 1.0, -1.0)
    mu = center + drift * sign[:, None] * v[None, :]
    xi = jax.random.normal(k_noise, (num_rounds, dim))
    return mu + noise * xi
