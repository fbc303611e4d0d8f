"""Validation helpers shared by :mod:`optlab.bilevel`'s modules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_nonempty_float_array as _array  # finite, non-empty float array
from .._checks import (
    is_concrete,
    require_callable,
    require_int,
)

Loss = Callable[[jax.Array, jax.Array], jax.Array]
# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------

_HIGHEST = jax.lax.Precision.HIGHEST  # float32 matmuls are TF32 on NVIDIA GPUs otherwise


def _vec(name: str, x: Any) -> jax.Array:
    return _array(name, x, ndim=1)


def _theta(theta: Any, name: str = "theta") -> jax.Array:
    return _array(name, theta, ndim=(0, 1))


def _loss(name: str, fn: Any) -> None:
    """A loss ``(w, θ) ↦ scalar``: callable and hashable (a static argument of the jitted kernels)."""
    require_callable(name, fn)
    try:
        hash(fn)
    except TypeError:
        raise TypeError(
            f"{name} must be hashable (it is a static argument of a jitted solver); "
            f"got an unhashable {type(fn).__name__}: wrap it in a plain function"
        ) from None


def _choice(name: str, value: Any, allowed: tuple) -> str:
    listed = ", ".join(repr(a) for a in allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed} (a string), got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}")
    return value


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")


_NO_OUTER = object()


def _check_losses(inner, outer, w, theta, w_name="w"):
    """Both losses callable and scalar-valued at ``(w, θ)`` (shapes only: no compute)."""
    _loss("inner", inner)
    pairs = (("inner", inner),)
    if outer is not _NO_OUTER:
        _loss("outer", outer)
        pairs += (("outer", outer),)
    for name, fn in pairs:
        try:
            out = jax.eval_shape(fn, w, theta)
        except (TypeError, ValueError, IndexError) as err:
            raise ValueError(
                f"{name}({w_name}, theta) failed for {w_name} of shape "
                f"{tuple(jnp.shape(w))} and theta of shape {tuple(jnp.shape(theta))}: "
                f"{err}"
            ) from None
        if getattr(out, "shape", None) != ():
            raise ValueError(f"{name} must return a scalar, got shape {getattr(out, 'shape', None)}")


def _pos_int(name: str, value: Any) -> None:
    if is_concrete(value) and not isinstance(value, (int, np.integer)) and jnp.ndim(value) == 0:
        arr = np.asarray(value)
        if np.issubdtype(arr.dtype, np.integer):
            value = int(arr)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        require_int(name, value, minimum=1)
    elif is_concrete(value):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
