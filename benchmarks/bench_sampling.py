"""optlab's Langevin samplers against BlackJAX on the same targets: effective samples per second.

Both libraries run the same algorithm with the same step ``h`` and the same number of chains
``C`` and steps ``K``, each as one compiled program (optlab: :func:`optlab.sampling.mala` and
:func:`optlab.sampling.unadjusted_langevin` over ``C × d`` chains; BlackJAX 1.7: ``blackjax.mala``
and, for ULA, ``blackjax.sgld`` with the full gradient, ``vmap``-ed over chains inside one
``lax.scan``).  The effective sample size of every coordinate is computed by one estimator for
both (``blackjax.diagnostics.effective_sample_size``, on the second half of each chain); the
table reports the smallest over coordinates, the wall time (best of 7, the two libraries timed
in alternation after one compiling call each) and the ratio of effective samples per second, optlab over BlackJAX.

Sanity checks printed with the table (the two libraries run the same Markov chain, so they
must agree in distribution): the mean acceptance rates, and the largest difference of the
posterior means relative to the posterior standard deviations.

Targets: an ill-conditioned Gaussian in ``d = 50`` (precision eigenvalues from 1 to 100), and
the posterior of a Bayesian logistic regression (``d = 20``, ``N = 500`` examples, prior
``N(0, I)``).

Run:  .venv/bin/python -m pip install -e ".[bench]" && .venv/bin/python benchmarks/bench_sampling.py
"""

from __future__ import annotations

import functools
import time

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.diagnostics import effective_sample_size

from optlab import sampling as sp


def _best_pair(fa, fb, repeat=7):
    """Best wall times of two programs, timed in alternation (after one compiling call each) so
    that both see the same machine load."""
    fa(), fb()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, ts in ((fa, ta), (fb, tb)):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def gaussian_target(d=50, cond=100.0, seed=0):
    r = np.random.default_rng(seed)
    Q = np.linalg.qr(r.standard_normal((d, d)))[0]
    lam = np.geomspace(1.0, cond, d)
    P = jnp.asarray(Q @ np.diag(lam) @ Q.T, jnp.float32)
    m = jnp.asarray(r.normal(size=d), jnp.float32)

    def potential(x):
        z = x - m
        return 0.5 * z @ P @ z

    return potential, m, float(lam[-1])


def logistic_target(d=20, n=500, seed=0):
    r = np.random.default_rng(seed)
    X = jnp.asarray(r.normal(size=(n, d)) / np.sqrt(d), jnp.float32)
    w = r.normal(size=d)
    y = jnp.asarray(r.random(n) < 1 / (1 + np.exp(-np.asarray(X) @ w)), jnp.float32)

    def potential(x):
        z = X @ x
        return jnp.sum(jnp.logaddexp(0.0, z) - y * z) + 0.5 * x @ x

    L = float(np.linalg.eigvalsh(np.asarray(X).T @ np.asarray(X))[-1] / 4 + 1)
    return potential, jnp.zeros(d, jnp.float32), L


@functools.partial(jax.jit, static_argnums=(0, 1))
def _blackjax_mala(potential, num_steps, x0, h, key):
    alg = blackjax.mala(lambda x: -potential(x), h)
    state = jax.vmap(alg.init)(x0)

    def body(s, k):
        s, info = jax.vmap(alg.step)(jax.random.split(k, x0.shape[0]), s)
        return s, (s.position, info.acceptance_rate)

    _, (xs, acc) = jax.lax.scan(body, state, jax.random.split(key, num_steps))
    return xs, acc


@functools.partial(jax.jit, static_argnums=(0, 1))
def _blackjax_ula(potential, num_steps, x0, h, key):
    alg = blackjax.sgld(lambda x, _batch: -jax.grad(potential)(x))

    def body(x, k):
        x = jax.vmap(lambda kk, xx: alg.step(kk, xx, (), h))(jax.random.split(k, x0.shape[0]), x)
        return x, x

    _, xs = jax.lax.scan(body, x0, jax.random.split(key, num_steps))
    return xs


def _min_ess(xs):
    """xs: K × C × d samples; ESS of each coordinate on the second half, the smallest."""
    half = np.asarray(xs[xs.shape[0] // 2 :])
    ess = effective_sample_size(jnp.asarray(np.transpose(half, (1, 0, 2))), chain_axis=0, sample_axis=1)
    return float(jnp.min(ess)), half.reshape(-1, half.shape[-1])


def bench(name, potential, start, L, *, C=64, K=2000, acceptance_target=0.6):
    x0 = jnp.broadcast_to(start, (C, start.shape[0])) + 0.0
    key = jax.random.key(0)
    rows = []
    for method in ("MALA", "ULA"):
        h = jnp.float32((0.5 if method == "MALA" else 0.2) / L)
        if method == "MALA":
            ours = lambda: sp.mala(potential, x0, learning_rate=h, num_steps=K, key=key)  # noqa: E731
            theirs = lambda: _blackjax_mala(potential, K, x0, h, key)  # noqa: E731
        else:
            ours = lambda: sp.unadjusted_langevin(potential, x0, learning_rate=h, num_steps=K, key=key)  # noqa: E731
            theirs = lambda: _blackjax_ula(potential, K, x0, h, key)  # noqa: E731
        t_ours, t_theirs = _best_pair(lambda: jax.block_until_ready(ours().iterates),  # noqa: B023
                                      lambda: jax.block_until_ready(theirs()))  # noqa: B023
        out = ours()
        ess_ours, s_ours = _min_ess(out.iterates[1:])
        if method == "MALA":
            xs, acc = theirs()
            acc_ours, acc_theirs = float(jnp.mean(out.acceptance_rates)), float(jnp.mean(acc))
        else:
            xs, acc_ours, acc_theirs = theirs(), float("nan"), float("nan")
        ess_theirs, s_theirs = _min_ess(xs)
        sd = np.sqrt(0.5 * (s_ours.var(0) + s_theirs.var(0)))
        mean_gap = float(np.max(np.abs(s_ours.mean(0) - s_theirs.mean(0)) / sd))
        rows.append((name, method, float(h), t_ours, t_theirs, ess_ours, ess_theirs, acc_ours, acc_theirs,
                     mean_gap))
    return rows


def main():
    print(f"jax {jax.__version__}, blackjax {blackjax.__version__}, device {jax.devices()[0].device_kind}")
    rows = []
    for name, (potential, start, L) in (
        ("Gaussian d=50, κ=100", gaussian_target()),
        ("logistic posterior d=20, N=500", logistic_target()),
    ):
        rows += bench(name, potential, start, L)
    print("| target | method | h | optlab s | BlackJAX s | min ESS optlab | min ESS BlackJAX "
          "| ESS/s optlab ÷ BlackJAX | acceptance optlab / BlackJAX | max mean gap (sd) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, method, h, to, tt, eo, et, ao, at, gap in rows:
        ratio = (eo / to) / (et / tt)
        acc = "n/a" if np.isnan(ao) else f"{ao:.3f} / {at:.3f}"
        print(f"| {name} | {method} | {h:.2e} | {to:.3f} | {tt:.3f} | {eo:.0f} | {et:.0f} | {ratio:.2f} "
              f"| {acc} | {gap:.2f} |")


if __name__ == "__main__":
    main()
