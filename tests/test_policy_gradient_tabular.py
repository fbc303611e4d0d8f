"""optlab.rl.policy_gradient_tabular against NumPy references: the exact softmax policy gradient,
sampled episodes, REINFORCE with baselines and exact policy-gradient ascent."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import rl
from optlab.rl import policy_gradient_tabular as pgt

KEY = jax.random.key(0)


def _mdp(dtype=np.float64, S=4, A=3, gamma=0.7, seed=5):
    m = rl.random_mdp(S, A, key=jax.random.key(seed), gamma=gamma)
    rho = np.random.default_rng(seed).dirichlet(np.ones(S))
    return rl.MDP(np.asarray(m.P, dtype), np.asarray(m.r, dtype), gamma, rho.astype(dtype))


def _np_value(mdp, theta):
    P, r, g, rho = (np.asarray(x, np.float64) for x in mdp)
    z = np.exp(theta - theta.max(1, keepdims=True))
    pi = z / z.sum(1, keepdims=True)
    P_pi, r_pi = np.einsum("sa,sat->st", pi, P), np.sum(pi * r, 1)
    return rho @ np.linalg.solve(np.eye(len(rho)) - g * P_pi, r_pi)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_gradient_matches_finite_differences_of_a_numpy_value(dtype):
    with jax.enable_x64(dtype == np.float64):
        mdp = _mdp(dtype)
        theta = np.random.default_rng(0).normal(size=(4, 3))
        g = np.asarray(rl.softmax_policy_gradient(mdp, theta.astype(dtype)))
        assert g.dtype == dtype
        fd = np.zeros_like(theta)
        h = 1e-6
        for i in np.ndindex(theta.shape):
            e = np.zeros_like(theta)
            e[i] = h
            fd[i] = (_np_value(mdp, theta + e) - _np_value(mdp, theta - e)) / (2 * h)
        tol = 2e-5 if dtype == np.float32 else 1e-8
        np.testing.assert_allclose(g, fd, atol=tol)
        v = float(rl.softmax_value(mdp, theta.astype(dtype)))
        assert abs(v - _np_value(mdp, theta)) < (1e-5 if dtype == np.float32 else 1e-12)
        # the gradient is tangent to the softmax: it sums to zero in every state
        np.testing.assert_allclose(g.sum(1), 0, atol=tol)


def test_episodes_follow_the_mdp_and_the_policy(x64):
    mdp = _mdp()
    pi = np.random.default_rng(1).dirichlet(np.ones(3), size=4)
    ep = rl.sample_episodes(mdp, pi, num_episodes=40_000, horizon=3, key=KEY)
    s, a, r = (np.asarray(x) for x in ep)
    assert s.shape == (40_000, 4) and a.shape == r.shape == (40_000, 3)
    np.testing.assert_array_equal(r, np.asarray(mdp.r)[s[:, :3], a])
    n = 40_000
    f0 = np.bincount(s[:, 0], minlength=4) / n
    assert np.all(np.abs(f0 - np.asarray(mdp.rho)) < 5 * np.sqrt(0.25 / n))
    joint = np.zeros((4, 3, 4))
    np.add.at(joint, (s[:, :3].ravel(), a.ravel(), s[:, 1:].ravel()), 1)
    visits = joint.sum(2)
    act = visits / visits.sum(1, keepdims=True)
    assert np.all(np.abs(act - pi) < 5 * np.sqrt(0.25 / visits.sum(1, keepdims=True)))
    trans = joint / np.maximum(visits[..., None], 1)
    assert np.all(np.abs(trans - np.asarray(mdp.P)) < 5 * np.sqrt(0.25 / np.maximum(visits[..., None], 1)))


def _np_reinforce(mdp, theta, ep, baseline):
    g_ = float(mdp.gamma)
    z = np.exp(theta - theta.max(1, keepdims=True))
    pi = z / z.sum(1, keepdims=True)
    s, a, r = (np.asarray(x) for x in ep)
    out = np.zeros((len(r),) + theta.shape)
    for n in range(len(r)):
        H = r.shape[1]
        for t in range(H):
            G = sum(g_ ** (h - t) * r[n, h] for h in range(t, H))
            score = -pi[s[n, t]].copy()
            score[a[n, t]] += 1
            out[n, s[n, t]] += g_**t * (G - baseline[s[n, t]]) * score
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reinforce_matches_a_loop_reference(dtype):
    with jax.enable_x64(dtype == np.float64):
        mdp = _mdp(dtype)
        theta = np.random.default_rng(2).normal(size=(4, 3))
        ep = rl.sample_episodes(mdp, rl.softmax_policy(theta.astype(dtype)), num_episodes=5, horizon=7, key=KEY)
        b = np.array([0.3, -1.0, 2.0, 0.5])
        est = np.asarray(rl.softmax_reinforce(mdp, theta.astype(dtype), ep, baseline=b.astype(dtype)))
        assert est.dtype == dtype and est.shape == (5, 4, 3)
        tol = 1e-4 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(est, _np_reinforce(mdp, theta, ep, b), atol=tol)
        # a constant baseline is the same as a constant vector
        c1 = rl.softmax_reinforce(mdp, theta.astype(dtype), ep, baseline=0.7)
        c2 = rl.softmax_reinforce(mdp, theta.astype(dtype), ep, baseline=np.full(4, 0.7, dtype))
        np.testing.assert_allclose(c1, c2, atol=tol)


def test_reinforce_is_unbiased_for_every_baseline_and_baselines_reduce_variance(x64):
    mdp = _mdp(gamma=0.5)
    theta = np.random.default_rng(3).normal(size=(4, 3))
    pi = rl.softmax_policy(theta)
    exact = np.asarray(rl.softmax_policy_gradient(mdp, theta))
    ep = rl.sample_episodes(mdp, pi, num_episodes=50_000, horizon=40, key=KEY)  # 0.5^40: no truncation bias
    V = np.asarray(rl.policy_evaluation(mdp, pi))
    variances = {}
    for name, b in (("none", None), ("constant", float(np.asarray(mdp.rho) @ V)), ("value", V)):
        est = np.asarray(rl.softmax_reinforce(mdp, theta, ep, baseline=b))
        se = est.std(0) / np.sqrt(len(est))
        assert np.max(np.abs(est.mean(0) - exact) / se) < 4.5, name
        variances[name] = est.var(0).sum()
    # both baselines cut the variance; V^π is not the variance-optimal baseline, and on this MDP the
    # constant ⟨ρ, V^π⟩ does slightly better (measured 0.046 against 0.049)
    assert max(variances["value"], variances["constant"]) < 0.5 * variances["none"]


def test_score_function_gradient_is_the_gradient_of_the_log_likelihood():
    theta = jnp.asarray(np.random.default_rng(4).normal(size=(3, 2)), jnp.float32)
    s, a = jnp.array([[0, 2, 2, 1]]), jnp.array([[1, 0, 1, 1]])
    w = jnp.array([[0.5, -1.0, 2.0, 0.25]])
    auto = jax.grad(lambda t: jnp.sum(w[0] * jax.nn.log_softmax(t, axis=1)[s[0], a[0]]))(theta)
    np.testing.assert_allclose(rl.score_function_gradient(theta, s, a, w)[0], auto, atol=1e-6)


def test_sampling_compiles_once_per_shape_and_vmaps_over_keys():
    mdp = _mdp(np.float32)
    pi = np.full((4, 3), 1 / 3, np.float32)
    rl.sample_episodes(mdp, pi, num_episodes=8, horizon=5, key=KEY)
    n0 = pgt._episodes._cache_size()
    rl.sample_episodes(mdp, pi[::-1].copy(), num_episodes=8, horizon=5, key=jax.random.key(9))
    assert pgt._episodes._cache_size() == n0
    keys = jax.random.split(KEY, 3)
    batched = jax.vmap(lambda k: pgt._episodes(k, mdp, jnp.asarray(pi), num_episodes=2, horizon=5).rewards)(keys)
    one = rl.sample_episodes(mdp, pi, num_episodes=2, horizon=5, key=keys[1]).rewards
    np.testing.assert_array_equal(batched[1], one)


def test_gradient_ascent_takes_exact_gradient_steps_and_improves(x64):
    mdp = _mdp()
    out = rl.softmax_policy_gradient_ascent(mdp, learning_rate=0.5, num_steps=3)
    theta = np.zeros((4, 3))
    for _ in range(3):
        theta = theta + 0.5 * np.asarray(rl.softmax_policy_gradient(mdp, theta))
    np.testing.assert_allclose(out.params, theta, atol=1e-12)
    long = rl.softmax_policy_gradient_ascent(mdp, learning_rate=(1 - 0.7) ** 3 / 8, num_steps=200)
    assert np.all(np.diff(np.asarray(long.values)) >= -1e-12)  # the theory's step: monotone ascent
    np.testing.assert_allclose(out.policy(), rl.softmax_policy(out.params))


@settings(max_examples=20)
@given(st.integers(0, 10_000))
def test_policy_gradient_theorem_on_random_mdps(seed):
    with jax.enable_x64(True):
        mdp = _mdp(seed=seed % 50, gamma=0.9)
        theta = np.random.default_rng(seed).normal(size=(4, 3)) * 2
        auto = jax.grad(lambda t: rl.softmax_value(mdp, t))(jnp.asarray(theta))
        np.testing.assert_allclose(rl.softmax_policy_gradient(mdp, theta), auto, atol=1e-10)
