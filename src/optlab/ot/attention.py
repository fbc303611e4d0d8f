r"""Doubly stochastic attention by Sinkhorn iterations (chapter 6; Sander, Ablin, Blondel,
Peyré 2022, "Sinkformers").
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
    require_int,
    require_positive,
)
from .._types import Array, Float
from .geometry import _require_nonempty

__all__ = [
    "sinkhorn_attention",
]


def sinkhorn_attention(
    q: Float[Array, "n_q d"],
    k: Float[Array, "n_k d"],
    v: Float[Array, "n_k d_v"],
    *,
    num_steps: int = 3,
    temperature: float | None = None,
) -> Float[Array, "n_q d_v"]:
    r"""Doubly stochastic (Sinkformer) attention ``A V``.

    ``A = Sinkhorn(exp(Q Kᵀ / τ))`` with ``num_steps`` alternating normalisations
    in the log domain, starting (and, for odd counts, ending) with the row
    normalisation: ``num_steps=1`` is softmax attention; as ``num_steps → ∞``
    rows sum to 1 and columns to ``n_q / n_k``.  ``τ`` defaults to ``√d``.
    Works on ``(n, d)`` inputs; ``vmap`` over heads/batches.

    Args:
      q, k, v: ``(n_q, d)``, ``(n_k, d)``, ``(n_k, d_v)`` finite arrays.
      num_steps: normalisations (integer ≥ 1).
      temperature: ``τ > 0`` (default ``√d``).

    Returns:
      ``(n_q, d_v)`` array.

    Raises:
      TypeError, ValueError: invalid arguments (named in the message).
    """
    q = as_float_array("q", q, ndim=2)
    k = as_float_array("k", k, ndim=2)
    v = as_float_array("v", v, ndim=2)
    for name, z in (("q", q), ("k", k), ("v", v)):
        _require_nonempty(name, z)
    if q.shape[1] != k.shape[1]:
        raise ValueError(f"q and k must have the same feature size, got {q.shape} and {k.shape}")
    if k.shape[0] != v.shape[0]:
        raise ValueError(f"k and v must have the same length, got {k.shape} and {v.shape}")
    require_int("num_steps", num_steps, minimum=1)
    if isinstance(temperature, str):
        raise TypeError(f"temperature must be a positive number, got {type(temperature).__name__}")
    tau = math.sqrt(q.shape[1]) if temperature is None else temperature
    require_positive("temperature", tau)
    if jnp.ndim(tau) != 0:
        raise ValueError(f"temperature must be a scalar, got shape {jnp.shape(tau)}")
    return _attention_jit(q, k, v, tau, num_steps=int(num_steps))


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _attention_jit(q, k, v, tau, *, num_steps):
    hi = jax.lax.Precision.HIGHEST  # no TF32 on GPUs: the test checks 1e-6 agreement
    dt = jnp.result_type(q, k, v)
    logits = jnp.dot(q, k.T, precision=hi) / jnp.asarray(tau, dt)
    col_mass = jnp.log(jnp.asarray(q.shape[0] / k.shape[0], dt))

    def step(i, L):
        row = L - jax.nn.logsumexp(L, axis=1, keepdims=True)
        col = L - jax.nn.logsumexp(L, axis=0, keepdims=True) + col_mass
        return jnp.where(i % 2 == 0, row, col)

    L = jax.lax.fori_loop(0, num_steps, step, logits)
    return jnp.dot(jnp.exp(L), v, precision=hi)
