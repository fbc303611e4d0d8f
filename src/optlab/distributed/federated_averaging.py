"""Federated averaging: local steps, its run and its fixed point (chapter 15)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._checks import (
    as_float_array,
    require_int,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Bool, Float, Int, PRNGKeyArray
from ._common import _HI
from .problems import LinearProblem, _host_rng, _make_problem

# ----------------------------------------------------------------------------- federated averaging


def heterogeneous_least_squares(
    *,
    key: PRNGKeyArray,
    num_workers: int = 8,
    dim: int = 10,
    num_samples: int = 40,
    heterogeneity: float = 1.0,
    feature_spread: float = 1.0,
) -> LinearProblem:
    """Client ``m`` holds least squares ``f_m(x) = (1/2N)‖X_m x - y_m‖²`` with ``N = num_samples``
    rows ``X_m`` whose columns have client-specific scales and noiseless labels
    ``y_m = X_m x_m*``, where the clients' optima ``x_m* = x_c + ζ u_m`` spread around a common
    ``x_c`` with ``ζ = heterogeneity``. As a :class:`LinearProblem`, ``B_m = X_mᵀX_m/N`` and
    ``q_m = X_mᵀy_m/N``; the global optimum ``z*`` minimises ``f = (1/M) Σ_m f_m``.

    The features and directions are drawn once from ``key``, so problems that differ only in
    ``heterogeneity`` share ``B_m`` and ``x_c`` and their offsets scale linearly with ``ζ``.

    Args:
      key: a JAX PRNG key (as :func:`heterogeneous_quadratics`).
      num_workers, dim: positive integers (clients ``M`` and unknowns ``d``).
      num_samples: rows per client, at least ``dim`` (each ``B_m`` is then invertible).
      heterogeneity: non-negative spread ``ζ`` of the clients' optima (``0``: one common optimum).
      feature_spread: non-negative log-scale spread of the clients' column scales
        (``0``: identically distributed features).

    Returns:
      A :class:`LinearProblem` (default float dtype; constants computed in float64).

    Raises:
      TypeError: ``key`` not a PRNG key, non-integer sizes, non-numeric values.
      ValueError: out-of-range values, ``num_samples < dim``, a batch of keys.
    """
    rng = _host_rng(key)
    require_int("num_workers", num_workers, minimum=1)
    require_int("dim", dim, minimum=1)
    require_int("num_samples", num_samples, minimum=1)
    if num_samples < dim:
        raise ValueError(f"num_samples must be at least dim = {dim}, got {num_samples}")
    zeta = float(as_float_array("heterogeneity", heterogeneity, ndim=0))
    spread = float(as_float_array("feature_spread", feature_spread, ndim=0))
    require_nonnegative("heterogeneity", zeta)
    require_nonnegative("feature_spread", spread)
    x_c = rng.standard_normal(dim)
    B = np.empty((num_workers, dim, dim))
    q = np.empty((num_workers, dim))
    for m in range(num_workers):
        X = rng.standard_normal((num_samples, dim)) * np.exp(spread * rng.uniform(-1.0, 1.0, dim))
        x_m = x_c + zeta * rng.standard_normal(dim)
        B[m] = X.T @ X / num_samples
        q[m] = B[m] @ x_m
    return _make_problem(B, q)


class FedAvgTrace(NamedTuple):
    """Output of :func:`fedavg`: one row per communication round ``t = 0 … T`` (start included).

    Attributes:
      params: the final server model ``x_T``.
      iterates: the server models ``x_0, …, x_T``, shape ``(T + 1, d)``.
      distances: ``‖x_t - x*‖²`` to the global optimum.
      suboptimalities: ``f(x_t) - f*``.
      converged: whether the last round moved the model by less than ``tol`` (``‖x_T - x_{T-1}‖``):
        the iteration has settled, at its fixed point, which is *not* ``x*`` in general.
      n_iters: the rounds taken, ``num_steps``.
    """

    params: Array
    iterates: Float[Array, "T+1 d"]
    distances: Array
    suboptimalities: Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _check_linear_problem(problem):
    if not isinstance(problem, LinearProblem):
        raise TypeError(
            f"problem must be a LinearProblem (see heterogeneous_least_squares), got {type(problem).__name__}"
        )


def _check_fedavg(problem, learning_rate, local_num_steps):
    _check_linear_problem(problem)
    as_float_array("learning_rate", learning_rate, ndim=0)
    require_positive("learning_rate", learning_rate)
    require_int("local_num_steps", local_num_steps, minimum=1)


def fedavg(
    problem: LinearProblem,
    *,
    learning_rate: float,
    local_num_steps: int,
    num_steps: int,
    x0: Float[Array, " d"] | None = None,
    tol: float = 1e-8,
) -> FedAvgTrace:
    """Federated averaging / local GD (McMahan et al. 2017) on the clients' quadratics.

    Each round the server broadcasts ``x_t``; every client ``m`` runs ``K = local_num_steps``
    gradient steps ``x ← x - γ ∇f_m(x)`` from it (all clients at once, ``vmap``), and the
    server averages the results: ``x_{t+1} = (1/M) Σ_m x_{t,K}^m``. With ``K = 1`` this is
    gradient descent on ``f``; with ``K > 1`` the clients drift toward their own optima and
    the iteration converges to :func:`fedavg_fixed_point`, not to ``x*``. Compiled once per
    (shapes, ``num_steps``); ``local_num_steps`` and ``learning_rate`` are traced.

    Args:
      problem: a :class:`LinearProblem` with symmetric ``B_m`` (e.g. :func:`heterogeneous_least_squares`).
      learning_rate: the clients' positive step ``γ``.
      local_num_steps: ``K >= 1``, local steps per round.
      num_steps: ``T >= 1``, communication rounds.
      x0: the start, shape ``(d,)``, finite (default zeros).
      tol: positive threshold on the last round's move for ``converged``.

    Returns:
      :class:`FedAvgTrace`.

    Raises:
      TypeError: ``problem`` not a ``LinearProblem``, non-numeric or non-integer values.
      ValueError: non-positive ``learning_rate``/``tol``, ``local_num_steps < 1``, ``num_steps < 1``,
        ``x0`` of the wrong shape or not finite.
    """
    z0 = _check_fedavg_run(problem, learning_rate, local_num_steps, num_steps, x0, tol)
    dt = problem.B.dtype
    xs = _fedavg_compiled(
        num_steps, problem.B, problem.q, z0, jnp.asarray(learning_rate, dt), jnp.asarray(local_num_steps)
    )
    return _fedavg_trace(problem, xs, num_steps, tol)


def _check_fedavg_run(problem, learning_rate, local_num_steps, num_steps, x0, tol):
    """Validate a FedAvg run's arguments; return the start ``x0`` (zeros by default)."""
    _check_fedavg(problem, learning_rate, local_num_steps)
    require_int("num_steps", num_steps, minimum=1)
    as_float_array("tol", tol, ndim=0)
    require_positive("tol", tol)
    dt = problem.B.dtype
    n = problem.dim
    z0 = jnp.zeros(n, dt) if x0 is None else as_float_array("x0", x0, ndim=1).astype(dt)
    if z0.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {z0.shape}")
    return z0


def _fedavg_trace(problem, xs, num_steps, tol):
    """The :class:`FedAvgTrace` of the server models ``xs`` (``(T + 1, d)``, start included)."""
    e = xs - problem.z_star
    Bbar = jnp.mean(problem.B, 0)
    sub = 0.5 * jnp.einsum("ti,ij,tj->t", e, Bbar, e, precision=_HI)
    moved = jnp.linalg.norm(xs[-1] - xs[-2])
    return FedAvgTrace(xs[-1], xs, jnp.sum(e * e, axis=1), sub, moved < tol, jnp.asarray(num_steps))


# region: distributed-fedavg-round
def _local_gd(B_m, q_m, x, learning_rate, local_num_steps):  # one client: K GD steps on f_m from x
    step = lambda _, x: x - learning_rate * (jnp.matmul(B_m, x, precision=_HI) - q_m)  # noqa: E731
    return lax.fori_loop(0, local_num_steps, step, x)


def _clients_run(B, q, x, learning_rate, local_num_steps):  # all clients at once: (M, d)
    return jax.vmap(_local_gd, in_axes=(0, 0, None, None, None))(B, q, x, learning_rate, local_num_steps)


# endregion: distributed-fedavg-round


@partial(jax.jit, static_argnums=(0,))
def _fedavg_compiled(num_steps, B, q, z0, learning_rate, local_num_steps):
    # region: distributed-fedavg-server
    def round_(x, _):
        x = jnp.mean(_clients_run(B, q, x, learning_rate, local_num_steps), axis=0)  # server averages
        return x, x

    # endregion: distributed-fedavg-server
    _, xs = lax.scan(round_, z0, None, length=num_steps)
    return jnp.concatenate([z0[None], xs])


def fedavg_fixed_point(
    problem: LinearProblem, *, learning_rate: float, local_num_steps: int
) -> Float[Array, " d"]:
    """The point FedAvg with ``K`` local GD steps converges to, in closed form.

    With ``H_m = B_m`` and ``T_m = I - γH_m``, ``K`` local steps map ``x`` to
    ``T_m^K x + S_m q_m`` with ``S_m = γ Σ_{j<K} T_m^j``; so the fixed point ``x̄_K`` solves
    ``(1/M) Σ_m S_m (H_m x - q_m) = 0``:

        x̄_K = (Σ_m S_m H_m)⁻¹ Σ_m S_m q_m,     S_m H_m = I - T_m^K,

    computed from the eigendecomposition of each ``H_m`` (``S_m`` has eigenvalues
    ``(1 - (1 - γλ)^K)/λ``, and ``γK`` where ``λ = 0``). ``K = 1`` gives ``x*``; as
    ``K → ∞`` (with ``γ < 2/λ_max(H_m)``) ``x̄_K`` tends to the average of the clients'
    optima. See Charles and Konečný (2021) and Pathak and Wainwright (2020).

    Args:
      problem: a :class:`LinearProblem` with symmetric ``B_m``.
      learning_rate: positive step ``γ``.
      local_num_steps: ``K >= 1`` (traced under ``jit``).

    Returns:
      ``x̄_K``, shape ``(d,)``.

    Raises:
      TypeError: ``problem`` not a ``LinearProblem``, non-numeric or non-integer values.
      ValueError: non-positive ``learning_rate``, ``local_num_steps < 1``.
    """
    _check_fedavg(problem, learning_rate, local_num_steps)
    dt = problem.B.dtype
    return _fixed_point_compiled(
        problem.B,
        problem.q,
        jnp.ones(problem.num_workers, dt),
        jnp.asarray(learning_rate, dt),
        jnp.asarray(local_num_steps),
    )


@jax.jit
def _fixed_point_compiled(B, q, weights, learning_rate, local_num_steps):
    """The solution of ``Σ_m w_m S_m (H_m x − q_m) = 0`` (FedAvg's fixed point for equal ``w_m``)."""
    lam, V = jnp.linalg.eigh(B)  # (M, d), (M, d, d)
    contraction = (1 - learning_rate * lam) ** local_num_steps  # eigenvalues of T_m^K
    safe = jnp.where(lam == 0, 1.0, lam)
    s = jnp.where(lam == 0, learning_rate * local_num_steps, (1 - contraction) / safe)  # eigenvalues of S_m
    SH = jnp.einsum("m,mij,mj,mkj->ik", weights, V, 1 - contraction, V, precision=_HI)  # Σ_m w_m S_m H_m
    Sq = jnp.einsum("m,mij,mj,mkj,mk->i", weights, V, s, V, q, precision=_HI)  # Σ_m w_m S_m q_m
    return jnp.linalg.solve(SH, Sq)
