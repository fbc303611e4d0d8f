r"""Proximal gradient (ISTA), its accelerated form (FISTA) and adaptive restart, on
``F(x) = f(x) + g(x)`` with ``f`` ``L``-smooth and ``g`` closed convex with a cheap prox
(chapter 18); the lasso ``F(x) = ‖Ax − b‖²/(2N) + λ‖x‖₁`` with its duality gap.

ISTA: ``x_{k+1} = prox_{γg}(x_k − γ∇f(x_k))``, ``F(x_k) − F* ≤ ‖x_0 − x*‖²/(2γk)`` for
``γ ≤ 1/L``.  FISTA (Beck & Teboulle 2009): the same step from an extrapolated point
``y_k = x_k + ((t_{k−1} − 1)/t_k)(x_k − x_{k−1})``, ``t_k = (1 + √(1 + 4t_{k−1}²))/2``,
``F(x_k) − F* ≤ 2‖x_0 − x*‖²/(γ(k+1)²)``.  Adaptive restart (O'Donoghue & Candès 2015,
gradient scheme): reset ``t = 1`` whenever ``(y_k − x_{k+1})ᵀ(x_{k+1} − x_k) > 0``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import require_int, require_static_callable
from .._types import Array, ArrayLike, Bool, Float, Int
from ._common import _HIGHEST, _array, _choice, _design, _scalar, _start
from .operators import _soft

__all__ = [
    "ProxGradOutput",
    "proximal_gradient",
    "lasso",
    "lasso_objective",
    "lasso_duality_gap",
    "lasso_reg_max",
]

ACCELERATIONS = ("none", "fista", "restart", "nonconvex_ag")


class ProxGradOutput(NamedTuple):
    """Result of :func:`proximal_gradient` and :func:`lasso`.

    Attributes:
      params: the final iterate ``x_K``.
      values: ``values[k] = F(x_k)``, ``k = 0 … K``.
      grad_maps: ``grad_maps[k] = ‖x_k − prox_{γg}(x_k − γ∇f(x_k))‖/γ``, the gradient mapping
        (zero exactly at minimisers of ``F``).
      iterates: ``(K+1, d)``, ``x_0 … x_K`` (``None`` with ``return_iterates=False``).
      restarts: ``restarts[k]`` is True when step ``k`` reset the momentum (all False but for
        ``acceleration="restart"``).
      converged: every value finite and ``grad_maps[K] ≤ tol`` (a boolean array).
      n_iters: the steps taken, ``K``.
    """

    params: Float[Array, " d"]
    values: Float[Array, " K+1"]
    grad_maps: Float[Array, " K+1"]
    iterates: Float[Array, "K+1 d"] | None
    restarts: Bool[Array, " K"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _core(grad_f, F, prox, x0, learning_rate, num_steps, acceleration, tol, return_iterates):
    gam = jnp.asarray(learning_rate, x0.dtype)

    def gmap(x):
        return jnp.sqrt(jnp.sum((x - prox(x - gam * grad_f(x), gam)) ** 2)) / gam

    # region: prox-fista-step
    def body(carry, _):
        x_prev, y, t = carry
        x = prox(y - gam * grad_f(y), gam)
        if acceleration == "none":
            return (x, x, t), (x, jnp.asarray(False))
        restart = jnp.asarray(acceleration == "restart") & (jnp.vdot(y - x, x - x_prev) > 0)
        t_use = jnp.where(restart, jnp.ones_like(t), t)
        t_new = (1.0 + jnp.sqrt(1.0 + 4.0 * t_use**2)) / 2.0
        y_new = x + ((t_use - 1.0) / t_new) * (x - x_prev)
        return (x, y_new, t_new), (x, restart)

    # endregion: prox-fista-step

    # region: nonconvex-ag-step
    def ag_body(carry, _):
        # carry = (x^ag_{k-1}, x_{k-1}, 1/α_k); Ghadimi & Lan's AG, damping of Yang et al.
        x_ag, x_seq, t = carry
        alpha = 1.0 / t
        md = (1.0 - alpha) * x_ag + alpha * x_seq
        g = grad_f(md)
        x_seq = prox(x_seq - (gam / alpha) * g, gam / alpha)  # λ_k = β/α_k
        x_ag = prox(md - gam * g, gam)  # β = γ
        t_new = (1.0 + jnp.sqrt(1.0 + 4.0 * t**2)) / 2.0
        return (x_ag, x_seq, t_new), (x_ag, jnp.asarray(False))

    # endregion: nonconvex-ag-step

    t0 = jnp.ones((), x0.dtype)
    step = ag_body if acceleration == "nonconvex_ag" else body
    (x, _, _), (xs, restarts) = jax.lax.scan(step, (x0, x0, t0), None, length=num_steps)
    xs = jnp.concatenate([x0[None], xs])
    values = jax.vmap(F)(xs)
    gms = jax.vmap(gmap)(xs)
    converged = jnp.all(jnp.isfinite(values)) & (gms[-1] <= tol)
    return ProxGradOutput(
        x, values, gms, xs if return_iterates else None, restarts, converged, jnp.asarray(num_steps)
    )


def proximal_gradient(
    f: Callable,
    g: Callable,
    prox: Callable,
    x0: Float[ArrayLike, " d"],
    *,
    learning_rate: float,
    num_steps: int,
    acceleration: str = "none",
    tol: float = 0.0,
    return_iterates: bool = True,
) -> ProxGradOutput:
    """Minimise ``F = f + g`` by proximal gradient steps ``x ↦ prox_{γg}(x − γ∇f(x))``:
    ISTA (``acceleration="none"``), FISTA (``"fista"``), FISTA with the gradient
    restart of O'Donoghue & Candès (``"restart"``), or the accelerated gradient method of
    Ghadimi & Lan (2016) for a nonconvex smooth ``f`` (``"nonconvex_ag"``, with the damping
    of Yang et al.; see :mod:`optlab.prox.penalties`).  Compiled once per
    ``(f, g, prox, num_steps, acceleration)`` and shape: the callables are static
    (hashed by identity).

    Args:
      f: the smooth part, a callable of a vector returning a scalar (differentiated by JAX).
      g: the nonsmooth part (for ``values``).
      prox: ``prox(v, scale)`` of ``g`` (e.g. :func:`optlab.prox.prox_l1` scaled by ``λ``).
      x0: the start, a vector (finite).
      learning_rate: ``γ > 0``; the rates hold for ``γ ≤ 1/L``.
      num_steps: ``K ≥ 1``.
      acceleration: ``"none"`` (ISTA), ``"fista"``, ``"restart"`` or ``"nonconvex_ag"``.
      tol: tolerance on the final gradient mapping for ``converged``.
      return_iterates: record ``x_0 … x_K`` (``x^ag_k`` for ``"nonconvex_ag"``).

    Returns:
      A :class:`ProxGradOutput`.

    Raises:
      TypeError: a callable that is not callable or hashable, ``num_steps`` not an int.
      ValueError: bad ``x0``, ``learning_rate ≤ 0``, ``num_steps < 1``, an unknown
        ``acceleration``, a negative ``tol``.
    """
    require_static_callable("f", f)
    require_static_callable("g", g)
    require_static_callable("prox", prox)
    x0 = _array("x0", x0, ndim=1)
    learning_rate = _scalar("learning_rate", learning_rate, positive=True)
    require_int("num_steps", num_steps, minimum=1)
    _choice("acceleration", acceleration, ACCELERATIONS)
    tol = _scalar("tol", tol, positive=False)
    dt = x0.dtype
    return _generic(
        f,
        g,
        prox,
        x0,
        jnp.asarray(learning_rate, dt),
        jnp.asarray(tol, dt),
        num_steps,
        acceleration,
        bool(return_iterates),
    )


@functools.partial(
    jax.jit, static_argnames=("f", "g", "prox", "num_steps", "acceleration", "return_iterates")
)
def _generic(f, g, prox, x0, learning_rate, tol, num_steps, acceleration, return_iterates):
    def F(x):
        return f(x) + g(x)

    return _core(jax.grad(f), F, prox, x0, learning_rate, num_steps, acceleration, tol, return_iterates)


def _residual(A, b, x):
    return b - jnp.matmul(A, x, precision=_HIGHEST)


def _objective(A, b, x, reg):
    r = _residual(A, b, x)
    return jnp.sum(r * r) / (2.0 * A.shape[0]) + reg * jnp.sum(jnp.abs(x))


def _gap(A, b, x, reg):
    n = A.shape[0]
    r = _residual(A, b, x)
    corr = jnp.max(jnp.abs(jnp.matmul(A.T, r, precision=_HIGHEST)))
    # the dual point u = r·min(1, Nλ/‖Aᵀr‖_∞) is feasible: ‖Aᵀu‖_∞ ≤ Nλ
    u = r * jnp.minimum(1.0, n * reg / jnp.maximum(corr, jnp.finfo(r.dtype).tiny))
    dual = (jnp.sum(b * b) - jnp.sum((b - u) ** 2)) / (2.0 * n)
    return _objective(A, b, x, reg) - dual


def _lasso_args(A, b, x, reg):
    A, b = _design(A, b)
    x = _array("x", x, ndim=1)
    if x.shape[0] != A.shape[1]:
        raise ValueError(f"x must have one entry per column of A ({A.shape[1]}), got shape {tuple(x.shape)}")
    reg = _scalar("reg", reg, positive=False)
    return A, b, x.astype(A.dtype), reg


def lasso_objective(
    A: Float[ArrayLike, "N d"], b: Float[ArrayLike, " N"], x: Float[ArrayLike, " d"], *, reg: float
) -> Float[Array, ""]:
    """The lasso objective ``F(x) = ‖Ax − b‖²/(2N) + λ‖x‖₁`` (scikit-learn's scaling, so
    ``λ`` is ``sklearn.linear_model.Lasso``'s ``alpha``).

    Args:
      A: the design, ``N × d`` (one example per row).
      b: the targets, ``(N,)``.
      x: the coefficients, ``(d,)``.
      reg: ``λ ≥ 0``.

    Returns:
      ``F(x)``, a scalar.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: mismatched shapes, NaN/inf entries, ``reg < 0``.
    """
    A, b, x, reg = _lasso_args(A, b, x, reg)
    return _objective_jit(A, b, x, reg)


def lasso_duality_gap(
    A: Float[ArrayLike, "N d"], b: Float[ArrayLike, " N"], x: Float[ArrayLike, " d"], *, reg: float
) -> Float[Array, ""]:
    """The duality gap ``F(x) − D(u) ≥ F(x) − F*`` of the lasso at ``x``, with the dual
    ``D(u) = (‖b‖² − ‖b − u‖²)/(2N)`` over ``‖Aᵀu‖_∞ ≤ Nλ`` evaluated at the rescaled
    residual ``u = (b − Ax)·min(1, Nλ/‖Aᵀ(b − Ax)‖_∞)``; zero exactly at a solution.

    Args:
      A: the design, ``N × d``.
      b: the targets, ``(N,)``.
      x: the coefficients, ``(d,)``.
      reg: ``λ ≥ 0``.

    Returns:
      The gap, a non-negative scalar (up to rounding).

    Raises:
      TypeError: a non-numeric argument.
      ValueError: mismatched shapes, NaN/inf entries, ``reg < 0``.
    """
    A, b, x, reg = _lasso_args(A, b, x, reg)
    return _gap_jit(A, b, x, reg)


_gap_jit = jax.jit(_gap)
_objective_jit = jax.jit(_objective)


def lasso_reg_max(A: Float[ArrayLike, "N d"], b: Float[ArrayLike, " N"]) -> Float[Array, ""]:
    """``λ_max = ‖Aᵀb‖_∞/N``: the smallest ``λ`` for which ``x = 0`` solves the lasso (the
    start of the regularisation path).

    Args:
      A: the design, ``N × d``.
      b: the targets, ``(N,)``.

    Returns:
      ``λ_max``, a scalar.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: mismatched shapes, NaN/inf entries.
    """
    A, b = _design(A, b)
    return jnp.max(jnp.abs(jnp.matmul(A.T, b, precision=_HIGHEST))) / A.shape[0]


def lasso(
    A: Float[ArrayLike, "N d"],
    b: Float[ArrayLike, " N"],
    *,
    reg: float,
    num_steps: int,
    learning_rate: float | None = None,
    acceleration: str = "fista",
    x0: Float[ArrayLike, " d"] | None = None,
    tol: float = 0.0,
    return_iterates: bool = True,
) -> ProxGradOutput:
    """The lasso ``min ‖Ax − b‖²/(2N) + λ‖x‖₁`` by ISTA, FISTA or FISTA with restart
    (see :func:`proximal_gradient`); ``A`` and ``b`` are traced, so a new problem of the
    same shape does not compile again.

    Args:
      A: the design, ``N × d``.
      b: the targets, ``(N,)``.
      reg: ``λ ≥ 0``.
      num_steps: ``K ≥ 1``.
      learning_rate: ``γ > 0``; default ``1/L`` with ``L = ‖A‖₂²/N``.
      acceleration: ``"none"`` (ISTA), ``"fista"``, ``"restart"`` or ``"nonconvex_ag"``.
      x0: the start (default zeros).
      tol: tolerance on the final gradient mapping for ``converged``.
      return_iterates: record ``x_0 … x_K``.

    Returns:
      A :class:`ProxGradOutput` (``values`` are lasso objectives).

    Raises:
      TypeError: a non-numeric argument, ``num_steps`` not an int.
      ValueError: mismatched shapes, NaN/inf entries, ``reg < 0``, ``learning_rate ≤ 0``,
        ``num_steps < 1``, an unknown ``acceleration``, a negative ``tol``.
    """
    A, b = _design(A, b)
    reg = _scalar("reg", reg, positive=False)
    require_int("num_steps", num_steps, minimum=1)
    if learning_rate is not None:
        learning_rate = _scalar("learning_rate", learning_rate, positive=True)
    _choice("acceleration", acceleration, ACCELERATIONS)
    x0 = _start("x0", x0, A.shape[1], A.dtype)
    tol = _scalar("tol", tol, positive=False)
    dt = A.dtype
    return _lasso(
        A,
        b,
        jnp.asarray(reg, dt),
        x0,
        None if learning_rate is None else jnp.asarray(learning_rate, dt),
        jnp.asarray(tol, dt),
        num_steps,
        acceleration,
        bool(return_iterates),
    )


@functools.partial(jax.jit, static_argnames=("num_steps", "acceleration", "return_iterates"))
def _lasso(A, b, reg, x0, learning_rate, tol, num_steps, acceleration, return_iterates):
    n = A.shape[0]
    # 1/L with L = ‖A‖₂²/N (an SVD) only when no step is given
    lr = (n / jnp.linalg.norm(A, 2) ** 2).astype(A.dtype) if learning_rate is None else learning_rate
    reg = jnp.asarray(reg, A.dtype)

    def grad_f(x):
        return -jnp.matmul(A.T, _residual(A, b, x), precision=_HIGHEST) / n

    def prox(v, scale):
        return _soft(v, scale * reg)

    def F(x):
        return _objective(A, b, x, reg)

    return _core(grad_f, F, prox, x0, lr, num_steps, acceleration, tol, return_iterates)
