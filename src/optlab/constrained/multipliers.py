r"""The quadratic penalty against the augmented Lagrangian (method of multipliers) for
``min f(x) s.t. c(x) = 0``, with damped Newton subproblem solves (chapter 11)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import require_int, require_positive, require_shape
from .._types import Array, Bool, Float, Int
from ._common import _HIGHEST, _array, _check_eq_problem, _pos_scalar, _tiny, _tol

__all__ = ["MultiplierOutput", "quadratic_penalty", "augmented_lagrangian"]


class MultiplierOutput(NamedTuple):
    """Result of :func:`quadratic_penalty` and :func:`augmented_lagrangian` (one row per
    outer iteration ``k = 1 … K`` unless stated).

    Attributes:
      params: the last subproblem's minimiser ``x_K``.
      iterates: ``(K+1, n)``, the start ``x_0`` then one subproblem minimiser per outer
        iteration.
      lams: ``lams[k-1]``, the multiplier estimate.
      violations: ``violations[k-1] = ‖c(x_k)‖``.
      conds: ``conds[k-1]``, the condition number of the subproblem's Hessian at ``x_k``.
      mus: ``mus[k-1]``, the penalty.
      converged: everything finite, the last subproblem solved
        (``‖∇ₓφ(x_K)‖ ≤ √tol·max(1, ‖∇f(x_K)‖)``) and ``violations[-1] ≤ tol·max(1, ‖c(x0)‖)``
        (a boolean array, valid under ``jit``).
      n_iters: the outer iterations taken, ``K``.
    """

    params: jax.Array
    iterates: Float[Array, "K+1 n"]
    lams: jax.Array
    violations: jax.Array
    conds: jax.Array
    mus: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _phi(f, c, x, lam, mu):
    """``f + λᵀc + (μ/2)‖c‖²`` (the quadratic penalty has ``λ = 0``)."""
    cx = jnp.atleast_1d(c(x))
    return f(x) + jnp.vdot(lam, cx) + 0.5 * mu * jnp.sum(cx**2)


def _eig_direction(g, H):
    """Newton direction with the eigenvalues of ``H`` floored (a descent direction)."""
    w, V = jnp.linalg.eigh(H)
    w = jnp.maximum(w, 1e-8 * jnp.max(jnp.abs(w)) + 1e-12)
    return -jnp.matmul(V, jnp.matmul(V.T, g, precision=_HIGHEST) / w, precision=_HIGHEST)


def _cholesky_direction(g, H):
    """Newton direction for ``H + τI`` with the smallest ``τ ∈ {0, β, 2β, 4β, …}`` that makes it
    positive definite (Nocedal & Wright, Algorithm 3.3; ``β = 10⁻³·max|Hᵢᵢ|``): Cholesky
    factorizations only, cheaper than ``eigh`` for large ``n`` on CPU."""
    eye = jnp.eye(H.shape[0], dtype=H.dtype)
    beta = 1e-3 * jnp.max(jnp.abs(jnp.diag(H))) + jnp.finfo(H.dtype).tiny
    tau0 = jnp.where(jnp.min(jnp.diag(H)) > 0, 0.0, beta - jnp.min(jnp.diag(H)))

    def factor(tau):
        return jnp.linalg.cholesky(H + tau * eye)

    def cond(state):
        tau, L, k = state
        return ~jnp.all(jnp.isfinite(L)) & (k < 60)

    def body(state):
        tau, _, k = state
        tau = jnp.maximum(2.0 * tau, beta)
        return tau, factor(tau), k + 1

    _, L, _ = jax.lax.while_loop(cond, body, (tau0, factor(tau0), 0))
    y = jax.scipy.linalg.solve_triangular(L, g, lower=True)
    return -jax.scipy.linalg.solve_triangular(L.T, y, lower=False)


def _newton_solve(f, c, newton_num_steps, x, lam, mu, direction=_eig_direction, report_cond=True):
    """Damped Newton for ``x ↦ φ(x, λ, μ)`` (``direction``: the eigenvalues floored, or a
    Cholesky factorization with a shift, so that it is a descent direction; Armijo
    backtracking); returns ``(x, cond(H), ‖∇φ(x)‖)`` (``cond`` is NaN unless ``report_cond``)."""
    phi = functools.partial(_phi, f, c)
    g_fn = jax.grad(phi)
    h_fn = jax.hessian(phi)

    def step(_, x):
        g = g_fn(x, lam, mu)
        d = direction(g, h_fn(x, lam, mu))
        f0 = phi(x, lam, mu)
        slope = jnp.vdot(g, d)

        def cond(a):  # a trial point where φ is not finite (exp overflow, say) is rejected too
            return ~(phi(x + a * d, lam, mu) <= f0 + 1e-4 * a * slope) & (a > 1e-10)

        a = jax.lax.while_loop(cond, lambda a: 0.5 * a, jnp.asarray(1.0, x.dtype))
        return x + a * d

    x = jax.lax.fori_loop(0, newton_num_steps, step, x)
    if report_cond:
        w = jnp.linalg.eigvalsh(h_fn(x, lam, mu))
        cond_h = jnp.max(jnp.abs(w)) / jnp.maximum(jnp.min(jnp.abs(w)), _tiny(x.dtype))
    else:
        cond_h = jnp.asarray(jnp.nan, x.dtype)
    return x, cond_h, jnp.linalg.norm(g_fn(x, lam, mu))


def _multiplier_converged(f, c, x0, x_last, gnorm, viols, tol, *arrays):
    finite = jnp.all(jnp.isfinite(x_last))
    for a in arrays:
        finite = finite & jnp.all(jnp.isfinite(a))
    c0 = jnp.linalg.norm(jnp.atleast_1d(c(x0)))
    gf = jnp.linalg.norm(jax.grad(f)(x_last))
    return (
        finite & (viols[-1] <= tol * jnp.maximum(1.0, c0)) & (gnorm <= jnp.sqrt(tol) * jnp.maximum(1.0, gf))
    )


@functools.partial(jax.jit, static_argnames=("f", "c", "newton_num_steps"))
def _penalty_path(f, c, newton_num_steps, x0, mus, tol):
    m = jnp.atleast_1d(c(x0)).shape[0]
    lam0 = jnp.zeros(m, x0.dtype)

    def body(x, mu):
        x, cond_h, gn = _newton_solve(f, c, newton_num_steps, x, lam0, mu)
        cx = jnp.atleast_1d(c(x))
        return x, (x, mu * cx, jnp.linalg.norm(cx), cond_h, mu, gn)

    _, (xs, lams, viols, conds, mus_, gns) = jax.lax.scan(body, x0, mus)
    conv = _multiplier_converged(f, c, x0, xs[-1], gns[-1], viols, tol, lams, conds)
    iterates = jnp.concatenate([x0[None], xs])
    return MultiplierOutput(xs[-1], iterates, lams, viols, conds, mus_, conv, jnp.asarray(mus.shape[0]))


@functools.partial(jax.jit, static_argnames=("f", "c", "newton_num_steps", "num_steps"))
def _alm_path(f, c, newton_num_steps, num_steps, x0, lam0, mu, tol):
    def body(carry, _):
        x, lam = carry
        x, cond_h, gn = _newton_solve(f, c, newton_num_steps, x, lam, mu)
        cx = jnp.atleast_1d(c(x))
        lam = lam + mu * cx
        return (x, lam), (x, lam, jnp.linalg.norm(cx), cond_h, mu, gn)

    _, (xs, lams, viols, conds, mus_, gns) = jax.lax.scan(body, (x0, lam0), None, length=num_steps)
    conv = _multiplier_converged(f, c, x0, xs[-1], gns[-1], viols, tol, lams, conds)
    iterates = jnp.concatenate([x0[None], xs])
    return MultiplierOutput(xs[-1], iterates, lams, viols, conds, mus_, conv, jnp.asarray(num_steps))


def quadratic_penalty(
    f: Callable,
    c: Callable,
    x0: Float[Array, " d"],
    mus: Float[Array, " K"],
    *,
    newton_num_steps: int = 30,
    tol: float = 1e-6,
) -> MultiplierOutput:
    """Minimise ``f + (μ_k/2)‖c‖²`` for the increasing penalties ``mus`` (warm
    started). Feasibility needs ``μ → ∞``; the Hessian's condition number grows like μ.
    ``lams[k] = μ_k c(x_k)`` is the implied multiplier estimate. One compiled
    ``lax.scan`` per ``(f, c, newton_num_steps)`` and shape.

    Args:
      f: objective ``ℝⁿ → ℝ`` (hashable callable). c: constraints ``ℝⁿ → ℝᵐ``.
      x0: start, a finite 1-D vector.
      mus: 1-D array of positive penalties.
      newton_num_steps: Newton steps per subproblem (positive int).
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`MultiplierOutput`.

    Raises:
      TypeError / ValueError: as for the other solvers (names the argument).
    """
    x0, m = _check_eq_problem(f, c, x0)
    mus = _array("mus", mus, ndim=1).astype(x0.dtype)
    require_positive("mus", mus)
    require_int("newton_num_steps", newton_num_steps, minimum=1)
    _tol("tol", tol)
    return _penalty_path(f, c, newton_num_steps, x0, mus, tol)


def augmented_lagrangian(
    f: Callable,
    c: Callable,
    x0: Float[Array, " d"],
    mu: float,
    *,
    num_steps: int,
    lam0: Float[Array, " m"] | None = None,
    newton_num_steps: int = 30,
    tol: float = 1e-6,
) -> MultiplierOutput:
    """Method of multipliers: ``x_k = argmin ℒ_μ(x, λ_k) = f + λ_kᵀc + (μ/2)‖c‖²``,
    ``λ_{k+1} = λ_k + μ c(x_k)``, with a *fixed* μ (``lams[k]`` is ``λ_{k+1}``). One
    compiled ``lax.scan`` per ``(f, c, newton_num_steps, num_steps)`` and shape.

    Args:
      f, c: objective and constraints (hashable callables).
      x0: start, a finite 1-D vector.
      mu: penalty ``μ > 0``.
      num_steps: outer iterations (positive int).
      lam0: initial multipliers ``(m,)`` (default zeros).
      newton_num_steps: Newton steps per subproblem (positive int).
      tol: tolerance of the ``converged`` flag.

    Returns:
      A :class:`MultiplierOutput`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    x0, m = _check_eq_problem(f, c, x0)
    _pos_scalar("mu", mu)
    require_int("num_steps", num_steps, minimum=1)
    require_int("newton_num_steps", newton_num_steps, minimum=1)
    _tol("tol", tol)
    lam = jnp.zeros(m, x0.dtype) if lam0 is None else _array("lam0", lam0).astype(x0.dtype)
    require_shape("lam0", lam, (m,))
    return _alm_path(f, c, newton_num_steps, num_steps, x0, lam, jnp.asarray(mu, x0.dtype), tol)
