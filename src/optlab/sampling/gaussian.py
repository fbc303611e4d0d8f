r"""Closed forms for Gaussian laws (chapter 19): the Wasserstein-2 distance between two
Gaussians and the stationary law of the unadjusted Langevin algorithm on a Gaussian target.

For ``f(x) = ½(x − m)ᵀA(x − m)`` (``A`` symmetric positive definite) ULA is the linear
recursion ``x_{k+1} − m = (I − hA)(x_k − m) + √(2h) ξ_k``.  For ``0 < h < 2/λ_max(A)`` it has a
Gaussian stationary law ``N(m, Σ_h)`` with ``(I − hA)Σ_h(I − hA) + 2hI = Σ_h``, i.e.

``Σ_h = 2h (I − (I − hA)²)^{-1} = (A (I − hA/2))^{-1}``,

whose eigenvalues ``1/(λ(1 − hλ/2)) = 1/λ + h/2 + O(h²)`` exceed the target's ``1/λ`` by
``h/(2 − hλ)``: the bias of ULA is ``O(h)``.

``W_2(N(m_1, S_1), N(m_2, S_2))² = ‖m_1 − m_2‖² + tr(S_1 + S_2 − 2(S_2^{1/2} S_1 S_2^{1/2})^{1/2})``
(Dowson & Landau 1982; Givens & Shortt 1984).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_nonempty_float_array, is_concrete
from .._types import Array, ArrayLike, Float
from ._common import _positive_scalar

__all__ = ["gaussian_w2", "ula_gaussian_stationary"]

_HIGHEST = jax.lax.Precision.HIGHEST  # float32 matmuls are TF32 on NVIDIA GPUs otherwise


def _symmetric(name: str, S, d: int | None = None) -> Array:
    S = as_nonempty_float_array(name, S, ndim=2)
    if S.shape[0] != S.shape[1] or (d is not None and S.shape[0] != d):
        want = "square" if d is None else f"{d} × {d}"
        raise ValueError(f"{name} must be {want}, got shape {tuple(S.shape)}")
    if is_concrete(S):
        host = np.asarray(S, float)
        if not np.allclose(host, host.T, rtol=1e-5, atol=1e-6 * max(1.0, float(np.max(np.abs(host))))):
            raise ValueError(f"{name} must be symmetric")
    return S


def _psd_sqrt(S: Array) -> Array:
    lam, V = jnp.linalg.eigh(0.5 * (S + S.T))
    return jnp.matmul(V * jnp.sqrt(jnp.maximum(lam, 0.0)), V.T, precision=_HIGHEST)


def gaussian_w2(
    m1: Float[ArrayLike, " d"],
    S1: Float[ArrayLike, "d d"],
    m2: Float[ArrayLike, " d"],
    S2: Float[ArrayLike, "d d"],
) -> Float[Array, ""]:
    """The Wasserstein-2 distance between ``N(m_1, S_1)`` and ``N(m_2, S_2)``,

    ``W_2² = ‖m_1 − m_2‖² + tr S_1 + tr S_2 − 2 tr (S_2^{1/2} S_1 S_2^{1/2})^{1/2}``.

    Args:
      m1: the first mean, a vector of length ``d``.
      S1: the first covariance, ``d × d`` symmetric positive semi-definite.
      m2: the second mean, a vector of length ``d``.
      S2: the second covariance, ``d × d`` symmetric positive semi-definite.

    Returns:
      ``W_2`` (not squared), a scalar.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: non-finite entries, mismatched shapes, a non-square or non-symmetric matrix.
    """
    m1 = as_nonempty_float_array("m1", m1, ndim=1)
    m2 = as_nonempty_float_array("m2", m2, ndim=1)
    d = m1.shape[0]
    if m2.shape[0] != d:
        raise ValueError(f"m2 must have shape ({d},), got {tuple(m2.shape)}")
    S1 = _symmetric("S1", S1, d)
    S2 = _symmetric("S2", S2, d)
    r2 = _psd_sqrt(S2)
    middle = jnp.matmul(jnp.matmul(r2, S1, precision=_HIGHEST), r2, precision=_HIGHEST)
    lam = jnp.linalg.eigvalsh(0.5 * (middle + middle.T))
    cross = jnp.sum(jnp.sqrt(jnp.maximum(lam, 0.0)))
    w2sq = jnp.sum((m1 - m2) ** 2) + jnp.trace(S1) + jnp.trace(S2) - 2.0 * cross
    return jnp.sqrt(jnp.maximum(w2sq, 0.0))


def ula_gaussian_stationary(
    A: Float[ArrayLike, "d d"],
    *,
    learning_rate: float | Float[Array, ""],
) -> Float[Array, "d d"]:
    """The covariance ``Σ_h = (A(I − hA/2))^{-1}`` of the stationary law of ULA with step ``h``
    on the target ``N(m, A^{-1})`` (its mean is ``m``): the solution of
    ``(I − hA)Σ(I − hA) + 2hI = Σ``.  It exists for ``0 < h < 2/λ_max(A)``; beyond, the
    recursion diverges and the result has non-positive or infinite eigenvalues.

    Args:
      A: the precision (the Hessian of ``f``), ``d × d`` symmetric positive definite.
      learning_rate: the step ``h > 0``.

    Returns:
      ``Σ_h``, a ``d × d`` matrix.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: ``A`` not finite, square and symmetric, ``h ≤ 0``, or (for concrete
        values) ``A`` not positive definite or ``h ≥ 2/λ_max(A)``.
    """
    A = _symmetric("A", A)
    h = _positive_scalar("learning_rate", learning_rate)
    lam, V = jnp.linalg.eigh(A)
    if is_concrete(lam) and is_concrete(h):
        lo, hi = float(lam[0]), float(lam[-1])
        if not lo > 0:
            raise ValueError(f"A must be positive definite, got smallest eigenvalue {lo:.3g}")
        if not float(h) * hi < 2.0:
            raise ValueError(f"learning_rate must be below 2/λ_max(A) = {2.0 / hi:.4g}, got {float(h):.4g}")
    h = jnp.asarray(h, A.dtype)
    inv = 1.0 / (lam * (1.0 - 0.5 * h * lam))
    return jnp.matmul(V * inv, V.T, precision=_HIGHEST)
