"""Input validation shared by every optlab module.

Every public routine validates its arguments *before* any compute and raises
:class:`ValueError` (or :class:`TypeError`) with a message that names the
argument and says what was expected.  Checks that need concrete values (signs,
NaNs, sums) are skipped when the value is a JAX tracer, so validated functions
stay usable under ``jit``/``vmap``/``grad``: validate at the Python boundary,
trace the maths.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
    "require_callable",
    "require_key",
    "as_float_array",
    "as_float_tree",
    "require_scalar_function",
    "require_positive_scalar",
    "require_nonnegative_scalar",
]


def is_concrete(x: Any) -> bool:
    """True when ``x`` holds concrete values (not a JAX tracer)."""
    leaves = jax.tree_util.tree_leaves(x)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _as_numpy(x: Any, name: str | None = None) -> np.ndarray:
    """``x`` as a NumPy array; a non-numeric ``x`` is a :class:`TypeError` naming ``name``."""
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name or 'argument'} must be numeric, got {type(x).__name__}")
    try:
        arr = np.asarray(jax.device_get(x))
    except (TypeError, ValueError) as err:  # ragged lists, odd objects
        raise TypeError(f"{name or 'argument'} must be a numeric array, got {type(x).__name__}") from err
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name or 'argument'} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name or 'argument'} must be real, got dtype {arr.dtype}")
    return arr


def _float_dtype() -> Any:
    return jnp.float64 if jax.config.jax_enable_x64 else jnp.float32  # type: ignore[attr-defined]  # flags are set at run time


def as_float_array(
    name: str, x: Any, *, ndim: int | Sequence[int] | None = None, finite: bool = True
) -> jax.Array:
    """The library's one policy for array arguments: **convert** numbers, lists, tuples,
    NumPy arrays and integer arrays to a floating JAX array, refuse everything else.

    Integer and boolean inputs become the default float dtype (float32, or float64
    under ``jax_enable_x64``); floating inputs keep their dtype.  Strings, ``None``,
    dicts, complex numbers and ragged lists raise :class:`TypeError` naming ``name``;
    a wrong number of dimensions or (with ``finite=True``) a NaN/inf raises
    :class:`ValueError`.  Traced values are converted but not inspected, so the
    function stays usable under ``jit``/``vmap``/``grad``.

    Args:
      name: the argument's name, used in error messages.
      x: the value to convert.
      ndim: allowed number(s) of dimensions, or ``None`` for any.
      finite: refuse NaN and infinities (concrete values only).

    Returns:
      ``x`` as a floating ``jax.Array``.

    Raises:
      TypeError: ``x`` is not real-numeric.
      ValueError: ``x`` has the wrong number of dimensions or a non-finite entry.
    """
    if isinstance(x, jax.core.Tracer):
        arr = x if jnp.issubdtype(x.dtype, jnp.floating) else x.astype(_float_dtype())
    else:
        host = _as_numpy(x, name)
        # Check the concrete value itself: inside a trace, jnp.asarray(host) is a tracer.
        if ndim is not None:
            require_ndim(name, host, ndim)
        if finite:
            require_finite(name, host)
        if np.issubdtype(host.dtype, np.floating) and isinstance(x, jax.Array):
            arr = x
        elif np.issubdtype(host.dtype, np.floating):
            arr = jnp.asarray(host)
        else:
            arr = jnp.asarray(host, dtype=_float_dtype())
    if ndim is not None:
        require_ndim(name, arr, ndim)
    if finite:
        require_finite(name, arr)
    return arr


def as_nonempty_float_array(name: str, x: Any, ndim: int | Sequence[int] | None = None) -> jax.Array:
    """:func:`as_float_array`, finite and non-empty; a concrete ``x`` converted inside a ``jit``
    trace (where the converted array is a tracer) is checked for NaN/inf on its own value.

    Args:
      name: the argument's name, used in error messages.
      x: the value to convert.
      ndim: allowed number(s) of dimensions, or ``None`` for any.

    Returns:
      ``x`` as a floating ``jax.Array``.

    Raises:
      TypeError: ``x`` is not real-numeric.
      ValueError: wrong number of dimensions, a non-finite entry, or no entries.
    """
    concrete = is_concrete(x)
    arr = as_float_array(name, x, ndim=ndim)
    if concrete and not is_concrete(arr):  # converted inside a jit trace: check the value here
        require_finite(name, x)
    if jnp.size(arr) == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(jnp.shape(arr))}")
    return arr


def require_callable(name: str, f: Any) -> None:
    """Raise :class:`TypeError` unless ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{name} must be callable, got {type(f).__name__}")


def require_static_callable(name: str, f: Any) -> None:
    """``f`` must be callable and hashable: it is a static argument of a jitted function."""
    require_callable(name, f)
    try:
        hash(f)
    except TypeError as err:
        raise TypeError(
            f"{name} must be hashable (it is a static argument of a jitted function); "
            f"got an unhashable {type(f).__name__}: wrap it in a plain function"
        ) from err


def require_key(name: str, key: Any) -> None:
    """Raise :class:`TypeError` unless ``key`` is a JAX PRNG key.

    Accepts new-style typed keys (``jax.random.key(seed)``) and legacy raw keys
    (``jax.random.PRNGKey(seed)``: ``uint32`` arrays whose last axis has length 2).
    A plain integer seed is refused with a hint, rather than failing deep inside JAX.
    """
    if isinstance(key, (bool, int, np.integer)):
        raise TypeError(
            f"{name} must be a JAX PRNG key such as jax.random.key({int(key)}), got the integer {key}"
        )
    dtype = getattr(key, "dtype", None)
    if dtype is None:
        raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed)), got {type(key).__name__}")
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return
    if dtype == jnp.uint32 and jnp.ndim(key) >= 1 and jnp.shape(key)[-1] == 2:
        return
    raise TypeError(
        f"{name} must be a JAX PRNG key (jax.random.key(seed)), got an array of dtype {dtype} "
        f"and shape {tuple(jnp.shape(key))}"
    )


def require_positive(name: str, value: Any) -> None:
    """Raise if ``value`` (scalar or array) is not strictly positive and finite."""
    if not is_concrete(value):
        return
    arr = _as_numpy(value, name)
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
    arr = _as_numpy(value, name)
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
    arr = _as_numpy(value, name)
    if arr.size == 0:
        raise ValueError(f"{name} must lie in a range, got an empty array")
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
        arr = _as_numpy(leaf, name)
        if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
            n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s)")


def require_ndim(name: str, x: Any, ndim: int | Sequence[int]) -> None:
    """Raise unless ``x`` has the given number of dimensions."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    actual = jnp.ndim(x)
    if actual not in allowed:
        want = " or ".join(str(a) for a in allowed)
        raise ValueError(f"{name} must be a {want}-D array, got shape {tuple(jnp.shape(x))}")


def require_shape(name: str, x: Any, shape: Sequence[int | None]) -> None:
    """Raise unless ``x.shape`` matches ``shape`` (``None`` matches any size)."""
    actual = tuple(jnp.shape(x))
    if len(actual) != len(shape) or any(s is not None and s != a for s, a in zip(shape, actual, strict=True)):
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {actual}")


def require_same_shape(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Raise unless two pytrees have identical structure and leaf shapes."""
    sa = jax.tree_util.tree_map(jnp.shape, a)
    sb = jax.tree_util.tree_map(jnp.shape, b)
    if jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b) or sa != sb:  # type: ignore[operator]  # PyTreeDef defines __ne__; its stub does not say so
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {sa} and {sb}")


def require_probability_vector(name: str, p: Any, *, total: float | None = 1.0, atol: float = 1e-6) -> None:
    """Raise unless ``p`` is a 1-D non-negative vector summing to ``total``.

    ``total=None`` skips the sum check (only non-negativity and finiteness).
    """
    require_ndim(name, p, 1)
    if not is_concrete(p):
        return
    arr = _as_numpy(p, name)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got a minimum entry of {arr.min()!r}")
    if total is not None and abs(float(arr.sum()) - total) > atol * max(1.0, abs(total)):
        raise ValueError(f"{name} must sum to {total}, got {float(arr.sum())!r}")


def require_int(name: str, value: Any, *, minimum: int | None = None) -> None:
    """Raise unless ``value`` is a Python/NumPy integer, at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")


def require_positive_scalar(name: str, value: Any) -> None:
    """A finite, strictly positive scalar (checked when concrete)."""
    if isinstance(value, jax.core.Tracer):
        return
    arr = as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a positive scalar, got shape {tuple(arr.shape)}")
    require_positive(name, value)


def require_nonnegative_scalar(name: str, value: Any) -> None:
    """A finite, non-negative scalar (checked when concrete)."""
    if isinstance(value, jax.core.Tracer):
        return
    arr = as_float_array(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a non-negative scalar, got shape {tuple(arr.shape)}")
    require_nonnegative(name, value)


def as_float_tree(name: str, tree: Any) -> Any:
    """Every leaf of ``tree`` as a finite float array; refuse an empty pytree.

    A (nested) list or tuple of plain numbers is one array, not a pytree of scalars."""
    if (
        isinstance(tree, (list, tuple))
        and tree
        and all(
            isinstance(leaf, (bool, int, float, np.number))
            or (isinstance(leaf, np.ndarray) and leaf.ndim == 0)
            for leaf in jax.tree_util.tree_leaves(tree)
        )
    ):
        return as_float_array(name, tree)
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    if not leaves:
        raise ValueError(f"{name} must hold at least one array, got {tree!r}")
    return jax.tree_util.tree_unflatten(treedef, [as_float_array(name, leaf) for leaf in leaves])


def require_loss_params(loss_fn: Any, params: Any) -> list:
    """A callable loss and the parameter pytree it is evaluated at: a non-empty pytree of finite
    floating arrays (one policy for the Hessian tools of ``landscape`` and ``dynamics``).

    Returns:
      The leaves of ``params``.
    """
    require_callable("loss_fn", loss_fn)
    if params is None or isinstance(params, (str, bytes)):
        raise TypeError(f"params must be a pytree of float arrays, got {type(params).__name__}")
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params must hold at least one parameter")
    for leaf in leaves:
        as_float_array("params", leaf, finite=False)
        if not jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            raise TypeError(f"params must hold floating arrays, got dtype {jnp.result_type(leaf)}")
    require_finite("params", params)
    return leaves


def require_scalar_function(name: str, fun: Any, x: Any = None) -> None:
    """``fun`` callable and, given ``x``, returning a real scalar at ``x`` (checked by shape only)."""
    require_callable(name, fun)
    if x is None:
        return
    try:
        out = jax.eval_shape(fun, x)
    except Exception as err:  # noqa: BLE001 - re-raised naming the argument
        raise TypeError(
            f"{name} must accept the point given; calling it failed with {type(err).__name__}: {err}"
        ) from err
    if not (hasattr(out, "shape") and out.shape == () and jnp.issubdtype(out.dtype, jnp.floating)):
        raise ValueError(
            f"{name} must return a real scalar, got "
            f"{getattr(out, 'shape', type(out).__name__)} {getattr(out, 'dtype', '')}"
        )


def require_update_params(transform: str, params: Any, *, with_fun: bool = False) -> None:
    """An optax ``update`` that reads the parameters was called without them (a ValueError naming
    the transformation and showing the call; ``with_fun`` when the call also needs ``fun=``)."""
    if params is None:
        call = "update(grads, state, params, fun=loss)" if with_fun else "update(g, state, params)"
        raise ValueError(f"{transform} needs params: call {call}")


def require_update_value(transform: str, value: Any) -> None:
    """An optax ``update`` that reads ``f(x)`` was called without ``value=``."""
    if value is None:
        raise ValueError(f"{transform} needs the objective value: call update(..., value=f(x))")


def require_update_fun(transform: str, fun: Any) -> None:
    """An optax ``update`` that re-evaluates the objective was called without a callable ``fun=``."""
    if not callable(fun):
        raise TypeError(
            f"{transform} needs the objective: call update(grads, state, params, fun=loss), got fun={fun!r}"
        )
