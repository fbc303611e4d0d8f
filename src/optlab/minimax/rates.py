"""Fitting convergence rates (chapter 9)."""

from __future__ import annotations

import numpy as np

from .._checks import (
    as_float_array,
    require_int,
)
from .._types import ArrayLike, Float

# ---------------------------------------------------------------------------
# rates
# ---------------------------------------------------------------------------


def fit_slope(
    residuals: Float[ArrayLike, "*runs K"], k_min: int, k_max: int
) -> float | Float[np.ndarray, "*runs"]:
    """Least-squares slope of ``log ‖F(z_k)‖`` against ``log k`` over ``k_min ≤ k ≤ k_max``
    (``−½`` for a ``1/√k`` rate, ``−1`` for ``1/k``).

    The fit uses the (at most 60) integers of a geometric grid from ``k_min`` to ``k_max``, so
    every decade of ``k`` weighs the same.

    Args:
      residuals: ``‖F(z_k)‖`` for ``k = 0, 1, …`` along the last axis (leading axes are runs).
      k_min: first ``k`` of the window, ``>= 1``.
      k_max: last ``k`` of the window, ``> k_min`` and ``< len(residuals)``.

    Returns:
      The slope: a float for one run, an array over the leading axes otherwise.

    Raises:
      TypeError / ValueError: non-numeric ``residuals``, a bad window, residuals that are
      not positive and finite on the window.
    """
    r = np.asarray(as_float_array("residuals", residuals, finite=False), dtype=float)
    if r.ndim < 1:
        raise ValueError(f"residuals must have at least one dimension, got shape {r.shape}")
    require_int("k_min", k_min, minimum=1)
    require_int("k_max", k_max, minimum=k_min + 1)
    if k_max >= r.shape[-1]:
        raise ValueError(f"k_max must be < len(residuals)={r.shape[-1]}, got {k_max}")
    k = np.unique(np.geomspace(k_min, k_max, 60).astype(int))
    y = r[..., k]
    if not np.all(y > 0) or not np.all(np.isfinite(y)):
        raise ValueError("residuals must be positive and finite on the fitting window")
    X = np.log(k)
    Y = np.log(y)
    Xc = X - X.mean()
    slope = np.sum(Xc * (Y - Y.mean(axis=-1, keepdims=True)), axis=-1) / np.sum(Xc**2)
    return float(slope) if slope.ndim == 0 else slope
