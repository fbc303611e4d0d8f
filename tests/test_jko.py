"""optlab.sampling.jko_1d: the JKO scheme on the line against the Ornstein–Uhlenbeck solution
of the Fokker–Planck equation (closed form), SciPy's minimiser of one step's objective, and the
exact implicit-Euler recursion of the mean. Float32 and float64; jit, vmap, compile once."""

from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from optlab import sampling as sp

jko_mod = importlib.import_module("optlab.sampling.jko")
N = 100
U = (np.arange(N) + 0.5) / N
Z = scipy.stats.norm.ppf(U)
MU0, S0 = 3.0, 0.3


def ou(x):
    return 0.5 * x * x


def quartic(x):
    return 0.25 * x**4 + 0.5 * x * x


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_mean_follows_the_implicit_euler_recursion(dtype):
    # Σ_i ∂/∂x_i of the entropy term telescopes to 0, so for f = x²/2 the mean obeys m ← m/(1 + τ)
    tau, K = 0.1, 10
    with jax.enable_x64(dtype == jnp.float64):
        out = sp.jko_1d(ou, jnp.asarray(MU0 + S0 * Z, dtype), learning_rate=tau, num_steps=K)
        means = np.asarray(jnp.mean(out.iterates, axis=1), float)
    assert out.params.dtype == dtype and out.iterates.shape == (K + 1, N)
    tol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(means, MU0 / (1 + tau) ** np.arange(K + 1), rtol=tol)


def test_converges_to_fokker_planck_at_first_order(x64):
    T = 1.0
    mt, st = MU0 * np.exp(-T), np.sqrt(1 + (S0**2 - 1) * np.exp(-2 * T))
    errs = []
    for tau in (0.1, 0.05):
        out = sp.jko_1d(ou, MU0 + S0 * Z, learning_rate=tau, num_steps=round(T / tau), return_iterates=False)
        errs.append(np.sqrt(np.mean((np.asarray(out.params) - (mt + st * Z)) ** 2)))
        assert float(jnp.max(out.grad_norms)) < 1e-9
    assert 1.8 < errs[0] / errs[1] < 2.2  # first order: halving τ halves the error
    assert errs[1] < 0.04


def test_one_step_matches_scipy(x64):
    rng = np.random.default_rng(0)
    y = np.sort(rng.normal(size=8))
    tau = 0.3
    out = sp.jko_1d(quartic, y, learning_rate=tau, num_steps=1, inner_num_steps=30)

    def objective(x):
        return (np.sum(0.25 * x**4 + 0.5 * x**2) - np.sum(np.log(np.diff(x))) + np.sum((x - y) ** 2) / (2 * tau)) / 8

    ref = scipy.optimize.minimize(objective, y, method="Nelder-Mead",
                                  options=dict(xatol=1e-10, fatol=1e-14, maxiter=40000, maxfev=40000))
    ref = scipy.optimize.minimize(objective, ref.x, method="BFGS", options=dict(gtol=1e-12))
    np.testing.assert_allclose(np.asarray(out.params), ref.x, atol=1e-6)
    assert np.all(np.diff(np.asarray(out.iterates), axis=1) > 0)


def test_vmaps_over_tau_and_compiles_once():
    x0 = jnp.asarray(MU0 + S0 * Z, jnp.float32)
    run = lambda tau: sp.jko_1d(ou, x0, learning_rate=tau, num_steps=3, return_iterates=False).params  # noqa: E731
    run(0.1)
    n = jko_mod._jko._cache_size()
    run(0.2)
    assert jko_mod._jko._cache_size() == n
    batched = jax.vmap(run)(jnp.array([0.1, 0.2]))
    np.testing.assert_allclose(batched[1], run(0.2), rtol=1e-5, atol=1e-5)


def test_refuses_unordered_quantiles():
    with pytest.raises(ValueError, match="strictly increasing"):
        sp.jko_1d(ou, [0.0, 2.0, 1.0], learning_rate=0.1, num_steps=2)
    with pytest.raises(ValueError, match="at least 2"):
        sp.jko_1d(ou, [0.0], learning_rate=0.1, num_steps=2)
