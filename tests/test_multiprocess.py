"""FedAvg as real OS processes: ``optlab.distributed.launch_fedavg`` starts two processes that join
one JAX runtime with ``jax.distributed.initialize`` and all-reduce over gloo CPU collectives. The
reference is the single-process ``fedavg`` (``vmap`` over the clients, ``jnp.mean``): the server
models and the per-round losses must agree, in float64 and in float32, and the processes must
really have formed one runtime (the launcher checks the global device count each one saw).

Every launch has a hard ``timeout``: past it the launcher kills the processes and raises."""

import os
import subprocess
import sys
import textwrap
import time

import jax
import numpy as np
import psutil
import pytest

from optlab import distributed as D

LIMIT = 45.0  # seconds per launch (two processes import JAX, join, compile and run: ~5-17 s measured)
RUN = {"learning_rate": 0.1, "local_num_steps": 5, "num_steps": 200}


def clients():
    return D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=8, dim=10, num_samples=40)


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def assert_no_children_left():
    alive = [p for p in psutil.Process().children(recursive=True) if p.is_running()]
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive


def test_two_processes_equal_one_process_float64(x64):
    pb = clients()
    ref = D.fedavg(pb, **RUN)
    t0 = time.perf_counter()
    mp = D.launch_fedavg(pb, **RUN, num_processes=2, timeout=LIMIT)
    assert time.perf_counter() - t0 < LIMIT
    assert mp.iterates.dtype == np.float64 and mp.iterates.shape == (201, 10)
    # measured (2 and 4 processes): 4.4e-16 to 6.6e-16 relative on the iterates, 6e-17 on the
    # losses (summation order: psum of per-process sums against one mean)
    assert rel(mp.iterates, ref.iterates) < 5e-15
    assert rel(mp.suboptimalities, ref.suboptimalities) < 1e-15
    assert rel(mp.distances, ref.distances) < 1e-15
    # and it is the FedAvg fixed point, not GD's optimum (the clients' drift survives the split)
    xbar = D.fedavg_fixed_point(pb, learning_rate=0.1, local_num_steps=5)
    assert rel(mp.params, xbar) < 1e-10 and float(mp.distances[-1]) > 0.1
    assert bool(mp.converged) == bool(ref.converged) and int(mp.n_iters) == 200
    assert_no_children_left()


def test_two_processes_of_two_devices_equal_one_process_float32():
    pb = clients()
    ref = D.fedavg(pb, **RUN)
    mp = D.launch_fedavg(pb, **RUN, num_processes=2, devices_per_process=2, timeout=LIMIT)
    assert mp.iterates.dtype == np.float32
    # measured (2 × 1, 4 × 1 and 2 × 2 devices): 2.4e-7 relative on the iterates (two float32
    # ulps), 3e-8 to 6e-8 on the losses
    assert rel(mp.iterates, ref.iterates) < 1e-6
    assert rel(mp.suboptimalities, ref.suboptimalities) < 5e-7


def test_in_process_sharded_equals_fedavg(x64):
    pb = clients()
    ref = D.fedavg(pb, **RUN)
    sh = D.fedavg_sharded(pb, **RUN)  # this process's devices only
    assert rel(sh.iterates, ref.iterates) < 1e-13


def test_clients_not_divisible_among_processes():
    pb = D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=7, dim=4, num_samples=6)
    with pytest.raises(ValueError, match=r"num_processes: problem.num_workers = 7 clients cannot be split evenly"):
        D.launch_fedavg(pb, **RUN, num_processes=2, timeout=LIMIT)
    with pytest.raises(ValueError, match="devices_per_process must be at least 1"):
        D.launch_fedavg(pb, **RUN, num_processes=7, devices_per_process=0)


SHARDED_ERROR = textwrap.dedent(
    """
    import jax
    from optlab import distributed as D
    assert len(jax.devices()) == 2
    pb = D.heterogeneous_least_squares(key=jax.random.key(0), num_workers=3, dim=4, num_samples=6)
    try:
        D.fedavg_sharded(pb, learning_rate=0.1, local_num_steps=2, num_steps=3)
    except ValueError as e:
        print(e)
    """
)


def test_sharded_clients_not_divisible_among_devices():
    flags = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "XLA_FLAGS": flags.strip()}
    out = subprocess.run([sys.executable, "-c", SHARDED_ERROR], env=env, timeout=LIMIT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "problem.num_workers = 3 clients cannot be split evenly over 2 devices" in out.stdout


def test_a_run_past_its_timeout_is_killed():
    t0 = time.perf_counter()
    with pytest.raises(TimeoutError, match="did not finish within timeout = 0.5 s; killed them"):
        D.launch_fedavg(clients(), **RUN, num_processes=2, timeout=0.5)
    assert time.perf_counter() - t0 < 5.0
    assert_no_children_left()


def test_a_failed_process_is_reported_with_its_output(tmp_path, monkeypatch):
    fake = tmp_path / "python"  # stands in for the interpreter: process 1 fails at once
    fake.write_text('#!/bin/sh\nif [ "$4" = "1" ]; then echo "ValueError: boom in process 1"; exit 3; fi\nexec sleep 30\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"process 1 of 2 failed \(exit code 3\):\nValueError: boom in process 1"):
        D.launch_fedavg(clients(), **RUN, num_processes=2, timeout=LIMIT)
    assert time.perf_counter() - t0 < 10.0  # the other process is killed, not waited for
    assert_no_children_left()


def test_a_process_without_a_result_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "python"  # both "processes" exit cleanly without running anything
    fake.write_text('#!/bin/sh\necho "nothing run"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    with pytest.raises(RuntimeError, match="process 0 of 2 exited without a result:\nnothing run"):
        D.launch_fedavg(clients(), **RUN, num_processes=2, timeout=LIMIT)
