"""optlab.rl.advantage against loop references: returns-to-go and GAE(λ)."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import rl


def _np_gae(r, v, g, lam):
    H = len(r)
    d = r + g * v[1:] - v[:-1]
    return np.array([sum((g * lam) ** l * d[t + l] for l in range(H - t)) for t in range(H)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lam", [0.0, 0.3, 0.95, 1.0])
def test_gae_matches_the_definition(dtype, lam):
    with jax.enable_x64(dtype == np.float64):
        rng = np.random.default_rng(0)
        r, v = rng.normal(size=(3, 9)), rng.normal(size=(3, 10))
        out = np.asarray(rl.gae(r.astype(dtype), v.astype(dtype), gamma=0.9, lam=lam))
        assert out.dtype == dtype and out.shape == (3, 9)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for i in range(3):
            np.testing.assert_allclose(out[i], _np_gae(r[i], v[i], 0.9, lam), atol=tol)


@settings(max_examples=30)
@given(st.integers(0, 10_000), st.floats(0.0, 1.0), st.integers(1, 12))
def test_gae_endpoints_are_the_td_residual_and_the_monte_carlo_advantage(seed, gamma, H):
    with jax.enable_x64(True):
        rng = np.random.default_rng(seed)
        r, v = rng.normal(size=H), rng.normal(size=H + 1)
        td = np.asarray(rl.gae(r, v, gamma=gamma, lam=0.0))
        np.testing.assert_allclose(td, r + gamma * v[1:] - v[:-1], atol=1e-12)
        mc = np.asarray(rl.gae(r, v, gamma=gamma, lam=1.0))
        G = np.asarray(rl.returns_to_go(r, gamma))
        t = np.arange(H)
        np.testing.assert_allclose(mc, G + gamma ** (H - t) * v[-1] - v[:-1], atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_returns_to_go_matches_a_loop(dtype):
    with jax.enable_x64(dtype == np.float64):
        r = np.random.default_rng(1).uniform(size=(2, 7)).astype(dtype)
        G = np.asarray(rl.returns_to_go(r, 0.8))
        ref = np.array([[sum(0.8 ** (h - t) * r[i, h] for h in range(t, 7)) for t in range(7)] for i in range(2)])
        np.testing.assert_allclose(G, ref, rtol=1e-5 if dtype == np.float32 else 1e-12)
        assert G.dtype == dtype


def test_gae_is_jit_and_vmap_compatible():
    r = np.random.default_rng(2).normal(size=(5, 6)).astype(np.float32)
    v = np.random.default_rng(3).normal(size=(5, 7)).astype(np.float32)
    lams = np.array([0.0, 0.5, 1.0], np.float32)
    batched = jax.jit(jax.vmap(lambda lam: rl.gae(r, v, gamma=0.9, lam=lam)))(lams)
    for i, lam in enumerate(lams):
        np.testing.assert_allclose(batched[i], rl.gae(r, v, gamma=0.9, lam=float(lam)), atol=1e-6)
