"""Vectorised RL rollouts (one ``vmap`` over environments or seeds) vs a Python loop of the same runs.

    python benchmarks/bench_rl.py [--envs 8 64] [--repeats 5] [--workloads rollouts dpo]

Two workloads of chapter 21, each on ``E`` independent problems:

- rollouts: ``optlab.rl.sample_episodes`` (64 episodes of 50 steps of the uniform policy) on ``E``
  random MDPs (8 states, 3 actions), one key each;
- iterative DPO: ``optlab.rl.iterative_dpo`` (8 rounds of 1000 pairs, 100 DPO steps per round,
  4 contexts × 6 responses) on ``E`` seeds, as the chapter's coverage experiment runs it.

The loop calls a jitted single run ``E`` times (compiled once: it pays dispatch, not
compilation); the vectorised side calls one jitted ``vmap`` over the ``E`` problems.  Both sides
compute the same numbers (checked).  Times exclude the first (compiling) call, are the minimum of
``--repeats`` interleaved repeats, and block on the result; the compile time of the vectorised
call is reported apart.  Ratios of measurements taken in the same run are the stable figure on a
shared machine.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from optlab import rl


def _rollout_problem(E):
    mdps = [rl.random_mdp(8, 3, key=jax.random.key(i), gamma=0.9) for i in range(E)]
    batched = jax.tree.map(lambda *v: jnp.stack([jnp.asarray(a) for a in v]), *mdps)
    keys = jax.random.split(jax.random.key(0), E)
    pi = jnp.full((8, 3), 1 / 3)

    single = jax.jit(lambda mdp, k: rl.sample_episodes(mdp, pi, num_episodes=64, horizon=50, key=k).rewards)
    many = jax.jit(
        jax.vmap(lambda mdp, k: rl.sample_episodes(mdp, pi, num_episodes=64, horizon=50, key=k).rewards)
    )

    def loop():
        return [single(m, k) for m, k in zip(mdps, keys, strict=True)]

    def vec():
        return many(batched, keys)

    return loop, vec


def _idpo_problem(E):
    X, Y = 4, 6
    r = np.zeros((X, Y))
    r[:, 1:] = np.random.default_rng(0).uniform(0, 1, size=(X, Y - 1))
    r[:, 0] = 3.5
    ref = np.column_stack([np.full(X, 0.002), np.full((X, Y - 1), 0.998 / (Y - 1))])
    r, ref = jnp.asarray(r, jnp.float32), jnp.asarray(ref, jnp.float32)
    keys = jax.random.split(jax.random.key(0), E)

    def run(k):
        return rl.iterative_dpo(
            r, ref, beta=0.5, key=k, num_rounds=8, pairs_per_round=1000, learning_rate=160.0, num_steps=100
        ).values

    single, many = jax.jit(run), jax.jit(jax.vmap(run))

    def loop():
        return [single(k) for k in keys]

    def vec():
        return many(keys)

    return loop, vec


def _block(x):
    return jax.block_until_ready(x)


def bench(name, make, E, repeats, atol):
    loop, vec = make(E)
    t0 = time.perf_counter()
    out_vec = _block(vec())
    t_compile = time.perf_counter() - t0
    out_loop = _block(loop())
    np.testing.assert_allclose(
        np.stack([np.asarray(o) for o in out_loop]), np.asarray(out_vec), rtol=1e-4, atol=atol
    )
    t_loop, t_vec = [], []
    for _ in range(repeats):  # interleaved
        t0 = time.perf_counter()
        _block(loop())
        t_loop.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _block(vec())
        t_vec.append(time.perf_counter() - t0)
    tl, tv = min(t_loop), min(t_vec)
    print(f"| {name} | {E} | {tl * 1e3:.1f} ms | {tv * 1e3:.1f} ms | {tl / tv:.1f}× | {t_compile:.2f} s |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--envs", type=int, nargs="+", default=[8, 64])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workloads", nargs="+", default=["rollouts", "dpo"], choices=["rollouts", "dpo"])
    args = ap.parse_args()
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}")
    print("| workload | problems E | Python loop | one vmap | speedup | vmap compile |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    if "rollouts" in args.workloads:
        for E in args.envs:
            bench("rollouts: sample_episodes on E MDPs", _rollout_problem, E, args.repeats, atol=1e-6)
    if "dpo" in args.workloads:
        for E in args.envs:
            # float32: batched and single runs round differently, and one flipped sampled response
            # moves J by ~1e-3 in one round; the runs are otherwise the same
            bench("iterative DPO on E seeds", _idpo_problem, E, args.repeats, atol=5e-3)


if __name__ == "__main__":
    main()
