r"""Distributed optimisation with compressed communication.

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

One module per topic, every public name re-exported here:

- :mod:`~optlab.distributed.compressors`: compressors;
- :mod:`~optlab.distributed.problems`: test problems;
- :mod:`~optlab.distributed.sharding`: the worker mesh, sharded and multi-process FedAvg;
- :mod:`~optlab.distributed.compressed_methods`: compressed methods and their run;
- :mod:`~optlab.distributed.federated_averaging`: FedAvg and its fixed point;
- :mod:`~optlab.distributed.asynchronous`: asynchronous FedAvg.
"""

from __future__ import annotations

from .asynchronous import (
    AsyncFedAvgTrace,
    arrival_schedule,
    async_fedavg,
    async_fedavg_limit,
)
from .compressed_methods import (
    METHODS,
    CompressedTrace,
    communication_per_round,
    run_compressed,
)
from .compressors import (
    Identity,
    LowRank,
    RandK,
    TopK,
)
from .federated_averaging import (
    FedAvgTrace,
    fedavg,
    fedavg_fixed_point,
    heterogeneous_least_squares,
)
from .problems import (
    LinearProblem,
    distributed_bilinear_game,
    heterogeneous_quadratics,
)
from .sharding import (
    fedavg_sharded,
    launch_fedavg,
    worker_mesh,
)

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
