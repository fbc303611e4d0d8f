"""Running FedAvg across devices and processes: the worker mesh, shard_map and launch_fedavg
(chapter 15)."""

from __future__ import annotations

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

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .._checks import (
    as_float_array,
    require_int,
    require_positive,
)
from .._types import Array, Float
from ._common import AXIS
from .federated_averaging import FedAvgTrace, _check_fedavg_run, _clients_run, _fedavg_trace
from .problems import LinearProblem

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
