"""Asynchronous FedAvg: arrival schedules, the run and its limit (chapter 15)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._checks import (
    as_float_array,
    require_int,
)
from .._types import Array, Bool, Float, Int
from .federated_averaging import _check_fedavg, _check_fedavg_run, _fixed_point_compiled, _local_gd
from .problems import LinearProblem

# ---------------------------------------------------------------- asynchronous clients


class AsyncFedAvgTrace(NamedTuple):
    """Output of :func:`async_fedavg`: one row per server update ``n = 0 … T`` (start included).

    Attributes:
      params: the final server model ``x_T``.
      iterates: the server models ``x_0, …, x_T``, shape ``(T + 1, d)``.
      times: the wall-clock time of each server model (``0`` for the start), ``(T + 1,)``.
      clients: the client whose update made server step ``n``, ``(T,)``.
      staleness: how many server updates happened while that client computed, ``(T,)``.
      distances: ``‖x_n − x*‖²`` to the global optimum.
      converged: whether the averages of the last two quarters of the run differ by less than
        ``tol`` (asynchronous iterates cycle with the schedule; their averages settle).
      n_iters: the server updates taken, ``num_steps``.
    """

    params: Float[Array, " d"]
    iterates: Float[Array, "T+1 d"]
    times: Float[Array, " T+1"]
    clients: Int[Array, " T"]
    staleness: Int[Array, " T"]
    distances: Float[Array, " T+1"]
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def _check_compute_times(compute_times, num_workers=None):
    t = np.asarray(as_float_array("compute_times", compute_times, ndim=1), dtype=np.float64)
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"compute_times must be finite and positive, got {compute_times!r}")
    if num_workers is not None and t.size != num_workers:
        raise ValueError(f"compute_times must have one entry per client ({num_workers}), got {t.size}")
    return t


def arrival_schedule(
    compute_times: Float[Array, " M"], *, num_steps: int
) -> tuple[Int[np.ndarray, " T"], Float[np.ndarray, " T"], Int[np.ndarray, " T"]]:
    """The order in which clients deliver updates when client ``m`` needs ``T_m`` time units
    per local run and starts again as soon as it has delivered: client ``m`` arrives at
    ``T_m, 2T_m, …``; simultaneous arrivals are served by client index.

    Args:
      compute_times: ``(M,)`` positive times ``T_m``.
      num_steps: the number of arrivals ``T ≥ 1``.

    Returns:
      ``(clients, times, staleness)``: the client of each arrival, its time, and how many
      arrivals (server updates) happened after that client's run started and before it ended.

    Raises:
      TypeError: non-numeric ``compute_times``, non-integer ``num_steps``.
      ValueError: non-positive or non-finite ``compute_times``, ``num_steps < 1``.
    """
    t = _check_compute_times(compute_times)
    require_int("num_steps", num_steps, minimum=1)
    m = t.size
    reps = (
        np.ceil(num_steps * np.max(t) / np.sum(t) * (1 + 1e-9)).astype(int) + 1
    )  # enough arrivals per client
    counts = np.maximum(1, np.ceil(reps * np.max(t) / t).astype(int))
    client = np.concatenate([np.full(c, i) for i, c in enumerate(counts)])
    k = np.concatenate([np.arange(1, c + 1) for c in counts])
    when = k * t[client]
    order = np.lexsort((client, when))[:num_steps]
    clients, times = client[order], when[order]
    last = np.full(m, -1)  # index of the server update after which each client last started (−1: the start)
    staleness = np.empty(num_steps, dtype=np.int64)
    for n, c in enumerate(clients):
        staleness[n] = n - 1 - last[c]
        last[c] = n
    return clients.astype(np.int64), times, staleness


def async_fedavg(
    problem: LinearProblem,
    *,
    compute_times: Float[Array, " M"],
    learning_rate: float,
    local_num_steps: int,
    num_steps: int,
    server_weights: Float[Array, " M"] | None = None,
    x0: Float[Array, " d"] | None = None,
    tol: float = 1e-8,
) -> AsyncFedAvgTrace:
    """Asynchronous FedAvg (after Fraboni et al. 2023): the server applies each client's update
    the moment it arrives, without waiting for the others.

    Client ``m`` takes ``T_m = compute_times[m]`` time units to run ``K = local_num_steps``
    gradient steps on ``f_m`` from the model ``x_{ρ_m}`` it last received; when it delivers,
    the server sets ``x_{n+1} = x_n + ω_m (x^m_{ρ_m,K} − x_{ρ_m})`` and sends ``x_{n+1}`` back
    to it (its next run starts from it). The update is *stale*: ``x_{ρ_m}`` is older than
    ``x_n`` (:func:`arrival_schedule` gives the order and the staleness). With
    ``ω_m = 1/M`` (the default, FedAvg's weights) fast clients contribute more often, and the
    iterates settle near :func:`async_fedavg_limit`, not near FedAvg's fixed point.

    Args:
      problem: a :class:`LinearProblem` with symmetric ``B_m`` (e.g. :func:`heterogeneous_least_squares`).
      compute_times: ``(M,)`` positive times ``T_m``.
      learning_rate: the clients' positive step ``γ``.
      local_num_steps: ``K ≥ 1``.
      num_steps: ``T ≥ 1`` server updates (client arrivals).
      server_weights: ``(M,)`` non-negative ``ω_m`` (default ``1/M`` each).
      x0: the start, shape ``(d,)``, finite (default zeros).
      tol: positive threshold on the move of the averaged model for ``converged``.

    Returns:
      :class:`AsyncFedAvgTrace`.

    Raises:
      TypeError: ``problem`` not a ``LinearProblem``, non-numeric or non-integer values.
      ValueError: bad ``compute_times`` or ``server_weights`` (shape, sign), non-positive
        ``learning_rate``/``tol``, ``local_num_steps < 1``, ``num_steps < 1``, a bad ``x0``.
    """
    z0 = _check_fedavg_run(problem, learning_rate, local_num_steps, num_steps, x0, tol)
    m = problem.num_workers
    t = _check_compute_times(compute_times, m)
    w = _check_server_weights(server_weights, m)
    clients, times, staleness = arrival_schedule(t, num_steps=num_steps)
    dt = problem.B.dtype
    xs = _async_fedavg_compiled(
        problem.B,
        problem.q,
        z0,
        jnp.asarray(clients),
        jnp.asarray(w, dt),
        jnp.asarray(learning_rate, dt),
        jnp.asarray(local_num_steps),
    )
    e = xs - problem.z_star
    window = max(1, num_steps // 4)  # the last two quarters of the run, averaged
    late = jnp.mean(xs[-window:], axis=0) - jnp.mean(xs[-2 * window - 1 : -window - 1], axis=0)
    return AsyncFedAvgTrace(
        xs[-1],
        xs,
        jnp.concatenate([jnp.zeros(1, dt), jnp.asarray(times, dt)]),
        jnp.asarray(clients),
        jnp.asarray(staleness),
        jnp.sum(e * e, axis=1),
        jnp.linalg.norm(late) < tol,
        jnp.asarray(num_steps),
    )


def _check_server_weights(server_weights, m):
    if server_weights is None:
        return np.full(m, 1.0 / m)
    w = np.asarray(as_float_array("server_weights", server_weights, ndim=1), dtype=np.float64)
    if w.shape != (m,):
        raise ValueError(f"server_weights must have shape ({m},), got {w.shape}")
    if not np.all(np.isfinite(w)) or np.any(w < 0) or not np.any(w > 0):
        raise ValueError(
            f"server_weights must be finite, non-negative and not all zero, got {server_weights!r}"
        )
    return w


@jax.jit
def _async_fedavg_compiled(B, q, z0, clients, weights, learning_rate, local_num_steps):
    # region: distributed-async-fedavg
    def arrival(state, m):
        x, starts = state  # the server model, and the model each client's current run started from
        local = _local_gd(B[m], q[m], starts[m], learning_rate, local_num_steps)
        x = x + weights[m] * (local - starts[m])  # apply the (stale) update at once
        return (x, starts.at[m].set(x)), x  # client m restarts from the new model

    # endregion: distributed-async-fedavg
    starts = jnp.broadcast_to(z0, (B.shape[0], z0.shape[0]))
    _, xs = lax.scan(arrival, (z0, starts), clients)
    return jnp.concatenate([z0[None], xs])


def async_fedavg_limit(
    problem: LinearProblem,
    *,
    compute_times: Float[Array, " M"],
    learning_rate: float,
    local_num_steps: int,
    server_weights: Float[Array, " M"] | None = None,
) -> Float[Array, " d"]:
    """The point asynchronous FedAvg drifts to, to first order in the step sizes.

    Over a long time ``τ`` client ``m`` delivers about ``τ/T_m`` updates, each
    ``ω_m (T_m^K − I)(x − x_m) = −ω_m S_m (H_m x − q_m)`` up to staleness (as in
    :func:`fedavg_fixed_point`: ``T_m = I − γH_m``, ``S_m = γ Σ_{j<K} T_m^j``). The averaged
    drift vanishes at

        x̃ = (Σ_m w_m S_m H_m)⁻¹ Σ_m w_m S_m q_m,     w_m = ω_m / T_m,

    FedAvg's fixed point with client ``m`` weighted by how often it reports. With ``K = 1`` this
    minimises ``Σ_m w_m f_m``; equal ``T_m`` or ``ω_m ∝ T_m`` give back FedAvg's fixed point.

    Args:
      problem: a :class:`LinearProblem` with symmetric ``B_m``.
      compute_times: ``(M,)`` positive times ``T_m``.
      learning_rate: positive ``γ``.
      local_num_steps: ``K ≥ 1``.
      server_weights: ``(M,)`` non-negative ``ω_m`` (default ``1/M`` each).

    Returns:
      ``x̃``, shape ``(d,)``.

    Raises:
      TypeError: ``problem`` not a ``LinearProblem``, non-numeric or non-integer values.
      ValueError: bad ``compute_times``/``server_weights``, non-positive ``learning_rate``,
        ``local_num_steps < 1``.
    """
    _check_fedavg(problem, learning_rate, local_num_steps)
    m = problem.num_workers
    t = _check_compute_times(compute_times, m)
    w = _check_server_weights(server_weights, m) / t
    dt = problem.B.dtype
    return _fixed_point_compiled(
        problem.B,
        problem.q,
        jnp.asarray(w / w.sum(), dt),
        jnp.asarray(learning_rate, dt),
        jnp.asarray(local_num_steps),
    )
