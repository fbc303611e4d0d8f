"""Helpers shared by the modules of :mod:`optlab.rl`."""

from __future__ import annotations

from typing import Any

import jax

from .._checks import as_float_array

_HI = jax.lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


def _as_scalar(name: str, x: Any) -> jax.Array:
    """A finite real scalar (the library's conversion policy), refused clearly otherwise."""
    return as_float_array(name, x, ndim=0)
