"""Constants and validation helpers shared by :mod:`optlab.minimax`'s modules."""

from __future__ import annotations

import jax
import jax.scipy.linalg
import numpy as np

from .._checks import (
    is_concrete,
)

HIGHEST = jax.lax.Precision.HIGHEST


def _check_scalar(name, value):
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")
