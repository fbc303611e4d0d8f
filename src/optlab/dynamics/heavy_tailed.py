r"""Symmetric ``a``-stable random variables, the noise of heavy-tailed SGD.

Notation (chapter 20).  The tail index ``a ∈ (0, 2]`` (written ``α`` in the papers; in chapter 20
``α`` is the step of SGD).  A symmetric ``a``-stable ``S`` has the characteristic function
``E e^{itS} = exp(−|t|^a)``: ``a = 2`` is the Gaussian ``N(0, 2)``, ``a = 1`` the standard Cauchy
law, and for ``a < 2`` the tails decay like ``|s|^{−1−a}``, so ``E|S|^p < ∞`` only for ``p < a``.
Heavy-tailed SGD adds ``σ α^{1/a} S_t`` to every step (Raj, Zhu, Gürbüzbalaban & Şimşekli 2023,
"Algorithmic stability of heavy-tailed SGD with general loss functions"); the draws use the method
of Chambers, Mallows & Stuck (1976), "A method for simulating stable random variables".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp

from .. import _checks
from .._types import Array, ArrayLike, Float, PRNGKeyArray

__all__ = ["symmetric_stable"]


def _cms(key, tail_index, shape, dtype):
    """Chambers–Mallows–Stuck for ``β = 0``: ``V ~ U(−π/2, π/2)``, ``W ~ Exp(1)`` independent and
    ``S = sin(aV)/cos(V)^{1/a} · (cos((1−a)V)/W)^{(1−a)/a}``."""
    # region: cms
    kv, kw = jax.random.split(key)
    tiny = jnp.finfo(dtype).tiny
    half_pi = jnp.nextafter(jnp.asarray(jnp.pi / 2, dtype), jnp.asarray(0, dtype))  # float32(π/2) > π/2
    v = jnp.clip(jnp.pi * (jax.random.uniform(kv, shape, dtype) - 0.5), -half_pi, half_pi)
    w = jnp.maximum(jax.random.exponential(kw, shape, dtype), tiny)
    a = jnp.asarray(tail_index, dtype)
    head = jnp.sin(a * v) / jnp.cos(v) ** (1.0 / a)
    tail = (jnp.cos((1.0 - a) * v) / w) ** ((1.0 - a) / a)
    return head * tail
    # endregion: cms


@functools.partial(jax.jit, static_argnames=("shape",))
def _stable(key, tail_index, shape):
    return _cms(key, tail_index, shape, tail_index.dtype)


def symmetric_stable(
    tail_index: float | Float[ArrayLike, ""], shape: Sequence[int] = (), *, key: PRNGKeyArray
) -> Float[Array, "*shape"]:
    """Independent draws of the symmetric ``a``-stable law with ``E cos(tS) = exp(−|t|^a)``.

    The scale convention is SciPy's ``levy_stable(a, 0)`` (parameterisation S1, scale 1): ``a = 2``
    gives ``N(0, 2)``, ``a = 1`` the standard Cauchy law.  Chambers, Mallows & Stuck (1976).

    Args:
      tail_index: ``a ∈ (0, 2]`` (may be traced: one compilation serves every ``a``).
      shape: the shape of the output (static).
      key: a PRNG key.

    Returns:
      An array of the given shape, in the default float dtype.

    Raises:
      TypeError: a bad ``key``, a non-numeric ``tail_index``, a non-integer entry of ``shape``.
      ValueError: ``tail_index`` outside ``(0, 2]`` or not finite, a negative entry of ``shape``.
    """
    _checks.require_key("key", key)
    if isinstance(tail_index, bool):
        raise TypeError("tail_index must be a number, got bool")
    a = _checks.as_float_array("tail_index", tail_index, ndim=0)
    _checks.require_in_range("tail_index", a, 0.0, 2.0, low_inclusive=False)
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError as err:
        raise TypeError(f"shape must be a sequence of integers, got {type(shape).__name__}") from err
    for n in shape:
        _checks.require_int("shape", n, minimum=0)
    return _stable(key, a, tuple(int(n) for n in shape))
