"""Newton's method and its globalisation (chapter 5, first part): pure, damped (classical,
AICN, the ``O(k⁻³)`` RN schedule), Armijo backtracking, saddle-free and gradient-regularised
Newton, each returning a :class:`NewtonTrace`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .. import _checks
from .._types import Array, Bool, Float, Int
from ._common import (
    _check_hessian_fn,
    _check_matrix,
    _check_vector,
    _highest_precision,
    _in_range,
    _positive,
)

__all__ = [
    "NewtonTrace",
    "gradient_regularized_newton",
    "newton",
    "newton_backtracking",
    "newton_decrement",
    "saddle_free_newton",
]


# ---------------------------------------------------------------------------
# 1. Newton and its globalisation
# ---------------------------------------------------------------------------


class NewtonTrace(NamedTuple):
    """Trajectory of a Newton-type method (``num_steps + 1`` rows, ``x_0`` included).

    Attributes:
      params: the final point ``x_N``, shape ``(d,)``.
      iterates: ``x_0, …, x_N``, shape ``(N + 1, d)``.
      values: ``f(x_k)``.
      grad_norms: ``‖∇f(x_k)‖``.
      learning_rates: the step ``α_k`` taken at each iteration, shape ``(N,)``
        (:func:`gradient_regularized_newton`: its regulariser ``λ_k``).
      converged: ``‖∇f(x_N)‖ ≤ tol`` (False if the run blew up to inf/NaN).
      n_iters: the first ``k`` with ``‖∇f(x_k)‖ ≤ tol`` (the steps needed to reach
        ``tol``), ``N`` if no iterate reached it.
    """

    params: Float[Array, " d"]
    iterates: Float[Array, "N+1 d"]
    values: Array
    grad_norms: Array
    learning_rates: Float[Array, " N"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


@_highest_precision
def newton_decrement(g: Float[Array, " d"], H: Float[Array, "d d"]) -> Float[Array, ""]:
    """Local dual norm ``λ(x) = ‖∇f(x)‖*_x = √(gᵀ H⁻¹ g)`` (Newton decrement).

    Args:
      g: gradient, shape ``(d,)``.
      H: Hessian, shape ``(d, d)`` (positive definite for a meaningful value).

    Returns:
      The scalar ``λ`` (``gᵀH⁻¹g`` clipped at 0 before the square root).

    Raises:
      TypeError: non-numeric input.
      ValueError: wrong shapes, empty or non-finite input.
    """
    g = _check_vector("g", g)
    H = _check_matrix("H", H)
    _checks.require_shape("H", H, (g.shape[0], g.shape[0]))
    return jnp.sqrt(jnp.maximum(g @ jnp.linalg.solve(H, g), 0.0))


@partial(jax.jit, static_argnames=("step", "fun", "hess", "num_steps", "config"))
def _newton_engine(step, fun, hess, x0, num_steps, tol, hyper, config):
    """Shared engine: ``step(fun, hess, x, hyper, config) -> (x_next, alpha)`` iterated in
    ``lax.scan``.  Module-level ``jit``: one compile per (step rule, ``fun``, ``hess``,
    shape of ``x0``, ``num_steps``, ``config``); ``x0``, ``tol`` and the numeric
    hyper-parameters ``hyper`` are traced, so new values do not recompile.  Matrix
    products run at ``Precision.HIGHEST`` (no TF32 on GPUs)."""
    with jax.default_matmul_precision("highest"):
        value_and_grad = jax.value_and_grad(fun)

        def body(x, _):
            x_next, alpha = step(fun, hess, x, hyper, config)
            return x_next, (x_next, alpha)

        _, (xs, alphas) = jax.lax.scan(body, x0, None, length=num_steps)
        iterates = jnp.concatenate([x0[None], xs], axis=0)
        values, grads = jax.vmap(value_and_grad)(iterates)
        grad_norms = jnp.linalg.norm(grads, axis=-1)
        converged = jnp.isfinite(grad_norms[-1]) & (grad_norms[-1] <= tol)
        reached = grad_norms <= tol
        n_iters = jnp.where(jnp.any(reached), jnp.argmax(reached), num_steps).astype(jnp.int32)
        return NewtonTrace(iterates[-1], iterates, values, grad_norms, alphas, converged, n_iters)


def _hessian(fun, hess, x):
    return jax.hessian(fun)(x) if hess is None else hess(x)


def _validate_newton(fun, x0, num_steps, tol, hessian_fn=None):
    _checks.require_callable("fun", fun)
    x0 = _check_vector("x0", x0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _positive("tol", tol)
    _checks.require_scalar_function("fun", fun, x0)
    _check_hessian_fn(hessian_fn, x0)
    return x0


def _hyper(x0, *values):
    return tuple(jnp.asarray(v, x0.dtype) for v in values)


_SCHEDULES = ("pure", "classical", "aicn", "root")


# region: second-order-newton-step
def _newton_step(fun, hess, x, hyper, schedule):
    """One damped Newton step ``x − α H⁻¹g`` with the step size ``α`` of ``schedule``."""
    smoothness, fixed_step, order = hyper
    g, H = jax.grad(fun)(x), _hessian(fun, hess, x)
    d = jnp.linalg.solve(H, g)
    lam = jnp.sqrt(jnp.maximum(g @ d, 0.0))  # Newton decrement λ
    if schedule == "pure":
        alpha = jnp.ones((), x.dtype)
    elif schedule == "classical":
        alpha = 1.0 / (1.0 + lam)
    elif schedule == "aicn":
        Llam = smoothness * lam
        alpha = jnp.where(Llam > 1e-12, (jnp.sqrt(1.0 + 2.0 * Llam) - 1.0) / jnp.maximum(Llam, 1e-30), 1.0)
    elif schedule == "root":  # RN of Hanzely et al. (2024): θ = (9 M_q)^{1/(q−1)} λ^{(q−2)/(q−1)}
        theta = (9.0 * smoothness) ** (1.0 / (order - 1.0)) * lam ** ((order - 2.0) / (order - 1.0))
        alpha = 1.0 / (1.0 + theta)
    else:  # "fixed"
        alpha = fixed_step
    return x - alpha * d, alpha


# endregion: second-order-newton-step


def newton(
    fun: Callable[[Array], Array],
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    learning_rate: str | float = "pure",
    smoothness: float | None = None,
    order: float = 4.0,
    hessian_fn: Callable[[Array], Array] | None = None,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Damped Newton ``x⁺ = x − α_k ∇²f(x)⁻¹∇f(x)``.

    Step-size rules, chosen by ``learning_rate`` (``λ = √(gᵀH⁻¹g)`` is the Newton decrement):

    - ``"pure"``: ``α = 1`` (local quadratic convergence, no global guarantee);
    - ``"classical"``: ``α = 1/(1+λ)`` (Nesterov's damped Newton for
      self-concordant functions);
    - ``"aicn"``: ``α = (−1 + √(1 + 2Lλ)) / (Lλ)`` with ``L = smoothness``,
      the affine-invariant cubic-Newton step size of Hanzely et al. (2022);
    - ``"root"``: the RN schedule of Hanzely, Abdukhakimov and Takáč (2024),
      ``α = 1/(1+θ)`` with ``θ = (9M_q)^{1/(q−1)} λ^{(q−2)/(q−1)}``, ``M_q = smoothness``
      and ``q = order`` in [2, 4]: the Newton step of the local model regularised by
      ``(σ/(q))‖y − x‖_x^{q}`` (at least as damped), with the global rate
      ``O(M_q D^q / k^{q−1})``, up to ``O(k⁻³)`` at ``q = 4``; ``θ → 0`` with ``λ`` for
      ``q > 2``, so the local rate stays quadratic;
    - a positive float: fixed ``α``.

    ``hessian_fn`` replaces the exact Hessian ``jax.hessian(fun)``.  The run is
    compiled once per (``fun``, ``hessian_fn``, shape of ``x0``, ``num_steps``,
    schedule kind): pass the same function objects to reuse it.

    Args:
      fun: scalar objective, JAX-traceable.
      x0: start, shape ``(d,)``, finite (lists and integers are converted).
      num_steps: number of Newton steps, ``>= 1``.
      learning_rate: ``"pure"``, ``"classical"``, ``"aicn"``, ``"root"`` or a fixed step ``> 0``.
      smoothness: ``L > 0`` (``"aicn"``) or ``M_q > 0`` (``"root"``), required by both.
      order: the smoothness order ``q`` in [2, 4] of ``"root"`` (``q = p + ν`` for a
        ``ν``-Hölder ``p``-th derivative in the local norm); ignored by the other rules.
      hessian_fn: ``x ↦ (d, d)`` matrix, default the exact Hessian.
      tol: ``converged`` means ``‖∇f(x_N)‖ ≤ tol``.

    Returns:
      A :class:`NewtonTrace`.

    Raises:
      TypeError: ``fun``/``hessian_fn`` not callable, non-numeric input.
      ValueError: an argument of the wrong shape, range or value.
    """
    x0 = _validate_newton(fun, x0, num_steps, tol, hessian_fn)
    if isinstance(learning_rate, str):
        if learning_rate not in _SCHEDULES:
            raise ValueError(
                f"learning_rate must be one of {_SCHEDULES} or a positive float, got {learning_rate!r}"
            )
        if learning_rate in ("aicn", "root"):
            if smoothness is None:
                raise ValueError(
                    f"learning_rate={learning_rate!r} needs smoothness (the constant L or M_q), got None"
                )
            _positive("smoothness", smoothness)
        kind, fixed = learning_rate, 1.0
    else:
        _positive("learning_rate (a fixed step size)", learning_rate)
        kind, fixed = "fixed", learning_rate
    _in_range("order", order, 2.0, 4.0)
    hyper = _hyper(x0, 1.0 if smoothness is None else smoothness, fixed, order)
    return _newton_engine(_newton_step, fun, hessian_fn, x0, num_steps, tol, hyper, kind)


def _backtracking_step(fun, hess, x, hyper, max_backtracks):
    """Newton direction ``d = H⁻¹g``, then the largest ``α = shrinkʲ`` passing Armijo's test."""
    armijo, shrink = hyper
    f, g, H = fun(x), jax.grad(fun)(x), _hessian(fun, hess, x)
    d = jnp.linalg.solve(H, g)
    slope = g @ d

    def cond(state):
        alpha, j = state
        bad = ~(fun(x - alpha * d) <= f - armijo * alpha * slope)
        return bad & (j < max_backtracks)

    alpha, _ = jax.lax.while_loop(cond, lambda s: (s[0] * shrink, s[1] + 1), (jnp.ones((), x.dtype), 0))
    return x - alpha * d, alpha


def newton_backtracking(
    fun: Callable[[Array], Array],
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    armijo: float = 1e-4,
    shrink: float = 0.5,
    max_backtracks: int = 50,
    hessian_fn: Callable[[Array], Array] | None = None,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Newton direction with Armijo backtracking: the largest ``α = shrinkʲ`` with
    ``f(x − αd) ≤ f(x) − armijo·α·gᵀd``, ``d = H⁻¹g`` (``H`` positive definite).

    Args:
      fun, x0, num_steps, hessian_fn, tol: as in :func:`newton`.
      armijo: sufficient-decrease constant in ``(0, 0.5)``.
      shrink: backtracking factor in ``(0, 1)``.
      max_backtracks: at most that many halvings per step, ``>= 1``.

    Returns:
      A :class:`NewtonTrace` (``learning_rates`` holds the accepted ``α``).

    Raises:
      TypeError, ValueError: as in :func:`newton`.
    """
    x0 = _validate_newton(fun, x0, num_steps, tol, hessian_fn)
    _in_range("armijo", armijo, 0.0, 0.5, low_inclusive=False, high_inclusive=False)
    _in_range("shrink", shrink, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    _checks.require_int("max_backtracks", max_backtracks, minimum=1)
    return _newton_engine(
        _backtracking_step,
        fun,
        hessian_fn,
        x0,
        num_steps,
        tol,
        _hyper(x0, armijo, shrink),
        int(max_backtracks),
    )


def _saddle_free_step(fun, hess, x, hyper, config):
    """``x − α V|Λ|⁻¹Vᵀg`` with ``|λ|`` floored at ``eps``."""
    learning_rate, eps = hyper
    g, H = jax.grad(fun)(x), jax.hessian(fun)(x)
    lam, V = jnp.linalg.eigh(H)
    d = V @ ((V.T @ g) / jnp.maximum(jnp.abs(lam), eps))
    return x - learning_rate * d, learning_rate


def saddle_free_newton(
    fun: Callable[[Array], Array],
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    learning_rate: float = 1.0,
    eps: float = 1e-8,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Saddle-free Newton (Dauphin et al. 2014): ``x⁺ = x − α |H|⁻¹ g`` where
    ``|H| = V|Λ|Vᵀ`` (absolute eigenvalues, floored at ``eps``).  Negative
    curvature directions are followed *downhill* instead of towards the saddle.

    Args:
      fun, x0, num_steps, tol: as in :func:`newton`.
      learning_rate: ``α > 0``.
      eps: floor ``> 0`` on ``|λ_i|``.

    Returns:
      A :class:`NewtonTrace`.

    Raises:
      TypeError, ValueError: as in :func:`newton`.
    """
    x0 = _validate_newton(fun, x0, num_steps, tol)
    _positive("learning_rate", learning_rate)
    _positive("eps", eps)
    return _newton_engine(
        _saddle_free_step, fun, None, x0, num_steps, tol, _hyper(x0, learning_rate, eps), None
    )


def _regularized_step(fun, hess, x, hyper, config):
    """``x − (B + √(H‖g‖)·I)⁻¹g``; records the regulariser ``λ = √(H‖g‖)``."""
    (hess_lipschitz,) = hyper
    g, B = jax.grad(fun)(x), _hessian(fun, hess, x)
    lam = jnp.sqrt(hess_lipschitz * jnp.linalg.norm(g))
    d = jnp.linalg.solve(B + lam * jnp.eye(x.shape[0], dtype=x.dtype), g)
    return x - d, lam


def gradient_regularized_newton(
    fun: Callable[[Array], Array],
    x0: Float[Array, " d"],
    *,
    num_steps: int,
    hess_lipschitz: float,
    hessian_fn: Callable[[Array], Array] | None = None,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Gradient-regularised Newton ``x⁺ = x − (B(x) + √(H‖∇f(x)‖)·I)⁻¹∇f(x)``.

    ``H = hess_lipschitz``; ``B = hessian_fn(x)`` is the exact Hessian by default
    or any positive semi-definite approximation (diagonal, Fisher, Gauss–Newton):
    the setting of *gradient-normalized smoothness* (Semenov et al.), whose
    regulariser ties the damping to the gradient norm.  ``learning_rates`` records
    the regulariser ``λ_k = √(H‖g_k‖)``.

    Args:
      fun, x0, num_steps, hessian_fn, tol: as in :func:`newton`.
      hess_lipschitz: ``H > 0``.

    Returns:
      A :class:`NewtonTrace`.

    Raises:
      TypeError, ValueError: as in :func:`newton`.
    """
    x0 = _validate_newton(fun, x0, num_steps, tol, hessian_fn)
    _positive("hess_lipschitz", hess_lipschitz)
    return _newton_engine(
        _regularized_step, fun, hessian_fn, x0, num_steps, tol, _hyper(x0, hess_lipschitz), None
    )
