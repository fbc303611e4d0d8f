"""Validation helpers and constants shared by :mod:`optlab.online`'s modules."""

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
    require_finite,
    require_in_range,
    require_positive,
)

# Matrix products whose accuracy matters run at full float32 precision (NVIDIA GPUs run
# float32 matmuls in TF32 by default, a 10-bit mantissa).
HIGHEST = jax.lax.Precision.HIGHEST


LossFn = Callable[[jax.Array, jax.Array], jax.Array]
# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_scalar(name: str, value: Any) -> None:
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")


def _check_loss(loss: Any, thetas: jax.Array, x0: jax.Array) -> None:
    require_callable("loss", loss)
    try:
        out = jax.eval_shape(loss, x0, thetas[0])
    except (TypeError, ValueError, IndexError) as err:
        raise ValueError(
            f"loss cannot be evaluated at x0 of shape {tuple(jnp.shape(x0))} and "
            f"thetas[0] of shape {tuple(jnp.shape(thetas)[1:])}: {err}"
        ) from None
    if tuple(getattr(out, "shape", (None,))) != ():
        raise ValueError(f"loss must return a scalar, got output shape {getattr(out, 'shape', None)}")


def _check_sequence(thetas: Any, x0: Any, loss: Any = None) -> tuple[jax.Array, jax.Array]:
    thetas = as_float_array("thetas", thetas)
    x0 = as_float_array("x0", x0, ndim=1)
    if jnp.shape(x0)[0] < 1:
        raise ValueError("x0 must have at least one coordinate, got shape (0,)")
    if jnp.ndim(thetas) < 1 or jnp.shape(thetas)[0] < 1:
        raise ValueError(
            f"thetas must have a leading time axis of length T >= 1, got shape {tuple(jnp.shape(thetas))}"
        )
    if loss is not None:
        _check_loss(loss, thetas, x0)
    return thetas, x0


def _check_radius(radius: Any) -> None:
    if radius is not None:
        _check_scalar("radius", radius)
        require_positive("radius", radius)


def _project(x: jax.Array, radius: Any) -> jax.Array:
    """Projection on the box ``[−R, R]ᵈ`` (for any diagonal metric: it is separable)."""
    if radius is None:
        return x
    return jnp.clip(x, -radius, radius)


def _r(radius, dtype):
    """``None`` (no constraint) becomes ``+∞`` so one compiled function serves both."""
    return jnp.asarray(jnp.inf if radius is None else radius, dtype)


def _check_losses(name: str, losses: Any, *, unit: bool = False) -> jax.Array:
    losses = as_float_array(name, losses, ndim=2)
    if jnp.shape(losses)[0] < 1 or jnp.shape(losses)[1] < 1:
        raise ValueError(f"{name} must have shape (T, n) with T, n >= 1, got {tuple(jnp.shape(losses))}")
    require_finite(name, losses)
    if unit:
        require_in_range(name, losses, 0.0, 1.0)
    return losses
