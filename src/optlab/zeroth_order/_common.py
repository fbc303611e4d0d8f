"""Validation helpers shared by :mod:`optlab.zeroth_order`'s modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_callable,
    require_int,
    require_positive,
)

# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_point(f: Callable, x: Any, name: str = "x") -> jax.Array:
    """``x`` as a float 1-D array (lists / ints converted), ``f`` callable with a scalar output."""
    require_callable("f", f)
    x = as_float_array(name, x, ndim=1)
    if jnp.shape(x)[0] < 1:
        raise ValueError(f"{name} must have at least one coordinate, got shape {tuple(jnp.shape(x))}")
    try:
        out = jax.eval_shape(f, x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"f cannot be evaluated at {name} of shape {tuple(x.shape)}: {err}") from None
    if tuple(getattr(out, "shape", (None,))) != ():
        raise ValueError(f"f must return a scalar, got output shape {getattr(out, 'shape', None)}")
    return x


def _check_directions(num_directions: int) -> None:
    require_int("num_directions", num_directions, minimum=1)


def _check_scalar(name: str, value: Any) -> None:
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")


def _check_smoothing(smoothing: Any) -> None:
    _check_scalar("smoothing", smoothing)
    require_positive("smoothing", smoothing)


def _dtype_scalar(value: Any, dtype) -> jax.Array:
    return jnp.asarray(value, dtype=dtype)
