r"""NOTEARS: structure learning of a linear structural equation model as a smooth equality-
constrained problem, solved by the chapter's augmented Lagrangian (chapter 11).

Zheng, Aragam, Ravikumar & Xing (2018), "DAGs with NO TEARS: Continuous Optimization for
Structure Learning". A weighted adjacency matrix ``W ∈ ℝ^{d×d}`` (``W_ij ≠ 0``: an edge
``i → j``) is a DAG iff ``h(W) = tr(exp(W∘W)) − d = 0``; the linear SEM ``X = XW + Z`` is fitted
by ``min ½N⁻¹‖X − XW‖²_F + λ‖W‖₁  s.t.  h(W) = 0``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import require_int
from .._types import Array, ArrayLike, Bool, Float, Int
from ._common import _HIGHEST, _array, _nonneg_scalar, _pos_scalar, _tol
from .multipliers import _cholesky_direction, _newton_solve

__all__ = ["NotearsOutput", "acyclicity", "acyclicity_grad", "notears", "structural_hamming_distance"]

# smoothing of |w| in the ℓ1 term: the subproblems are solved by Newton's method
_L1_SMOOTHING = 1e-6


_TAYLOR_DEGREE = 14
_MAX_SQUARINGS = 64


def _expm1(a: jax.Array) -> jax.Array:
    """``exp(A) − I`` by scaling and squaring with a degree-14 Taylor polynomial
    (``‖A/2ˢ‖₁ ≤ ½``, relative truncation below 10⁻¹⁶): matrix products only, cheap to
    differentiate in forward mode (reverse mode goes through the custom JVP of ``h``).
    Carrying ``R = exp(A) − I`` (squaring as ``R ← R² + 2R``) keeps
    ``tr R`` accurate to its own size when it is small, where ``tr exp(A) − d`` would lose
    it to rounding; and for a nilpotent ``A`` with the zero pattern of a DAG every product
    keeps exact zeros on the diagonal, so ``tr R = 0`` exactly."""
    norm1 = jax.lax.stop_gradient(jnp.max(jnp.sum(jnp.abs(a), axis=0)))
    s = jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm1, 1e-30) / 0.5)), 0, _MAX_SQUARINGS)
    b = a / 2.0**s
    eye = jnp.eye(a.shape[0], dtype=a.dtype)

    def horner(k, p):  # p ← I + B p / j, j = K … 2: p = Σ_k Bᵏ/(k+1)!
        return eye + jnp.matmul(b, p, precision=_HIGHEST) / (_TAYLOR_DEGREE - k)

    r = jnp.matmul(b, jax.lax.fori_loop(0, _TAYLOR_DEGREE - 1, horner, eye), precision=_HIGHEST)

    def square(state):  # exp(2B) − I = R² + 2R
        i, r = state
        return i + 1, jnp.matmul(r, r, precision=_HIGHEST) + 2.0 * r

    return jax.lax.while_loop(lambda state: state[0] < s, square, (jnp.zeros((), s.dtype), r))[1]


@jax.custom_jvp
def _h(w: jax.Array) -> jax.Array:
    return jnp.trace(_expm1(w * w))


def _h_and_grad(w: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``h(W)`` and ``∇h(W) = exp(W∘W)ᵀ ∘ 2W`` from one matrix exponential."""
    r = _expm1(w * w)
    e = r + jnp.eye(w.shape[0], dtype=w.dtype)
    return jnp.trace(r), e.T * 2.0 * w


@_h.defjvp
def _h_jvp(primals, tangents):
    (w,), (dw,) = primals, tangents
    h, g = _h_and_grad(w)
    return h, jnp.sum(g * dw)


def _square(name: str, w: Any) -> jax.Array:
    w = _array(name, w, ndim=2)
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"{name} must be a square (d, d) matrix, got shape {tuple(w.shape)}")
    return w


def acyclicity(W: Float[ArrayLike, "d d"]) -> Float[Array, ""]:
    """The NOTEARS acyclicity function ``h(W) = tr(exp(W∘W)) − d`` (Zheng et al. 2018).

    ``h ≥ 0``, and ``h(W) = 0`` iff the graph of ``W`` (an edge ``i → j`` where ``W_ij ≠ 0``)
    has no directed cycle: ``tr((W∘W)^k)`` sums the weights of the closed walks of length ``k``.
    Differentiable (``jax.grad`` gives :func:`acyclicity_grad`).

    Args:
      W: a finite square ``(d, d)`` matrix.

    Returns:
      The scalar ``h(W)``.

    Raises:
      TypeError: ``W`` is not numeric.
      ValueError: ``W`` is not square, is empty or is not finite.
    """
    return _h(_square("W", W))


def acyclicity_grad(W: Float[ArrayLike, "d d"]) -> Float[Array, "d d"]:
    """The gradient ``∇h(W) = exp(W∘W)ᵀ ∘ 2W`` of :func:`acyclicity`.

    Args:
      W: a finite square ``(d, d)`` matrix.

    Returns:
      The ``(d, d)`` gradient.

    Raises:
      TypeError: ``W`` is not numeric.
      ValueError: ``W`` is not square, is empty or is not finite.
    """
    return _h_and_grad(_square("W", W))[1]


class NotearsOutput(NamedTuple):
    """Result of :func:`notears` (one row per outer iteration ``k = 1 … K``; after the stop,
    the rows repeat the final state).

    Attributes:
      params: the estimated weighted adjacency matrix ``W`` (``(d, d)``, zero diagonal),
        before any thresholding.
      iterates: ``(K+1, d, d)``, ``W_0 = 0`` then the accepted iterate after each outer step.
      violations: ``h(W_k)`` of the accepted iterate.
      losses: the least-squares loss ``½N⁻¹‖X − XW_k‖²`` of the accepted iterate.
      alphas: the multiplier ``α`` after the step.
      rhos: the penalty ``ρ`` after the step.
      accepted: whether the step's subproblem solution shrank ``h`` enough to be accepted.
      converged: ``h(params) ≤ tol`` and everything finite (a boolean array).
      n_iters: the outer iterations (subproblem solves) taken.
    """

    params: Float[Array, "d d"]
    iterates: Float[Array, "K+1 d d"]
    violations: Float[Array, " K"]
    losses: Float[Array, " K"]
    alphas: Float[Array, " K"]
    rhos: Float[Array, " K"]
    accepted: Bool[Array, " K"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _offdiag_index(d: int) -> np.ndarray:
    return np.flatnonzero(~np.eye(d, dtype=bool))


def _unflatten(x: jax.Array, d: int) -> jax.Array:
    return jnp.zeros(d * d, x.dtype).at[_offdiag_index(d)].set(x).reshape(d, d)


class _Loss(NamedTuple):
    """``½N⁻¹‖X − XW‖² + λ Σ √(w² + δ²)`` over the off-diagonal entries; hashable by shape so
    that the solver compiles once per shape (the data travel in ``gram``)."""

    d: int

    def __call__(self, x, gram, l1_weight):
        W = _unflatten(x, self.d)
        # ½N⁻¹‖X − XW‖² = ½ tr((I − W)ᵀ G (I − W)), G = XᵀX/N
        R = jnp.eye(self.d, dtype=x.dtype) - W
        fit = 0.5 * jnp.sum(R * jnp.matmul(gram, R, precision=_HIGHEST))
        l1 = jnp.sum(jnp.sqrt(x * x + _L1_SMOOTHING**2) - _L1_SMOOTHING)
        return fit + l1_weight * l1


@functools.partial(jax.jit, static_argnames=("d", "num_steps", "newton_num_steps"))
def _notears_path(d, num_steps, newton_num_steps, gram, l1_weight, tol, rho0, rho_max, progress, rho_factor):
    dtype = gram.dtype
    loss = _Loss(d)
    x0 = jnp.zeros(d * (d - 1), dtype)

    def h_of(x):
        return _h(_unflatten(x, d))

    def fit_of(x):
        return loss(x, gram, 0.0)

    def step(carry):
        x, alpha, rho, h_prev, done, k = carry
        # the augmented Lagrangian ℒ_ρ(W, α) = f(W) + α h(W) + (ρ/2) h(W)², minimised by the
        # chapter's damped Newton solver, with f and c closed over the data
        f = functools.partial(loss, gram=gram, l1_weight=l1_weight)
        x_new, _, _ = _newton_solve(
            f, h_of, newton_num_steps, x, jnp.atleast_1d(alpha), rho, _cholesky_direction, report_cond=False
        )
        h_new = h_of(x_new)
        ok = (h_new <= progress * h_prev) | (rho >= rho_max)
        x = jnp.where(ok, x_new, x)
        h_acc = jnp.where(ok, h_new, h_prev)
        alpha = jnp.where(ok, alpha + rho * h_new, alpha)  # dual ascent on α
        rho = jnp.where(ok, rho, jnp.minimum(rho_factor * rho, rho_max))
        done = (ok & (h_new <= tol)) | (ok & (rho >= rho_max)) | ~jnp.all(jnp.isfinite(x))
        return x, alpha, rho, h_acc, done, k + 1, ok

    def body(carry, _):
        x, alpha, rho, h_prev, done, k = carry
        out = jax.lax.cond(done, lambda c: (*c, jnp.asarray(False)), step, carry)
        x, alpha, rho, h_acc, done, k, ok = out
        record = (x, h_of(x), fit_of(x), alpha, rho, ok)
        return (x, alpha, rho, h_acc, done, k), record

    init = (x0, jnp.zeros((), dtype), rho0, jnp.asarray(jnp.inf, dtype), jnp.asarray(False), jnp.asarray(0))
    (x, _, _, _, _, k), (xs, hs, fs, alphas, rhos, oks) = jax.lax.scan(body, init, None, length=num_steps)
    W = _unflatten(x, d)
    iterates = jax.vmap(lambda v: _unflatten(v, d))(jnp.concatenate([x0[None], xs]))
    converged = (h_of(x) <= tol) & jnp.all(jnp.isfinite(W))
    return NotearsOutput(W, iterates, hs, fs, alphas, rhos, oks, converged, k)


def notears(
    X: Float[ArrayLike, "N d"],
    *,
    l1_weight: float = 0.0,
    num_steps: int = 100,
    tol: float = 1e-8,
    rho_max: float = 1e16,
    newton_num_steps: int = 30,
) -> NotearsOutput:
    """NOTEARS (Zheng et al. 2018) for a linear SEM ``X = XW + Z``: the augmented Lagrangian

    ``min_W  F(W) + α h(W) + (ρ/2) h(W)²``,  ``F(W) = ½N⁻¹‖X − XW‖²_F + λ‖W‖₁``,

    with ``h`` the acyclicity function (:func:`acyclicity`) and the diagonal of ``W`` fixed at 0.
    Each subproblem is solved by the damped Newton method of :func:`augmented_lagrangian`
    (warm started; the Hessian made positive definite by a shift of its diagonal); a
    solution is accepted when ``h`` shrank to at most a quarter of its last
    accepted value, and then ``α ← α + ρ h`` (dual ascent); otherwise ``ρ ← 10ρ`` and the
    subproblem is solved again. It stops when ``h ≤ tol`` or ``ρ`` reaches ``rho_max``. The
    columns of ``X`` are centred. The ℓ1 term is smoothed (``√(w² + 10⁻¹²)``) for Newton's
    method, so small weights are shrunk but not set exactly to zero: threshold ``params``
    (the paper uses ``|W_ij| > 0.3``). One compiled ``lax.scan`` per ``(d, num_steps,
    newton_num_steps)``, shape and dtype.

    Args:
      X: data, ``(N, d)`` with one sample per row, ``N ≥ 2``, ``d ≥ 2``, finite.
      l1_weight: ``λ ≥ 0``.
      num_steps: cap on the outer iterations (positive int).
      tol: stop when ``h(W) ≤ tol``.
      rho_max: the largest penalty ``ρ`` (positive).
      newton_num_steps: Newton steps per subproblem (positive int).

    Returns:
      A :class:`NotearsOutput`.

    Raises:
      TypeError: ``X`` is not numeric, or an integer argument is not an int.
      ValueError: a bad shape, a non-finite ``X``, or a negative or non-positive parameter
        (the message names the argument).
    """
    X = _array("X", X, ndim=2)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 samples (rows), got shape {tuple(X.shape)}")
    if d < 2:
        raise ValueError(f"X must have at least 2 variables (columns), got shape {tuple(X.shape)}")
    _nonneg_scalar("l1_weight", l1_weight)
    require_int("num_steps", num_steps, minimum=1)
    _tol("tol", tol)
    _pos_scalar("rho_max", rho_max)
    require_int("newton_num_steps", newton_num_steps, minimum=1)
    Xc = X - jnp.mean(X, axis=0)
    gram = jnp.matmul(Xc.T, Xc, precision=_HIGHEST) / n
    dt = gram.dtype
    return _notears_path(
        d,
        num_steps,
        newton_num_steps,
        gram,
        jnp.asarray(l1_weight, dt),
        jnp.asarray(tol, dt),
        jnp.asarray(1.0, dt),
        jnp.asarray(rho_max, dt),
        jnp.asarray(0.25, dt),
        jnp.asarray(10.0, dt),
    )


def structural_hamming_distance(B_est: Float[ArrayLike, "d d"], B_true: Float[ArrayLike, "d d"]) -> int:
    """Structural Hamming distance between two directed graphs given by adjacency matrices
    (nonzero = edge ``i → j``): the number of node pairs ``{i, j}`` whose edges differ (a
    missing, an extra or a reversed edge each count once).

    Args:
      B_est, B_true: square ``(d, d)`` matrices of the same shape (any nonzero entry is an edge).

    Returns:
      The distance, an ``int``.

    Raises:
      TypeError: a matrix is not numeric.
      ValueError: the shapes differ or are not square, or an entry is not finite.
    """
    a = np.asarray(_square("B_est", B_est)) != 0
    b = np.asarray(_square("B_true", B_true)) != 0
    if a.shape != b.shape:
        raise ValueError(f"B_est and B_true must have the same shape, got {a.shape} and {b.shape}")
    iu = np.triu_indices(a.shape[0], 1)
    pair_a = np.stack([a[iu], a.T[iu]])  # (i → j, j → i) for each pair i < j
    pair_b = np.stack([b[iu], b.T[iu]])
    diag = int(np.sum(np.diag(a) != np.diag(b)))  # self-loops count as pairs {i, i}
    return int(np.sum(np.any(pair_a != pair_b, axis=0))) + diag
