"""Tests for optlab.rl against independent references: dense NumPy solves, cvxpy
(Clarabel) for the two LPs, closed-form LQR quantities (scipy's discrete Riccati solver,
NumPy moment recursions, scipy scalar minimisation), finite differences and
Monte-Carlo averages with standard-error tolerances."""

import time

import jax
import cvxpy as cp
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import rl


def np_policy_value(P, r, gamma, pi):
    """Reference V^π by explicit loops + numpy.linalg.solve."""
    S, A, _ = P.shape
    M = np.eye(S)
    b = np.zeros(S)
    for s in range(S):
        for a in range(A):
            b[s] += pi[s, a] * r[s, a]
            for t in range(S):
                M[s, t] -= gamma * pi[s, a] * P[s, a, t]
    return np.linalg.solve(M, b)


def np_value_iteration(P, r, gamma, iters=3000):
    V = np.zeros(P.shape[0])
    for _ in range(iters):
        V = np.max(r + gamma * P @ V, axis=1)
    return V


# --------------------------------------------------------------------------- validation

def test_mdp_validation_errors():
    P = np.full((3, 2, 3), 1 / 3)
    r = np.zeros((3, 2))
    rl.MDP(P, r, 0.9)  # fine
    bad = P.copy()
    bad[1, 0] = [0.5, 0.2, 0.2]
    with pytest.raises(ValueError, match=r"P\[1, 0, :\] sums to 0.9"):
        rl.MDP(bad, r, 0.9)
    neg = P.copy()
    neg[0, 0] = [1.2, -0.2, 0.0]
    with pytest.raises(ValueError, match="P must be non-negative"):
        rl.MDP(neg, r, 0.9)
    with pytest.raises(ValueError, match=r"gamma must lie in \[0.0, 1.0\)"):
        rl.MDP(P, r, 1.0)
    with pytest.raises(ValueError, match=r"gamma must lie in"):
        rl.MDP(P, r, -0.1)
    with pytest.raises(ValueError, match="r contains 1 NaN"):
        rl.MDP(P, np.array([[0, 1], [np.nan, 0], [0, 0.0]]), 0.9)
    with pytest.raises(ValueError, match=r"r must have shape \(3, 2\)"):
        rl.MDP(P, np.zeros((2, 3)), 0.9)
    with pytest.raises(ValueError, match=r"P must have shape \(S, A, S\)"):
        rl.MDP(np.full((3, 2, 4), 0.25), r, 0.9)
    with pytest.raises(ValueError, match="P must be a 3-D array"):
        rl.MDP(np.full((3, 3), 1 / 3), r, 0.9)
    with pytest.raises(ValueError, match="rho must sum to 1"):
        rl.MDP(P, r, 0.9, rho=np.array([0.5, 0.2, 0.2]))
    with pytest.raises(ValueError, match="P contains 18 NaN"):
        rl.MDP(np.where(P > 0, np.nan, P), r, 0.9)


def test_solver_argument_errors():
    m = rl.gridworld(3)
    with pytest.raises(ValueError, match="tol must be positive"):
        rl.value_iteration(m, tol=0.0)
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        rl.value_iteration(m, num_steps=10.5)
    with pytest.raises(ValueError, match="tau \\+ kappa must be positive"):
        rl.kl_value_iteration(m, 0.0, 0.0)
    with pytest.raises(ValueError, match="tau must be non-negative"):
        rl.kl_value_iteration(m, -1.0)
    with pytest.raises(ValueError, match="each row of pi must sum to 1"):
        rl.policy_evaluation(m, np.full((9, 4), 0.3))
    with pytest.raises(ValueError, match="pi0 must have full support"):
        rl.kl_value_iteration(m, 1.0, pi0=np.eye(4)[np.zeros(9, int)])
    with pytest.raises(ValueError, match=r"alpha must lie in \[0.0, 1.0\]"):
        rl.munchausen_value_iteration(m, 0.1, 1.5)
    with pytest.raises(ValueError, match="sigma must be positive"):
        rl.LQR(sigma=0.0)
    with pytest.raises(ValueError, match="gamma must lie in"):
        rl.LQR(gamma=1.0)
    with pytest.raises(ValueError, match="sampling needs a finite horizon"):
        rl.lqr_rollouts(0.0, rl.LQR(horizon=None), 5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="method must be one of"):
        rl.policy_gradient_run(rl.LQR(), "sgd", 0.0, key=jax.random.key(0), num_steps=5, learning_rate=0.1)
    with pytest.raises(ValueError, match="baseline must be None, a number or 'loo'"):
        rl.reinforce(0.0, rl.LQR(), 4, key=jax.random.key(0), baseline="mean")
    with pytest.raises(ValueError, match="k contains 1 NaN"):
        rl.lqr_return(np.nan, rl.LQR())


# --------------------------------------------------------------------------- LP duality

@pytest.mark.parametrize("make", [lambda: rl.gridworld(5),
                                  lambda: rl.random_mdp(12, 3, key=jax.random.key(1), gamma=0.95,
                                                        sparsity=0.5)])
def test_primal_equals_dual_equals_value_iteration(make, x64):
    m = make()
    vi = rl.value_iteration(m, tol=1e-11)
    lp = rl.solve_lp(m)
    target = float(m.rho @ vi.V)
    assert bool(vi.converged)
    assert abs(lp.primal_value - target) < 1e-6
    assert abs(lp.dual_value - target) < 1e-6
    np.testing.assert_allclose(lp.V, vi.V, atol=1e-6)
    # independent references: numpy value iteration and policy evaluation of the greedy policy
    P, r, g = np.asarray(m.P), np.asarray(m.r), float(m.gamma)
    np.testing.assert_allclose(vi.V, np_value_iteration(P, r, g), atol=1e-8)
    np.testing.assert_allclose(np_policy_value(P, r, g, np.asarray(vi.policy)), vi.V, atol=1e-8)
    # the occupancy measure of the LP is the occupancy of an optimal policy
    d_greedy = rl.occupancy_measure(m, jnp.asarray(lp.policy))
    np.testing.assert_allclose(lp.occupancy, d_greedy, atol=1e-6)
    np.testing.assert_allclose(np_policy_value(P, r, g, lp.policy), vi.V, atol=1e-6)


def test_lps_against_cvxpy(x64):
    m = rl.random_mdp(8, 3, key=jax.random.key(2), gamma=0.8)
    c, M, rho = rl.lp_matrices(m)
    d = cp.Variable(c.size)
    primal = cp.Problem(cp.Maximize(c @ d), [M @ d == rho, d >= 0])
    primal.solve(solver=cp.CLARABEL)
    V = cp.Variable(rho.size)
    dual = cp.Problem(cp.Minimize(rho @ V), [M.T @ V >= c])
    dual.solve(solver=cp.CLARABEL)
    lp = rl.solve_lp(m)
    assert abs(primal.value - lp.primal_value) < 1e-6
    assert abs(dual.value - lp.dual_value) < 1e-6
    np.testing.assert_allclose(V.value, lp.V, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), S=st.just(5), A=st.sampled_from([1, 3]),
       gamma=st.floats(0.0, 0.97))
def test_value_iteration_policy_iteration_and_lp_agree(seed, S, A, gamma):
    with jax.enable_x64(True):
        _vi_pi_lp_agree(seed, S, A, gamma)


def _vi_pi_lp_agree(seed, S, A, gamma):
    m = rl.random_mdp(S, A, key=jax.random.key(seed), gamma=gamma, sparsity=0.3)
    vi = rl.value_iteration(m, tol=1e-10)
    pi = rl.policy_iteration(m)
    assert bool(vi.converged) and bool(pi.converged)
    np.testing.assert_allclose(pi.V, vi.V, atol=1e-8)
    # policy iteration's policy is optimal: its dense-solve value is V*
    P, r = np.asarray(m.P), np.asarray(m.r)
    np.testing.assert_allclose(np_policy_value(P, r, gamma, np.asarray(pi.policy)), vi.V,
                               atol=1e-8)
    lp = rl.solve_lp(m)
    assert abs(lp.primal_value - lp.dual_value) < 1e-6
    assert abs(lp.primal_value - float(m.rho @ vi.V)) < 1e-6


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), gamma=st.floats(0.0, 0.99))
def test_occupancy_identities(seed, gamma):
    with jax.enable_x64(True):
        _occupancy_identities(seed, gamma)


def _occupancy_identities(seed, gamma):
    key1, key2 = jax.random.split(jax.random.key(seed))
    m = rl.random_mdp(6, 3, key=key1, gamma=gamma)
    pi = jax.nn.softmax(jax.random.normal(key2, (6, 3)), axis=1)
    d = rl.occupancy_measure(m, pi)
    V = rl.policy_evaluation(m, pi)
    np.testing.assert_allclose(V, np_policy_value(np.asarray(m.P), np.asarray(m.r), gamma,
                                                  np.asarray(pi)), atol=1e-9)
    assert abs(float(jnp.sum(d)) - 1 / (1 - gamma)) < 1e-8
    assert abs(float(jnp.sum(d * m.r)) - float(m.rho @ V)) < 1e-8
    # the occupancy satisfies the Bellman-flow constraints of the primal LP
    _, M, rho = rl.lp_matrices(m)
    np.testing.assert_allclose(M @ np.asarray(d).ravel(), rho, atol=1e-9)


def test_gridworld_structure(x64):
    m = rl.gridworld(4, slip=0.2)
    np.testing.assert_allclose(np.asarray(m.P).sum(-1), 1.0, atol=1e-12)
    vi = rl.value_iteration(m)
    # the optimal policy avoids the trap's neighbourhood and V is largest at the goal
    assert int(np.argmax(vi.V)) == 15


# --------------------------------------------------------------------------- KL-regularized VI

@pytest.mark.parametrize("tau,kappa", [(0.5, 0.0), (0.05, 0.0), (0.2, 0.1)])
def test_mdvi_q_averaging_identity(tau, kappa, x64):
    m = rl.random_mdp(10, 4, key=jax.random.key(3), gamma=0.9)
    pi0 = jax.nn.softmax(jax.random.normal(jax.random.key(4), (10, 4)), axis=1)
    out = rl.kl_value_iteration(m, tau, kappa, num_steps=60, pi0=pi0)
    alpha, beta = tau / (tau + kappa), 1 / (tau + kappa)
    q = np.asarray(out.iterates)
    psi = np.zeros_like(q[0])
    for k in range(60):
        psi = q[k] + alpha * psi                    # Ψ_k = Σ_{j≤k} α^{k−j} Q_j
        logits = alpha ** (k + 1) * np.log(np.asarray(pi0)) + beta * psi
        ref = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        np.testing.assert_allclose(out.log_policies[k + 1], ref, atol=1e-8)


@pytest.mark.parametrize("tau,kappa", [(0.3, 0.0), (0.2, 0.1), (0.0, 0.2)])
def test_mdvi_with_q_errors(tau, kappa, x64):
    # approximate MDVI: Q_{k+1} = r + γ P V_k + ε_{k+1}; reference: the recursion in NumPy
    m = rl.random_mdp(6, 3, key=jax.random.key(8), gamma=0.8)
    eps = 0.5 * np.asarray(jax.random.normal(jax.random.key(9), (40, 6, 3)))
    out = rl.kl_value_iteration(m, tau, kappa, num_steps=40, q_errors=eps)
    lam, alpha = tau + kappa, tau / (tau + kappa)
    P, r, g = np.asarray(m.P), np.asarray(m.r), float(m.gamma)
    q, logpi = np.zeros((6, 3)), np.log(np.full((6, 3), 1 / 3))
    for k in range(40):
        logits = alpha * logpi + q / lam
        logpi = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        V = lam * scipy.special.logsumexp(logits, axis=1)
        q = r + g * P @ V + eps[k]
        np.testing.assert_allclose(out.iterates[k + 1], q, atol=1e-9)
        np.testing.assert_allclose(out.log_policies[k + 1], logpi, atol=1e-9)
    exact = rl.kl_value_iteration(m, tau, kappa, num_steps=40)
    zero = rl.kl_value_iteration(m, tau, kappa, num_steps=40, q_errors=np.zeros((40, 6, 3)))
    np.testing.assert_array_equal(exact.iterates, zero.iterates)
    with pytest.raises(ValueError, match="q_errors"):
        rl.kl_value_iteration(m, tau, kappa, num_steps=40, q_errors=np.zeros((39, 6, 3)))
    with pytest.raises(ValueError, match="q_errors"):
        rl.kl_value_iteration(m, tau, kappa, num_steps=40, q_errors=np.full((40, 6, 3), np.nan))


def test_mdvi_entropy_fixed_point_is_soft_optimal(x64):
    m = rl.gridworld(4)
    kappa = 0.3
    out = rl.kl_value_iteration(m, 0.5, kappa, num_steps=400)
    # reference: soft value iteration, V = κ log Σ_a exp(Q/κ), π* = softmax(Q*/κ)
    P, r, g = np.asarray(m.P), np.asarray(m.r), float(m.gamma)
    V = np.zeros(16)
    for _ in range(1500):
        Q = r + g * P @ V
        V = kappa * scipy.special.logsumexp(Q / kappa, axis=1)
    pi_star = scipy.special.softmax(Q / kappa, axis=1)
    np.testing.assert_allclose(out.policies()[-1], pi_star, atol=1e-8)


def test_kl_only_mdvi_converges_to_optimal_value(x64):
    m = rl.gridworld(5)
    vi = rl.value_iteration(m)
    out = rl.kl_value_iteration(m, 0.2, 0.0, num_steps=300)
    gaps = [float(jnp.max(vi.V - rl.policy_evaluation(m, p))) for p in out.policies()[::50]]
    assert all(gap >= -1e-9 for gap in gaps)
    assert gaps[-1] < 1e-3 * gaps[0] and gaps[-1] < 5e-3


def test_munchausen_equals_mdvi(x64):
    m = rl.random_mdp(9, 3, key=jax.random.key(5), gamma=0.9)
    for tau, alpha in [(0.1, 0.9), (1.0, 0.5), (0.3, 0.0)]:
        mvi = rl.munchausen_value_iteration(m, tau, alpha, num_steps=80)
        md = rl.kl_value_iteration(m, alpha * tau, (1 - alpha) * tau, num_steps=80)
        np.testing.assert_allclose(mvi.log_policies[1:], md.log_policies[1:], atol=1e-9)


# --------------------------------------------------------------------------- LQR

SYS = rl.LQR()  # a=0.8, b=0.5, q=1, R=0.1, sigma=0.5, noise=0.1, x0_std=1, gamma=0.9, H=20


def np_lqr_return(k, s, H):
    m, J = s.x0_std ** 2, 0.0
    for t in range(H):
        J -= s.gamma ** t * ((s.q + s.R * k * k) * m + s.R * s.sigma ** 2)
        m = (s.a + s.b * k) ** 2 * m + s.b ** 2 * s.sigma ** 2 + s.noise ** 2
    return J


@pytest.mark.parametrize("k", [-1.5, -0.7, 0.0, 0.3])
def test_lqr_return_and_gradient_closed_forms(k, x64):
    inf = SYS._replace(horizon=None)
    assert abs(float(rl.lqr_return(k, SYS)) - np_lqr_return(k, SYS, 20)) < 1e-10
    assert abs(float(rl.lqr_return(k, inf)) - np_lqr_return(k, SYS, 2000)) < 1e-8
    h = 1e-6
    for s in (SYS, inf):
        fd = (np_lqr_return(k + h, s, 20 if s.horizon else 2000)
              - np_lqr_return(k - h, s, 20 if s.horizon else 2000)) / (2 * h)
        assert abs(float(rl.lqr_gradient(k, s)) - fd) < 1e-6 * (1 + abs(fd))
    # the hand-derived infinite-horizon gradient equals autodiff of the closed form
    auto = jax.grad(lambda kk: rl.lqr_return(kk, inf))(k)
    assert abs(float(rl.lqr_gradient(k, inf)) - float(auto)) < 1e-9


def test_lqr_unstable_gain_is_minus_infinity():
    inf = SYS._replace(horizon=None)
    assert float(rl.lqr_return(10.0, inf)) == -np.inf


def test_lqr_optimal_gain_against_scipy(x64):
    inf = SYS._replace(horizon=None)
    k_star, J_star = rl.lqr_optimal_gain(inf)
    g = inf.gamma
    Pr = scipy.linalg.solve_discrete_are(np.array([[np.sqrt(g) * inf.a]]),
                                         np.array([[np.sqrt(g) * inf.b]]),
                                         np.array([[inf.q]]), np.array([[inf.R]]))[0, 0]
    k_ref = -g * inf.a * inf.b * Pr / (inf.R + g * inf.b ** 2 * Pr)
    assert abs(k_star - k_ref) < 1e-10
    res = scipy.optimize.minimize_scalar(lambda k: -np_lqr_return(k, inf, 3000),
                                         bounds=(-3, 0), method="bounded",
                                         options=dict(xatol=1e-10))
    assert abs(k_star - res.x) < 1e-5 and abs(J_star + res.fun) < 1e-8
    k_H, J_H = rl.lqr_optimal_gain(SYS)
    resH = scipy.optimize.minimize_scalar(lambda k: -np_lqr_return(k, SYS, 20), bounds=(-3, 0),
                                          method="bounded", options=dict(xatol=1e-10))
    assert abs(k_H - resH.x) < 1e-5 and abs(J_H + resH.fun) < 1e-9


def test_rollout_returns_match_closed_form():
    tr = rl.lqr_rollouts(-0.5, SYS, 40_000, key=jax.random.key(0))
    G = np.asarray(jnp.sum(tr.r * SYS.gamma ** jnp.arange(20), axis=1))
    se = G.std() / np.sqrt(G.size)
    assert abs(G.mean() - np_lqr_return(-0.5, SYS, 20)) < 4 * se
    # the state second moment at t = 5 matches the recursion
    m = 1.0
    for _ in range(5):
        m = (0.8 - 0.25) ** 2 * m + 0.25 * 0.25 + 0.01
    x5 = np.asarray(tr.x[:, 5]) ** 2
    assert abs(x5.mean() - m) < 4 * x5.std() / np.sqrt(x5.size)


@pytest.mark.parametrize("baseline,rtg", [(None, False), ("loo", False), (None, True),
                                          ("exact", True)])
def test_reinforce_is_unbiased(baseline, rtg):
    k = -0.5
    b = float(rl.lqr_return(k, SYS)) if baseline == "exact" else baseline
    g = np.asarray(rl.reinforce(k, SYS, 10_000, key=jax.random.key(1), baseline=b, reward_to_go=rtg))
    exact = float(rl.lqr_gradient(k, SYS))
    se = g.std() / np.sqrt(g.size)
    assert abs(g.mean() - exact) < 4 * se, (g.mean(), exact, se)


def test_baseline_and_reward_to_go_reduce_variance():
    k = -0.5
    key = jax.random.key(2)
    v = {name: float(np.var(rl.reinforce(k, SYS, 10_000, key=key, baseline=b, reward_to_go=t)))
         for name, b, t in [("plain", None, False), ("loo", "loo", False),
                            ("gpomdp", None, True)]}
    assert v["loo"] < 0.7 * v["plain"]
    assert v["gpomdp"] < 0.8 * v["plain"]


def test_score_is_derivative_of_log_prob(x64):
    x, u, k, s = 0.7, -0.2, -0.4, 0.5
    d = jax.grad(rl.gaussian_log_prob)(k, x, u, s)
    assert abs(float(d) - (u - k * x) * x / s ** 2) < 1e-12
    ref = scipy.stats.norm.logpdf(u, loc=k * x, scale=s)
    assert abs(float(rl.gaussian_log_prob(k, x, u, s)) - ref) < 1e-12


def test_hessian_vector_product(x64):
    k = jnp.asarray(-0.5)
    tr = rl.lqr_rollouts(k, SYS, 20_000, key=jax.random.key(3))
    one = rl.Rollouts(tr.x[0], tr.u[0], tr.r[0])
    # ∇²Φ v by autodiff equals a finite difference of ∇Φ; the extra term is ∇Φ·(∇log p·v)
    h, v = 1e-5, 0.7
    gphi = jax.grad(rl.surrogate)
    fd = (gphi(k + h, one, SYS) - gphi(k - h, one, SYS)) / (2 * h) * v
    score = float(jnp.sum((one.u - k * one.x) * one.x)) / SYS.sigma ** 2
    expected = float(gphi(k, one, SYS)) * score * v + float(fd)
    assert abs(float(rl.hessian_vector_product(k, v, one, SYS)) - expected) < 1e-5 * (1 + abs(expected))
    # unbiased for the Hessian J''(k) (Monte Carlo, 4 standard errors)
    hv = jax.vmap(lambda x, u, r: rl.hessian_vector_product(k, 1.0, rl.Rollouts(x, u, r), SYS))(
        tr.x, tr.u, tr.r)
    hv = np.asarray(hv)
    exact = float(jax.grad(jax.grad(lambda kk: rl.lqr_return(kk, SYS)))(k))
    assert abs(hv.mean() - exact) < 4 * hv.std() / np.sqrt(hv.size)


@pytest.mark.parametrize("method,lr", [("reinforce", 0.01), ("n-pg-igt", 0.3),
                                       ("n-harpg", 0.1)])
def test_policy_gradient_methods_improve(method, lr):
    k_star, J_star = rl.lqr_optimal_gain(SYS)
    runs = jax.vmap(lambda key: rl.policy_gradient_run(SYS, method, 0.0, key=key, num_steps=300, learning_rate=lr))(
        jax.random.split(jax.random.key(0), 8))
    gap0 = J_star - float(rl.lqr_return(0.0, SYS))
    gaps = J_star - np.asarray(rl.lqr_return(runs.params, SYS))
    assert np.all(gaps >= -1e-12)
    assert np.median(gaps) < (0.5 if method == "reinforce" else 0.25) * gap0
    per = 2 if method == "n-harpg" else 1
    assert int(runs.trajectories[0, -1]) == (0 if method == "reinforce" else 1) + per * 300


def test_polyak_step(x64):
    k_star, J_star = rl.lqr_optimal_gain(SYS)
    run = rl.polyak_policy_gradient(0.0, SYS, num_steps=40, j_star=J_star)
    J0, g0 = float(rl.lqr_return(0.0, SYS)), float(rl.lqr_gradient(0.0, SYS))
    assert abs(float(run.learning_rates[0]) - (J_star - J0) / g0 ** 2) < 1e-12
    assert abs(float(run.params) - k_star) < 1e-6
    assert np.all(np.diff(np.asarray(run.values)) >= -1e-12)  # monotone on this problem
    fixed = rl.polyak_policy_gradient(0.0, SYS, num_steps=40, j_star=J_star, learning_rate=0.05)
    assert J_star - float(fixed.values[-1]) > 100 * (J_star - float(run.values[-1]))
    assert np.all(np.asarray(fixed.learning_rates) == 0.05)
    with pytest.raises(ValueError, match="learning_rate must be 'polyak' or a positive number"):
        rl.polyak_policy_gradient(0.0, SYS, num_steps=3, j_star=J_star, learning_rate="armijo")


def test_results_follow_the_protocol():
    """params is the final point, iterates the recorded history (start included),
    converged and n_iters come with a tolerance; LPOutput is an exact solve."""
    m = rl.gridworld(3)
    vi = rl.value_iteration(m, tol=1e-4, num_steps=500)
    assert vi.params is vi.V and bool(vi.converged) and 0 < int(vi.n_iters) < 500
    pi = rl.policy_iteration(m, num_steps=50)
    assert pi.params is pi.policy and bool(pi.converged) and 0 < int(pi.n_iters) < 50
    out = rl.kl_value_iteration(m, 0.1, num_steps=7)
    assert out.iterates.shape == (8, 9, 4) and out.log_policies.shape == (8, 9, 4)
    np.testing.assert_array_equal(out.params, out.iterates[-1])
    np.testing.assert_allclose(out.policies().sum(-1), 1.0, rtol=1e-6)
    pg = rl.policy_gradient_run(SYS, "n-pg-igt", 0.0, key=jax.random.key(0), num_steps=6, learning_rate=0.1)
    assert pg.iterates.shape == (7,) and float(pg.params) == float(pg.iterates[-1])
    run = rl.polyak_policy_gradient(0.0, SYS, num_steps=4, j_star=-1.0)
    assert run.iterates.shape == (5,) and run.learning_rates.shape == (4,) and run.values.shape == (5,)
    assert "LPOutput" in rl._NOT_A_RUN


# --------------------------------------------------------------------------- figures

def test_gridworld_policy_slider():
    from optlab.viz import rl as viz_rl

    m = rl.gridworld(4)
    kappas = [1.0, 0.1]
    outs = [rl.kl_value_iteration(m, 0.1, kp, num_steps=50) for kp in kappas]
    pols = np.stack([np.asarray(o.policies()[-1]) for o in outs])
    vals = np.stack([np.asarray(rl.policy_evaluation(m, jnp.asarray(p))) for p in pols])
    fig = viz_rl.gridworld_policy_slider(vals, pols, kappas, "κ = ", n=4, goal=(3, 3),
                                         trap=(1, 3))
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 2 and len(fig.data) == 2 * 2 + 2
    # exactly one heatmap and one arrow trace visible per step, markers always
    for j, st_ in enumerate(steps):
        vis = st_.args[0]["visible"]
        assert vis[-2:] == [True, True] and sum(vis) == 4
        assert vis[2 * j] and vis[2 * j + 1]
    assert len(fig.to_json()) < 1_000_000
    with pytest.raises(ValueError, match="values must have shape"):
        viz_rl.gridworld_policy_slider(vals[:1], pols, kappas, "κ = ", n=4)


def test_pg_learning_curves():
    from optlab.viz import rl as viz_rl

    rng = np.random.default_rng(0)
    T = np.arange(1, 51)
    gaps = {"a": rng.random((2, 5, 50)), "b": rng.random((2, 5, 50))}
    fig = viz_rl.pg_learning_curves({"a": T, "b": 2 * T}, gaps, [0.1, 0.3], "γ₀")
    assert len(fig.layout.sliders[0].steps) == 2 and len(fig.data) == 2 * 2 * 3
    med = [tr for tr in fig.data if tr.name == "a (median)"][0]
    np.testing.assert_allclose(med.y, np.percentile(gaps["a"][0], 50, axis=0, method="nearest"), rtol=1e-2)
    with pytest.raises(ValueError, match=r"must have shape \(P=3"):
        viz_rl.pg_learning_curves({"a": T}, {"a": gaps["a"]}, [1, 2, 3], "γ₀")


# --------------------------------------------------------------------------- float32 (the readers' dtype)

def test_float32_value_iteration_policy_iteration_and_lp_agree():
    m = rl.gridworld(5)
    assert m.P.dtype == jnp.float32 and m.gamma.dtype == jnp.float32
    vi = rl.value_iteration(m, tol=1e-4)
    pi = rl.policy_iteration(m)
    lp = rl.solve_lp(m)                       # float64 HiGHS on the float32 data
    assert bool(vi.converged) and bool(pi.converged)
    scale = np.max(np.abs(lp.V))
    # value iteration guarantees tol (measured 8.5e-5 absolute, V* up to 10); policy
    # iteration's dense solve is at rounding level (measured 2.3e-7 relative)
    assert np.max(np.abs(np.asarray(vi.V) - lp.V)) <= 1e-4 + 2e-6 * scale
    assert np.max(np.abs(np.asarray(pi.V) - lp.V)) <= 2e-6 * scale
    np.testing.assert_array_equal(np.asarray(pi.policy), np.asarray(vi.policy))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_occupancy_identities(seed):
    key1, key2 = jax.random.split(jax.random.key(seed))
    gamma = 0.95
    m = rl.random_mdp(6, 3, key=key1, gamma=gamma)
    pi = jax.nn.softmax(jax.random.normal(key2, (6, 3)), axis=1)
    d, V = rl.occupancy_measure(m, pi), rl.policy_evaluation(m, pi)
    assert d.dtype == V.dtype == jnp.float32
    ref = np_policy_value(np.asarray(m.P, float), np.asarray(m.r, float), float(m.gamma),
                          np.asarray(pi, float))
    # measured over 6 seeds: values 7.4e-7 relative, mass 5.7e-7, <d, r> vs <rho, V> 5.5e-7
    np.testing.assert_allclose(V, ref, rtol=5e-6)
    assert abs(float(jnp.sum(d)) * (1 - gamma) - 1) < 5e-6
    assert abs(float(jnp.sum(d * m.r)) - float(m.rho @ V)) < 5e-6 * float(jnp.sum(jnp.abs(d * m.r)))


@pytest.mark.parametrize("k", [-1.5, -0.7, 0.0, 0.3])
def test_float32_lqr_return_and_gradient(k):
    inf = SYS._replace(horizon=None)
    J = rl.lqr_return(k, SYS)
    assert J.dtype == jnp.float32
    ref = np_lqr_return(k, SYS, 20)
    assert abs(float(J) - ref) <= 2e-6 * abs(ref)           # measured <= 2.9e-7
    ref_inf = np_lqr_return(k, SYS, 2000)
    assert abs(float(rl.lqr_return(k, inf)) - ref_inf) <= 2e-6 * abs(ref_inf)   # measured 3.6e-7
    with jax.enable_x64(True):
        g64 = {s.horizon: float(rl.lqr_gradient(k, s)) for s in (SYS, inf)}
    for s in (SYS, inf):
        g32 = float(rl.lqr_gradient(k, s))
        assert abs(g32 - g64[s.horizon]) <= 5e-6 * (abs(g64[s.horizon]) + abs(ref))  # measured 5e-7


def test_float32_lqr_optimal_gain():
    k_H, J_H = rl.lqr_optimal_gain(SYS)
    with jax.enable_x64(True):
        k64, J64 = rl.lqr_optimal_gain(SYS)
    # measured: k* to 1.4e-8 relative (Newton on J'), J* to 1e-7
    assert abs(k_H - k64) <= 1e-6 * abs(k64)
    assert abs(J_H - J64) <= 1e-6 * abs(J64)


# --------------------------------------------------------------------------- validation, tracing, compilation

def test_mdp_validates_every_field_for_every_type():
    P = np.full((2, 1, 2), 0.5)
    with pytest.raises(TypeError, match="gamma must be numeric"):
        rl.MDP(P, np.zeros((2, 1)), "0.9")
    with pytest.raises(ValueError, match="gamma must lie in"):
        rl.MDP(P, np.zeros((2, 1)), jnp.float32(1.0))
    with pytest.raises(ValueError, match="P\\[0, 0, :\\] sums to 2"):
        rl.MDP(np.ones((2, 1, 2), int), np.zeros((2, 1), int), 0.5)
    m = rl.MDP(P, np.array([[2 ** 40], [0]]), 0.5)      # integer rewards: converted, no overflow
    assert m.r.dtype == jnp.float32 and float(m.r[0, 0]) == 2.0 ** 40
    assert float(rl.value_iteration(m, tol=1.0).V[0]) > 2.0 ** 40
    with pytest.raises(ValueError, match="gamma must lie in"):
        m._replace(gamma=1.5)
    with pytest.raises(ValueError, match="goal must lie inside the 3 x 3 grid"):
        rl.gridworld(3, goal=(5, 5))
    with pytest.raises(ValueError, match="trap must differ from goal"):
        rl.gridworld(4, goal=(1, 3))
    # the default trap (1, 3) does not fit a 3 x 3 grid and is dropped
    assert float(jnp.min(rl.gridworld(3).r)) == 0.0
    with pytest.raises(TypeError, match="sigma must be numeric"):
        rl.LQR(sigma="0.5")
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        rl.lqr_rollouts(-0.5, SYS, 3, key=0)


def test_mdp_is_a_pytree_built_under_jit_and_vmap():
    m = rl.gridworld(3)
    f = jax.jit(lambda g: rl.value_iteration(rl.MDP(m.P, m.r, g), num_steps=300).V)
    Vs = jax.vmap(f)(jnp.array([0.5, 0.9]))
    np.testing.assert_allclose(Vs[1], rl.value_iteration(m, num_steps=300).V, rtol=1e-6)
    assert float(Vs[0, 8]) == pytest.approx(1 / (1 - 0.5), rel=1e-6)   # the goal
    leaves, tree = jax.tree_util.tree_flatten(m)
    assert len(leaves) == 4 and isinstance(jax.tree_util.tree_unflatten(tree, leaves), rl.MDP)
    # gradients flow through a validated MDP
    dV = jax.grad(lambda g: rl.policy_evaluation(rl.MDP(m.P, m.r, g), jnp.full((9, 4), 0.25))[0])(0.9)
    assert np.isfinite(float(dV)) and float(dV) > 0


def test_solvers_compile_once_per_shape():
    def timed(f):
        t = time.perf_counter()
        jax.block_until_ready(f())
        return time.perf_counter() - t

    m1 = rl.random_mdp(7, 3, key=jax.random.key(10))
    m2 = rl.random_mdp(7, 3, key=jax.random.key(11), gamma=0.5)
    cold = timed(lambda: rl.value_iteration(m1, tol=1e-4).V)
    n_vi = rl.tabular._vi._cache_size()
    warm = timed(lambda: rl.value_iteration(m2, tol=1e-3).V)
    assert rl.tabular._vi._cache_size() == n_vi
    print(f"value_iteration cold {cold:.3f} s, warm {warm:.4f} s")
    for fn, jitted in ((lambda mm: rl.policy_iteration(mm).V, rl.tabular._pi_run),
                       (lambda mm: rl.kl_value_iteration(mm, 0.1, num_steps=5).iterates, rl.regularized._mdvi),
                       (lambda mm: rl.policy_evaluation(mm, jnp.full((7, 3), 1 / 3)), rl.tabular._policy_value)):
        fn(m1)
        n = jitted._cache_size()
        fn(m2)
        assert jitted._cache_size() == n
    sys2 = rl.LQR(a=0.7, horizon=12)
    cold = timed(lambda: rl.lqr_optimal_gain(sys2)[0])
    n = (rl.policy_gradient._lqr_newton_step._cache_size(), rl.policy_gradient._lqr_return_jit._cache_size())
    warm = timed(lambda: rl.lqr_optimal_gain(sys2)[0])
    assert (rl.policy_gradient._lqr_newton_step._cache_size(), rl.policy_gradient._lqr_return_jit._cache_size()) == n
    print(f"lqr_optimal_gain cold {cold:.3f} s, warm {warm:.4f} s")
    rl.lqr_gradient(jnp.array([0.1, 0.2]), sys2)
    n = rl.policy_gradient._lqr_gradient._cache_size()
    rl.lqr_gradient(jnp.array([-0.3, 0.4]), sys2)
    assert rl.policy_gradient._lqr_gradient._cache_size() == n


# ---------------------------------------------------------------------------
# approximate VI and the averaging of noisy evaluations (Vieillard et al. 2020)
# ---------------------------------------------------------------------------


def np_avi(P, r, g, eps):
    """Reference approximate VI: π_{k+1} = greedy(Q_k), Q_{k+1} = r + γ P max Q_k + ε_{k+1}."""
    K, S, A = eps.shape
    q, qs, pis = np.zeros((S, A)), [np.zeros((S, A))], [np.full((S, A), 1 / A)]
    for k in range(K):
        pis.append(np.eye(A)[np.argmax(q, axis=1)])
        q = r + g * P @ q.max(axis=1) + eps[k]
        qs.append(q)
    return np.array(qs), np.array(pis)


def np_mdvi(P, r, g, tau, kappa, eps):
    K, S, A = eps.shape
    lam, alpha = tau + kappa, tau / (tau + kappa)
    q, logpi, pis = np.zeros((S, A)), np.log(np.full((S, A), 1 / A)), [np.full((S, A), 1 / A)]
    for k in range(K):
        logits = alpha * logpi + q / lam
        logpi = logits - scipy.special.logsumexp(logits, axis=1, keepdims=True)
        q = r + g * P @ (lam * scipy.special.logsumexp(logits, axis=1)) + eps[k]
        pis.append(np.exp(logpi))
    return np.array(pis)


def np_q_gap(P, r, g, q_star, pi):
    v = np_policy_value(P, r, g, pi)
    return np.max(np.abs(q_star - (r + g * P @ v)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_approximate_value_iteration_against_numpy(dtype):
    with jax.enable_x64(dtype == "float64"):
        m = rl.random_mdp(6, 3, key=jax.random.key(8), gamma=0.8)
        eps = 0.3 * np.asarray(jax.random.normal(jax.random.key(9), (30, 6, 3)), dtype=np.float64)
        out = rl.approximate_value_iteration(m, num_steps=30, q_errors=eps.astype(dtype))
        assert out.iterates.dtype == np.dtype(dtype)
        qs, pis = np_avi(np.asarray(m.P, np.float64), np.asarray(m.r, np.float64), float(m.gamma), eps)
        # float32: measured max |ΔQ| ~ 1e-6 at |Q| ~ 5
        np.testing.assert_allclose(out.iterates, qs, atol=1e-10 if dtype == "float64" else 2e-5)
        np.testing.assert_allclose(np.asarray(out.policies()), pis, atol=1e-7)  # π_0 = 1/3 rounded
        # no noise: Q_k -> q* (value iteration)
        exact = rl.approximate_value_iteration(m, num_steps=200)
        P, r, g = np.asarray(m.P, np.float64), np.asarray(m.r, np.float64), float(m.gamma)
        q_star = r + g * P @ np_value_iteration(P, r, g)
        np.testing.assert_allclose(exact.params, q_star, atol=1e-8 if dtype == "float64" else 1e-4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("tau,kappa", [(0.3, 0.0), (0.09, 0.01)])
def test_noisy_value_iteration_against_numpy(dtype, tau, kappa):
    with jax.enable_x64(dtype == "float64"):
        m = rl.random_mdp(6, 3, key=jax.random.key(3), gamma=0.8)
        key, sigma, K = jax.random.key(5), 0.4, 25
        out = rl.noisy_value_iteration(m, tau, kappa, noise_scale=sigma, num_steps=K, key=key)
        eps = sigma * np.asarray(jax.random.normal(key, (K, 6, 3), dtype=dtype), dtype=np.float64)
        P, r, g = np.asarray(m.P, np.float64), np.asarray(m.r, np.float64), float(m.gamma)
        q_star = r + g * P @ np_value_iteration(P, r, g)
        _, avi_pis = np_avi(P, r, g, eps)
        reg_pis = np_mdvi(P, r, g, tau, kappa, eps)
        ref = np.array([np_q_gap(P, r, g, q_star, p) for p in reg_pis])
        ref_avi = np.array([np_q_gap(P, r, g, q_star, p) for p in avi_pis])
        means = np.cumsum(eps, 0) / np.arange(1, K + 1)[:, None, None]  # E_k / k
        ref_avg = np.r_[0.0, np.abs(means).max(axis=(1, 2))]
        # float32: measured |Δ| <= 3e-6 on gaps of size ~1
        tol = 1e-9 if dtype == "float64" else 5e-5
        np.testing.assert_allclose(out.errors, ref, atol=tol)
        np.testing.assert_allclose(out.avi_errors, ref_avi, atol=tol)
        np.testing.assert_allclose(out.noise_averages, ref_avg, atol=tol)
        np.testing.assert_allclose(out.params, reg_pis[-1], atol=tol)
        np.testing.assert_array_equal(np.asarray(out.avi_policy), avi_pis[-1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("tau,kappa", [(0.3, 0.0), (0.09, 0.01)])
def test_noisy_value_iteration_noiseless_is_exact_vi(dtype, tau, kappa):
    # σ = 0: the noisy runs are the existing exact functions, and their errors are the
    # suboptimality gaps of those functions' policies measured with policy_evaluation
    with jax.enable_x64(dtype == "float64"):
        m = rl.random_mdp(6, 3, key=jax.random.key(12), gamma=0.8)
        K = 40
        out = rl.noisy_value_iteration(m, tau, kappa, noise_scale=0.0, num_steps=K, key=jax.random.key(4))
        kl = rl.kl_value_iteration(m, tau, kappa, num_steps=K)
        avi = rl.approximate_value_iteration(m, num_steps=K)
        assert out.errors.dtype == np.dtype(dtype) and out.errors.shape == (K + 1,)
        tol = 1e-12 if dtype == "float64" else 1e-6
        np.testing.assert_allclose(out.policy, kl.policies()[-1], atol=tol)
        np.testing.assert_array_equal(np.asarray(out.avi_policy), np.asarray(avi.policies()[-1]))
        # AVI without noise is value iteration on Q: its greedy policy is value_iteration's
        vi = rl.value_iteration(m, tol=1e-10)
        np.testing.assert_array_equal(np.asarray(out.avi_policy).argmax(1), np.asarray(vi.policy).argmax(1))
        q_star = rl.bellman_q(m, vi.V)
        for k in (1, 5, K):
            for err, pi in ((out.errors, kl.policies()[k]), (out.avi_errors, avi.policies()[k])):
                q_pi = rl.bellman_q(m, rl.policy_evaluation(m, pi))
                # float32: measured |Δ| ~ 1e-6 on gaps ~ 1 (two different linear solvers)
                atol = 1e-9 if dtype == "float64" else 2e-5
                np.testing.assert_allclose(err[k], jnp.max(jnp.abs(q_star - q_pi)), atol=atol)
        np.testing.assert_array_equal(np.asarray(out.noise_averages), 0.0)


def test_noisy_value_iteration_averages_errors(x64):
    # the headline of Vieillard et al. (2020): with noise, KL-regularised VI's final policy is
    # far better than approximate VI's on the same noise, and its error grows more slowly with σ.
    # Measured (random MDP 10x3, γ = 0.9, K = 60, 12 seeds): see the assertions' margins.
    m = rl.random_mdp(10, 3, key=jax.random.key(0), gamma=0.9)
    keys = jax.random.split(jax.random.key(1), 12)
    sigmas = jnp.array([0.0, 0.3, 1.0])
    one = lambda s, k: rl.noisy_value_iteration(m, 0.5, noise_scale=s, num_steps=60, key=k)  # noqa: E731
    run = jax.jit(jax.vmap(jax.vmap(one, (None, 0)), (0, None)))
    out = run(sigmas, keys)
    reg, avi = np.asarray(out.errors[..., -1]), np.asarray(out.avi_errors[..., -1])
    se = lambda x: x.std(-1) / np.sqrt(x.shape[-1])  # noqa: E731
    for i in (1, 2):
        assert avi[i].mean() - reg[i].mean() > 3 * (se(avi[i]) + se(reg[i]))
    assert (reg[2].mean() - reg[1].mean()) < 0.5 * (avi[2].mean() - avi[1].mean())
    # σ = 0: both exact; noise averages are zero
    np.testing.assert_allclose(out.noise_averages[0], 0.0)
    # Vieillard et al. (2020), Thm 1 (κ = 0): ‖q* − q^{π_k}‖ ≤ 2/(1−γ)‖E_k/k‖ + 4/(1−γ)² (r_max + γτ ln|A|)/k
    k = np.arange(1, 61)
    g, rmax = 0.9, float(np.max(np.abs(np.asarray(m.r))))
    bound = 2 / (1 - g) * np.asarray(out.noise_averages[..., 1:])
    bound = bound + 4 / (1 - g) ** 2 * (rmax + g * 0.5 * np.log(3)) / k
    assert np.all(np.asarray(out.errors[..., 1:]) <= bound)


def test_noisy_value_iteration_compiles_once():
    m1 = rl.random_mdp(7, 3, key=jax.random.key(10))
    m2 = rl.random_mdp(7, 3, key=jax.random.key(11), gamma=0.5)
    rl.noisy_value_iteration(m1, 0.2, noise_scale=0.1, num_steps=5, key=jax.random.key(0))
    n = (rl.regularized._noisy_vi._cache_size(), rl.regularized._avi._cache_size())
    rl.noisy_value_iteration(m2, 0.3, 0.1, noise_scale=0.5, num_steps=5, key=jax.random.key(1))
    rl.approximate_value_iteration(m1, num_steps=5)
    n2 = rl.regularized._avi._cache_size()
    rl.approximate_value_iteration(m2, num_steps=5, q_errors=np.ones((5, 7, 3)))
    assert rl.regularized._noisy_vi._cache_size() == n[0] and rl.regularized._avi._cache_size() == n2
    with pytest.raises(TypeError, match="key"):
        rl.noisy_value_iteration(m1, 0.2, noise_scale=0.1, num_steps=5, key=0)
    with pytest.raises(ValueError, match="noise_scale"):
        rl.noisy_value_iteration(m1, 0.2, noise_scale=-0.1, num_steps=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="tau"):
        rl.noisy_value_iteration(m1, 0.0, 0.0, noise_scale=0.1, num_steps=5, key=jax.random.key(0))
