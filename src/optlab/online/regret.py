"""Comparators and regret: the best fixed point in hindsight, regret at horizons (chapter 10)."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_int,
    require_positive,
)
from .._types import Array, ArrayLike, Float, Int
from ._common import LossFn, _check_loss, _check_radius, _check_scalar, _project, _r

# ---------------------------------------------------------------------------
# comparators and regret
# ---------------------------------------------------------------------------


def best_fixed(
    loss: LossFn,
    thetas: Float[Array, "T d"],
    *,
    radius: float | Float[Array, ""] | None = None,
    horizons: Int[ArrayLike, " H"] | None = None,
    smoothness: float = 1.0,
    num_steps: int = 300,
) -> tuple[Float[Array, "H d"], Float[Array, " H"]]:
    """Best fixed point in hindsight ``u_T = argmin_{u∈X} Σ_{t≤T} f_t(u)`` for several ``T``.

    Projected gradient descent with step ``1/L`` on the average loss of each
    prefix, started at the prefix mean of ``thetas`` (for :func:`logcosh_loss`
    the minimiser lies near it), ``num_steps`` iterations.  All horizons are one
    ``vmap`` over masks.

    Args:
      loss: ``loss(u, θ_t) → scalar``, convex in ``u``.
      thetas: ``(T, d)`` per-round parameters (the start is their prefix mean, so ``u`` has
        their width ``d``).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ`` (keyword-only).
      horizons: the horizons ``T``, integers in ``[1, T]`` (default: the whole sequence).
      smoothness: ``L > 0``; the step is ``1/L``.
      num_steps: projected-gradient iterations, ``>= 1``.

    Returns:
      ``(u, total)``: comparators ``(H, d)`` and their cumulative losses ``(H,)``.

    Raises:
      TypeError / ValueError: ``loss`` not callable, ``thetas`` not ``(T, d)`` finite,
      invalid ``radius``, ``horizons``, ``smoothness`` or ``num_steps``.
    """
    require_callable("loss", loss)
    thetas = as_float_array("thetas", thetas)
    if jnp.ndim(thetas) != 2 or 0 in jnp.shape(thetas):
        raise ValueError(f"best_fixed needs thetas of shape (T, d), got {tuple(jnp.shape(thetas))}")
    _check_loss(loss, thetas, thetas[0])
    _check_radius(radius)
    _check_scalar("smoothness", smoothness)
    require_positive("smoothness", smoothness)
    require_int("num_steps", num_steps, minimum=1)
    T = jnp.shape(thetas)[0]
    hs = _check_horizons(horizons, T)
    dt = thetas.dtype
    return _best_fixed(
        loss, num_steps, thetas, jnp.asarray(hs, dt), _r(radius, dt), jnp.asarray(smoothness, dt)
    )


@functools.partial(jax.jit, static_argnums=(0, 1))
def _best_fixed(loss, num_steps, thetas, hs, radius, smoothness):
    T = thetas.shape[0]
    per_round = jax.vmap(loss, in_axes=(None, 0))

    def one(h):
        w = (jnp.arange(T) < h).astype(thetas.dtype)

        def avg(u):
            return jnp.sum(w * per_round(u, thetas)) / h

        u0 = _project(jnp.sum(w[:, None] * thetas, 0) / h, radius)
        g = jax.grad(avg)
        u = jax.lax.fori_loop(0, num_steps, lambda _, u: _project(u - g(u) / smoothness, radius), u0)
        return u, avg(u) * h

    return jax.vmap(one)(hs)


def _check_horizons(horizons, T):
    if horizons is None:
        return np.array([T])
    if isinstance(horizons, (str, bytes)) or not is_concrete(horizons):
        raise TypeError(f"horizons must be a 1-D array of integers, got {type(horizons).__name__}")
    try:
        hs = np.asarray(horizons)
    except (TypeError, ValueError) as err:
        raise TypeError(f"horizons must be a 1-D array of integers, got {horizons!r}") from err
    if hs.ndim != 1 or hs.size == 0 or not np.issubdtype(hs.dtype, np.integer):
        raise ValueError(f"horizons must be a 1-D array of integers, got {horizons!r}")
    if hs.min() < 1 or hs.max() > T:
        raise ValueError(f"horizons must lie in [1, T={T}], got {horizons!r}")
    return hs


def regret_at(
    result: Any,
    loss: LossFn,
    thetas: Float[Array, "T d"],
    horizons: Int[ArrayLike, " H"] | None = None,
    *,
    radius: float | Float[Array, ""] | None = None,
    smoothness: float = 1.0,
    num_steps: int = 300,
) -> Float[Array, " H"]:
    """Regret ``R_T = Σ_{t≤T} f_t(x_t) − min_{u∈X} Σ_{t≤T} f_t(u)`` at each horizon ``T``.

    ``result`` is any trace with a ``losses`` field (:class:`OnlineResult`,
    :class:`CoinResult`).  The comparator is :func:`best_fixed` (an accurate
    minimiser; its error only lowers the comparator's quality, so the value is
    a slight *under*-estimate of the regret when not converged).

    Args:
      result: a trace with a ``losses`` field of shape ``(T,)``.
      loss: the loss ``loss(x, θ_t)`` the learner played against.
      thetas: ``(T, d)`` per-round parameters.
      horizons: the horizons ``T``, integers in ``[1, T]`` (default: the whole sequence).
      radius: ``R`` of the box ``X``, or ``None`` for ``ℝᵈ`` (keyword-only).
      smoothness: ``L`` for :func:`best_fixed`.
      num_steps: iterations of :func:`best_fixed`.

    Returns:
      The regret at each horizon, shape ``(H,)``.

    Raises:
      TypeError: ``result`` without a ``losses`` field.
      ValueError: ``losses`` not of shape ``(T,)``, ``thetas`` of another length, or the
        errors of :func:`best_fixed`.
    """
    if not hasattr(result, "losses"):
        raise TypeError(
            f"result must have a losses field (OnlineResult, CoinResult), got {type(result).__name__}"
        )
    r_losses = as_float_array("result.losses", result.losses, ndim=1)
    T = jnp.shape(r_losses)[0]
    if np.ndim(thetas) >= 1 and np.shape(thetas)[0] != T:
        raise ValueError(f"thetas must have T={T} rounds like result, got shape {tuple(np.shape(thetas))}")
    hs = _check_horizons(horizons, T)
    _, best = best_fixed(loss, thetas, radius=radius, horizons=hs, smoothness=smoothness, num_steps=num_steps)
    cum = jnp.cumsum(r_losses)
    return cum[jnp.asarray(hs) - 1] - best
