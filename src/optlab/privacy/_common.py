"""Validation helpers shared by :mod:`optlab.privacy`'s modules (host-side accountant
arguments, JAX-side gradients and clip norms)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    require_in_range,
    require_nonnegative,
    require_positive,
)
from .._types import Array

DEFAULT_ORDERS: tuple[int, ...] = tuple(range(2, 65)) + (80, 96, 112, 128, 160, 192, 224, 256)
# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
#
# Two kinds of arguments.  JAX-side ones (gradients, parameters, clip norms inside a
# training step) follow the library's policy: ``as_float_array`` converts lists and
# integer arrays, refuses strings/None/complex, and value checks are skipped on tracers.
# Host-side ones (the accountant: σ, q, δ, orders, ε) are plain float64 NumPy numbers:
# they must be concrete, and are converted with ``_host_scalar`` / ``_host_numpy``
# (private helpers: ``as_float_array`` would round them to float32 outside x64).


def _host_numpy(name: str, x: Any) -> np.ndarray:
    """``x`` as a real NumPy array (any dtype), or a TypeError naming ``name``."""
    if isinstance(x, jax.core.Tracer):
        raise TypeError(
            f"{name} must be a concrete number, not a traced value: the privacy accountant "
            "runs in float64 on the host, outside jit/vmap/grad"
        )
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be numeric, got {type(x).__name__}")
    try:
        arr = np.asarray(jax.device_get(x))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be real-numeric, got dtype {arr.dtype}")
    return arr


def _host_scalar(name: str, x: Any) -> float:
    """A concrete real scalar as a Python float (range checks follow)."""
    arr = _host_numpy(name, x)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def _host_positive(name: str, x: Any) -> float:
    v = _host_scalar(name, x)
    require_positive(name, v)
    return v


def _check_noise(noise_multiplier: Any) -> float:
    return _host_positive("noise_multiplier", noise_multiplier)


def _check_q(sampling_rate: Any) -> float:
    q = _host_scalar("sampling_rate", sampling_rate)
    require_in_range("sampling_rate", q, 0.0, 1.0, low_inclusive=False)
    return q


def _check_delta(delta: Any) -> float:
    d = _host_scalar("delta", delta)
    require_in_range("delta", d, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    return d


def _check_orders(orders: Any) -> np.ndarray:
    try:
        arr = _host_numpy("orders", orders)
    except TypeError as err:
        raise TypeError(f"orders must be a non-empty 1-D sequence of integers >= 2: {err}") from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"orders must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)) or np.any(arr < 2):
        raise ValueError(f"orders must be integers >= 2, got {arr.tolist()!r}")
    return arr.astype(np.int64)


def _jax_scalar(name: str, x: Any, *, positive: bool = True) -> Array:
    """A (possibly traced) real scalar, positive or non-negative when concrete."""
    v = as_float_array(name, x, ndim=0)
    (require_positive if positive else require_nonnegative)(name, v)
    return v


def _check_clip(clip_norm: Any) -> Array:
    return _jax_scalar("clip_norm", clip_norm)


def _float_tree(name: str, tree: Any) -> Any:
    """A non-empty pytree of finite float arrays (lists/ints converted, leaf named on error)."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    if not leaves:
        raise ValueError(f"{name} must be a non-empty pytree of arrays, got {tree!r}")
    out = [as_float_array(f"{name}{jax.tree_util.keystr(path)}", leaf) for path, leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, out)


def _check_batch(name: str, tree: Any) -> int:
    """A pytree of numeric arrays sharing a leading batch axis of size ≥ 1 (leaves keep
    their dtype: integer labels may be indices); NaN/inf refused when concrete."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        where = f"{name}{jax.tree_util.keystr(path)}"
        if isinstance(leaf, jax.core.Tracer):
            continue
        if leaf is None or isinstance(leaf, (str, bytes)):
            raise TypeError(f"{where} must be a numeric array, got {type(leaf).__name__}")
        arr = np.asarray(jax.device_get(leaf))
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"{where} must be numeric, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
            raise ValueError(f"{where} contains NaN or infinite values")
    return _batch_size(tree, name)


def _batch_size(grads: Any, name: str = "grads") -> int:
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        raise ValueError(f"{name} must be a non-empty pytree of arrays, got {grads!r}")
    shapes = [jnp.shape(leaf) for leaf in leaves]
    if any(len(s) == 0 for s in shapes):
        raise ValueError(f"every leaf of {name} needs a leading batch axis, got a scalar leaf")
    sizes = {s[0] for s in shapes}
    if len(sizes) != 1:
        raise ValueError(f"every leaf of {name} must have the same batch size (axis 0), got {sorted(sizes)}")
    size = sizes.pop()
    if size == 0:
        raise ValueError(f"{name} must hold at least one example, got a batch axis of size 0")
    return size


def _check_per_example(name: str, grads: Any) -> Any:
    grads = _float_tree(name, grads)
    _batch_size(grads, name)
    return grads
