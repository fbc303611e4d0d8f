"""Private helpers shared by the modules of :mod:`optlab.constrained` (validation and small
numerical helpers; the checks shared with other modules live in :mod:`optlab._checks`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    require_nonnegative,
    require_static_callable,
)
from .._checks import as_nonempty_float_array as _array  # finite, non-empty float array
from .._checks import require_nonnegative_scalar as _nonneg_scalar  # noqa: F401 (used by the modules)
from .._checks import require_positive_scalar as _pos_scalar  # noqa: F401 (used by the modules)

_HIGHEST = jax.lax.Precision.HIGHEST  # float32 matmuls are TF32 on NVIDIA GPUs otherwise


def _radius(name: str, r: Any) -> Any:
    """A finite, strictly positive scalar radius (returned unchanged; tracers pass)."""
    if isinstance(r, jax.core.Tracer):
        return r
    arr = as_float_array(name, r, finite=False)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    v = float(np.asarray(jax.device_get(r), dtype=float))
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {r!r}")
    if v < 0:
        raise ValueError(f"{name} must be non-negative for a (non-empty, convex) ball, got {r!r}")
    if v == 0:
        raise ValueError(f"{name} must be positive (a ball of radius 0 is a single point), got {r!r}")
    return r if isinstance(r, (int, float, np.floating, np.integer)) else arr


def _tol(name: str, tol: Any) -> Any:
    """A non-negative scalar tolerance."""
    if isinstance(tol, jax.core.Tracer):
        return tol
    arr = as_float_array(name, tol)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    require_nonnegative(name, tol)
    return tol


def _choice(name: str, value: Any, allowed: tuple) -> str:
    """A string option among ``allowed`` (TypeError for a non-string, ValueError otherwise)."""
    listed = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed} (a string), got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def _tiny(dtype):
    return jnp.finfo(dtype).tiny


def _vdot(a, b):
    return jnp.sum(a * b)


def _check_eq_problem(f, c, x0, name="x0", cname="c"):
    """Callables ``f`` (scalar-valued) and ``c`` (vector-valued) and a 1-D start."""
    require_static_callable("f", f)
    require_static_callable(cname, c)
    x0 = _array(name, x0, ndim=1)
    cx = jax.eval_shape(lambda x: jnp.atleast_1d(c(x)), x0)
    if cx.ndim != 1:
        raise ValueError(f"{cname} must return a scalar or a 1-D vector, got shape {tuple(cx.shape)}")
    fx = jax.eval_shape(f, x0)
    if fx.shape != ():
        raise ValueError(f"f must return a scalar, got shape {tuple(fx.shape)}")
    return x0, cx.shape[0]
