"""Checks of the inner problem: its Hessian in the inner variable (chapter 12)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    is_concrete,
    require_int,
)
from .._checks import require_positive_scalar as _pos_scalar
from .._types import Array, Float
from ._common import _NO_OUTER, Loss, _check_losses, _theta, _vec


@functools.partial(jax.jit, static_argnums=(0,))
def _inner_hessian(inner, w, theta):
    return jax.hessian(inner, argnums=0)(w, theta)


def check_inner_hessian(
    inner: Loss,
    w: Float[Array, " d"],
    theta: Float[Array, "*p"],
    *,
    rtol: float | None = None,
    max_dim: int = 2000,
) -> None:
    """Raise a clear error when ``H = ∇²_ww g(w, θ)`` is singular or indefinite.

    The hypergradient needs ``H⁻¹``: a (numerically) zero eigenvalue means the
    inner problem has no unique solution.  Skipped for traced inputs and for
    ``d > max_dim`` (the dense eigen-decomposition would dominate the cost).

    Args:
      inner: the lower-level loss ``g(w, θ)`` (callable, scalar-valued).
      w: finite 1-D inner point. theta: finite scalar or 1-D hyperparameter.
      rtol: relative eigenvalue threshold (positive), default ``10·d·eps``.
      max_dim: positive int.

    Raises:
      ValueError: singular or indefinite Hessian; bad shapes or values of the arguments.
      TypeError: non-callable ``inner``, non-numeric arrays, non-int ``max_dim``.
    """
    w = _vec("w", w)
    theta = _theta(theta)
    _check_losses(inner, _NO_OUTER, w, theta)
    if rtol is not None:
        _pos_scalar("rtol", rtol)
    require_int("max_dim", max_dim, minimum=1)
    if not is_concrete((w, theta)) or jnp.size(w) > max_dim:
        return
    H = np.asarray(_inner_hessian(inner, w, theta), dtype=float)
    H = 0.5 * (H + H.T)
    ev = np.linalg.eigvalsh(H)
    scale = max(float(np.max(np.abs(ev))), 1e-30)
    if rtol is None:
        rtol = 10 * len(ev) * float(jnp.finfo(jnp.result_type(w)).eps)
    lo = float(ev[0])
    if not np.isfinite(lo):
        raise ValueError("lower-level Hessian contains NaN or infinite entries")
    if lo < -rtol * scale:
        raise ValueError(
            f"lower-level Hessian is not positive definite (smallest eigenvalue {lo:.3g}): "
            "w is not a strict local minimiser of the inner problem, so the implicit "
            "hypergradient is not defined"
        )
    if lo <= rtol * scale:
        raise ValueError(
            f"lower-level Hessian is singular (smallest eigenvalue {lo:.3g}): the inner problem "
            "has no unique solution, add regularisation"
        )
