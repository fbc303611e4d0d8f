"""Helpers shared by the modules of :mod:`optlab.landscape`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .._checks import as_float_array

_HI = jax.lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


def _mm(a, b):
    return jnp.matmul(a, b, precision=_HI)


def _scalar(name: str, x: Any) -> jax.Array:
    return as_float_array(name, x, ndim=0)
