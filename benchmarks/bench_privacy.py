"""Benchmarks for optlab.privacy (numbers go to benchmarks/RESULTS_privacy.md).

1. The clipped sum of per-example gradients of a 2-layer MLP (batch 256): ``vmap`` +
   ``jit`` (optlab) against a Python loop of jitted per-example gradients.
2. ε of DP-SGD on 71 integer orders: optlab's accountant against dp_accounting's
   RdpAccountant (same orders, same result), wall time per call.

Run:  .venv/bin/python benchmarks/bench_privacy.py
"""

from __future__ import annotations

import time

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
from dp_accounting.rdp import RdpAccountant

from optlab import lipschitz as lp
from optlab import privacy as pv


def _best(fn, repeat=5):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def bench_clipping(B=256, d=64, h=128, C=1.0):
    r = np.random.default_rng(0)
    params = [(jnp.array(r.normal(size=(h, d)) / np.sqrt(d), jnp.float32), jnp.zeros(h)),
              (jnp.array(r.normal(size=(10, h)) / np.sqrt(h), jnp.float32), jnp.zeros(10))]
    X = jnp.array(r.normal(size=(B, d)), jnp.float32)
    y = jnp.array(r.integers(0, 10, B))

    def loss(p, z):
        return -jax.nn.log_softmax(lp.mlp_apply(p, z[0]))[z[1]]

    @jax.jit
    def vmapped(p):
        g, _ = pv.clip_per_example(pv.per_example_grads(loss, p, (X, y)), C)
        return jax.tree_util.tree_map(lambda v: jnp.sum(v, 0), g)

    grad1 = jax.jit(jax.grad(loss))

    def looped(p):
        acc = jax.tree_util.tree_map(jnp.zeros_like, p)
        for i in range(B):
            g = grad1(p, (X[i], y[i]))
            n = jnp.sqrt(sum(jnp.sum(v**2) for v in jax.tree_util.tree_leaves(g)))
            f = jnp.minimum(1.0, C / n)
            acc = jax.tree_util.tree_map(lambda a, v: a + f * v, acc, g)
        return acc

    a = vmapped(params)
    b = looped(params)
    err = max(float(jnp.max(jnp.abs(u - v))) for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))
    t_v = _best(lambda: jax.block_until_ready(vmapped(params)))
    t_l = _best(lambda: jax.block_until_ready(looped(params)), repeat=2)
    print(f"clipped sum, B={B}, MLP {d}-{h}-10: vmap {t_v * 1e3:.2f} ms, loop {t_l * 1e3:.1f} ms, "
          f"loop/vmap = {t_l / t_v:.0f}x (max abs diff {err:.1e})")


def bench_accountant():
    settings = [(0.01, 1.1, 1000, 1e-5), (0.003, 2.0, 10000, 1e-5), (0.1, 0.7, 50, 1e-6)]
    for q, s, T, d in settings:
        def ours():
            return pv.dp_sgd_privacy(s, q, num_steps=T, delta=d).epsilon

        def ref():
            acc = RdpAccountant(orders=list(pv.DEFAULT_ORDERS))
            acc.compose(dp_accounting.SelfComposedDpEvent(
                dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), T))
            return acc.get_epsilon(d)

        e1, e2 = ours(), ref()
        t1, t2 = _best(ours), _best(ref)
        print(f"accountant q={q}, σ={s}, T={T}: ε = {e1:.6f} vs {e2:.6f}; optlab {t1 * 1e3:.2f} ms, "
              f"dp_accounting {t2 * 1e3:.2f} ms, ratio optlab/dp_accounting = {t1 / t2:.2f}")


if __name__ == "__main__":
    print(jax.devices())
    bench_clipping()
    bench_accountant()
