"""Benchmark: per-step overhead of optlab's transformations relative to optax.

Problem: ``f(x) = ½ Σ aᵢ xᵢ²`` with ``d = 10⁶`` parameters (float32, ``aᵢ`` uniform in
[0.1, 1]); the gradient ``a ⊙ x`` is computed inside the loop, so each step is
"gradient + optimizer update + apply", as in training.

For every method with an optax counterpart (same hyper-parameters; the optax
parity tests in ``tests/test_accel.py`` / ``tests/test_adaptive.py`` show the
iterates agree), both transformations run the *same* jitted loop
(``lax.fori_loop`` over ``--steps`` steps, state and parameters donated), one
warm-up call compiles, then ``--repeats`` timed calls (``block_until_ready``),
optlab and optax interleaved so that machine-load drift hits both alike.  We
report the median time per step and the ratio optlab / optax (target ≤ 1.1).

Runs unchanged on GPU (JAX picks the device).

Usage:
  python benchmarks/bench_optax_overhead.py                 # d = 1e6, 50 steps, 7 repeats
  python benchmarks/bench_optax_overhead.py --quick         # d = 1e5, 20 steps, 3 repeats
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

from optlab import accel, adaptive, first_order


def methods():
    lr = 1e-3
    return {
        "sgd": (first_order.gd(lr), optax.sgd(lr)),
        "heavy_ball": (first_order.heavy_ball(lr, 0.9), optax.sgd(lr, momentum=0.9)),
        "nesterov": (first_order.nesterov(lr, 0.9), optax.sgd(lr, momentum=0.9, nesterov=True)),
        "adagrad": (adaptive.adagrad(lr), optax.adagrad(lr)),
        "rmsprop": (adaptive.rmsprop(lr), optax.rmsprop(lr)),
        "adam": (adaptive.adam(lr), optax.adam(lr)),
        "adamw": (adaptive.adamw(lr), optax.adamw(lr)),
        "amsgrad": (adaptive.amsgrad(lr), optax.amsgrad(lr)),
        "lion": (adaptive.lion(lr), optax.lion(lr)),
        "dog": (adaptive.dog(), optax.contrib.dog(init_step=("heuristic", 1e-6))),
        "schedule_free_sgd": (accel.schedule_free_sgd(lr), optax.contrib.schedule_free_sgd(lr)),
    }


def make_loop(opt, a, steps):
    def body(_, carry):
        x, state = carry
        g = a * x
        u, state = opt.update(g, state, x)
        return optax.apply_updates(x, u), state

    @jax.jit
    def loop(x, state):
        return jax.lax.fori_loop(0, steps, body, (x, state))

    return loop


def time_call(loop, x, state):
    t0 = time.perf_counter()
    out = loop(x, state)
    jax.block_until_ready(out)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dim", type=int, default=1_000_000)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", default=None, help="subset of method names")
    args = ap.parse_args()
    if args.quick:
        args.dim, args.steps, args.repeats = 100_000, 20, 3

    key = jax.random.key(0)
    a = jax.random.uniform(key, (args.dim,), minval=0.1, maxval=1.0)
    x0 = jnp.ones(args.dim)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), d = {args.dim:,}, "
          f"{args.steps} steps per call, median of {args.repeats} calls")
    print(f"{'method':<20}{'optlab µs/step':>16}{'optax µs/step':>16}{'ratio':>8}")
    ratios = {}
    for name, (mine, ref) in methods().items():
        if args.only and name not in args.only:
            continue
        loops = {k: make_loop(o, a, args.steps) for k, o in (("optlab", mine), ("optax", ref))}
        states = {"optlab": mine.init(x0), "optax": ref.init(x0)}
        for k in loops:  # compile + warm up
            jax.block_until_ready(loops[k](x0, states[k]))
        times = {"optlab": [], "optax": []}
        for r in range(args.repeats):
            order = ("optlab", "optax") if r % 2 == 0 else ("optax", "optlab")
            for k in order:
                times[k].append(time_call(loops[k], x0, states[k]))
        per = {k: 1e6 * statistics.median(v) / args.steps for k, v in times.items()}
        ratios[name] = per["optlab"] / per["optax"]
        print(f"{name:<20}{per['optlab']:>16.1f}{per['optax']:>16.1f}{ratios[name]:>8.3f}")
    if ratios:
        worst = max(ratios, key=ratios.get)
        gm = 1.0
        for v in ratios.values():
            gm *= v
        gm **= 1 / len(ratios)
        print(f"geometric-mean ratio {gm:.3f}; worst {worst} {ratios[worst]:.3f} (target ≤ 1.1)")


if __name__ == "__main__":
    main()
