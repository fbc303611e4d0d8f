"""Second-order methods and preconditioning: from Newton to Muon.

Three families, in the order of the chapter (``book/05_second_order``):

1. **Newton and its globalisation** on a scalar objective ``f: Rᵈ → R``:
   :func:`newton` (pure, classical damped ``1/(1+λ)``, AICN-type schedule or a
   fixed step), :func:`newton_backtracking` (Armijo), :func:`saddle_free_newton`
   (``−|H|⁻¹g``) and :func:`gradient_regularized_newton`
   (``−(B + √(H‖g‖)·I)⁻¹g`` with an exact or approximate Hessian ``B``).
   Each returns a :class:`NewtonTrace`.
2. **Matrix-free curvature**: :func:`hvp`, Hutchinson's diagonal estimate
   (:func:`hutchinson_samples`, :func:`hutchinson_diagonal`), the Gauss–Newton
   direction through the batch-sized Woodbury solve
   (:func:`gauss_newton_direction`), M-FAC inverse-Fisher products, static
   (:func:`mfac_static`, :func:`mfac_ihvp`) and sliding-window
   (:func:`mfac_window_init`, :func:`mfac_window_push`, :func:`mfac_window_ihvp`,
   :func:`scale_by_mfac`), and the K-FAC / MKOR rank-1 inverse update
   (:func:`rank1_ema_inverse_update`).
3. **Shampoo and orthogonalised updates**: :func:`inverse_pth_root`,
   :func:`shampoo_precondition`, :func:`scale_by_shampoo`; the polar factor
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

from typing import Any, Callable, NamedTuple, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from . import _checks

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

Array = Any

CUBIC_COEFFS = (1.5, -0.5, 0.0)
"""Classical (cubic) Newton–Schulz: ``X ← 1.5X − 0.5XXᵀX``; converges to ``UVᵀ``."""

MUON_COEFFS = (3.4445, -4.7750, 2.0315)
"""Quintic coefficients of the Muon reference code: fast, but only into a band around 1."""


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_vector(name: str, x: Array) -> None:
    _checks.require_ndim(name, x, 1)
    _checks.require_finite(name, x)


def _check_matrix(name: str, x: Array) -> None:
    _checks.require_ndim(name, x, 2)
    _checks.require_finite(name, x)


def _check_fun(fun: Callable) -> None:
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")


# ---------------------------------------------------------------------------
# 1. Newton and its globalisation
# ---------------------------------------------------------------------------


class NewtonTrace(NamedTuple):
    """Trajectory of a Newton-type method (``num_steps + 1`` rows, ``x_0`` included).

    Attributes:
      params: iterates ``x_0, …, x_N``, shape ``(N + 1, d)``.
      values: ``f(x_k)``.
      grad_norms: ``‖∇f(x_k)‖``.
      step_sizes: the step ``α_k`` taken at each iteration, shape ``(N,)``.
      converged: ``‖∇f(x_N)‖ ≤ tol`` (False if the run blew up to inf/NaN).
    """

    params: Array
    values: Array
    grad_norms: Array
    step_sizes: Array
    converged: Array


def newton_decrement(g: Array, H: Array) -> Array:
    """Local dual norm ``λ(x) = ‖∇f(x)‖*_x = √(gᵀ H⁻¹ g)`` (Newton decrement)."""
    return jnp.sqrt(jnp.maximum(g @ jnp.linalg.solve(H, g), 0.0))


def _scan_second_order(fun, x0, num_steps, step_fn, tol):
    """Shared engine: ``step_fn(x) -> (x_next, alpha)`` iterated in ``lax.scan``."""
    value_and_grad = jax.value_and_grad(fun)

    def body(x, _):
        x_next, alpha = step_fn(x)
        return x_next, (x_next, alpha)

    @jax.jit
    def go(x0):
        _, (xs, alphas) = jax.lax.scan(body, x0, None, length=num_steps)
        params = jnp.concatenate([x0[None], xs], axis=0)
        values, grads = jax.vmap(value_and_grad)(params)
        grad_norms = jnp.linalg.norm(grads, axis=-1)
        converged = jnp.isfinite(grad_norms[-1]) & (grad_norms[-1] <= tol)
        return NewtonTrace(params, values, grad_norms, alphas, converged)

    return go(x0)


def _validate_newton(fun, x0, num_steps, tol):
    _check_fun(fun)
    _check_vector("x0", x0)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_positive("tol", tol)


_SCHEDULES = ("pure", "classical", "aicn")


def newton(
    fun: Callable[[Array], Array],
    x0: Array,
    num_steps: int,
    *,
    schedule: Union[str, float] = "pure",
    smoothness: Optional[float] = None,
    hessian_fn: Optional[Callable[[Array], Array]] = None,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Damped Newton ``x⁺ = x − α_k ∇²f(x)⁻¹∇f(x)``.

    Schedules (``λ = √(gᵀH⁻¹g)`` is the Newton decrement):

    - ``"pure"``: ``α = 1`` (local quadratic convergence, no global guarantee);
    - ``"classical"``: ``α = 1/(1+λ)`` (Nesterov's damped Newton for
      self-concordant functions);
    - ``"aicn"``: ``α = (−1 + √(1 + 2Lλ)) / (Lλ)`` with ``L = smoothness``,
      the affine-invariant cubic-Newton step size that the damped-Newton
      schedules of Hanzely et al. build on;
    - a positive float: fixed ``α``.

    ``hessian_fn`` replaces the exact Hessian ``jax.hessian(fun)``.
    """
    _validate_newton(fun, x0, num_steps, tol)
    if isinstance(schedule, str):
        if schedule not in _SCHEDULES:
            raise ValueError(f"schedule must be one of {_SCHEDULES} or a positive float, got {schedule!r}")
        if schedule == "aicn":
            if smoothness is None:
                raise ValueError("schedule='aicn' needs smoothness (the constant L), got None")
            _checks.require_positive("smoothness", smoothness)
    else:
        _checks.require_positive("schedule (a fixed step size)", schedule)
    grad = jax.grad(fun)
    hess = jax.hessian(fun) if hessian_fn is None else hessian_fn

    def step_fn(x):
        g, H = grad(x), hess(x)
        d = jnp.linalg.solve(H, g)
        lam = jnp.sqrt(jnp.maximum(g @ d, 0.0))
        if schedule == "pure":
            alpha = jnp.ones((), x.dtype)
        elif schedule == "classical":
            alpha = 1.0 / (1.0 + lam)
        elif schedule == "aicn":
            Llam = smoothness * lam
            alpha = jnp.where(Llam > 1e-12, (jnp.sqrt(1.0 + 2.0 * Llam) - 1.0) / jnp.maximum(Llam, 1e-30), 1.0)
        else:
            alpha = jnp.asarray(schedule, x.dtype)
        return x - alpha * d, alpha

    return _scan_second_order(fun, jnp.asarray(x0), num_steps, step_fn, tol)


def newton_backtracking(
    fun: Callable[[Array], Array],
    x0: Array,
    num_steps: int,
    *,
    armijo: float = 1e-4,
    shrink: float = 0.5,
    max_backtracks: int = 50,
    hessian_fn: Optional[Callable[[Array], Array]] = None,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Newton direction with Armijo backtracking: the largest ``α = shrinkʲ`` with
    ``f(x − αd) ≤ f(x) − armijo·α·gᵀd``, ``d = H⁻¹g`` (``H`` positive definite)."""
    _validate_newton(fun, x0, num_steps, tol)
    _checks.require_in_range("armijo", armijo, 0.0, 0.5, low_inclusive=False, high_inclusive=False)
    _checks.require_in_range("shrink", shrink, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    _checks.require_int("max_backtracks", max_backtracks, minimum=1)
    grad = jax.grad(fun)
    hess = jax.hessian(fun) if hessian_fn is None else hessian_fn

    def step_fn(x):
        f, g, H = fun(x), grad(x), hess(x)
        d = jnp.linalg.solve(H, g)
        slope = g @ d

        def cond(state):
            alpha, j = state
            bad = ~(fun(x - alpha * d) <= f - armijo * alpha * slope)
            return bad & (j < max_backtracks)

        alpha, _ = jax.lax.while_loop(cond, lambda s: (s[0] * shrink, s[1] + 1),
                                      (jnp.ones((), x.dtype), 0))
        return x - alpha * d, alpha

    return _scan_second_order(fun, jnp.asarray(x0), num_steps, step_fn, tol)


def saddle_free_newton(
    fun: Callable[[Array], Array],
    x0: Array,
    num_steps: int,
    *,
    step_size: float = 1.0,
    eps: float = 1e-8,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Saddle-free Newton (Dauphin et al. 2014): ``x⁺ = x − α |H|⁻¹ g`` where
    ``|H| = V|Λ|Vᵀ`` (absolute eigenvalues, floored at ``eps``).  Negative
    curvature directions are followed *downhill* instead of towards the saddle."""
    _validate_newton(fun, x0, num_steps, tol)
    _checks.require_positive("step_size", step_size)
    _checks.require_positive("eps", eps)
    grad = jax.grad(fun)
    hess = jax.hessian(fun)

    def step_fn(x):
        g, H = grad(x), hess(x)
        lam, V = jnp.linalg.eigh(H)
        d = V @ ((V.T @ g) / jnp.maximum(jnp.abs(lam), eps))
        return x - step_size * d, jnp.asarray(step_size, x.dtype)

    return _scan_second_order(fun, jnp.asarray(x0), num_steps, step_fn, tol)


def gradient_regularized_newton(
    fun: Callable[[Array], Array],
    x0: Array,
    num_steps: int,
    *,
    hess_lipschitz: float,
    hessian_fn: Optional[Callable[[Array], Array]] = None,
    tol: float = 1e-8,
) -> NewtonTrace:
    """Gradient-regularised Newton ``x⁺ = x − (B(x) + √(H‖∇f(x)‖)·I)⁻¹∇f(x)``.

    ``H = hess_lipschitz``; ``B = hessian_fn(x)`` is the exact Hessian by default
    or any positive semi-definite approximation (diagonal, Fisher, Gauss–Newton):
    the setting of *gradient-normalized smoothness* (Semenov et al.), whose
    regulariser ties the damping to the gradient norm.  ``step_sizes`` records
    the regulariser ``λ_k = √(H‖g_k‖)``.
    """
    _validate_newton(fun, x0, num_steps, tol)
    _checks.require_positive("hess_lipschitz", hess_lipschitz)
    grad = jax.grad(fun)
    hess = jax.hessian(fun) if hessian_fn is None else hessian_fn

    def step_fn(x):
        g, B = grad(x), hess(x)
        lam = jnp.sqrt(hess_lipschitz * jnp.linalg.norm(g))
        d = jnp.linalg.solve(B + lam * jnp.eye(x.shape[0], dtype=x.dtype), g)
        return x - d, lam

    return _scan_second_order(fun, jnp.asarray(x0), num_steps, step_fn, tol)


# ---------------------------------------------------------------------------
# 2. Matrix-free curvature
# ---------------------------------------------------------------------------


def hvp(fun: Callable[[Array], Array], x: Array, v: Array) -> Array:
    """Hessian–vector product ``∇²f(x)v`` by forward-over-reverse differentiation
    (one extra gradient's cost, never forming ``∇²f``).  ``x`` and ``v`` may be pytrees."""
    _check_fun(fun)
    _checks.require_same_shape("x", x, "v", v)
    _checks.require_finite("x", x)
    _checks.require_finite("v", v)
    return jax.jvp(jax.grad(fun), (x,), (v,))[1]


def hutchinson_samples(fun: Callable[[Array], Array], x: Array, key: Array, num_samples: int) -> Array:
    """``num_samples`` independent unbiased estimates ``z ⊙ ∇²f(x)z`` of ``diag ∇²f(x)``,
    ``z`` Rademacher (AdaHessian's curvature estimate), shape ``(num_samples, d)``."""
    _check_fun(fun)
    _check_vector("x", x)
    _checks.require_int("num_samples", num_samples, minimum=1)
    z = jax.random.rademacher(key, (num_samples, x.shape[0]), dtype=x.dtype)
    hz = jax.vmap(lambda v: jax.jvp(jax.grad(fun), (x,), (v,))[1])(z)
    return z * hz


def hutchinson_diagonal(fun: Callable[[Array], Array], x: Array, key: Array, num_samples: int) -> Array:
    """Hutchinson's estimate of ``diag ∇²f(x)``: the mean of :func:`hutchinson_samples`."""
    return jnp.mean(hutchinson_samples(fun, x, key, num_samples), axis=0)


def gauss_newton_direction(J: Array, r: Array, damping: float) -> Array:
    """Damped Gauss–Newton direction ``(JᵀJ + λI)⁻¹Jᵀr`` computed as ``Jᵀ(JJᵀ + λI)⁻¹r``.

    ``J`` is the ``b × p`` Jacobian of the residuals ``r`` (``b`` = batch size);
    the Duncan–Guttman / Woodbury identity replaces a ``p × p`` solve by a
    ``b × b`` Cholesky solve: cost ``O(b²p + b³)`` (exact Gauss–Newton, EGN).
    """
    _check_matrix("J", J)
    _check_vector("r", r)
    _checks.require_positive("damping", damping)
    if r.shape[0] != J.shape[0]:
        raise ValueError(f"r must have length J.shape[0]={J.shape[0]}, got {r.shape[0]}")
    K = J @ J.T + damping * jnp.eye(J.shape[0], dtype=J.dtype)
    c = jax.scipy.linalg.cho_factor(K)
    return J.T @ jax.scipy.linalg.cho_solve(c, r)


class MFACState(NamedTuple):
    """Static M-FAC factorisation of ``F = λI + (1/m)Σᵢ gᵢgᵢᵀ``.

    ``F⁻¹x = x/λ − Σᵢ vᵢ (vᵢᵀx)/(m + gᵢᵀvᵢ)`` with ``vᵢ = F_{i−1}⁻¹gᵢ``.
    """

    inv_grads: Array  # (m, d): v_i
    denoms: Array  # (m,): m + g_i^T v_i
    damping: Array


def empirical_fisher(grads: Array, damping: float) -> Array:
    """Dense ``λI + (1/m)GᵀG`` for ``grads = G`` of shape ``(m, d)`` (reference only: O(d²) memory)."""
    _check_matrix("grads", grads)
    _checks.require_positive("damping", damping)
    m, d = grads.shape
    return damping * jnp.eye(d, dtype=grads.dtype) + grads.T @ grads / m


def mfac_static(grads: Array, damping: float) -> MFACState:
    """M-FAC precomputation (Frantar et al. 2021) by the recursive Sherman–Morrison
    (Woodbury) update, ``O(dm²)`` time and ``O(dm)`` memory.

    Adding ``gᵢ/√m`` to ``F_{i−1}`` gives
    ``F_i⁻¹ = F_{i−1}⁻¹ − vᵢvᵢᵀ/(m + gᵢᵀvᵢ)``, ``vᵢ = F_{i−1}⁻¹gᵢ``, and ``vᵢ``
    itself is an inverse-Hessian-vector product of the previous factorisation.
    """
    _check_matrix("grads", grads)
    _checks.require_positive("damping", damping)
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


def mfac_ihvp(state: MFACState, x: Array) -> Array:
    """Inverse-Fisher-vector product ``F⁻¹x`` from :func:`mfac_static`: ``O(dm)``."""
    if not isinstance(state, MFACState):
        raise TypeError(f"state must be an MFACState (from mfac_static), got {type(state).__name__}")
    _checks.require_shape("x", x, (state.inv_grads.shape[1],))
    _checks.require_finite("x", x)
    return x / state.damping - state.inv_grads.T @ ((state.inv_grads @ x) / state.denoms)


class MFACWindow(NamedTuple):
    """Sliding-window M-FAC: the last ``m`` gradients (a ring buffer) and their Gram matrix."""

    grads: Array  # (m, d), zero rows until filled
    gram: Array  # (m, m) = grads @ grads.T
    count: Array  # number of gradients pushed so far
    damping: Array


def mfac_window_init(dim: int, window: int, damping: float, dtype=jnp.float32) -> MFACWindow:
    """An empty window of ``window`` gradients of dimension ``dim``."""
    _checks.require_int("dim", dim, minimum=1)
    _checks.require_int("window", window, minimum=1)
    _checks.require_positive("damping", damping)
    return MFACWindow(
        jnp.zeros((window, dim), dtype),
        jnp.zeros((window, window), dtype),
        jnp.zeros((), jnp.int32),
        jnp.asarray(damping, dtype),
    )


def mfac_window_push(state: MFACWindow, g: Array) -> MFACWindow:
    """Replace the oldest gradient by ``g``: ``O(dm)`` (one new Gram row/column)."""
    _checks.require_shape("g", g, (state.grads.shape[1],))
    _checks.require_finite("g", g)
    m = state.grads.shape[0]
    i = state.count % m
    grads = state.grads.at[i].set(g.astype(state.grads.dtype))
    row = grads @ g.astype(state.grads.dtype)
    gram = state.gram.at[i, :].set(row).at[:, i].set(row)
    return MFACWindow(grads, gram, state.count + 1, state.damping)


def mfac_window_ihvp(state: MFACWindow, x: Array) -> Array:
    """``F⁻¹x`` for ``F = λI + (1/m)GᵀG`` over the window, by Woodbury:
    ``F⁻¹x = (x − Gᵀ(mλI + GGᵀ)⁻¹Gx)/λ``; cost ``O(dm + m³)``."""
    _checks.require_shape("x", x, (state.grads.shape[1],))
    _checks.require_finite("x", x)
    m = state.grads.shape[0]
    lam = state.damping
    K = state.gram + m * lam * jnp.eye(m, dtype=state.gram.dtype)
    c = jax.scipy.linalg.cho_factor(K)
    return (x - state.grads.T @ jax.scipy.linalg.cho_solve(c, state.grads @ x)) / lam


def scale_by_mfac(window: int, damping: float) -> optax.GradientTransformation:
    """Precondition each gradient by the sliding-window M-FAC inverse Fisher
    ``F⁻¹g`` of the last ``window`` gradients (current one included).  Works on
    any pytree by flattening it; the output has the input's structure."""
    _checks.require_int("window", window, minimum=1)
    _checks.require_positive("damping", damping)

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


def rank1_ema_inverse_update(inv: Array, a: Array, beta: float) -> Array:
    """Inverse of ``βX + (1−β)aaᵀ`` from ``inv = X⁻¹`` by Sherman–Morrison, ``O(n²)``.

    This is the MKOR update of a K-FAC factor ``X = E[aaᵀ]`` (Mozaffari et al. 2023):
    ``(βX + (1−β)aaᵀ)⁻¹ = (1/β)[X⁻¹ − c X⁻¹aaᵀX⁻¹ / (1 + c aᵀX⁻¹a)]``, ``c = (1−β)/β``.
    """
    _check_matrix("inv", inv)
    _check_vector("a", a)
    _checks.require_in_range("beta", beta, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    if inv.shape != (a.shape[0], a.shape[0]):
        raise ValueError(f"inv must have shape ({a.shape[0]}, {a.shape[0]}), got {inv.shape}")
    c = (1.0 - beta) / beta
    u = inv @ a
    w = inv.T @ a
    return (inv - c * jnp.outer(u, w) / (1.0 + c * a @ u)) / beta


class TNGDResult(NamedTuple):
    """Output of :func:`thermodynamic_solve`."""

    mean: Array  # time average of x over the sampling window: the estimate of F⁻¹g
    final: Array  # the last state of the simulated process
    num_samples: Array


def thermodynamic_solve(
    F: Array,
    g: Array,
    key: Array,
    *,
    dt: float,
    num_steps: int,
    burn_in: int = 0,
    temperature: float = 1e-3,
    x0: Optional[Array] = None,
) -> TNGDResult:
    """Simulated thermodynamic linear solve (Thermodynamic Natural Gradient Descent):
    Euler–Maruyama for the Ornstein–Uhlenbeck process
    ``dx = −(Fx − g)dt + √(2T) dW``, whose stationary law is ``N(F⁻¹g, T·F⁻¹)``,
    so the time average after ``burn_in`` steps estimates the natural-gradient
    direction ``F⁻¹g``.  Stable for ``dt < 2/λ_max(F)``; ``temperature = 0``
    gives plain gradient descent on ``½xᵀFx − gᵀx``.  A *digital simulation* of
    the analog process: it says nothing about the hardware's cost.
    """
    _check_matrix("F", F)
    _check_vector("g", g)
    if F.shape != (g.shape[0], g.shape[0]):
        raise ValueError(f"F must have shape ({g.shape[0]}, {g.shape[0]}), got {F.shape}")
    _checks.require_positive("dt", dt)
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_int("burn_in", burn_in, minimum=0)
    if burn_in >= num_steps:
        raise ValueError(f"burn_in must be smaller than num_steps={num_steps}, got {burn_in}")
    _checks.require_nonnegative("temperature", temperature)
    x = jnp.zeros_like(g) if x0 is None else jnp.asarray(x0, g.dtype)
    noise_scale = jnp.sqrt(2.0 * temperature * dt).astype(g.dtype)

    def body(carry, k):
        x, total = carry
        xi = jax.random.normal(jax.random.fold_in(key, k), g.shape, g.dtype)
        x = x - dt * (F @ x - g) + noise_scale * xi
        total = total + jnp.where(k >= burn_in, x, jnp.zeros_like(x))
        return (x, total), None

    (x, total), _ = jax.lax.scan(body, (x, jnp.zeros_like(g)), jnp.arange(num_steps))
    n = num_steps - burn_in
    return TNGDResult(total / n, x, jnp.asarray(n))


# ---------------------------------------------------------------------------
# 3. Shampoo and orthogonalised updates
# ---------------------------------------------------------------------------


def inverse_pth_root(A: Array, p: float, eps: float = 0.0) -> Array:
    """``(A + εI)^{−1/p}`` for symmetric PSD ``A`` through ``eigh``.

    Eigenvalues of ``A + εI`` below ``n·machine-ε·λ_max`` are treated as zero
    (a pseudo-inverse root: those directions are left out), so ``eps = 0`` is
    allowed for rank-deficient ``A``."""
    _check_matrix("A", A)
    _checks.require_positive("p", p)
    _checks.require_nonnegative("eps", eps)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square, got shape {A.shape}")
    lam, V = jnp.linalg.eigh((A + A.T) / 2)
    lam = lam + eps
    floor = jnp.finfo(A.dtype).eps * jnp.max(jnp.abs(lam)) * A.shape[0]
    inv_root = jnp.where(lam > floor, jnp.maximum(lam, floor) ** (-1.0 / p), 0.0)
    return (V * inv_root) @ V.T


def shampoo_precondition(G: Array, L: Array, R: Array, eps: float = 0.0) -> Array:
    """Shampoo direction ``(L + εI)^{−1/4} G (R + εI)^{−1/4}`` (Gupta et al. 2018)."""
    _check_matrix("G", G)
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
    """
    _checks.require_in_range("decay", decay, 0.0, 1.0)
    _checks.require_nonnegative("eps", eps)

    def init_fn(params):
        _require_2d_tree("params", params)
        L = jax.tree.map(lambda w: jnp.zeros((w.shape[0], w.shape[0]), w.dtype), params)
        R = jax.tree.map(lambda w: jnp.zeros((w.shape[1], w.shape[1]), w.dtype), params)
        return ShampooState(L, R)

    def update_fn(updates, state, params=None):
        del params
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        L = jax.tree.map(lambda l, g: decay * l + g @ g.T, state.L, updates)
        R = jax.tree.map(lambda r, g: decay * r + g.T @ g, state.R, updates)
        new = jax.tree.map(lambda g, l, r: shampoo_precondition(g, l, r, eps), updates, L, R)
        return new, ShampooState(L, R)

    return optax.GradientTransformation(init_fn, update_fn)


def polar_factor(G: Array) -> Array:
    """The polar factor ``UVᵀ`` of ``G = UΣVᵀ`` (thin SVD): the exact orthogonalised
    update, ``argmax_{‖D‖_op ≤ 1} ⟨G, D⟩`` (steepest descent in the spectral norm)."""
    _check_matrix("G", G)
    U, _, Vt = jnp.linalg.svd(G, full_matrices=False)
    return U @ Vt


def _ns_core(X: Array, num_steps: int, coeffs: Array, eps: float) -> Array:
    transposed = X.shape[0] > X.shape[1]
    if transposed:
        X = X.T
    X = X / (jnp.linalg.norm(X) + eps)
    a, b, c = coeffs[0], coeffs[1], coeffs[2]

    def body(_, X):
        A = X @ X.T
        return a * X + (b * A + c * A @ A) @ X

    # unroll short loops (as optax does, for vmap); keep long ones rolled (compile time)
    X = jax.lax.fori_loop(0, num_steps, body, X, unroll=num_steps <= 8)
    return X.T if transposed else X


def newton_schulz(
    G: Array,
    num_steps: int = 5,
    coeffs: Sequence[float] = MUON_COEFFS,
    eps: float = 1e-8,
) -> Array:
    """Approximate polar factor by the odd matrix polynomial iteration
    ``X ← aX + b(XXᵀ)X + c(XXᵀ)²X`` from ``X₀ = G/(‖G‖_F + eps)``.

    Each singular value follows the scalar map ``σ ↦ aσ + bσ³ + cσ⁵`` while the
    singular vectors stay fixed.  :data:`CUBIC_COEFFS` ``(1.5, −0.5, 0)``
    converges to ``UVᵀ`` (quadratically once ``σ`` is near 1); :data:`MUON_COEFFS`
    push small singular values up much faster but only into a band around 1.
    Wide orientation is used internally (``G`` is transposed if tall).
    """
    _check_matrix("G", G)
    _checks.require_int("num_steps", num_steps, minimum=0)
    if len(coeffs) != 3:
        raise ValueError(f"coeffs must be three numbers (a, b, c), got {len(coeffs)}")
    _checks.require_positive("eps", eps)
    return _ns_core_jit(G, num_steps, jnp.asarray(coeffs, G.dtype), eps)


_ns_core_jit = jax.jit(_ns_core, static_argnums=(1, 3))


def newton_schulz_iterates(
    G: Array,
    num_steps: int,
    coeffs: Sequence[float] = MUON_COEFFS,
    eps: float = 1e-8,
) -> Array:
    """All iterates ``X_0, …, X_num_steps`` of :func:`newton_schulz` (one compiled
    ``lax.scan``), shape ``(num_steps + 1, *G.shape)``; ``X_k`` equals
    ``newton_schulz(G, k, coeffs, eps)``."""
    _check_matrix("G", G)
    _checks.require_int("num_steps", num_steps, minimum=0)
    if len(coeffs) != 3:
        raise ValueError(f"coeffs must be three numbers (a, b, c), got {len(coeffs)}")
    _checks.require_positive("eps", eps)
    transposed = G.shape[0] > G.shape[1]
    X0 = G.T if transposed else G
    X0 = X0 / (jnp.linalg.norm(X0) + eps)
    a, b, c = jnp.asarray(coeffs, G.dtype)

    def body(X, _):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
        return X, X

    _, Xs = jax.lax.scan(body, X0, None, length=num_steps)
    Xs = jnp.concatenate([X0[None], Xs], axis=0)
    return jnp.swapaxes(Xs, 1, 2) if transposed else Xs


def auon_scale(M: Array, gamma: float = 1.5, eps: float = 1e-7) -> Array:
    """AuON's cosh-based normalisation (Maity 2025, reference implementation):
    ``M / r`` with ``r = √(mean(cosh²(γ M/‖M‖_F)))``.

    Linear time, but a *scalar* rescaling: singular values keep their ratios
    (nothing is orthogonalised); since ``cosh ≥ 1``, ``r ≥ 1`` and
    ``‖M/r‖ ≤ ‖M‖`` in every unitarily invariant norm."""
    _check_matrix("M", M)
    _checks.require_positive("gamma", gamma)
    _checks.require_positive("eps", eps)
    return _auon_core(M, gamma, eps)


def _auon_core(M, gamma, eps):
    Mn = M / (jnp.linalg.norm(M) + eps)
    r = jnp.sqrt(jnp.mean(jnp.cosh(gamma * Mn) ** 2))
    return M / (r + 1e-8)


class MuonState(NamedTuple):
    count: Array
    mu: Any


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
    """
    _checks.require_in_range("beta", beta, 0.0, 1.0, high_inclusive=False)
    _checks.require_int("ns_steps", ns_steps, minimum=0)
    _checks.require_positive("eps", eps)
    if len(ns_coeffs) != 3:
        raise ValueError(f"ns_coeffs must be three numbers (a, b, c), got {len(ns_coeffs)}")

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
                lambda m, g: beta * (m / bc(t + 1, m)) + (1 - beta) * (g / bc(t, g)), mu, updates)
        else:
            mu_hat = jax.tree.map(lambda m: m / bc(t, m), mu)
        out = jax.tree.map(
            lambda x: _ns_core_jit(x, ns_steps, jnp.asarray(ns_coeffs, x.dtype), eps), mu_hat)
        return out, MuonState(t, mu)

    return optax.GradientTransformation(init_fn, update_fn)


def _scale_by_width():
    """``√max(1, fan_out/fan_in)`` with ``(fan_in, fan_out) = W.shape`` (Muon's width transfer)."""

    def update_fn(updates, state, params=None):
        del params
        return jax.tree.map(lambda u: u * np.sqrt(max(1.0, u.shape[1] / u.shape[0])), updates), state

    return optax.GradientTransformation(optax.init_empty_state, update_fn)


def muon(
    learning_rate: Union[float, Callable[[Array], Array]],
    beta: float = 0.95,
    ns_steps: int = 5,
    ns_coeffs: Sequence[float] = MUON_COEFFS,
    *,
    nesterov: bool = True,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """Muon for a pytree of 2-D weights: :func:`scale_by_muon`, Muon's width
    scaling ``√max(1, n_out/n_in)``, decoupled weight decay and the learning
    rate.  Matches ``optax.contrib.muon`` when every parameter is 2-D."""
    if not callable(learning_rate):  # a schedule is passed through to optax
        _checks.require_positive("learning_rate", learning_rate)
    _checks.require_nonnegative("weight_decay", weight_decay)
    return optax.chain(
        scale_by_muon(beta, ns_steps, ns_coeffs, nesterov=nesterov),
        _scale_by_width(),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )


def scale_by_auon(beta: float = 0.95, gamma: float = 1.5) -> optax.GradientTransformation:
    """AuON direction (reference implementation): ``m ← βm + (1−β)g``,
    ``u = (1−β)g + βm`` (Nesterov-style), update :func:`auon_scale` ``(u)``."""
    _checks.require_in_range("beta", beta, 0.0, 1.0, high_inclusive=False)
    _checks.require_positive("gamma", gamma)

    def init_fn(params):
        _require_2d_tree("params", params)
        return MuonState(jnp.zeros([], jnp.int32), jax.tree.map(jnp.zeros_like, params))

    def update_fn(updates, state, params=None):
        del params
        _checks.require_finite("updates", updates)
        mu = jax.tree.map(lambda m, g: beta * m + (1 - beta) * g, state.mu, updates)
        out = jax.tree.map(lambda m, g: _auon_core((1 - beta) * g + beta * m, gamma, 1e-7), mu, updates)
        return out, MuonState(state.count + 1, mu)

    return optax.GradientTransformation(init_fn, update_fn)


class DropState(NamedTuple):
    key: Array
    inner: Any
    masks: Any  # last step's keep-masks (for diagnostics)


def drop_layers(inner: optax.GradientTransformation, keep_prob: Union[float, Sequence[float]],
                key: Array) -> optax.GradientTransformation:
    """Randomised progressive training (Drop-Muon, Gruntkowska et al. 2025): at each
    step leaf ``l`` (a layer) is updated with probability ``p_l`` and left unchanged
    otherwise.  ``keep_prob`` is one probability or one per leaf (in
    ``jax.tree.leaves`` order).

    Simplification: the inner state (momentum) still sees every gradient; the
    compute saving of the paper (no backprop below the shallowest updated
    layer) is *counted*, not realised, here.
    """
    probs_in = np.atleast_1d(np.asarray(keep_prob, dtype=float))
    _checks.require_in_range("keep_prob", probs_in, 0.0, 1.0, low_inclusive=False)

    def init_fn(params):
        leaves = jax.tree.leaves(params)
        if probs_in.size not in (1, len(leaves)):
            raise ValueError(f"keep_prob must be a scalar or have one entry per leaf ({len(leaves)}), "
                             f"got {probs_in.size}")
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


def drop_muon(learning_rate: float, keep_prob: Union[float, Sequence[float]], key: Array,
              **muon_kwargs) -> optax.GradientTransformation:
    """Drop-Muon: :func:`muon` whose per-layer updates are randomly skipped (:func:`drop_layers`)."""
    return drop_layers(muon(learning_rate, **muon_kwargs), keep_prob, key)


def run_transformation(
    optimizer: optax.GradientTransformation,
    loss: Callable[[Any], Array],
    params0: Any,
    num_steps: int,
) -> tuple[Any, Array]:
    """Run ``optimizer`` on the deterministic ``loss`` (any pytree of params) for
    ``num_steps`` inside ``lax.scan``; returns ``(final_params, losses)`` with
    ``losses[k] = loss(params_k)``, ``k = 0..num_steps``."""
    _checks.require_int("num_steps", num_steps, minimum=1)
    _checks.require_finite("params0", params0)
    value_and_grad = jax.value_and_grad(loss)

    @jax.jit
    def go(params0):
        state0 = optimizer.init(params0)

        def body(carry, _):
            p, s = carry
            v, g = value_and_grad(p)
            u, s = optimizer.update(g, s, p)
            return (optax.apply_updates(p, u), s), v

        (p, _), vals = jax.lax.scan(body, (params0, state0), None, length=num_steps)
        return p, jnp.concatenate([vals, loss(p)[None]])

    return go(params0)
