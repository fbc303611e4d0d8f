r"""Iterative linear solvers: successive over-relaxation (SOR) and Young's theory of ω.

``A = L + D + U`` (strictly lower, diagonal, strictly upper).  SOR with relaxation
``ω ∈ (0, 2)`` iterates ``(D + ωL) x_{k+1} = ωb − (ωU + (ω − 1)D) x_k``; ``ω = 1`` is
Gauss–Seidel.  For a consistently ordered ``A`` (e.g. tridiagonal) with Jacobi matrix
``J = I − D⁻¹A`` of spectral radius ``ρ(J) < 1``, Young's theorem gives the spectral radius
``ρ(M_ω)`` of the iteration matrix in closed form and the optimal ``ω* = 2/(1 + √(1 − ρ(J)²))``
(Young 1950).

Chapter 10 uses SOR as the environment of a bandit that learns ``ω`` across a sequence of
linear systems (Khodak et al. 2024): :func:`sor_cost_table` builds the table of iteration
counts that :func:`optlab.online.exp3` plays on.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np

from ._checks import (
    as_float_array,
    is_concrete,
    require_in_range,
    require_int,
    require_key,
    require_positive,
)
from ._types import Array, ArrayLike, Bool, Float, Int, PRNGKeyArray

# Matrix products whose accuracy matters run at full float32 precision: on NVIDIA GPUs the
# default for float32 matmuls is TF32 (10-bit mantissa), which stalls SOR above its
# tolerance of 1e-4 (the residual floor of TF32 products is ~1e-3 relative).
HIGHEST = jax.lax.Precision.HIGHEST

__all__ = [
    "SORResult",
    "SORSequence",
    "laplacian_1d",
    "jacobi_radius",
    "young_omega",
    "sor_spectral_radius",
    "sor",
    "sor_cost_table",
]

# Result types that are reports, not runs (tests/test_contract.py).
_NOT_A_RUN = {
    "SORSequence": "a table of SOR iteration counts over (system, ω) pairs, not one run with a final point",
}


def _check_scalar(name: str, value: Any) -> None:
    """Refuse non-numeric values (TypeError) and arrays (ValueError) for a scalar argument."""
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_concrete(value) and np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


class SORResult(NamedTuple):
    """Output of :func:`sor`.

    Attributes:
      params: ``(n,)`` the last iterate ``x_k`` (the solution when ``converged``).
      n_iters: SOR steps taken (at most ``num_steps``).
      converged: ``residual <= tol``.
      residual: the final relative residual ``‖b − Ax_k‖/‖b‖``.
    """

    params: Float[Array, " n"]
    n_iters: Int[Array, ""]
    converged: Bool[Array, ""]
    residual: jax.Array


class SORSequence(NamedTuple):
    """A sequence of shifted systems ``(A + c_t I) x = b_t`` and SOR's cost on each.

    Attributes:
      omegas: ``(K,)`` the arms.
      shifts: ``(T,)`` the shifts ``c_t``.
      n_iters: ``(T, K)`` SOR steps to reach the tolerance (``num_steps`` if not).
      costs: ``(T, K)`` ``n_iters / num_steps ∈ [0, 1]``, the bandit's losses.
      rho_jacobi: ``(T,)`` spectral radius ``ρ(J_t)`` of the Jacobi matrix.
      omega_star: ``(T,)`` Young's optimal ``ω*_t = 2/(1 + √(1 − ρ(J_t)²))``.
      n_iters_star: ``(T,)`` SOR steps at ``ω*_t``.
    """

    omegas: Float[Array, " K"]
    shifts: Float[Array, " T"]
    n_iters: Int[Array, "T K"]
    costs: Float[Array, "T K"]
    rho_jacobi: Float[Array, " T"]
    omega_star: Float[Array, " T"]
    n_iters_star: Float[Array, " T"]


def laplacian_1d(n: int, dtype: Any = None) -> Float[Array, "n n"]:
    """The ``n × n`` tridiagonal matrix ``tridiag(−1, 2, −1)`` (SPD, consistently ordered).

    Args:
      n: the size, ``>= 1``.
      dtype: a floating dtype (default JAX's default float).

    Returns:
      The matrix, shape ``(n, n)``.

    Raises:
      TypeError / ValueError: ``n`` not a positive integer, ``dtype`` not a float dtype.
    """
    require_int("n", n, minimum=1)
    if dtype is not None:
        try:
            ok = jnp.issubdtype(dtype, jnp.floating)
        except TypeError:
            ok = False
        if not ok:
            raise TypeError(f"dtype must be a floating dtype, got {dtype!r}")
    dtype = dtype or jnp.zeros(()).dtype
    return 2.0 * jnp.eye(n, dtype=dtype) - jnp.eye(n, k=1, dtype=dtype) - jnp.eye(n, k=-1, dtype=dtype)


def jacobi_radius(A: Float[Array, "n n"]) -> Float[Array, ""]:
    """``ρ(J)`` for ``J = I − D⁻¹A`` (``A`` SPD): ``max |1 − λ(D^{−1/2} A D^{−1/2})|``.

    Args:
      A: a symmetric positive definite matrix, shape ``(n, n)``.

    Returns:
      The spectral radius ``ρ(J)``, a scalar.

    Raises:
      TypeError / ValueError: ``A`` not a finite square matrix with a positive diagonal.
    """
    A = as_float_array("A", A, ndim=2)
    n = jnp.shape(A)[0]
    if n < 1 or jnp.shape(A) != (n, n):
        raise ValueError(f"A must be a non-empty square matrix, got shape {tuple(jnp.shape(A))}")
    if is_concrete(A):
        require_positive("A's diagonal (A must be SPD)", jnp.diag(A))
    d = jnp.sqrt(jnp.diag(A))
    lam = jnp.linalg.eigvalsh(A / d[:, None] / d[None, :])
    return jnp.max(jnp.abs(1.0 - lam))


def young_omega(rho_jacobi: Float[ArrayLike, "*shape"]) -> Any:
    """Young's optimal relaxation ``ω* = 2/(1 + √(1 − ρ(J)²))`` (consistently ordered ``A``).

    Args:
      rho_jacobi: ``ρ(J)`` in ``[0, 1)``, a scalar or an array.

    Returns:
      ``ω*`` in ``[1, 2)``, with the shape of ``rho_jacobi``.

    Raises:
      TypeError / ValueError: ``rho_jacobi`` not in ``[0, 1)``.
    """
    rho_jacobi = as_float_array("rho_jacobi", rho_jacobi)
    require_in_range("rho_jacobi", rho_jacobi, 0.0, 1.0, high_inclusive=False)
    return 2.0 / (1.0 + jnp.sqrt(1.0 - rho_jacobi**2))


def sor_spectral_radius(omega: Float[ArrayLike, "*shape"], rho_jacobi: Float[ArrayLike, "*shape"]) -> Any:
    """Young's formula for ``ρ(M_ω)`` when ``A`` is consistently ordered, ``0 < ω < 2``:

    ``ρ(M_ω) = ω − 1`` for ``ω ≥ ω*`` and
    ``ρ(M_ω) = ¼ (ωμ + √(ω²μ² − 4(ω − 1)))²`` for ``ω ≤ ω*`` (``μ = ρ(J)``).

    Args:
      omega: the relaxation ``ω`` in ``(0, 2)``, a scalar or an array.
      rho_jacobi: ``μ = ρ(J)`` in ``[0, 1)``, broadcastable with ``omega``.

    Returns:
      ``ρ(M_ω)``, with the broadcast shape of the arguments.

    Raises:
      TypeError / ValueError: ``omega`` not in ``(0, 2)``, ``rho_jacobi`` not in ``[0, 1)``.
    """
    omega = as_float_array("omega", omega)
    rho_jacobi = as_float_array("rho_jacobi", rho_jacobi)
    require_in_range("omega", omega, 0.0, 2.0, low_inclusive=False, high_inclusive=False)
    require_in_range("rho_jacobi", rho_jacobi, 0.0, 1.0, high_inclusive=False)
    w, mu = jnp.asarray(omega), jnp.asarray(rho_jacobi)
    disc = jnp.maximum(w**2 * mu**2 - 4.0 * (w - 1.0), 0.0)
    below = 0.25 * (w * mu + jnp.sqrt(disc)) ** 2
    return jnp.where(w >= young_omega(mu), w - 1.0, below)


def _sor_matrices(A, b, omega):
    D = jnp.diag(jnp.diag(A))
    Lo = jnp.tril(A, -1)
    Up = jnp.triu(A, 1)
    lower = D + omega * Lo
    # one triangular solve for [G | c]: two independent batched solves (under vmap over ω)
    # once deadlocked XLA's 2-thread CPU pool (both threads in lapack_strsm's batch map,
    # each waiting behind the other; benchmarks/RESULTS.md, "Live widgets")
    rhs = jnp.concatenate([(1.0 - omega) * D - omega * Up, (omega * b)[:, None]], axis=1)
    Gc = jax.scipy.linalg.solve_triangular(lower, rhs, lower=True)
    return Gc[:, :-1], Gc[:, -1]


def sor(
    A: Float[Array, "n n"],
    b: Float[Array, " n"],
    omega: float | Float[Array, ""],
    *,
    tol: float = 1e-4,
    num_steps: int = 500,
    x0: Float[Array, " n"] | None = None,
) -> SORResult:
    """Successive over-relaxation for ``Ax = b`` until ``‖b − Ax‖ ≤ tol‖b‖``.

    The default ``tol = 1e-4`` stays well above float32's residual floor
    (about ``10⁻⁷ κ(A)``); ask for less only in float64.

    ``(D + ωL) x_{k+1} = ωb − (ωU + (ω − 1)D) x_k`` with ``A = L + D + U``.  The
    iteration matrix ``M_ω`` is formed once (small dense ``A``), so each step is a
    mat-vec and ``vmap`` over ``ω`` and over systems is cheap.  Every product runs at
    ``Precision.HIGHEST``: with the TF32 default of NVIDIA GPUs the residual would stall
    near ``1e-3`` and the loop would stop at ``num_steps``.  Compiled once per shape and
    ``num_steps``.

    Args:
      A: ``(n, n)`` matrix with a non-zero diagonal.
      b: ``(n,)`` right-hand side, not zero.
      omega: relaxation ``ω ∈ (0, 2)`` (may be traced).
      tol: relative residual target ``> 0``.
      num_steps: cap on the number of SOR steps, ``≥ 1``.
      x0: ``(n,)`` start (default zeros).

    Returns:
      :class:`SORResult` (``converged`` says whether ``tol`` was reached).

    Raises:
      TypeError / ValueError: non-numeric, non-finite or mis-shaped ``A``, ``b``, ``x0``;
      ``b = 0``; a zero diagonal; ``ω ∉ (0, 2)``; ``tol ≤ 0``; ``num_steps < 1``.
    """
    A = as_float_array("A", A, ndim=2)
    b = as_float_array("b", b, ndim=1)
    n = jnp.shape(A)[0]
    if n < 1 or jnp.shape(A) != (n, n):
        raise ValueError(f"A must be a non-empty square (n, n) matrix, got shape {tuple(jnp.shape(A))}")
    if jnp.shape(b) != (n,):
        raise ValueError(f"b must have shape ({n},) to match A, got {tuple(jnp.shape(b))}")
    if is_concrete(A) and not bool(np.all(np.diag(np.asarray(A)) != 0)):
        raise ValueError("A must have a non-zero diagonal (SOR divides by it)")
    if is_concrete(b) and not bool(np.any(np.asarray(b) != 0)):
        raise ValueError("b must not be zero (the tolerance is relative to ‖b‖)")
    _check_scalar("omega", omega)
    require_in_range("omega", omega, 0.0, 2.0, low_inclusive=False, high_inclusive=False)
    _check_scalar("tol", tol)
    require_positive("tol", tol)
    require_int("num_steps", num_steps, minimum=1)
    dt = jnp.result_type(A, b)
    if x0 is None:
        x0 = jnp.zeros((n,), dt)
    else:
        x0 = as_float_array("x0", x0, ndim=1)
        if jnp.shape(x0) != (n,):
            raise ValueError(f"x0 must have shape ({n},), got {tuple(jnp.shape(x0))}")
    return _sor(
        A.astype(dt), b.astype(dt), jnp.asarray(omega, dt), jnp.asarray(tol, dt), x0.astype(dt), num_steps
    )


@functools.partial(jax.jit, static_argnums=(5,))
def _sor(A, b, omega, tol, x, num_steps):
    with jax.default_matmul_precision("highest"):
        G, c = _sor_matrices(A, b, omega)
    bn = jnp.linalg.norm(b)

    def res(x):
        return jnp.linalg.norm(b - jnp.matmul(A, x, precision=HIGHEST)) / bn

    def cond(s):
        x, k, r = s
        return (r > tol) & (k < num_steps)

    def step(s):
        x, k, _ = s
        x = jnp.matmul(G, x, precision=HIGHEST) + c
        return x, k + 1, res(x)

    x, k, r = jax.lax.while_loop(cond, step, (x, jnp.asarray(0), res(x)))
    return SORResult(x, k, r <= tol, r)


def sor_cost_table(
    n: int,
    num_systems: int,
    omegas: Float[Array, " K"],
    *,
    key: PRNGKeyArray,
    shift_range: tuple[float, float] = (0.01, 0.5),
    tol: float = 1e-4,
    num_steps: int = 300,
) -> SORSequence:
    """SOR iteration counts on ``(A + c_t I) x = b_t``, ``A`` = :func:`laplacian_1d` ``(n)``.

    Shifts ``c_t`` are log-uniform in ``shift_range`` and ``b_t`` standard normal
    (from ``key``).  Every ``(system, ω)`` pair runs in one batched call.  The
    shifted Laplacian is tridiagonal, hence consistently ordered: Young's
    ``ω*_t`` is optimal and ``ρ(J_t) = 2cos(π/(n+1))/(2 + c_t)``.

    Args:
      n: the system size, ``>= 2``.
      num_systems: the number ``T`` of systems, ``>= 1``.
      omegas: the ``K`` arms ``ω`` in ``(0, 2)``.
      key: a JAX PRNG key for the shifts and right-hand sides (keyword-only).
      shift_range: ``(low, high)`` with ``0 < low <= high``.
      tol: the relative-residual tolerance of :func:`sor`, ``> 0``.
      num_steps: the cap on SOR steps, ``>= 1``.

    Returns:
      An :class:`SORSequence`.

    Raises:
      TypeError / ValueError: invalid key, sizes, ``omegas`` outside ``(0, 2)``, a
      ``shift_range`` that is not ``0 < low <= high``, ``tol ≤ 0``, ``num_steps < 1``.
    """
    require_key("key", key)
    require_int("n", n, minimum=2)
    require_int("num_systems", num_systems, minimum=1)
    omegas = as_float_array("omegas", omegas, ndim=1)
    if jnp.shape(omegas)[0] < 1:
        raise ValueError("omegas must contain at least one arm, got shape (0,)")
    require_in_range("omegas", omegas, 0.0, 2.0, low_inclusive=False, high_inclusive=False)
    sr = as_float_array("shift_range", shift_range, ndim=1)
    if jnp.shape(sr) != (2,):
        raise ValueError(f"shift_range must be a pair (low, high), got {shift_range!r}")
    require_positive("shift_range", sr)
    lo, hi = (float(v) for v in np.asarray(sr))
    if not lo <= hi:
        raise ValueError(f"shift_range must be (low, high) with low <= high, got {shift_range}")
    _check_scalar("tol", tol)
    require_positive("tol", tol)
    require_int("num_steps", num_steps, minimum=1)
    k1, k2 = jax.random.split(key)
    shifts = jnp.exp(jax.random.uniform(k1, (num_systems,), minval=math.log(lo), maxval=math.log(hi)))
    bs = jax.random.normal(k2, (num_systems, n))
    A0 = laplacian_1d(n)
    rho = 2.0 * math.cos(math.pi / (n + 1)) / (2.0 + shifts)
    w_star = young_omega(rho)

    def one(c, b, w):
        return sor(A0 + c * jnp.eye(n), b, w, tol=tol, num_steps=num_steps).n_iters

    n_iters = jax.vmap(lambda c, b: jax.vmap(lambda w: one(c, b, w))(omegas))(shifts, bs)
    n_iters_star = jax.vmap(one)(shifts, bs, w_star)
    return SORSequence(omegas, shifts, n_iters, n_iters / num_steps, rho, w_star, n_iters_star)
