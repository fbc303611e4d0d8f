"""Distributed optimisation with compressed communication.

``M`` workers each hold a linear operator ``F_m(z) = B_m z - q_m``; the server
wants a zero of the average ``F = (1/M) Σ_m F_m``. For minimisation ``B_m = A_m``
is symmetric and ``F_m = ∇f_m`` with ``f_m(x) = ½ xᵀA_m x - q_mᵀx``; for a
variational inequality (a min-max game) ``B_m`` has a skew part.

Every round a worker sends one compressed vector ``C(v)`` to the server, which
averages and broadcasts. The methods differ in *what* they compress:

* ``"naive"``:    ``C(∇f_m(x))``, biased; stalls (EControl paper's warning);
* ``"ef14"``:     error feedback, ``C(e_m + γ∇f_m(x))`` with memory ``e_m``
  (Seide et al. 2014; Stich et al. 2018);
* ``"ef21"``:     Markov compression of gradient *differences*,
  ``C(∇f_m(x⁺) - h_m)`` (Richtárik et al. 2021);
* ``"econtrol"``: ``C(η e_m + ∇f_m(x) - h_m)``, error compensation whose strength
  ``η`` is controlled (Gao, Islamov and Stich 2023);
* ``"eg"``, ``"naive_eg"``, ``"masha1"``: extragradient for the VI without
  compression, with naively compressed operator values, and MASHA1
  (Beznosikov et al. 2022), which compresses ``F_m(z^{k+½}) - F_m(w^k)`` against a
  reference point ``w`` refreshed with probability ``τ``.

The workers are **real JAX devices**: :func:`run` places each worker's data on
the devices of a one-axis mesh named ``"workers"`` and runs the whole loop inside
:func:`jax.shard_map`, aggregating with ``lax.psum``. On a CPU, expose several
host devices with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` *before*
importing JAX; on a multi-GPU machine the same code uses the GPUs. When
``M`` workers exceed the devices, each device holds ``M / D`` of them (``vmap``).
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, PartitionSpec as P

from ._checks import require_finite, require_int, require_ndim, require_positive, require_in_range

Array = jax.Array

__all__ = [
    "TopK", "RandK", "Identity", "LinearProblem", "heterogeneous_quadratics", "distributed_bilinear_game",
    "worker_mesh", "run", "CompressedTrace", "METHODS", "communication_per_round",
]

AXIS = "workers"


# ----------------------------------------------------------------------------- compressors

@dataclasses.dataclass(frozen=True)
class TopK:
    """Top-k sparsification: keep the ``k`` entries of largest magnitude.

    Contractive with ``α = k/d``: ``‖C(v) - v‖² ≤ (1 - α)‖v‖²``. Biased.
    Sends ``k`` floats (and ``k`` integer indices) per message.
    """

    k: int

    def __post_init__(self):
        require_int("k", self.k, minimum=1)

    def __call__(self, v: Array, key: Optional[Array] = None) -> Array:
        _, idx = lax.top_k(jnp.abs(v), self.k)
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
    """

    k: int
    scaled: bool = True

    def __post_init__(self):
        require_int("k", self.k, minimum=1)

    def __call__(self, v: Array, key: Optional[Array] = None) -> Array:
        if key is None:
            raise ValueError("RandK needs a PRNG key")
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

    def __call__(self, v: Array, key: Optional[Array] = None) -> Array:
        return v

    def floats(self, dim: int) -> int:
        return dim

    def contraction(self, dim: int) -> float:
        return 1.0

    unbiased = True
    needs_key = False


# ----------------------------------------------------------------------------- problems

class LinearProblem(NamedTuple):
    """``M`` workers with operators ``F_m(z) = B_m z - q_m``; solution ``z*`` of ``F̄(z*) = 0``.

    ``B`` has shape ``(M, n, n)`` and ``q`` shape ``(M, n)``. For a minimisation problem
    (``B_m`` symmetric) ``f(x) - f* = ½ (x - x*)ᵀ B̄ (x - x*)``.
    """

    B: Array
    q: Array
    z_star: Array
    L: float          # ‖B̄‖₂ (smoothness of the average)
    L_tilde: float    # sqrt(mean_m ‖B_m‖₂²) (the constant of EF21's step size)
    mu: float         # smallest eigenvalue of sym(B̄) (strong monotonicity / convexity)

    @property
    def num_workers(self) -> int:
        return self.B.shape[0]

    @property
    def dim(self) -> int:
        return self.B.shape[-1]

    def operator(self, z: Array) -> Array:
        """Average operator ``F̄(z)``."""
        return jnp.mean(jnp.einsum("mij,j->mi", self.B, z) - self.q, axis=0)

    def suboptimality(self, z: Array) -> Array:
        """``½ (z - z*)ᵀ sym(B̄) (z - z*)``: ``f(z) - f*`` for minimisation."""
        e = z - self.z_star
        return 0.5 * e @ (jnp.mean(self.B, 0) @ e)


def _make_problem(B: np.ndarray, q: np.ndarray) -> LinearProblem:
    require_ndim("B", B, 3)
    require_ndim("q", q, 2)
    M, n, n2 = B.shape
    if n != n2 or q.shape != (M, n):
        raise ValueError(f"expected B of shape (M, n, n) and q of shape (M, n), got {B.shape} and {q.shape}")
    require_finite("B", B)
    require_finite("q", q)
    Bbar, qbar = B.mean(0), q.mean(0)
    mu = float(np.linalg.eigvalsh(0.5 * (Bbar + Bbar.T)).min())
    if mu <= 0:
        raise ValueError(f"the average operator must be strongly monotone (smallest eigenvalue of sym(B̄) = {mu:.3g} ≤ 0)")
    z_star = np.linalg.solve(Bbar, qbar)
    L = float(np.linalg.norm(Bbar, 2))
    L_tilde = float(np.sqrt(np.mean([np.linalg.norm(b, 2) ** 2 for b in B])))
    return LinearProblem(jnp.asarray(B), jnp.asarray(q), jnp.asarray(z_star), L, L_tilde, mu)


def heterogeneous_quadratics(seed: int = 0, num_workers: int = 8, dim: int = 100, spectrum=(0.1, 1.0),
                             offset_scale: float = 5.0) -> LinearProblem:
    """Worker ``m`` holds ``f_m(x) = ½ xᵀA_m x - q_mᵀx`` with eigenvalues of ``A_m`` in ``spectrum``
    (random eigenbasis per worker) and a worker-specific offset ``q_m`` of scale ``offset_scale``:
    the data are *heterogeneous*, ``∇f_m(x*) ≠ 0``."""
    require_int("num_workers", num_workers, minimum=1)
    require_int("dim", dim, minimum=1)
    lo, hi = spectrum
    require_positive("spectrum[0]", lo)
    if hi < lo:
        raise ValueError(f"spectrum must be (low, high) with low ≤ high, got {spectrum}")
    rng = np.random.default_rng(seed)
    B = np.empty((num_workers, dim, dim))
    for m in range(num_workers):
        Q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
        B[m] = (Q * rng.uniform(lo, hi, dim)) @ Q.T
        B[m] = 0.5 * (B[m] + B[m].T)
    q = offset_scale * rng.standard_normal((num_workers, dim))
    return _make_problem(B, q)


def distributed_bilinear_game(seed: int = 0, num_workers: int = 8, dim: int = 25, reg: float = 1.0,
                              coupling: float = 1.0) -> LinearProblem:
    """Regularised bilinear saddle ``min_x max_y (1/M) Σ_m λ/2‖x‖² + xᵀA_m y + b_mᵀx + c_mᵀy - λ/2‖y‖²``.

    Its operator ``F_m(x, y) = (λx + A_m y + b_m, λy - A_mᵀx - c_m)`` is ``λ``-strongly monotone;
    ``z = (x, y)`` has ``n = 2·dim`` coordinates.
    """
    require_positive("reg", reg)
    require_int("num_workers", num_workers, minimum=1)
    require_int("dim", dim, minimum=1)
    rng = np.random.default_rng(seed)
    n = 2 * dim
    B = np.empty((num_workers, n, n))
    q = np.empty((num_workers, n))
    for m in range(num_workers):
        A = coupling * rng.standard_normal((dim, dim)) / np.sqrt(dim)
        B[m] = np.block([[reg * np.eye(dim), A], [-A.T, reg * np.eye(dim)]])
        q[m] = -np.concatenate([rng.standard_normal(dim), -rng.standard_normal(dim)])
    return _make_problem(B, q)


# ----------------------------------------------------------------------------- mesh

def worker_mesh(num_workers: int, devices=None) -> Mesh:
    """One-axis mesh ``("workers",)`` over the largest number of devices dividing ``num_workers``."""
    devices = list(jax.devices() if devices is None else devices)
    D = max(d for d in range(1, len(devices) + 1) if num_workers % d == 0)
    return Mesh(np.array(devices[:D]), (AXIS,))


# ----------------------------------------------------------------------------- methods

METHODS = ("naive", "ef14", "ef21", "econtrol", "eg", "naive_eg", "masha1")


class CompressedTrace(NamedTuple):
    """Output of :func:`run`.

    ``suboptimality[t]`` is ``½(z_t - z*)ᵀ sym(B̄)(z_t - z*)`` (``f - f*`` for minimisation),
    ``distances[t] = ‖z_t - z*‖²``, ``floats[t]`` the cumulative number of floats sent by all
    workers to the server after ``t`` rounds (``floats[0]`` counts the initial exchange);
    ``converged`` says whether the last suboptimality is below ``tol``.
    """

    z: Array
    suboptimality: Array
    distances: Array
    floats: Array
    converged: Array


def communication_per_round(method: str, compressor, dim: int, num_workers: int, tau: float = 0.0) -> float:
    """Expected floats sent worker→server per round (all workers together)."""
    c = compressor.floats(dim)
    per_worker = {"naive": c, "ef14": c, "ef21": c, "econtrol": c, "eg": 2 * dim, "naive_eg": 2 * c,
                  "masha1": c + tau * dim}[method]
    return float(num_workers * per_worker)


def _initial_floats(method: str, dim: int, num_workers: int) -> float:
    # ef21/econtrol start from h_m = ∇f_m(x0) sent uncompressed; masha1 sends F_m(w0).
    return float(num_workers * dim) if method in ("ef21", "econtrol", "masha1") else 0.0


def _validate(method, problem, compressor, step, num_steps, eta, tau):
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    if not isinstance(problem, LinearProblem):
        raise TypeError("problem must be a LinearProblem (see heterogeneous_quadratics / distributed_bilinear_game)")
    if not isinstance(compressor, (TopK, RandK, Identity)):
        raise TypeError(f"compressor must be TopK, RandK or Identity, got {type(compressor).__name__}")
    require_positive("step", step)
    require_int("num_steps", num_steps, minimum=1)
    if method == "econtrol":
        require_positive("eta", eta)
    if method == "masha1":
        require_in_range("tau", tau, 0.0, 1.0, low_inclusive=False)
        if not compressor.unbiased:
            raise ValueError("MASHA1 needs an unbiased compressor (RandK with scaled=True or Identity); "
                             "Top-k is biased (MASHA2 handles contractive compressors)")


def run(method: str, problem: LinearProblem, compressor, step: float, num_steps: int, *, key: Optional[Array] = None,
        x0: Optional[Array] = None, eta: float = 0.1, tau: float = 0.1, tol: float = 1e-8,
        mesh: Optional[Mesh] = None) -> CompressedTrace:
    """Run ``method`` for ``num_steps`` rounds with the workers sharded over ``mesh``.

    ``step`` is γ; ``eta`` is EControl's feedback strength η; ``tau`` is MASHA1's probability
    of refreshing the reference point. ``key`` seeds Rand-k and MASHA1's coin (default key 0).
    """
    _validate(method, problem, compressor, step, num_steps, eta, tau)
    M, n = problem.num_workers, problem.dim
    z0 = jnp.zeros(n, problem.B.dtype) if x0 is None else jnp.asarray(x0, problem.B.dtype)
    if z0.shape != (n,):
        raise ValueError(f"x0 must have shape ({n},), got {z0.shape}")
    require_finite("x0", z0)
    key = jax.random.key(0) if key is None else key
    mesh = worker_mesh(M) if mesh is None else mesh
    if M % mesh.shape[AXIS] != 0:
        raise ValueError(f"{M} workers cannot be split evenly over {mesh.shape[AXIS]} devices")
    worker_keys = jax.random.split(jax.random.fold_in(key, 1), M)
    coins = jax.random.bernoulli(jax.random.fold_in(key, 2), tau, (num_steps,))  # MASHA1's refreshes
    z, sub, dist = _run_compiled(method, compressor, num_steps, mesh, M,
                                 problem.B, problem.q, worker_keys, z0, problem.z_star, jnp.asarray(step, z0.dtype),
                                 jnp.asarray(eta, z0.dtype), jnp.asarray(tau, z0.dtype), coins)
    if method == "masha1":  # the rounds that refreshed w also sent F_m(w) uncompressed
        per_round = M * compressor.floats(n) + M * n * coins.astype(sub.dtype)
    else:
        per_round = jnp.full(num_steps, communication_per_round(method, compressor, n, M), sub.dtype)
    floats = _initial_floats(method, n, M) + jnp.concatenate([jnp.zeros(1, sub.dtype), jnp.cumsum(per_round)])
    return CompressedTrace(z, sub, dist, floats, sub[-1] < tol)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _run_compiled(method, compressor, num_steps, mesh, M, *args):
    return _build(method, compressor, num_steps, mesh, M)(*args)


def _build(method, C, num_steps, mesh, M):
    """The shard_map'd loop. Inside, arrays with a leading worker axis hold this device's workers."""

    def mean_over_workers(v_local):           # (m_local, n) -> (n,), replicated on every device
        return lax.psum(v_local.sum(0), AXIS) / M

    def compress(v_local, keys_local, t):    # one message per local worker
        ks = jax.vmap(lambda k: jax.random.fold_in(k, t))(keys_local)
        return jax.vmap(C)(v_local, ks)

    def body(B_loc, q_loc, keys_loc, z0, z_star, step, eta, tau, coins):
        def F_loc(z):                          # local operators at a replicated point: (m_local, n)
            return jnp.einsum("mij,j->mi", B_loc, z) - q_loc

        Bbar = lax.psum(B_loc.sum(0), AXIS) / M
        S = 0.5 * (Bbar + Bbar.T)

        def metrics(z):
            e = z - z_star
            return 0.5 * e @ (S @ e), e @ e

        zeros_loc = jnp.zeros_like(q_loc)

        if method == "naive":
            def step_fn(carry, t):
                z, = carry
                z = z - step * mean_over_workers(compress(F_loc(z), keys_loc, t))
                return (z,), metrics(z)
            init = (z0,)
        elif method == "ef14":
            def step_fn(carry, t):
                z, e = carry
                p = compress(e + step * F_loc(z), keys_loc, t)
                e = e + step * F_loc(z) - p
                z = z - mean_over_workers(p)
                return (z, e), metrics(z)
            init = (z0, zeros_loc)
        elif method == "ef21":
            def step_fn(carry, t):
                z, h_loc, h = carry
                z = z - step * h
                c = compress(F_loc(z) - h_loc, keys_loc, t)
                return (z, h_loc + c, h + mean_over_workers(c)), metrics(z)
            g0 = F_loc(z0)
            init = (z0, g0, mean_over_workers(g0))
        elif method == "econtrol":
            def step_fn(carry, t):
                z, e, h_loc, h = carry
                g = F_loc(z)
                delta = compress(eta * e + g - h_loc, keys_loc, t)
                z = z - step * (h + mean_over_workers(delta))
                e = e + g - h_loc - delta
                h_new = h + mean_over_workers(delta)
                return (z, e, h_loc + delta, h_new), metrics(z)
            g0 = F_loc(z0)
            init = (z0, zeros_loc, g0, mean_over_workers(g0))
        elif method in ("eg", "naive_eg"):
            def step_fn(carry, t):
                z, = carry
                half = z - step * mean_over_workers(compress(F_loc(z), keys_loc, 2 * t))
                z = z - step * mean_over_workers(compress(F_loc(half), keys_loc, 2 * t + 1))
                return (z,), metrics(z)
            init = (z0,)
        elif method == "masha1":
            def step_fn(carry, t):
                z, w, Fw_loc, Fw = carry
                zbar = tau * z + (1 - tau) * w
                half = zbar - step * Fw
                g = mean_over_workers(compress(F_loc(half) - Fw_loc, keys_loc, t))
                z = zbar - step * (Fw + g)
                refresh = coins[t]
                w = jnp.where(refresh, z, w)
                Fw_loc = jnp.where(refresh, F_loc(z), Fw_loc)
                Fw = jnp.where(refresh, mean_over_workers(F_loc(z)), Fw)
                return (z, w, Fw_loc, Fw), metrics(z)
            g0 = F_loc(z0)
            init = (z0, z0, g0, mean_over_workers(g0))
        else:  # pragma: no cover - validated earlier
            raise ValueError(method)

        carry, (sub, dist) = lax.scan(step_fn, init, jnp.arange(num_steps))
        s0, d0 = metrics(z0)
        return carry[0], jnp.concatenate([s0[None], sub]), jnp.concatenate([d0[None], dist])

    w = P(AXIS)
    return jax.shard_map(body, mesh=mesh, in_specs=(w, w, w, P(), P(), P(), P(), P(), P()),
                         out_specs=(P(), P(), P()))
