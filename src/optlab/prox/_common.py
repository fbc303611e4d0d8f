"""Private helpers shared by the modules of :mod:`optlab.prox` (validation; the checks shared
with other modules live in :mod:`optlab._checks`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_float_array
from .._checks import as_nonempty_float_array as _array  # finite, non-empty float array

_HIGHEST = jax.lax.Precision.HIGHEST  # float32 matmuls are TF32 on NVIDIA GPUs otherwise


def _scalar(name: str, value: Any, *, positive: bool) -> Any:
    """A finite scalar, strictly positive (``positive``) or non-negative; tracers pass."""
    if isinstance(value, jax.core.Tracer):
        return value
    arr = as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    v = float(np.asarray(jax.device_get(value), dtype=float))  # the concrete value (arr may be traced)
    if positive and not v > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    if not positive and v < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}")
    return arr


def _choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """One of ``options`` (a string)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def _design(A: Any, b: Any) -> tuple[jax.Array, jax.Array]:
    """A design matrix ``A`` (N × d) and targets ``b`` (N,) with matching rows."""
    A = _array("A", A, ndim=2)
    b = _array("b", b, ndim=1)
    if b.shape[0] != A.shape[0]:
        raise ValueError(f"b must have one entry per row of A ({A.shape[0]}), got shape {tuple(b.shape)}")
    if b.dtype != A.dtype:
        dtype = jnp.result_type(A.dtype, b.dtype)
        A, b = A.astype(dtype), b.astype(dtype)
    return A, b


def _start(name: str, x0: Any, d: int, dtype: Any) -> jax.Array:
    """A start of shape ``(d,)`` (zeros when ``x0`` is None), cast to ``dtype``."""
    if x0 is None:
        return jnp.zeros((d,), dtype)
    x0 = _array(name, x0, ndim=1)
    if x0.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d},), got {tuple(x0.shape)}")
    return x0.astype(dtype)
