"""Benchmark: the lasso by optlab.prox (FISTA, FISTA with restart, cyclic coordinate descent)
against scikit-learn's ``Lasso`` (coordinate descent in Cython), time to the same duality gap
(numbers go to benchmarks/RESULTS.md).

Each solver's time is the time to reach a duality gap at most ``target = rel_gap · F(0)``
(``F(0) = ‖b‖²/(2N)``), the gap measured the same way for every solver (the dual point of
``optlab.prox.lasso_duality_gap``, in float64):

- optlab: one recorded run finds the first step (FISTA) or epoch (coordinate descent) whose
  iterate meets the target; then the compiled solver is timed for exactly that many steps
  (best of ``--repeats``, compilation excluded and reported apart);
- scikit-learn: ``Lasso(alpha=λ, fit_intercept=False)`` with the largest ``tol`` in
  ``10^-1 … 10^-14`` whose solution meets the target (its own stopping rule is a gap test
  with its own scaling), timed with that ``tol`` (best of ``--repeats``).

Run:  .venv/bin/python benchmarks/bench_prox.py [--repeats 5] [--rel-gap 1e-6]
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import Lasso  # noqa: E402

from optlab import prox  # noqa: E402


def _gaps(A, b, X, reg):
    """Duality gaps of the rows of X (as optlab.prox.lasso_duality_gap, vectorised in NumPy)."""
    n = A.shape[0]
    R = b[None, :] - X @ A.T
    corr = np.max(np.abs(R @ A), axis=1)
    U = R * np.minimum(1.0, n * reg / np.maximum(corr, np.finfo(float).tiny))[:, None]
    primal = np.sum(R * R, axis=1) / (2 * n) + reg * np.sum(np.abs(X), axis=1)
    dual = (b @ b - np.sum((b[None, :] - U) ** 2, axis=1)) / (2 * n)
    return primal - dual


def _best(fn, repeats):
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def problem(N, d, k, seed=0):
    r = np.random.default_rng(seed)
    A = r.normal(size=(N, d))
    x_true = np.zeros(d)
    x_true[r.choice(d, k, replace=False)] = r.choice([-1.0, 1.0], k) * r.uniform(1, 3, k)
    b = A @ x_true + 0.5 * r.normal(size=N)
    return A, b


def bench(N, d, k, reg_frac, rel_gap, repeats, max_steps):
    A, b = problem(N, d, k)
    N = A.shape[0]
    reg = reg_frac * float(prox.lasso_reg_max(A, b))
    target = rel_gap * float(b @ b) / (2 * N)
    # the single check of this benchmark's gap against the library's
    x_chk = np.asarray(prox.lasso(A, b, reg=reg, num_steps=50, return_iterates=False).params)
    assert np.isclose(
        _gaps(A, b, x_chk[None], reg)[0], float(prox.lasso_duality_gap(A, b, x_chk, reg=reg)), rtol=1e-8
    )
    Aj, bj = jnp.asarray(A), jnp.asarray(b)
    rows = []

    def optlab_row(name, run):
        X = np.asarray(run(max_steps, True))
        ok = np.nonzero(_gaps(A, b, X, reg) <= target)[0]
        if ok.size == 0:
            rows.append((name, f"not reached in {max_steps}", float("nan"), float("nan")))
            return
        steps = int(ok[0])
        t0 = time.perf_counter()
        jax.block_until_ready(run(steps, False))
        cold = time.perf_counter() - t0
        warm = _best(lambda: jax.block_until_ready(run(steps, False)), repeats)
        rows.append((name, steps, warm, cold))

    # FISTA's step 1/L, L = ‖A‖₂²/N: the lasso computes it by an SVD when no step is given;
    # here it is computed once and timed apart (the coordinate methods need column norms only)
    svd = jax.jit(lambda M: jnp.linalg.norm(M, 2))
    jax.block_until_ready(svd(Aj))
    t_svd = _best(lambda: jax.block_until_ready(svd(Aj)), repeats)
    lr = N / float(svd(Aj)) ** 2
    rows.append(("‖A‖₂ by SVD (FISTA's step; add to the FISTA rows)", "-", t_svd, float("nan")))
    for name, acc in (("optlab FISTA", "fista"), ("optlab FISTA + restart", "restart")):

        def run(steps, record, acc=acc):
            out = prox.lasso(
                Aj,
                bj,
                reg=reg,
                num_steps=max(steps, 1),
                learning_rate=lr,
                acceleration=acc,
                return_iterates=record,
            )
            return out.iterates if record else out.params

        optlab_row(name, run)

    def run_cd(steps, record):
        out = prox.lasso_coordinate_descent(Aj, bj, reg=reg, num_steps=max(steps, 1), rule="cyclic")
        return out.iterates if record else out.params

    optlab_row("optlab coordinate descent (cyclic)", run_cd)

    chosen = None
    for tol in 10.0 ** -np.arange(1, 15):
        m = Lasso(alpha=reg, fit_intercept=False, tol=tol, max_iter=100_000).fit(A, b)
        if _gaps(A, b, m.coef_[None], reg)[0] <= target:
            chosen = (tol, m.n_iter_)
            break
    if chosen is None:
        rows.append(("scikit-learn Lasso", "not reached", float("nan"), float("nan")))
    else:
        tol, n_iter = chosen
        t = _best(lambda: Lasso(alpha=reg, fit_intercept=False, tol=tol, max_iter=100_000).fit(A, b), repeats)
        rows.append((f"scikit-learn Lasso (tol = {tol:.0e})", n_iter, t, float("nan")))
    return rows, reg, target


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rel-gap", type=float, default=1e-6)
    args = p.parse_args(argv)
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, float64, target gap = {args.rel_gap:g} F(0)")
    for N, d, k, frac, max_steps in ((500, 1000, 20, 0.1, 3000), (2000, 200, 10, 0.05, 3000)):
        rows, reg, target = bench(N, d, k, frac, args.rel_gap, args.repeats, max_steps)
        sk = [r for r in rows if r[0].startswith("scikit")][0][2]
        print(
            f"\nN = {N}, d = {d}, {k}-sparse truth, lambda = {frac} lambda_max = {reg:.4g}, target gap {target:.3g}"
        )
        print(
            "| solver | steps/epochs to the gap | time (ms) | time / scikit-learn | cold incl. compile (s) |"
        )
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, steps, t, cold in rows:
            print(f"| {name} | {steps} | {1e3 * t:.2f} | {t / sk:.2f} | {cold:.2f} |")


if __name__ == "__main__":
    main()
