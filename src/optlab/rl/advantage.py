r"""Returns-to-go and generalized advantage estimation (chapter 21).

Notation (chapter 21). An episode of ``H`` steps has rewards ``r_0, …, r_{H−1}`` and visits
``s_0, …, s_H``; a critic ``V̂`` gives ``V̂(s_0), …, V̂(s_H)`` (``V̂(s_H)`` bootstraps the tail).

* Returns-to-go: ``G_t = Σ_{h=t}^{H−1} γ^{h−t} r_h``.
* TD residuals: ``δ_t = r_t + γ V̂(s_{t+1}) − V̂(s_t)``.
* GAE(λ) (Schulman, Moritz, Levine, Jordan, Abbeel 2016):
  ``Â_t = Σ_{l=0}^{H−1−t} (γλ)^l δ_{t+l}``. ``λ = 0`` gives ``δ_t``; ``λ = 1`` telescopes to
  ``G_t + γ^{H−t} V̂(s_H) − V̂(s_t)``, the Monte Carlo advantage.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import as_float_array, require_in_range, require_shape
from .._types import Array, Float
from ._common import _as_scalar

__all__ = ["returns_to_go", "gae"]


def _discounted_tail_sum(x, factor):
    """``y_t = x_t + factor · y_{t+1}`` along the last axis (a reverse ``lax.scan``)."""

    def step(acc, xt):
        acc = xt + factor * acc
        return acc, acc

    xs = jnp.moveaxis(x, -1, 0)
    _, ys = jax.lax.scan(step, jnp.zeros_like(xs[0]), xs, reverse=True)
    return jnp.moveaxis(ys, 0, -1)


@jax.jit
def _returns_to_go(rewards, gamma):
    return _discounted_tail_sum(rewards, gamma)


@jax.jit
def _gae(rewards, values, gamma, lam):
    # region: rl-gae
    deltas = rewards + gamma * values[..., 1:] - values[..., :-1]  # δ_t = r_t + γ V̂(s_{t+1}) − V̂(s_t)
    return _discounted_tail_sum(deltas, gamma * lam)  # Â_t = δ_t + γλ Â_{t+1}
    # endregion: rl-gae


def _gamma(gamma) -> jax.Array:
    g = _as_scalar("gamma", gamma)
    require_in_range("gamma", g, 0.0, 1.0)
    return g


def returns_to_go(
    rewards: Float[Array, "*batch H"], gamma: float | Float[Array, ""]
) -> Float[Array, "*batch H"]:
    """``G_t = Σ_{h=t}^{H−1} γ^{h−t} r_h`` along the last axis.

    Args:
      rewards: ``r_0, …, r_{H−1}``, shape ``(..., H)`` with ``H ≥ 1``, finite.
      gamma: the discount ``γ ∈ [0, 1]``.

    Returns:
      ``G``, the shape of ``rewards``.

    Raises:
      TypeError: non-numeric input. ValueError: a 0-d or empty ``rewards``, NaN/inf, ``γ`` outside ``[0, 1]``.
    """
    r = as_float_array("rewards", rewards)
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"rewards must have a last axis of length H >= 1, got shape {r.shape}")
    g = _gamma(gamma)
    return _returns_to_go(r, g.astype(r.dtype))


def gae(
    rewards: Float[Array, "*batch H"],
    values: Float[Array, "*batch H+1"],
    *,
    gamma: float | Float[Array, ""],
    lam: float | Float[Array, ""],
) -> Float[Array, "*batch H"]:
    """Generalized advantage estimation (Schulman et al. 2016):
    ``Â_t = Σ_l (γλ)^l δ_t+l`` with ``δ_t = r_t + γ V̂(s_{t+1}) − V̂(s_t)``, truncated at the end of
    the episode, computed by the backward recursion ``Â_t = δ_t + γλ Â_{t+1}``.

    Args:
      rewards: ``r_0, …, r_{H−1}``, shape ``(..., H)``.
      values: the critic along the episode, ``V̂(s_0), …, V̂(s_H)``, shape ``(..., H+1)``.
      gamma: the discount ``γ ∈ [0, 1]``.
      lam: ``λ ∈ [0, 1]``.

    Returns:
      ``Â``, the shape of ``rewards``.

    Raises:
      TypeError: non-numeric input.
      ValueError: shapes that disagree, NaN/inf, ``γ`` or ``λ`` outside ``[0, 1]``.
    """
    r = as_float_array("rewards", rewards)
    if r.ndim == 0 or r.shape[-1] == 0:
        raise ValueError(f"rewards must have a last axis of length H >= 1, got shape {r.shape}")
    v = as_float_array("values", values, ndim=r.ndim)
    require_shape("values", v, (*r.shape[:-1], r.shape[-1] + 1))
    g = _gamma(gamma)
    lm = _as_scalar("lam", lam)
    require_in_range("lam", lm, 0.0, 1.0)
    dt = jnp.result_type(r, v)
    return _gae(r.astype(dt), v.astype(dt), g.astype(dt), lm.astype(dt))
