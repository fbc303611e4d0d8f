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
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_int,
    require_key,
    require_positive,
)
from ._checks import as_nonempty_float_array as _array  # finite, non-empty float array
from ._checks import require_nonnegative_scalar as _nonneg_scalar
from ._checks import require_positive_scalar as _pos_scalar
from ._types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray, Shaped

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
    "InnerGDOutput",
    "inner_gd_tol",
    "InnerSolveOutput",
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

_HIGHEST = jax.lax.Precision.HIGHEST  # float32 matmuls are TF32 on NVIDIA GPUs otherwise


def _vec(name: str, x: Any) -> jax.Array:
    return _array(name, x, ndim=1)


def _theta(theta: Any, name: str = "theta") -> jax.Array:
    return _array(name, theta, ndim=(0, 1))


def _loss(name: str, fn: Any) -> None:
    """A loss ``(w, θ) ↦ scalar``: callable and hashable (a static argument of the jitted kernels)."""
    require_callable(name, fn)
    try:
        hash(fn)
    except TypeError:
        raise TypeError(
            f"{name} must be hashable (it is a static argument of a jitted solver); "
            f"got an unhashable {type(fn).__name__}: wrap it in a plain function"
        ) from None


def _choice(name: str, value: Any, allowed: tuple) -> str:
    listed = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed} (a string), got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


_NO_OUTER = object()


def _check_losses(inner, outer, w, theta, w_name="w"):
    """Both losses callable and scalar-valued at ``(w, θ)`` (shapes only: no compute)."""
    _loss("inner", inner)
    pairs = (("inner", inner),)
    if outer is not _NO_OUTER:
        _loss("outer", outer)
        pairs += (("outer", outer),)
    for name, fn in pairs:
        try:
            out = jax.eval_shape(fn, w, theta)
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(
                f"{name}({w_name}, theta) failed for {w_name} of shape "
                f"{tuple(jnp.shape(w))} and theta of shape {tuple(jnp.shape(theta))}: "
                f"{err}"
            ) from None
        if getattr(out, "shape", None) != ():
            raise ValueError(f"{name} must return a scalar, got shape {getattr(out, 'shape', None)}")


def _pos_int(name: str, value: Any) -> None:
    if is_concrete(value) and not isinstance(value, (int, np.integer)) and jnp.ndim(value) == 0:
        arr = np.asarray(value)
        if np.issubdtype(arr.dtype, np.integer):
            value = int(arr)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        require_int(name, value, minimum=1)
    elif is_concrete(value):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")


@functools.partial(jax.jit, static_argnums=(0,))
def _inner_hessian(inner, w, theta):
    return jax.hessian(inner, argnums=0)(w, theta)


def check_inner_hessian(
    inner: Loss,
    w: Float[Array, " d"],
    theta: Float[Array, "*p"],
    *,
    rtol: float | None = None,
    max_dim: int = 2000,
) -> None:
    """Raise a clear error when ``H = ∇²_ww g(w, θ)`` is singular or indefinite.

    The hypergradient needs ``H⁻¹``: a (numerically) zero eigenvalue means the
    inner problem has no unique solution.  Skipped for traced inputs and for
    ``d > max_dim`` (the dense eigen-decomposition would dominate the cost).

    Args:
      inner: the lower-level loss ``g(w, θ)`` (callable, scalar-valued).
      w: finite 1-D inner point. theta: finite scalar or 1-D hyperparameter.
      rtol: relative eigenvalue threshold (positive), default ``10·d·eps``.
      max_dim: positive int.

    Raises:
      ValueError: singular or indefinite Hessian; bad shapes or values of the arguments.
      TypeError: non-callable ``inner``, non-numeric arrays, non-int ``max_dim``.
    """
    w = _vec("w", w)
    theta = _theta(theta)
    _check_losses(inner, _NO_OUTER, w, theta)
    if rtol is not None:
        _pos_scalar("rtol", rtol)
    require_int("max_dim", max_dim, minimum=1)
    if not is_concrete((w, theta)) or jnp.size(w) > max_dim:
        return
    H = np.asarray(_inner_hessian(inner, w, theta), dtype=float)
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
            "hypergradient is not defined"
        )
    if lo <= rtol * scale:
        raise ValueError(
            f"lower-level Hessian is singular (smallest eigenvalue {lo:.3g}): the inner problem "
            "has no unique solution, add regularisation"
        )


# ---------------------------------------------------------------------------
# ridge regression: the closed-form test problem
# ---------------------------------------------------------------------------


def _check_data(X_tr, y_tr, X_val, y_val):
    X_tr = _array("X_train", X_tr, ndim=2)
    y_tr = _array("y_train", y_tr, ndim=1)
    X_val = _array("X_val", X_val, ndim=2)
    y_val = _array("y_val", y_val, ndim=1)
    arrs = (X_tr, y_tr, X_val, y_val)
    if jnp.shape(y_tr)[0] != jnp.shape(X_tr)[0]:
        raise ValueError(
            f"y_train must have {jnp.shape(X_tr)[0]} entries (rows of X_train), "
            f"got shape {tuple(jnp.shape(y_tr))}"
        )
    if jnp.shape(y_val)[0] != jnp.shape(X_val)[0]:
        raise ValueError(
            f"y_val must have {jnp.shape(X_val)[0]} entries (rows of X_val), "
            f"got shape {tuple(jnp.shape(y_val))}"
        )
    if jnp.shape(X_val)[1] != jnp.shape(X_tr)[1]:
        raise ValueError(
            f"X_val must have {jnp.shape(X_tr)[1]} columns like X_train, got shape {tuple(jnp.shape(X_val))}"
        )
    dtype = jnp.result_type(*arrs)
    return tuple(a.astype(dtype) for a in arrs)


def _lam(lam, d, dtype):
    """A positive ridge parameter: a scalar or one value per feature (``(d,)``)."""
    lam_a = _array("lam", lam, ndim=(0, 1))
    if lam_a.ndim == 1 and lam_a.shape[0] != d:
        raise ValueError(
            f"lam must be a scalar or have shape ({d},) (one value per feature), "
            f"got shape {tuple(lam_a.shape)}"
        )
    require_positive("lam", lam)
    return lam_a.astype(dtype)


def ridge_losses(
    X_train: Float[Array, "n d"],
    y_train: Float[Array, " n"],
    X_val: Float[Array, "n_val d"],
    y_val: Float[Array, " n_val"],
    *,
    log_lambda: bool = False,
):
    """``(inner, outer)`` for ridge hyperparameter learning.

    ``g(w, λ) = ½‖X_tr w − y_tr‖² + ½ Σ_i λ_i w_i²`` (``λ`` a scalar or one
    value per feature) and ``f(w, λ) = ½‖X_val w − y_val‖²``.  With
    ``log_lambda=True`` the hyperparameter is ``θ = log λ``.

    Args:
      X_train: ``(n, d)``. y_train: ``(n,)``. X_val: ``(n_val, d)``. y_val: ``(n_val,)``
        (finite; lists and integer arrays converted). log_lambda: bool.

    Returns:
      ``(inner, outer)``, two functions of ``(w, θ)``.

    Raises:
      ValueError: wrong or mismatched shapes, empty or non-finite data.
      TypeError: non-numeric data, a non-bool ``log_lambda``.
    """
    X_tr, y_tr, X_val, y_val = _check_data(X_train, y_train, X_val, y_val)
    _flag("log_lambda", log_lambda)

    def lam_of(theta):
        return jnp.exp(theta) if log_lambda else theta

    def inner(w, theta):
        r = X_tr @ w - y_tr
        return 0.5 * jnp.dot(r, r) + 0.5 * jnp.sum(lam_of(theta) * w * w)

    def outer(w, theta):
        r = X_val @ w - y_val
        return 0.5 * jnp.dot(r, r)

    return inner, outer


def ridge_solution(
    X_train: Float[Array, "n d"], y_train: Float[Array, " n"], lam: Float[Array, ""] | Float[Array, " d"]
) -> Float[Array, " d"]:
    """``w*(λ) = (X_trᵀX_tr + diag(λ))⁻¹ X_trᵀ y_tr`` by a dense solve.

    Args:
      X_train: ``(n, d)``. y_train: ``(n,)``. lam: positive scalar or ``(d,)``.

    Returns:
      ``(d,)`` ridge solution.

    Raises:
      ValueError: shapes, non-finite or empty data, non-positive ``lam``.
      TypeError: non-numeric input.
    """
    X = _array("X_train", X_train, ndim=2)
    y = _array("y_train", y_train, ndim=1).astype(X.dtype)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"y_train must have {X.shape[0]} entries (rows of X_train), got shape {tuple(y.shape)}"
        )
    d = X.shape[1]
    lam = _lam(lam, d, X.dtype)
    hp = functools.partial(jnp.matmul, precision=_HIGHEST)
    A = hp(X.T, X) + jnp.diag(jnp.broadcast_to(lam, (d,)))
    return jnp.linalg.solve(A, hp(X.T, y))


def ridge_hypergradient(
    X_train: Float[Array, "n d"],
    y_train: Float[Array, " n"],
    X_val: Float[Array, "n_val d"],
    y_val: Float[Array, " n_val"],
    lam: Float[Array, ""] | Float[Array, " d"],
) -> Float[Array, "*d"]:
    """Closed-form ``dF/dλ`` for :func:`ridge_losses` (shape of ``lam``).

    Differentiating ``(A + Λ) w* = X_trᵀy`` gives ``∂w*/∂λ_i = −(A+Λ)⁻¹ e_i w*_i``,
    so ``∇F = −w* ⊙ (A+Λ)⁻¹ X_valᵀ(X_val w* − y_val)`` (summed for a scalar λ).

    Args:
      X_train, y_train, X_val, y_val: as in :func:`ridge_losses`.
      lam: positive scalar or ``(d,)``.

    Returns:
      The hypergradient, of the shape of ``lam``.

    Raises:
      ValueError / TypeError: naming the argument.
    """
    X_tr, y_tr, X_val, y_val = _check_data(X_train, y_train, X_val, y_val)
    d = X_tr.shape[1]
    lam = _lam(lam, d, X_tr.dtype)
    hp = functools.partial(jnp.matmul, precision=_HIGHEST)
    A = hp(X_tr.T, X_tr) + jnp.diag(jnp.broadcast_to(lam, (d,)))
    w = jnp.linalg.solve(A, hp(X_tr.T, y_tr))
    q = jnp.linalg.solve(A, hp(X_val.T, hp(X_val, w) - y_val))
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


def _solve(inner, w, theta, b, method, tol, num_steps, x0=None):
    """``H⁻¹ b`` by a dense solve or by CG on Hessian-vector products."""
    if method == "dense":
        return jnp.linalg.solve(jax.hessian(inner, argnums=0)(w, theta), b)
    q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, w, theta), b, x0=x0, tol=0.0, atol=tol, maxiter=num_steps)
    return q


def implicit_hypergradient(
    inner: Loss,
    outer: Loss,
    w: Float[Array, " d"],
    theta: Float[Array, "*p"],
    *,
    method: str = "dense",
    tol: float = 1e-10,
    num_steps: int = 1000,
    check: bool = True,
) -> Float[Array, "*p"]:
    """``∇F(θ) = ∇_θ f − ∇²_θw g · H⁻¹ ∇_w f`` at the inner solution ``w``.

    ``method="dense"`` forms ``H`` and solves; ``"cg"`` uses conjugate gradients on
    Hessian-vector products (absolute residual ``tol``, at most ``num_steps`` steps). With
    ``check`` (default), a singular or indefinite ``H`` raises before any compute.
    Compiled once per ``(inner, outer, method, num_steps)`` and shape.

    Args:
      inner, outer: the losses ``g(w, θ)``, ``f(w, θ)`` (hashable callables).
      w: the inner solution (finite 1-D). theta: finite scalar or 1-D.
      method: ``"dense"`` or ``"cg"``. tol: positive. num_steps: positive int (CG's cap).
      check: bool.

    Returns:
      The hypergradient, of the shape of ``theta``.

    Raises:
      ValueError: singular/indefinite Hessian (with ``check``), bad shapes or values.
      TypeError: non-callable losses, non-numeric arrays, non-string ``method``.
    """
    w = _vec("w", w)
    theta = _theta(theta)
    _check_losses(inner, outer, w, theta)
    _choice("method", method, ("dense", "cg"))
    _pos_scalar("tol", tol)
    _pos_int("num_steps", num_steps)
    _flag("check", check)
    if check:
        check_inner_hessian(inner, w, theta)
    return _implicit_jit(inner, outer, w, theta, method, tol, num_steps)


def _implicit(inner, outer, w, theta, method, tol, num_steps, q0=None):
    # region: bilevel-implicit
    gw = jax.grad(outer, argnums=0)(w, theta)  # ∇_w f
    gt = jax.grad(outer, argnums=1)(w, theta)  # ∇_θ f
    q = _solve(inner, w, theta, gw, method, tol, num_steps, q0)  # the adjoint q = H⁻¹ ∇_w f
    return gt - _cross_vjp(inner, w, theta, q)  # ∇_θ f − ∇²_θw g · q
    # endregion: bilevel-implicit


_implicit_jit = jax.jit(_implicit, static_argnames=("inner", "outer", "method", "num_steps"))


def custom_root(optimality_fn: Callable, *, method: str = "dense", tol: float = 1e-10, num_steps: int = 1000):
    """Decorator making ``solver(theta, init) -> w`` differentiable by the IFT.

    ``optimality_fn(w, θ)`` vanishes at the solution (e.g. ``∇_w g``). The
    returned function has the primal output of ``solver`` and a ``custom_vjp``:
    for a cotangent ``v`` it solves ``(∂_w F)ᵀ u = v`` and returns
    ``−(∂_θ F)ᵀ u`` (nothing flows into ``init``), as in JAXopt's
    ``custom_root`` (Blondel et al. 2022). ``solver`` itself is never
    differentiated, so it may be any loop. ``method="cg"`` solves with conjugate
    gradients on vector-Jacobian products and assumes ``∂_w F`` symmetric positive
    definite (true for ``F = ∇_w g`` at a strict minimiser); use ``"dense"`` otherwise.

    Args:
      optimality_fn: ``F(w, θ)`` (callable). method: ``"dense"`` or ``"cg"``.
      tol: positive. num_steps: positive int (the cap on CG steps).

    Returns:
      A decorator; the decorated ``solver`` must be callable.

    Raises:
      TypeError: non-callable ``optimality_fn`` or ``solver``, non-string ``method``.
      ValueError: unknown ``method``, non-positive ``tol``/``num_steps``.
    """
    require_callable("optimality_fn", optimality_fn)
    _choice("method", method, ("dense", "cg"))
    _pos_scalar("tol", tol)
    _pos_int("num_steps", num_steps)

    def wrap(solver: Callable):
        require_callable("solver", solver)

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
                u, _ = jax.scipy.sparse.linalg.cg(
                    lambda z: vjp_w(z)[0], v, tol=0.0, atol=tol, maxiter=num_steps
                )
            _, vjp_t = jax.vjp(lambda t: optimality_fn(w, t), theta)
            return (
                jax.tree_util.tree_map(jnp.negative, vjp_t(u)[0]),
                jax.tree_util.tree_map(jnp.zeros_like, init),
            )

        solved.defvjp(fwd, bwd)
        return solved

    return wrap


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


# ---------------------------------------------------------------------------
# outer loops
# ---------------------------------------------------------------------------


class BilevelTrace(NamedTuple):
    """Result of :func:`hypergradient_descent`.

    Attributes:
      params: the final upper variable ``θ_K``.
      w: the final inner iterate.
      iterates: ``(num_steps + 1, *θ.shape)`` upper iterates ``θ_0 … θ_K``.
      outer_values: ``(num_steps,)`` ``f(w_k, θ_k)`` before each update.
      grad_norms: ``(num_steps,)`` norms of the hypergradient estimates.
      converged: everything finite and ``grad_norms[-1] ≤ tol·max(1, grad_norms[0])`` (a
        boolean array).
      n_iters: the outer steps taken, ``K``.
    """

    params: jax.Array  # final upper variable θ_K
    w: jax.Array  # final inner iterate
    iterates: Float[Array, "num_steps+1 ..."]  # (num_steps + 1, *θ.shape) upper iterates θ_0 … θ_K
    outer_values: Float[Array, " num_steps"]  # (num_steps,) f(w_k, θ_k) before each update
    grad_norms: Float[Array, " num_steps"]  # (num_steps,) ‖hypergradient estimate‖
    converged: Bool[Array, ""]  # all finite and grad_norms[-1] ≤ tol·max(1, grad_norms[0]) (bool array)
    n_iters: Int[Array, ""]  # the outer steps taken, K


def hypergradient_descent(
    inner: Loss,
    outer: Loss,
    theta0: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    method: str = "implicit",
    learning_rate: float,
    num_steps: int,
    inner_num_steps: int,
    inner_learning_rate: float,
    lam: float = 10.0,
    lam_max: float | None = None,
    lam_growth: float = 0.0,
    cg_num_steps: int = 20,
    tol: float = 1e-3,
) -> BilevelTrace:
    """Warm-started bilevel gradient descent inside ``lax.scan``.

    Each outer step runs ``inner_num_steps`` gradient steps of size
    ``inner_learning_rate`` on the lower level from the previous iterate, then
    ``θ ← θ − γ ĝ`` (``γ = learning_rate``) with ``ĝ``:

    - ``"implicit"``: :func:`implicit_hypergradient` by ``cg_num_steps`` CG steps
      (approximate implicit differentiation, AID);
    - ``"f2sa"``: F2SA (Kwon et al. 2023) with full-batch gradients (the paper's
      method samples minibatches; here the oracles are exact): two warm-started
      sequences ``y`` (on ``f/λ_k + g``) and ``z`` (on ``g``), multiplier
      ``λ_k = min(lam_max, lam + lam_growth·k)``, gradients only.

    Compiled once per ``(inner, outer, method, num_steps, inner_num_steps, cg_num_steps)`` and
    shape. ``converged`` (a boolean array, valid under ``jit``) is False when an
    iterate became non-finite or the last hypergradient norm is above
    ``tol·max(1, ‖ĝ_0‖)``.

    Args:
      inner, outer: the losses (hashable callables). theta0: finite scalar or 1-D.
      w0: finite 1-D. method: ``"implicit"`` or ``"f2sa"``.
      learning_rate, inner_learning_rate, lam, lam_max: positive scalars. lam_growth: ``≥ 0``.
      num_steps, inner_num_steps, cg_num_steps: positive ints. tol: ``≥ 0``.

    Returns:
      A :class:`BilevelTrace`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta0 = _theta(theta0, "theta0")
    w0 = _vec("w0", w0)
    _check_losses(inner, outer, w0, theta0, "w0")
    _choice("method", method, ("implicit", "f2sa"))
    _pos_scalar("learning_rate", learning_rate)
    _pos_scalar("inner_learning_rate", inner_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_int("inner_num_steps", inner_num_steps, minimum=1)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    _pos_scalar("lam", lam)
    lam_max = lam if lam_max is None else lam_max
    _pos_scalar("lam_max", lam_max)
    _nonneg_scalar("lam_growth", lam_growth)
    _nonneg_scalar("tol", tol)
    return _hgd(
        inner,
        outer,
        theta0,
        w0,
        method,
        learning_rate,
        num_steps,
        inner_num_steps,
        inner_learning_rate,
        lam,
        lam_max,
        lam_growth,
        cg_num_steps,
        tol,
    )


@functools.partial(jax.jit, static_argnames=("inner", "outer", "method", "steps", "inner_steps", "cg_iters"))
def _hgd(
    inner,
    outer,
    theta0,
    w0,
    method,
    outer_lr,
    steps,
    inner_steps,
    inner_lr,
    lam,
    lam_max,
    lam_growth,
    cg_iters,
    tol,
):
    def gd(loss, th, w, lr):
        gl = jax.grad(loss, argnums=0)
        return jax.lax.fori_loop(0, inner_steps, lambda _, u: u - lr * gl(u, th), w)

    def step(carry, k):
        theta, y, z, q = carry
        if method == "implicit":
            y = gd(inner, theta, y, inner_lr)
            gw = jax.grad(outer, argnums=0)(y, theta)
            q, _ = jax.scipy.sparse.linalg.cg(
                _hvp(inner, y, theta), gw, x0=q, maxiter=cg_iters, tol=0.0, atol=0.0
            )
            hg = jax.grad(outer, argnums=1)(y, theta) - _cross_vjp(inner, y, theta, q)
        else:
            lam_k = jnp.minimum(lam_max, lam + lam_growth * k)

            def pen(w, t):
                return outer(w, t) / lam_k + inner(w, t)

            y = gd(pen, theta, y, inner_lr / (1.0 + 1.0 / lam_k))
            z = gd(inner, theta, z, inner_lr)
            hg = jax.grad(outer, argnums=1)(y, theta) + lam_k * (
                jax.grad(inner, argnums=1)(y, theta) - jax.grad(inner, argnums=1)(z, theta)
            )
        val = outer(z if method == "f2sa" else y, theta)
        theta_new = theta - outer_lr * hg
        return (theta_new, y, z, q), (theta_new, val, jnp.linalg.norm(hg))

    carry0 = (theta0, w0, w0, jnp.zeros_like(w0))
    (theta, y, z, _), (thetas, vals, gn) = jax.lax.scan(step, carry0, jnp.arange(steps))
    thetas = jnp.concatenate([theta0[None], thetas], axis=0)
    w = z if method == "f2sa" else y
    converged = (
        jnp.all(jnp.isfinite(thetas))
        & jnp.all(jnp.isfinite(vals))
        & jnp.all(jnp.isfinite(w))
        & (gn[-1] <= tol * jnp.maximum(1.0, gn[0]))
    )
    return BilevelTrace(theta, w, thetas, vals, gn, converged, jnp.asarray(steps))


class InnerSolveOutput(NamedTuple):
    """Result of :func:`inner_gd_tol`.

    Attributes:
      params: the last iterate.
      n_iters: the gradient steps taken.
      converged: ``‖∇_w g(params)‖ ≤ tol`` (a boolean array).
    """

    params: jax.Array
    n_iters: Int[Array, ""]
    converged: Bool[Array, ""]


def inner_gd_tol(
    inner: Loss,
    theta: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    tol: float,
    learning_rate: float,
    num_steps: int = 100000,
) -> InnerSolveOutput:
    """Gradient descent ``w ← w − γ ∇_w g(w, θ)`` (``γ = learning_rate``) until
    ``‖∇_w g‖ ≤ tol``, at most ``num_steps`` steps.

    The loop also stops when a step no longer moves ``w`` beyond rounding
    (``‖Δw‖ ≤ 4·eps·max(1, ‖w‖)``: a ``tol`` below what the dtype resolves, typically
    in float32) and at the first non-finite gradient; called on concrete values, a
    non-finite result raises instead of returning NaN (``learning_rate`` too large for
    ``g``). ``converged`` says whether the tolerance was reached.

    Args:
      inner: ``g(w, θ)`` (hashable callable). theta: scalar or 1-D. w0: finite 1-D.
      tol, learning_rate: positive scalars. num_steps: positive int (the cap).

    Returns:
      An :class:`InnerSolveOutput` ``(params, n_iters, converged)``.

    Raises:
      TypeError / ValueError: naming the argument; ValueError naming ``learning_rate``
      when the iteration diverged.
    """
    theta = _theta(theta)
    w0 = _vec("w0", w0)
    _check_losses(inner, _NO_OUTER, w0, theta, "w0")
    _pos_scalar("tol", tol)
    _pos_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    w, k, gnorm = _gd_tol(inner, theta, w0, tol, learning_rate, num_steps)
    if is_concrete(w) and not (bool(jnp.all(jnp.isfinite(w))) and bool(jnp.isfinite(gnorm))):
        raise ValueError(
            f"inner_gd_tol diverged after {int(k)} steps (non-finite iterate): "
            f"learning_rate={learning_rate!r} is too large for this inner problem"
        )
    return InnerSolveOutput(w, k, gnorm <= tol)


@functools.partial(jax.jit, static_argnums=(0,))
def _gd_tol(inner, theta, w0, tol, lr, maxiter):
    grad_w = jax.grad(inner, argnums=0)

    eps = jnp.finfo(w0.dtype).eps

    def cond(c):
        w, gnorm, k, moving = c
        # also stops at the first non-finite gradient, and when the steps no longer move w
        # beyond rounding (a tolerance below what the dtype can resolve, e.g. in float32)
        return (gnorm > tol) & (k < maxiter) & jnp.isfinite(gnorm) & moving

    def body(c):
        w, _, k, _ = c
        step = lr * grad_w(w, theta)
        w_new = w - step
        moving = jnp.linalg.norm(step) > 4 * eps * jnp.maximum(jnp.linalg.norm(w_new), 1.0)
        return w_new, jnp.linalg.norm(grad_w(w_new, theta)), k + 1, moving

    w, gnorm, k, _ = jax.lax.while_loop(
        cond, body, (w0, jnp.linalg.norm(grad_w(w0, theta)), 0, jnp.asarray(True))
    )
    return w, k, gnorm


@functools.partial(jax.jit, static_argnums=(0, 1))
def _adjoint_cg(inner, outer, w, theta, q0, tol, maxiter):
    gw = jax.grad(outer, argnums=0)(w, theta)
    q, _ = jax.scipy.sparse.linalg.cg(_hvp(inner, w, theta), gw, x0=q0, tol=0.0, atol=tol, maxiter=maxiter)
    r = jnp.linalg.norm(_hvp(inner, w, theta)(q) - gw)
    hg = jax.grad(outer, argnums=1)(w, theta) - _cross_vjp(inner, w, theta, q)
    return hg, q, r


class InexactTrace(NamedTuple):
    """Result of :func:`hoag` and :func:`adaptive_inexact` (NumPy arrays, one entry per
    accepted outer step).

    Attributes:
      params: the final upper variable.
      iterates: the upper iterates ``θ_0 … θ_K``.
      outer_values: the inexact values ``F̃(θ_k)``.
      inner_num_steps: the cumulative number of lower-level gradient steps.
      tolerances: the accuracy ``ε_k`` used at step ``k``.
      learning_rates: the step size used at step ``k``.
    """

    params: np.ndarray  # final upper variable
    iterates: np.ndarray  # upper iterates θ_0 … θ_K
    outer_values: np.ndarray  # inexact F̃(θ_k)
    inner_num_steps: np.ndarray  # cumulative lower-level gradient steps
    tolerances: np.ndarray  # accuracy ε_k used at step k
    learning_rates: np.ndarray  # step size used at step k


def _inner_lr(inner_learning_rate, theta):
    lr = float(inner_learning_rate(theta)) if callable(inner_learning_rate) else float(inner_learning_rate)
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"inner_learning_rate must be positive and finite, got {lr!r} at theta={theta!r}")
    return lr


def _check_inner_lr(inner_learning_rate):
    if not callable(inner_learning_rate):
        _pos_scalar("inner_learning_rate", inner_learning_rate)


def _host_start(inner, outer, theta0, w0):
    """Concrete ``θ0`` (NumPy) and ``w0`` for the host-side outer loops."""
    if not is_concrete((theta0, w0)):
        raise TypeError(
            "theta0 and w0 must be concrete: this outer loop runs on the host (call it outside jit)"
        )
    theta = _theta(theta0, "theta0")
    w = _vec("w0", w0)
    _check_losses(inner, outer, w, theta, "w0")
    return np.asarray(theta), w


def hoag(
    inner: Loss,
    outer: Loss,
    theta0: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    inner_learning_rate,
    num_steps: int,
    tolerances: Float[ArrayLike, " K"] | None = None,
    learning_rate: float = 1.0,
    adapt_step: bool = True,
    cg_num_steps: int = 200,
) -> InexactTrace:
    """HOAG (Pedregosa 2016): hypergradient descent with inexact inner and adjoint solves.

    At step ``k``: solve the lower level by gradient descent (warm start) to
    ``‖∇_w g‖ ≤ ε_k``, the adjoint ``H q = ∇_w f`` by CG to residual ``ε_k``, form
    ``p_k = ∇_θ f − ∇²_θw g · q`` and step ``θ ← θ − p_k / L``. ``1/L`` starts at
    ``learning_rate``; with ``adapt_step`` (the heuristic of the reference
    implementation), if the inexact objective increased by more than the
    tolerance allows (``ε_k · max(1, |F̃|)``), the step is undone and ``L``
    doubled, otherwise ``L`` shrinks by 0.9; ``adapt_step=False`` keeps the step
    fixed (plain inexact hypergradient descent). Default ``ε_k = 0.1·(k+1)^{−1.1}``
    (summable, as the convergence theorem asks). ``inner_learning_rate`` may be a callable of θ.
    If θ becomes non-finite (a fixed step far too large), the loop stops there and
    the trace ends with that non-finite θ.

    Args:
      inner, outer: the losses (hashable callables). theta0: finite scalar or 1-D.
      w0: finite 1-D. inner_learning_rate: positive scalar or callable of θ returning one.
      num_steps, cg_num_steps: positive ints. tolerances: 1-D, positive, ``≥ num_steps``
      entries. learning_rate: positive, the initial step ``1/L``. adapt_step: bool.

    Returns:
      An :class:`InexactTrace`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta, w = _host_start(inner, outer, theta0, w0)
    _check_inner_lr(inner_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _pos_scalar("learning_rate", learning_rate)
    _flag("adapt_step", adapt_step)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    if tolerances is None:
        tolerances = 0.1 * (np.arange(num_steps) + 1.0) ** -1.1
    tolerances = np.asarray(_array("tolerances", tolerances, ndim=1), dtype=float)
    require_positive("tolerances", tolerances)
    if tolerances.shape[0] < num_steps:
        raise ValueError(
            f"tolerances must have at least num_steps={num_steps} entries, got {tolerances.shape[0]}"
        )
    L = 1.0 / learning_rate
    q = jnp.zeros_like(w)
    total = 0
    out = dict(thetas=[theta], vals=[], iters=[], tols=[], steps=[])
    prev_val = np.inf
    prev = None
    for k in range(num_steps):
        eps = tolerances[k]
        w_new, it, _ = _gd_tol(
            inner, jnp.asarray(theta), w, eps, _inner_lr(inner_learning_rate, theta), 100000
        )
        total += int(it)
        val = float(outer(w_new, jnp.asarray(theta)))
        if adapt_step and prev is not None and not val <= prev_val + eps * max(1.0, abs(prev_val)):
            # the last step increased the objective: undo it and halve the step
            theta, w_new, q, val = prev
            L *= 2.0
        elif adapt_step:
            L *= 0.9
        hg, q, _ = _adjoint_cg(inner, outer, w_new, jnp.asarray(theta), q, eps, cg_num_steps)
        prev = (theta, w_new, q, val)
        prev_val = val
        w = w_new
        theta = np.asarray(theta - np.asarray(hg) / L)
        out["thetas"].append(theta)
        out["vals"].append(val)
        out["iters"].append(total)
        out["tols"].append(eps)
        out["steps"].append(1.0 / L)
        if not np.all(np.isfinite(theta)):  # diverged (step too large): stop, say so by θ
            break
    return InexactTrace(
        theta,
        np.asarray(out["thetas"]),
        np.asarray(out["vals"]),
        np.asarray(out["iters"]),
        np.asarray(out["tols"]),
        np.asarray(out["steps"]),
    )


def adaptive_inexact(
    inner: Loss,
    outer: Loss,
    theta0: Float[Array, "*p"],
    w0: Float[Array, " d"],
    *,
    inner_learning_rate,
    num_steps: int,
    eps0: float = 1e-1,
    learning_rate: float = 1.0,
    rho: float = 0.5,
    nu: float = 0.5,
    armijo: float = 0.1,
    ratio: float = 0.5,
    max_backtracks: int = 10,
    cg_num_steps: int = 200,
    min_eps: float = 1e-12,
) -> InexactTrace:
    """Adaptively inexact hypergradient descent (simplified MAID, Salehi et al. 2023).

    Keeps a step ``α`` and an accuracy ``ε`` (lower-level gradient norm and
    adjoint residual).  Each step: compute ``F̃(θ)`` and ``ĝ`` at accuracy ``ε``;
    if ``ε > ratio·‖ĝ‖`` the hypergradient is not trusted and ``ε ← νε`` first.
    Backtrack ``α ← ρα`` until the inexact Armijo test
    ``F̃(θ − αĝ) + ε ≤ F̃(θ) − ε − c α ‖ĝ‖²`` (``c = armijo``) holds (a decrease that survives
    value errors up to ``ε``, which the caller's accuracy should bound); if it never does, tighten
    ``ε ← νε`` and retry from the same θ and initial step.  After an accepted step, ``α ← α/ρ``
    (try a longer step next time).  No accuracy schedule or step size is chosen
    a priori, which is the point of the method.

    Args:
      inner, outer: the losses (hashable callables). theta0: finite scalar or 1-D.
      w0: finite 1-D. inner_learning_rate: positive scalar or callable of θ.
      num_steps, max_backtracks, cg_num_steps: positive ints.
      learning_rate: the initial step ``α`` (positive).
      eps0, armijo, ratio, min_eps: positive scalars. rho, nu: in ``(0, 1)``.

    Returns:
      An :class:`InexactTrace`.

    Raises:
      TypeError / ValueError: naming the argument.
    """
    theta, w = _host_start(inner, outer, theta0, w0)
    _check_inner_lr(inner_learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    for name, v in (
        ("eps0", eps0),
        ("learning_rate", learning_rate),
        ("armijo", armijo),
        ("ratio", ratio),
        ("min_eps", min_eps),
    ):
        _pos_scalar(name, v)
    for name, v in (("rho", rho), ("nu", nu)):
        _pos_scalar(name, v)
        if not float(v) < 1:
            raise ValueError(f"{name} must lie in (0, 1), got {v}")
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    require_int("max_backtracks", max_backtracks, minimum=1)
    eps, alpha = float(eps0), float(learning_rate)
    q = jnp.zeros_like(w)
    total = 0
    out = dict(thetas=[theta], vals=[], iters=[], tols=[], steps=[])
    k = 0
    while k < num_steps:
        th = jnp.asarray(theta)
        w, it, _ = _gd_tol(inner, th, w, eps, _inner_lr(inner_learning_rate, theta), 100000)
        total += int(it)
        val = float(outer(w, th))
        hg, q, _ = _adjoint_cg(inner, outer, w, th, q, eps, cg_num_steps)
        gn2 = float(jnp.sum(hg**2))
        if eps > ratio * np.sqrt(gn2) and eps > min_eps:
            eps *= nu
            continue
        accepted = False
        alpha_start = alpha
        for _ in range(max_backtracks):
            cand = np.asarray(theta - alpha * np.asarray(hg))
            wc, it, _ = _gd_tol(
                inner, jnp.asarray(cand), w, eps, _inner_lr(inner_learning_rate, cand), 100000
            )
            total += int(it)
            vc = float(outer(wc, jnp.asarray(cand)))
            if np.isfinite(vc) and vc + eps <= val - eps - armijo * alpha * gn2:
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
    return InexactTrace(
        theta,
        np.asarray(out["thetas"]),
        np.asarray(out["vals"]),
        np.asarray(out["iters"]),
        np.asarray(out["tols"]),
        np.asarray(out["steps"]),
    )


# ---------------------------------------------------------------------------
# data cleaning: per-example weights
# ---------------------------------------------------------------------------


class CleaningData(NamedTuple):
    """A data-cleaning problem from :func:`data_cleaning_problem` (``N × d`` data, one example per row).

    Attributes:
      X_train: training inputs, ``n_train × d``.
      y_train: training labels in ``{−1, +1}``, some flipped.
      X_val: validation inputs, ``n_val × d``.
      y_val: clean validation labels.
      flipped: boolean mask of the flipped training labels, ``(n_train,)``.
    """

    X_train: Float[Array, "n_train d"]
    y_train: jax.Array  # labels in {−1, +1}, some flipped
    X_val: Float[Array, "n_val d"]
    y_val: jax.Array  # clean labels
    flipped: Bool[Array, " n_train"]  # bool mask of flipped training labels


def data_cleaning_problem(
    *, key: PRNGKeyArray, n_train: int = 200, n_val: int = 100, d: int = 5, flip_fraction: float = 0.3
) -> CleaningData:
    """Two Gaussian classes ``N(±m, I)`` in ℝᵈ; a fraction of training labels flipped.

    Args:
      key: a JAX PRNG key (``jax.random.key(seed)``). n_train, n_val: ints ``≥ 2``.
      d: positive int. flip_fraction: in ``[0, 0.5)``.

    Returns:
      A :class:`CleaningData`.

    Raises:
      TypeError: an integer seed for ``key``, non-int sizes, non-numeric ``flip_fraction``.
      ValueError: sizes or ``flip_fraction`` out of range.
    """
    require_key("key", key)
    require_int("n_train", n_train, minimum=2)
    require_int("n_val", n_val, minimum=2)
    require_int("d", d, minimum=1)
    if isinstance(flip_fraction, bool) or not isinstance(
        flip_fraction, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"flip_fraction must be a number in [0, 0.5), got {type(flip_fraction).__name__}")
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

    Args:
      data: a :class:`CleaningData`. mu: positive scalar.

    Returns:
      ``(inner, outer)``.

    Raises:
      TypeError: ``data`` is not a CleaningData. ValueError: non-positive ``mu``.
    """
    if not isinstance(data, CleaningData):
        raise TypeError(
            f"data must be a CleaningData (from data_cleaning_problem), got {type(data).__name__}"
        )
    _pos_scalar("mu", mu)
    Xt, yt, Xv, yv = data.X_train, data.y_train, data.X_val, data.y_val

    def inner(w, theta):
        s = jax.nn.sigmoid(theta)
        return jnp.mean(s * jax.nn.softplus(-yt * (Xt @ w))) + 0.5 * mu * jnp.dot(w, w)

    def outer(w, theta):
        return jnp.mean(jax.nn.softplus(-yv * (Xv @ w)))

    return inner, outer


def auc(scores: Float[ArrayLike, " n"], labels: Shaped[ArrayLike, " n"]) -> float:
    """Area under the ROC curve of ``scores`` for the positive ``labels`` (ties count ½).

    Args:
      scores: finite 1-D (concrete). labels: booleans or 0/1 values, same shape.

    Returns:
      The AUC, a Python float.

    Raises:
      ValueError: shapes, NaN scores, labels other than 0/1, a single class.
      TypeError: non-numeric or traced input.
    """
    if not is_concrete((scores, labels)):
        raise TypeError("scores and labels must be concrete: auc runs on the host")
    s = np.asarray(_array("scores", scores, ndim=1), dtype=float)
    lab_f = np.asarray(as_float_array("labels", labels, ndim=1))
    if lab_f.shape != s.shape:
        raise ValueError(f"labels must have the shape of scores {s.shape}, got {lab_f.shape}")
    if not np.all((lab_f == 0) | (lab_f == 1)):
        raise ValueError("labels must be booleans or 0/1 values")
    lab = lab_f.astype(bool)
    pos, neg = s[lab], s[~lab]
    if pos.size == 0 or neg.size == 0:
        raise ValueError("labels must contain at least one positive and one negative example")
    diff = pos[:, None] - neg[None, :]
    return float(np.mean((diff > 0) + 0.5 * (diff == 0)))
