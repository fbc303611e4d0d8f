r"""Closed forms for Gaussian laws (chapter 19): the Wasserstein-2 distance and the relative
entropy between two Gaussians, and the laws of the unadjusted Langevin algorithm on a Gaussian
target, along the run and at stationarity.

For ``f(x) = ½(x − m)ᵀA(x − m)`` (``A`` symmetric positive definite) ULA is the linear
recursion ``x_{k+1} − m = (I − hA)(x_k − m) + √(2h) ξ_k``.  For ``0 < h < 2/λ_max(A)`` it has a
Gaussian stationary law ``N(m, Σ_h)`` with ``(I − hA)Σ_h(I − hA) + 2hI = Σ_h``, i.e.

``Σ_h = 2h (I − (I − hA)²)^{-1} = (A (I − hA/2))^{-1}``,

whose eigenvalues ``1/(λ(1 − hλ/2)) = 1/λ + h/2 + O(h²)`` exceed the target's ``1/λ`` by
``h/(2 − hλ)``: the bias of ULA is ``O(h)``.

From ``N(μ_0, S_0)`` the law stays Gaussian: ``μ_{k+1} − m = B(μ_k − m)`` and
``S_{k+1} = B S_k B + 2hI`` with ``B = I − hA``.

``W_2(N(m_1, S_1), N(m_2, S_2))² = ‖m_1 − m_2‖² + tr(S_1 + S_2 − 2(S_2^{1/2} S_1 S_2^{1/2})^{1/2})``
(Dowson & Landau 1982; Givens & Shortt 1984), and ``KL(N(m_1, S_1) ‖ N(m_2, S_2)) =
½[tr(S_2^{-1}S_1) − d + (m_2 − m_1)ᵀS_2^{-1}(m_2 − m_1) + log det S_2 − log det S_1]``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_nonempty_float_array, is_concrete, require_int
from .._types import Array, ArrayLike, Float
from ._common import _positive_scalar

__all__ = ["GaussianLaws", "gaussian_kl", "gaussian_w2", "ula_gaussian_laws", "ula_gaussian_stationary"]

#: Result types that are reports, not runs of an iterative method (library contract).
_NOT_A_RUN = {
    "GaussianLaws": "closed-form laws: the means and covariances of ULA's marginals at every step, "
    "computed by the exact recursion on (μ_k, S_k), not a run of a sampler; there is no final point",
}


class GaussianLaws(NamedTuple):
    """The Gaussian laws ``N(μ_k, S_k)``, ``k = 0, …, K``, of ULA's iterates on a Gaussian target.

    Attributes:
      means: ``μ_0 … μ_K``, shape ``(K+1, d)``.
      covariances: ``S_0 … S_K``, shape ``(K+1, d, d)``.
    """

    means: Float[Array, "K+1 d"]
    covariances: Float[Array, "K+1 d d"]


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


def _vector(name: str, v, d: int | None = None) -> Array:
    v = as_nonempty_float_array(name, v, ndim=1)
    if d is not None and v.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d},), got {tuple(v.shape)}")
    return v


def _two_gaussians(m1, S1, m2, S2) -> tuple[Array, Array, Array, Array]:
    """The checked means and covariances of ``N(m_1, S_1)`` and ``N(m_2, S_2)`` in one dimension ``d``."""
    m1 = _vector("m1", m1)
    d = m1.shape[0]
    return m1, _symmetric("S1", S1, d), _vector("m2", m2, d), _symmetric("S2", S2, d)


def _positive_definite(name: str, S: Array) -> None:
    if is_concrete(S):
        lo = float(np.linalg.eigvalsh(np.asarray(S, float))[0])
        if not lo > 0:
            raise ValueError(f"{name} must be positive definite, got smallest eigenvalue {lo:.3g}")


def gaussian_kl(
    m1: Float[ArrayLike, " d"],
    S1: Float[ArrayLike, "d d"],
    m2: Float[ArrayLike, " d"],
    S2: Float[ArrayLike, "d d"],
) -> Float[Array, ""]:
    """The relative entropy of ``N(m_1, S_1)`` with respect to ``N(m_2, S_2)``,

    ``KL = ½[tr(S_2^{-1}S_1) − d + (m_2 − m_1)ᵀS_2^{-1}(m_2 − m_1) + log det S_2 − log det S_1]``.

    Args:
      m1: the mean of the first law, a vector of length ``d``.
      S1: its covariance, ``d × d`` symmetric positive definite.
      m2: the mean of the reference law, a vector of length ``d``.
      S2: its covariance, ``d × d`` symmetric positive definite.

    Returns:
      ``KL(N(m_1, S_1) ‖ N(m_2, S_2)) ≥ 0``, a scalar.

    Raises:
      TypeError: a non-numeric argument.
      ValueError: non-finite entries, mismatched shapes, a non-square or non-symmetric matrix, or
        (for concrete values) a covariance that is not positive definite (the relative entropy
        is then infinite or undefined).
    """
    m1, S1, m2, S2 = _two_gaussians(m1, S1, m2, S2)
    _positive_definite("S1", S1)
    _positive_definite("S2", S2)
    return _gaussian_kl(m1, S1, m2, S2)


@jax.jit
def _gaussian_kl(m1, S1, m2, S2):
    d = m1.shape[0]
    # region: gaussian-kl
    chol = jnp.linalg.cholesky(0.5 * (S2 + S2.T))
    solve = functools.partial(jax.scipy.linalg.solve_triangular, chol, lower=True)
    whitened = solve(solve(0.5 * (S1 + S1.T)).T)  # L⁻¹ S_1 L⁻ᵀ, with S_2 = L Lᵀ
    shift = solve(m2 - m1)
    logdet_s2 = 2.0 * jnp.sum(jnp.log(jnp.diag(chol)))
    logdet_ratio = logdet_s2 - jnp.linalg.slogdet(S1)[1]  # log det S_2 − log det S_1
    kl = 0.5 * (jnp.trace(whitened) - d + jnp.sum(shift**2) + logdet_ratio)
    # endregion: gaussian-kl
    return jnp.maximum(kl, 0.0)


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
    m1, S1, m2, S2 = _two_gaussians(m1, S1, m2, S2)
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


def ula_gaussian_laws(
    A: Float[ArrayLike, "d d"],
    target_mean: Float[ArrayLike, " d"],
    mean0: Float[ArrayLike, " d"],
    cov0: Float[ArrayLike, "d d"],
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
) -> GaussianLaws:
    """The exact laws of ULA's iterates on the target ``N(m, A^{-1})`` from ``x_0 ~ N(μ_0, S_0)``:
    with ``B = I − hA``, ``μ_{k+1} = m + B(μ_k − m)`` and ``S_{k+1} = B S_k B + 2hI``.
    Compiled once per ``num_steps`` and shape; ``h`` is traced.

    Args:
      A: the precision (the Hessian of ``f``), ``d × d`` symmetric.
      target_mean: the target's mean ``m``, a vector of length ``d``.
      mean0: the starting mean ``μ_0``, a vector of length ``d``.
      cov0: the starting covariance ``S_0``, ``d × d`` symmetric positive semi-definite (zero
        for a deterministic start).
      learning_rate: the step ``h > 0``.
      num_steps: ``K ≥ 1``.

    Returns:
      A :class:`GaussianLaws` with the ``K + 1`` means and covariances.

    Raises:
      TypeError: a non-numeric argument, ``num_steps`` not an int.
      ValueError: non-finite entries, mismatched shapes, a non-square or non-symmetric matrix,
        ``h ≤ 0``, ``num_steps < 1``.
    """
    A = _symmetric("A", A)
    d = A.shape[0]
    target = _vector("target_mean", target_mean, d)
    mu0 = _vector("mean0", mean0, d)
    cov0 = _symmetric("cov0", cov0, d)
    h = _positive_scalar("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    dtype = jnp.result_type(A, cov0, target, mu0)
    target, mu0 = target.astype(dtype), mu0.astype(dtype)
    return _ula_gaussian_laws(
        num_steps, A.astype(dtype), target, mu0, cov0.astype(dtype), jnp.asarray(h, dtype)
    )


@functools.partial(jax.jit, static_argnums=0)
def _ula_gaussian_laws(num_steps, A, target, mu0, S0, h):
    d = A.shape[0]
    eye = jnp.eye(d, dtype=A.dtype)
    B = eye - h * A  # B = I − hA

    # region: ula-laws
    def body(carry, _):
        mu, S = carry
        mu = target + jnp.matmul(B, mu - target, precision=_HIGHEST)  # the mean error is multiplied by B
        BSB = jnp.matmul(jnp.matmul(B, S, precision=_HIGHEST), B, precision=_HIGHEST)
        S = BSB + 2.0 * h * eye  # S ↦ B S B + 2hI
        return (mu, S), (mu, S)

    # endregion: ula-laws

    _, (mus, Ss) = jax.lax.scan(body, (mu0, S0), None, length=num_steps)
    return GaussianLaws(jnp.concatenate([mu0[None], mus]), jnp.concatenate([S0[None], Ss]))
