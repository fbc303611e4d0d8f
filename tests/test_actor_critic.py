"""Actor–critic on the scalar LQR (optlab.rl.actor_critic_lqr), against closed forms built from
chapter 16's exact return: ``V_k(x) = v₁x² + v₂`` with ``v₂ = J(k; σ₀ = 0)`` and
``v₁ = J(k; σ₀ = 1) − J(k; σ₀ = 0)``; the natural gradient ``σ² J'(k)/M`` with the discounted
second moment ``M = −∂J/∂q = J(k; q = 0) − J(k; q = 1)``."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import rl
from optlab.rl import actor_critic_lqr as ac_mod

SYS = rl.LQR(a=0.8, b=0.5, q=1.0, R=0.1, sigma=0.5, noise=0.1, x0_std=1.0, gamma=0.9, horizon=None)


def exact_critic(k, sys=SYS):
    j0 = float(rl.lqr_return(k, sys._replace(x0_std=0.0)))
    j1 = float(rl.lqr_return(k, sys._replace(x0_std=1.0)))
    return np.array([j1 - j0, j0])


def natural_gradient(k, sys=SYS):
    m = float(rl.lqr_return(k, sys._replace(q=0.0)) - rl.lqr_return(k, sys._replace(q=1.0)))
    return sys.sigma**2 * float(rl.lqr_gradient(k, sys)) / m


def test_exact_critic_satisfies_the_bellman_equation():
    """The reference itself: V(x) = E[r + γV(x')] for the Gaussian policy, by Gauss–Hermite."""
    k = -0.4
    v = exact_critic(k)
    z, w = np.polynomial.hermite_e.hermegauss(20)
    w = w / w.sum()
    for x in (-1.3, 0.0, 0.7):
        xi, eps = np.meshgrid(z, z, indexing="ij")
        u = k * x + SYS.sigma * xi
        x1 = SYS.a * x + SYS.b * u + SYS.noise * eps
        rhs = np.sum(np.outer(w, w) * (-(SYS.q * x * x + SYS.R * u * u) + SYS.gamma * (v[0] * x1**2 + v[1])))
        assert rhs == pytest.approx(v[0] * x * x + v[1], rel=1e-5)


@pytest.mark.parametrize("k", [0.0, -0.6])
def test_td_critic_fixed_point_is_the_exact_value(k):
    """TD(0) on many chains with a small step: the time average is V_k to within its noise (float32)."""
    out = rl.lqr_td_critic(SYS, k, key=jax.random.key(0), num_steps=3000, learning_rate=0.25, num_chains=256)
    assert out.critic_iterates.dtype == jnp.float32
    avg = np.asarray(out.critic_iterates[1500:]).mean(axis=0)
    np.testing.assert_allclose(avg, exact_critic(k), rtol=0.02)  # measured ≤ 0.2%
    # the compatible critic fitted alongside is the natural gradient (compatible function approximation)
    w = float(np.mean(np.asarray(out.gradients[1500:])))
    assert w == pytest.approx(natural_gradient(k), rel=0.05, abs=0.01)  # measured ≤ 0.5%
    assert np.all(np.asarray(out.iterates) == np.float32(k))  # the gain is held fixed


def test_critic_estimate_of_the_return():
    out = rl.lqr_td_critic(
        SYS, 0.0, key=jax.random.key(1), num_steps=2000, learning_rate=0.25, num_chains=256
    )
    np.testing.assert_allclose(
        out.values, out.critic_iterates[:, 0] * SYS.x0_std**2 + out.critic_iterates[:, 1]
    )
    assert float(np.mean(np.asarray(out.values[1000:]))) == pytest.approx(
        float(rl.lqr_return(0.0, SYS)), rel=0.02
    )


@pytest.mark.parametrize("k", [0.0, -0.6, -1.6])
def test_gradient_estimate_is_unbiased_and_has_the_sign_of_the_exact_gradient(k):
    """E[Σγᵗδ_tψ_t] with the exact critic = J'(k) (up to γᴴ); its sign agrees with lqr_gradient."""
    sys_h = SYS._replace(horizon=80)
    g = np.asarray(
        rl.actor_critic_gradient(k, sys_h, 4000, key=jax.random.key(2), critic=exact_critic(k)), float
    )
    exact = float(rl.lqr_gradient(k, SYS))
    se = g.std() / np.sqrt(g.size)
    assert abs(g.mean() - exact) < 4 * se + 1e-3 * abs(exact)
    assert np.sign(g.mean()) == np.sign(exact) and abs(g.mean()) > 4 * se
    # the two actor directions too: the compatible weight (natural) and mean δψ (vanilla)
    for method in ("natural", "vanilla"):
        run = rl.actor_critic(
            SYS,
            k,
            key=jax.random.key(3),
            num_steps=300,
            learning_rate=1e-6,
            critic_learning_rate=0.25,
            num_chains=256,
            method=method,
            critic0=exact_critic(k),
        )
        assert np.sign(float(np.mean(np.asarray(run.gradients[100:])))) == np.sign(exact)


def test_actor_critic_variance_is_below_reinforce_on_the_same_trajectories():
    sys_h = SYS._replace(horizon=80)
    key = jax.random.key(4)
    g_ac = np.asarray(rl.actor_critic_gradient(0.0, sys_h, 2000, key=key, critic=exact_critic(0.0)), float)
    g_r = np.asarray(rl.reinforce(0.0, sys_h, 2000, key=key, reward_to_go=True), float)
    assert g_r.var() > 5 * g_ac.var()  # measured ≈ 12×


@pytest.mark.parametrize("method", ["natural", "vanilla"])
def test_actor_critic_converges_to_the_riccati_gain(method):
    k_star, _ = rl.lqr_optimal_gain(SYS)
    out = rl.actor_critic(
        SYS,
        0.0,
        key=jax.random.key(5),
        num_steps=1500,
        learning_rate=0.1,
        critic_learning_rate=0.5,
        num_chains=256,
        method=method,
    )
    assert out.iterates.shape == (1501,) and out.critic_iterates.shape == (1501, 2)
    assert out.values.shape == (1501,) and out.gradients.shape == (1500,)
    assert float(out.params) == float(out.iterates[-1])
    assert abs(float(np.mean(np.asarray(out.iterates[-500:]))) - k_star) < 0.03  # measured ≤ 0.009
    assert abs(float(out.params) - k_star) < 0.04  # measured ≤ 0.008
    np.testing.assert_allclose(out.critic_params, exact_critic(float(out.params)), rtol=0.1)


def test_no_retrace_on_a_second_call():
    kw = dict(num_steps=50, learning_rate=0.05, critic_learning_rate=0.5, num_chains=8)
    rl.actor_critic(SYS, 0.0, key=jax.random.key(0), **kw)
    n = ac_mod._ac_run._cache_size()
    rl.actor_critic(
        SYS, -0.3, key=jax.random.key(1), **(kw | dict(learning_rate=0.02, critic_learning_rate=0.3))
    )
    rl.lqr_td_critic(SYS, -0.5, key=jax.random.key(2), num_steps=50, learning_rate=0.2, num_chains=8)
    assert ac_mod._ac_run._cache_size() == n
    sys_h = SYS._replace(horizon=10)
    rl.actor_critic_gradient(0.0, sys_h, 5, key=jax.random.key(0), critic=[0.0, 0.0])
    m = ac_mod._ac_gradient._cache_size()
    rl.actor_critic_gradient(-0.2, sys_h, 5, key=jax.random.key(1), critic=[-1.0, -2.0])
    assert ac_mod._ac_gradient._cache_size() == m


def test_vmap_over_keys_and_learning_rates():
    keys = jax.random.split(jax.random.key(0), 3)
    run = jax.vmap(
        lambda kk, lr: rl.actor_critic(
            SYS, 0.0, key=kk, num_steps=20, learning_rate=lr, critic_learning_rate=0.5, num_chains=8
        )
    )
    out = run(keys, jnp.array([0.01, 0.02, 0.05]))
    assert out.iterates.shape == (3, 21)
    one = rl.actor_critic(
        SYS, 0.0, key=keys[1], num_steps=20, learning_rate=0.02, critic_learning_rate=0.5, num_chains=8
    )
    np.testing.assert_allclose(out.iterates[1], one.iterates, rtol=1e-5)


def test_float64(x64):
    out = rl.actor_critic(
        SYS,
        0.0,
        key=jax.random.key(0),
        num_steps=10,
        learning_rate=0.05,
        critic_learning_rate=0.5,
        num_chains=8,
    )
    assert out.iterates.dtype == jnp.float64 and out.critic_params.dtype == jnp.float64
