"""Validation helpers shared by the modules of :mod:`optlab.second_order`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax

from .. import _checks
from .._types import Array

# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


HIGHEST = jax.lax.Precision.HIGHEST


def _highest_precision(fn):
    """Run ``fn`` (and trace its matrix products) at ``Precision.HIGHEST``.

    NVIDIA GPUs run float32 matmuls in TF32 (10-bit mantissa) by default, which
    changes the result of linear solves and matrix iterations; this keeps float32
    results the same on CPU and GPU."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with jax.default_matmul_precision("highest"):
            return fn(*args, **kwargs)

    return wrapper


def _check_vector(name: str, x: Array) -> Array:
    """``x`` as a non-empty, finite 1-D float array (lists and integers converted)."""
    x = _checks.as_float_array(name, x, ndim=1)
    if x.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {x.shape}")
    return x


def _check_matrix(name: str, x: Array, *, square: bool = False) -> Array:
    """``x`` as a non-empty, finite 2-D float array (lists and integers converted)."""
    x = _checks.as_float_array(name, x, ndim=2)
    if 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty 2-D array, got shape {x.shape}")
    if square and x.shape[0] != x.shape[1]:
        raise ValueError(f"{name} must be square, got shape {x.shape}")
    return x


def _scalar(name: str, value: Any) -> None:
    """``value`` must be one real number (not a string, None, or an array of several)."""
    _checks.as_float_array(name, value, ndim=0, finite=False)


def _positive(name: str, value: Any) -> None:
    _scalar(name, value)
    _checks.require_positive(name, value)


def _nonnegative(name: str, value: Any) -> None:
    _scalar(name, value)
    _checks.require_nonnegative(name, value)


def _in_range(name: str, value: Any, low: float, high: float, **kw) -> None:
    _scalar(name, value)
    _checks.require_in_range(name, value, low, high, **kw)


def _check_hessian_fn(hessian_fn: Callable | None, x: Array) -> None:
    if hessian_fn is None:
        return
    _checks.require_callable("hessian_fn", hessian_fn)
    try:
        out = jax.eval_shape(hessian_fn, x)
    except Exception as err:  # noqa: BLE001
        raise TypeError(f"hessian_fn failed on x0: {type(err).__name__}: {err}") from err
    d = x.shape[0]
    if getattr(out, "shape", None) != (d, d):
        raise ValueError(f"hessian_fn must return a ({d}, {d}) matrix, got {getattr(out, 'shape', out)}")


def _check_coeffs(name: str, coeffs: Any) -> None:
    c = _checks.as_float_array(name, coeffs, ndim=1)
    if c.shape[0] != 3:
        raise ValueError(f"{name} must be three numbers (a, b, c), got {c.shape[0]}")


def _check_transformation(name: str, opt: Any) -> None:
    if not (callable(getattr(opt, "init", None)) and callable(getattr(opt, "update", None))):
        raise TypeError(
            f"{name} must be an optax.GradientTransformation (with init and update), got {type(opt).__name__}"
        )


def _check_learning_rate(learning_rate: Any) -> None:
    if not callable(learning_rate):  # a schedule is passed through to optax
        _positive("learning_rate", learning_rate)
