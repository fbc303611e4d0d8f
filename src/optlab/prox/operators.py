r"""Proximal operators and the Moreau envelope (chapter 18).

Notation.  For a closed convex ``g`` and a scale ``γ > 0``,
``prox_{γg}(v) = argmin_x g(x) + ‖x − v‖²/(2γ)``; the Moreau envelope is
``e_γ g(v) = min_x g(x) + ‖x − v‖²/(2γ)``, differentiable with
``∇e_γ g(v) = (v − prox_{γg}(v))/γ``, a ``1/γ``-Lipschitz gradient.  Moreau's identity
``prox_{γg}(v) + γ prox_{g*/γ}(v/γ) = v`` gives the prox of the conjugate ``g*``.

Every prox here has the signature ``prox(v, scale)`` (``scale = γ``, or ``γλ`` for a
weighted norm), so any of them can be handed to :func:`optlab.prox.proximal_gradient`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import require_int, require_static_callable
from .._types import Array, ArrayLike, Float
from ._common import _array, _scalar

__all__ = [
    "prox_l1",
    "prox_l2",
    "prox_box",
    "prox_group_l2",
    "prox_nuclear",
    "prox_conjugate",
    "moreau_envelope",
    "moreau_gradient",
]


def prox_l1(
    v: Float[ArrayLike, "*shape"], scale: Float[ArrayLike, "*#shape"] | float = 1.0
) -> Float[Array, "*shape"]:
    """Soft thresholding, the prox of ``γ‖·‖₁``: ``sign(v) max(|v| − γ, 0)`` entrywise.

    Args:
      v: the point (any shape, finite; lists and integers converted).
      scale: ``γ ≥ 0`` (a scalar, or an array broadcasting against ``v`` for weighted ℓ1).

    Returns:
      ``prox_{γ‖·‖₁}(v)``, the shape and dtype of ``v``.

    Raises:
      TypeError: non-numeric ``v`` or ``scale``.
      ValueError: a NaN/inf in ``v``, a negative or non-finite ``scale``.
    """
    v = _array("v", v)
    scale = _nonneg_array("scale", scale)
    return _soft(v, scale)


@jax.jit
def _soft(v, scale):
    scale = jnp.asarray(scale, v.dtype)
    return jnp.sign(v) * jnp.maximum(jnp.abs(v) - scale, 0.0)


def _nonneg_array(name: str, value: Any) -> Any:
    if isinstance(value, jax.core.Tracer):
        return value
    arr = _array(name, value)
    host = np.asarray(jax.device_get(value), dtype=float)
    if not np.all(host >= 0):
        raise ValueError(f"{name} must be non-negative, got a minimum of {float(np.min(host))!r}")
    return arr


def prox_l2(v: Float[ArrayLike, "*shape"], scale: float = 1.0) -> Float[Array, "*shape"]:
    """Block soft thresholding, the prox of ``γ‖·‖₂`` (the norm, not squared):
    ``v · max(1 − γ/‖v‖₂, 0)``.

    Args:
      v: the point (any shape, treated as one vector; finite).
      scale: ``γ ≥ 0`` (a scalar).

    Returns:
      ``prox_{γ‖·‖₂}(v)``, the shape and dtype of ``v``.

    Raises:
      TypeError: non-numeric ``v`` or ``scale``.
      ValueError: a NaN/inf in ``v``, a negative or non-scalar ``scale``.
    """
    v = _array("v", v)
    scale = _scalar("scale", scale, positive=False)
    return _block_soft(v, scale)


@jax.jit
def _block_soft(v, scale):
    big = jnp.max(jnp.abs(v))  # ‖v‖ = m‖v/m‖: no overflow of v·v near 1e155, no underflow near 1e-155
    m = jnp.where(big > 0, big, 1.0)
    norm = m * jnp.sqrt(jnp.sum((v / m) ** 2))
    # the safeguard: at v = 0 the factor is 0, not 0/0
    factor = jnp.maximum(1.0 - scale / jnp.maximum(norm, jnp.finfo(v.dtype).tiny), 0.0)
    return (v * factor).astype(v.dtype)


def prox_box(
    v: Float[ArrayLike, "*shape"],
    scale: float = 1.0,
    *,
    lower: Float[ArrayLike, "*#shape"] | float,
    upper: Float[ArrayLike, "*#shape"] | float,
) -> Float[Array, "*shape"]:
    """The prox of the indicator of the box ``[lower, upper]``: the clip (any ``γ``).

    Args:
      v: the point (any shape, finite).
      scale: ``γ ≥ 0``; the indicator's prox does not depend on it (kept for the common
        ``prox(v, scale)`` signature).
      lower: lower bounds (broadcasting against ``v``; ``-inf`` allowed).
      upper: upper bounds, ``upper ≥ lower`` entrywise (``+inf`` allowed).

    Returns:
      ``clip(v, lower, upper)``, the shape and dtype of ``v``.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: a NaN/inf in ``v``, NaN bounds, ``lower > upper`` somewhere, bad ``scale``.
    """
    v = _array("v", v)
    _nonneg_array("scale", scale)
    lo = _bound("lower", lower)
    hi = _bound("upper", upper)
    concrete = not isinstance(lower, jax.core.Tracer) and not isinstance(upper, jax.core.Tracer)
    if concrete and np.any(
        np.asarray(jax.device_get(lower), float) > np.asarray(jax.device_get(upper), float)
    ):  # noqa: E501
        raise ValueError("lower must be at most upper entrywise (an empty box has no prox)")
    return _clip(v, lo, hi)


def _bound(name: str, value: Any) -> Any:
    if isinstance(value, jax.core.Tracer):
        return value
    from .._checks import as_float_array

    arr = as_float_array(name, value, finite=False)
    if np.any(np.isnan(np.asarray(jax.device_get(value), float))):
        raise ValueError(f"{name} contains NaN")
    return arr


@jax.jit
def _clip(v, lo, hi):
    return jnp.clip(v, jnp.asarray(lo, v.dtype), jnp.asarray(hi, v.dtype))


def prox_group_l2(
    v: Float[ArrayLike, " d"], scale: float = 1.0, *, groups: tuple[int, ...]
) -> Float[Array, " d"]:
    r"""The prox of the group-lasso penalty ``γ Σ_G ‖v_G‖₂`` over contiguous groups:
    block soft thresholding of each group.

    Args:
      v: the point, a vector (finite).
      scale: ``γ ≥ 0`` (a scalar).
      groups: the group sizes, positive integers summing to ``len(v)`` (contiguous groups).

    Returns:
      ``prox(v)``, the shape and dtype of ``v``.

    Raises:
      TypeError: non-numeric ``v``/``scale``, ``groups`` not a sequence of integers.
      ValueError: sizes that are not positive or do not sum to ``len(v)``, bad ``v``/``scale``.
    """
    v = _array("v", v, ndim=1)
    scale = _scalar("scale", scale, positive=False)
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__iter__"):
        raise TypeError(f"groups must be a sequence of group sizes, got {type(groups).__name__}")
    sizes = tuple(groups)
    for s in sizes:
        require_int("groups", s, minimum=1)
    if sum(sizes) != v.shape[0]:
        raise ValueError(f"groups must sum to len(v) = {v.shape[0]}, got {sum(sizes)}")
    return _group_soft(v, scale, tuple(int(s) for s in sizes))


@functools.partial(jax.jit, static_argnames="sizes")
def _group_soft(v, scale, sizes):
    ids = jnp.asarray(np.repeat(np.arange(len(sizes)), sizes))
    big = jax.ops.segment_max(jnp.abs(v), ids, num_segments=len(sizes))  # per-group scale, as in _block_soft
    m = jnp.where(big > 0, big, 1.0)
    norms = m * jnp.sqrt(jax.ops.segment_sum((v / m[ids]) ** 2, ids, num_segments=len(sizes)))
    factor = jnp.maximum(1.0 - scale / jnp.maximum(norms, jnp.finfo(v.dtype).tiny), 0.0)
    return (v * factor[ids]).astype(v.dtype)


def prox_nuclear(v: Float[ArrayLike, "m n"], scale: float = 1.0) -> Float[Array, "m n"]:
    """Singular value thresholding, the prox of ``γ‖·‖_*`` (the nuclear norm):
    ``U diag(max(σ − γ, 0)) Vᵀ``.

    Args:
      v: a matrix (finite).
      scale: ``γ ≥ 0`` (a scalar).

    Returns:
      ``prox_{γ‖·‖_*}(v)``, the shape and dtype of ``v``.

    Raises:
      TypeError: non-numeric ``v`` or ``scale``.
      ValueError: ``v`` not a matrix or with a NaN/inf, a negative ``scale``.
    """
    v = _array("v", v, ndim=2)
    scale = _scalar("scale", scale, positive=False)
    return _svt(v, scale)


@jax.jit
def _svt(v, scale):
    u, s, vt = jnp.linalg.svd(v, full_matrices=False)
    s = jnp.maximum(s - scale, 0.0)
    return jnp.matmul(u * s, vt, precision=jax.lax.Precision.HIGHEST).astype(v.dtype)


def prox_conjugate(
    prox: Callable, v: Float[ArrayLike, "*shape"], scale: float = 1.0
) -> Float[Array, "*shape"]:
    """The prox of the conjugate by Moreau's identity:
    ``prox_{γg*}(v) = v − γ prox_{g/γ}(v/γ)``.

    Args:
      prox: ``prox(v, scale)`` of ``g``.
      v: the point (finite).
      scale: ``γ > 0``.

    Returns:
      ``prox_{γg*}(v)``.

    Raises:
      TypeError: ``prox`` not callable, non-numeric ``v``/``scale``.
      ValueError: a NaN/inf in ``v``, ``scale ≤ 0``.
    """
    require_static_callable("prox", prox)
    v = _array("v", v)
    scale = _scalar("scale", scale, positive=True)
    return v - scale * prox(v / scale, 1.0 / scale)


def moreau_envelope(
    g: Callable, prox: Callable, v: Float[ArrayLike, "*shape"], scale: float = 1.0
) -> Float[Array, ""]:
    """The Moreau envelope ``e_γ g(v) = g(p) + ‖v − p‖²/(2γ)`` with ``p = prox_{γg}(v)``.

    Args:
      g: the function (a callable of an array returning a scalar).
      prox: ``prox(v, scale)`` of ``g``.
      v: the point (finite).
      scale: ``γ > 0``.

    Returns:
      ``e_γ g(v)``, a scalar; ``e_γ g ≤ g`` and both have the same minimisers.

    Raises:
      TypeError: ``g``/``prox`` not callable, non-numeric ``v``/``scale``.
      ValueError: a NaN/inf in ``v``, ``scale ≤ 0``.
    """
    require_static_callable("g", g)
    require_static_callable("prox", prox)
    v = _array("v", v)
    scale = _scalar("scale", scale, positive=True)
    p = prox(v, scale)
    return g(p) + jnp.sum((v - p) ** 2) / (2.0 * scale)


def moreau_gradient(
    prox: Callable, v: Float[ArrayLike, "*shape"], scale: float = 1.0
) -> Float[Array, "*shape"]:
    """The gradient of the Moreau envelope, ``∇e_γ g(v) = (v − prox_{γg}(v))/γ``.

    For a ``ρ``-weakly convex ``g`` and ``γ < 1/ρ`` its norm is the stationarity measure of
    Davis & Drusvyatskiy (2019): small ``‖∇e_γ g(v)‖`` means ``v`` is near a point
    ``p = prox_{γg}(v)`` that is nearly stationary for ``g``.

    Args:
      prox: ``prox(v, scale)`` of ``g``.
      v: the point (finite).
      scale: ``γ > 0``.

    Returns:
      ``∇e_γ g(v)``, the shape of ``v``.

    Raises:
      TypeError: ``prox`` not callable, non-numeric ``v``/``scale``.
      ValueError: a NaN/inf in ``v``, ``scale ≤ 0``.
    """
    require_static_callable("prox", prox)
    v = _array("v", v)
    scale = _scalar("scale", scale, positive=True)
    return (v - prox(v, scale)) / scale
