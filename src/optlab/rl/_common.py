"""Helpers shared by the modules of :mod:`optlab.rl`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import as_float_array

_HI = jax.lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


def _kl_rows(p: jax.Array, q: jax.Array) -> jax.Array:
    """``KL(p_x ‖ q_x)`` for every row ``x`` of two policy tables, with ``0 log 0 = 0`` (``p`` may
    hold exact zeros; ``q`` is positive)."""
    return jnp.sum(jax.scipy.special.xlogy(p, p) - p * jnp.log(q), axis=1)


def _as_scalar(name: str, x: Any) -> jax.Array:
    """A finite real scalar (the library's conversion policy), refused clearly otherwise."""
    return as_float_array(name, x, ndim=0)
