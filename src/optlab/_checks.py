"""Input validation shared by every optlab module.

Every public routine validates its arguments *before* any compute and raises
:class:`ValueError` (or :class:`TypeError`) with a message that names the
argument and says what was expected.  Checks that need concrete values (signs,
NaNs, sums) are skipped when the value is a JAX tracer, so validated functions
stay usable under ``jit``/``vmap``/``grad``: validate at the Python boundary,
trace the maths.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "is_concrete",
    "require_positive",
    "require_nonnegative",
    "require_in_range",
    "require_finite",
    "require_ndim",
    "require_shape",
    "require_same_shape",
    "require_probability_vector",
    "require_int",
]


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds concrete values (not a JAX tracer)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _as_numpy(x: Any) -> np.ndarray:
    return np.asarray(jax.device_get(x))


def require_positive(name: str, value: Any) -> None:
    """Raise if ``value`` (scalar or array) is not strictly positive and finite."""
    if not is_concrete(value):
        return
    arr = _as_numpy(value)
    if arr.size == 0:
        raise ValueError(f"{name} must be positive, got an empty array")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite and positive, got {value!r}")
    if not np.all(arr > 0):
        raise ValueError(f"{name} must be positive, got {value!r}")


def require_nonnegative(name: str, value: Any) -> None:
    """Raise if ``value`` has a negative or non-finite entry."""
    if not is_concrete(value):
        return
    arr = _as_numpy(value)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    if not np.all(arr >= 0):
        raise ValueError(f"{name} must be non-negative, got a minimum of {arr.min()!r}")


def require_in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raise unless ``low <= value <= high`` (bounds open or closed as asked)."""
    if not is_concrete(value):
        return
    arr = _as_numpy(value)
    ok_low = np.all(arr >= low) if low_inclusive else np.all(arr > low)
    ok_high = np.all(arr <= high) if high_inclusive else np.all(arr < high)
    if not (np.all(np.isfinite(arr)) and ok_low and ok_high):
        lb = "[" if low_inclusive else "("
        hb = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must lie in {lb}{low}, {high}{hb}, got {value!r}")


def require_finite(name: str, x: Any) -> None:
    """Raise if any leaf of ``x`` holds a NaN or an infinity."""
    if not is_concrete(x):
        return
    for leaf in jax.tree_util.tree_leaves(x):
        arr = _as_numpy(leaf)
        if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
            n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s)")


def require_ndim(name: str, x: Any, ndim: int | Sequence[int]) -> None:
    """Raise unless ``x`` has the given number of dimensions."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    actual = jnp.ndim(x)
    if actual not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise ValueError(
            f"{name} must be a {want}-D array, got shape {tuple(jnp.shape(x))}"
        )


def require_shape(name: str, x: Any, shape: Sequence[int | None]) -> None:
    """Raise unless ``x.shape`` matches ``shape`` (``None`` matches any size)."""
    actual = tuple(jnp.shape(x))
    if len(actual) != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, actual)
    ):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {actual}")


def require_same_shape(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise unless two pytrees have identical structure and leaf shapes."""
    sa = jax.tree_util.tree_map(jnp.shape, a)
    sb = jax.tree_util.tree_map(jnp.shape, b)
    if jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b) or sa != sb:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {sa} and {sb}")


def require_probability_vector(
    name: str, p: Any, *, total: float | None = 1.0, atol: float = 1e-6
) -> None:
    """Raise unless ``p`` is a 1-D non-negative vector summing to ``total``.

    ``total=None`` skips the sum check (only non-negativity and finiteness).
    """
    require_ndim(name, p, 1)
    if not is_concrete(p):
        return
    arr = _as_numpy(p)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got a minimum entry of {arr.min()!r}")
    if total is not None and abs(float(arr.sum()) - total) > atol * max(1.0, abs(total)):
        raise ValueError(f"{name} must sum to {total}, got {float(arr.sum())!r}")


def require_int(name: str, value: Any, *, minimum: int | None = None) -> None:
    """Raise unless ``value`` is a Python/NumPy integer, at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
