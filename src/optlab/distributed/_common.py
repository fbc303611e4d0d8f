"""Constants and helpers shared by :mod:`optlab.distributed`'s modules."""

from __future__ import annotations

from jax import lax

from .._checks import (
    as_float_array,
)

AXIS = "workers"
_HI = lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


def _vector(v):
    """A compressor's input: one message, a 1-D float array (the library's conversion policy)."""
    return as_float_array("v", v, ndim=1, finite=False)
