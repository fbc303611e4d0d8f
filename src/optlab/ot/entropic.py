r"""Entropic optimal transport by Sinkhorn's algorithm (chapter 6; Cuturi 2013).

``OT_ε(a, b) = min_{P ≥ 0, P1 = a, Pᵀ1 = b} ⟨C, P⟩ + ε KL(P ‖ a⊗b)``, solved by alternating
exact maximisation of the dual in log-domain potentials ``(f, g)``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
    require_int,
)
from .._types import Array, ArrayLike, Bool, Float, Int
from .geometry import Geometry, _as_geometry, _GeometryBase, _require_no_nan, _require_static_positive
from .marginals import _check_eps, _check_geometry, _costs, _safe_log, check_marginals

__all__ = [
    "SinkhornOutput",
    "sinkhorn",
    "sinkhorn_naive",
]


class SinkhornOutput(NamedTuple):
    """Result of :func:`sinkhorn`.

    Attributes:
      f, g: dual potentials (plan ``P_ij = exp((f_i + g_j − C_ij)/ε)``).
      errors: L1 marginal error ``‖P1 − a‖₁`` (columns are exact after each
        ``g`` update) before iteration ``k``; ``-1`` after the solver stopped.
      converged: error reached ``tol`` within ``num_steps`` iterations.
      n_iters: iterations performed.
      reg_ot_cost: ``⟨C,P⟩ + ε KL(P‖a⊗b)`` (evaluated through the dual).
      transport_cost: ``⟨C, P⟩``.
      geom: the geometry the problem was solved on (a :class:`Geometry` or
        :class:`PointCloud`; a cost matrix passed to :func:`sinkhorn` is wrapped in a
        :class:`Geometry`); with ``eps`` it lets :meth:`plan` materialise ``P`` on demand.
      eps: the entropic regularisation ``ε`` the potentials solve for.
    """

    f: jax.Array
    g: jax.Array
    errors: jax.Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]
    reg_ot_cost: jax.Array
    transport_cost: jax.Array
    geom: Any
    eps: jax.Array

    @property
    def params(self) -> tuple[jax.Array, jax.Array]:
        """The final point: the dual potentials ``(f, g)`` the method iterates on."""
        return self.f, self.g

    def plan(self) -> Float[Array, "n m"]:
        """Materialise the ``n × m`` transport plan on demand."""
        return self.geom.plan(self.f, self.g, self.eps)


def _g_update(geom, f, lb, eps):
    return eps * lb - eps * geom.lse_cols(f, eps)


# region: ot-sinkhorn-step
def _lse_shifted(geom, v, shift, eps, axis, w):
    """One-pass LSE stabilised by the current potential ``shift`` (exponents
    ``(shift_i + v_j − C_ij)/ε ≤ log(mass)`` because the other marginal was just
    matched); falls back to the max-stabilised two-pass LSE if a row under- or
    overflows (``lax.cond``: the fallback costs nothing when unused)."""
    sh = jnp.where(jnp.isfinite(shift), shift, 0.0)
    out = geom._lse(v, eps, axis, shift=sh)
    log_tiny = math.log(float(jnp.finfo(out.dtype).tiny)) + 10.0
    bad = jnp.any((w > 0) & ~((out + sh / eps) > log_tiny) | ~jnp.isfinite(out) & (w > 0))
    return jax.lax.cond(bad, lambda: geom._lse(v, eps, axis), lambda: out)


def _sinkhorn_step(geom, la, lb, a, eps, f, g):
    """One full iteration; returns (f, g, error of the input (f, g))."""
    lr = _lse_shifted(geom, g, f, eps, 1, a)
    row = jnp.exp(f / eps + lr)
    err = jnp.sum(jnp.where(a > 0, jnp.abs(row - a), row))
    f_new = eps * la - eps * lr
    f_new = jnp.where(a > 0, f_new, -jnp.inf)  # exact zero rows
    g_new = eps * lb - eps * _lse_shifted(geom, f_new, g, eps, 0, jnp.exp(lb))
    return f_new, g_new, err
    # endregion: ot-sinkhorn-step


def _init(geom, a, b, eps, init):
    n, m = geom.shape
    dt = jnp.result_type(
        geom.cost_matrix.dtype if isinstance(geom, Geometry) else geom.x.dtype, jnp.asarray(a).dtype, float
    )
    f = jnp.zeros((n,), dt) if init is None else jnp.asarray(init[0], dt)
    lb = _safe_log(b).astype(dt)
    # zero-weight rows/columns carry exactly zero mass from the start: f_i = −∞ where
    # a_i = 0 (the g update then ignores them), g_j = −∞ where b_j = 0
    f = jnp.where(jnp.asarray(a) > 0, f, -jnp.inf)
    g = _g_update(geom, f, lb, eps) if init is None else jnp.asarray(init[1], dt)
    g = jnp.where(jnp.asarray(b) > 0, g, -jnp.inf)
    return f, g


def _sinkhorn_while(geom, a, b, eps, tol, num_steps, init):
    la, lb = _safe_log(a), _safe_log(b)
    f, g = _init(geom, a, b, eps, init)
    errors = -jnp.ones((num_steps,), f.dtype)

    def cond(s):
        _, _, err, it, _ = s
        return jnp.logical_and(it < num_steps, err > tol)

    def body(s):
        f, g, _, it, errors = s
        f, g, err = _sinkhorn_step(geom, la, lb, a, eps, f, g)
        errors = errors.at[it].set(err)
        return f, g, err, it + 1, errors

    s0 = (f, g, jnp.asarray(jnp.inf, f.dtype), jnp.asarray(0), errors)
    f, g, err, it, errors = jax.lax.while_loop(cond, body, s0)
    return f, g, errors


def _sinkhorn_stab_while(geom, a, b, eps, tol, num_steps, init):
    """Log-stabilised scaling (Schmitzer 2019): plain ``u ← a/(K̃v)``, ``v ← b/(K̃ᵀu)``
    mat-vecs on the *stabilised* kernel ``K̃ = exp((f ⊕ g − C)/ε)``; whenever a
    scaling leaves ``[e^{−τ}, e^{τ}]`` it is absorbed into the log potentials
    ``f += ε log u``, ``g += ε log v`` and ``K̃`` is recomputed.  Same iterates as
    the log-domain method in exact arithmetic; one ``exp`` pass per absorption
    instead of two per iteration."""
    f, g = _init(geom, a, b, eps, init)
    tau = 20.0 if f.dtype == jnp.float32 else 60.0
    tiny = jnp.finfo(f.dtype).tiny
    K = geom.plan(f, g, eps)  # columns sum to b (g from a log-domain update)
    u, v = jnp.ones_like(f), jnp.ones_like(g)
    errors = -jnp.ones((num_steps,), f.dtype)

    def absorb(st):
        f, g, K, u, v = st
        f = f + eps * jnp.log(u)
        g = g + eps * jnp.log(v)
        return f, g, geom.plan(f, g, eps), jnp.ones_like(u), jnp.ones_like(v)

    def cond(s):
        return jnp.logical_and(s[6] < num_steps, s[5] > tol)

    def body(s):
        f, g, K, u, v, _, it, errors = s
        Kv = jnp.sum(K * v[None, :], axis=1)  # multiply-reduce: faster than XLA's CPU gemv
        row = u * Kv
        err = jnp.sum(jnp.where(a > 0, jnp.abs(row - a), row))
        u = jnp.where(a > 0, a / jnp.maximum(Kv, tiny), 1.0)
        Ktu = jnp.sum(K * u[:, None], axis=0)
        v = jnp.where(b > 0, b / jnp.maximum(Ktu, tiny), 1.0)
        big = jnp.maximum(jnp.max(jnp.abs(jnp.log(u))), jnp.max(jnp.abs(jnp.log(v)))) > tau
        f, g, K, u, v = jax.lax.cond(big, absorb, lambda st: st, (f, g, K, u, v))
        return f, g, K, u, v, err, it + 1, errors.at[it].set(err)

    s0 = (f, g, K, u, v, jnp.asarray(jnp.inf, f.dtype), jnp.asarray(0), errors)
    f, g, K, u, v, err, it, errors = jax.lax.while_loop(cond, body, s0)
    return f + eps * jnp.log(u), g + eps * jnp.log(v), errors


def _forward(geom, a, b, eps, tol, num_steps, init, method):
    if method == "stabilized":
        return _sinkhorn_stab_while(geom, a, b, eps, tol, num_steps, init)
    return _sinkhorn_while(geom, a, b, eps, tol, num_steps, init)


def _sinkhorn_unrolled(geom, a, b, eps, tol, num_steps, init):
    """Same iterations in a ``lax.scan`` (reverse-differentiable); frozen after convergence."""
    la, lb = _safe_log(a), _safe_log(b)
    f, g = _init(geom, a, b, eps, init)

    def body(s, _):
        f, g, done = s
        f2, g2, err = _sinkhorn_step(geom, la, lb, a, eps, f, g)
        done2 = jnp.logical_or(done, err <= tol)
        f = jnp.where(done2, f, f2)
        g = jnp.where(done2, g, g2)
        return (f, g, done2), jnp.where(done, -1.0, err).astype(f.dtype)

    (f, g, _), errors = jax.lax.scan(body, (f, g, jnp.asarray(False)), None, length=num_steps)
    return f, g, errors


def _marginal_residual(geom, a, b, eps, f, g):
    """F(f, g; θ) = (a − P1, b − Pᵀ1): zero at the Sinkhorn fixed point."""
    row = jnp.exp(f / eps + geom.lse_rows(g, eps))
    col = jnp.exp(g / eps + geom.lse_cols(f, eps))
    return a - row, b - col


def _cg_solve(matvec, rhs, tol, num_steps):
    sol, _ = jax.scipy.sparse.linalg.cg(matvec, rhs, tol=tol, maxiter=num_steps)
    return sol


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5, 6, 7, 8))
def _implicit_potentials(geom, a, b, eps, tol, num_steps, cg_tol, cg_num_steps, method):
    return _forward(geom, a, b, eps, tol, num_steps, None, method)


def _implicit_fwd(geom, a, b, eps, tol, num_steps, cg_tol, cg_num_steps, method):
    f, g, errors = _forward(geom, a, b, eps, tol, num_steps, None, method)
    return (f, g, errors), (geom, a, b, eps, f, g)


def _implicit_bwd(tol, num_steps, cg_tol, cg_num_steps, method, res, cts):
    """Implicit function theorem at F(z; θ) = 0 with z = (f, g).

    ∂F/∂z = −M/ε with M = [[diag(P1), P], [Pᵀ, diag(Pᵀ1)]] (PSD, kernel (1, −1)).
    θ̄ = (∂F/∂θ)ᵀ λ with M λ = ε z̄, z̄ projected off the kernel.
    """
    geom, a, b, eps, f, g = res
    cf, cg, _ = cts
    P = geom.plan(f, g, eps)
    r, c = P.sum(1), P.sum(0)
    n = f.shape[0]
    # the system lives on the support: zero-weight rows/columns (f_i or g_j = −∞, no
    # mass) get λ = 0 (identity block, zero right-hand side), so they cannot blow up
    sa, sb = a > 0, b > 0
    cf, cg = jnp.where(sa, cf, 0.0), jnp.where(sb, cg, 0.0)
    shift = (jnp.sum(cf) - jnp.sum(cg)) / (jnp.sum(sa) + jnp.sum(sb))
    rhs = jnp.concatenate([jnp.where(sa, cf - shift, 0.0), jnp.where(sb, cg + shift, 0.0)]) * eps
    r, c = jnp.where(sa, r, jnp.max(r)), jnp.where(sb, c, jnp.max(c))
    ridge = 1e-12 * jnp.max(r)
    hi = jax.lax.Precision.HIGHEST  # no TF32 mat-vecs on GPUs

    def M(v):
        v1, v2 = v[:n], v[n:]
        return (
            jnp.concatenate([r * v1 + jnp.dot(P, v2, precision=hi), jnp.dot(P.T, v1, precision=hi) + c * v2])
            + ridge * v
        )

    lam = _cg_solve(M, rhs, cg_tol, cg_num_steps)
    lam_f, lam_g = lam[:n], lam[n:]
    # the minimum-norm solution: drop the kernel component (1, −1) on the support,
    # which rounding (float32) lets CG pick up; it would shift ∂/∂a on the support
    # against the zero-weight rows (and ∂/∂b the other way)
    kern = (jnp.sum(jnp.where(sa, lam_f, 0.0)) - jnp.sum(jnp.where(sb, lam_g, 0.0))) / (
        jnp.sum(sa) + jnp.sum(sb)
    )
    lam = (jnp.where(sa, lam_f - kern, 0.0), jnp.where(sb, lam_g + kern, 0.0))
    _, vjp = jax.vjp(lambda gm, aa, bb, ee: _marginal_residual(gm, aa, bb, ee, f, g), geom, a, b, eps)
    return vjp(lam)


_implicit_potentials.defvjp(_implicit_fwd, _implicit_bwd)


@functools.partial(
    jax.jit, static_argnames=("tol", "num_steps", "differentiation", "cg_tol", "cg_num_steps", "method")
)
def _sinkhorn_jit(geom, a, b, eps, init, *, tol, num_steps, differentiation, cg_tol, cg_num_steps, method):
    eps = jnp.asarray(eps, dtype=jnp.result_type(a, float))
    if differentiation == "unroll":
        f, g, errors = _sinkhorn_unrolled(geom, a, b, eps, tol, num_steps, init)
    elif init is not None:
        f, g, errors = _forward(geom, a, b, eps, tol, num_steps, init, method)
    else:
        f, g, errors = _implicit_potentials(geom, a, b, eps, tol, num_steps, cg_tol, cg_num_steps, method)
    n_iters = jnp.sum(errors >= 0)
    last = jnp.where(n_iters > 0, errors[jnp.maximum(n_iters - 1, 0)], jnp.inf)
    # converged if the last recorded error (before the final update) met tol
    converged = last <= tol
    reg, tc = _costs(geom, a, b, f, g, eps)
    return SinkhornOutput(f, g, errors, converged, n_iters, reg, tc, geom, eps)


def sinkhorn(
    geom: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    eps: float | Float[Array, ""] = 1e-2,
    *,
    tol: float = 1e-6,
    num_steps: int = 1000,
    method: str = "log",
    differentiation: str = "implicit",
    init: tuple[Float[Array, " n"], Float[Array, " m"]] | None = None,
    cg_tol: float = 1e-10,
    cg_num_steps: int = 500,
) -> SinkhornOutput:
    r"""Log-domain Sinkhorn for entropic OT (Cuturi 2013; Peyré & Cuturi 2019).

    Iterates ``f ← ε log a − ε LSE_j((g_j − C_ij)/ε)``,
    ``g ← ε log b − ε LSE_i((f_i − C_ij)/ε)`` (block coordinate ascent on the
    dual ``L(f, g)``) until the L1 marginal error ``‖P1 − a‖₁ ≤ tol``, inside one
    ``lax.while_loop`` (``jit`` compiled; ``vmap``-able over problems).

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or a cost matrix.
      a, b: marginals (default uniform), non-negative with equal mass.
      eps: entropic regularisation ``ε > 0``.
      tol: stop when the L1 marginal error ``‖P1 − a‖₁ ≤ tol`` (> 0).
      num_steps: cap on the iterations (≥ 1).
      method: ``"log"`` (two log-sum-exp passes per iteration; never stores the
        kernel, works with online point clouds) or ``"stabilized"`` (log-stabilised
        scaling: plain mat-vecs on an absorbed kernel ``K̃``, recomputed only when
        the scalings leave ``[e^{−τ}, e^{τ}]``; stores ``K̃`` (n × m); much
        cheaper per iteration, same iterates).
      differentiation: ``"implicit"`` (custom VJP from the implicit function
        theorem at the fixed point, solved by CG) or ``"unroll"`` (log-domain
        iterations in a ``lax.scan``, differentiated step by step).
      init: optional warm start ``(f, g)``.
      cg_tol, cg_num_steps: CG tolerance (> 0) and iteration cap (≥ 1) of the
        implicit backward pass.

    Returns:
      :class:`SinkhornOutput` (``out.plan()`` materialises the plan).  Rows
      (columns) with zero weight carry exactly zero mass (potential ``−∞``).

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(geom)
    _check_geometry(geom)
    a, b = check_marginals(geom, a, b)
    _check_eps(eps)
    require_int("num_steps", num_steps, minimum=1)
    _require_choice("method", method, ("log", "stabilized"))
    _require_choice("differentiation", differentiation, ("implicit", "unroll"))
    tol = _require_static_positive("tol", tol)
    cg_tol = _require_static_positive("cg_tol", cg_tol)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    if init is not None:
        n, m = geom.shape
        if not (isinstance(init, (tuple, list)) and len(init) == 2):
            raise TypeError(f"init must be a pair (f, g) of potentials, got {type(init).__name__}")
        f0 = as_float_array("init", init[0], ndim=1, finite=False)
        g0 = as_float_array("init", init[1], ndim=1, finite=False)
        if f0.shape[0] != n or g0.shape[0] != m:
            raise ValueError(
                f"init must hold potentials of shapes ({n},) and ({m},), got {f0.shape} and {g0.shape}"
            )
        _require_no_nan("init", (f0, g0))
        init = (f0, g0)
    return _sinkhorn_jit(
        geom,
        a,
        b,
        eps,
        init,
        tol=tol,
        num_steps=int(num_steps),
        differentiation=differentiation,
        cg_tol=cg_tol,
        cg_num_steps=int(cg_num_steps),
        method=method,
    )


def _require_choice(name, value, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be " + " or ".join(repr(c) for c in choices) + f", got {value!r}")


def sinkhorn_naive(
    C: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None,
    b: Float[ArrayLike, " m"] | None,
    eps: float,
    *,
    num_steps: int = 100,
):
    """Textbook (non-log) Sinkhorn: ``u ← a / (K v)``, ``v ← b / (Kᵀ u)``, ``K = e^{−C/ε}``.

    Kept to *show* its failure at small ε: ``K`` underflows to 0 (then ``0/0``
    gives NaN) or the scalings overflow.  Returns ``(P, errors)`` with the plan
    ``diag(u) K diag(v)`` and the L1 marginal error per iteration.

    Args:
      C: ``n × m`` cost matrix (or a geometry).
      a, b: marginals (``None`` for uniform).
      eps: ``ε > 0``.
      num_steps: iterations (≥ 1).

    Returns:
      ``(P, errors)``.  NaN in them at small ε is the point of this function (the
      breakdown), not a validation failure.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    geom = _as_geometry(C, "C")
    a, b = check_marginals(geom, a, b)
    _check_eps(eps)
    require_int("num_steps", num_steps, minimum=1)
    return _naive_jit(
        geom.cost_matrix, a, b, jnp.asarray(eps, jnp.result_type(a, float)), num_steps=int(num_steps)
    )


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _naive_jit(C, a, b, eps, *, num_steps):
    K = jnp.exp(-C / eps)

    def body(carry, _):
        u, v = carry
        u = a / jnp.dot(K, v, precision=jax.lax.Precision.HIGHEST)
        v = b / jnp.dot(K.T, u, precision=jax.lax.Precision.HIGHEST)
        P = u[:, None] * K * v[None, :]
        return (u, v), jnp.sum(jnp.abs(P.sum(1) - a))

    (u, v), errs = jax.lax.scan(body, (jnp.ones_like(a), jnp.ones_like(b)), None, length=num_steps)
    return u[:, None] * K * v[None, :], errs
