"""Fully first-order hypergradients: penalty and value-function methods, F2SA (chapter 12)."""

from __future__ import annotations

import functools

import jax

from .._checks import (
    require_int,
)
from .._checks import require_positive_scalar as _pos_scalar
from .._types import Array, Float
from ._common import Loss, _check_losses, _flag, _theta, _vec
from .unrolled import _inner_gd

# ---------------------------------------------------------------------------
# fully first-order: penalty / value function (F2SA)
# ---------------------------------------------------------------------------


def penalty_hypergradient(
    inner: Loss,
    outer: Loss,
    theta: Float[Array, "*p"],
    y0: Float[Array, " d"],
    *,
    sigma: float,
    num_steps: int,
    learning_rate: float,
    z0: Float[Array, " d"] | None = None,
    return_solutions: bool = False,
) -> Float[Array, "*p"] | tuple[Float[Array, "*p"], Float[Array, " d"], Float[Array, " d"]]:
    """Fully first-order hypergradient of the penalty function (Kwon et al. 2024)

        ψ_σ(θ) = [min_y (σ f + g)(y, θ) − min_z g(z, θ)] / σ,
        ∇ψ_σ(θ) = ∇_θ f(y_σ, θ) + [∇_θ g(y_σ, θ) − ∇_θ g(z*, θ)] / σ,

    ``O(σ)``-close to ``∇F(θ)`` (Danskin's theorem, no Hessian). ``y_σ`` and ``z*``
    are computed by ``num_steps`` gradient steps of size ``γ = learning_rate`` from ``y0`` /
    ``z0`` (the step on ``σ f + g`` is ``γ / (1 + σ)``). Compiled once per
    ``(inner, outer, num_steps)`` and shape.

    Args:
      inner, outer: the losses (hashable callables). theta: scalar or 1-D.
      y0: finite 1-D start; z0: same shape (default ``y0``).
      sigma, learning_rate: positive scalars. num_steps: positive int. return_solutions: bool.

    Returns:
      The estimate, or ``(estimate, y, z)`` with ``return_solutions``.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta = _theta(theta)
    y0 = _vec("y0", y0)
    z0 = y0 if z0 is None else _vec("z0", z0).astype(y0.dtype)
    if z0.shape != y0.shape:
        raise ValueError(f"z0 must have the shape of y0 {tuple(y0.shape)}, got {tuple(z0.shape)}")
    _check_losses(inner, outer, y0, theta, "y0")
    _pos_scalar("sigma", sigma)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("learning_rate", learning_rate)
    _flag("return_solutions", return_solutions)
    g, y, z = _penalty(inner, outer, theta, y0, z0, sigma, num_steps, learning_rate)
    return (g, y, z) if return_solutions else g


@functools.partial(jax.jit, static_argnames=("inner", "outer", "steps"))
def _penalty(inner, outer, theta, y0, z0, sigma, steps, lr):
    def pen(w, t):
        return sigma * outer(w, t) + inner(w, t)

    y, _ = _inner_gd(pen, theta, y0, steps, lr / (1.0 + sigma))
    z, _ = _inner_gd(inner, theta, z0, steps, lr)
    gt_f = jax.grad(outer, argnums=1)(y, theta)
    gy = jax.grad(inner, argnums=1)(y, theta)
    gz = jax.grad(inner, argnums=1)(z, theta)
    return gt_f + (gy - gz) / sigma, y, z


def f2sa_hypergradient(
    inner: Loss,
    outer: Loss,
    theta: Float[Array, "*p"],
    y0: Float[Array, " d"],
    *,
    lam: float,
    num_steps: int,
    learning_rate: float,
    z0: Float[Array, " d"] | None = None,
):
    """F2SA's hypergradient (Kwon et al. 2023): ``∇_θ f(y) + λ(∇_θ g(y) − ∇_θ g(z))``
    with ``y ≈ argmin f/λ + g``, ``z ≈ argmin g``. Identical to
    :func:`penalty_hypergradient` with ``σ = 1/λ``; bias ``O(1/λ)``.

    Args:
      lam: positive scalar multiplier; the other arguments as in
        :func:`penalty_hypergradient`.

    Returns:
      The estimate (shape of ``theta``).

    Raises:
      TypeError / ValueError: naming the argument.
    """
    _pos_scalar("lam", lam)
    return penalty_hypergradient(
        inner, outer, theta, y0, sigma=1.0 / lam, num_steps=num_steps, learning_rate=learning_rate, z0=z0
    )


def penalty_value(
    inner: Loss,
    outer: Loss,
    theta: Float[Array, "*p"],
    y0: Float[Array, " d"],
    *,
    sigma: float,
    num_steps: int,
    learning_rate: float,
) -> Float[Array, ""]:
    """``ψ_σ(θ) = [min_y (σf + g) − min_z g] / σ`` by gradient descent (``O(σ)`` from ``F``).

    Args:
      as in :func:`penalty_hypergradient`.

    Returns:
      The scalar ``ψ_σ(θ)``.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    g, y, z = penalty_hypergradient(
        inner,
        outer,
        theta,
        y0,
        sigma=sigma,
        num_steps=num_steps,
        learning_rate=learning_rate,
        return_solutions=True,
    )
    th = _theta(theta)
    return (sigma * outer(y, th) + inner(y, th) - inner(z, th)) / sigma
