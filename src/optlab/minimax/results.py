"""The record of a run of a method on a monotone operator (chapter 9)."""

from __future__ import annotations

from typing import NamedTuple

from .._types import Array, Bool, Float, Int

# Result types that are reports, not runs (tests/test_contract.py).
_NOT_A_RUN = {
    "SGNCertificate": "a certificate (margin, Lipschitz constant, certified step and rate) "
    "computed from a Jacobian, not an iterative run with a final point",
}


class MinimaxOutput(NamedTuple):
    """Result of a min-max method.

    Every method runs all ``K = num_steps`` steps (one fixed-length ``lax.scan``, so it
    ``vmap``-s over step sizes and games); ``tol`` only sets ``converged`` and ``n_iters``.

    Attributes:
      params: the last iterate ``z_K`` (``(d,)``, the pair ``(x, y)`` stacked).
      residuals: ``‖F(z_k)‖`` for ``k = 0..K`` (shape ``(K+1,)``).
      converged: ``residuals[-1] <= tol``: the last iterate meets the tolerance.
      n_iters: the first step ``k`` with ``‖F(z_k)‖ <= tol`` (the steps a run that
        stops at ``tol`` takes), or ``K`` when no iterate meets it.
      oracle_calls: cumulative oracle calls after each iteration (shape ``(K+1,)``):
        evaluations of ``F`` (resolvents count one each), or component evaluations
        ``F_i`` for :func:`vr_halpern`.  Residual bookkeeping is not counted.
      iterates: ``(K+1, d)`` array of ``z_k`` when ``return_iterates=True``, else ``None``.
    """

    params: Float[Array, " d"]
    residuals: Float[Array, " K+1"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]
    oracle_calls: Int[Array, " K+1"]
    iterates: Float[Array, "K+1 d"] | None = None
