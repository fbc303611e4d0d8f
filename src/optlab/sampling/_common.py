"""Private helpers shared by the modules of :mod:`optlab.sampling` (the checks shared with
other modules live in :mod:`optlab._checks`)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .._checks import as_float_array


def _positive_scalar(name: str, value: Any) -> jax.Array:
    """A finite, strictly positive scalar as a float array; tracers pass unchecked."""
    if isinstance(value, jax.core.Tracer):
        return value
    arr = as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {tuple(arr.shape)}")
    # the concrete value itself: converted inside a jit trace, ``arr`` may be a tracer
    if not float(np.asarray(jax.device_get(value), dtype=float)) > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return arr
