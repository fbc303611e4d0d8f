"""One process of :func:`optlab.distributed.launch_fedavg` (``python -m optlab._fedavg_worker``).

Arguments: the launcher's work directory, this process's id, the number of processes and the
coordinator's ``host:port``. The directory holds ``config.json`` (the run's settings) and
``problem.npz`` (the clients); the process joins the others with
:func:`jax.distributed.initialize`, runs :func:`optlab.distributed.fedavg_sharded` on its share
of the clients, and writes the server models it obtained to ``result_<id>.npz``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def main(argv: list[str]) -> None:
    start = time.perf_counter()
    workdir, process_id, num_processes, address = Path(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    cfg = json.loads((workdir / "config.json").read_text())
    import jax  # configured before any computation: the backend starts after initialize

    jax.config.update("jax_enable_x64", bool(cfg["x64"]))
    jax.config.update("jax_platforms", "cpu")
    jax.config.update("jax_num_cpu_devices", int(cfg["devices_per_process"]))
    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # cross-process all-reduce
    jax.distributed.initialize(
        coordinator_address=address,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=int(cfg["init_timeout"]),
    )
    print(f"process {process_id}: joined the runtime after {time.perf_counter() - start:.2f} s", flush=True)
    import jax.numpy as jnp

    from optlab import distributed as D

    with np.load(workdir / "problem.npz") as f:
        dt = f["B"].dtype
        problem = D.LinearProblem(
            jnp.asarray(f["B"], dt), jnp.asarray(f["q"], dt), jnp.asarray(f["z_star"], dt),
            float(f["L"]), float(f["L_tilde"]), float(f["mu"]),
        )  # fmt: skip
        x0 = jnp.asarray(f["x0"], dt)
    trace = D.fedavg_sharded(
        problem,
        learning_rate=cfg["learning_rate"],
        local_num_steps=cfg["local_num_steps"],
        num_steps=cfg["num_steps"],
        x0=x0,
        tol=cfg["tol"],
    )
    print(f"process {process_id}: ran after {time.perf_counter() - start:.2f} s", flush=True)
    np.savez(
        workdir / f"result_{process_id}.npz",
        iterates=np.asarray(trace.iterates),
        devices=np.asarray([d.id for d in jax.devices()]),
        local_devices=np.asarray([d.id for d in jax.local_devices()]),
    )
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
