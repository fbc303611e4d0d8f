"""Second-order methods and preconditioning: from Newton to Muon.

Three families, in the order of the chapter (``book/05_second_order``):

1. **Newton and its globalisation** on a scalar objective ``f: Rᵈ → R``:
   :func:`newton` (pure, classical damped ``1/(1+λ)``, AICN, the ``O(k⁻³)`` RN
   schedule or a fixed step), :func:`newton_backtracking` (Armijo), :func:`saddle_free_newton`
   (``−|H|⁻¹g``) and :func:`gradient_regularized_newton`
   (``−(B + √(H‖g‖)·I)⁻¹g`` with an exact or approximate Hessian ``B``).
   Each returns a :class:`NewtonTrace`.
2. **Matrix-free curvature**: :func:`hvp`, Hutchinson's diagonal estimate
   (:func:`hutchinson_samples`, :func:`hutchinson_diagonal`) and the optimiser built on
   it, AdaHessian (:func:`scale_by_adahessian`, :func:`adahessian`), the Gauss–Newton
   direction through the batch-sized Woodbury solve
   (:func:`gauss_newton_direction`), M-FAC inverse-Fisher products, static
   (:func:`mfac_static`, :func:`mfac_ihvp`) and sliding-window
   (:func:`mfac_window_init`, :func:`mfac_window_push`, :func:`mfac_window_ihvp`,
   :func:`scale_by_mfac`), and the K-FAC / MKOR rank-1 inverse update
   (:func:`rank1_ema_inverse_update`).
3. **Shampoo and orthogonalised updates**: :func:`inverse_pth_root`,
   :func:`shampoo_precondition`, :func:`scale_by_shampoo`, the power iteration towards
   the best Kronecker approximation (:func:`kronecker_power_iteration`); the polar factor
   (:func:`polar_factor`), :func:`newton_schulz`, :func:`auon_scale`; and the
   optax transformations :func:`scale_by_muon` / :func:`muon`,
   :func:`scale_by_auon`, :func:`drop_layers` / :func:`drop_muon`.

References: Hanzely et al. (damped Newton), Dauphin et al. 2014 (saddle-free
Newton), Semenov et al. (gradient-normalized smoothness), Frantar et al. 2021
(M-FAC), Mozaffari et al. 2023 (MKOR), Gupta et al. 2018 (Shampoo), Morwani et
al. (Shampoo's preconditioner), Korbit et al. (exact Gauss–Newton), Yao et al.
2021 (AdaHessian), Kovalev 2025 (orthogonalisation as non-Euclidean trust
region), Maity 2025 (AuON), Gruntkowska et al. 2025 (Drop-Muon).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from . import _checks
from ._types import Array, Bool, Float, Int, PRNGKeyArray
from .runner import Trace

__all__ = [
    # Newton family
    "NewtonTrace",
    "newton",
    "newton_backtracking",
    "saddle_free_newton",
    "gradient_regularized_newton",
    "newton_decrement",
    # matrix-free curvature
    "hvp",
    "hutchinson_samples",
    "hutchinson_diagonal",
    "AdaHessianState",
    "scale_by_adahessian",
    "adahessian",
    "gauss_newton_direction",
    "MFACState",
    "mfac_static",
    "mfac_ihvp",
    "empirical_fisher",
    "MFACWindow",
    "mfac_window_init",
    "mfac_window_push",
    "mfac_window_ihvp",
    "scale_by_mfac",
    "rank1_ema_inverse_update",
    "TNGDResult",
    "thermodynamic_solve",
    # Shampoo and orthogonalised updates
    "inverse_pth_root",
    "shampoo_precondition",
    "scale_by_shampoo",
    "KroneckerTrace",
    "kronecker_power_iteration",
    "polar_factor",
    "newton_schulz",
    "newton_schulz_iterates",
    "CUBIC_COEFFS",
    "MUON_COEFFS",
    "auon_scale",
    "scale_by_muon",
    "muon",
    "scale_by_auon",
    "drop_layers",
    "drop_muon",
    "run_transformation",
]


CUBIC_COEFFS = (1.5, -0.5, 0.0)
"""Classical (cubic) Newton–Schulz: ``X ← 1.5X − 0.5XXᵀX``; converges to ``UVᵀ``."""

MUON_COEFFS = (3.4445, -4.7750, 2.0315)
"""Quintic coefficients of the Muon reference code: fast, but only into a band around 1."""


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


HIGHEST = jax.lax.Precision.HIGHEST


def _highest_precision(fn):
    """Run ``fn`` (and trace its matrix products) at ``Precision.HIGHEST``.

    NVIDIA GPUs run float32 matmuls in TF32 (10-bit mantissa) by default, which
    changes the result of linear solves and matrix iterations; this keeps float32
    results the same on CPU and GPU."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return wrapper


class _ById:
    """Wrap an object (an optax transformation) so that ``jax.jit`` hashes it by identity."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _ById) and other.obj is self.obj


def _check_vector(name: str, x: Array) -> Array:
    """``x`` as a non-empty, finite 1-D float array (lists and integers converted)."""
    x = _checks.as_float_array(name, x, ndim=1)
    if x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {x.shape}")
    return x


def _check_matrix(name: str, x: Array, *, square: bool = False) -> Array:
    """``x`` as a non-empty, finite 2-D float array (lists and integers converted)."""
    x = _checks.as_float_array(name, x, ndim=2)
    if 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {x.shape}")
    if square and x.shape[0] != x.shape[1]:
        raise ValueError(f"{name} must be square, got shape {x.shape}")
    return x


def _check_tree(name: str, tree: Any) -> Any:
    """Every leaf of ``tree`` as a finite float array; refuse an empty pytree.

    A (nested) list or tuple of plain numbers is one array, not a pytree of scalars."""
    if (
        isinstance(tree, (list, tuple))
        and tree
        and all(
            isinstance(leaf, (bool, int, float, np.number))
            or (isinstance(leaf, np.ndarray) and leaf.ndim == 0)
            for leaf in jax.tree_util.tree_leaves(tree)
        )
    ):
        return _checks.as_float_array(name, tree)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if not leaves:
        raise ValueError(f"{name} must hold at least one array, got {tree!r}")
    return jax.tree_util.tree_unflatten(treedef, [_checks.as_float_array(name, leaf) for leaf in leaves])


def _scalar(name: str, value: Any) -> None:
    """``value`` must be one real number (not a string, None, or an array of several)."""
    _checks.as_float_array(name, value, ndim=0, finite=False)


def _positive(name: str, value: Any) -> None:
    _scalar(name, value)
    _checks.require_positive(name, value)


def _nonnegative(name: str, value: Any) -> None:
    _scalar(name, value)
    _checks.require_nonnegative(name, value)


def _in_range(name: str, value: Any, low: float, high: float, **kw) -> None:
    _scalar(name, value)
    _checks.require_in_range(name, value, low, high, **kw)


def _check_fun(fun: Callable, x: Any = None, name: str = "fun") -> None:
    """``fun`` callable and, given ``x``, returning a real scalar at ``x`` (checked by shape only)."""
    _checks.require_callable(name, fun)
    if x is None:
        return
    try:
        out = jax.eval_shape(fun, x)
    except Exception as err:  # noqa: BLE001 - re-raised naming the argument
        raise TypeError(
            f"{name} must accept the point given; calling it failed with {type(err).__name__}: {err}"
        ) from err
    if not (hasattr(out, "shape") and out.shape == () and jnp.issubdtype(out.dtype, jnp.floating)):
        raise ValueError(
            f"{name} must return a real scalar, got "
            f"{getattr(out, 'shape', type(out).__name__)} {getattr(out, 'dtype', '')}"
        )


def _check_hessian_fn(hessian_fn: Callable | None, x: Array) -> None:
    if hessian_fn is None:
        return
    _checks.require_callable("hessian_fn", hessian_fn)
    try:
        out = jax.eval_shape(hessian_fn, x)
    except Exception as err:  # noqa: BLE001
        raise TypeError(f"hessian_fn failed on x0: {type(err).__name__}: {err}") from err
    d = x.shape[0]
    if getattr(out, "shape", None) != (d, d):
        raise ValueError(f"hessian_fn must return a ({d}, {d}) matrix, got {getattr(out, 'shape', out)}")


def _check_coeffs(name: str, coeffs: Any) -> None:
    c = _checks.as_float_array(name, coeffs, ndim=1)
    if c.shape[0] != 3:
        raise ValueError(f"{name} must be three numbers (a, b, c), got {c.shape[0]}")


def _check_transformation(name: str, opt: Any) -> None:
    if not (callable(getattr(opt, "init", None)) and callable(getattr(opt, "update", None))):
        raise TypeError(
            f"{name} must be an optax.GradientTransformation (with init and update), got {type(opt).__name__}"
        )


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
    _check_fun(fun, x0)
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


# ---------------------------------------------------------------------------
# 2. Matrix-free curvature
# ---------------------------------------------------------------------------


def hvp(fun: Callable[[Array], Array], x: Any, v: Any) -> Any:
    """Hessian–vector product ``∇²f(x)v`` by forward-over-reverse differentiation
    (one extra gradient's cost, never forming ``∇²f``).  ``x`` and ``v`` may be pytrees.

    Args:
      fun: scalar objective ``f``, JAX-traceable.
      x: the point, an array or pytree (finite).
      v: the direction, with the structure and shapes of ``x``.

    Returns:
      ``∇²f(x)v``, with the structure of ``x``.

    Raises:
      TypeError: ``fun`` not callable or failing at ``x``, non-numeric input.
      ValueError: ``v`` not shaped like ``x``, an empty pytree, non-finite entries, ``fun`` not
        returning a real scalar.
    """
    _checks.require_callable("fun", fun)
    x, v = _check_tree("x", x), _check_tree("v", v)
    _checks.require_same_shape("x", x, "v", v)
    _check_fun(fun, x)
    return jax.jvp(jax.grad(fun), (x,), (v,))[1]


def hutchinson_samples(
    fun: Callable[[Array], Array], x: Float[Array, " d"], *, key: PRNGKeyArray, num_samples: int
) -> Float[Array, "num_samples d"]:
    """``num_samples`` independent unbiased estimates ``z ⊙ ∇²f(x)z`` of ``diag ∇²f(x)``,
    ``z`` Rademacher (AdaHessian's curvature estimate), shape ``(num_samples, d)``.

    Args:
      fun: scalar objective; x: point ``(d,)``; key: a JAX PRNG key;
      num_samples: number of probes, ``>= 1``.

    Returns:
      Array of shape ``(num_samples, d)``.

    Raises:
      TypeError: ``fun`` not callable, ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: ``x`` not a finite non-empty vector, ``num_samples < 1``.
    """
    _checks.require_callable("fun", fun)
    x = _check_vector("x", x)
    _checks.require_key("key", key)
    _checks.require_int("num_samples", num_samples, minimum=1)
    _check_fun(fun, x)
    z = jax.random.rademacher(key, (num_samples, x.shape[0]), dtype=x.dtype)
    hz = jax.vmap(lambda v: jax.jvp(jax.grad(fun), (x,), (v,))[1])(z)
    return z * hz


def hutchinson_diagonal(
    fun: Callable[[Array], Array], x: Float[Array, " d"], *, key: PRNGKeyArray, num_samples: int
) -> Float[Array, " d"]:
    """Hutchinson's estimate of ``diag ∇²f(x)``: the mean of :func:`hutchinson_samples`
    (same arguments and errors); shape ``(d,)``.

    Args:
      fun: scalar objective, JAX-traceable.
      x: the point, shape ``(d,)``.
      key: a JAX PRNG key (keyword-only).
      num_samples: number of Rademacher probes ``z``, ``>= 1``.

    Returns:
      The estimate of ``diag ∇²f(x)``, shape ``(d,)``.

    Raises:
      TypeError: ``fun`` not callable, ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: ``x`` not a finite non-empty vector, ``num_samples < 1``.
    """
    return jnp.mean(hutchinson_samples(fun, x, key=key, num_samples=num_samples), axis=0)


class AdaHessianState(NamedTuple):
    """State of :func:`scale_by_adahessian`.

    Attributes:
      count: the step count ``t``.
      key: the PRNG key of the next Rademacher probe.
      mu: the moving average ``m`` of the gradients (a pytree like the params).
      nu: the moving average ``v`` of the squared, block-averaged Hessian diagonals.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # a field named like tuple.count
    key: PRNGKeyArray
    mu: Any
    nu: Any


def _block_average(d: Array, block_size: int) -> Array:
    """AdaHessian's spatial averaging: ``D⁽ˢ⁾[ib+j] = (1/b) Σ_{l=1..b} D[ib+l]`` over the
    flattened leaf (``b = block_size`` divides its size)."""
    if block_size == 1:
        return d
    means = d.reshape(-1, block_size).mean(axis=1)
    return jnp.repeat(means, block_size).reshape(d.shape)


def _check_block_sizes(tree: Any, block_size: int) -> None:
    for leaf in jax.tree_util.tree_leaves(tree):
        if np.size(leaf) % block_size:
            raise ValueError(
                f"block_size must divide the size of every parameter leaf, got block_size={block_size} "
                f"for a leaf of shape {np.shape(leaf)}"
            )


def scale_by_adahessian(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-4,
    hessian_power: float = 1.0,
    block_size: int = 1,
    *,
    key: PRNGKeyArray,
) -> optax.GradientTransformationExtraArgs:
    """AdaHessian's direction (Yao et al. 2021): Adam with the squared gradient replaced by
    the squared Hutchinson estimate of the Hessian diagonal.

    At step ``t`` (``g_t`` the gradient, ``z_t`` a fresh Rademacher probe):
    ``D_t = z_t ⊙ ∇²f(x_t) z_t`` (:func:`hutchinson_samples`, one probe), spatially averaged
    over blocks of ``b`` consecutive entries, ``D⁽ˢ⁾_t``;
    ``m_t = β₁m_{t−1} + (1−β₁)g_t``, ``v_t = β₂v_{t−1} + (1−β₂)D⁽ˢ⁾_t ⊙ D⁽ˢ⁾_t``;
    the update is ``m̂_t / (v̂_t + ε)`` with ``m̂_t = m_t/(1−β₁ᵗ)`` and
    ``v̂_t = (√(v_t/(1−β₂ᵗ)))^k`` (``k`` the Hessian power).

    The Hessian-vector product needs the objective: ``update`` takes it as the extra
    argument ``fun=`` (a function of the params pytree), and ``params``.

    Args:
      b1: ``β₁`` in [0, 1).
      b2: ``β₂`` in [0, 1).
      eps: ``ε > 0``.
      hessian_power: ``k`` in [0, 1] (``k = 1``: Newton-like scaling, ``k = 0``: momentum SGD
        up to the factor ``1/(1+ε)``).
      block_size: ``b >= 1``, the spatial-averaging block; must divide every leaf's size.
      key: a JAX PRNG key (keyword-only), split at every step for the probe.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` with state :class:`AdaHessianState`
      (no learning rate: see :func:`adahessian`).

    Raises:
      TypeError: ``key`` not a PRNG key (an integer seed), a non-numeric hyper-parameter;
        at ``update``, ``fun`` missing or not callable.
      ValueError: a hyper-parameter out of range; at ``init``, ``block_size`` not dividing a
        leaf's size; at ``update``, ``params`` missing.
    """
    _in_range("b1", b1, 0.0, 1.0, high_inclusive=False)
    _in_range("b2", b2, 0.0, 1.0, high_inclusive=False)
    _positive("eps", eps)
    _in_range("hessian_power", hessian_power, 0.0, 1.0)
    _checks.require_int("block_size", block_size, minimum=1)
    _checks.require_key("key", key)
    block = int(block_size)

    def init_fn(params):
        params = _check_tree("params", params)
        _check_block_sizes(params, block)
        zeros = jax.tree.map(jnp.zeros_like, params)
        return AdaHessianState(jnp.zeros([], jnp.int32), jnp.asarray(key), zeros, zeros)

    def update_fn(updates, state, params=None, *, fun=None, **extra):
        del extra
        if params is None:
            raise ValueError("scale_by_adahessian needs params: call update(grads, state, params, fun=loss)")
        if fun is None or not callable(fun):
            raise TypeError(
                "scale_by_adahessian needs the objective: call update(grads, state, params, fun=loss), "
                f"got fun={fun!r}"
            )
        next_key, probe_key = jax.random.split(state.key)
        flat, unravel = ravel_pytree(params)
        diag = hutchinson_samples(lambda v: fun(unravel(v)), flat, key=probe_key, num_samples=1)[0]
        diag = jax.tree.map(lambda d: _block_average(d, block), unravel(diag))
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, updates)
        nu = jax.tree.map(lambda v, d: b2 * v + (1 - b2) * d * d, state.nu, diag)
        t = state.count + 1

        def direction(m, v):
            tt = t.astype(m.dtype)
            m_hat = m / (1 - jnp.asarray(b1, m.dtype) ** tt)
            v_hat = jnp.sqrt(v / (1 - jnp.asarray(b2, v.dtype) ** tt)) ** hessian_power
            return m_hat / (v_hat + eps)

        out = jax.tree.map(direction, mu, nu)
        return out, AdaHessianState(t, next_key, mu, nu)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def adahessian(
    learning_rate: float | Callable[[Array], Array],
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-4,
    hessian_power: float = 1.0,
    block_size: int = 1,
    *,
    key: PRNGKeyArray,
) -> optax.GradientTransformationExtraArgs:
    """AdaHessian (Yao et al. 2021): :func:`scale_by_adahessian` then the learning rate,
    ``x_{t+1} = x_t − η m̂_t/(v̂_t + ε)``.  Its ``update`` needs ``params`` and the
    objective as ``fun=`` (:func:`run_transformation` passes both).

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      b1, b2, eps, hessian_power, block_size: as in :func:`scale_by_adahessian`.
      key: a JAX PRNG key (keyword-only) for the Rademacher probes.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (a chain).

    Raises:
      TypeError, ValueError: ``learning_rate <= 0`` (when not a schedule) and the errors
        of :func:`scale_by_adahessian`.
    """
    _check_learning_rate(learning_rate)
    return optax.chain(
        scale_by_adahessian(b1, b2, eps, hessian_power, block_size, key=key),
        optax.scale_by_learning_rate(learning_rate),
    )


@_highest_precision
def gauss_newton_direction(
    J: Float[Array, "b p"], r: Float[Array, " b"], damping: float
) -> Float[Array, " p"]:
    """Damped Gauss–Newton direction ``(JᵀJ + λI)⁻¹Jᵀr`` computed as ``Jᵀ(JJᵀ + λI)⁻¹r``.

    ``J`` is the ``b × p`` Jacobian of the residuals ``r`` (``b`` = batch size);
    the Duncan–Guttman / Woodbury identity replaces a ``p × p`` solve by a
    ``b × b`` Cholesky solve: cost ``O(b²p + b³)`` (exact Gauss–Newton, EGN).

    Args:
      J: ``(b, p)`` Jacobian; r: ``(b,)`` residuals; damping: ``λ > 0``.

    Returns:
      The direction, shape ``(p,)``.

    Raises:
      TypeError: non-numeric input.
      ValueError: wrong shapes, non-finite entries, ``damping <= 0``.
    """
    J = _check_matrix("J", J)
    r = _check_vector("r", r)
    _positive("damping", damping)
    if r.shape[0] != J.shape[0]:
        raise ValueError(f"r must have length J.shape[0]={J.shape[0]}, got {r.shape[0]}")
    K = J @ J.T + damping * jnp.eye(J.shape[0], dtype=J.dtype)
    c = jax.scipy.linalg.cho_factor(K)
    return J.T @ jax.scipy.linalg.cho_solve(c, r)


class MFACState(NamedTuple):
    """Static M-FAC factorisation of ``F = λI + (1/m)Σᵢ gᵢgᵢᵀ``.

    ``F⁻¹x = x/λ − Σᵢ vᵢ (vᵢᵀx)/(m + gᵢᵀvᵢ)`` with ``vᵢ = F_{i−1}⁻¹gᵢ``.

    Attributes:
      inv_grads: the vectors ``vᵢ``, shape ``(m, d)``.
      denoms: ``m + gᵢᵀvᵢ``, shape ``(m,)``.
      damping: ``λ``, a scalar.
    """

    inv_grads: Float[Array, "m d"]  # (m, d): v_i
    denoms: Float[Array, " m"]  # (m,): m + g_i^T v_i
    damping: Float[Array, ""]


@_highest_precision
def empirical_fisher(grads: Float[Array, "m d"], damping: float) -> Float[Array, "d d"]:
    """Dense ``λI + (1/m)GᵀG`` for ``grads = G`` of shape ``(m, d)`` (reference only: O(d²) memory).

    Args:
      grads: the ``m`` gradients ``gᵢ`` as rows, shape ``(m, d)``.
      damping: ``λ > 0``.

    Returns:
      The empirical Fisher ``F``, shape ``(d, d)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``grads`` not a finite 2-D array, ``damping <= 0``.
    """
    grads = _check_matrix("grads", grads)
    _positive("damping", damping)
    m, d = grads.shape
    return damping * jnp.eye(d, dtype=grads.dtype) + grads.T @ grads / m


@_highest_precision
def mfac_static(grads: Float[Array, "m d"], damping: float) -> MFACState:
    """M-FAC precomputation (Frantar et al. 2021) by the recursive Sherman–Morrison
    (Woodbury) update, ``O(dm²)`` time and ``O(dm)`` memory.

    Adding ``gᵢ/√m`` to ``F_{i−1}`` gives
    ``F_i⁻¹ = F_{i−1}⁻¹ − vᵢvᵢᵀ/(m + gᵢᵀvᵢ)``, ``vᵢ = F_{i−1}⁻¹gᵢ``, and ``vᵢ``
    itself is an inverse-Hessian-vector product of the previous factorisation.

    Args:
      grads: the ``m`` gradients ``gᵢ`` as rows, shape ``(m, d)``.
      damping: ``λ > 0`` of ``F = λI + (1/m)Σᵢ gᵢgᵢᵀ``.

    Returns:
      An :class:`MFACState` for :func:`mfac_ihvp`.

    Raises:
      TypeError: non-numeric input.
      ValueError: ``grads`` not a finite non-empty 2-D array, ``damping <= 0``.
    """
    grads = _check_matrix("grads", grads)
    _positive("damping", damping)
    m, d = grads.shape
    lam = jnp.asarray(damping, grads.dtype)

    def body(carry, i):
        V, den = carry
        g = grads[i]
        mask = (jnp.arange(m) < i).astype(grads.dtype)
        coef = mask * (V @ g) / den
        v = g / lam - V.T @ coef
        V = V.at[i].set(v)
        den = den.at[i].set(m + g @ v)
        return (V, den), None

    V0 = jnp.zeros_like(grads)
    den0 = jnp.ones((m,), grads.dtype)
    (V, den), _ = jax.lax.scan(body, (V0, den0), jnp.arange(m))
    return MFACState(V, den, lam)


@_highest_precision
def mfac_ihvp(state: MFACState, x: Float[Array, " d"]) -> Float[Array, " d"]:
    """Inverse-Fisher-vector product ``F⁻¹x`` from :func:`mfac_static`: ``O(dm)``.

    Args:
      state: the factorisation from :func:`mfac_static`.
      x: the vector, shape ``(d,)``.

    Returns:
      ``F⁻¹x``, shape ``(d,)``.

    Raises:
      TypeError: ``state`` not an :class:`MFACState`.  ValueError: ``x`` of the wrong shape or non-finite.
    """
    if not isinstance(state, MFACState):
        raise TypeError(f"state must be an MFACState (from mfac_static), got {type(state).__name__}")
    x = _checks.as_float_array("x", x)
    _checks.require_shape("x", x, (state.inv_grads.shape[1],))
    return x / state.damping - state.inv_grads.T @ ((state.inv_grads @ x) / state.denoms)


class MFACWindow(NamedTuple):
    """Sliding-window M-FAC: the last ``m`` gradients (a ring buffer) and their Gram matrix.

    Attributes:
      grads: the window's gradients as rows, shape ``(m, d)`` (zero rows until filled).
      gram: ``grads @ grads.T``, shape ``(m, m)``.
      count: the number of gradients pushed so far (the next row written is ``count mod m``).
      damping: ``λ``, a scalar.
    """

    grads: Float[Array, "m d"]  # (m, d), zero rows until filled
    gram: Float[Array, "m m"]  # (m, m) = grads @ grads.T
    count: Int[Array, ""]  # type: ignore[assignment]  # number of gradients pushed so far
    damping: Float[Array, ""]


def mfac_window_init(dim: int, window: int, damping: float, dtype=jnp.float32) -> MFACWindow:
    """An empty window of ``window`` gradients of dimension ``dim``.

    Args:
      dim: the dimension ``d`` of a gradient, ``>= 1``.
      window: the number ``m`` of gradients kept, ``>= 1``.
      damping: ``λ > 0``.
      dtype: a floating dtype for the buffers.

    Returns:
      An :class:`MFACWindow` of zeros with ``count = 0``.

    Raises:
      TypeError: ``dim``/``window`` not integers, ``dtype`` not a floating dtype.
      ValueError: ``dim``/``window`` < 1, ``damping <= 0``.
    """
    _checks.require_int("dim", dim, minimum=1)
    _checks.require_int("window", window, minimum=1)
    _positive("damping", damping)
    try:
        floating = jnp.issubdtype(dtype, jnp.floating)
    except TypeError:
        floating = False
    if not floating:
        raise TypeError(f"dtype must be a floating dtype such as jnp.float32, got {dtype!r}")
    return MFACWindow(
        jnp.zeros((window, dim), dtype),
        jnp.zeros((window, window), dtype),
        jnp.zeros((), jnp.int32),
        jnp.asarray(damping, dtype),
    )


def _check_window(state: Any) -> None:
    if not isinstance(state, MFACWindow):
        raise TypeError(f"state must be an MFACWindow (from mfac_window_init), got {type(state).__name__}")


@_highest_precision
def mfac_window_push(state: MFACWindow, g: Float[Array, " d"]) -> MFACWindow:
    """Replace the oldest gradient by ``g``: ``O(dm)`` (one new Gram row/column).

    Args:
      state: the window, from :func:`mfac_window_init` or a previous push.
      g: the new gradient, shape ``(d,)``.

    Returns:
      The updated :class:`MFACWindow` (``count`` increased by one).

    Raises:
      TypeError: ``state`` not an :class:`MFACWindow`.  ValueError: ``g`` of the wrong shape or non-finite.
    """
    _check_window(state)
    g = _checks.as_float_array("g", g)
    _checks.require_shape("g", g, (state.grads.shape[1],))
    m = state.grads.shape[0]
    i = state.count % m
    grads = state.grads.at[i].set(g.astype(state.grads.dtype))
    row = grads @ g.astype(state.grads.dtype)
    gram = state.gram.at[i, :].set(row).at[:, i].set(row)
    return MFACWindow(grads, gram, state.count + 1, state.damping)


@_highest_precision
def mfac_window_ihvp(state: MFACWindow, x: Float[Array, " d"]) -> Float[Array, " d"]:
    """``F⁻¹x`` for ``F = λI + (1/m)GᵀG`` over the window, by Woodbury:
    ``F⁻¹x = (x − Gᵀ(mλI + GGᵀ)⁻¹Gx)/λ``; cost ``O(dm + m³)``.

    Args:
      state: the window (its ``m`` rows are used, zero rows included before it fills).
      x: the vector, shape ``(d,)``.

    Returns:
      ``F⁻¹x``, shape ``(d,)``.

    Raises:
      TypeError: ``state`` not an :class:`MFACWindow`.  ValueError: ``x`` of the wrong shape or non-finite.
    """
    _check_window(state)
    x = _checks.as_float_array("x", x)
    _checks.require_shape("x", x, (state.grads.shape[1],))
    m = state.grads.shape[0]
    lam = state.damping
    K = state.gram + m * lam * jnp.eye(m, dtype=state.gram.dtype)
    c = jax.scipy.linalg.cho_factor(K)
    return (x - state.grads.T @ jax.scipy.linalg.cho_solve(c, state.grads @ x)) / lam


def scale_by_mfac(window: int, damping: float) -> optax.GradientTransformation:
    """Precondition each gradient by the sliding-window M-FAC inverse Fisher
    ``F⁻¹g`` of the last ``window`` gradients (current one included).  Works on
    any pytree by flattening it; the output has the input's structure.

    Args:
      window: the number ``m`` of gradients kept, ``>= 1``.
      damping: ``λ > 0``.

    Returns:
      An ``optax.GradientTransformation`` whose state is an :class:`MFACWindow`.

    Raises:
      TypeError: ``window`` not an integer.  ValueError: ``window < 1``, ``damping <= 0``.
    """
    _checks.require_int("window", window, minimum=1)
    _positive("damping", damping)

    def init_fn(params):
        flat, _ = ravel_pytree(params)
        return mfac_window_init(flat.shape[0], window, damping, flat.dtype)

    def update_fn(updates, state, params=None):
        del params
        flat, unravel = ravel_pytree(updates)
        _checks.require_finite("updates", flat)
        state = mfac_window_push(state, flat)
        return unravel(mfac_window_ihvp(state, flat)), state

    return optax.GradientTransformation(init_fn, update_fn)


@_highest_precision
def rank1_ema_inverse_update(
    inv: Float[Array, "n n"], a: Float[Array, " n"], beta: float
) -> Float[Array, "n n"]:
    """Inverse of ``βX + (1−β)aaᵀ`` from ``inv = X⁻¹`` by Sherman–Morrison, ``O(n²)``.

    This is the MKOR update of a K-FAC factor ``X = E[aaᵀ]`` (Mozaffari et al. 2023):
    ``(βX + (1−β)aaᵀ)⁻¹ = (1/β)[X⁻¹ − c X⁻¹aaᵀX⁻¹ / (1 + c aᵀX⁻¹a)]``, ``c = (1−β)/β``.

    Args:
      inv: ``X⁻¹``, shape ``(n, n)``.
      a: the new vector, shape ``(n,)``.
      beta: the EMA weight ``β`` in (0, 1).

    Returns:
      ``(βX + (1−β)aaᵀ)⁻¹``, shape ``(n, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: wrong shapes, non-finite input, ``beta`` outside (0, 1).
    """
    inv = _check_matrix("inv", inv)
    a = _check_vector("a", a)
    _in_range("beta", beta, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if inv.shape != (a.shape[0], a.shape[0]):
        raise ValueError(f"inv must have shape ({a.shape[0]}, {a.shape[0]}), got {inv.shape}")
    c = (1.0 - beta) / beta
    u = inv @ a
    w = inv.T @ a
    return (inv - c * jnp.outer(u, w) / (1.0 + c * a @ u)) / beta


class TNGDResult(NamedTuple):
    """Output of :func:`thermodynamic_solve`.

    Attributes:
      params: the solver's answer, the time average of ``x`` over the sampling
        window (after ``burn_in``): the estimate of ``F⁻¹g``.
      final: the last state of the simulated process.
      num_samples: the number of states averaged.
    """

    params: Array
    final: Array
    num_samples: Array


@jax.jit
def _tngd(F, g, key, x, dt, num_steps, burn_in, temperature):
    """Euler–Maruyama for the OU process; one compile per shape (``num_steps`` is traced:
    a ``fori_loop`` with a traced bound)."""
    with jax.default_matmul_precision("highest"):
        noise_scale = jnp.sqrt(2.0 * temperature * dt).astype(g.dtype)

        def body(k, carry):
            x, total = carry
            xi = jax.random.normal(jax.random.fold_in(key, k), g.shape, g.dtype)
            x = x - dt * (F @ x - g) + noise_scale * xi
            total = total + jnp.where(k >= burn_in, x, jnp.zeros_like(x))
            return x, total

        x, total = jax.lax.fori_loop(0, num_steps, body, (x, jnp.zeros_like(g)))
        n = num_steps - burn_in
        return TNGDResult(total / n.astype(g.dtype), x, n)


def thermodynamic_solve(
    F: Float[Array, "d d"],
    g: Float[Array, " d"],
    *,
    key: PRNGKeyArray,
    dt: float,
    num_steps: int,
    burn_in: int = 0,
    temperature: float = 1e-3,
    x0: Float[Array, " d"] | None = None,
) -> TNGDResult:
    """Simulated thermodynamic linear solve (Thermodynamic Natural Gradient Descent):
    Euler–Maruyama for the Ornstein–Uhlenbeck process
    ``dx = −(Fx − g)dt + √(2T) dW``, whose stationary law is ``N(F⁻¹g, T·F⁻¹)``,
    so the time average after ``burn_in`` steps estimates the natural-gradient
    direction ``F⁻¹g``.  Stable for ``dt < 2/λ_max(F)``; ``temperature = 0``
    gives plain gradient descent on ``½xᵀFx − gᵀx``.  A *digital simulation* of
    the analog process: it says nothing about the hardware's cost.

    Compiled once per shape; ``num_steps``, ``dt``, ``burn_in``, ``temperature``,
    the data and the key are traced.

    Args:
      F: ``(d, d)`` matrix; g: ``(d,)`` vector; key: a JAX PRNG key.
      dt: step ``> 0``; num_steps: ``>= 1``; burn_in: ``0 <= burn_in < num_steps``.
      temperature: ``T >= 0``; x0: start ``(d,)`` (default zeros).

    Returns:
      A :class:`TNGDResult`.

    Raises:
      TypeError: ``key`` not a PRNG key (e.g. an integer seed), non-numeric input.
      ValueError: wrong shapes, non-finite input, out-of-range hyper-parameters.
    """
    F = _check_matrix("F", F)
    g = _check_vector("g", g)
    if F.shape != (g.shape[0], g.shape[0]):
        raise ValueError(f"F must have shape ({g.shape[0]}, {g.shape[0]}), got {F.shape}")
    _checks.require_key("key", key)
    _positive("dt", dt)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_int("burn_in", burn_in, minimum=0)
    if burn_in >= num_steps:
        raise ValueError(f"burn_in must be smaller than num_steps={num_steps}, got {burn_in}")
    _nonnegative("temperature", temperature)
    if x0 is None:
        x = jnp.zeros_like(g)
    else:
        x = _checks.as_float_array("x0", x0).astype(g.dtype)
        _checks.require_shape("x0", x, g.shape)
    return _tngd(
        F,
        g,
        key,
        x,
        jnp.asarray(dt, g.dtype),
        jnp.asarray(num_steps, jnp.int32),
        jnp.asarray(burn_in, jnp.int32),
        jnp.asarray(temperature, g.dtype),
    )


# ---------------------------------------------------------------------------
# 3. Shampoo and orthogonalised updates
# ---------------------------------------------------------------------------


@_highest_precision
def inverse_pth_root(A: Float[Array, "n n"], p: float, eps: float = 0.0) -> Float[Array, "n n"]:
    """``(A + εI)^{−1/p}`` for symmetric PSD ``A`` through ``eigh``.

    Eigenvalues of ``A + εI`` below ``n·machine-ε·λ_max`` are treated as zero
    (a pseudo-inverse root: those directions are left out), so ``eps = 0`` is
    allowed for rank-deficient ``A``.

    Args:
      A: symmetric PSD matrix, shape ``(n, n)`` (symmetrised as ``(A + Aᵀ)/2``).
      p: the root ``p > 0``.
      eps: ``ε >= 0`` added to the eigenvalues.

    Returns:
      ``(A + εI)^{−1/p}``, shape ``(n, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``A`` not square/finite, ``p <= 0``, ``eps < 0``.
    """
    A = _check_matrix("A", A, square=True)
    _positive("p", p)
    _nonnegative("eps", eps)
    lam, V = jnp.linalg.eigh((A + A.T) / 2)
    lam = lam + eps
    floor = jnp.finfo(A.dtype).eps * jnp.max(jnp.abs(lam)) * A.shape[0]
    inv_root = jnp.where(lam > floor, jnp.maximum(lam, floor) ** (-1.0 / p), 0.0)
    return (V * inv_root) @ V.T


@_highest_precision
def shampoo_precondition(
    G: Float[Array, "m n"], L: Float[Array, "m m"], R: Float[Array, "n n"], eps: float = 0.0
) -> Float[Array, "m n"]:
    """Shampoo direction ``(L + εI)^{−1/4} G (R + εI)^{−1/4}`` (Gupta et al. 2018).

    Args:
      G: the gradient of a weight matrix, shape ``(m, n)``.
      L: the left statistic, shape ``(m, m)``.
      R: the right statistic, shape ``(n, n)``.
      eps: ``ε >= 0``.

    Returns:
      The preconditioned gradient, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``L`` not ``(m, m)`` / ``R`` not ``(n, n)``
      for ``G`` of shape ``(m, n)``, non-finite input, ``eps < 0``.
    """
    G = _check_matrix("G", G)
    L = _check_matrix("L", L)
    R = _check_matrix("R", R)
    _checks.require_shape("L", L, (G.shape[0], G.shape[0]))
    _checks.require_shape("R", R, (G.shape[1], G.shape[1]))
    return inverse_pth_root(L, 4.0, eps) @ G @ inverse_pth_root(R, 4.0, eps)


class ShampooState(NamedTuple):
    L: Any
    R: Any


def _require_2d_tree(name: str, tree: Any) -> None:
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if jnp.ndim(leaf) != 2:
            where = jax.tree_util.keystr(path) or "(root)"
            raise ValueError(
                f"{name} must be 2-D weight matrices; leaf {where} has shape {tuple(jnp.shape(leaf))}"
            )


def scale_by_shampoo(decay: float = 1.0, eps: float = 1e-6) -> optax.GradientTransformation:
    """Shampoo for 2-D weights: ``L ← decay·L + GGᵀ``, ``R ← decay·R + GᵀG``,
    update ``(L + εI)^{−1/4} G (R + εI)^{−1/4}``.

    ``decay = 1`` is the original (AdaGrad-style sum); ``decay = 0`` is Shampoo
    *without accumulation*, whose update is the polar factor ``UVᵀ`` when ``ε → 0``.

    Args:
      decay: the weight of the old statistics, in [0, 1].
      eps: ``ε >= 0``.

    Returns:
      An ``optax.GradientTransformation`` for a pytree of 2-D weights.

    Raises:
      ValueError: ``decay`` outside [0, 1], ``eps < 0``; at ``init``/``update``, leaves that are not 2-D.
    """
    _in_range("decay", decay, 0.0, 1.0)
    _nonnegative("eps", eps)

    def init_fn(params):
        _require_2d_tree("params", params)
        L = jax.tree.map(lambda w: jnp.zeros((w.shape[0], w.shape[0]), w.dtype), params)
        R = jax.tree.map(lambda w: jnp.zeros((w.shape[1], w.shape[1]), w.dtype), params)
        return ShampooState(L, R)

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        with jax.default_matmul_precision("highest"):
            L = jax.tree.map(lambda left, g: decay * left + g @ g.T, state.L, updates)
            R = jax.tree.map(lambda r, g: decay * r + g.T @ g, state.R, updates)
            new = jax.tree.map(lambda g, left, r: shampoo_precondition(g, left, r, eps), updates, L, R)
        return new, ShampooState(L, R)

    return optax.GradientTransformation(init_fn, update_fn)


class KroneckerTrace(NamedTuple):
    """Power iteration towards the best Kronecker approximation ``c·A⊗B`` of the
    full-matrix statistic ``H = (1/N) Σ_s vec(G_s)vec(G_s)ᵀ`` (row-major ``vec``).

    Attributes:
      params: the final factors ``(A_N, B_N)``, shapes ``(m, m)`` and ``(n, n)``, each of
        unit Frobenius norm.
      iterates: ``(A_0..A_N, B_0..B_N)``, shapes ``(N + 1, m, m)`` and ``(N + 1, n, n)``
        (``A_0 = I/√m``, ``B_0 = I/√n``).
      errors: ``min_c ‖H − c·A_k⊗B_k‖_F / ‖H‖_F`` for ``k = 0..N``.
    """

    params: tuple[Float[Array, "m m"], Float[Array, "n n"]]
    iterates: tuple[Float[Array, "N+1 m m"], Float[Array, "N+1 n n"]]
    errors: Array


@partial(jax.jit, static_argnames=("num_steps",))
def _kronecker_power(G, num_steps):
    with jax.default_matmul_precision("highest"):
        N, m, n = G.shape
        H = jnp.einsum("sij,skl->ijkl", G, G).reshape(m * n, m * n) / N

        def error(A, B):
            K = jnp.kron(A, B)
            c = jnp.vdot(K, H) / jnp.vdot(K, K)
            return jnp.linalg.norm(H - c * K) / jnp.linalg.norm(H)

        def step(carry, _):
            A, B = carry
            A_next = jnp.einsum("sij,jl,skl->ik", G, B, G) / N  # reshape(R vec B) = E[G B Gᵀ]
            B_next = jnp.einsum("sij,ik,skl->jl", G, A, G) / N  # reshape(Rᵀ vec A) = E[Gᵀ A G]
            A_next, B_next = A_next / jnp.linalg.norm(A_next), B_next / jnp.linalg.norm(B_next)
            return (A_next, B_next), (A_next, B_next)

        A0 = jnp.eye(m, dtype=G.dtype) / jnp.sqrt(jnp.asarray(m, G.dtype))
        B0 = jnp.eye(n, dtype=G.dtype) / jnp.sqrt(jnp.asarray(n, G.dtype))
        (A, B), (As, Bs) = jax.lax.scan(step, (A0, B0), None, length=num_steps)
        As, Bs = jnp.concatenate([A0[None], As]), jnp.concatenate([B0[None], Bs])
        return KroneckerTrace((A, B), (As, Bs), jax.vmap(error)(As, Bs))


def kronecker_power_iteration(grads: Float[Array, "N m n"], *, num_steps: int) -> KroneckerTrace:
    """Power iteration for the best Kronecker approximation of the full-matrix AdaGrad
    statistic (Morwani et al. 2024, "A New Perspective on Shampoo's Preconditioner").

    Rearranging ``H = (1/N) Σ_s vec(G_s)vec(G_s)ᵀ`` entrywise, ``R[(i,k),(j,l)] = H[(i,j),(k,l)]``,
    turns ``A⊗B`` into the rank-one ``vec(A)vec(B)ᵀ``, so the best ``c·A⊗B`` in Frobenius norm is
    the top singular pair of ``R`` (Van Loan–Pitsianis). One step maps
    ``(A, B) ↦ (E[G B Gᵀ], E[Gᵀ A G])`` (normalised), never forming ``R``; from
    ``(I, I)`` the first step returns Shampoo's statistics ``L = E[GGᵀ]`` and ``R = E[GᵀG]``.
    ``errors`` forms ``H`` (``(mn)²`` entries): small layers only.

    Args:
      grads: the gradients ``G_s``, shape ``(N, m, n)``, finite.
      num_steps: power steps ``>= 1`` (keyword-only).

    Returns:
      A :class:`KroneckerTrace`.

    Raises:
      TypeError: non-numeric ``grads``.
      ValueError: ``grads`` not a non-empty 3-D array or not finite, ``num_steps < 1``.
    """
    G = _checks.as_float_array("grads", grads, ndim=3)
    if 0 in G.shape:
        raise ValueError(f"grads must be a non-empty (N, m, n) array, got shape {G.shape}")
    _checks.require_int("num_steps", num_steps, minimum=1)
    return _kronecker_power(G, int(num_steps))


@_highest_precision
def polar_factor(G: Float[Array, "m n"]) -> Float[Array, "m n"]:
    """The polar factor ``UVᵀ`` of ``G = UΣVᵀ`` (thin SVD): the exact orthogonalised
    update, ``argmax_{‖D‖_op ≤ 1} ⟨G, D⟩`` (steepest descent in the spectral norm).

    Args:
      G: the matrix, shape ``(m, n)``.

    Returns:
      ``UVᵀ``, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``G`` not a finite, non-empty 2-D array.
    """
    G = _check_matrix("G", G)
    U, _, Vt = jnp.linalg.svd(G, full_matrices=False)
    return U @ Vt


def _ns_core(X: Array, num_steps: int, coeffs: Array, eps: float) -> Array:
    # Precision.HIGHEST: TF32 (a GPU's float32 default) would change the iterates
    transposed = X.shape[0] > X.shape[1]
    if transposed:
        X = X.T
    X = X / (jnp.linalg.norm(X) + eps)
    a, b, c = coeffs[0], coeffs[1], coeffs[2]

    def body(_, X):
        A = jnp.matmul(X, X.T, precision=HIGHEST)
        return a * X + jnp.matmul(b * A + c * jnp.matmul(A, A, precision=HIGHEST), X, precision=HIGHEST)

    # unroll short loops (as optax does, for vmap); keep long ones rolled (compile time)
    X = jax.lax.fori_loop(0, num_steps, body, X, unroll=num_steps <= 8)
    return X.T if transposed else X


def newton_schulz(
    G: Float[Array, "m n"],
    *,
    num_steps: int = 5,
    coeffs: Sequence[float] = MUON_COEFFS,
    eps: float = 1e-8,
) -> Float[Array, "m n"]:
    """Approximate polar factor by the odd matrix polynomial iteration
    ``X ← aX + b(XXᵀ)X + c(XXᵀ)²X`` from ``X₀ = G/(‖G‖_F + eps)``.

    Each singular value follows the scalar map ``σ ↦ aσ + bσ³ + cσ⁵`` while the
    singular vectors stay fixed.  :data:`CUBIC_COEFFS` ``(1.5, −0.5, 0)``
    converges to ``UVᵀ`` (quadratically once ``σ`` is near 1); :data:`MUON_COEFFS`
    push small singular values up much faster but only into a band around 1.
    Wide orientation is used internally (``G`` is transposed if tall).  Matrix
    products run at ``Precision.HIGHEST``, so float32 results agree on CPU and GPU.

    Args:
      G: the matrix, shape ``(m, n)``.
      num_steps: number of iterations, ``>= 0``.
      coeffs: the three coefficients ``(a, b, c)``.
      eps: ``> 0``, added to ``‖G‖_F`` in the normalisation.

    Returns:
      ``X_num_steps``, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``G`` not a finite non-empty 2-D array,
      ``num_steps < 0``, ``coeffs`` not three finite numbers, ``eps <= 0``.
    """
    G = _check_matrix("G", G)
    _checks.require_int("num_steps", num_steps, minimum=0)
    _check_coeffs("coeffs", coeffs)
    _positive("eps", eps)
    return _ns_core_jit(G, num_steps, jnp.asarray(coeffs, G.dtype), eps)


_ns_core_jit = jax.jit(_ns_core, static_argnums=(1, 3))


@partial(jax.jit, static_argnames=("num_steps",))
def _ns_iterates(G, num_steps, coeffs, eps):
    transposed = G.shape[0] > G.shape[1]
    X0 = G.T if transposed else G
    X0 = X0 / (jnp.linalg.norm(X0) + eps)
    a, b, c = coeffs[0], coeffs[1], coeffs[2]

    def body(X, _):
        A = jnp.matmul(X, X.T, precision=HIGHEST)
        X = a * X + jnp.matmul(b * A + c * jnp.matmul(A, A, precision=HIGHEST), X, precision=HIGHEST)
        return X, X

    _, Xs = jax.lax.scan(body, X0, None, length=num_steps)
    Xs = jnp.concatenate([X0[None], Xs], axis=0)
    return jnp.swapaxes(Xs, 1, 2) if transposed else Xs


def newton_schulz_iterates(
    G: Float[Array, "m n"],
    *,
    num_steps: int,
    coeffs: Sequence[float] = MUON_COEFFS,
    eps: float = 1e-8,
) -> Float[Array, "num_steps+1 m n"]:
    """All iterates ``X_0, …, X_num_steps`` of :func:`newton_schulz` (one compiled
    ``lax.scan``), shape ``(num_steps + 1, *G.shape)``; ``X_k`` equals
    ``newton_schulz(G, num_steps=k, coeffs=coeffs, eps=eps)``.

    Args:
      G: the matrix, shape ``(m, n)``.
      num_steps: number of iterations, ``>= 0``.
      coeffs: the three coefficients ``(a, b, c)``.
      eps: ``> 0``, added to ``‖G‖_F`` in the normalisation.

    Returns:
      The iterates, shape ``(num_steps + 1, m, n)``, ``X_0 = G/(‖G‖_F + eps)`` first.

    Raises:
      TypeError, ValueError: as in :func:`newton_schulz`.
    """
    G = _check_matrix("G", G)
    _checks.require_int("num_steps", num_steps, minimum=0)
    _check_coeffs("coeffs", coeffs)
    _positive("eps", eps)
    return _ns_iterates(G, num_steps, jnp.asarray(coeffs, G.dtype), jnp.asarray(eps, G.dtype))


def auon_scale(M: Float[Array, "m n"], gamma: float = 1.5, eps: float = 1e-7) -> Float[Array, "m n"]:
    """AuON's cosh-based normalisation (Maity 2025, reference implementation):
    ``M / r`` with ``r = √(mean(cosh²(γ M/‖M‖_F)))``.

    Linear time, but a *scalar* rescaling: singular values keep their ratios
    (nothing is orthogonalised); since ``cosh ≥ 1``, ``r ≥ 1`` and
    ``‖M/r‖ ≤ ‖M‖`` in every unitarily invariant norm.

    Args:
      M: the matrix (a momentum), shape ``(m, n)``.
      gamma: ``γ > 0``.
      eps: ``> 0``, added to ``‖M‖_F``.

    Returns:
      ``M / r``, shape ``(m, n)``.

    Raises:
      TypeError: non-numeric input.  ValueError: ``M`` not a finite non-empty 2-D array,
      ``gamma <= 0`` or ``eps <= 0``.
    """
    M = _check_matrix("M", M)
    _positive("gamma", gamma)
    _positive("eps", eps)
    return _auon_core(M, gamma, eps)


def _auon_core(M, gamma, eps):
    Mn = M / (jnp.linalg.norm(M) + eps)
    r = jnp.sqrt(jnp.mean(jnp.cosh(gamma * Mn) ** 2))
    return M / (r + 1e-8)


class MuonState(NamedTuple):
    count: Int[Array, ""]  # type: ignore[assignment]  # a field named like tuple.count
    mu: Any


def _check_learning_rate(learning_rate: Any) -> None:
    if not callable(learning_rate):  # a schedule is passed through to optax
        _positive("learning_rate", learning_rate)


def _check_beta(beta: Any) -> None:
    _in_range("beta", beta, 0.0, 1.0, high_inclusive=False)


def scale_by_muon(
    beta: float = 0.95,
    ns_steps: int = 5,
    ns_coeffs: Sequence[float] = MUON_COEFFS,
    *,
    nesterov: bool = True,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """Muon's direction: bias-corrected (Nesterov) momentum, then Newton–Schulz.

    ``μ ← βμ + (1−β)g``; with Nesterov the orthogonalised matrix is
    ``β μ̂_{t+1} + (1−β) ĝ_t`` (hats = Adam-style bias corrections), exactly the
    recipe of ``optax.contrib.scale_by_muon``.  Every leaf must be a 2-D weight.

    Args:
      beta: momentum ``β`` in [0, 1).
      ns_steps: Newton–Schulz iterations, ``>= 0``.
      ns_coeffs: the Newton–Schulz coefficients ``(a, b, c)``.
      nesterov: use the Nesterov combination (default) rather than ``μ̂`` alone.
      eps: ``> 0``, the Newton–Schulz normalisation's ``eps``.

    Returns:
      An ``optax.GradientTransformation`` (no learning rate: see :func:`muon`).

    Raises:
      TypeError: ``nesterov`` not a bool, a non-numeric hyper-parameter.
      ValueError: ``beta`` outside [0, 1), ``ns_steps < 0``, ``eps <= 0``, ``ns_coeffs`` not
        three finite numbers; at ``init``/``update``, leaves that are not 2-D or not finite.
    """
    _check_beta(beta)
    _checks.require_int("ns_steps", ns_steps, minimum=0)
    _positive("eps", eps)
    _check_coeffs("ns_coeffs", ns_coeffs)
    if not isinstance(nesterov, (bool, np.bool_)):
        raise TypeError(f"nesterov must be a bool, got {type(nesterov).__name__}")

    def init_fn(params):
        _require_2d_tree("params", params)
        return MuonState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        mu = jax.tree.map(lambda m, g: beta * m + (1 - beta) * g, state.mu, updates)
        t = state.count + 1

        def bc(k, x):  # Adam-style bias correction 1 − βᵏ in x's dtype
            return 1 - jnp.asarray(beta, x.dtype) ** k.astype(x.dtype)

        if nesterov:
            mu_hat = jax.tree.map(
                lambda m, g: beta * (m / bc(t + 1, m)) + (1 - beta) * (g / bc(t, g)), mu, updates
            )
        else:
            mu_hat = jax.tree.map(lambda m: m / bc(t, m), mu)
        out = jax.tree.map(lambda x: _ns_core_jit(x, ns_steps, jnp.asarray(ns_coeffs, x.dtype), eps), mu_hat)
        return out, MuonState(t, mu)

    return optax.GradientTransformation(init_fn, update_fn)


def _scale_by_width():
    """``√max(1, fan_out/fan_in)`` with ``(fan_in, fan_out) = W.shape`` (Muon's width transfer)."""

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u * np.sqrt(max(1.0, u.shape[1] / u.shape[0])), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def muon(
    learning_rate: float | Callable[[Array], Array],
    beta: float = 0.95,
    ns_steps: int = 5,
    ns_coeffs: Sequence[float] = MUON_COEFFS,
    *,
    nesterov: bool = True,
    weight_decay: float = 0.0,
    eps: float = 1e-8,
) -> optax.GradientTransformation:
    """Muon for a pytree of 2-D weights: :func:`scale_by_muon`, Muon's width
    scaling ``√max(1, n_out/n_in)``, decoupled weight decay and the learning
    rate.  Matches ``optax.contrib.muon`` when every parameter is 2-D.

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      beta: momentum ``β`` in [0, 1).
      ns_steps: Newton–Schulz iterations, ``>= 0``.
      ns_coeffs: the Newton–Schulz coefficients ``(a, b, c)``.
      nesterov: Nesterov momentum (see :func:`scale_by_muon`).
      weight_decay: decoupled weight decay ``>= 0``.
      eps: ``ε > 0`` added to the Frobenius norm before Newton–Schulz (see
        :func:`scale_by_muon`).

    Returns:
      An ``optax.GradientTransformation`` (a chain).

    Raises:
      TypeError: a non-numeric hyper-parameter.
      ValueError: ``learning_rate <= 0`` (when not a schedule), ``weight_decay < 0``, and the
        errors of :func:`scale_by_muon`.
    """
    _check_learning_rate(learning_rate)
    _nonnegative("weight_decay", weight_decay)
    return optax.chain(
        scale_by_muon(beta, ns_steps, ns_coeffs, nesterov=nesterov, eps=eps),
        _scale_by_width(),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )


def scale_by_auon(beta: float = 0.95, gamma: float = 1.5) -> optax.GradientTransformation:
    """AuON direction (reference implementation): ``m ← βm + (1−β)g``,
    ``u = (1−β)g + βm`` (Nesterov-style), update :func:`auon_scale` ``(u)``.

    Args:
      beta: momentum ``β`` in [0, 1).
      gamma: AuON's ``γ > 0``.

    Returns:
      An ``optax.GradientTransformation`` (no learning rate).

    Raises:
      ValueError: ``beta`` outside [0, 1), ``gamma <= 0``; in ``init`` / ``update``, a
        leaf of ``params`` / ``updates`` that is not a 2-D matrix.
    """
    _check_beta(beta)
    _positive("gamma", gamma)

    def init_fn(params):
        _require_2d_tree("params", params)
        return MuonState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        mu = jax.tree.map(lambda m, g: beta * m + (1 - beta) * g, state.mu, updates)
        out = jax.tree.map(lambda m, g: _auon_core((1 - beta) * g + beta * m, gamma, 1e-7), mu, updates)
        return out, MuonState(state.count + 1, mu)

    return optax.GradientTransformation(init_fn, update_fn)


class DropState(NamedTuple):
    key: Array
    inner: Any
    masks: Any  # last step's keep-masks (for diagnostics)


def _check_keep_prob(keep_prob: Any) -> np.ndarray:
    if isinstance(keep_prob, jax.core.Tracer):
        raise TypeError("keep_prob must be concrete numbers, not traced")
    probs = np.atleast_1d(
        np.asarray(_checks.as_float_array("keep_prob", keep_prob, ndim=(0, 1)), dtype=float)
    )
    if probs.size == 0:
        raise ValueError("keep_prob must hold at least one probability, got an empty array")
    _checks.require_in_range("keep_prob", probs, 0.0, 1.0, low_inclusive=False)
    return probs


def drop_layers(
    inner: optax.GradientTransformation, keep_prob: float | Sequence[float], *, key: PRNGKeyArray
) -> optax.GradientTransformation:
    """Randomised progressive training (Drop-Muon, Gruntkowska et al. 2025): at each
    step leaf ``l`` (a layer) is updated with probability ``p_l`` and left unchanged
    otherwise.  ``keep_prob`` is one probability or one per leaf (in
    ``jax.tree.leaves`` order).

    Simplification: the inner state (momentum) still sees every gradient; the
    compute saving of the paper (no backprop below the shallowest updated
    layer) is *counted*, not realised, here.

    Args:
      inner: the optax transformation whose per-leaf updates are kept or zeroed.
      keep_prob: ``p_l`` in (0, 1], one number or one per leaf (concrete, not traced).
      key: a JAX PRNG key (keyword-only), split at every step.

    Returns:
      An ``optax.GradientTransformation`` whose state holds the key, ``inner``'s state and
      the last step's keep-masks.

    Raises:
      TypeError: ``inner`` not an optax transformation, ``key`` not a PRNG key (e.g. an integer seed).
      ValueError: ``keep_prob`` outside (0, 1]; at ``init``, a ``keep_prob`` length that does not
      match the number of leaves.
    """
    _check_transformation("inner", inner)
    probs_in = _check_keep_prob(keep_prob)
    _checks.require_key("key", key)

    def init_fn(params):
        leaves = jax.tree.leaves(params)
        if probs_in.size not in (1, len(leaves)):
            raise ValueError(
                f"keep_prob must be a scalar or have one entry per leaf ({len(leaves)}), got {probs_in.size}"
            )
        masks = jax.tree.map(lambda _: jnp.ones((), bool), params)
        return DropState(jnp.asarray(key), inner.init(params), masks)

    def update_fn(updates, state, params=None):
        new_updates, inner_state = inner.update(updates, state.inner, params)
        leaves, treedef = jax.tree.flatten(new_updates)
        probs = np.broadcast_to(probs_in, (len(leaves),))
        key, sub = jax.random.split(state.key)
        keep = jax.random.uniform(sub, (len(leaves),)) < jnp.asarray(probs)
        out = [jnp.where(keep[i], u, jnp.zeros_like(u)) for i, u in enumerate(leaves)]
        masks = jax.tree.unflatten(treedef, [keep[i] for i in range(len(leaves))])
        return jax.tree.unflatten(treedef, out), DropState(key, inner_state, masks)

    return optax.GradientTransformation(init_fn, update_fn)


def drop_muon(
    learning_rate: float, keep_prob: float | Sequence[float], *, key: PRNGKeyArray, **muon_kwargs
) -> optax.GradientTransformation:
    """Drop-Muon: :func:`muon` whose per-layer updates are randomly skipped (:func:`drop_layers`).

    Args:
      learning_rate: ``η > 0`` or an optax schedule.
      keep_prob: ``p_l`` in (0, 1], one number or one per leaf.
      key: a JAX PRNG key (keyword-only).
      **muon_kwargs: the other arguments of :func:`muon`.

    Returns:
      An ``optax.GradientTransformation``.

    Raises:
      TypeError, ValueError: those of :func:`muon` and :func:`drop_layers`.
    """
    _check_learning_rate(learning_rate)
    _check_keep_prob(keep_prob)
    _checks.require_key("key", key)
    return drop_layers(muon(learning_rate, **muon_kwargs), keep_prob, key=key)


def _global_norm(tree: Any) -> Array:
    return jnp.sqrt(sum(jnp.vdot(x, x).real for x in jax.tree_util.tree_leaves(tree)))


@partial(jax.jit, static_argnames=("optimizer", "loss", "num_steps", "return_iterates"))
def _run_transformation(optimizer, loss, params0, num_steps, return_iterates):
    """The scan of :func:`run_transformation`; one compile per (optimizer object, loss,
    params structure and shapes, num_steps, return_iterates)."""
    optimizer = optax.with_extra_args_support(optimizer.obj)
    value_and_grad = jax.value_and_grad(loss)
    state0 = optimizer.init(params0)

    def body(carry, _):
        p, s = carry
        v, g = value_and_grad(p)
        u, s = optimizer.update(g, s, p, fun=loss)  # the objective, for AdaHessian's probes
        p_next = optax.apply_updates(p, u)
        return (p_next, s), (v, _global_norm(g), p_next if return_iterates else None)

    (p, _), (vals, gnorms, ps) = jax.lax.scan(body, (params0, state0), None, length=num_steps)
    v_last, g_last = value_and_grad(p)
    iterates = None
    if return_iterates:
        iterates = jax.tree_util.tree_map(lambda a0, a: jnp.concatenate([a0[None], a]), params0, ps)
    return Trace(
        params=p,
        iterates=iterates,
        values=jnp.concatenate([vals, v_last[None]]),
        grad_norms=jnp.concatenate([gnorms, _global_norm(g_last)[None]]),
    )


def run_transformation(
    optimizer: optax.GradientTransformation,
    loss: Callable[[Any], Array],
    params0: Any,
    *,
    num_steps: int,
    return_iterates: bool = False,
) -> Trace:
    """Run ``optimizer`` on the deterministic ``loss`` (any pytree of params) for
    ``num_steps`` inside ``lax.scan``; returns an :class:`optlab.runner.Trace` with the
    final ``params``, ``values[k] = loss(params_k)`` and ``grad_norms[k] = ‖∇loss(params_k)‖``
    (global norm over the pytree), ``k = 0..num_steps``.

    Each step calls ``optimizer.update(g, state, params, fun=loss)`` (plain optax
    transformations ignore ``fun``; :func:`adahessian` probes the Hessian through it).
    Compiled once per (``optimizer`` object, ``loss`` function, params shapes,
    ``num_steps``): reuse the same objects to run again on new starting points
    without recompiling.

    Args:
      optimizer: an optax ``GradientTransformation``.
      loss: scalar function of the params pytree.
      params0: starting params, a pytree of finite float arrays (lists/ints converted).
      num_steps: ``>= 1``.
      return_iterates: record every ``params_k`` (a pytree whose leaves gain a leading
        axis of ``num_steps + 1``); by default ``iterates`` is ``None``.

    Returns:
      A :class:`optlab.runner.Trace`; ``values`` and ``grad_norms`` have shape
      ``(num_steps + 1,)``.

    Raises:
      TypeError: ``optimizer`` not a transformation, ``loss`` not callable, non-numeric params.
      ValueError: ``num_steps < 1``, empty or non-finite ``params0``, ``loss`` not scalar.
    """
    _check_transformation("optimizer", optimizer)
    _checks.require_callable("loss", loss)
    params0 = _check_tree("params0", params0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    if not isinstance(return_iterates, (bool, np.bool_)):
        raise TypeError(f"return_iterates must be True or False, got {type(return_iterates).__name__}")
    _check_fun(loss, params0, name="loss")
    return _run_transformation(_ById(optimizer), loss, params0, num_steps, bool(return_iterates))
