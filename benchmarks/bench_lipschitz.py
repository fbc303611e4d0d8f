"""Time to reach 1e-6 relative error on the spectral norm: Gram iteration vs power
iteration vs the exact SVD, for dense n×n matrices and for a 3×3 circular convolution
with 64 channels on a 32×32 grid (exact = FFT blocks + batched SVD).

For each operator we first count the iterations each method needs to reach a relative
error < 1e-6 against the exact value (capped at --max-power), then time exactly that many
iterations as one jitted call (median of --repeats runs after a warm-up, compile time
excluded). Runs unchanged on CPU or GPU (whatever JAX's default device is).

    python benchmarks/bench_lipschitz.py                       # all sizes, float64
    python benchmarks/bench_lipschitz.py --sizes 256 512 --repeats 3
"""

from __future__ import annotations

import argparse
import time
import jax
import jax.numpy as jnp
import numpy as np

from optlab import lipschitz as lp

TOL = 1e-6


def _time(fn, *args, repeats):
    jax.block_until_ready(fn(*args))  # compile + warm up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _start_vector(W):
    """The same deterministic start for every run (a Gaussian draw would add noise to the counts)."""
    n = W.shape[1]
    return jnp.ones(n, W.dtype) / jnp.sqrt(n) + 0.01 * jnp.arange(n, dtype=W.dtype) / n


def power_hist(W, k):
    """Estimates after each of ``k`` power iterations (``optlab.lipschitz.power_iteration``)."""
    return lp.power_iteration(W, num_steps=k, v0=_start_vector(W)).iterates[1:]


def gram_hist(W, k):
    """Bounds after each of ``k`` Gram iterations (``optlab.lipschitz.gram_iteration``)."""
    return lp.gram_iteration(W, num_steps=k).iterates[1:]


@jax.jit
def svd_norm(W):
    return jnp.linalg.svd(W, compute_uv=False)[0]


def iters_to_tol(hist, exact):
    err = np.abs(np.asarray(hist) / exact - 1)
    hit = np.nonzero(err < TOL)[0]
    return int(hit[0]) + 1 if len(hit) else None


def dense(sizes, repeats, max_power, dtype):
    print(f"\nDense Gaussian n×n matrices ({dtype}), time to relative error < {TOL:g}")
    print(f"{'n':>6} {'SVD s':>9} {'Gram it':>8} {'Gram s':>9} {'power it':>9} {'power s':>9} "
          f"{'power/Gram':>11} {'SVD/Gram':>9}")
    rows = []
    for n in sizes:
        W = jnp.asarray(np.random.default_rng(n).normal(size=(n, n)) / np.sqrt(n), dtype)
        exact = float(np.linalg.svd(np.asarray(W, np.float64), compute_uv=False)[0])
        t_svd = _time(svd_norm, W, repeats=repeats)
        kg = iters_to_tol(gram_hist(W, 40), exact)
        kp = iters_to_tol(power_hist(W, max_power), exact)
        # jit the library calls so argument checks (which read W back to the host) are traced away
        gram_fn = jax.jit(lambda W: lp.gram_iteration(W, num_steps=kg).sigma)
        pow_fn = jax.jit(lambda W: lp.power_iteration(W, num_steps=kp or max_power, v0=_start_vector(W)).sigma)
        t_g = _time(gram_fn, W, repeats=repeats) if kg else float("nan")
        t_p = _time(pow_fn, W, repeats=repeats)  # capped: a lower bound
        kp_s = str(kp) if kp else f">{max_power}"
        print(f"{n:>6} {t_svd:>9.4f} {kg!s:>8} {t_g:>9.4f} {kp_s:>9} {t_p:>9.4f} "
              f"{t_p / t_g:>11.2f} {t_svd / t_g:>9.2f}")
        rows.append((n, t_svd, kg, t_g, kp, t_p))
    return rows


def conv(channels, size, repeats, max_power, dtype):
    print(f"\n3×3 circular convolution, {channels}→{channels} channels on {size}×{size} ({dtype})")
    K = jnp.asarray(np.random.default_rng(0).normal(size=(channels, channels, 3, 3)) / (3 * np.sqrt(channels)), dtype)
    exact_fn = jax.jit(lambda K: lp.conv_spectral_norm_exact(K, size))
    exact = float(exact_fn(K))
    t_exact = _time(exact_fn, K, repeats=repeats)
    g_hist = np.asarray(lp.conv_gram_iteration(K, size, num_steps=30).iterates)[1:]
    kg = iters_to_tol(g_hist, exact)
    p_hist = np.asarray(lp.conv_power_iteration(K, size, num_steps=max_power, key=jax.random.key(0)).iterates)[1:]
    kp = iters_to_tol(p_hist, exact)
    gram_fn = jax.jit(lambda K: lp.conv_gram_iteration(K, size, num_steps=kg).sigma)
    t_g = _time(gram_fn, K, repeats=repeats)
    # if the cap is hit, time the capped run: the true time to 1e-6 is larger
    pow_fn = jax.jit(lambda K: lp.conv_power_iteration(K, size, num_steps=kp or max_power, key=jax.random.key(0)).sigma)
    t_p = _time(pow_fn, K, repeats=repeats)
    kp_s = str(kp) if kp else f">{max_power}"
    if not kp:
        print(f"(power iteration did not reach {TOL:g} in {max_power} iterations: "
              f"relative error {abs(p_hist[-1] / exact - 1):.1e}; its time is a lower bound)")
    print(f"{'exact (FFT+SVD) s':>18} {'Gram it':>8} {'Gram s':>9} {'power it':>9} {'power s':>9} {'power/Gram':>11} {'exact/Gram':>11}")
    print(f"{t_exact:>18.4f} {kg!s:>8} {t_g:>9.4f} {kp_s:>9} {t_p:>9.4f} {t_p / t_g:>11.2f} {t_exact / t_g:>11.2f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512, 1024, 2048])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-power", type=int, default=5000)
    ap.add_argument("--conv-max-power", type=int, default=300)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--grid", type=int, default=32)
    ap.add_argument("--dtype", default="float64", choices=["float32", "float64"])
    ap.add_argument("--skip-conv", action="store_true")
    args = ap.parse_args()
    if args.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    print(f"JAX {jax.__version__}, device: {jax.devices()[0].device_kind} ({jax.default_backend()})")
    dense(args.sizes, args.repeats, args.max_power, args.dtype)
    if not args.skip_conv:
        conv(args.channels, args.grid, args.repeats, args.conv_max_power, args.dtype)


if __name__ == "__main__":
    main()
