r"""Sinkhorn-Newton-Sparse (chapter 6): Sinkhorn warm start, then Newton steps on the
concave Lyapunov potential with a sparsified Hessian (Tang, Shavlovsky, Rahmanian, Tardini,
Thekumparampil, Xiao, Ying 2024, "Accelerating Sinkhorn algorithm with sparse Newton iterations").
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import (
    require_in_range,
    require_int,
)
from .._types import Array, ArrayLike, Bool, Float, Int
from .entropic import _init, _sinkhorn_step
from .geometry import _as_geometry, _GeometryBase, _require_static_positive
from .marginals import _check_eps, _check_geometry, _costs, _safe_log, check_marginals

__all__ = [
    "SNSOutput",
    "SNS_STATUS",
    "sinkhorn_newton_sparse",
]


SNS_STATUS = {
    0: "converged: marginal error <= tol",
    1: "not converged: the num_steps budget was used (Newton steps were still being accepted)",
    2: "not converged: the num_steps budget was used and the last Newton step was rejected "
    "(no ascent direction or no sufficient increase along it: the sparsified Newton "
    "system is too ill-conditioned at this eps / precision; a Sinkhorn step was taken "
    "instead); raise num_steps, lower threshold, or use float64",
    3: "not converged: the iterate became non-finite; the best finite iterate is returned",
}


class SNSOutput(NamedTuple):
    """Result of :func:`sinkhorn_newton_sparse`.

    ``(f, g)`` (also ``params``) is the *best* iterate seen (smallest marginal error, never
    worse than the warm start); ``plan()`` materialises its plan and ``message`` spells out
    ``status``.

    Attributes:
      f: the dual potential on the source, ``(n,)``.
      g: the dual potential on the target, ``(m,)``.
      errors: the warm-up Sinkhorn errors, then the L1 marginal errors
        ``‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁`` of the iterate before each Newton step and after the last
        one (``-1`` unused).
      densities: the fraction of plan entries kept in the sparsified Hessian at each Newton
        step.
      cg_num_steps: the CG iterations of each Newton step.
      converged: the marginal error reached ``tol``.
      n_sinkhorn: the warm-up Sinkhorn steps.
      n_iters: the Newton (or fallback Sinkhorn) steps after the warm-up.
      reg_ot_cost: ``⟨C,P⟩ + ε KL(P‖a⊗b)`` at ``(f, g)`` (evaluated through the dual).
      transport_cost: ``⟨C, P⟩``.
      geom: the geometry (cost) solved on.
      eps: the entropic regularisation ``ε``.
      n_rejected: the Newton steps rejected (not an ascent direction, or the backtracking
        line search failed) and replaced by a Sinkhorn step.
      status: a code of :data:`SNS_STATUS`.
    """

    f: Float[Array, " n"]
    g: Float[Array, " m"]
    errors: jax.Array
    densities: jax.Array
    cg_num_steps: jax.Array
    converged: Bool[Array, ""]
    n_sinkhorn: jax.Array
    n_iters: Int[Array, ""]
    reg_ot_cost: jax.Array
    transport_cost: jax.Array
    geom: Any
    eps: jax.Array
    n_rejected: Any = 0
    status: Any = 0

    @property
    def params(self) -> tuple[jax.Array, jax.Array]:
        """The final point: the dual potentials ``(f, g)`` (the best iterate)."""
        return self.f, self.g

    def plan(self) -> Float[Array, "n m"]:
        """Materialise the ``n × m`` transport plan."""
        return self.geom.plan(self.f, self.g, self.eps)

    @property
    def message(self) -> str:
        """Why the solver stopped, in words (concrete outputs only)."""
        return SNS_STATUS[int(self.status)]


def _cg_count(matvec, rhs, tol, num_steps):
    """Plain CG from 0 with an iteration counter (relative residual ``tol``)."""
    x = jnp.zeros_like(rhs)
    r = rhs
    p = r
    rs = jnp.dot(r, r)
    stop = (tol * jnp.linalg.norm(rhs)) ** 2

    def cond(s):
        _, _, _, rs, k = s
        return (k < num_steps) & (rs > stop) & jnp.isfinite(rs)

    def body(s):
        x, r, p, rs, k = s
        Ap = matvec(p)
        pAp = jnp.dot(p, Ap)
        alpha = jnp.where(pAp > 0, rs / jnp.where(pAp > 0, pAp, 1.0), 0.0)
        x = x + alpha * p
        r = r - alpha * Ap
        rs_new = jnp.where(pAp > 0, jnp.dot(r, r), 0.0)  # breakdown: stop
        p = r + (rs_new / jnp.where(rs > 0, rs, 1.0)) * p
        return x, r, p, rs_new, k + 1

    x, _, _, _, k = jax.lax.while_loop(cond, body, (x, r, p, rs, jnp.asarray(0)))
    return x, k


@functools.partial(
    jax.jit, static_argnames=("warmup", "num_steps", "tol", "cg_tol", "cg_num_steps", "max_backtracks")
)
def _sns_jit(geom, a, b, eps, threshold, *, warmup, num_steps, tol, cg_tol, cg_num_steps, max_backtracks):
    eps = jnp.asarray(eps, dtype=jnp.result_type(a, float))
    la, lb = _safe_log(a), _safe_log(b)
    n, m = geom.shape
    f, g = _init(geom, a, b, eps, None)

    # --- stage 1: Sinkhorn warm-up -------------------------------------------
    def sk(i, s):
        f, g, errs = s
        f, g, err = _sinkhorn_step(geom, la, lb, a, eps, f, g)
        return f, g, errs.at[i].set(err)

    errs_sk = -jnp.ones((max(warmup, 1),), f.dtype)
    f, g, errs_sk = jax.lax.fori_loop(0, warmup, sk, (f, g, errs_sk))
    errs_sk = errs_sk[:warmup]

    # region: ot-sns-newton-step
    # --- stage 2: Newton on L(f, g) with a sparsified Hessian -------------------
    # Safeguarded: the step must be an ascent direction of the concave dual and pass a
    # backtracking line search; otherwise it is rejected (never "take the last alpha")
    # and a log-domain Sinkhorn step is taken instead.  The best iterate (smallest
    # marginal error, starting with the warm start) is what the solver returns.
    C = geom.cost_matrix
    hi = jax.lax.Precision.HIGHEST  # dots in full float32 on GPUs (no TF32)

    def plan_and_value(f, g):
        P = jnp.exp((f[:, None] + g[None, :] - C) / eps)
        return P, jnp.dot(f_fin(f), a, precision=hi) + jnp.dot(f_fin(g), b, precision=hi) - eps * jnp.sum(P)

    def f_fin(v):  # −∞ potentials of zero-weight rows/columns contribute 0·(−∞) := 0
        return jnp.where(jnp.isfinite(v), v, 0.0)

    def merr(P):
        return jnp.sum(jnp.abs(P.sum(1) - a)) + jnp.sum(jnp.abs(P.sum(0) - b))

    def cond(s):
        err_best, k = s[10], s[4]
        return jnp.logical_and(k < num_steps, err_best > tol)

    def body(s):
        f, g, P, err, k, errs, dens, cgs, fb, gb, errb, n_rej, rejected = s
        r, c = P.sum(1), P.sum(0)
        L0 = jnp.dot(f_fin(f), a, precision=hi) + jnp.dot(f_fin(g), b, precision=hi) - eps * jnp.sum(r)
        # sparsify: keep P_ij >= threshold * max P (the largest entries of the plan)
        Ps = jnp.where(threshold * jnp.max(P) <= P, P, 0.0)
        dens = dens.at[k].set(jnp.mean(Ps > 0))
        # zero-weight rows/columns are not variables: identity block, zero gradient
        rr, cc = jnp.where(a > 0, r, 1.0), jnp.where(b > 0, c, 1.0)
        ridge = 1e-12 * jnp.max(r)

        def M(v):
            v1, v2 = v[:n], v[n:]
            # multiply-reduce instead of gemv: several times faster on XLA:CPU
            return (
                jnp.concatenate(
                    [rr * v1 + jnp.sum(Ps * v2[None, :], axis=1), jnp.sum(Ps * v1[:, None], axis=0) + cc * v2]
                )
                + ridge * v
            )

        grad = jnp.concatenate([a - r, b - c])
        d, kcg = _cg_count(M, eps * grad, cg_tol, cg_num_steps)
        cgs = cgs.at[k].set(kcg)
        df, dg = d[:n], d[n:]
        shift = (jnp.sum(df) - jnp.sum(dg)) / (n + m)  # drop the (1, −1) kernel component
        df, dg = jnp.where(a > 0, df - shift, 0.0), jnp.where(b > 0, dg + shift, 0.0)
        d = jnp.concatenate([df, dg])
        slope = jnp.dot(grad, d, precision=hi)
        # an ascent direction of the concave dual: ⟨∇L, d⟩ > 0 (M_s is PSD, so CG's
        # answer is one unless CG broke down or rounding dominates)
        ascent = jnp.isfinite(slope) & (slope > 0) & jnp.all(jnp.isfinite(d))
        df, dg = jnp.where(ascent, df, 0.0), jnp.where(ascent, dg, 0.0)

        def accept(alpha, Pt, Lt):
            # Armijo on the concave dual (False for NaN); in float32 the sum over all n·m
            # entries is too noisy for a tiny slope, so a step that lowers the marginal
            # error (the gradient norm) is accepted as well.
            err_t = merr(Pt)
            ok = jnp.isfinite(Lt) & (Lt >= L0 + 1e-4 * alpha * slope)
            return ascent & (ok | (jnp.isfinite(err_t) & (err_t < err)))

        def ls_cond(t):
            _, j, _, _, ok = t
            return jnp.logical_and(j < max_backtracks, jnp.logical_not(ok))

        def ls_body(t):
            alpha, j, _, _, _ = t
            alpha = 0.5 * alpha
            Pt, Lt = plan_and_value(f + alpha * df, g + alpha * dg)
            return alpha, j + 1, Pt, Lt, accept(alpha, Pt, Lt)

        one = jnp.asarray(1.0, f.dtype)
        P1, L1 = plan_and_value(f + df, g + dg)
        alpha, _, Pn, _, ok = jax.lax.while_loop(
            ls_cond, ls_body, (one, jnp.asarray(0), P1, L1, accept(one, P1, L1))
        )

        def newton_step(_):
            return f + alpha * df, g + alpha * dg, Pn

        def sinkhorn_step(_):  # the fallback: one log-domain Sinkhorn iteration
            f2, g2, _ = _sinkhorn_step(geom, la, lb, a, eps, f, g)
            return f2, g2, plan_and_value(f2, g2)[0]

        f, g, P = jax.lax.cond(ok, newton_step, sinkhorn_step, None)
        err = merr(P)
        errs = errs.at[k + 1].set(err)
        better = jnp.isfinite(err) & (err < errb)
        fb, gb = jnp.where(better, f, fb), jnp.where(better, g, gb)
        errb = jnp.where(better, err, errb)
        rejected = jnp.logical_not(ok)
        return (
            f,
            g,
            P,
            err,
            k + 1,
            errs,
            dens,
            cgs,
            fb,
            gb,
            errb,
            n_rej + rejected.astype(jnp.int32),
            rejected,
        )
        # endregion: ot-sns-newton-step

    errs_nt = -jnp.ones((num_steps + 1,), f.dtype)
    P0, _ = plan_and_value(f, g)
    err0 = merr(P0)
    errs_nt = errs_nt.at[0].set(err0)
    dens = jnp.zeros((num_steps,), f.dtype)
    cgs = jnp.zeros((num_steps,), jnp.int32)
    err0b = jnp.where(jnp.isfinite(err0), err0, jnp.inf)
    s0 = (
        f,
        g,
        P0,
        err0,
        jnp.asarray(0),
        errs_nt,
        dens,
        cgs,
        f,
        g,
        err0b,
        jnp.asarray(0, jnp.int32),
        jnp.asarray(False),
    )
    (_, _, _, err_last, k, errs_nt, dens, cgs, f, g, err, n_rej, rejected) = jax.lax.while_loop(
        cond, body, s0
    )
    errors = jnp.concatenate([errs_sk, errs_nt])
    reg, tc = _costs(geom, a, b, f, g, eps)
    converged = err <= tol
    status = jnp.where(converged, 0, jnp.where(~jnp.isfinite(err_last), 3, jnp.where(rejected, 2, 1)))
    return SNSOutput(
        f=f,
        g=g,
        errors=errors,
        densities=dens,
        cg_num_steps=cgs,
        converged=converged,
        n_sinkhorn=jnp.asarray(warmup),
        n_iters=k,
        reg_ot_cost=reg,
        transport_cost=tc,
        geom=geom,
        eps=eps,
        n_rejected=n_rej,
        status=status.astype(jnp.int32),
    )


def sinkhorn_newton_sparse(
    geom: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    eps: float | Float[Array, ""] = 1e-2,
    *,
    warmup: int = 20,
    threshold: float = 1e-6,
    tol: float = 1e-9,
    num_steps: int = 300,
    cg_tol: float | None = None,
    cg_num_steps: int = 1000,
    max_backtracks: int = 30,
) -> SNSOutput:
    r"""Sinkhorn-Newton-Sparse (Tang et al. 2024).

    Stage 1: ``warmup`` log-domain Sinkhorn iterations.  Stage 2: Newton ascent
    on the concave dual ``L(f, g)``.  Its Hessian is ``−M/ε`` with
    ``M = [[diag(P1), P], [Pᵀ, diag(Pᵀ1)]]``; the off-diagonal blocks are
    *sparsified* by keeping the largest entries of the plan,
    ``P_ij ≥ threshold · max P`` (the diagonal is kept exactly).  The direction
    solves ``M_s Δ = ε ∇L`` by conjugate gradients; the step size by Armijo
    backtracking on ``L`` (a step that lowers the marginal error is also
    accepted, which matters only when rounding makes ``L`` too noisy, in float32).
    Stops when ``‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁ ≤ tol``.

    Safeguards (small ε, where the sparsified system is very ill-conditioned): a
    direction that is not an ascent direction (``⟨∇L, Δ⟩ ≤ 0`` or non-finite), or
    whose line search fails within ``max_backtracks`` halvings, is *rejected* and a
    log-domain Sinkhorn step is taken instead; the returned potentials are the best
    iterate seen (smallest marginal error), so the result is never worse than the
    warm start.  Far from the solution damped Newton needs many steps at small ε
    (≈ 100–200 at ε = 1e-4 on 50 points), hence the default ``num_steps``.

    Materialises the ``n × m`` plan each Newton step; use float64 for tol ≲ 1e-7
    (``cg_tol`` defaults to 1e-11 in float64 and 1e-5 in float32).
    The sparsified matrix is held as a dense masked array, so on CPU/GPU each CG
    step costs a dense mat-vec (multiply-adds, no ``exp``): the memory of a real
    sparse format is not exploited.

    Args:
      geom: a :class:`Geometry`, :class:`PointCloud` or an ``n × m`` cost matrix.
      a, b: marginals (default uniform), non-negative with equal mass.
      eps: entropic regularisation ``ε > 0``.
      warmup: Sinkhorn iterations before Newton (≥ 0).
      threshold: sparsification level in ``[0, 1)`` (0 keeps the dense Hessian).
      tol: stop when the L1 marginal error is ≤ ``tol`` (> 0).
      num_steps: cap on the Newton (or fallback Sinkhorn) steps after the
        warm-up (≥ 1).
      cg_tol: relative residual of the CG solves (> 0; default by dtype).
      cg_num_steps: cap on the CG iterations of each Newton step (≥ 1).
      max_backtracks: halvings of the step before it is rejected (≥ 1).

    Returns:
      :class:`SNSOutput`; ``status`` / ``message`` say why it stopped.

    Raises:
      ValueError, TypeError: invalid arguments (named in the message).
    """
    geom = _as_geometry(geom)
    _check_geometry(geom)
    a, b = check_marginals(geom, a, b)
    _check_eps(eps)
    require_int("warmup", warmup, minimum=0)
    require_int("num_steps", num_steps, minimum=1)
    tol = _require_static_positive("tol", tol)
    if threshold is None or isinstance(threshold, str):
        raise TypeError(f"threshold must be a number in [0, 1), got {type(threshold).__name__}")
    require_in_range("threshold", threshold, 0.0, 1.0, high_inclusive=False)
    if cg_tol is None:
        cg_tol = 1e-11 if jnp.result_type(a, float) == jnp.float64 else 1e-5
    cg_tol = _require_static_positive("cg_tol", cg_tol)
    require_int("cg_num_steps", cg_num_steps, minimum=1)
    require_int("max_backtracks", max_backtracks, minimum=1)
    return _sns_jit(
        geom,
        a,
        b,
        eps,
        jnp.asarray(threshold),
        warmup=int(warmup),
        num_steps=int(num_steps),
        tol=tol,
        cg_tol=cg_tol,
        cg_num_steps=int(cg_num_steps),
        max_backtracks=int(max_backtracks),
    )
