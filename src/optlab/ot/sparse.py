r"""Sparsity-constrained optimal transport (chapter 6; Liu, Puigcerver & Blondel 2023,
"Sparsity-constrained optimal transport"): at most ``k`` non-zeros per column of the plan.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    _as_numpy,
    as_float_array,
    is_concrete,
    require_int,
    require_positive,
)
from .._types import Array, ArrayLike, Bool, Float, Int
from .geometry import _as_geometry, _GeometryBase, _require_nonempty, _require_static_positive
from .marginals import _check_geometry, check_marginals

__all__ = [
    "SparseOTOutput",
    "sparse_ot",
    "sparse_simplex_projection",
]


def sparse_simplex_projection(s: Float[Array, " n"], mass: float | Float[Array, ""], k) -> Float[Array, " n"]:
    """Euclidean projection of ``s`` onto ``{t ≥ 0, Σt = mass, ‖t‖₀ ≤ k}``.

    Exact for this non-convex set: keep the ``k`` largest entries and project
    them onto the scaled simplex (Kyrillidis et al. 2013).  ``k`` may be a traced
    integer (one compilation serves every ``k``).

    Args:
      s: 1-D finite scores (lists and integers are converted).
      mass: ``Σt > 0``.
      k: maximum number of nonzeros (integer ≥ 1; may be traced).

    Returns:
      The projection, same shape as ``s``.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    s = as_float_array("s", s, ndim=1)
    _require_nonempty("s", s)
    if mass is None or isinstance(mass, str):
        raise TypeError(f"mass must be a positive number, got {type(mass).__name__}")
    require_positive("mass", mass)
    if jnp.ndim(mass) != 0:
        raise ValueError(f"mass must be a scalar, got shape {jnp.shape(mass)}")
    if is_concrete(k):
        kk = _as_numpy(k, "k")
        if kk.ndim != 0 or not np.issubdtype(kk.dtype, np.integer) or kk.dtype == np.bool_:
            raise TypeError(f"k must be an integer, got {k!r}")
        if int(kk) < 1:
            raise ValueError(f"k must be at least 1, got {int(kk)}")
    return _sparse_simplex_projection(s, jnp.asarray(mass, s.dtype), k)


def _sparse_simplex_projection(s, mass, k):
    n = s.shape[-1]
    s = s - jax.lax.stop_gradient(jnp.max(s))  # the projection is shift-invariant
    vals, idx = jax.lax.top_k(s, n)  # sorted descending
    valid = jnp.arange(n) < k
    css = jnp.cumsum(jnp.where(valid, vals, 0.0)) - mass
    ks = jnp.arange(1, n + 1, dtype=s.dtype)
    cond = valid & (vals - css / ks > 0)
    rho = jnp.maximum(jnp.sum(cond), 1)  # number of positive entries (≥ 1)
    tau = css[rho - 1] / rho
    t = jnp.where(valid, jnp.maximum(vals - tau, 0.0), 0.0)
    return jnp.zeros_like(s).at[idx].set(t)


class SparseOTOutput(NamedTuple):
    """Result of :func:`sparse_ot`.

    Attributes:
      alpha: the semi-dual potential (``params``, the point L-BFGS iterates on).
      values: the semi-dual value per iteration (NaN after the last one).
      grad_norms: ``‖∇D(α)‖₁`` per iteration (NaN after the last one).
      converged: ``‖a − P1‖₁ ≤ tol`` at the returned ``alpha``.
      n_iters: iterations performed.
      transport_cost: ``⟨C, P⟩``.
      cost_matrix, b, gamma, k: the problem, kept to build the plan.

    ``plan()`` materialises the plan (≤ ``k`` nonzeros per column, columns summing
    exactly to ``b``).
    """

    alpha: jax.Array
    values: jax.Array
    grad_norms: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]
    transport_cost: jax.Array
    cost_matrix: jax.Array
    b: jax.Array
    gamma: jax.Array
    k: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the semi-dual potential ``alpha``."""
        return self.alpha

    def plan(self) -> Float[Array, "n m"]:
        """The ``n × m`` plan ``∇Ω*(α − c_j)`` column by column (one compiled call)."""
        return _sparse_plan(self.alpha, self.cost_matrix, self.b, self.gamma, self.k)


def _columns(alpha, C, b, gamma, k):
    """``T[j] = ∇Ω*_j(α − c_j)``, shape ``(m, n)``, and the scores ``S[j] = α − c_j``."""
    S = (alpha[:, None] - C).T  # (m, n): column j's scores
    T = jax.vmap(lambda s, bj: _sparse_simplex_projection(s / gamma, bj, k))(S, b)  # (m, n)
    return T, S


@jax.jit
def _sparse_plan(alpha, C, b, gamma, k):
    return _columns(alpha, C, b, gamma, k)[0].T


def _semi_dual(alpha, C, a, b, gamma, k):
    """D(α) = ⟨α, a⟩ − Σ_j Ω*_j(α − c_j), Ω_j(t) = (γ/2)‖t‖² on {t ∈ b_jΔ, ‖t‖₀ ≤ k}."""
    T, S = _columns(alpha, C, b, gamma, k)
    T = jax.lax.stop_gradient(T)  # Danskin: ∇_s Ω*(s) = T
    conj = jnp.sum(T * S, axis=1) - 0.5 * gamma * jnp.sum(T**2, axis=1)
    return jnp.dot(alpha, a) - jnp.sum(conj), T.T


@functools.partial(jax.jit, static_argnames=("num_steps", "tol"))
def _sparse_ot_jit(C, a, b, gamma, k, *, num_steps, tol):
    import optax

    def neg(alpha):
        return -_semi_dual(alpha, C, a, b, gamma, k)[0]

    opt = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(neg)
    alpha0 = jnp.zeros_like(a)

    def cond(s):
        _, _, it, gn, _, _ = s
        return jnp.logical_and(it < num_steps, gn > tol)

    def body(s):
        alpha, state, it, _, vals, gns = s
        v, gr = value_and_grad(alpha, state=state)
        updates, state = opt.update(gr, state, alpha, value=v, grad=gr, value_fn=neg)
        alpha = optax.apply_updates(alpha, updates)
        gn = jnp.sum(jnp.abs(gr))
        return alpha, state, it + 1, gn, vals.at[it].set(-v), gns.at[it].set(gn)

    vals = jnp.full((num_steps,), jnp.nan, a.dtype)
    s0 = (alpha0, opt.init(alpha0), jnp.asarray(0), jnp.asarray(jnp.inf, a.dtype), vals, vals)
    alpha, _, it, gn, vals, gns = jax.lax.while_loop(cond, body, s0)
    _, P = _semi_dual(alpha, C, a, b, gamma, k)
    gn_final = jnp.sum(jnp.abs(P.sum(1) - a))
    return SparseOTOutput(alpha, vals, gns, gn_final <= tol, it, jnp.sum(C * P), C, b, gamma, k)


def sparse_ot(
    C: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    *,
    k: int,
    gamma: float = 1e-2,
    tol: float = 1e-6,
    num_steps: int = 500,
) -> SparseOTOutput:
    r"""Sparsity-constrained OT (Liu, Puigcerver & Blondel 2023) via its semi-dual.

    ``min ⟨C, P⟩ + (γ/2)‖P‖²`` over ``P ∈ U(a, b)`` with at most ``k`` nonzeros per
    column.  Semi-dual ``max_α ⟨α, a⟩ − Σ_j Ω*_j(α − c_j)`` where
    ``∇Ω*_j(s) = proj_{b_jΔ, k-sparse}(s/γ)`` (top-k then simplex projection),
    maximised by L-BFGS (optax).  ``k = 1`` recovers unregularised OT's
    semi-dual; ``k ≥ n`` quadratically regularised OT.  The returned plan has
    columns summing exactly to ``b`` with ≤ k nonzeros; rows match ``a`` up to
    the solver's tolerance.

    Args:
      C: ``n × m`` cost matrix (or an explicit :class:`Geometry`).
      a, b: marginals (``None`` for uniform), non-negative with equal mass.
      k: nonzeros per column (integer ≥ 1).
      gamma: quadratic regularisation ``γ > 0``.
      tol: stop when ``‖a − P1‖₁ ≤ tol`` (> 0).
      num_steps: cap on the L-BFGS iterations (≥ 1).

    Returns:
      :class:`SparseOTOutput` (``out.plan()`` materialises the plan).

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(C, "C")
    _check_geometry(geom)
    a, b = check_marginals(geom, a, b)
    require_int("k", k, minimum=1)
    if gamma is None or isinstance(gamma, str):
        raise TypeError(f"gamma must be a positive number, got {type(gamma).__name__}")
    require_positive("gamma", gamma)
    if jnp.ndim(gamma) != 0:
        raise ValueError(f"gamma must be a scalar, got shape {jnp.shape(gamma)}")
    tol = _require_static_positive("tol", tol)
    require_int("num_steps", num_steps, minimum=1)
    Cm = geom.cost_matrix
    dt = jnp.result_type(Cm, a, float)
    return _sparse_ot_jit(
        Cm.astype(dt),
        a.astype(dt),
        b.astype(dt),
        jnp.asarray(gamma, dt),
        jnp.asarray(min(int(k), Cm.shape[0])),
        num_steps=int(num_steps),
        tol=tol,
    )
