r"""Fitting convergence rates to an error curve (chapter 13): the slope of ``log e_t`` against
``log t`` (a sublinear rate ``t^{-α}``) and the ratio ``e_{t+1}/e_t`` of a linear rate, each by
least squares over a window of steps.
"""

from __future__ import annotations

import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
)
from .._types import Float
from ._common import _scalar

__all__ = [
    "loglog_slope",
    "log_linear_rate",
]


def _fit_inputs(t, errors, t_min, t_max):
    t = np.asarray(as_float_array("t", t, ndim=1), np.float64)
    e = np.asarray(as_float_array("errors", errors, ndim=1, finite=False), np.float64)
    if t.shape != e.shape:
        raise ValueError(f"t and errors must be 1-D of equal length, got {t.shape} and {e.shape}")
    if np.any(np.isnan(e)):
        raise ValueError("errors contains NaN")
    lo, hi = float(_scalar("t_min", t_min)), float(_scalar("t_max", t_max))
    if hi < lo:
        raise ValueError(f"t_max must be >= t_min, got t_min={lo}, t_max={hi}")
    return t, e


def loglog_slope(
    t: Float[ArrayLike, " T"], errors: Float[ArrayLike, " T"], t_min: float, t_max: float
) -> float:
    """Least-squares slope of ``log error`` against ``log t`` over ``t_min ≤ t ≤ t_max``
    (``t``: the step indices of the ``errors``).

    Args:
      t: the step indices, 1-D.
      errors: the errors at ``t``, same shape (inf allowed outside the window).
      t_min: start of the fitted window.
      t_max: end of the fitted window, ``>= t_min``.

    Returns:
      The slope ``p`` of ``error ≈ C t^p`` (negative for a sublinear rate), a float.

    Raises:
      TypeError: non-numeric input. ValueError: shapes differ or not 1-D, NaN/inf, fewer than
      two points in the window, non-positive values there.
    """
    ts, e = _fit_inputs(t, errors, t_min, t_max)
    if ts.shape != e.shape or ts.ndim != 1:
        raise ValueError(f"t and errors must be 1-D of equal length, got {ts.shape} and {e.shape}")
    sel = (ts >= t_min) & (ts <= t_max)
    if sel.sum() < 2:
        raise ValueError(
            f"need at least two points in the window [t_min, t_max] = [{t_min}, {t_max}], "
            f"got {int(sel.sum())}"
        )
    if not np.all(e[sel] > 0) or not np.all(ts[sel] > 0) or not np.all(np.isfinite(e[sel])):
        raise ValueError("t and errors must be positive in the fitted window")
    return float(np.polyfit(np.log(ts[sel]), np.log(e[sel]), 1)[0])


def log_linear_rate(
    t: Float[ArrayLike, " T"], errors: Float[ArrayLike, " T"], t_min: float, t_max: float
) -> float:
    """Fitted per-step contraction ``ρ`` with ``error ≈ C ρ^t`` over the window.

    Args:
      t: the step indices, 1-D.
      errors: the errors at ``t``, same shape.
      t_min: start of the fitted window.
      t_max: end of the fitted window, ``>= t_min``.

    Returns:
      ``ρ`` (``exp`` of the least-squares slope of ``log error`` against ``t``), a float.

    Raises:
      TypeError, ValueError: as :func:`loglog_slope`.
    """
    ts, e = _fit_inputs(t, errors, t_min, t_max)
    sel = (ts >= t_min) & (ts <= t_max)
    if sel.sum() < 2 or not np.all(e[sel] > 0) or not np.all(np.isfinite(e[sel])):
        raise ValueError("need at least two positive errors in the fitted window")
    return float(np.exp(np.polyfit(ts[sel], np.log(e[sel]), 1)[0]))
