"""Hypergradients by Neumann series and by unrolled / truncated back-propagation (chapter 12)."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    require_int,
)
from .._checks import require_positive_scalar as _pos_scalar
from .._types import Array, Float
from ._common import _NO_OUTER, Loss, _check_losses, _flag, _pos_int, _theta, _vec
from .implicit import _hvp

# ---------------------------------------------------------------------------
# Neumann series and unrolled / truncated back-propagation
# ---------------------------------------------------------------------------


def neumann_hypergradient(
    inner: Loss,
    outer: Loss,
    w: Float[Array, " d"],
    theta: Float[Array, "*p"],
    K: Any,
    alpha: float,
    *,
    all_terms: bool = False,
) -> Float[Array, "*p"] | Float[Array, " K *p"]:
    """Hypergradient with ``H⁻¹ ≈ α Σ_{j=0}^{K−1} (I − αH)^j`` (Lorraine et al. 2020).

    With ``μI ⪯ H ⪯ LI`` (``μ > 0``) and ``0 < α < 2/L`` the error is ``O(ρ^K)``,
    ``ρ = max(|1 − αμ|, |1 − αL|) < 1``: ``ρ = 1 − αμ`` for ``α ≤ 2/(L + μ)``, and
    ``ρ = αL − 1 > 1 − αμ`` beyond (the largest eigenvalue of ``H`` then sets the rate).
    With ``all_terms=True`` returns the estimates for ``1, …, K``
    terms (shape ``(K, *θ.shape)``; ``K`` must then be a Python int). Compiled once
    per ``(inner, outer)`` and shape (per ``K`` too with ``all_terms``).

    Args:
      inner, outer: the losses (hashable callables). w: finite 1-D. theta: scalar or 1-D.
      K: number of terms, a positive int (may be traced without ``all_terms``).
      alpha: positive scalar. all_terms: bool.

    Returns:
      The estimate (shape of ``theta``), or ``(K, *θ.shape)`` estimates.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    w = _vec("w", w)
    theta = _theta(theta)
    _check_losses(inner, outer, w, theta)
    _pos_int("K", K)
    _pos_scalar("alpha", alpha)
    _flag("all_terms", all_terms)
    if all_terms:
        if not isinstance(K, (int, np.integer)):
            raise TypeError("K must be a Python int when all_terms=True")
        return _neumann_all(inner, outer, w, theta, int(K), alpha)
    return _neumann(inner, outer, w, theta, K, alpha)


def _neumann_parts(inner, outer, w, theta, alpha):
    hvp = _hvp(inner, w, theta)
    gw = jax.grad(outer, argnums=0)(w, theta)
    gt = jax.grad(outer, argnums=1)(w, theta)
    grad_w = jax.grad(inner, argnums=0)
    # ∇²_θw g is linear in q, so the partial sums give every estimate
    _, vjp_cross = jax.vjp(lambda t: grad_w(w, t), theta)

    def step(carry, _):
        p, s = carry  # p = (I − αH)^j ∇_w f, s = Σ_{i≤j} p_i
        p = p - alpha * hvp(p)
        return (p, s + p), s

    return gw, gt, vjp_cross, step


@functools.partial(jax.jit, static_argnames=("inner", "outer", "K"))
def _neumann_all(inner, outer, w, theta, K, alpha):
    gw, gt, vjp_cross, step = _neumann_parts(inner, outer, w, theta, alpha)
    _, sums = jax.lax.scan(step, (gw, gw), None, length=K)
    return jax.vmap(lambda s: gt - vjp_cross(alpha * s)[0])(sums)


@functools.partial(jax.jit, static_argnames=("inner", "outer"))
def _neumann(inner, outer, w, theta, K, alpha):
    gw, gt, vjp_cross, step = _neumann_parts(inner, outer, w, theta, alpha)
    # K may be traced (vmap over K): fori_loop with a dynamic trip count
    _, s = jax.lax.fori_loop(1, K, lambda j, c: step(c, None)[0], (gw, gw))
    return gt - vjp_cross(alpha * s)[0]


class InnerGDOutput(NamedTuple):
    """Result of :func:`inner_gd`.

    Attributes:
      params: the last iterate ``w_T``.
      iterates: ``(T+1, d)``, ``w_0 … w_T``.
    """

    params: jax.Array
    iterates: Float[Array, "T+1 d"]


def inner_gd(
    inner: Loss, theta: Float[Array, "*p"], w0: Float[Array, " d"], *, num_steps: int, learning_rate: float
) -> InnerGDOutput:
    """``num_steps`` gradient steps ``w ← w − γ ∇_w g(w, θ)`` (``γ = learning_rate``).
    Compiled once per ``(inner, num_steps)`` and shape.

    Args:
      inner: ``g(w, θ)`` (hashable callable). theta: scalar or 1-D. w0: finite 1-D.
      num_steps: non-negative int. learning_rate: positive scalar ``γ``.

    Returns:
      An :class:`InnerGDOutput` ``(params, iterates)``.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    w0 = _vec("w0", w0)
    theta = _theta(theta)
    _check_losses(inner, _NO_OUTER, w0, theta, "w0")
    require_int("num_steps", num_steps, minimum=0)
    _pos_scalar("learning_rate", learning_rate)
    return InnerGDOutput(*_inner_gd_jit(inner, theta, w0, num_steps, learning_rate))


def _inner_gd(inner, theta, w0, steps, lr):
    grad_w = jax.grad(inner, argnums=0)

    def step(w, _):
        w = w - lr * grad_w(w, theta)
        return w, w

    wT, traj = jax.lax.scan(step, w0, None, length=steps)
    return wT, jnp.concatenate([w0[None], traj], axis=0)


_inner_gd_jit = jax.jit(_inner_gd, static_argnames=("inner", "steps"))  # steps: the scan length


def unrolled_hypergradient(
    inner: Loss,
    outer: Loss,
    theta: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    num_steps: Any,
    learning_rate: float,
    max_num_steps: int | None = None,
    truncate: Any = None,
) -> Float[Array, "*p"]:
    """Reverse-mode hypergradient through gradient descent on ``g``.

    Runs ``w_{t+1} = Φ(w_t, θ) = w_t − γ ∇_w g(w_t, θ)`` (``γ = learning_rate``) from
    ``w0`` for ``num_steps`` steps and back-propagates ``f(w_T, θ)`` through the last
    ``truncate`` of them only (truncated back-propagation, Shaban et al. 2019);
    ``truncate = num_steps`` (default) is full unrolling, the exact gradient of
    ``θ ↦ f(w_T(θ), θ)``. ``max_num_steps`` (default ``num_steps``) is the static scan
    length: give it to trace ``num_steps`` (``vmap`` over it); ``truncate`` may always be
    traced. Compiled once per ``(inner, outer, max_num_steps)`` and shape.

    Args:
      inner, outer: the losses (hashable callables). theta: scalar or 1-D. w0: finite 1-D.
      num_steps: ``1 ≤ num_steps ≤ max_num_steps`` (int; may be traced when
        ``max_num_steps`` is given).
      learning_rate: positive scalar ``γ``.
      max_num_steps: positive int, the scan length (default ``num_steps``, which must
        then be a Python int).
      truncate: ``1 ≤ truncate ≤ num_steps`` (int, may be traced).

    Returns:
      The hypergradient estimate (shape of ``theta``).

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta = _theta(theta)
    w0 = _vec("w0", w0)
    _check_losses(inner, outer, w0, theta, "w0")
    _pos_scalar("learning_rate", learning_rate)
    if max_num_steps is None:
        if not isinstance(num_steps, (int, np.integer)) or isinstance(num_steps, bool):
            raise TypeError(
                "num_steps must be a Python int unless max_num_steps (the static scan length) "
                f"is given, got {type(num_steps).__name__} {num_steps!r}"
            )
        require_int("num_steps", num_steps, minimum=1)
        max_num_steps = int(num_steps)
    require_int("max_num_steps", max_num_steps, minimum=1)
    _pos_int("num_steps", num_steps)
    if isinstance(num_steps, (int, np.integer)) and num_steps > max_num_steps:
        raise ValueError(f"num_steps must be at most max_num_steps={max_num_steps}, got {num_steps}")
    if truncate is None:
        truncate = num_steps
    _pos_int("truncate", truncate)
    if (
        isinstance(truncate, (int, np.integer))
        and isinstance(num_steps, (int, np.integer))
        and truncate > num_steps
    ):
        raise ValueError(f"truncate must be at most num_steps={num_steps}, got {truncate}")
    return _unrolled_jit(inner, outer, theta, w0, max_num_steps, learning_rate, num_steps, truncate)


def _unrolled(inner, outer, theta, w0, steps, lr, num_steps, truncate):
    # region: bilevel-unrolled
    grad_w = jax.grad(inner, argnums=0)
    _, traj = _inner_gd(inner, theta, w0, steps, lr)
    wT = traj[num_steps]
    gw = jax.grad(outer, argnums=0)(wT, theta)
    gt = jax.grad(outer, argnums=1)(wT, theta)

    def back(carry, t):
        a, acc = carry
        w = traj[t]
        _, vjp = jax.vjp(lambda u, th: u - lr * grad_w(u, th), w, theta)
        da_w, da_t = vjp(a)
        active = (t < num_steps) & (t >= num_steps - truncate)
        a = jnp.where(active, da_w, a)
        acc = acc + jnp.where(active, da_t, jnp.zeros_like(da_t))
        return (a, acc), None

    (_, acc), _ = jax.lax.scan(back, (gw, jnp.zeros_like(gt)), jnp.arange(steps - 1, -1, -1))
    return gt + acc
    # endregion: bilevel-unrolled


_unrolled_jit = jax.jit(_unrolled, static_argnames=("inner", "outer", "steps"))
