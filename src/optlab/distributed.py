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
  ``η`` (``feedback_strength``) is controlled (Gao, Islamov and Stich 2023);
* PowerSGD (Vogels, Karimireddy and Jaggi 2019): the compressor :class:`LowRank`, one
  warm-started power-iteration step on the message reshaped to a matrix, aggregated by
  all-reduce; with ``"naive"`` it runs without error feedback, with ``"ef14"`` with it;
* ``"eg"``, ``"naive_eg"``, ``"masha1"``: extragradient for the VI without
  compression, with naively compressed operator values, and MASHA1
  (Beznosikov et al. 2022), which compresses ``F_m(z^{k+½}) - F_m(w^k)`` against a
  reference point ``w`` refreshed with probability ``p`` (the argument ``tau``), from the
  anchor ``z̄ = (1 - p) z + p w`` (the paper writes ``τ = 1 - p`` for the weight on ``z``).

Federated averaging (:func:`fedavg`, McMahan et al. 2017) trades compression for *local
steps*: each client takes ``K`` gradient steps between two averagings; on heterogeneous
clients it converges to :func:`fedavg_fixed_point`, which drifts away from ``z*`` as ``K``
and the heterogeneity grow (``vmap`` over the clients on one device).

The workers are **real JAX devices**: :func:`run_compressed` places each worker's data on
the devices of a one-axis mesh named ``"workers"`` and runs the whole loop inside
:func:`jax.shard_map`, aggregating with ``lax.psum``. On a CPU, expose several
host devices with ``XLA_FLAGS=--xla_force_host_platform_device_count=8`` *before*
importing JAX; on a multi-GPU machine the same code uses the GPUs. When
``M`` workers exceed the devices, each device holds ``M / D`` of them (``vmap``).

:func:`fedavg_sharded` runs FedAvg the same way over the devices of *every* JAX process, the
server average being a ``lax.psum`` across processes, once they have joined one runtime with
:func:`jax.distributed.initialize`; :func:`launch_fedavg` starts such processes on one machine
(gloo CPU collectives) and collects the result.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from ._checks import (
    as_float_array,
    is_concrete,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from ._types import Array, Bool, Float, Int, PRNGKeyArray

__all__ = [
    "TopK",
    "RandK",
    "Identity",
    "LowRank",
    "LinearProblem",
    "heterogeneous_quadratics",
    "distributed_bilinear_game",
    "worker_mesh",
    "run_compressed",
    "CompressedTrace",
    "METHODS",
    "communication_per_round",
    "heterogeneous_least_squares",
    "FedAvgTrace",
    "fedavg",
    "fedavg_fixed_point",
    "fedavg_sharded",
    "launch_fedavg",
    "AsyncFedAvgTrace",
    "arrival_schedule",
    "async_fedavg",
    "async_fedavg_limit",
]

AXIS = "workers"
_HI = lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


def _vector(v):
    """A compressor's input: one message, a 1-D float array (the library's conversion policy)."""
    return as_float_array("v", v, ndim=1, finite=False)


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


# ----------------------------------------------------------------------------- mesh


def worker_mesh(num_workers: int, devices=None) -> Mesh:
    """One-axis mesh ``("workers",)`` over the largest number of devices dividing ``num_workers``.

    Args:
      num_workers: a positive integer.
      devices: a non-empty sequence of JAX devices (default: ``jax.devices()``, the
        default backend's).

    Returns:
      A :class:`jax.sharding.Mesh`.

    Raises:
      TypeError: non-integer ``num_workers`` or non-device entries. ValueError: ``num_workers < 1``
      or no devices.
    """
    require_int("num_workers", num_workers, minimum=1)
    if devices is not None and (isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__")):
        raise TypeError(f"devices must be a sequence of JAX devices, got {type(devices).__name__}")
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must hold at least one device")
    if not all(isinstance(d, jax.Device) for d in devices):
        raise TypeError("devices must be a sequence of JAX devices (jax.devices())")
    D = max(d for d in range(1, len(devices) + 1) if num_workers % d == 0)
    return Mesh(np.array(devices[:D]), (AXIS,))


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


def fedavg_sharded(
    problem: LinearProblem,
    *,
    learning_rate: float,
    local_num_steps: int,
    num_steps: int,
    x0: Float[Array, " d"] | None = None,
    tol: float = 1e-8,
    devices: Sequence[jax.Device] | None = None,
) -> FedAvgTrace:
    """:func:`fedavg` with the clients sharded over the devices of every JAX process.

    The same rounds as :func:`fedavg`, but the ``M`` clients are split evenly over a one-axis
    mesh ``("workers",)`` of ``devices`` (default: ``jax.devices()``, which after
    :func:`jax.distributed.initialize` lists the devices of *all* processes, ordered by
    process). Each device holds ``M / D`` consecutive clients and runs their ``K`` local steps
    (``vmap``); the server average is the cross-device all-reduce
    ``x_{t+1} = psum_devices(Σ_local y_K^m) / M`` inside :func:`jax.shard_map`. Each process
    places only its own clients' ``B_m, q_m`` on its devices (it may hold the whole
    ``problem``, but reads only its rows), and every process must call this function with
    the same arguments, as in any multi-controller JAX program. On CPU the cross-process
    all-reduce goes through gloo (``jax_cpu_collectives_implementation``); on GPU hosts
    through NCCL. In one process it runs over that process's devices (one CPU device, or
    several with ``--xla_force_host_platform_device_count``). :func:`launch_fedavg` starts
    the processes.

    Args:
      problem: a :class:`LinearProblem` with symmetric ``B_m``, identical in every process.
      learning_rate: the clients' positive step ``γ``.
      local_num_steps: ``K >= 1``, local steps per round.
      num_steps: ``T >= 1``, communication rounds.
      x0: the start, shape ``(d,)``, finite (default zeros).
      tol: positive threshold on the last round's move for ``converged``.
      devices: a non-empty sequence of distinct JAX devices, whose number ``D`` divides ``M``
        (default ``jax.devices()``: every device of every process).

    Returns:
      :class:`FedAvgTrace`, as :func:`fedavg` (every process gets the whole trace, a local copy).

    Raises:
      TypeError: ``problem`` not a ``LinearProblem``, non-numeric or non-integer values,
        ``devices`` not a sequence of devices.
      ValueError: as :func:`fedavg`; no or repeated ``devices``; ``M`` clients not divisible
        by the number of devices (``D``), e.g. by the number of processes; a device list that
        leaves the calling process without a device.
    """
    z0 = _check_fedavg_run(problem, learning_rate, local_num_steps, num_steps, x0, tol)
    devs = _sharded_devices(devices)
    M, D = problem.num_workers, len(devs)
    if M % D != 0:
        procs = len({d.process_index for d in devs})
        raise ValueError(
            f"problem.num_workers = {M} clients cannot be split evenly over {D} devices "
            f"({procs} process(es)); choose a number of clients divisible by {D}"
        )
    if not any(d.process_index == jax.process_index() for d in devs):
        raise ValueError(f"devices must include a device of the calling process {jax.process_index()}")
    mesh = Mesh(np.array(devs), (AXIS,))
    dt = problem.B.dtype
    B, q = np.asarray(problem.B), np.asarray(problem.q)

    def put(x, spec):  # a global array from this process's part only (its shards' rows)
        return jax.make_array_from_callback(x.shape, NamedSharding(mesh, spec), lambda idx: x[idx])

    xs = _fedavg_sharded_compiled(
        num_steps,
        mesh,
        put(B, P(AXIS)),
        put(q, P(AXIS)),
        put(np.asarray(z0), P()),
        put(np.asarray(learning_rate, dt), P()),
        put(np.asarray(local_num_steps, np.int32), P()),
    )
    xs = jnp.asarray(np.asarray(xs.addressable_data(0)))  # replicated: every process has all of it
    return _fedavg_trace(problem, xs, num_steps, tol)


def _sharded_devices(devices):
    if devices is None:
        devs = list(jax.devices())
    else:
        if isinstance(devices, (str, bytes)) or not hasattr(devices, "__iter__"):
            raise TypeError(f"devices must be a sequence of JAX devices, got {type(devices).__name__}")
        devs = list(devices)
        if not all(isinstance(d, jax.Device) for d in devs):
            raise TypeError("devices must be a sequence of JAX devices (jax.devices())")
    if not devs:
        raise ValueError("devices must hold at least one device")
    if len(set(devs)) != len(devs):
        raise ValueError("devices must be distinct")
    return sorted(devs, key=lambda d: (d.process_index, d.id))  # each process's clients consecutive


@partial(jax.jit, static_argnums=(0, 1))
def _fedavg_sharded_compiled(num_steps, mesh, B, q, z0, learning_rate, local_num_steps):
    M = B.shape[0]

    # region: distributed-fedavg-allreduce
    def body(B_loc, q_loc, z0, learning_rate, local_num_steps):  # B_loc: this device's clients
        def round_(x, _):
            x = lax.pcast(x, AXIS, to="varying")  # the broadcast model, now local to each device
            y = _clients_run(B_loc, q_loc, x, learning_rate, local_num_steps)  # (M / D, d)
            x = lax.psum(y.sum(0), AXIS) / M  # all-reduce across devices and processes
            return x, x

        _, xs = lax.scan(round_, z0, None, length=num_steps)
        return jnp.concatenate([z0[None], xs])

    # endregion: distributed-fedavg-allreduce
    w = P(AXIS)
    return jax.shard_map(body, mesh=mesh, in_specs=(w, w, P(), P(), P()), out_specs=P())(
        B, q, z0, learning_rate, local_num_steps
    )


def launch_fedavg(
    problem: LinearProblem,
    *,
    learning_rate: float,
    local_num_steps: int,
    num_steps: int,
    x0: Float[Array, " d"] | None = None,
    tol: float = 1e-8,
    num_processes: int = 2,
    devices_per_process: int = 1,
    timeout: float = 60.0,
) -> FedAvgTrace:
    """Run :func:`fedavg_sharded` as ``num_processes`` OS processes on this machine's CPUs.

    Starts ``python -m optlab._fedavg_worker`` ``num_processes`` times; the processes join
    with :func:`jax.distributed.initialize` (process 0 is the coordinator, on a free
    ``localhost`` port), each with ``devices_per_process`` CPU devices, and all-reduce with
    JAX's gloo CPU collectives. Process ``p`` places clients ``p·M/P … (p+1)·M/P - 1`` on its
    devices. The problem reaches the processes through a file in a temporary directory; each
    writes back the server models it obtained, and the launcher checks that every process
    saw the ``num_processes × devices_per_process`` devices of one runtime and obtained the
    same models. The processes run in float64 when ``problem`` is float64.

    Args:
      problem: a :class:`LinearProblem` with symmetric ``B_m``.
      learning_rate: the clients' positive step ``γ``.
      local_num_steps: ``K >= 1``, local steps per round.
      num_steps: ``T >= 1``, communication rounds.
      x0: the start, shape ``(d,)``, finite (default zeros).
      tol: positive threshold on the last round's move for ``converged``.
      num_processes: ``P >= 1`` OS processes.
      devices_per_process: CPU devices per process, ``>= 1``.
      timeout: positive wall-clock limit in seconds for the whole run; past it every process
        is killed.

    Returns:
      :class:`FedAvgTrace`, as :func:`fedavg`.

    Raises:
      TypeError: as :func:`fedavg`; non-integer ``num_processes``/``devices_per_process``.
      ValueError: as :func:`fedavg`; ``num_processes < 1``, ``devices_per_process < 1``,
        non-positive ``timeout``; ``M`` clients not divisible by
        ``num_processes × devices_per_process``.
      RuntimeError: a process failed (its error is quoted), or the processes did not form one
        runtime or disagree.
      TimeoutError: the processes did not finish within ``timeout`` seconds (they are killed).
    """
    z0 = _check_fedavg_run(problem, learning_rate, local_num_steps, num_steps, x0, tol)
    require_int("num_processes", num_processes, minimum=1)
    require_int("devices_per_process", devices_per_process, minimum=1)
    as_float_array("timeout", timeout, ndim=0)
    require_positive("timeout", timeout)
    M, D = problem.num_workers, num_processes * devices_per_process
    if M % D != 0:
        raise ValueError(
            f"num_processes: problem.num_workers = {M} clients cannot be split evenly over "
            f"{num_processes} processes × {devices_per_process} device(s) = {D} devices"
        )
    dt = np.dtype(problem.B.dtype)
    with tempfile.TemporaryDirectory(prefix="optlab-fedavg-") as tmp:
        work = Path(tmp)
        np.savez(
            work / "problem.npz",
            B=np.asarray(problem.B), q=np.asarray(problem.q), z_star=np.asarray(problem.z_star),
            L=problem.L, L_tilde=problem.L_tilde, mu=problem.mu, x0=np.asarray(z0),
        )  # fmt: skip
        config = {
            "learning_rate": float(learning_rate),
            "local_num_steps": int(local_num_steps),
            "num_steps": int(num_steps),
            "tol": float(tol),
            "x64": dt == np.float64,
            "devices_per_process": int(devices_per_process),
            "init_timeout": max(1, int(timeout)),
        }
        (work / "config.json").write_text(json.dumps(config))
        with socket.socket() as sock:  # a free port for the coordinator
            sock.bind(("127.0.0.1", 0))
            address = f"127.0.0.1:{sock.getsockname()[1]}"
        env = dict(os.environ)
        flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", env.get("XLA_FLAGS", "")).strip()
        env["XLA_FLAGS"] = flags
        env["JAX_PLATFORMS"] = "cpu"
        src = str(Path(__file__).resolve().parent.parent)  # this optlab, first on the path
        env["PYTHONPATH"] = os.pathsep.join([src, *filter(None, [env.get("PYTHONPATH")])])
        logs = [open(work / f"log_{p}.txt", "w+b") for p in range(num_processes)]  # noqa: SIM115
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "optlab._fedavg_worker",
                    str(work),
                    str(p),
                    str(num_processes),
                    address,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
            for p, log in enumerate(logs)
        ]

        def tail(p):  # the last lines a process wrote (it writes to the file directly)
            text = (work / f"log_{p}.txt").read_text(errors="replace").strip().splitlines()
            return "\n".join(text[-15:])

        deadline = time.monotonic() + float(timeout)
        try:
            while None in [proc.poll() for proc in procs]:  # poll every process, every time
                failed = [p for p, proc in enumerate(procs) if proc.returncode not in (None, 0)]
                if failed:
                    p = failed[0]
                    raise RuntimeError(
                        f"process {p} of {num_processes} failed (exit code {procs[p].returncode}):\n{tail(p)}"
                    )
                if time.monotonic() > deadline:
                    last = "\n".join(f"[{p}] {tail(p)}" for p in range(num_processes))
                    raise TimeoutError(
                        f"the {num_processes} processes did not finish within timeout = {timeout} s; "
                        f"killed them. Last output:\n{last}"
                    )
                time.sleep(0.05)
            failed = [p for p, proc in enumerate(procs) if proc.returncode != 0]
            if failed:
                p = failed[0]
                raise RuntimeError(
                    f"process {p} of {num_processes} failed (exit code {procs[p].returncode}):\n{tail(p)}"
                )
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            for log in logs:
                log.close()
        results = []
        for p in range(num_processes):
            if not (work / f"result_{p}.npz").exists():
                raise RuntimeError(f"process {p} of {num_processes} exited without a result:\n{tail(p)}")
            with np.load(work / f"result_{p}.npz") as f:
                results.append({k: f[k] for k in f.files})
    for p, r in enumerate(results):
        if r["devices"].size != D or r["local_devices"].size != devices_per_process:
            raise RuntimeError(
                f"process {p} saw {r['devices'].size} devices ({r['local_devices'].size} local), expected "
                f"{D} ({devices_per_process} local): the processes did not form one JAX runtime"
            )
        if not np.array_equal(r["iterates"], results[0]["iterates"], equal_nan=True):  # a diverged run is NaN
            raise RuntimeError(f"processes 0 and {p} obtained different server models")
    xs = jnp.asarray(results[0]["iterates"], problem.B.dtype)
    return _fedavg_trace(problem, xs, num_steps, tol)


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
