r"""Projected gradient descent ``x_{t+1} = P_𝒞(x_t − γ ∇f(x_t))`` over a set of
:mod:`optlab.constrained.sets` (chapter 11)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import require_int, require_static_callable
from .._types import Array, Bool, Float, Int
from ._common import _pos_scalar, _tol
from .sets import _require_set, _Set, _start

__all__ = ["PGDOutput", "projected_gradient"]


class PGDOutput(NamedTuple):
    """Result of :func:`projected_gradient`.

    Attributes:
      params: the final iterate ``x_T``.
      values: ``values[t] = f(x_t)``.
      grad_maps: ``grad_maps[t] = ‖x_t − P(x_t − γ∇f(x_t))‖/γ``, the gradient mapping (zero
        exactly at constrained stationary points).
      iterates: ``(T+1, ...)``, ``x_0 … x_T`` (``x_0`` projected).
      converged: every value finite and the gradient mapping at the final iterate at most
        ``tol·max(1, ‖∇f(x_T)‖)`` (a boolean array, valid under ``jit``).
      n_iters: the steps taken, ``T``.
    """

    params: jax.Array
    values: jax.Array
    grad_maps: jax.Array
    iterates: Float[Array, "T+1 ..."]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def projected_gradient(
    f: Callable,
    cset: _Set,
    x0: Float[Array, "*shape"],
    *,
    learning_rate: float,
    num_steps: int,
    tol: float = 1e-6,
) -> PGDOutput:
    """``x_{t+1} = P_𝒞(x_t − γ ∇f(x_t))`` for ``num_steps`` steps (``x0`` need not be
    feasible; it is projected first). Compiled once per ``(f, num_steps)``, set type
    and shape: ``f`` is a static argument (hashed by identity).

    Args:
      f: the objective (a hashable callable of an array).
      cset: a set built by this module.
      x0: the start (finite, converted to a float array).
      learning_rate: the step size ``γ > 0``.
      num_steps: number of steps (a positive int).
      tol: tolerance of the ``converged`` flag (non-negative).

    Returns:
      A :class:`PGDOutput`.

    Raises:
      TypeError: ``f`` not callable, ``cset`` not a set, ``num_steps`` not an int, or a
        non-numeric array argument.
      ValueError: non-positive ``learning_rate``, ``num_steps < 1``, bad ``x0``.
    """
    require_static_callable("f", f)
    _require_set("cset", cset)
    x0 = _start("x0", x0, cset)
    _pos_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _tol("tol", tol)
    return _pgd(f, cset, x0, learning_rate, num_steps, tol)


@functools.partial(jax.jit, static_argnames=("f", "num_steps"))
def _pgd(f, cset, x0, learning_rate, num_steps, tol):
    x0 = cset.project(x0)
    vg = jax.value_and_grad(f)

    def gmap(x):
        v, g = vg(x)
        xn = cset.project(x - learning_rate * g)
        return v, g, xn, jnp.sqrt(jnp.sum((x - xn) ** 2)) / learning_rate

    def body(x, _):
        v, _, xn, gm = gmap(x)
        return xn, (v, gm, xn)

    x, (vals, gms, xs) = jax.lax.scan(body, x0, None, length=num_steps)
    v_T, g_T, _, gm_T = gmap(x)
    converged = (
        jnp.all(jnp.isfinite(vals))
        & jnp.isfinite(v_T)
        & (gm_T <= tol * jnp.maximum(1.0, jnp.sqrt(jnp.sum(g_T**2))))
    )
    return PGDOutput(x, vals, gms, jnp.concatenate([x0[None], xs]), converged, jnp.asarray(num_steps))
