r"""Bilevel optimisation: hypergradients and hyperparameter learning.

Notation (chapter 12). Upper variable ``θ ∈ ℝᵖ`` (a hyperparameter), lower
variable ``w ∈ ℝᵈ``, inner (lower-level) loss ``g(w, θ)``, outer (upper-level)
loss ``f(w, θ)``:

    min_θ F(θ) = f(w*(θ), θ),    w*(θ) = argmin_w g(w, θ).

When ``H = ∇²_ww g(w*, θ)`` is invertible, the implicit function theorem gives
the hypergradient

    ∇F(θ) = ∇_θ f − ∇²_θw g · H⁻¹ ∇_w f        (all at (w*(θ), θ)).

Every estimator here approximates it:

- :func:`implicit_hypergradient` solves ``H q = ∇_w f`` (dense or conjugate
  gradients), :func:`custom_root` packages that as a differentiable solver;
- :func:`neumann_hypergradient` replaces ``H⁻¹`` by ``α Σ_{j<K} (I − αH)^j``;
- :func:`unrolled_hypergradient` back-propagates through ``T`` gradient steps
  on ``g``, optionally only through the last ``K`` (truncated back-propagation);
- :func:`penalty_hypergradient` / :func:`f2sa_hypergradient` are fully
  first-order: ``∇_θ f(y_σ) + (∇_θ g(y_σ) − ∇_θ g(z*))/σ`` with
  ``y_σ = argmin σ f + g`` and ``z* = argmin g`` (bias ``O(σ)``, ``σ = 1/λ``).

Outer loops: :func:`hypergradient_descent` (warm-started inner steps plus an
implicit or F2SA hypergradient, in ``lax.scan``), :func:`hoag` (inexact
solves with a decreasing tolerance) and :func:`adaptive_inexact` (backtracking
on inexact values with the accuracy tightened on demand).

Test problems with closed forms: ridge regression (:func:`ridge_losses`,
:func:`ridge_solution`, :func:`ridge_hypergradient`) and data cleaning by
per-example weights (:func:`data_cleaning_problem`, :func:`weighted_logistic_losses`).

References: Pedregosa (2016) "Hyperparameter optimization with approximate
gradient" (HOAG); Blondel et al. (2022) "Efficient and modular implicit
differentiation"; Lorraine, Vicol, Duvenaud (2020) (Neumann series); Shaban,
Cheng, Hatch, Boots (2019) (truncated back-propagation); Kwon, Kwon, Wright,
Nowak (2023) "A fully first-order method for stochastic bilevel optimization"
(F2SA) and (2024) "On penalty methods for nonconvex bilevel optimization and
first-order stochastic approximation"; Salehi, Mukherjee, Roberts, Ehrhardt
(2023) "An adaptively inexact first-order method for bilevel optimization with
application to hyperparameter learning".
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    is_concrete,
    require_finite,
    require_int,
    require_ndim,
    require_positive,
)

__all__ = [
    "ridge_losses",
    "ridge_solution",
    "ridge_hypergradient",
    "check_inner_hessian",
    "custom_root",
    "implicit_hypergradient",
    "neumann_hypergradient",
    "unrolled_hypergradient",
    "penalty_hypergradient",
    "f2sa_hypergradient",
    "penalty_value",
    "inner_gd",
    "inner_gd_tol",
    "hypergradient_descent",
    "BilevelTrace",
    "hoag",
    "adaptive_inexact",
    "InexactTrace",
    "data_cleaning_problem",
    "CleaningData",
    "weighted_logistic_losses",
    "auc",
]

Loss = Callable[[jax.Array, jax.Array], jax.Array]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------

def _vec(name: str, x: Any) -> jax.Array:
    x = jnp.asarray(x) if is_concrete(x) else x
    require_ndim(name, x, 1)
    require_finite(name, x)
    return x


def _theta(theta: Any) -> jax.Array:
    theta = jnp.asarray(theta) if is_concrete(theta) else theta
    require_ndim("theta", theta, (0, 1))
    require_finite("theta", theta)
    return theta


def _pos_int(name: str, value: Any) -> None:
    if is_concrete(value) and not isinstance(value, (int, np.integer)) and jnp.ndim(value) == 0:
        arr = np.asarray(value)
        if np.issubdtype(arr.dtype, np.integer):
            value = int(arr)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        require_int(name, value, minimum=1)
    elif is_concrete(value):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")


def check_inner_hessian(inner: Loss, w: Any, theta: Any, *, rtol: Optional[float] = None,
                        max_dim: int = 2000) -> None:
    """Raise a clear error when ``H = ∇²_ww g(w, θ)`` is singular or indefinite.

    The hypergradient needs ``H⁻¹``: a (numerically) zero eigenvalue means the
    inner problem has no unique solution.  Skipped for traced inputs and for
    ``d > max_dim`` (the dense eigen-decomposition would dominate the cost).
    """
    if not is_concrete((w, theta)) or jnp.size(w) > max_dim:
        return
    H = np.asarray(jax.hessian(inner, argnums=0)(jnp.asarray(w), jnp.asarray(theta)), dtype=float)
    H = 0.5 * (H + H.T)
    ev = np.linalg.eigvalsh(H)
    scale = max(float(np.max(np.abs(ev))), 1e-30)
    if rtol is None:
        rtol = 10 * len(ev) * float(jnp.finfo(jnp.result_type(w)).eps)
    lo = float(ev[0])
    if not np.isfinite(lo):
        raise ValueError("lower-level Hessian contains NaN or infinite entries")
    if lo < -rtol * scale:
        raise ValueError(
            f"lower-level Hessian is not positive definite (smallest eigenvalue {lo:.3g}): "
            "w is not a strict local minimiser of the inner problem, so the implicit "
            "hypergradient is not defined")
    if lo <= rtol * scale:
        raise ValueError(
            f"lower-level Hessian is singular (smallest eigenvalue {lo:.3g}): the inner problem "
            "has no unique solution, add regularisation")


# ---------------------------------------------------------------------------
# ridge regression: the closed-form test problem
# ---------------------------------------------------------------------------

def _check_data(X_tr, y_tr, X_val, y_val):
    arrs = [jnp.asarray(a) if is_concrete(a) else a for a in (X_tr, y_tr, X_val, y_val)]
    X_tr, y_tr, X_val, y_val = arrs
    require_ndim("X_train", X_tr, 2)
    require_ndim("X_val", X_val, 2)
    require_ndim("y_train", y_tr, 1)
    require_ndim("y_val", y_val, 1)
    if jnp.shape(y_tr)[0] != jnp.shape(X_tr)[0]:
        raise ValueError(f"y_train must have {jnp.shape(X_tr)[0]} entries (rows of X_train), "
                         f"got shape {tuple(jnp.shape(y_tr))}")
    if jnp.shape(y_val)[0] != jnp.shape(X_val)[0]:
        raise ValueError(f"y_val must have {jnp.shape(X_val)[0]} entries (rows of X_val), "
                         f"got shape {tuple(jnp.shape(y_val))}")
    if jnp.shape(X_val)[1] != jnp.shape(X_tr)[1]:
        raise ValueError(f"X_val must have {jnp.shape(X_tr)[1]} columns like X_train, "
                         f"got shape {tuple(jnp.shape(X_val))}")
    for name, a in zip(("X_train", "y_train", "X_val", "y_val"), arrs):
        require_finite(name, a)
    return X_tr, y_tr, X_val, y_val


def ridge_losses(X_train, y_train, X_val, y_val, *, log_lambda: bool = False):
    """``(inner, outer)`` for ridge hyperparameter learning.

    ``g(w, λ) = ½‖X_tr w − y_tr‖² + ½ Σ_i λ_i w_i²`` (``λ`` a scalar or one
    value per feature) and ``f(w, λ) = ½‖X_val w − y_val‖²``.  With
    ``log_lambda=True`` the hyperparameter is ``θ = log λ``.
    """
    X_tr, y_tr, X_val, y_val = _check_data(X_train, y_train, X_val, y_val)

    def lam_of(theta):
        return jnp.exp(theta) if log_lambda else theta

    def inner(w, theta):
        r = X_tr @ w - y_tr
        return 0.5 * jnp.dot(r, r) + 0.5 * jnp.sum(lam_of(theta) * w * w)

    def outer(w, theta):
        r = X_val @ w - y_val
        return 0.5 * jnp.dot(r, r)

    return inner, outer


def ridge_solution(X_train, y_train, lam) -> jax.Array:
    """``w*(λ) = (X_trᵀX_tr + diag(λ))⁻¹ X_trᵀ y_tr`` by a dense solve."""
    X, y = jnp.asarray(X_train), jnp.asarray(y_train)
    require_ndim("X_train", X, 2)
    require_ndim("y_train", y, 1)
    require_positive("lam", lam)
    d = X.shape[1]
    A = X.T @ X + jnp.diag(jnp.broadcast_to(jnp.asarray(lam, X.dtype), (d,)))
    return jnp.linalg.solve(A, X.T @ y)


def ridge_hypergradient(X_train, y_train, X_val, y_val, lam) -> jax.Array:
    """Closed-form ``dF/dλ`` for :func:`ridge_losses` (shape of ``lam``).

    Differentiating ``(A + Λ) w* = X_trᵀy`` gives ``∂w*/∂λ_i = −(A+Λ)⁻¹ e_i w*_i``,
    so ``∇F = −w* ⊙ (A+Λ)⁻¹ X_valᵀ(X_val w* − y_val)`` (summed for a scalar λ).
    """
    X_tr, y_tr, X_val, y_val = _check_data(X_train, y_train, X_val, y_val)
    require_positive("lam", lam)
    lam = jnp.asarray(lam, X_tr.dtype)
    d = X_tr.shape[1]
    A = X_tr.T @ X_tr + jnp.diag(jnp.broadcast_to(lam, (d,)))
    w = jnp.linalg.solve(A, X_tr.T @ y_tr)
    q = jnp.linalg.solve(A, X_val.T @ (X_val @ w - y_val))
    g = -w * q
    return jnp.sum(g) if lam.ndim == 0 else g


# ---------------------------------------------------------------------------
# implicit differentiation
# ---------------------------------------------------------------------------

def _hvp(inner, w, theta):
    grad_w = jax.grad(inner, argnums=0)
    return lambda v: jax.jvp(lambda u: grad_w(u, theta), (w,), (v,))[1]


def _cross_vjp(inner, w, theta, q):
    """``∇²_θw g · q``: the θ-gradient of ``⟨∇_w g(w, θ), q⟩``."""
    grad_w = jax.grad(inner, argnums=0)
    return jax.grad(lambda t: jnp.vdot(grad_w(w, t), q))(theta)


def _solve(inner, w, theta, b, method, tol, maxiter, x0=None):
    """``H⁻¹ b`` by a dense solve or by CG on Hessian-vector products."""
    if method == "dense":
        return jnp.linalg.solve(jax.hessian(inner, argnums=0)(w, theta), b)
    q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, w, theta), b, x0=x0, tol=0.0, atol=tol,
                                      maxiter=maxiter)
    return q


def implicit_hypergradient(inner: Loss, outer: Loss, w: Any, theta: Any, *,
                           method: str = "dense", tol: float = 1e-10, maxiter: int = 1000,
                           check: bool = True) -> jax.Array:
    """``∇F(θ) = ∇_θ f − ∇²_θw g · H⁻¹ ∇_w f`` at the inner solution ``w``.

    ``method="dense"`` forms ``H`` and solves; ``"cg"`` uses conjugate gradients on
    Hessian-vector products (absolute residual ``tol``, ``maxiter`` steps). With
    ``check`` (default), a singular or indefinite ``H`` raises before any compute.
    """
    w = _vec("w", w)
    theta = _theta(theta)
    if method not in ("dense", "cg"):
        raise ValueError(f"method must be 'dense' or 'cg', got {method!r}")
    require_positive("tol", tol)
    _pos_int("maxiter", maxiter)
    if check:
        check_inner_hessian(inner, w, theta)
    return _implicit(inner, outer, w, theta, method, tol, maxiter)


def _implicit(inner, outer, w, theta, method, tol, maxiter, q0=None):
    gw = jax.grad(outer, argnums=0)(w, theta)
    gt = jax.grad(outer, argnums=1)(w, theta)
    q = _solve(inner, w, theta, gw, method, tol, maxiter, q0)
    return gt - _cross_vjp(inner, w, theta, q)


def custom_root(optimality_fn: Callable, *, method: str = "dense", tol: float = 1e-10,
                maxiter: int = 1000):
    """Decorator making ``solver(theta, init) -> w`` differentiable by the IFT.

    ``optimality_fn(w, θ)`` vanishes at the solution (e.g. ``∇_w g``). The
    returned function has the primal output of ``solver`` and a ``custom_vjp``:
    for a cotangent ``v`` it solves ``(∂_w F)ᵀ u = v`` and returns
    ``−(∂_θ F)ᵀ u`` (nothing flows into ``init``), as in JAXopt's
    ``custom_root`` (Blondel et al. 2022). ``solver`` itself is never
    differentiated, so it may be any loop. ``method="cg"`` solves with conjugate
    gradients on vector-Jacobian products and assumes ``∂_w F`` symmetric positive
    definite (true for ``F = ∇_w g`` at a strict minimiser); use ``"dense"`` otherwise.
    """
    if method not in ("dense", "cg"):
        raise ValueError(f"method must be 'dense' or 'cg', got {method!r}")
    require_positive("tol", tol)
    _pos_int("maxiter", maxiter)

    def wrap(solver: Callable):
        @jax.custom_vjp
        def solved(theta, init):
            return solver(theta, init)

        def fwd(theta, init):
            w = solver(theta, init)
            return w, (w, theta, init)

        def bwd(res, v):
            w, theta, init = res
            if method == "dense":
                J = jax.jacobian(optimality_fn, argnums=0)(w, theta)
                u = jnp.linalg.solve(J.T, v)
            else:
                _, vjp_w = jax.vjp(lambda x: optimality_fn(x, theta), w)
                u, _ = jax.scipy.sparse.linalg.cg(lambda z: vjp_w(z)[0], v, tol=0.0, atol=tol,
                                                  maxiter=maxiter)
            _, vjp_t = jax.vjp(lambda t: optimality_fn(w, t), theta)
            return (jax.tree_util.tree_map(jnp.negative, vjp_t(u)[0]),
                    jax.tree_util.tree_map(jnp.zeros_like, init))

        solved.defvjp(fwd, bwd)
        return solved

    return wrap


# ---------------------------------------------------------------------------
# Neumann series and unrolled / truncated back-propagation
# ---------------------------------------------------------------------------

def neumann_hypergradient(inner: Loss, outer: Loss, w: Any, theta: Any, K: Any, alpha: float,
                          *, all_terms: bool = False) -> jax.Array:
    """Hypergradient with ``H⁻¹ ≈ α Σ_{j=0}^{K−1} (I − αH)^j`` (Lorraine et al. 2020).

    Converges geometrically, error ``O((1 − αμ)^K)``, when ``0 < α < 2/L`` and
    ``H ⪰ μI``. With ``all_terms=True`` returns the estimates for ``1, …, K``
    terms (shape ``(K, *θ.shape)``; ``K`` must then be a Python int).
    """
    w = _vec("w", w)
    theta = _theta(theta)
    _pos_int("K", K)
    require_positive("alpha", alpha)
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

    if all_terms:
        if not isinstance(K, (int, np.integer)):
            raise TypeError("K must be a Python int when all_terms=True")
        _, sums = jax.lax.scan(step, (gw, gw), None, length=int(K))
        return jax.vmap(lambda s: gt - vjp_cross(alpha * s)[0])(sums)
    # K may be traced (vmap over K): fori_loop with a dynamic trip count
    _, s = jax.lax.fori_loop(1, K, lambda j, c: step(c, None)[0], (gw, gw))
    return gt - vjp_cross(alpha * s)[0]


def inner_gd(inner: Loss, theta: Any, w0: Any, steps: int, lr: float) -> tuple[jax.Array, jax.Array]:
    """``steps`` gradient steps ``w ← w − lr ∇_w g(w, θ)``; returns ``(w_T, trajectory)``
    with the trajectory of shape ``(steps + 1, d)`` (``w_0 … w_T``)."""
    w0 = _vec("w0", w0)
    theta = _theta(theta)
    require_int("steps", steps, minimum=0)
    require_positive("lr", lr)
    return _inner_gd(inner, theta, w0, steps, lr)


def _inner_gd(inner, theta, w0, steps, lr):
    grad_w = jax.grad(inner, argnums=0)

    def step(w, _):
        w = w - lr * grad_w(w, theta)
        return w, w

    wT, traj = jax.lax.scan(step, w0, None, length=steps)
    return wT, jnp.concatenate([w0[None], traj], axis=0)


def unrolled_hypergradient(inner: Loss, outer: Loss, theta: Any, w0: Any, *, steps: int,
                           lr: float, num_steps: Any = None, truncate: Any = None) -> jax.Array:
    """Reverse-mode hypergradient through gradient descent on ``g``.

    Runs ``w_{t+1} = Φ(w_t, θ) = w_t − lr ∇_w g(w_t, θ)`` from ``w0`` for
    ``num_steps ≤ steps`` steps and back-propagates ``f(w_T, θ)`` through the
    last ``truncate`` of them only (truncated back-propagation, Shaban et al.
    2019); ``truncate = num_steps`` (default) is full unrolling, the exact
    gradient of ``θ ↦ f(w_T(θ), θ)``.  ``num_steps`` and ``truncate`` may be traced
    (``vmap`` over them); ``steps`` is the static scan length.
    """
    theta = _theta(theta)
    w0 = _vec("w0", w0)
    require_int("steps", steps, minimum=1)
    require_positive("lr", lr)
    if num_steps is None:
        num_steps = steps
    _pos_int("num_steps", num_steps)
    if isinstance(num_steps, (int, np.integer)) and num_steps > steps:
        raise ValueError(f"num_steps must be at most steps={steps}, got {num_steps}")
    if truncate is None:
        truncate = num_steps
    _pos_int("truncate", truncate)
    return _unrolled(inner, outer, theta, w0, steps, lr, num_steps, truncate)


def _unrolled(inner, outer, theta, w0, steps, lr, num_steps, truncate):
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


# ---------------------------------------------------------------------------
# fully first-order: penalty / value function (F2SA)
# ---------------------------------------------------------------------------

def penalty_hypergradient(inner: Loss, outer: Loss, theta: Any, y0: Any, *, sigma: float,
                          steps: int, lr: float, z0: Any = None,
                          return_solutions: bool = False):
    """Fully first-order hypergradient of the penalty function (Kwon et al. 2024)

        ψ_σ(θ) = [min_y (σ f + g)(y, θ) − min_z g(z, θ)] / σ,
        ∇ψ_σ(θ) = ∇_θ f(y_σ, θ) + [∇_θ g(y_σ, θ) − ∇_θ g(z*, θ)] / σ,

    ``O(σ)``-close to ``∇F(θ)`` (Danskin's theorem, no Hessian). ``y_σ`` and ``z*``
    are computed by ``steps`` gradient steps of size ``lr`` from ``y0`` / ``z0``
    (the step on ``σ f + g`` is ``lr / (1 + σ)``).
    """
    theta = _theta(theta)
    y0 = _vec("y0", y0)
    z0 = y0 if z0 is None else _vec("z0", z0)
    require_positive("sigma", sigma)
    require_int("steps", steps, minimum=1)
    require_positive("lr", lr)
    g, y, z = _penalty(inner, outer, theta, y0, z0, sigma, steps, lr)
    return (g, y, z) if return_solutions else g


def _penalty(inner, outer, theta, y0, z0, sigma, steps, lr):
    def pen(w, t):
        return sigma * outer(w, t) + inner(w, t)

    y, _ = _inner_gd(pen, theta, y0, steps, lr / (1.0 + sigma))
    z, _ = _inner_gd(inner, theta, z0, steps, lr)
    gt_f = jax.grad(outer, argnums=1)(y, theta)
    gy = jax.grad(inner, argnums=1)(y, theta)
    gz = jax.grad(inner, argnums=1)(z, theta)
    return gt_f + (gy - gz) / sigma, y, z


def f2sa_hypergradient(inner: Loss, outer: Loss, theta: Any, y0: Any, *, lam: float,
                       steps: int, lr: float, z0: Any = None):
    """F2SA's hypergradient (Kwon et al. 2023): ``∇_θ f(y) + λ(∇_θ g(y) − ∇_θ g(z))``
    with ``y ≈ argmin f/λ + g``, ``z ≈ argmin g``. Identical to
    :func:`penalty_hypergradient` with ``σ = 1/λ``; bias ``O(1/λ)``."""
    require_positive("lam", lam)
    return penalty_hypergradient(inner, outer, theta, y0, sigma=1.0 / lam, steps=steps, lr=lr,
                                 z0=z0)


def penalty_value(inner: Loss, outer: Loss, theta: Any, y0: Any, *, sigma: float, steps: int,
                  lr: float) -> jax.Array:
    """``ψ_σ(θ) = [min_y (σf + g) − min_z g] / σ`` by gradient descent (``O(σ)`` from ``F``)."""
    g, y, z = penalty_hypergradient(inner, outer, theta, y0, sigma=sigma, steps=steps, lr=lr,
                                    return_solutions=True)
    th = jnp.asarray(theta)
    return (sigma * outer(y, th) + inner(y, th) - inner(z, th)) / sigma


# ---------------------------------------------------------------------------
# outer loops
# ---------------------------------------------------------------------------

class BilevelTrace(NamedTuple):
    """Result of :func:`hypergradient_descent`."""

    theta: jax.Array        # final upper variable
    w: jax.Array            # final inner iterate
    thetas: jax.Array       # (steps + 1, *θ.shape) upper iterates
    outer_values: jax.Array  # (steps,) f(w_k, θ_k) before each update
    grad_norms: jax.Array   # (steps,) ‖hypergradient estimate‖


def hypergradient_descent(inner: Loss, outer: Loss, theta0: Any, w0: Any, *, method: str = "implicit",
                          outer_lr: float, steps: int, inner_steps: int, inner_lr: float,
                          lam: float = 10.0, lam_max: Optional[float] = None,
                          lam_growth: float = 0.0, cg_iters: int = 20) -> BilevelTrace:
    """Warm-started bilevel gradient descent inside ``lax.scan``.

    Each outer step runs ``inner_steps`` gradient steps on the lower level from
    the previous iterate, then ``θ ← θ − outer_lr · ĝ`` with ``ĝ``:

    - ``"implicit"``: :func:`implicit_hypergradient` by ``cg_iters`` CG steps
      (approximate implicit differentiation, AID);
    - ``"f2sa"``: F2SA (Kwon et al. 2023) with full-batch gradients (the paper's
      method samples minibatches; here the oracles are exact): two warm-started
      sequences ``y`` (on ``f/λ_k + g``) and ``z`` (on ``g``), multiplier
      ``λ_k = min(lam_max, lam + lam_growth·k)``, gradients only.
    """
    theta0 = _theta(theta0)
    w0 = _vec("w0", w0)
    if method not in ("implicit", "f2sa"):
        raise ValueError(f"method must be 'implicit' or 'f2sa', got {method!r}")
    require_positive("outer_lr", outer_lr)
    require_positive("inner_lr", inner_lr)
    require_int("steps", steps, minimum=1)
    require_int("inner_steps", inner_steps, minimum=1)
    require_int("cg_iters", cg_iters, minimum=1)
    require_positive("lam", lam)
    lam_max = lam if lam_max is None else lam_max
    require_positive("lam_max", lam_max)
    if lam_growth < 0:
        raise ValueError(f"lam_growth must be non-negative, got {lam_growth}")
    return _hgd(inner, outer, theta0, w0, method, outer_lr, steps, inner_steps, inner_lr,
                lam, lam_max, lam_growth, cg_iters)


def _hgd(inner, outer, theta0, w0, method, outer_lr, steps, inner_steps, inner_lr, lam,
         lam_max, lam_growth, cg_iters):
    def gd(loss, th, w, lr):
        gl = jax.grad(loss, argnums=0)
        return jax.lax.fori_loop(0, inner_steps, lambda _, u: u - lr * gl(u, th), w)

    def step(carry, k):
        theta, y, z, q = carry
        if method == "implicit":
            y = gd(inner, theta, y, inner_lr)
            gw = jax.grad(outer, argnums=0)(y, theta)
            q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, y, theta), gw, x0=q, maxiter=cg_iters,
                                              tol=0.0, atol=0.0)
            hg = jax.grad(outer, argnums=1)(y, theta) - _cross_vjp(inner, y, theta, q)
        else:
            lam_k = jnp.minimum(lam_max, lam + lam_growth * k)

            def pen(w, t):
                return outer(w, t) / lam_k + inner(w, t)

            y = gd(pen, theta, y, inner_lr / (1.0 + 1.0 / lam_k))
            z = gd(inner, theta, z, inner_lr)
            hg = (jax.grad(outer, argnums=1)(y, theta)
                  + lam_k * (jax.grad(inner, argnums=1)(y, theta)
                             - jax.grad(inner, argnums=1)(z, theta)))
        val = outer(z if method == "f2sa" else y, theta)
        theta_new = theta - outer_lr * hg
        return (theta_new, y, z, q), (theta_new, val, jnp.linalg.norm(hg))

    carry0 = (theta0, w0, w0, jnp.zeros_like(w0))
    (theta, y, z, _), (thetas, vals, gn) = jax.lax.scan(step, carry0, jnp.arange(steps))
    thetas = jnp.concatenate([theta0[None], thetas], axis=0)
    return BilevelTrace(theta, z if method == "f2sa" else y, thetas, vals, gn)


def inner_gd_tol(inner: Loss, theta: Any, w0: Any, *, tol: float, lr: float,
                 maxiter: int = 100000) -> tuple[jax.Array, jax.Array]:
    """Gradient descent on ``g(·, θ)`` until ``‖∇_w g‖ ≤ tol``; returns ``(w, iterations)``."""
    theta = _theta(theta)
    w0 = _vec("w0", w0)
    require_positive("tol", tol)
    require_positive("lr", lr)
    require_int("maxiter", maxiter, minimum=1)
    return _gd_tol(inner, theta, w0, tol, lr, maxiter)


@functools.partial(jax.jit, static_argnums=(0,))
def _gd_tol(inner, theta, w0, tol, lr, maxiter):
    grad_w = jax.grad(inner, argnums=0)

    def cond(c):
        w, gnorm, k = c
        return (gnorm > tol) & (k < maxiter)

    def body(c):
        w, _, k = c
        w = w - lr * grad_w(w, theta)
        return w, jnp.linalg.norm(grad_w(w, theta)), k + 1

    w, _, k = jax.lax.while_loop(cond, body, (w0, jnp.linalg.norm(grad_w(w0, theta)), 0))
    return w, k


@functools.partial(jax.jit, static_argnums=(0, 1))
def _adjoint_cg(inner, outer, w, theta, q0, tol, maxiter):
    gw = jax.grad(outer, argnums=0)(w, theta)
    q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, w, theta), gw, x0=q0, tol=0.0, atol=tol,
                                      maxiter=maxiter)
    r = jnp.linalg.norm(_hvp(inner, w, theta)(q) - gw)
    hg = jax.grad(outer, argnums=1)(w, theta) - _cross_vjp(inner, w, theta, q)
    return hg, q, r


class InexactTrace(NamedTuple):
    """Result of :func:`hoag` and :func:`adaptive_inexact` (NumPy arrays, one entry per
    accepted outer step)."""

    theta: np.ndarray          # final upper variable
    thetas: np.ndarray         # upper iterates
    outer_values: np.ndarray   # inexact F̃(θ_k)
    inner_iters: np.ndarray    # cumulative lower-level gradient steps
    tolerances: np.ndarray     # accuracy ε_k used at step k
    step_sizes: np.ndarray     # step size used at step k


def _inner_lr(inner_lr, theta):
    return float(inner_lr(theta)) if callable(inner_lr) else float(inner_lr)


def hoag(inner: Loss, outer: Loss, theta0: Any, w0: Any, *, inner_lr, steps: int,
         tolerances: Any = None, step_size: float = 1.0, adapt_step: bool = True,
         cg_maxiter: int = 200) -> InexactTrace:
    """HOAG (Pedregosa 2016): hypergradient descent with inexact inner and adjoint solves.

    At step ``k``: solve the lower level by gradient descent (warm start) to
    ``‖∇_w g‖ ≤ ε_k``, the adjoint ``H q = ∇_w f`` by CG to residual ``ε_k``, form
    ``p_k = ∇_θ f − ∇²_θw g · q`` and step ``θ ← θ − p_k / L``. ``1/L`` starts at
    ``step_size``; with ``adapt_step`` (the heuristic of the reference
    implementation), if the inexact objective increased by more than the
    tolerance allows (``ε_k · max(1, |F̃|)``), the step is undone and ``L``
    doubled, otherwise ``L`` shrinks by 0.9; ``adapt_step=False`` keeps the step
    fixed (plain inexact hypergradient descent). Default ``ε_k = 0.1·(k+1)^{−1.1}``
    (summable, as the convergence theorem asks). ``inner_lr`` may be a callable of θ.
    """
    theta = np.asarray(_theta(theta0))
    w = _vec("w0", w0)
    require_int("steps", steps, minimum=1)
    require_positive("step_size", step_size)
    require_int("cg_maxiter", cg_maxiter, minimum=1)
    if tolerances is None:
        tolerances = 0.1 * (np.arange(steps) + 1.0) ** -1.1
    tolerances = np.asarray(tolerances, dtype=float)
    require_ndim("tolerances", tolerances, 1)
    require_positive("tolerances", tolerances)
    if tolerances.shape[0] < steps:
        raise ValueError(f"tolerances must have at least steps={steps} entries, "
                         f"got {tolerances.shape[0]}")
    L = 1.0 / step_size
    q = jnp.zeros_like(w)
    total = 0
    out = dict(thetas=[theta], vals=[], iters=[], tols=[], steps=[])
    prev_val = np.inf
    prev = None
    for k in range(steps):
        eps = tolerances[k]
        w_new, it = _gd_tol(inner, jnp.asarray(theta), w, eps, _inner_lr(inner_lr, theta), 100000)
        total += int(it)
        val = float(outer(w_new, jnp.asarray(theta)))
        if adapt_step and prev is not None and not val <= prev_val + eps * max(1.0, abs(prev_val)):
            # the last step increased the objective: undo it and halve the step
            theta, w_new, q, val = prev
            L *= 2.0
        elif adapt_step:
            L *= 0.9
        hg, q, _ = _adjoint_cg(inner, outer, w_new, jnp.asarray(theta), q, eps, cg_maxiter)
        prev = (theta, w_new, q, val)
        prev_val = val
        w = w_new
        theta = np.asarray(theta - np.asarray(hg) / L)
        out["thetas"].append(theta)
        out["vals"].append(val)
        out["iters"].append(total)
        out["tols"].append(eps)
        out["steps"].append(1.0 / L)
    return InexactTrace(theta, np.asarray(out["thetas"]), np.asarray(out["vals"]),
                        np.asarray(out["iters"]), np.asarray(out["tols"]),
                        np.asarray(out["steps"]))


def adaptive_inexact(inner: Loss, outer: Loss, theta0: Any, w0: Any, *, inner_lr, steps: int,
                     eps0: float = 1e-1, step_size: float = 1.0, rho: float = 0.5,
                     nu: float = 0.5, eta: float = 0.1, ratio: float = 0.5,
                     max_backtracks: int = 10, cg_maxiter: int = 200,
                     min_eps: float = 1e-12) -> InexactTrace:
    """Adaptively inexact hypergradient descent (simplified MAID, Salehi et al. 2023).

    Keeps a step ``α`` and an accuracy ``ε`` (lower-level gradient norm and
    adjoint residual).  Each step: compute ``F̃(θ)`` and ``ĝ`` at accuracy ``ε``;
    if ``ε > ratio·‖ĝ‖`` the hypergradient is not trusted and ``ε ← νε`` first.
    Backtrack ``α ← ρα`` until the inexact Armijo test
    ``F̃(θ − αĝ) + ε ≤ F̃(θ) − ε − η α ‖ĝ‖²`` holds (a decrease that survives
    value errors up to ``ε``, which the caller's accuracy should bound); if it never does, tighten
    ``ε ← νε`` and retry from the same θ and initial step.  After an accepted step, ``α ← α/ρ``
    (try a longer step next time).  No accuracy schedule or step size is chosen
    a priori, which is the point of the method.
    """
    theta = np.asarray(_theta(theta0))
    w = _vec("w0", w0)
    require_int("steps", steps, minimum=1)
    for name, v in (("eps0", eps0), ("step_size", step_size), ("eta", eta), ("ratio", ratio),
                    ("min_eps", min_eps)):
        require_positive(name, v)
    for name, v in (("rho", rho), ("nu", nu)):
        require_positive(name, v)
        if v >= 1:
            raise ValueError(f"{name} must lie in (0, 1), got {v}")
    require_int("max_backtracks", max_backtracks, minimum=1)
    eps, alpha = float(eps0), float(step_size)
    q = jnp.zeros_like(w)
    total = 0
    out = dict(thetas=[theta], vals=[], iters=[], tols=[], steps=[])
    k = 0
    while k < steps:
        th = jnp.asarray(theta)
        w, it = _gd_tol(inner, th, w, eps, _inner_lr(inner_lr, theta), 100000)
        total += int(it)
        val = float(outer(w, th))
        hg, q, _ = _adjoint_cg(inner, outer, w, th, q, eps, cg_maxiter)
        gn2 = float(jnp.sum(hg ** 2))
        if eps > ratio * np.sqrt(gn2) and eps > min_eps:
            eps *= nu
            continue
        accepted = False
        alpha_start = alpha
        for _ in range(max_backtracks):
            cand = np.asarray(theta - alpha * np.asarray(hg))
            wc, it = _gd_tol(inner, jnp.asarray(cand), w, eps, _inner_lr(inner_lr, cand), 100000)
            total += int(it)
            vc = float(outer(wc, jnp.asarray(cand)))
            if np.isfinite(vc) and vc + eps <= val - eps - eta * alpha * gn2:
                accepted = True
                break
            alpha *= rho
        if not accepted:
            # the decrease was hidden by the inexactness: more accuracy, same step
            if eps <= min_eps:
                break
            eps *= nu
            alpha = alpha_start
            continue
        out["tols"].append(eps)
        out["steps"].append(alpha)
        theta, w = cand, wc
        alpha /= rho
        out["thetas"].append(theta)
        out["vals"].append(val)
        out["iters"].append(total)
        k += 1
    return InexactTrace(theta, np.asarray(out["thetas"]), np.asarray(out["vals"]),
                        np.asarray(out["iters"]), np.asarray(out["tols"]),
                        np.asarray(out["steps"]))


# ---------------------------------------------------------------------------
# data cleaning: per-example weights
# ---------------------------------------------------------------------------

class CleaningData(NamedTuple):
    X_train: jax.Array
    y_train: jax.Array   # labels in {−1, +1}, some flipped
    X_val: jax.Array
    y_val: jax.Array     # clean labels
    flipped: jax.Array   # bool mask of flipped training labels


def data_cleaning_problem(key: jax.Array, n_train: int = 200, n_val: int = 100, d: int = 5,
                          flip_fraction: float = 0.3) -> CleaningData:
    """Two Gaussian classes ``N(±m, I)`` in ℝᵈ; a fraction of training labels flipped."""
    require_int("n_train", n_train, minimum=2)
    require_int("n_val", n_val, minimum=2)
    require_int("d", d, minimum=1)
    if not 0 <= flip_fraction < 0.5:
        raise ValueError(f"flip_fraction must lie in [0, 0.5), got {flip_fraction}")
    k1, k2, k3, k4, k5 = jax.random.split(key, 5)
    m = jnp.ones(d) / jnp.sqrt(d) * 1.5

    def sample(kl, kx, n):
        y = jnp.where(jax.random.bernoulli(kl, 0.5, (n,)), 1.0, -1.0)
        return y[:, None] * m + jax.random.normal(kx, (n, d)), y

    Xt, yt = sample(k1, k2, n_train)
    Xv, yv = sample(k3, k4, n_val)
    n_flip = int(round(flip_fraction * n_train))
    flipped = jnp.zeros(n_train, bool).at[jax.random.permutation(k5, n_train)[:n_flip]].set(True)
    return CleaningData(Xt, jnp.where(flipped, -yt, yt), Xv, yv, flipped)


def weighted_logistic_losses(data: CleaningData, mu: float = 1e-2):
    """``(inner, outer)`` for data cleaning. ``θ ∈ ℝⁿ`` are logits of per-example
    weights ``s_i = sigmoid(θ_i)``:

        g(w, θ) = (1/n) Σ s_i log(1 + exp(−y_i x_iᵀw)) + (μ/2)‖w‖²,
        f(w) = mean validation logistic loss.
    """
    require_positive("mu", mu)
    Xt, yt, Xv, yv = data.X_train, data.y_train, data.X_val, data.y_val

    def inner(w, theta):
        s = jax.nn.sigmoid(theta)
        return jnp.mean(s * jax.nn.softplus(-yt * (Xt @ w))) + 0.5 * mu * jnp.dot(w, w)

    def outer(w, theta):
        return jnp.mean(jax.nn.softplus(-yv * (Xv @ w)))

    return inner, outer


def auc(scores: Any, labels: Any) -> float:
    """Area under the ROC curve of ``scores`` for the positive ``labels`` (ties count ½)."""
    s = np.asarray(scores, dtype=float)
    lab = np.asarray(labels, dtype=bool)
    if s.shape != lab.shape or s.ndim != 1:
        raise ValueError(f"scores and labels must be 1-D of the same shape, got {s.shape} and {lab.shape}")
    pos, neg = s[lab], s[~lab]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("auc needs at least one positive and one negative label")
    diff = pos[:, None] - neg[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))
