"""Benchmark for optlab.second_order: M-FAC vs a dense solve, and Muon vs Adam.

1. Time per preconditioned step against the dimension d (window m fixed):
   - sliding-window M-FAC: push one gradient (O(dm)) + inverse-Fisher product
     (O(dm + m³)), :func:`optlab.second_order.mfac_window_push` / ``mfac_window_ihvp``;
   - dense: form F = λI + GᵀG/m (O(d²m)) and solve (O(d³)), ``jnp.linalg.solve``.
   The fitted log–log slopes are printed (≈1 for M-FAC, up to 3 for the dense solve).
2. One optimizer step on a 1024×1024 weight: optlab's Muon (5 quintic
   Newton–Schulz iterations) vs ``optax.adam``, and optax.contrib.muon as a peer.

Runs unchanged on CPU or GPU (JAX's default device; float32).  Usage:

    python benchmarks/bench_second_order.py                 # defaults below
    python benchmarks/bench_second_order.py --dims 1000 2000 4000 8000 --width 1024
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optlab import second_order as so


def best_time(fn, *args, repeats: int = 5) -> float:
    """Minimum wall time of ``fn(*args)`` over ``repeats`` runs, after one warm-up (compile)."""
    jax.block_until_ready(fn(*args))
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def bench_mfac(dims, m: int, damping: float, repeats: int):
    print(f"\n== preconditioned step vs dimension (window m = {m}, float32) ==")
    print(f"{'d':>7} {'M-FAC step [s]':>15} {'dense step [s]':>15} {'dense/M-FAC':>12} {'rel. diff':>10}")

    @jax.jit
    def mfac_step(state, g):
        state = so.mfac_window_push(state, g)
        return state, so.mfac_window_ihvp(state, g)

    @jax.jit
    def dense_step(G, g):
        F = damping * jnp.eye(G.shape[1], dtype=G.dtype) + G.T @ G / G.shape[0]
        return jnp.linalg.solve(F, g)

    key = jax.random.key(0)
    t_m, t_d = [], []
    for d in dims:
        key, k1, k2 = jax.random.split(key, 3)
        G = jax.random.normal(k1, (m, d), jnp.float32) / np.sqrt(d)
        g = jax.random.normal(k2, (d,), jnp.float32) / np.sqrt(d)
        state = so.mfac_window_init(d, m, damping, jnp.float32)
        for row in G[1:]:  # window holds G[1:], the step pushes g
            state = so.mfac_window_push(state, row)
        Gd = jnp.concatenate([G[1:], g[None]], axis=0)
        tm = best_time(mfac_step, state, g, repeats=repeats)
        td = best_time(dense_step, Gd, g, repeats=repeats)
        a, b = mfac_step(state, g)[1], dense_step(Gd, g)
        rel = float(jnp.linalg.norm(a - b) / jnp.linalg.norm(b))
        t_m.append(tm)
        t_d.append(td)
        print(f"{d:>7} {tm:>15.2e} {td:>15.2e} {td / tm:>12.1f} {rel:>10.1e}")
    ld = np.log(np.asarray(dims, float))
    if len(dims) >= 2:
        print(f"log–log slope: M-FAC {np.polyfit(ld, np.log(t_m), 1)[0]:.2f}, "
              f"dense {np.polyfit(ld, np.log(t_d), 1)[0]:.2f}  (theory: 1 and 3)")
    return t_m, t_d


def bench_muon(width: int, repeats: int):
    print(f"\n== one optimizer step on a {width}×{width} weight (float32) ==")
    key = jax.random.key(1)
    W = jax.random.normal(key, (width, width), jnp.float32) / np.sqrt(width)
    g = jax.random.normal(jax.random.key(2), (width, width), jnp.float32)
    results = {}
    for name, opt in {
        "optax.adam": optax.adam(1e-3),
        "optlab muon": so.muon(0.02),
        "optax.contrib.muon": optax.contrib.muon(0.02),
    }.items():
        state = opt.init(W)

        @jax.jit
        def step(W, state, g, opt=opt):
            u, state = opt.update(g, state, W)
            return optax.apply_updates(W, u), state

        results[name] = best_time(step, W, state, g, repeats=repeats)
    base = results["optax.adam"]
    for name, t in results.items():
        print(f"{name:>20}: {t:.2e} s/step   ratio to Adam: {t / base:6.1f}")
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[500, 1000, 2000, 4000])
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--damping", type=float, default=1e-3)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("device:", jax.devices()[0].device_kind, "| backend:", jax.default_backend())
    bench_mfac(args.dims, args.window, args.damping, args.repeats)
    bench_muon(args.width, args.repeats)


if __name__ == "__main__":
    main()
