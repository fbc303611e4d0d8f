r"""Soft permutations by Sinkhorn (chapter 6; Peña, Medeiros, Dubail, Aminbeidokhti, Granger,
Pedersoli 2023, "Re-basin via implicit Sinkhorn differentiation").
"""

from __future__ import annotations

from .._types import Array, Float
from .entropic import sinkhorn
from .geometry import PointCloud

__all__ = [
    "soft_permutation",
]


def soft_permutation(
    x: Float[Array, "n d"],
    y: Float[Array, "n d"],
    eps: float | Float[Array, ""],
    *,
    tol: float = 1e-6,
    num_steps: int = 1000,
    method: str = "log",
) -> Float[Array, "n n"]:
    r"""A doubly stochastic matching of the rows of ``x`` to the rows of ``y`` by Sinkhorn.

    Solves entropic OT between ``n`` points and ``n`` points with uniform weights and the
    cost ``C_ij = ‖x_i − y_j‖²`` (a :class:`PointCloud`) by :func:`sinkhorn`, and returns
    ``S = n P``: rows and columns sum to 1 (up to ``tol``), and as ``ε → 0`` ``S``
    tends to the permutation matrix of the optimal assignment
    ``min_σ Σ_i ‖x_i − y_σ(i)‖²`` when it is unique.  With the rows of ``x`` and ``y``
    the hidden units of two networks (incoming weights, bias, outgoing weights), ``S``
    is the soft permutation of re-basin (Peña et al. 2023): ``S`` applied to the second
    network's units aligns them with the first's.

    Args:
      x: the ``(n, d)`` first set of points (rows), finite.
      y: the ``(n, d)`` second set, finite, with as many rows as ``x``.
      eps: entropic regularisation ``ε > 0`` (in the units of the squared distance).
      tol: Sinkhorn's stopping tolerance on the L1 marginal error (> 0).
      num_steps: cap on the Sinkhorn iterations (≥ 1).
      method: Sinkhorn's ``"log"`` or ``"stabilized"`` iteration (see :func:`sinkhorn`).

    Returns:
      The ``(n, n)`` doubly stochastic matrix ``S`` (``S_ij``: weight of ``y_j`` in the
      match of ``x_i``).

    Raises:
      TypeError: non-numeric ``x``, ``y`` or ``eps``.
      ValueError: wrong shapes (named), different numbers of rows, NaN/inf,
        non-positive ``eps``, invalid ``tol``, ``num_steps`` or ``method``.
    """
    geom = PointCloud(x, y)
    n, m = geom.shape
    if n != m:
        raise ValueError(f"x and y must have the same number of rows, got {n} and {m}")
    out = sinkhorn(geom, None, None, eps, tol=tol, num_steps=num_steps, method=method)
    return out.plan() * n
