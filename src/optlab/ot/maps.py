r"""Entropic estimation of optimal transport maps (chapter 6; Pooladian & Niles-Weed 2021)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
)
from .._types import Array, ArrayLike, Float
from .entropic import sinkhorn
from .geometry import PointCloud, _require_nonempty

__all__ = [
    "entropic_map",
]


def entropic_map(
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    eps: float | Float[Array, ""],
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
    *,
    query: Float[Array, "k d"] | None = None,
    tol: float = 1e-6,
    num_steps: int = 1000,
    method: str = "log",
) -> Float[Array, "k d"]:
    r"""Entropic estimate of the optimal transport map (Pooladian & Niles-Weed 2021).

    Solves entropic OT between the samples ``x`` (source) and ``y`` (target) with the
    cost ``C_ij = ‖x_i − y_j‖²`` (a :class:`PointCloud`) by :func:`sinkhorn`, then
    evaluates the barycentric projection of the entropic plan

        T_ε(q) = Σ_j w_j(q) y_j,   w_j(q) = exp((g_j − ‖q − y_j‖²)/ε) / Σ_l exp((g_l − ‖q − y_l‖²)/ε),

    at the query points.  At a sample point ``q = x_i`` the weights are the plan's
    row, ``w_j(x_i) = P_ij / Σ_l P_il``, so ``T_ε(x_i) = Σ_j P_ij y_j / a_i`` at the
    Sinkhorn fixed point; elsewhere ``T_ε`` extends it through the potential ``g``
    (the entropic c-transform), which is the estimator the paper analyses.

    Args:
      x: the ``(n, d)`` source samples, finite.
      y: the ``(m, d)`` target samples, finite.
      eps: entropic regularisation ``ε > 0`` (in the units of the squared distance).
      a, b: sample weights (default uniform), non-negative with equal mass.
      query: ``(k, d)`` points where the map is evaluated (default ``x``).
      tol: Sinkhorn's stopping tolerance on the L1 marginal error (> 0).
      num_steps: cap on the Sinkhorn iterations (≥ 1).
      method: Sinkhorn's ``"log"`` or ``"stabilized"`` iteration (see :func:`sinkhorn`).

    Returns:
      The ``(k, d)`` array ``T_ε(query)`` (``(n, d)`` when ``query`` is ``None``).

    Raises:
      TypeError: non-numeric ``x``, ``y``, ``query``, ``eps``, ``a`` or ``b``.
      ValueError: wrong shapes (named), NaN/inf, non-positive ``eps``, invalid
        marginals, ``tol``, ``num_steps`` or ``method``.
    """
    geom = PointCloud(x, y)
    if query is None:
        q = geom.x
    else:
        q = as_float_array("query", query, ndim=2)
        _require_nonempty("query", q)
        if q.shape[1] != geom.x.shape[1]:
            raise ValueError(
                f"query must have the dimension of x, got query.shape={tuple(q.shape)} "
                f"and x.shape={tuple(geom.x.shape)}"
            )
    out = sinkhorn(geom, a, b, eps, tol=tol, num_steps=num_steps, method=method)
    return _entropic_map_apply(PointCloud(q, geom.y), out.g, out.eps)


@jax.jit
def _entropic_map_apply(geom, g, eps):
    # rows of the conditional plan at the query points: softmax_j((g_j − C(q, y_j))/ε)
    w = jax.nn.softmax((g[None, :] - geom.cost_matrix) / eps, axis=1)
    return jnp.dot(w, geom.y, precision=jax.lax.Precision.HIGHEST)
