"""Methods with compressed communication: EF21, MASHA and their run (chapter 15)."""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.sharding import Mesh
from jax.sharding import PartitionSpec as P

from .._checks import (
    as_float_array,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from .._types import Array, Bool, Float, Int, PRNGKeyArray
from ._common import _HI, AXIS
from .compressors import Identity, LowRank, RandK, TopK
from .problems import LinearProblem
from .sharding import worker_mesh

# ----------------------------------------------------------------------------- methods

METHODS = ("naive", "ef14", "ef21", "econtrol", "eg", "naive_eg", "masha1")


class CompressedTrace(NamedTuple):
    """Output of :func:`run_compressed`.

    Every run takes all ``num_steps`` rounds (there is no early stop). The iterates
    themselves are not recorded (only the final point leaves the devices); the histories
    have one entry per round ``t = 0 … T``, the start included.

    Attributes:
      params: the final point ``z_T``.
      suboptimalities: ``½(z_t - z*)ᵀ sym(B̄)(z_t - z*)`` (``f - f*`` for minimisation).
      distances: ``‖z_t - z*‖²``.
      floats: the cumulative number of floats sent by all workers to the server after ``t``
        rounds (``floats[0]`` counts the initial exchange).
      converged: whether the last suboptimality is below ``tol``.
      n_iters: the rounds taken, ``num_steps``.
    """

    params: Array
    suboptimalities: Array
    distances: Array
    floats: Array
    converged: Bool[Array, ""]
    n_iters: Int[Array, ""]


def communication_per_round(method: str, compressor, dim: int, num_workers: int, tau: float = 0.0) -> float:
    """Expected floats sent worker→server per round (all workers together).

    Args:
      method: one of :data:`METHODS`.
      compressor: a :class:`TopK`, :class:`RandK`, :class:`Identity` or :class:`LowRank`.
      dim: positive dimension ``n``.
      num_workers: positive number of workers.
      tau: MASHA1's refresh probability in ``[0, 1]``.

    Returns:
      The number of floats, a Python float.

    Raises:
      TypeError: wrong compressor or non-integer sizes. ValueError: unknown method, bad values.
    """
    _check_method(method)
    _check_compressor(compressor)
    require_int("dim", dim, minimum=1)
    require_int("num_workers", num_workers, minimum=1)
    tau = float(as_float_array("tau", tau, ndim=0))
    require_in_range("tau", tau, 0.0, 1.0)
    c = compressor.floats(dim)
    per_worker = {
        "naive": c,
        "ef14": c,
        "ef21": c,
        "econtrol": c,
        "eg": 2 * dim,
        "naive_eg": 2 * c,
        "masha1": c + tau * dim,
    }[method]
    return float(num_workers * per_worker)


def _initial_floats(method: str, dim: int, num_workers: int) -> float:
    # ef21/econtrol start from h_m = ∇f_m(x0) sent uncompressed; masha1 sends F_m(w0).
    return float(num_workers * dim) if method in ("ef21", "econtrol", "masha1") else 0.0


def _check_method(method):
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")


def _check_compressor(compressor):
    if not isinstance(compressor, (TopK, RandK, Identity, LowRank)):
        raise TypeError(
            f"compressor must be TopK, RandK, Identity or LowRank, got {type(compressor).__name__}"
        )


def _validate(method, problem, compressor, learning_rate, num_steps, feedback_strength, tau, tol):
    _check_method(method)
    if not isinstance(problem, LinearProblem):
        raise TypeError(
            "problem must be a LinearProblem (see heterogeneous_quadratics / distributed_bilinear_game)"
        )
    _check_compressor(compressor)
    for name, v in (
        ("learning_rate", learning_rate),
        ("feedback_strength", feedback_strength),
        ("tau", tau),
        ("tol", tol),
    ):
        as_float_array(name, v, ndim=0)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_positive("tol", tol)
    require_in_range("tau", tau, 0.0, 1.0)
    if method == "econtrol":
        require_positive("feedback_strength", feedback_strength)
    else:
        require_nonnegative("feedback_strength", feedback_strength)
    if isinstance(compressor, LowRank):
        if method not in ("naive", "ef14"):
            raise ValueError(
                f"the LowRank (PowerSGD) compressor runs with method 'naive' (no error feedback) or "
                f"'ef14' (error feedback), got {method!r}"
            )
        compressor.shape(problem.dim)
    if method == "masha1":
        require_in_range("tau", tau, 0.0, 1.0, low_inclusive=False)
        if not compressor.unbiased:
            raise ValueError(
                "MASHA1 needs an unbiased compressor (RandK with scaled=True or Identity); "
                "Top-k is biased (MASHA2 handles contractive compressors)"
            )


def run_compressed(
    method: str,
    problem: LinearProblem,
    compressor,
    *,
    learning_rate: float,
    num_steps: int,
    key: PRNGKeyArray | None = None,
    x0: Float[Array, " n"] | None = None,
    feedback_strength: float = 0.1,
    tau: float = 0.1,
    tol: float = 1e-8,
    mesh: Mesh | None = None,
) -> CompressedTrace:
    """Run ``method`` for ``num_steps`` rounds with the workers sharded over ``mesh``.

    ``learning_rate`` is the step size γ; ``feedback_strength`` is EControl's η; ``tau`` is
    MASHA1's probability ``p`` of refreshing the reference point ``w``, and ``1 - p`` is the
    weight of ``z`` in its anchor ``z̄ = (1 - p) z + p w`` (the paper's ``τ`` is ``1 - p``).
    ``key`` seeds Rand-k, MASHA1's coin and PowerSGD's first ``Q`` (default key 0). With the
    :class:`LowRank` compressor, ``"naive"`` is PowerSGD without error feedback and ``"ef14"``
    is PowerSGD with it (Vogels et al. 2019, Algorithm 2 without momentum): the workers
    all-reduce ``P`` and ``Q`` and the warm-started ``Q`` is carried from round to round.
    The loop is compiled once per (method, compressor, num_steps, mesh, shapes).

    Args:
      method: one of :data:`METHODS`.
      problem: a :class:`LinearProblem`.
      compressor: :class:`TopK`, :class:`RandK`, :class:`Identity` or :class:`LowRank`.
      learning_rate: positive step size γ.
      num_steps: positive number of rounds.
      key: a JAX PRNG key (default ``jax.random.key(0)``).
      x0: start, shape ``(n,)``, finite (default zeros).
      feedback_strength: EControl's η (positive for ``"econtrol"``, non-negative otherwise).
      tau: MASHA1's refresh probability, in ``(0, 1]`` for ``"masha1"``, ``[0, 1]`` otherwise.
      tol: positive threshold of ``converged``.
      mesh: a one-axis mesh named ``"workers"`` (default :func:`worker_mesh`).

    Returns:
      :class:`CompressedTrace`.

    Raises:
      TypeError: wrong ``problem``/``compressor``/``mesh`` types, an integer seed as ``key``,
        non-numeric values.
      ValueError: unknown method, out-of-range values, ``x0`` of the wrong shape or not finite,
        workers not divisible over the mesh, a biased compressor with MASHA1, a
        :class:`LowRank` compressor with another method than ``"naive"``/``"ef14"`` or whose
        ``rows``/``rank`` do not fit the dimension.
    """
    _validate(method, problem, compressor, learning_rate, num_steps, feedback_strength, tau, tol)
    M, n = problem.num_workers, problem.dim
    dt = problem.B.dtype
    z0 = jnp.zeros(n, dt) if x0 is None else as_float_array("x0", x0, ndim=1).astype(dt)
    if z0.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {z0.shape}")
    key = jax.random.key(0) if key is None else key
    require_key("key", key)
    if mesh is not None and not (isinstance(mesh, Mesh) and AXIS in mesh.shape):
        raise TypeError(f"mesh must be a jax.sharding.Mesh with an axis named {AXIS!r} (see worker_mesh)")
    mesh = worker_mesh(M) if mesh is None else mesh
    if M % mesh.shape[AXIS] != 0:
        raise ValueError(f"{M} workers cannot be split evenly over {mesh.shape[AXIS]} devices")
    worker_keys = jax.random.split(jax.random.fold_in(key, 1), M)
    coins = jax.random.bernoulli(jax.random.fold_in(key, 2), tau, (num_steps,))  # MASHA1's refreshes
    if isinstance(compressor, LowRank):  # PowerSGD's first Q, shared by all workers
        Q0 = jax.random.normal(jax.random.fold_in(key, 3), (compressor.shape(n)[1], compressor.rank), dt)
    else:
        Q0 = jnp.zeros((1, 1), dt)
    z, sub, dist = _run_compiled(
        method,
        compressor,
        num_steps,
        mesh,
        M,
        problem.B,
        problem.q,
        worker_keys,
        z0,
        problem.z_star,
        jnp.asarray(learning_rate, z0.dtype),
        jnp.asarray(feedback_strength, z0.dtype),
        jnp.asarray(tau, z0.dtype),
        coins,
        Q0,
    )
    if method == "masha1":  # the rounds that refreshed w also sent F_m(w) uncompressed
        per_round = M * compressor.floats(n) + M * n * coins.astype(sub.dtype)
    else:
        per_round = jnp.full(num_steps, communication_per_round(method, compressor, n, M), sub.dtype)
    floats = _initial_floats(method, n, M) + jnp.concatenate([jnp.zeros(1, sub.dtype), jnp.cumsum(per_round)])
    return CompressedTrace(z, sub, dist, floats, sub[-1] < tol, jnp.asarray(num_steps))


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _run_compiled(method, compressor, num_steps, mesh, M, *args):
    return _build(method, compressor, num_steps, mesh, M)(*args)


def _build(method, C, num_steps, mesh, M):
    """The shard_map'd loop. Inside, arrays with a leading worker axis hold this device's workers."""

    # region: distributed-allreduce
    def mean_over_workers(v_local):  # (m_local, n) -> (n,), replicated on every device
        return lax.psum(v_local.sum(0), AXIS) / M

    def compress(v_local, keys_local, t):  # one message per local worker
        ks = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys_local)
        return jax.vmap(C)(v_local, ks)

    # endregion: distributed-allreduce

    # region: distributed-powersgd
    def powersgd(m_loc, Q):  # m_loc: this device's messages (m_local, n); Q: (cols, r), shared
        rows = C.rows
        Ms = m_loc.reshape(m_loc.shape[0], rows, -1)  # each message as a rows × cols matrix
        P = mean_over_workers(jnp.einsum("mij,jr->mir", Ms, Q, precision=_HI))  # all-reduce of M_m Q
        P_hat = jnp.linalg.qr(P)[0]  # orthogonalise
        Q_loc = jnp.einsum("mij,ir->mjr", Ms, P_hat, precision=_HI)  # each worker's M_mᵀ P̂
        Q = mean_over_workers(Q_loc)  # all-reduce; warm-starts the next round
        sent_loc = jnp.einsum("ir,mjr->mij", P_hat, Q_loc, precision=_HI).reshape(m_loc.shape)
        return sent_loc, jnp.matmul(P_hat, Q.T, precision=_HI).ravel(), Q

    # endregion: distributed-powersgd

    def body(B_loc, q_loc, keys_loc, z0, z_star, learning_rate, feedback_strength, tau, coins, Q0):
        def F_loc(z):  # local operators at a replicated point: (m_local, n)
            return jnp.einsum("mij,j->mi", B_loc, z, precision=_HI) - q_loc

        Bbar = lax.psum(B_loc.sum(0), AXIS) / M
        S = 0.5 * (Bbar + Bbar.T)

        def metrics(z):
            e = z - z_star
            return 0.5 * jnp.dot(e, jnp.dot(S, e, precision=_HI), precision=_HI), e @ e

        zeros_loc = jnp.zeros_like(q_loc)

        if isinstance(C, LowRank) and method == "naive":  # PowerSGD without error feedback

            def step_fn(carry, t):
                z, Q = carry
                _, mean, Q = powersgd(learning_rate * F_loc(z), Q)
                return (z - mean, Q), metrics(z - mean)

            init = (z0, Q0)
        elif isinstance(C, LowRank):  # PowerSGD with error feedback (method "ef14")

            def step_fn(carry, t):
                z, e, Q = carry
                m = e + learning_rate * F_loc(z)
                sent_loc, mean, Q = powersgd(m, Q)
                e = m - sent_loc  # what this worker's compressed message missed
                return (z - mean, e, Q), metrics(z - mean)

            init = (z0, zeros_loc, Q0)
        elif method == "naive":

            def step_fn(carry, t):
                (z,) = carry
                z = z - learning_rate * mean_over_workers(compress(F_loc(z), keys_loc, t))
                return (z,), metrics(z)

            init = (z0,)
        elif method == "ef14":

            def step_fn(carry, t):
                z, e = carry
                p = compress(e + learning_rate * F_loc(z), keys_loc, t)
                e = e + learning_rate * F_loc(z) - p
                z = z - mean_over_workers(p)
                return (z, e), metrics(z)

            init = (z0, zeros_loc)
        elif method == "ef21":
            # region: distributed-ef21-step
            def step_fn(carry, t):
                z, h_loc, h = carry
                z = z - learning_rate * h
                c = compress(F_loc(z) - h_loc, keys_loc, t)
                return (z, h_loc + c, h + mean_over_workers(c)), metrics(z)

            # endregion: distributed-ef21-step

            g0 = F_loc(z0)
            init = (z0, g0, mean_over_workers(g0))
        elif method == "econtrol":

            def step_fn(carry, t):
                z, e, h_loc, h = carry
                g = F_loc(z)
                delta = compress(feedback_strength * e + g - h_loc, keys_loc, t)
                z = z - learning_rate * (h + mean_over_workers(delta))
                e = e + g - h_loc - delta
                h_new = h + mean_over_workers(delta)
                return (z, e, h_loc + delta, h_new), metrics(z)

            g0 = F_loc(z0)
            init = (z0, zeros_loc, g0, mean_over_workers(g0))
        elif method in ("eg", "naive_eg"):

            def step_fn(carry, t):
                (z,) = carry
                half = z - learning_rate * mean_over_workers(compress(F_loc(z), keys_loc, 2 * t))
                z = z - learning_rate * mean_over_workers(compress(F_loc(half), keys_loc, 2 * t + 1))
                return (z,), metrics(z)

            init = (z0,)
        elif method == "masha1":
            # region: distributed-masha1-step
            def step_fn(carry, t):
                z, w, Fw_loc, Fw = carry
                # loopless variance reduction (Alacaoglu & Malitsky 2022; MASHA1's box): weight
                # 1 - p on z, p on w, where p = tau is the probability of refreshing w. The paper's
                # anchor weight is its τ = 1 - p; it is *not* the refresh probability.
                zbar = (1 - tau) * z + tau * w
                half = zbar - learning_rate * Fw
                g = mean_over_workers(compress(F_loc(half) - Fw_loc, keys_loc, t))
                z = zbar - learning_rate * (Fw + g)
                refresh = coins[t]
                w = jnp.where(refresh, z, w)
                Fw_loc = jnp.where(refresh, F_loc(z), Fw_loc)
                Fw = jnp.where(refresh, mean_over_workers(F_loc(z)), Fw)
                return (z, w, Fw_loc, Fw), metrics(z)

            # endregion: distributed-masha1-step
            g0 = F_loc(z0)
            init = (z0, z0, g0, mean_over_workers(g0))
        else:  # pragma: no cover - validated earlier
            raise ValueError(method)

        carry, (sub, dist) = lax.scan(step_fn, init, jnp.arange(num_steps))
        s0, d0 = metrics(z0)
        return carry[0], jnp.concatenate([s0[None], sub]), jnp.concatenate([d0[None], dist])

    w = P(AXIS)
    return jax.shard_map(
        body, mesh=mesh, in_specs=(w, w, w, P(), P(), P(), P(), P(), P(), P()), out_specs=(P(), P(), P())
    )
