"""Steepest descent under a norm: linear minimization oracles and dual norms (chapter 4)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from .._types import Array, Float
from ..first_order import (
    ScalarOrSchedule,
    _at,
    _check_flag,
    _check_scalar_or_schedule,
    _tagged,
)
from ._common import _tmap

# --------------------------------------------------------------------------- steepest descent
_NORMS = ("l2", "linf", "l1", "spectral")


def _check_norm(norm):
    if not isinstance(norm, str) or norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")


def lmo(g: Float[Array, "*shape"], norm: str) -> Float[Array, "*shape"]:
    """``argmax_{‖t‖ ≤ 1} ⟨g, t⟩``: the unit direction of steepest *ascent* under ``norm``.

    ``l2``: ``g/‖g‖₂``; ``linf``: ``sign(g)``; ``l1``: ``sign(g_i) e_i`` at the largest
    ``|g_i|``; ``spectral`` (``g`` a matrix, ``g = UΣVᵀ``): ``UVᵀ`` (Bernstein and
    Newhouse, 2024).  ``⟨g, lmo(g)⟩`` is the dual norm :func:`dual_norm`.

    Args:
      g: a non-empty array (a matrix for ``"spectral"``), finite.
      norm: one of ``"l2", "linf", "l1", "spectral"``.

    Returns:
      An array like ``g`` (zero where ``g = 0``).

    Raises:
      TypeError: ``g`` is not real-numeric.
      ValueError: unknown ``norm``, an empty or non-finite ``g``, or a non-matrix for ``"spectral"``.
    """
    _check_norm(norm)
    g = _checks.as_float_array("g", g)
    if g.size == 0:
        raise ValueError("g must be a non-empty array")
    if norm == "l2":
        n = jnp.linalg.norm(g)
        return jnp.where(n > 0, g / jnp.where(n > 0, n, 1.0), 0.0)
    if norm == "linf":
        return jnp.sign(g)
    if norm == "l1":
        flat = g.ravel()
        i = jnp.argmax(jnp.abs(flat))
        return jnp.zeros_like(flat).at[i].set(jnp.sign(flat[i])).reshape(g.shape)
    _checks.require_ndim("g", g, 2)
    U, s, Vt = jnp.linalg.svd(g, full_matrices=False)
    keep = s > s[0] * max(g.shape) * jnp.finfo(g.dtype).eps
    return (U * keep) @ Vt


def dual_norm(g: Float[Array, "*shape"], norm: str) -> Float[Array, ""]:
    """The dual norm ``‖g‖_* = max_{‖t‖≤1} ⟨g, t⟩``: ℓ2 ↔ ℓ2, ℓ∞ ↔ ℓ1, ℓ1 ↔ ℓ∞, spectral ↔ nuclear.

    Args:
      g: a non-empty array (a matrix for ``"spectral"``), finite.
      norm: one of ``"l2", "linf", "l1", "spectral"``.

    Returns:
      A scalar array.

    Raises:
      TypeError: ``g`` is not real-numeric.
      ValueError: unknown ``norm``, an empty or non-finite ``g``, or a non-matrix for ``"spectral"``.
    """
    _check_norm(norm)
    g = _checks.as_float_array("g", g)
    if g.size == 0:
        raise ValueError("g must be a non-empty array")
    if norm == "l2":
        return jnp.linalg.norm(g)
    if norm == "linf":
        return jnp.sum(jnp.abs(g))
    if norm == "l1":
        return jnp.max(jnp.abs(g))
    _checks.require_ndim("g", g, 2)
    return jnp.sum(jnp.linalg.svd(g, compute_uv=False))


def steepest_descent(
    learning_rate: ScalarOrSchedule, norm: str = "l2", *, scale_by_dual: bool = False
) -> optax.GradientTransformationExtraArgs:
    """Steepest descent under a norm: ``x_{k+1} = x_k − η · s_k · lmo(g_k)``.

    With ``scale_by_dual=False`` (``s_k = 1``) each leaf moves a fixed distance ``η``
    in the norm (normalised GD, signSGD, orthogonalised updates); with
    ``scale_by_dual=True`` (``s_k = ‖g_k‖_*``) it is the minimiser of
    ``⟨g, Δ⟩ + ‖Δ‖²/(2η)``.  Applied leaf by leaf; ``"spectral"`` needs 2-D leaves.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      norm: one of ``"l2", "linf", "l1", "spectral"``.
      scale_by_dual: multiply by the dual norm (a bool).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a non-numeric ``learning_rate`` or a non-bool ``scale_by_dual``.
      ValueError: ``learning_rate ≤ 0`` or an unknown ``norm``.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_norm(norm)
    _check_flag("scale_by_dual", scale_by_dual)

    def init(params):
        if norm == "spectral":
            for leaf in jax.tree_util.tree_leaves(params):
                _checks.require_ndim("params (spectral steepest descent)", leaf, 2)
        return optax.ScaleByScheduleState(count=jnp.zeros([], jnp.int32))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)

        def leaf(g):
            d = lmo(g, norm)
            if scale_by_dual:
                d = d * dual_norm(g, norm)
            return (-eta * d).astype(g.dtype)

        return _tmap(leaf, updates), optax.ScaleByScheduleState(count=state.count + 1)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "steepest_descent",
        learning_rate,
        norm,
        scale_by_dual,
    )
