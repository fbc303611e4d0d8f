"""Distributed test problems: heterogeneous quadratics and a distributed bilinear game (chapter
15)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _HI

# ----------------------------------------------------------------------------- problems


class LinearProblem(NamedTuple):
    """``M`` workers with operators ``F_m(z) = B_m z - q_m``; solution ``z*`` of ``F̄(z*) = 0``.

    ``B`` has shape ``(M, n, n)`` and ``q`` shape ``(M, n)``. For a minimisation problem
    (``B_m`` symmetric) ``f(x) - f* = ½ (x - x*)ᵀ B̄ (x - x*)``.

    Attributes:
      B: the workers' matrices ``B_m``, ``(M, n, n)``.
      q: the workers' offsets ``q_m``, ``(M, n)``.
      z_star: the solution ``z*``, ``(n,)``.
      L: ``‖B̄‖₂``, the smoothness (Lipschitz constant) of the average.
      L_tilde: ``√(mean_m ‖B_m‖₂²)``, the constant of EF21's step size.
      mu: ``μ``, the smallest eigenvalue of ``sym(B̄)`` (strong monotonicity / convexity).
    """

    B: Float[Array, "M n n"]
    q: Float[Array, "M n"]
    z_star: Float[Array, " n"]
    L: float  # ‖B̄‖₂ (smoothness of the average)
    L_tilde: float  # sqrt(mean_m ‖B_m‖₂²) (the constant of EF21's step size)
    mu: float  # smallest eigenvalue of sym(B̄) (strong monotonicity / convexity)

    @property
    def num_workers(self) -> int:
        return self.B.shape[0]

    @property
    def dim(self) -> int:
        return self.B.shape[-1]

    def operator(self, z: Float[Array, " n"]) -> Float[Array, " n"]:
        """Average operator ``F̄(z)``."""
        return jnp.mean(jnp.einsum("mij,j->mi", self.B, z, precision=_HI) - self.q, axis=0)

    def suboptimality(self, z: Float[Array, " n"]) -> Float[Array, ""]:
        """``½ (z - z*)ᵀ sym(B̄) (z - z*)``: ``f(z) - f*`` for minimisation."""
        e = z - self.z_star
        return 0.5 * jnp.dot(e, jnp.dot(jnp.mean(self.B, 0), e, precision=_HI), precision=_HI)


def _make_problem(B: np.ndarray, q: np.ndarray) -> LinearProblem:
    B = np.asarray(as_float_array("B", B, ndim=3), dtype=np.float64)
    q = np.asarray(as_float_array("q", q, ndim=2), dtype=np.float64)
    M, n, n2 = B.shape
    if n != n2 or q.shape != (M, n) or M == 0 or n == 0:
        raise ValueError(f"expected B of shape (M, n, n) and q of shape (M, n), got {B.shape} and {q.shape}")
    Bbar, qbar = B.mean(0), q.mean(0)
    mu = float(np.linalg.eigvalsh(0.5 * (Bbar + Bbar.T)).min())
    if mu <= 0:
        raise ValueError(
            f"the average operator must be strongly monotone (smallest eigenvalue of sym(B̄) = {mu:.3g} ≤ 0)"
        )
    z_star = np.linalg.solve(Bbar, qbar)
    L = float(np.linalg.norm(Bbar, 2))
    L_tilde = float(np.sqrt(np.mean([np.linalg.norm(b, 2) ** 2 for b in B])))
    dt = jnp.result_type(float)
    return LinearProblem(jnp.asarray(B, dt), jnp.asarray(q, dt), jnp.asarray(z_star, dt), L, L_tilde, mu)


def _host_rng(key: Any) -> np.random.Generator:
    """A NumPy generator seeded by the bits of one concrete JAX key (the problems are built on the
    host in float64). ``jax.random.key(s)`` gives the same stream as ``np.random.default_rng(s)``
    for ``0 <= s < 2**32``."""
    require_key("key", key)
    if not is_concrete(key):
        raise TypeError("key must be a concrete JAX PRNG key (the problem is built on the host)")
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data(key) if typed else key
    if jnp.ndim(key) != (0 if typed else 1):
        raise ValueError(f"key must be a single PRNG key, got a batch of shape {tuple(jnp.shape(key))}")
    return np.random.default_rng(np.asarray(data, dtype=np.uint32).ravel())


def heterogeneous_quadratics(
    *,
    key: PRNGKeyArray,
    num_workers: int = 8,
    dim: int = 100,
    spectrum=(0.1, 1.0),
    offset_scale: float = 5.0,
) -> LinearProblem:
    """Worker ``m`` holds ``f_m(x) = ½ xᵀA_m x - q_mᵀx`` with eigenvalues of ``A_m`` in ``spectrum``
    (random eigenbasis per worker) and a worker-specific offset ``q_m`` of scale ``offset_scale``:
    the data are *heterogeneous*, ``∇f_m(x*) ≠ 0``.

    Args:
      key: a JAX PRNG key (``jax.random.key(seed)``); the data are drawn on the host by NumPy's
        generator seeded with the key's bits.
      num_workers, dim: positive integers.
      spectrum: ``(low, high)`` with ``0 < low ≤ high``, finite.
      offset_scale: non-negative scale of the offsets ``q_m``.

    Returns:
      A :class:`LinearProblem` (default float dtype; constants computed in float64).

    Raises:
      TypeError: ``key`` not a PRNG key (an integer seed), non-integer sizes, non-numeric
        ``spectrum``/``offset_scale``.
      ValueError: out-of-range values, a batch of keys.
    """
    rng = _host_rng(key)
    require_int("num_workers", num_workers, minimum=1)
    require_int("dim", dim, minimum=1)
    spec = as_float_array("spectrum", spectrum, ndim=1)
    if spec.shape != (2,):
        raise ValueError(f"spectrum must be a pair (low, high), got shape {spec.shape}")
    lo, hi = float(spec[0]), float(spec[1])
    require_positive("spectrum[0]", lo)
    if hi < lo:
        raise ValueError(f"spectrum must be (low, high) with low ≤ high, got {spectrum}")
    offset_scale = float(as_float_array("offset_scale", offset_scale, ndim=0))
    require_nonnegative("offset_scale", offset_scale)
    B = np.empty((num_workers, dim, dim))
    for m in range(num_workers):
        Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        B[m] = (Q * rng.uniform(lo, hi, dim)) @ Q.T
        B[m] = 0.5 * (B[m] + B[m].T)
    q = offset_scale * rng.standard_normal((num_workers, dim))
    return _make_problem(B, q)


def distributed_bilinear_game(
    *, key: PRNGKeyArray, num_workers: int = 8, dim: int = 25, reg: float = 1.0, coupling: float = 1.0
) -> LinearProblem:
    """Regularised bilinear saddle ``min_x max_y (1/M) Σ_m λ/2‖x‖² + xᵀA_m y + b_mᵀx + c_mᵀy - λ/2‖y‖²``.

    Its operator ``F_m(x, y) = (λx + A_m y + b_m, λy - A_mᵀx - c_m)`` is ``λ``-strongly monotone;
    ``z = (x, y)`` has ``n = 2·dim`` coordinates.

    Args:
      key: a JAX PRNG key (as :func:`heterogeneous_quadratics`).
      num_workers, dim: positive integers.
      reg: positive regularisation ``λ``.
      coupling: finite scale of the bilinear coupling ``A_m``.

    Returns:
      A :class:`LinearProblem` with ``n = 2·dim``.

    Raises:
      TypeError, ValueError: as :func:`heterogeneous_quadratics`.
    """
    rng = _host_rng(key)
    reg = float(as_float_array("reg", reg, ndim=0))
    coupling = float(as_float_array("coupling", coupling, ndim=0))
    require_positive("reg", reg)
    require_int("num_workers", num_workers, minimum=1)
    require_int("dim", dim, minimum=1)
    n = 2 * dim
    B = np.empty((num_workers, n, n))
    q = np.empty((num_workers, n))
    for m in range(num_workers):
        A = coupling * rng.standard_normal((dim, dim)) / np.sqrt(dim)
        B[m] = np.block([[reg * np.eye(dim), A], [-A.T, reg * np.eye(dim)]])
        q[m] = -np.concatenate([rng.standard_normal(dim), -rng.standard_normal(dim)])
    return _make_problem(B, q)
