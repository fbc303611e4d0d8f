"""A 1,000-step-size sweep as one vmapped call vs a Python loop of single runs.

    python benchmarks/bench_sweep.py [--configs 1000] [--steps 200] [--dim 50]

Both sides run the same problem (a quadratic with κ = 100) and the same method
(optlab.first_order.gd) through optlab.runner.  The loop calls ``runner.run`` once
per step size; jax re-uses the compiled scan when only the step size (a traced
array) changes, so the loop pays dispatch, not recompilation.  Times exclude the
first (compiling) call and are the median of 5 repeats.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from optlab import first_order, problems, runner


def _time(fn, repeats=5):
    fn()  # compile / warm up
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--dim", type=int, default=50)
    args = ap.parse_args()

    p = problems.quadratic(kappa=100.0, dim=args.dim, key=jax.random.key(0))
    etas = jnp.linspace(0.01, 2.5, args.configs) / p.L

    run_one = jax.jit(lambda eta: runner.run(first_order.gd(eta), p, p.x0, num_steps=args.steps).values)

    def loop():
        for eta in etas:
            run_one(eta).block_until_ready()

    compiled = runner.compile_sweep(lambda e: first_order.gd(e), p, num_steps=args.steps)

    def vmapped():
        compiled(etas, p.x0).values.block_until_ready()

    t0 = time.perf_counter()
    runner.sweep(lambda e: first_order.gd(e), etas, p, p.x0, num_steps=args.steps).values.block_until_ready()
    t_cold = time.perf_counter() - t0

    t_loop = _time(loop, repeats=3)
    t_vmap = _time(vmapped)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()})")
    print(f"problem: {p.name}, {args.configs} step sizes x {args.steps} steps")
    print(f"python loop of jitted single runs: {t_loop * 1e3:9.1f} ms")
    print(f"one vmapped sweep (runner.sweep): {t_vmap * 1e3:9.1f} ms")
    print(f"speedup of the vmapped sweep:     {t_loop / t_vmap:9.1f}x")
    print(f"runner.sweep from cold, compile included: {t_cold * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
