"""Gradient compressors: TopK, RandK, identity and low-rank (PowerSGD) (chapter 15)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._checks import (
    require_int,
    require_key,
)
from .._types import Array
from ._common import _HI, _vector

# ----------------------------------------------------------------------------- compressors


@dataclasses.dataclass(frozen=True)
class TopK:
    """Top-k sparsification: keep the ``k`` entries of largest magnitude.

    Contractive with ``α = k/d``: ``‖C(v) - v‖² ≤ (1 - α)‖v‖²``. Biased.
    Sends ``k`` floats (and ``k`` integer indices) per message.

    Args:
      k: the number of entries kept, ``>= 1`` (all of them when ``k >= d``).

    Raises:
      TypeError: ``k`` not an integer.
      ValueError: ``k < 1``.
    """

    k: int

    def __post_init__(self):
        require_int("k", self.k, minimum=1)

    def __call__(self, v: Array, key: Array | None = None) -> Array:
        """``C(v)`` for a 1-D ``v`` (``key`` is ignored). Raises TypeError/ValueError for a
        non-numeric or non-1-D ``v``."""
        v = _vector(v)
        _, idx = lax.top_k(jnp.abs(v), min(self.k, v.shape[0]))
        return jnp.zeros_like(v).at[idx].set(v[idx])

    def floats(self, dim: int) -> int:
        return min(self.k, dim)

    def contraction(self, dim: int) -> float:
        """``α`` in ``‖C(v) - v‖² ≤ (1 - α)‖v‖²``."""
        return min(self.k, dim) / dim

    unbiased = False
    needs_key = False


@dataclasses.dataclass(frozen=True)
class RandK:
    """Rand-k sparsification: ``k`` coordinates drawn uniformly without replacement.

    With ``scaled=True`` (default) the kept entries are multiplied by ``d/k`` so that
    ``E C(v) = v`` and ``E‖C(v) - v‖² = ω‖v‖²`` with ``ω = d/k - 1``. The indices come
    from a key the worker shares with the server, so only ``k`` floats are sent.

    Args:
      k: the number of coordinates kept, ``>= 1`` (all of them when ``k >= d``).
      scaled: multiply the kept entries by ``d/k`` (unbiased) or not (contractive).

    Raises:
      TypeError: ``k`` not an integer, ``scaled`` not a bool.
      ValueError: ``k < 1``.
    """

    k: int
    scaled: bool = True

    def __post_init__(self):
        require_int("k", self.k, minimum=1)
        if not isinstance(self.scaled, (bool, np.bool_)):
            raise TypeError(f"scaled must be a bool, got {type(self.scaled).__name__}")

    def __call__(self, v: Array, key: Array | None = None) -> Array:
        """``C(v)`` for a 1-D ``v`` with the shared ``key``. Raises TypeError for a missing or
        integer key, TypeError/ValueError for a non-numeric or non-1-D ``v``."""
        if key is None:
            raise TypeError("key: RandK needs a PRNG key (jax.random.key(seed))")
        require_key("key", key)
        v = _vector(v)
        d = v.shape[-1]
        idx = jax.random.choice(key, d, (min(self.k, d),), replace=False)
        scale = d / min(self.k, d) if self.scaled else 1.0
        return jnp.zeros_like(v).at[idx].set(scale * v[idx])

    def floats(self, dim: int) -> int:
        return min(self.k, dim)

    def omega(self, dim: int) -> float:
        """Variance factor ``ω = d/k - 1`` of the scaled (unbiased) operator."""
        return dim / min(self.k, dim) - 1.0

    def contraction(self, dim: int) -> float:
        """``α = k/d`` of the *unscaled* operator, ``E‖C(v) - v‖² = (1 - α)‖v‖²``."""
        return min(self.k, dim) / dim

    @property
    def unbiased(self) -> bool:
        return self.scaled

    needs_key = True


@dataclasses.dataclass(frozen=True)
class Identity:
    """No compression: sends all ``d`` floats."""

    def __call__(self, v: Array, key: Array | None = None) -> Array:
        """``v`` itself (as a 1-D float array)."""
        return _vector(v)

    def floats(self, dim: int) -> int:
        return dim

    def contraction(self, dim: int) -> float:
        return 1.0

    unbiased = True
    needs_key = False


def _power_step(M: Array, Q: Array) -> tuple[Array, Array]:
    """One power-iteration step of PowerSGD: ``P̂ = orth(M Q)``, ``Q' = Mᵀ P̂`` (single worker)."""
    P_hat = jnp.linalg.qr(jnp.matmul(M, Q, precision=_HI))[0]
    return P_hat, jnp.matmul(M.T, P_hat, precision=_HI)


@dataclasses.dataclass(frozen=True)
class LowRank:
    """PowerSGD's rank-``r`` compressor (Vogels, Karimireddy and Jaggi 2019).

    A message ``v ∈ R^n`` is read as a matrix ``M ∈ R^{rows × cols}`` (``cols = n/rows``,
    row-major). One power-iteration step from ``Q ∈ R^{cols × r}`` gives ``P̂ = orth(M Q)``
    and ``Q' = Mᵀ P̂``; the decompressed message is ``P̂ Q'ᵀ = P̂ P̂ᵀ M``. A worker sends
    ``P`` and ``Q'``: ``r (rows + cols)`` floats instead of ``rows · cols``.

    Inside :func:`run_compressed` (methods ``"naive"`` and ``"ef14"``) the workers share
    ``Q``: ``P = (1/M) Σ_m M_m Q`` and ``Q' = (1/M) Σ_m M_mᵀ P̂`` are all-reduced (the
    compressor is linear in ``M`` for a fixed ``Q``), and ``Q'`` warm-starts the next
    round. Called alone, ``LowRank(r, rows)(v, key)`` performs one step from a fresh
    Gaussian ``Q`` drawn from ``key`` (the first round).

    Args:
      rank: ``r >= 1``, at most ``min(rows, cols)``.
      rows: the number of rows of the matrix view, a divisor of ``n``.

    Raises:
      TypeError: ``rank`` or ``rows`` not an integer; a missing or integer ``key``.
      ValueError: ``rank < 1``, ``rows < 1``; a message whose length ``rows`` does not
        divide or whose matrix view has fewer than ``rank`` rows or columns.
    """

    rank: int
    rows: int

    def __post_init__(self):
        require_int("rank", self.rank, minimum=1)
        require_int("rows", self.rows, minimum=1)

    def shape(self, dim: int) -> tuple[int, int]:
        """The matrix view ``(rows, cols)`` of a message of length ``dim``. Raises ValueError
        when ``rows`` does not divide ``dim`` or ``rank > min(rows, cols)``."""
        if dim % self.rows != 0:
            raise ValueError(f"rows must divide the message length {dim}, got rows = {self.rows}")
        cols = dim // self.rows
        if self.rank > min(self.rows, cols):
            raise ValueError(
                f"rank must be at most min(rows, cols) = {min(self.rows, cols)} for the "
                f"{self.rows} x {cols} view, got {self.rank}"
            )
        return self.rows, cols

    def __call__(self, v: Array, key: Array | None = None) -> Array:
        """``P̂ P̂ᵀ M`` (flattened) for a 1-D ``v`` after one power step from a Gaussian ``Q``
        drawn from ``key``. Raises TypeError for a missing or integer key, TypeError/ValueError
        for a non-numeric, non-1-D or wrongly sized ``v``."""
        if key is None:
            raise TypeError("key: LowRank needs a PRNG key for its first Q (jax.random.key(seed))")
        require_key("key", key)
        v = _vector(v)
        rows, cols = self.shape(v.shape[0])
        M = v.reshape(rows, cols)
        Q = jax.random.normal(key, (cols, self.rank), v.dtype)
        P_hat, Q_new = _power_step(M, Q)
        return jnp.matmul(P_hat, Q_new.T, precision=_HI).ravel()

    def floats(self, dim: int) -> int:
        """Floats sent per message, ``r (rows + cols)`` (``P`` and ``Q'``)."""
        return self.rank * (self.rows + dim // self.rows)

    unbiased = False
    needs_key = True
