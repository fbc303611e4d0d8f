r"""Exact optimal transport as a linear program (chapter 6), solved by HiGHS on the host."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import (
    is_concrete,
)
from .._types import ArrayLike, Float
from .geometry import _as_geometry, _GeometryBase
from .marginals import _check_geometry, check_marginals

__all__ = [
    "EMDOutput",
    "emd",
]

# Result types that are reports, not runs of an iterative method (the library contract).
_NOT_A_RUN = {
    "EMDOutput": "an exact LP solve (HiGHS, on the host): no iterates and no point iterated on; "
    "it reports the optimal plan (plan()), its cost and the solver's message",
}


class EMDOutput(NamedTuple):
    """Exact OT (a report of an LP solve, not a run): the optimal plan, stored sparse,
    its cost ``⟨C, P⟩`` and the LP status message.

    Attributes:
      rows, cols, masses: the nonzero entries ``P[rows[t], cols[t]] = masses[t]`` of
        the optimal plan (a vertex of the transportation polytope has at most
        ``n + m − 1`` of them).
      shape: ``(n, m)``.
      cost: ``⟨C, P⟩``.
      message: HiGHS' status message.
    """

    rows: np.ndarray
    cols: np.ndarray
    masses: np.ndarray
    shape: tuple[int, int]
    cost: float
    message: str

    def plan(self) -> Float[np.ndarray, "n m"]:
        """The dense ``n × m`` optimal plan (float64, NumPy)."""
        P = np.zeros(self.shape)
        P[self.rows, self.cols] = self.masses
        return P


def emd(
    C: Float[ArrayLike, "n m"] | _GeometryBase,
    a: Float[ArrayLike, " n"] | None = None,
    b: Float[ArrayLike, " m"] | None = None,
) -> EMDOutput:
    """Exact (unregularised) OT by linear programming (scipy ``linprog``, HiGHS).

    ``min ⟨C, P⟩`` s.t. ``P1 = a``, ``Pᵀ1 = b``, ``P ≥ 0``: the ε → 0 limit of
    entropic OT.  For small problems (``n·m`` up to ~10⁵ variables).  Runs on the
    host in float64 (not jit-able, not differentiable).

    Args:
      C: ``n × m`` cost matrix (or a geometry).
      a, b: marginals (``None`` for uniform), non-negative with equal mass.

    Returns:
      :class:`EMDOutput` (``out.plan()`` is the dense plan).

    Raises:
      TypeError, ValueError: invalid arguments; RuntimeError: the LP solver failed.
    """
    import scipy.optimize
    import scipy.sparse as sp

    geom = _as_geometry(C, "C")
    _check_geometry(geom)
    if not is_concrete((geom, a, b)):
        raise TypeError("emd runs on the host: C, a and b must be concrete arrays, not traced")
    a, b = check_marginals(geom, a, b)
    Cn = np.asarray(geom.cost_matrix, dtype=np.float64)
    an, bn = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    bn = bn * (an.sum() / bn.sum())
    n, m = Cn.shape
    rows = sp.kron(sp.eye(n), np.ones((1, m)))
    cols = sp.kron(np.ones((1, n)), sp.eye(m))
    A_eq = sp.vstack([rows, cols]).tocsr()
    res = scipy.optimize.linprog(
        Cn.ravel(), A_eq=A_eq, b_eq=np.concatenate([an, bn]), bounds=(0, None), method="highs"
    )
    if res.status != 0:
        raise RuntimeError(f"linprog failed: {res.message}")
    P = np.maximum(res.x.reshape(n, m), 0.0)
    rows, cols = np.nonzero(P)
    return EMDOutput(rows, cols, P[rows, cols], (n, m), float(np.sum(P * Cn)), res.message)
