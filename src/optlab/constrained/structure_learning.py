r"""NOTEARS: structure learning of a linear structural equation model as a smooth equality-
constrained problem, solved by the chapter's augmented Lagrangian (chapter 11).

Zheng, Aragam, Ravikumar & Xing (2018), "DAGs with NO TEARS: Continuous Optimization for
Structure Learning". A weighted adjacency matrix ``W ∈ ℝ^{d×d}`` (``W_ij ≠ 0``: an edge
``i → j``) is a DAG iff ``h(W) = tr(exp(W∘W)) − d = 0``; the linear SEM ``X = XW + Z`` is fitted
by ``min ½N⁻¹‖X − XW‖²_F + λ‖W‖₁  s.t.  h(W) = 0``.

Deng, Bello, Aragam & Ravikumar (2023), "Optimizing NOTEARS Objectives via Topological
Swaps": the same score minimised over topological orders ``π`` by swapping pairs of nodes,
each order fitted exactly (``W_π``, one regression per node on its predecessors).
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

__all__ = [
    "NotearsOutput",
    "TopoSwapsOutput",
    "acyclicity",
    "acyclicity_grad",
    "fit_to_order",
    "notears",
    "structural_hamming_distance",
    "structure_score",
    "topo_swaps",
    "topological_order",
]

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


# ---------------------------------------------------------------------------------------------
# The topological-swaps search (Deng, Bello, Aragam & Ravikumar 2023)
# ---------------------------------------------------------------------------------------------


def _order_mask(order: jax.Array) -> jax.Array:
    """``M_ij = 1`` where ``i`` precedes ``j`` in ``order`` (an allowed edge ``i → j``)."""
    pos = jnp.argsort(order)
    return (pos[:, None] < pos[None, :]).astype(jnp.int32)


def _spd_solve(A, b):
    """``A⁻¹b`` for a symmetric positive definite ``A`` (Cholesky: compiles much faster than LU)."""
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(A), b)


def _fit_node(gram, m, j, l1_weight, lasso_num_steps):
    """Column ``j`` of ``W_π``: ``min_w ½N⁻¹‖x_j − Xw‖² + λ‖w‖₁`` over ``w`` supported on the
    mask ``m`` (the predecessors of ``j``); least squares by a masked solve, then cyclic
    coordinate descent (soft-thresholding) for the ℓ1 term."""
    d = gram.shape[0]
    mf = m.astype(gram.dtype)
    eye = jnp.eye(d, dtype=gram.dtype)
    ridge = 10 * jnp.finfo(gram.dtype).eps * jnp.trace(gram) / d  # keeps a singular Gram solvable
    g_m = gram * mf[:, None] * mf[None, :] + jnp.diag(1.0 - mf) + ridge * eye
    w = _spd_solve(g_m, mf * gram[:, j]) * mf
    diag = jnp.diag(gram)

    def coordinate(t, w):
        k = t % d
        # the partial residual correlation G_kj − Σ_{l≠k} G_kl w_l, soft-thresholded at λ
        c = gram[k, j] - jnp.dot(gram[k], w, precision=_HIGHEST) + diag[k] * w[k]
        wk = jnp.sign(c) * jnp.maximum(jnp.abs(c) - l1_weight, 0.0) / jnp.maximum(diag[k], _tiny_of(gram))
        return w.at[k].set(jnp.where(mf[k] > 0, wk, 0.0))

    def polish(w):
        # on the support S with signs s found by the sweeps, the lasso's optimality condition
        # G_SS w_S = G_Sj − λ s_S is linear: solve it, and keep the solution if the signs agree
        a = (w != 0).astype(gram.dtype) * mf
        g_a = gram * a[:, None] * a[None, :] + jnp.diag(1.0 - a) + ridge * eye
        w_new = _spd_solve(g_a, a * (gram[:, j] - l1_weight * jnp.sign(w))) * a
        ok = jnp.all(jnp.sign(w_new) == jnp.sign(w))
        return jnp.where(ok, w_new, w)

    if lasso_num_steps == 0:
        return w
    # two rounds of (sweeps, support solve): the second confirms or repairs the first
    return jax.lax.fori_loop(
        0, 2, lambda _, w: polish(jax.lax.fori_loop(0, lasso_num_steps * d, coordinate, w)), w
    )


def _tiny_of(x):
    return jnp.finfo(x.dtype).tiny


def _score_of(gram, W, l1_weight):
    """``F(W) = ½ tr((I − W)ᵀ G (I − W)) + λ‖W‖₁`` (exact ℓ1, no smoothing)."""
    R = jnp.eye(W.shape[0], dtype=W.dtype) - W
    return 0.5 * jnp.sum(R * jnp.matmul(gram, R, precision=_HIGHEST)) + l1_weight * jnp.sum(jnp.abs(W))


@functools.partial(jax.jit, static_argnames=("lasso_num_steps",))
def _fit_orders(lasso_num_steps, gram, orders, l1_weight):
    """``W_π`` and ``F(W_π)`` for a batch of orders ``(K, d)``: one compiled call per shape."""
    d = gram.shape[0]

    def one(order):
        M = _order_mask(order)
        cols = jax.vmap(lambda j: _fit_node(gram, M[:, j], j, l1_weight, lasso_num_steps))(jnp.arange(d))
        W = cols.T
        return W, _score_of(gram, W, l1_weight)

    return jax.vmap(one)(orders)


@jax.jit
def _swap_affinity(W):
    """``Y = (e^{W∘W})ᵀ``: ``Y_ij`` sums the weighted walks ``j → … → i`` of ``W``."""
    r = _expm1(W * W)
    return (r + jnp.eye(W.shape[0], dtype=W.dtype)).T


def _fit_batch(gram: jax.Array, orders: list[np.ndarray], l1_weight: jax.Array, steps: int):
    """``W_π``, ``F(W_π)`` for a list of orders, in chunks of ``d(d−1)/2`` rows (the number of
    pairs that a swap round may score; the last chunk padded): one compiled shape per ``d``."""
    d = gram.shape[0]
    size = d * (d - 1) // 2
    Ws, Fs = [], []
    for start in range(0, len(orders), size):
        chunk = orders[start : start + size]
        batch = np.stack(chunk + [chunk[0]] * (size - len(chunk)))
        W, F = _fit_orders(steps, gram, jnp.asarray(batch), l1_weight)
        Ws.append(np.asarray(W)[: len(chunk)])
        Fs.append(np.asarray(F)[: len(chunk)])
    return np.concatenate(Ws), np.concatenate(Fs)


def _gram_of(X: jax.Array) -> jax.Array:
    Xc = X - jnp.mean(X, axis=0)
    return jnp.matmul(Xc.T, Xc, precision=_HIGHEST) / X.shape[0]


def _data(X: Any) -> jax.Array:
    X = _array("X", X, ndim=2)
    n, d = X.shape
    if n < 2:
        raise ValueError(f"X must have at least 2 samples (rows), got shape {tuple(X.shape)}")
    if d < 2:
        raise ValueError(f"X must have at least 2 variables (columns), got shape {tuple(X.shape)}")
    return X


def _order(order: Any, d: int, *, batch: bool = False) -> np.ndarray:
    """A permutation of ``0 … d−1`` (``batch``: or a ``(K, d)`` stack of them), as int32."""
    if isinstance(order, (str, bytes)) or order is None:
        raise TypeError(f"order must be a permutation of 0 … {d - 1} (integers), got {order!r}")
    try:
        arr = np.asarray(order)
    except Exception as e:  # ragged input
        raise TypeError(f"order must be a permutation of 0 … {d - 1} (integers): {e}") from None
    if arr.dtype.kind not in "iu":
        raise TypeError(f"order must be an integer permutation of 0 … {d - 1}, got dtype {arr.dtype}")
    ok_ndim = (1, 2) if batch else (1,)
    if arr.ndim not in ok_ndim or arr.shape[-1] != d or arr.size == 0:
        want = f"({d},) or (K, {d})" if batch else f"({d},)"
        raise ValueError(f"order must have shape {want} (one entry per variable), got shape {arr.shape}")
    rows = arr.reshape(-1, d)
    bad = ~np.all(np.sort(rows, axis=1) == np.arange(d), axis=1)
    if np.any(bad):
        raise ValueError(f"order must be a permutation of 0 … {d - 1}, got {rows[np.argmax(bad)].tolist()}")
    return arr.astype(np.int32)


def _lasso_steps(l1_weight: Any, lasso_num_steps: int) -> int:
    return lasso_num_steps if float(l1_weight) > 0 else 0


def fit_to_order(
    X: Float[ArrayLike, "N d"],
    order: Int[ArrayLike, "*K d"],
    *,
    l1_weight: float = 0.0,
    lasso_num_steps: int = 100,
) -> Float[Array, "*K d d"]:
    """The best DAG compatible with a topological order (Deng et al. 2023, the inner problem):

    ``W_π = argmin { F(W) : W_ij = 0 unless i precedes j in π }``,
    ``F(W) = ½N⁻¹‖X − XW‖²_F + λ‖W‖₁``.

    The constraint leaves each column free on the predecessors of its node, so the problem
    splits into ``d`` regressions of ``x_j`` on its predecessors: least squares (a masked
    solve of the Gram system) for ``λ = 0``; for ``λ > 0`` the lasso, from the least-squares
    solution, by two rounds of ``lasso_num_steps`` sweeps of cyclic coordinate descent, each
    followed by a solve of the optimality condition ``G_SS w_S = G_Sj − λ sign(w_S)`` on the
    support ``S`` found (kept when the signs agree: then it is the exact lasso solution).
    Columns of ``X`` are centred. Compiled once per ``(d, lasso_num_steps)`` and dtype, shared
    with :func:`topo_swaps` (the fits run in batches of ``d(d−1)/2`` orders).

    Args:
      X: data, ``(N, d)`` with one sample per row, ``N ≥ 2``, ``d ≥ 2``, finite.
      order: a permutation of ``0 … d−1`` (``order[0]`` is a source), integers; or a
        ``(K, d)`` stack of permutations, fitted in one batch.
      l1_weight: ``λ ≥ 0``.
      lasso_num_steps: coordinate-descent sweeps per round when ``λ > 0`` (positive int).

    Returns:
      The ``(d, d)`` weighted adjacency matrix ``W_π`` (a DAG; ``W_ij ≠ 0`` only for ``i``
      before ``j``); ``(K, d, d)`` for a stack of orders.

    Raises:
      TypeError: ``X`` is not numeric, ``order`` is not an integer array, or
        ``lasso_num_steps`` is not an int.
      ValueError: a bad shape, a non-finite ``X``, ``order`` not a permutation, or a
        negative ``l1_weight`` (the message names the argument).
    """
    X = _data(X)
    order_np = _order(order, X.shape[1], batch=True)
    _nonneg_scalar("l1_weight", l1_weight)
    require_int("lasso_num_steps", lasso_num_steps, minimum=1)
    gram = _gram_of(X)
    steps = _lasso_steps(l1_weight, lasso_num_steps)
    W, _ = _fit_batch(gram, list(order_np.reshape(-1, X.shape[1])), jnp.asarray(l1_weight, gram.dtype), steps)
    return jnp.asarray(W.reshape(order_np.shape[:-1] + W.shape[1:]), gram.dtype)


def structure_score(
    X: Float[ArrayLike, "N d"], W: Float[ArrayLike, "d d"], *, l1_weight: float = 0.0
) -> Float[Array, ""]:
    """The NOTEARS score ``F(W) = ½N⁻¹‖X − XW‖²_F + λ‖W‖₁`` (exact ℓ1; columns of ``X`` centred).

    Args:
      X: data, ``(N, d)``, ``N ≥ 2``, ``d ≥ 2``, finite.
      W: a finite ``(d, d)`` weighted adjacency matrix.
      l1_weight: ``λ ≥ 0``.

    Returns:
      The scalar ``F(W)``.

    Raises:
      TypeError: ``X`` or ``W`` is not numeric.
      ValueError: bad shapes, non-finite entries or a negative ``l1_weight``.
    """
    X = _data(X)
    W = _square("W", W)
    if W.shape[0] != X.shape[1]:
        raise ValueError(f"W must be (d, d) for X with d = {X.shape[1]} columns, got shape {tuple(W.shape)}")
    _nonneg_scalar("l1_weight", l1_weight)
    gram = _gram_of(X)
    return _score_of(gram, W.astype(gram.dtype), jnp.asarray(l1_weight, gram.dtype))


def topological_order(B: Float[ArrayLike, "d d"]) -> Int[np.ndarray, " d"]:
    """A topological order of the directed graph of ``B`` (an edge ``i → j`` where ``B_ij ≠ 0``),
    by Kahn's algorithm, the smallest available node first (deterministic).

    Args:
      B: a finite square ``(d, d)`` matrix whose graph is acyclic (the diagonal must be zero).

    Returns:
      The order, a NumPy ``(d,)`` integer permutation: every edge goes from earlier to later.

    Raises:
      TypeError: ``B`` is not numeric.
      ValueError: ``B`` is not square or finite, or its graph has a cycle.
    """
    A = np.asarray(_square("B", B)) != 0
    d = A.shape[0]
    indeg = A.sum(axis=0)
    done = np.zeros(d, bool)
    out = []
    for _ in range(d):
        ready = np.flatnonzero((indeg == 0) & ~done)
        if ready.size == 0:
            raise ValueError("B must be the adjacency matrix of a DAG: its graph has a directed cycle")
        k = int(ready[0])
        out.append(k)
        done[k] = True
        indeg = indeg - A[k]
    return np.asarray(out, dtype=np.int32)


class TopoSwapsOutput(NamedTuple):
    """Result of :func:`topo_swaps` (one row per accepted swap ``k = 1 … K``; the start included).

    Attributes:
      params: the final DAG ``W_π`` (``(d, d)``).
      iterates: ``(K+1, d, d)``, ``W_π`` for the start order and after each accepted swap.
      orders: ``(K+1, d)``, the topological orders.
      values: ``(K+1,)``, the score ``F(W_π)`` (strictly decreasing).
      swaps: ``(K, 2)``, the pair ``(i, j)`` exchanged at each step (``i`` was after ``j``).
      evaluations: ``(K+1,)``, the candidate orders scored in each round (the last round is
        the one that found no improvement).
      converged: no swap of any pair improves the final order by more than ``tol`` (a
        boolean array); ``False`` if ``num_steps`` ran out first.
      n_iters: the accepted swaps ``K``.
    """

    params: Float[Array, "d d"]
    iterates: Float[Array, "K+1 d d"]
    orders: Int[Array, "K+1 d"]
    values: Float[Array, " K+1"]
    swaps: Int[Array, "K 2"]
    evaluations: Int[Array, " K+1"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def topo_swaps(
    X: Float[ArrayLike, "N d"],
    order: Int[ArrayLike, " d"],
    *,
    l1_weight: float = 0.0,
    num_candidates: int | None = None,
    num_steps: int = 100,
    tol: float = 1e-6,
    lasso_num_steps: int = 100,
) -> TopoSwapsOutput:
    """The topological-swaps search of Deng, Bello, Aragam & Ravikumar (2023), "Optimizing
    NOTEARS Objectives via Topological Swaps": a local search over topological orders ``π``
    for ``min_π F(W_π)``, with ``W_π`` the best DAG compatible with ``π`` (:func:`fit_to_order`).

    Each round ranks the pairs ``(i, j)`` with ``i`` after ``j`` in ``π`` (the forbidden edges
    ``i → j``) by ``Y_ij = (e^{W_π∘W_π})_ji``, the weighted walks ``j → … → i`` that the edge
    would close into cycles, i.e. the acyclicity function's sensitivity to the edge.
    The ``num_candidates`` smallest are tried first: exchanging the positions of ``i`` and
    ``j`` gives a new order, refitted and scored (all candidates in one compiled batch). The
    best candidate is accepted if it lowers ``F`` by more than ``tol·|F|``; if none does, all
    the remaining pairs are tried (the paper's larger search space); if none of them does
    either, the order is a local minimum over all pair swaps and the search stops. ``F``
    strictly decreases, so no order repeats. A Python loop around jitted fits, compiled
    once per ``(d, lasso_num_steps)`` and dtype.

    Args:
      X: data, ``(N, d)`` with one sample per row, ``N ≥ 2``, ``d ≥ 2``, finite.
      order: the start order, a permutation of ``0 … d−1`` (e.g. :func:`topological_order`
        of thresholded NOTEARS weights).
      l1_weight: ``λ ≥ 0``.
      num_candidates: the size of the first candidate set (positive int, at most
        ``d(d−1)/2``); default ``d``.
      num_steps: cap on the accepted swaps (positive int).
      tol: relative decrease of ``F`` required to accept a swap (non-negative).
      lasso_num_steps: coordinate-descent sweeps per round when ``λ > 0``.

    Returns:
      A :class:`TopoSwapsOutput`.

    Raises:
      TypeError: ``X`` is not numeric, ``order`` is not an integer array, or an integer
        argument is not an int.
      ValueError: a bad shape, a non-finite ``X``, ``order`` not a permutation, or an out of
        range parameter (the message names the argument).
    """
    X = _data(X)
    d = X.shape[1]
    order_np = _order(order, d)
    _nonneg_scalar("l1_weight", l1_weight)
    n_pairs = d * (d - 1) // 2
    if num_candidates is None:
        num_candidates = min(d, n_pairs)
    require_int("num_candidates", num_candidates, minimum=1)
    if num_candidates > n_pairs:
        raise ValueError(f"num_candidates must be at most d(d-1)/2 = {n_pairs}, got {num_candidates}")
    require_int("num_steps", num_steps, minimum=1)
    _tol("tol", tol)
    require_int("lasso_num_steps", lasso_num_steps, minimum=1)
    gram = _gram_of(X)
    lam = jnp.asarray(l1_weight, gram.dtype)
    steps = _lasso_steps(l1_weight, lasso_num_steps)

    def fit(orders: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return _fit_batch(gram, orders, lam, steps)

    def swapped(o: np.ndarray, i: int, j: int) -> np.ndarray:
        o = o.copy()
        pi, pj = np.flatnonzero(o == i)[0], np.flatnonzero(o == j)[0]
        o[pi], o[pj] = j, i
        return o

    Ws, Fs = fit([order_np])
    W, F = Ws[0], float(Fs[0])
    iterates, orders, values = [W], [order_np], [F]
    swaps: list[tuple[int, int]] = []
    evaluations: list[int] = []
    n_eval = 0
    converged = False
    while True:
        pos = np.argsort(order_np)
        Y = np.asarray(_swap_affinity(jnp.asarray(W)))
        ii, jj = np.nonzero(pos[:, None] > pos[None, :])  # i after j: the forbidden edges i → j
        rank = np.lexsort((jj, ii, Y[ii, jj]))  # smallest Y first, ties by index
        pairs = list(zip(ii[rank].tolist(), jj[rank].tolist(), strict=True))
        n_eval = 0
        best = None
        for group in (pairs[:num_candidates], pairs[num_candidates:]):
            if not group:
                continue
            cand = [swapped(order_np, i, j) for i, j in group]
            Wc, Fc = fit(cand)
            n_eval += len(group)
            k = int(np.argmin(Fc))
            if Fc[k] < F - tol * abs(F):
                best = (group[k], cand[k], Wc[k], float(Fc[k]))
                break
        if best is None:
            converged = True
            break
        if len(swaps) == num_steps:
            break
        (i, j), order_np, W, F = best
        evaluations.append(n_eval)
        iterates.append(W)
        orders.append(order_np)
        values.append(F)
        swaps.append((i, j))
    evaluations.append(n_eval)
    dt = gram.dtype
    return TopoSwapsOutput(
        jnp.asarray(W, dt),
        jnp.asarray(np.stack(iterates), dt),
        jnp.asarray(np.stack(orders), jnp.int32),
        jnp.asarray(np.asarray(values), dt),
        jnp.asarray(np.asarray(swaps, dtype=np.int32).reshape(-1, 2)),
        jnp.asarray(np.asarray(evaluations, dtype=np.int32)),
        jnp.asarray(converged),
        jnp.asarray(len(swaps), jnp.int32),
    )
