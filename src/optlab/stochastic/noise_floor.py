"""The exact stationary noise floor of constant-step SGD on a quadratic finite sum (chapter 3)."""

from __future__ import annotations

import functools
from typing import NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..problems import Problem
from ..runner import _merge  # one policy for static/dynamic parts of optimizers and problems
from ._common import _check_batch, _check_step, _fs_split, _require_finite_sum

# ----------------------------------------------------------------------------
# the noise floor of constant-step SGD, exactly
# ----------------------------------------------------------------------------


class NoiseFloor(NamedTuple):
    """Stationary ``E[f(x) − f*]`` of constant-step SGD with replacement on a quadratic finite sum.

    Attributes:
      exact: from the exact second-moment recursion.
      first_order: the small-step approximation ``η tr(S) / (4b)``,
        ``S = (1/n) Σ ∇f_i(x*) ∇f_i(x*)ᵀ``.
      sigma_star_sq: ``σ*² = tr(S) = (1/n) Σ ‖∇f_i(x*)‖²``.
      spectral_radius: of the second-moment map; ``< 1`` is stability.
    """

    exact: float
    first_order: float
    sigma_star_sq: float
    spectral_radius: float


@functools.partial(jax.jit, static_argnames=("static", "n"))
def _noise_floor_moments(dynamic, x, *, static, n):
    """Component Hessians at ``x*`` and at ``x* + 1`` and component gradients at ``x*``
    (one compile per problem functions and shape; the data and ``x*`` are traced)."""
    (sample_value,) = _merge(static, dynamic)
    ids = jnp.arange(n)[:, None]
    hess_i = jax.vmap(lambda i, z: jax.hessian(sample_value)(z, i), in_axes=(0, None))
    grads = jax.vmap(jax.grad(sample_value), in_axes=(None, 0))(x, ids)
    return hess_i(ids, x), hess_i(ids, x + 1.0), grads


def sgd_noise_floor(problem: Problem, *, learning_rate: float, batch_size: int = 1) -> NoiseFloor:
    """Exact stationary mean of ``f(x) − f*`` for SGD ``x ← x − η ∇f_B(x)``, ``B`` drawn with replacement.

    For a quadratic finite sum, ``e = x − x*`` obeys
    ``e⁺ = (I − η H_B) e − η ζ_B`` with ``H_B`` the batch Hessian and
    ``ζ_B = ∇f_B(x*)`` (mean zero, independent of ``e``).  The covariance
    ``Σ = E[e eᵀ]`` then satisfies the linear fixed-point equation
    ``Σ = E[(I − ηH_B) Σ (I − ηH_B)] + η² S / b``, solved here as a
    ``d² × d²`` system (float64 NumPy), and ``E[f − f*] = ½ tr(HΣ)``.
    The per-component Hessians and gradients come from one compiled function per
    problem (not per call): a sweep over ``η`` compiles once.

    Args:
      problem: a quadratic finite sum with known ``x_star``.
      learning_rate: ``η > 0`` (a number).
      batch_size: ``b``, ``1 ≤ b ≤ n``.

    Returns:
      A :class:`NoiseFloor`.

    Raises:
      TypeError: ``problem`` not a Problem, ``learning_rate`` not a number.
      ValueError: if ``problem`` is not a quadratic finite sum with known
        ``x_star``, or ``η`` is too large for a stationary distribution.
    """
    _require_finite_sum(problem)
    if callable(learning_rate) or isinstance(learning_rate, jax.core.Tracer):
        raise TypeError("learning_rate must be a concrete number (the noise floor is computed in NumPy)")
    _check_step("learning_rate", learning_rate)
    _check_batch(batch_size, cast(int, problem.n_samples))  # _require_finite_sum checked it
    if problem.x_star is None:
        raise ValueError(f"problem {problem.name!r} has no known x_star")
    n, d = cast(int, problem.n_samples), problem.dim
    static, dynamic = _fs_split(problem.sample_value)
    x_star = _checks.as_float_array("x_star", problem.x_star)
    H_i, H_shift, zeta = (
        np.asarray(a, dtype=np.float64) for a in _noise_floor_moments(dynamic, x_star, static=static, n=n)
    )
    if not np.allclose(H_i, H_shift, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(H_i).max())):
        raise ValueError("sgd_noise_floor needs a quadratic finite sum (constant component Hessians)")
    eta = float(learning_rate)
    b = batch_size
    H = H_i.mean(0)
    S = zeta.T @ zeta / n
    Id = np.eye(d)  # the identity I
    M = np.einsum("nij,nkl->ikjl", H_i, H_i).reshape(d * d, d * d) / n  # vec(H_i Σ H_i), row-major
    HH = np.kron(H, H)
    T = np.kron(Id, Id) - eta * (np.kron(H, Id) + np.kron(Id, H)) + eta**2 * ((1.0 - 1.0 / b) * HH + M / b)
    rho = float(np.max(np.abs(np.linalg.eigvals(T))))
    if not rho < 1.0:
        raise ValueError(
            f"learning_rate={eta} is too large: the second-moment map has spectral radius {rho:.4g} ≥ 1"
        )
    sigma = np.linalg.solve(np.eye(d * d) - T, eta**2 * S.reshape(-1) / b).reshape(d, d)
    exact = 0.5 * float(np.trace(H @ sigma))
    return NoiseFloor(
        exact=exact,
        first_order=eta * float(np.trace(S)) / (4.0 * b),
        sigma_star_sq=float(np.trace(S)),
        spectral_radius=rho,
    )
