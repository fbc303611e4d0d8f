"""Array types with shapes, shared by every module (jaxtyping, documentation only).

Public functions annotate their array arguments and results with the shape the docstring
states, in the chapter's notation: ``Float[Array, "N d"]`` for N examples with d features,
``Float[Array, " d"]`` for a vector, ``Float[Array, ""]`` for a scalar, ``Int[...]`` /
``Bool[...]`` for indices and masks, :data:`PRNGKeyArray` for a key. Inputs that are converted
by :func:`optlab._checks.as_float_array` (lists, NumPy arrays, integer arrays) are
``Float[ArrayLike, ...]``.

The shapes are documentation: no function is decorated with ``jaxtyping.jaxtyped``, so nothing
is checked at run time and nothing changes under ``jit``/``vmap``. Pytrees (optax parameters)
keep ``optax.Params`` / ``Any``. ``tests/test_types.py`` enforces the rule.
"""

from __future__ import annotations

import jax
from jax.typing import ArrayLike
from jaxtyping import Bool, Float, Int, Key, PRNGKeyArray, Real, Shaped

Array = jax.Array

__all__ = ["Array", "ArrayLike", "Bool", "Float", "Int", "Key", "PRNGKeyArray", "Real", "Shaped"]
