r"""Primal–dual gradient descent–ascent for inequality-constrained learning
``min f(x) s.t. g(x) ≤ 0`` (chapter 11).

Reference: Elenter, Chamon, Ribeiro (2024) (primal–dual constrained learning).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import require_int, require_nonnegative, require_shape
from .._types import Array, Bool, Float, Int
from ._common import _array, _check_eq_problem, _pos_scalar, _tol

__all__ = ["PrimalDualOutput", "primal_dual"]


class PrimalDualOutput(NamedTuple):
    """Result of :func:`primal_dual`.

    Attributes:
      params: the final primal point ``x_T``.
      lam: the final multipliers ``λ_T``.
      iterates: ``(T+1, n)``, ``x_0 … x_T``.
      values: ``values[t] = f(x_t)``.
      violations: ``violations[t] = max(0, max_j g_j(x_t))``.
      lams: ``lams[t]``, the dual variables before step ``t``.
      converged: everything finite and the final pair is a KKT point up to ``tol``
        (stationarity ``‖∇ₓℒ‖ ≤ tol·max(1, ‖∇f‖)``, violation and complementary slackness
        ``|λᵀg| ≤ tol·max(1, |f|)``; a boolean array, valid under ``jit``).
      n_iters: the steps taken, ``T``.
    """

    params: jax.Array
    lam: jax.Array
    iterates: Float[Array, "T+1 n"]
    values: jax.Array
    violations: jax.Array
    lams: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def primal_dual(
    f: Callable,
    g: Callable,
    x0: Float[Array, " d"],
    *,
    learning_rate: float,
    dual_learning_rate: float,
    num_steps: int,
    lam0: Float[Array, " m"] | None = None,
    tol: float = 1e-6,
) -> PrimalDualOutput:
    """Gradient descent–ascent on ``ℒ(x, λ) = f(x) + λᵀg(x)``, ``λ ≥ 0``:
    ``x ← x − γ ∇ₓℒ(x, λ)``, then ``λ ← max(0, λ + γ_λ g(x))`` (dual ascent with the
    fresh primal iterate), for ``min f(x) s.t. g(x) ≤ 0``. Compiled once per
    ``(f, g, num_steps)`` and shape.

    Args:
      f, g: objective and inequality constraints (hashable callables).
      x0: finite start (1-D). learning_rate: the primal step size ``γ > 0``;
      dual_learning_rate: the dual step size ``γ_λ > 0``. num_steps: positive int.
      lam0: initial multipliers ``≥ 0``, one per constraint.
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`PrimalDualOutput`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    x0, m = _check_eq_problem(f, g, x0, cname="g")
    _pos_scalar("learning_rate", learning_rate)
    _pos_scalar("dual_learning_rate", dual_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _tol("tol", tol)
    lam = (
        jnp.zeros(m, x0.dtype)
        if lam0 is None
        else jnp.atleast_1d(_array("lam0", lam0, ndim=(0, 1)).astype(x0.dtype))
    )
    require_shape("lam0", lam, (m,))
    require_nonnegative("lam0", lam)
    return _primal_dual(f, g, num_steps, x0, lam, learning_rate, dual_learning_rate, tol)


@functools.partial(jax.jit, static_argnames=("f", "g", "num_steps"))
def _primal_dual(f, g, num_steps, x0, lam, learning_rate, dual_learning_rate, tol):
    def gv(x):
        return jnp.atleast_1d(g(x))

    def lag(x, lam):
        return f(x) + jnp.vdot(lam, gv(x))

    gl = jax.grad(lag)

    def body(carry, _):
        x, lam = carry
        v = f(x)
        viol = jnp.maximum(0.0, jnp.max(gv(x)))
        xn = x - learning_rate * gl(x, lam)
        lamn = jnp.maximum(0.0, lam + dual_learning_rate * gv(xn))
        return (xn, lamn), (v, viol, lam, xn)

    (x, lam), (vals, viols, lams, xs) = jax.lax.scan(body, (x0, lam), None, length=num_steps)
    f_T, gf = jax.value_and_grad(f)(x)
    g_T = gv(x)
    scale_f = jnp.maximum(1.0, jnp.abs(f_T))
    converged = (
        jnp.all(jnp.isfinite(vals))
        & jnp.all(jnp.isfinite(x))
        & jnp.all(jnp.isfinite(lam))
        & (jnp.linalg.norm(gl(x, lam)) <= tol * jnp.maximum(1.0, jnp.linalg.norm(gf)))
        & (jnp.max(g_T) <= tol * scale_f)
        & (jnp.abs(jnp.vdot(lam, g_T)) <= tol * scale_f)
    )
    iterates = jnp.concatenate([x0[None], xs])
    return PrimalDualOutput(x, lam, iterates, vals, viols, lams, converged, jnp.asarray(num_steps))
