"""optlab.rl.natural_gradient against the multiplicative-weights form, the bandit closed form and
the bound of Agarwal, Kakade, Lee and Mahajan (2021, Theorem 16)."""

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import rl


def _np_npg(mdp, eta, T):
    P, r, g, _ = (np.asarray(x, np.float64) for x in mdp)
    S, A = r.shape
    pi = np.full((S, A), 1 / A)
    for _ in range(T):
        P_pi, r_pi = np.einsum("sa,sat->st", pi, P), np.sum(pi * r, 1)
        V = np.linalg.solve(np.eye(S) - g * P_pi, r_pi)
        Adv = r + g * P @ V - V[:, None]
        pi = pi * np.exp(eta * Adv / (1 - g))
        pi /= pi.sum(1, keepdims=True)
    return pi


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_npg_is_the_multiplicative_update(dtype):
    with jax.enable_x64(dtype == np.float64):
        m = rl.random_mdp(4, 3, key=jax.random.key(1), gamma=0.8)
        mdp = rl.MDP(np.asarray(m.P, dtype), np.asarray(m.r, dtype), 0.8)
        out = rl.natural_policy_gradient(mdp, learning_rate=0.3, num_steps=7)
        assert out.params.dtype == dtype and out.values.shape == (8, 4)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(out.policy(), _np_npg(mdp, 0.3, 7), atol=tol)
        np.testing.assert_allclose(out.values[3], rl.policy_evaluation(mdp, _np_npg(mdp, 0.3, 3)), atol=tol * 10)


def test_npg_on_a_bandit_is_exponential_weights():
    """γ = 0, one state: π_T ∝ exp(η T r), so the gap is Δ(A − 1)/(e^{ηTΔ} + A − 1)."""
    with jax.enable_x64(True):
        A, delta, eta = 6, 0.3, 0.2
        r = np.full((1, A), 1.0 - delta)
        r[0, 0] = 1.0
        mdp = rl.MDP(np.ones((1, A, 1)), r, 0.0)
        out = rl.natural_policy_gradient(mdp, learning_rate=eta, num_steps=50)
        T = np.arange(51)
        gap = 1.0 - np.asarray(out.values[:, 0])
        np.testing.assert_allclose(gap, delta * (A - 1) / (np.exp(eta * T * delta) + A - 1), atol=1e-12)


@settings(max_examples=15)
@given(st.integers(0, 10_000), st.sampled_from([0.1, 1.0, 5.0]), st.sampled_from([0.5, 0.9]))
def test_agarwal_bound_holds_in_every_state(seed, eta, gamma):
    with jax.enable_x64(True):
        mdp = rl.random_mdp(5, 3, key=jax.random.key(seed), gamma=gamma)
        V_star = np.asarray(rl.value_iteration(mdp, tol=1e-12).V)
        out = rl.natural_policy_gradient(mdp, learning_rate=eta, num_steps=60)
        T = np.arange(1, 61)
        gaps = V_star[None] - np.asarray(out.values[1:])
        bound = 1 / ((1 - gamma) ** 2 * T) + np.log(3) / (eta * T)
        assert np.all(gaps <= bound[:, None] + 1e-10)
        assert np.all(gaps >= -1e-9)  # V^π ≤ V*


def test_npg_reaches_the_optimal_values_and_its_logits_stay_bounded(x64):
    mdp = rl.random_mdp(5, 3, key=jax.random.key(3), gamma=0.9)
    V_star = np.asarray(rl.value_iteration(mdp, tol=1e-12).V)
    out = rl.natural_policy_gradient(mdp, learning_rate=1.0, num_steps=400)
    np.testing.assert_allclose(out.values[-1], V_star, atol=1e-9)
    assert np.all(np.asarray(out.params).max(axis=1) == 0)
