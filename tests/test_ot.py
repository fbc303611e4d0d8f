"""Tests for optlab.ot against POT (ot.sinkhorn, ot.emd), cvxpy, finite differences
and brute force.

Numerical checks run in float32 (the readers' dtype) with tolerances measured against
POT's float64 answers; identities to 1e-8 and finite differences ask for the ``x64``
fixture and build their arrays inside the test.
"""

import itertools
import time

import jax
import jax.numpy as jnp
import numpy as np
import ot as pot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import ot


def problem(seed, n=30, m=40, d=2):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, d)), rng.random((m, d)) + 0.3
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    C = pot.dist(x, y)
    return x, y, a, b, C / C.max()


# --------------------------------------------------------------------------- POT parity

POT_CASES = [(0, 0.1, "log"), (1, 0.03, "log"), (2, 0.01, "log"), (2, 0.01, "stabilized"),
             (3, 0.002, "stabilized")]


@pytest.mark.parametrize("seed,eps,method", POT_CASES)
def test_sinkhorn_matches_pot_log(x64, seed, eps, method):
    _, _, a, b, C = problem(seed)
    out = ot.sinkhorn(C, a, b, eps, tol=1e-12, num_steps=50000, method=method)
    ref = pot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=1e-14, numItermax=200000)
    P = np.asarray(out.plan())
    assert bool(out.converged)
    np.testing.assert_allclose(P, ref, atol=1e-6, rtol=0)
    assert abs(float(out.transport_cost) - float(np.sum(ref * C))) < 1e-6
    # regularised cost: primal <C,P> + eps KL(P || a⊗b) evaluated on POT's plan
    Q = np.outer(a, b)
    kl = np.sum(ref * np.log(ref / Q) - ref + Q)
    assert abs(float(out.reg_ot_cost) - (np.sum(ref * C) + eps * kl)) < 1e-6


@pytest.mark.parametrize("seed,eps,method", POT_CASES)
def test_sinkhorn_matches_pot_in_float32(seed, eps, method):
    """float32 against POT's float64 plan.  Measured on these cases: plan error
    <= 4.7e-6 max P, transport cost <= 1.3e-6 relative, regularised cost <= 1.3e-7
    relative; tolerances are ~4x those."""
    _, _, a, b, C = problem(seed)
    out = ot.sinkhorn(C, a, b, eps, tol=1e-6, num_steps=50000, method=method)
    assert out.f.dtype == jnp.float32
    ref = pot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=1e-14, numItermax=200000)
    P = np.asarray(out.plan(), dtype=np.float64)
    assert bool(out.converged)
    assert np.abs(P - ref).max() <= 2e-5 * ref.max()
    tc = float(np.sum(ref * C))
    assert abs(float(out.transport_cost) - tc) <= 5e-6 * tc
    Q = np.outer(a, b)
    reg = tc + eps * np.sum(ref * np.log(ref / Q) - ref + Q)
    assert abs(float(out.reg_ot_cost) - reg) <= 5e-7 * abs(reg)


def test_point_cloud_matches_explicit_cost_and_pot_dist(x64):
    x, y, a, b, C = problem(3)
    for power, bs in ((2.0, None), (2.0, 7), (1.5, 7), (1.0, None)):
        Cp = pot.dist(x, y, metric="euclidean") ** power
        Cp = Cp / Cp.max()
        if True:
            geom = ot.PointCloud(x, y, power=power, scale="max", batch_size=bs)
            np.testing.assert_allclose(geom.cost_matrix, Cp, atol=1e-10)
            out = ot.sinkhorn(geom, a, b, 0.05, tol=1e-12, num_steps=5000)
            ref = pot.sinkhorn(a, b, Cp, 0.05, method="sinkhorn_log", stopThr=1e-14,
                               numItermax=100000)
            np.testing.assert_allclose(out.plan(), ref, atol=1e-6)
            assert abs(float(out.transport_cost) - np.sum(ref * Cp)) < 1e-8


def test_emd_matches_pot_emd(x64):
    for seed in range(3):
        _, _, a, b, C = problem(seed, n=25, m=20)
        res = ot.emd(C, a, b)
        ref = pot.emd(a, b, C)
        assert abs(res.cost - float(np.sum(ref * C))) < 1e-9
        np.testing.assert_allclose(res.plan(), ref, atol=1e-6)
        # stored sparse: a vertex of the transportation polytope, at most n + m - 1 nonzeros
        assert len(res.masses) <= 25 + 20 - 1 and res.shape == (25, 20)


def test_results_follow_the_protocol(x64):
    """params is the final point, converged and n_iters come with a tolerance, the plan
    is a method; EMDOutput is an exact solve (listed in _NOT_A_RUN)."""
    _, _, a, b, C = problem(2, n=10, m=8)
    out = ot.sinkhorn(C, a, b, 0.1, tol=1e-9, num_steps=2000)
    assert out.params[0] is out.f and out.params[1] is out.g
    assert bool(out.converged) and 0 < int(out.n_iters) < 2000
    sns = ot.sinkhorn_newton_sparse(C, a, b, 0.1, tol=1e-9, num_steps=50)
    assert bool(sns.converged) and 0 < int(sns.n_iters) < 50
    assert sns.params[0] is sns.f and sns.densities.shape == sns.cg_num_steps.shape == (50,)
    sp = ot.sparse_ot(C, a, b, k=2, gamma=0.5, tol=1e-6, num_steps=30)
    assert sp.params is sp.alpha and 0 < int(sp.n_iters) <= 30
    P = np.asarray(sp.plan())
    np.testing.assert_allclose(P.sum(0), b, atol=1e-12)
    assert bool(sp.converged) == (float(np.abs(P.sum(1) - a).sum()) <= 1e-6)
    assert abs(float(sp.transport_cost) - float(np.sum(P * C))) < 1e-12
    assert "EMDOutput" in ot._NOT_A_RUN


def test_small_eps_approaches_exact_cost(x64):
    _, _, a, b, C = problem(4)
    exact = ot.emd(C, a, b).cost
    gaps = []
    for eps in (1e-1, 1e-2, 1e-3):
        out = ot.sinkhorn(C, a, b, eps, tol=1e-9, num_steps=50000)
        gaps.append(float(out.transport_cost) - exact)
    assert gaps[0] > gaps[1] > gaps[2] >= -1e-9
    assert gaps[2] < 2e-3


def test_small_eps_is_stable_in_float32():
    _, _, a, b, C = problem(4)
    # eps = 1e-4 in float32: no NaN/overflow, potentials finite, marginals near
    C32, a32, b32 = (jnp.asarray(v, jnp.float32) for v in (C, a, b))
    out = ot.sinkhorn(C32, a32, b32, 1e-4, tol=1e-3, num_steps=20000)
    P = np.asarray(out.plan())
    assert out.f.dtype == jnp.float32
    assert np.all(np.isfinite(out.f)) and np.all(np.isfinite(out.g)) and np.all(np.isfinite(P))
    assert np.all(np.isfinite(np.asarray(out.errors)))
    assert float(ot.marginal_error(jnp.asarray(P), a32, b32)) < 1e-2
    # the stabilised-scaling variant too
    st_out = ot.sinkhorn(C32, a32, b32, 1e-4, tol=1e-3, num_steps=20000, method="stabilized")
    Ps = np.asarray(st_out.plan())
    assert np.all(np.isfinite(Ps)) and np.all(np.isfinite(np.asarray(st_out.f)))
    assert float(ot.marginal_error(jnp.asarray(Ps), a32, b32)) < 1e-2
    # ... while the textbook non-log iteration breaks down (underflow → NaN / zero plan)
    Pn, errs = ot.sinkhorn_naive(C32, a32, b32, 1e-4, num_steps=20)
    assert not np.all(np.isfinite(np.asarray(Pn))) or np.isnan(np.asarray(errs)).any() \
        or float(np.nansum(Pn)) < 0.5


def test_sinkhorn_naive_matches_log_domain_at_large_eps(x64):
    _, _, a, b, C = problem(5)
    P, errs = ot.sinkhorn_naive(C, a, b, 0.1, num_steps=300)
    ref = ot.sinkhorn(C, a, b, 0.1, tol=1e-12, num_steps=5000).plan()
    np.testing.assert_allclose(P, ref, atol=1e-9)


def test_sinkhorn_naive_matches_log_domain_at_large_eps_float32():
    _, _, a, b, C = problem(5)
    P, _ = ot.sinkhorn_naive(C, a, b, 0.1, num_steps=300)
    ref = np.asarray(ot.sinkhorn(C, a, b, 0.1, tol=1e-6, num_steps=5000).plan())
    assert P.dtype == jnp.float32
    assert np.abs(np.asarray(P) - ref).max() <= 3e-6 * ref.max()  # measured 6e-7


# --------------------------------------------------------------------------- SNS

def test_sns_matches_sinkhorn_and_needs_far_fewer_iterations(x64):
    _, _, a, b, C = problem(6, n=60, m=60)
    eps = 5e-3
    sns = ot.sinkhorn_newton_sparse(C, a, b, eps, warmup=20, threshold=1e-6, tol=1e-9)
    sk = ot.sinkhorn(C, a, b, eps, tol=1e-9, num_steps=50000)
    assert bool(sns.converged) and bool(sk.converged)
    np.testing.assert_allclose(sns.plan(), sk.plan(), atol=1e-8)
    assert float(ot.marginal_error(sns.plan(), a, b)) <= 1e-9
    total = int(sns.n_sinkhorn) + int(sns.n_iters)
    assert 10 * total <= int(sk.n_iters), (total, int(sk.n_iters))
    d = np.asarray(sns.densities[: int(sns.n_iters)])
    assert np.all((d > 0) & (d < 1))
    assert int(sns.status) == 0 and sns.message.startswith("converged")
    # the plan is POT's plan as well
    ref = pot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=1e-13, numItermax=200000)
    np.testing.assert_allclose(sns.plan(), ref, atol=1e-6)


# --------------------------------------------------------------------------- vmap / grad

def test_vmap_over_problems_matches_loop(x64):
    Cs = np.stack([problem(s, n=12, m=12)[4] for s in range(4)])
    _, _, a, b, _ = problem(0, n=12, m=12)
    batched = jax.vmap(lambda C: ot.sinkhorn(C, a, b, 0.05, tol=1e-10, num_steps=3000))(Cs)
    for i in range(4):
        single = ot.sinkhorn(Cs[i], a, b, 0.05, tol=1e-10, num_steps=3000)
        np.testing.assert_allclose(batched.f[i] - batched.f[i][0],
                                   single.f - single.f[0], atol=1e-9)
        assert abs(float(batched.transport_cost[i]) - float(single.transport_cost)) < 1e-10
    # vmap over eps as well
    eps = jnp.array([0.1, 0.05, 0.02])
    costs = jax.vmap(lambda e: ot.sinkhorn(Cs[0], a, b, e, tol=1e-10, num_steps=5000)
                     .transport_cost)(eps)
    assert np.all(np.diff(np.asarray(costs)) < 0)


def test_implicit_gradient_matches_finite_differences_and_unrolled(x64):
    _, _, a, b, C = problem(7, n=15, m=12)
    eps = 0.05

    def cost(C, mode):
        return ot.sinkhorn(C, a, b, eps, tol=1e-13, num_steps=4000,
                           differentiation=mode).transport_cost

    gi = jax.grad(lambda C: cost(C, "implicit"))(jnp.asarray(C))
    gu = jax.grad(lambda C: cost(C, "unroll"))(jnp.asarray(C))
    E = np.random.default_rng(0).standard_normal(C.shape)
    h = 1e-6
    fd = (cost(C + h * E, "implicit") - cost(C - h * E, "implicit")) / (2 * h)
    assert abs(float(jnp.sum(gi * E)) - float(fd)) < 1e-6 * max(1.0, abs(float(fd)))
    np.testing.assert_allclose(gi, gu, atol=1e-7)

    # gradients w.r.t. the marginals and w.r.t. point positions (through PointCloud)
    x, y, _, _, _ = problem(7, n=15, m=12)

    def pc_cost(x, a):
        geom = ot.PointCloud(x, y)
        return ot.sinkhorn(geom, a, b, eps, tol=1e-13, num_steps=4000).transport_cost

    gx, ga = jax.grad(pc_cost, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(a))
    Ex = np.random.default_rng(1).standard_normal(x.shape)
    fdx = (pc_cost(x + h * Ex, a) - pc_cost(x - h * Ex, a)) / (2 * h)
    assert abs(float(jnp.sum(gx * Ex)) - float(fdx)) < 1e-6
    Ea = np.random.default_rng(2).standard_normal(a.shape)
    Ea -= Ea.mean()  # stay on the simplex's affine hull
    fda = (pc_cost(x, a + h * Ea) - pc_cost(x, a - h * Ea)) / (2 * h)
    assert abs(float(jnp.sum(ga * Ea)) - float(fda)) < 1e-6


def test_reg_cost_gradient_is_the_plan_envelope(x64):
    _, _, a, b, C = problem(8, n=10, m=9)
    g = jax.grad(lambda C: ot.sinkhorn(C, a, b, 0.1, tol=1e-13, num_steps=3000).reg_ot_cost)(
        jnp.asarray(C))
    P = ot.sinkhorn(C, a, b, 0.1, tol=1e-13, num_steps=3000).plan()
    np.testing.assert_allclose(g, P, atol=1e-9)


def test_gradients_in_float32():
    """The same envelope identity and implicit = unrolled, in float32."""
    _, _, a, b, C = problem(8, n=10, m=9)

    def run(C, mode):
        return ot.sinkhorn(C, a, b, 0.1, tol=1e-6, num_steps=3000, differentiation=mode)

    g = jax.grad(lambda C: run(C, "implicit").reg_ot_cost)(jnp.asarray(C, jnp.float32))
    P = np.asarray(run(C, "implicit").plan())
    assert g.dtype == jnp.float32
    assert np.abs(np.asarray(g) - P).max() <= 1e-5 * P.max()
    gi = jax.grad(lambda C: run(C, "implicit").transport_cost)(jnp.asarray(C, jnp.float32))
    gu = jax.grad(lambda C: run(C, "unroll").transport_cost)(jnp.asarray(C, jnp.float32))
    assert np.all(np.isfinite(np.asarray(gi)))
    assert np.abs(np.asarray(gi - gu)).max() <= 1e-3 * np.abs(np.asarray(gu)).max()


# --------------------------------------------------------------------------- properties

SIZES = [(6, 6), (8, 5)]


@st.composite
def ot_problems(draw):
    n, m = draw(st.sampled_from(SIZES))
    wa = draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n))
    wb = draw(st.lists(st.floats(0.05, 1.0), min_size=m, max_size=m))
    seed = draw(st.integers(0, 2**16))
    eps = draw(st.sampled_from([0.05, 0.2, 1.0]))
    C = np.random.default_rng(seed).random((n, m))
    a, b = np.array(wa), np.array(wb)
    return C, a / a.sum(), b / b.sum(), eps


@settings(max_examples=25, deadline=None)
@given(ot_problems())
def test_property_marginals_nonnegative_and_transpose(prob):
    """float32: marginals to the solver's tolerance (1e-5 in L1 on rows; columns are
    exact up to rounding), and OT(Cᵀ, b, a) = OT(C, a, b)ᵀ up to the solver's
    tolerance (two runs stopped at tol = 1e-5: measured <= 6.2e-6 over 200 random
    problems, mass 1)."""
    C, a, b, eps = prob
    out = ot.sinkhorn(C, a, b, eps, tol=1e-5, num_steps=20000)
    P = np.asarray(out.plan(), dtype=np.float64)
    assert bool(out.converged) and out.f.dtype == jnp.float32
    assert np.all(P >= 0)
    assert np.abs(P.sum(1) - a).sum() <= 1.5e-5
    assert np.abs(P.sum(0) - b).sum() <= 1e-5
    swapped = np.asarray(ot.sinkhorn(C.T, b, a, eps, tol=1e-5, num_steps=20000).plan())
    assert np.abs(swapped - P.T).max() <= 2e-5


# --------------------------------------------------------------------------- sparse OT

def _np_simplex_projection(v, mass):
    """Sort-based projection onto {t >= 0, sum t = mass} (Held et al. / Duchi et al.)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - mass
    rho = np.nonzero(u - css / np.arange(1, len(v) + 1) > 0)[0][-1]
    return np.maximum(v - css[rho] / (rho + 1), 0.0)


def _brute_sparse_projection(s, mass, k):
    best, best_val = None, np.inf
    n = len(s)
    for size in range(1, k + 1):
        for S in itertools.combinations(range(n), size):
            t = np.zeros(n)
            t[list(S)] = _np_simplex_projection(s[list(S)], mass)
            val = np.sum((t - s) ** 2)
            if val < best_val:
                best, best_val = t, val
    return best


def test_sparse_simplex_projection_brute_force(x64):
    rng = np.random.default_rng(0)
    for _ in range(5):
        s = rng.standard_normal(6)
        for k in (1, 2, 3, 6):
            t = np.asarray(ot.sparse_simplex_projection(jnp.asarray(s), 0.7, k))
            assert np.count_nonzero(t) <= k and abs(t.sum() - 0.7) < 1e-12 and np.all(t >= 0)
            ref = _brute_sparse_projection(s, 0.7, k)
            assert np.sum((t - s) ** 2) <= np.sum((ref - s) ** 2) + 1e-12
    # k = n: plain simplex projection (check with cvxpy)
    import cvxpy as cp

    s = rng.standard_normal(7)
    t = cp.Variable(7)
    cp.Problem(cp.Minimize(cp.sum_squares(t - s)), [t >= 0, cp.sum(t) == 1.0]).solve()
    np.testing.assert_allclose(ot.sparse_simplex_projection(jnp.asarray(s), 1.0, 7), t.value,
                               atol=1e-6)


def test_sparse_ot_column_sparsity_and_quadratic_limit(x64):
    import cvxpy as cp

    _, _, a, b, C = problem(9, n=12, m=10)
    gamma = 1.0
    for k in (1, 2, 3):
        out = ot.sparse_ot(C, a, b, k=k, gamma=gamma, tol=1e-6, num_steps=200)
        P = np.asarray(out.plan())
        assert np.all(np.count_nonzero(P > 0, axis=0) <= k)
        np.testing.assert_allclose(P.sum(0), b, atol=1e-12)
        assert np.all(P >= 0)
    # k = n: quadratically regularised OT, solved independently by cvxpy
    out = ot.sparse_ot(C, a, b, k=12, gamma=gamma, tol=1e-9, num_steps=3000)
    assert bool(out.converged)
    X = cp.Variable(C.shape)
    obj = cp.Minimize(cp.sum(cp.multiply(C, X)) + gamma / 2 * cp.sum_squares(X))
    cp.Problem(obj, [X >= 0, cp.sum(X, axis=1) == a, cp.sum(X, axis=0) == b]).solve(
        solver=cp.CLARABEL)
    np.testing.assert_allclose(out.plan(), X.value, atol=1e-5)


# --------------------------------------------------------------------------- Sinkformer

def test_sinkhorn_attention_softmax_and_doubly_stochastic_limit(x64):
    rng = np.random.default_rng(0)
    q, k, v = (jnp.asarray(rng.standard_normal((6, 4))) for _ in range(3))
    soft = jax.nn.softmax(q @ k.T / 2.0, axis=1) @ v
    np.testing.assert_allclose(ot.sinkhorn_attention(q, k, v, num_steps=1), soft, atol=1e-12)
    # many iterations: the attention matrix is the entropic OT plan between uniform
    # marginals with cost −QKᵀ/τ and eps = 1, times n
    eye = jnp.eye(6)
    A = ot.sinkhorn_attention(q, k, eye, num_steps=401)
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(A.sum(0), 1.0, atol=1e-9)
    ref = ot.sinkhorn(-(q @ k.T) / 2.0, None, None, 1.0, tol=1e-13, num_steps=5000).plan() * 6
    np.testing.assert_allclose(A, ref, atol=1e-8)


def test_sinkhorn_attention_in_float32():
    rng = np.random.default_rng(0)
    q, k, v = (jnp.asarray(rng.standard_normal((6, 4)), jnp.float32) for _ in range(3))
    soft = jax.nn.softmax(jnp.dot(q, k.T, precision="highest") / 2.0, axis=1) @ v
    out = ot.sinkhorn_attention(q, k, v, num_steps=1)
    assert out.dtype == jnp.float32
    assert np.abs(np.asarray(out - soft)).max() <= 1e-6 * np.abs(np.asarray(soft)).max() + 1e-6
    A = np.asarray(ot.sinkhorn_attention(q, k, jnp.eye(6), num_steps=401))
    assert np.abs(A.sum(1) - 1).max() <= 1e-6 and np.abs(A.sum(0) - 1).max() <= 1e-6
    ref = np.asarray(ot.sinkhorn(-(q @ k.T) / 2.0, None, None, 1.0, tol=1e-6,
                                 num_steps=5000).plan()) * 6
    assert np.abs(A - ref).max() <= 1e-6  # measured 9e-8


# --------------------------------------------------------------------------- errors

def test_errors():
    _, _, a, b, C = problem(0, n=5, m=4)
    with pytest.raises(ValueError, match="non-negative"):
        ot.sinkhorn(C, -a, b, 0.1)
    with pytest.raises(ValueError, match="same total mass"):
        ot.sinkhorn(C, 2 * a, b, 0.1)
    with pytest.raises(ValueError, match="eps must be positive"):
        ot.sinkhorn(C, a, b, 0.0)
    with pytest.raises(ValueError, match="eps must be positive"):
        ot.sinkhorn(C, a, b, -1e-3)
    with pytest.raises(ValueError, match="shape mismatch"):
        ot.sinkhorn(C, a[:3], b, 0.1)
    with pytest.raises(ValueError, match="shape mismatch"):
        ot.sinkhorn_newton_sparse(C.T, a, b, 0.1)
    Cn = C.copy()
    Cn[1, 2] = np.nan
    with pytest.raises(ValueError, match="cost_matrix contains 1 NaN"):
        ot.sinkhorn(Cn, a, b, 0.1)
    with pytest.raises(ValueError, match="cost_matrix contains"):
        ot.emd(Cn, a, b)
    an = a.copy()
    an[0] = np.nan
    with pytest.raises(ValueError, match="a contains NaN"):
        ot.sinkhorn(C, an, b, 0.1)
    with pytest.raises(ValueError, match="same dimension"):
        ot.PointCloud(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="power must be positive"):
        ot.PointCloud(np.zeros((3, 2)), np.zeros((3, 2)), power=0.0)
    with pytest.raises(ValueError, match="method must be"):
        ot.sinkhorn(C, a, b, 0.1, method="plain")
    with pytest.raises(ValueError, match="differentiation"):
        ot.sinkhorn(C, a, b, 0.1, differentiation="magic")
    with pytest.raises(ValueError, match="threshold"):
        ot.sinkhorn_newton_sparse(C, a, b, 0.1, threshold=1.5)
    with pytest.raises(ValueError, match="k must be at least 1"):
        ot.sparse_ot(C, a, b, k=0)
    with pytest.raises(ValueError, match="gamma must be positive"):
        ot.sparse_ot(C, a, b, k=2, gamma=0.0)
    with pytest.raises(ValueError, match="feature size"):
        ot.sinkhorn_attention(np.zeros((3, 2)), np.zeros((3, 4)), np.zeros((3, 1)))


# --------------------------------------------------------------------------- figures

def test_ot_figures_have_one_slider_step_per_value():
    from optlab.viz import ot as viz_ot

    rng = np.random.default_rng(0)
    plans = rng.random((3, 5, 4))
    fig = viz_ot.plan_slider(plans, [1.0, 0.1, 0.01])
    assert len(fig.layout.sliders[0].steps) == 3
    x, y = rng.random((5, 2)), rng.random((4, 2))
    fig = viz_ot.point_plan_slider(x, y, plans, [1.0, 0.1, 0.01], "ε = ")
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 3
    for j, step in enumerate(steps):  # the two point clouds stay, one group of segments shows
        vis = step.args[0]["visible"]
        assert vis[:2] == [True, True] and sum(vis[2:]) == 4
    sp = plans.copy()
    sp[sp < 0.5] = 0.0
    fig = viz_ot.sparse_plan_slider(sp, [1, 2, 3])
    assert np.isnan(np.asarray(fig.data[0].z, dtype=float)).any()  # zeros drawn blank
    runs = [dict(errors=np.geomspace(1, 1e-9, 6), time=np.linspace(0, 1, 6), density=0.3)] * 2
    fig = viz_ot.sns_comparison(dict(errors=np.geomspace(1, 1e-9, 50), time=np.linspace(0, 2, 50)),
                                runs, [1e-6, 0.0], tol=1e-9)
    assert len(fig.layout.sliders[0].steps) == 2 and len(fig.data) == 2 + 4


# --------------------------------------------------------------------------- edge cases (issue 18)

def zero_weight_problem(n=20, m=25, seed=11):
    """Marginals with zeros in both a and b."""
    rng = np.random.default_rng(seed)
    C = rng.random((n, m))
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    a[[0, 5, 7]] = 0.0
    b[[3, m - 2]] = 0.0
    return C, a / a.sum(), b / b.sum()


def _check_zero_weights(out, C, a, b, eps, atol_plan):
    P = np.asarray(out.plan(), dtype=np.float64)
    za, zb = a == 0, b == 0
    assert bool(out.converged), int(out.n_iters)
    assert np.all(P[za] == 0.0) and np.all(P[:, zb] == 0.0)  # exactly zero mass
    # against POT on the problem without the zero rows/columns
    ref = pot.sinkhorn(a[~za], b[~zb], C[np.ix_(~za, ~zb)], eps, method="sinkhorn_log",
                       stopThr=1e-14, numItermax=100000)
    assert np.abs(P[np.ix_(~za, ~zb)] - ref).max() <= atol_plan * ref.max()


@pytest.mark.parametrize("method", ["log", "stabilized"])
def test_zero_weights_carry_no_mass_and_converge(x64, method):
    """Regression: the stabilized method kept zero-weight rows alive (u = 1 there),
    left ~5e-5 mass on them and never converged."""
    C, a, b = zero_weight_problem()
    out = ot.sinkhorn(C, a, b, 0.01, tol=1e-9, num_steps=20000, method=method)
    _check_zero_weights(out, C, a, b, 0.01, 1e-6)
    assert int(out.n_iters) < 2000


@pytest.mark.parametrize("method", ["log", "stabilized"])
def test_zero_weights_carry_no_mass_and_converge_float32(method):
    C, a, b = zero_weight_problem()
    out = ot.sinkhorn(C, a, b, 0.01, tol=1e-5, num_steps=20000, method=method)
    assert out.f.dtype == jnp.float32
    _check_zero_weights(out, C, a, b, 0.01, 1e-4)  # solver tolerance 1e-5 dominates
    # and the stabilized iterates equal the log-domain ones
    other = ot.sinkhorn(C, a, b, 0.01, tol=1e-5, num_steps=20000,
                        method="log" if method == "stabilized" else "stabilized")
    assert abs(int(other.n_iters) - int(out.n_iters)) <= 2


def _sns_problem(n=30, m=40, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, 2)), rng.random((m, 2)) + 0.3
    C = pot.dist(x, y)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return C / C.max(), a / a.sum(), b / b.sum()


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 3e-4, 1e-4])
def test_sns_is_never_worse_than_its_warm_start(x64, eps):
    """Regression: at eps <= 3e-4 SNS returned an iterate far worse than its own
    Sinkhorn warm start (marginal error 0.7 -> 8.5e3)."""
    C, a, b = _sns_problem()
    for num_steps in (5, 300):
        out = ot.sinkhorn_newton_sparse(C, a, b, eps, tol=1e-9, num_steps=num_steps)
        warm = float(out.errors[int(out.n_sinkhorn)])  # error of the warm start
        final = float(ot.marginal_error(out.plan(), a, b))
        assert np.all(np.isfinite(np.asarray(out.f))) and np.all(np.isfinite(np.asarray(out.g)))
        assert final <= warm * (1 + 1e-12)
        assert bool(out.converged) == (int(out.status) == 0)
        assert isinstance(out.message, str)
        if not bool(out.converged):
            assert int(out.status) in (1, 2, 3) and out.message.startswith("not converged")
    # with the default budget it converges at every eps down to 1e-4
    assert bool(out.converged), out.message


def test_sns_converges_at_eps_1e4_to_the_reference(x64):
    C, a, b = _sns_problem()
    eps = 1e-4
    out = ot.sinkhorn_newton_sparse(C, a, b, eps, tol=1e-9)
    assert bool(out.converged), out.message
    assert float(ot.marginal_error(out.plan(), a, b)) <= 1e-9
    ref = ot.sinkhorn(C, a, b, eps, tol=1e-10, num_steps=500000)  # float64 log-domain
    assert bool(ref.converged)
    P, R = np.asarray(out.plan()), np.asarray(ref.plan())
    assert np.abs(P - R).max() <= 1e-6 * R.max()
    assert abs(float(out.transport_cost) - float(ref.transport_cost)) <= 1e-8


@pytest.mark.parametrize("eps", [1e-2, 1e-3, 3e-4, 1e-4])
def test_sns_is_never_worse_than_its_warm_start_float32(eps):
    C, a, b = _sns_problem()
    out = ot.sinkhorn_newton_sparse(C, a, b, eps, tol=1e-5, num_steps=60)
    assert out.f.dtype == jnp.float32
    warm = float(out.errors[int(out.n_sinkhorn)])
    final = float(ot.marginal_error(out.plan(), a, b))
    assert np.isfinite(final) and final <= warm * (1 + 1e-6)
    assert bool(out.converged) == (int(out.status) == 0)


def test_sns_safeguard_rejects_bad_steps_and_says_why(x64):
    """At eps = 1e-4 with only two halvings allowed, the line search fails: every
    Newton step is rejected and replaced by a Sinkhorn step (the error still goes
    down), the budget runs out and the status says why.  With the default line
    search the steps are accepted and the status is 'budget used'."""
    C, a, b = _sns_problem()
    out = ot.sinkhorn_newton_sparse(C, a, b, 1e-4, tol=1e-9, num_steps=5, max_backtracks=2)
    errs = np.asarray(out.errors)[int(out.n_sinkhorn):][: int(out.n_iters) + 1]
    assert not bool(out.converged)
    assert int(out.n_rejected) >= 1 and int(out.status) == 2
    assert "rejected" in out.message
    assert np.all(np.diff(errs) <= 1e-12)  # Sinkhorn fallback steps: monotone here
    out = ot.sinkhorn_newton_sparse(C, a, b, 1e-4, tol=1e-9, num_steps=5)
    assert not bool(out.converged) and int(out.status) == 1 and "num_steps" in out.message


def test_reg_cost_gradient_wrt_a_is_finite_at_zero_weights(x64):
    """Regression: d reg_ot_cost / d a_i was NaN where a_i = 0.  The gradient is the
    shifted dual potential f̃_i − ε + ε Σb with f̃ = f − ε log a (a_i > 0) and the
    c-transform −ε LSE_j((g_j − C_ij)/ε) (a_i = 0): checked against it and against
    one-sided finite differences along directions that keep a ≥ 0 and the mass."""
    C, a, b = zero_weight_problem(12, 9, seed=3)
    eps = 0.05
    for method, mode in (("log", "implicit"), ("stabilized", "implicit"), ("log", "unroll")):
        def F(a, b):
            return ot.sinkhorn(C, a, b, eps, tol=1e-13, num_steps=5000, method=method,
                               differentiation=mode).reg_ot_cost

        ga, gb = jax.grad(F, argnums=(0, 1))(jnp.asarray(a), jnp.asarray(b))
        assert np.all(np.isfinite(np.asarray(ga))) and np.all(np.isfinite(np.asarray(gb)))
        out = ot.sinkhorn(C, a, b, eps, tol=1e-13, num_steps=5000)
        f, g = np.asarray(out.f), np.asarray(out.g)
        lr = np.log(np.exp((g[None, :] - C) / eps).sum(1))
        ft = np.where(a > 0, f - eps * np.log(np.where(a > 0, a, 1.0)), -eps * lr)
        np.testing.assert_allclose(ga, ft - eps + eps * b.sum(), atol=1e-10)
        h = 1e-7
        for i, k in ((0, 1), (5, 2), (3, 4)):  # zero -> positive, positive -> positive
            d = np.zeros_like(a)
            d[i], d[k] = 1.0, -1.0
            fd = (float(F(a + h * d, b)) - float(F(a, b))) / h
            assert abs(float(ga[i] - ga[k]) - fd) <= 1e-5 * max(1.0, abs(fd))
        for j, k in ((3, 1), (2, 4)):
            d = np.zeros_like(b)
            d[j], d[k] = 1.0, -1.0
            fd = (float(F(a, b + h * d)) - float(F(a, b))) / h
            assert abs(float(gb[j] - gb[k]) - fd) <= 1e-5 * max(1.0, abs(fd))


def test_reg_cost_gradient_wrt_a_is_finite_at_zero_weights_float32():
    C, a, b = zero_weight_problem(12, 9, seed=3)
    ga = jax.grad(lambda a: ot.sinkhorn(C, a, b, 0.05, tol=1e-6, num_steps=5000).reg_ot_cost)(
        jnp.asarray(a, jnp.float32))
    with jax.enable_x64(True):
        ref = jax.grad(lambda a: ot.sinkhorn(C, a, b, 0.05, tol=1e-12, num_steps=5000)
                       .reg_ot_cost)(jnp.asarray(a))
        ref = np.asarray(ref)
    assert ga.dtype == jnp.float32 and np.all(np.isfinite(np.asarray(ga)))
    assert np.abs(np.asarray(ga) - ref).max() <= 1e-5 * np.abs(ref).max()


# --------------------------------------------------------------------------- compilation

def test_solvers_compile_once_per_shape():
    """New data of the same shape reuses the compiled solver (module-level jit, static
    configuration): the jit caches do not grow on the second call."""
    from optlab.ot.attention import _attention_jit
    from optlab.ot.entropic import _naive_jit, _sinkhorn_jit
    from optlab.ot.newton_sparse import _sns_jit
    from optlab.ot.sparse import _sparse_ot_jit, _sparse_plan

    rng = np.random.default_rng(0)

    def data():
        C = rng.random((9, 7))
        a, b = rng.random(9) + 0.1, rng.random(7) + 0.1
        return C, a / a.sum(), b / b.sum()

    calls = [
        (_sinkhorn_jit, lambda C, a, b: ot.sinkhorn(C, a, b, 0.1, tol=1e-5)),
        (_sinkhorn_jit, lambda C, a, b: ot.sinkhorn(ot.PointCloud(C[:, :2], C[:4, :2]), None,
                                                    None, 0.1, method="stabilized")),
        (_sns_jit, lambda C, a, b: ot.sinkhorn_newton_sparse(C, a, b, 0.1, tol=1e-5)),
        (_naive_jit, lambda C, a, b: ot.sinkhorn_naive(C, a, b, 0.1, num_steps=5)),
        (_sparse_ot_jit, lambda C, a, b: ot.sparse_ot(C, a, b, k=2, num_steps=5)),
        (_sparse_plan, lambda C, a, b: ot.sparse_ot(C, a, b, k=2, num_steps=5).plan()),
        (_attention_jit, lambda C, a, b: ot.sinkhorn_attention(C, C, C, num_steps=3)),
    ]
    for fn, call in calls:
        t0 = time.perf_counter()
        jax.block_until_ready(call(*data()))
        cold = time.perf_counter() - t0
        size = fn._cache_size()
        t0 = time.perf_counter()
        jax.block_until_ready(call(*data()))
        warm = time.perf_counter() - t0
        assert fn._cache_size() == size, fn
        print(f"{fn.__name__}: cold {cold * 1e3:.0f} ms, warm {warm * 1e3:.1f} ms")
    # eps is a traced argument: a new value does not recompile either
    C, a, b = data()
    size = _sinkhorn_jit._cache_size()
    ot.sinkhorn(C, a, b, 0.2, tol=1e-5)
    ot.sinkhorn(C, a, b, 0.3, tol=1e-5)
    assert _sinkhorn_jit._cache_size() <= size + 1


def test_validated_functions_work_under_jit_vmap_grad():
    """The argument checks skip tracers: jit/vmap/grad through every solver still work."""
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 2)), rng.random((6, 2))
    a, b = np.full(8, 1 / 8), np.full(6, 1 / 6)

    @jax.jit
    def solve(x, y, a, b, eps):
        geom = ot.Geometry(ot.PointCloud(x, y, scale="max").cost_matrix)
        out = ot.sinkhorn_newton_sparse(geom, a, b, eps, tol=1e-5)
        P = ot.plan_from_potentials(geom, out.f, out.g, eps)
        return ot.marginal_error(P, a, b), out.status

    err, status = solve(x, y, a, b, 0.05)
    assert float(err) <= 1e-5 and int(status) == 0
    q = jnp.asarray(rng.standard_normal((3, 5, 4)), jnp.float32)
    assert jax.vmap(lambda q: ot.sinkhorn_attention(q, q, q))(q).shape == (3, 5, 4)
    t = jax.jit(lambda s, k: ot.sparse_simplex_projection(s, 1.0, k))(jnp.arange(5.0), 2)
    np.testing.assert_allclose(t, [0, 0, 0, 0, 1.0])
    gx = jax.grad(lambda x: ot.sinkhorn(ot.PointCloud(x, y), a, b, 0.1, tol=1e-5).reg_ot_cost)(
        jnp.asarray(x, jnp.float32))
    assert gx.shape == (8, 2) and np.all(np.isfinite(np.asarray(gx)))


# --------------------------------------------------------------------------- entropic map

def map_problem(seed, n=40, m=50, d=3):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal((n, d)), rng.standard_normal((m, d)) * 0.7 + 1.0
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return x, y, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("seed,eps", [(0, 0.5), (1, 0.1), (2, 2.0)])
def test_entropic_map_is_pots_barycentric_projection(x64, seed, eps):
    """In sample, T_eps(x_i) = sum_j P_ij y_j / a_i with POT's plan (float64, to 1e-9)."""
    x, y, a, b = map_problem(seed)
    T = ot.entropic_map(x, y, eps, a, b, tol=1e-13, num_steps=100000)
    P = pot.sinkhorn(a, b, pot.dist(x, y), eps, method="sinkhorn_log", stopThr=1e-15, numItermax=500000)
    np.testing.assert_allclose(np.asarray(T), P @ y / a[:, None], atol=1e-9, rtol=0)


@pytest.mark.parametrize("method", ["log", "stabilized"])
def test_entropic_map_in_float32(method):
    """float32 against POT's float64 projection.  Measured max error 1.8e-6 (log) and
    1.9e-6 (stabilized) on coordinates up to 2.7; tolerance 2e-5."""
    x, y, a, b = map_problem(0)
    f32 = lambda z: np.asarray(z, np.float32)  # noqa: E731
    T = ot.entropic_map(f32(x), f32(y), 0.5, f32(a), f32(b), tol=1e-6, method=method)
    assert T.dtype == jnp.float32
    P = pot.sinkhorn(a, b, pot.dist(x, y), 0.5, method="sinkhorn_log", stopThr=1e-15, numItermax=500000)
    assert np.abs(np.asarray(T, np.float64) - P @ y / a[:, None]).max() < 2e-5


def test_entropic_map_out_of_sample_is_the_c_transform_gradient(x64):
    """Off the sample, T_eps(q) = q - grad f_eps(q) / 2 with the entropic c-transform
    f_eps(q) = -eps log sum_j exp((g_j - ||q - y_j||^2)/eps) (cost ||x - y||^2), and at q = x_i
    it is the in-sample projection."""
    x, y, a, b = map_problem(3)
    q = np.random.default_rng(4).standard_normal((7, 3))
    out = ot.sinkhorn(ot.PointCloud(x, y), a, b, 0.3, tol=1e-13, num_steps=100000)

    def f_eps(z):
        return -0.3 * jax.nn.logsumexp((out.g - jnp.sum((z - y) ** 2, axis=1)) / 0.3)

    T = ot.entropic_map(x, y, 0.3, a, b, query=np.vstack([q, x[:2]]), tol=1e-13, num_steps=100000)
    ref = q - 0.5 * jax.vmap(jax.grad(f_eps))(jnp.asarray(q))
    np.testing.assert_allclose(np.asarray(T[:7]), np.asarray(ref), atol=1e-10)
    T_in = ot.entropic_map(x, y, 0.3, a, b, tol=1e-13, num_steps=100000)
    np.testing.assert_allclose(np.asarray(T[7:]), np.asarray(T_in[:2]), atol=1e-12)


def test_entropic_map_recovers_a_gaussian_brenier_map():
    """N(0, I) -> N(m, S) has the Brenier map x -> m + S^(1/2) x; at n = 800, small eps, the
    estimate's mean squared error is a small fraction of the map's variance (measured 0.015
    against trace S = 1.98) and an eps ten times larger is worse (measured 0.068)."""
    rng = np.random.default_rng(0)
    S12 = np.array([[1.2, 0.3], [0.3, 0.6]])
    m = np.array([1.0, -1.0])
    x = rng.standard_normal((800, 2)).astype(np.float32)
    y = (rng.standard_normal((800, 2)) @ S12 + m).astype(np.float32)
    q = rng.standard_normal((300, 2)).astype(np.float32)
    mse = {eps: float(np.mean(np.sum((np.asarray(ot.entropic_map(x, y, eps, query=q, tol=1e-4))
                                      - (q @ S12 + m)) ** 2, axis=1))) for eps in (0.1, 1.0)}
    assert mse[0.1] < 0.05 and mse[1.0] > 3 * mse[0.1], mse


def test_entropic_map_and_labels_compile_once_per_shape():
    from optlab.ot.entropic import _sinkhorn_jit
    from optlab.ot.maps import _entropic_map_apply

    rng = np.random.default_rng(0)
    for call in (lambda: ot.entropic_map(rng.random((9, 2)), rng.random((7, 2)), 0.1, tol=1e-5,
                                         query=rng.random((4, 2))),
                 lambda: ot.equipartition_labels(rng.standard_normal((9, 3)), 0.1, tol=1e-5)):
        jax.block_until_ready(call())
        sizes = _entropic_map_apply._cache_size(), _sinkhorn_jit._cache_size()
        jax.block_until_ready(call())
        assert (_entropic_map_apply._cache_size(), _sinkhorn_jit._cache_size()) == sizes


# --------------------------------------------------------------------------- self-labelling

@pytest.mark.parametrize("seed,eps", [(0, 0.05), (1, 0.2), (2, 1.0)])
def test_equipartition_labels_match_pot(x64, seed, eps):
    """N * POT's plan for cost -log softmax(logits), marginals 1/N and 1/K (to 1e-9)."""
    rng = np.random.default_rng(seed)
    L = 2.0 * rng.standard_normal((60, 5))
    Q = ot.equipartition_labels(L, eps, tol=1e-13, num_steps=200000)
    M = -(L - np.log(np.exp(L).sum(1, keepdims=True)))
    P = pot.sinkhorn(np.full(60, 1 / 60), np.full(5, 1 / 5), M, eps, method="sinkhorn_log",
                     stopThr=1e-15, numItermax=500000)
    np.testing.assert_allclose(np.asarray(Q), 60 * P, atol=1e-9, rtol=0)


def test_equipartition_labels_float32_marginals_and_row_shift():
    """Rows are probability vectors, columns hold N/K examples, and shifting a row of the
    logits changes nothing.  Measured in float32 (tol = 1e-5): rows off 1 by 1.7e-5, columns
    off N/K = 50 by 1.8e-4, shifted rows change Q by 3.4e-6; tolerances ~5x those."""
    rng = np.random.default_rng(5)
    L = (3.0 * rng.standard_normal((200, 4)) + np.array([4.0, 0.0, 0.0, -2.0])).astype(np.float32)
    Q = np.asarray(ot.equipartition_labels(L, 0.1, tol=1e-5))
    assert Q.dtype == np.float32
    assert np.abs(Q.sum(1) - 1).max() < 1e-4 and np.abs(Q.sum(0) - 50).max() < 1e-3
    shift = rng.standard_normal((200, 1)).astype(np.float32) * 5
    Q2 = np.asarray(ot.equipartition_labels(L + shift, 0.1, tol=1e-5))
    assert np.abs(Q2 - Q).max() < 2e-5
    # argmax labels on these biased logits put most examples in class 0; Sinkhorn does not
    assert np.bincount(L.argmax(1), minlength=4).max() > 100
    assert np.bincount(Q.argmax(1), minlength=4).max() <= 60


def test_entropic_map_and_labels_errors():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="query must have the dimension of x"):
        ot.entropic_map(x, x, 0.1, query=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="eps must be positive"):
        ot.entropic_map(x, x, 0.0)
    with pytest.raises(ValueError, match="same dimension"):
        ot.entropic_map(x, np.zeros((4, 3)), 0.1)
    with pytest.raises(ValueError, match="logits must be non-empty"):
        ot.equipartition_labels(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="eps must be positive"):
        ot.equipartition_labels(np.zeros((5, 3)), -1.0)


# --------------------------------------------------------------------------- soft permutations

def test_soft_permutation_matches_pot_and_tends_to_the_assignment(x64):
    """n * POT's plan (to 1e-9); at small eps its row argmax is the optimal assignment (scipy's
    Hungarian method on the same cost) and it is near that permutation matrix (measured 3.8e-3
    off at eps = 0.01, where the costs are of order 10)."""
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((12, 4)), rng.standard_normal((12, 4))
    C = pot.dist(x, y)
    S = ot.soft_permutation(x, y, 0.5, tol=1e-13, num_steps=100000)
    P = pot.sinkhorn(np.full(12, 1 / 12), np.full(12, 1 / 12), C, 0.5, method="sinkhorn_log",
                     stopThr=1e-15, numItermax=500000)
    np.testing.assert_allclose(np.asarray(S), 12 * P, atol=1e-9, rtol=0)
    _, cols = linear_sum_assignment(C)
    S0 = np.asarray(ot.soft_permutation(x, y, 1e-2, tol=1e-12, num_steps=100000))
    np.testing.assert_array_equal(S0.argmax(1), cols)
    assert np.abs(S0 - np.eye(12)[cols]).max() < 2e-2


def test_soft_permutation_float32_doubly_stochastic_and_recovers_a_shuffle():
    """y = a shuffled, slightly perturbed copy of x: the float32 soft permutation is doubly
    stochastic (columns exact to 4e-7; rows, where tol = 1e-5 applies to P = S / n, measured
    1.2e-4 off) and its row argmax is the shuffle."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 6)).astype(np.float32)
    perm = rng.permutation(40)
    y = x[perm] + 0.01 * rng.standard_normal((40, 6)).astype(np.float32)
    S = np.asarray(ot.soft_permutation(x, y, 0.1, tol=1e-5))
    assert S.dtype == np.float32
    assert np.abs(S.sum(0) - 1).max() < 1e-5 and np.abs(S.sum(1) - 1).max() < 40 * 1e-5
    np.testing.assert_array_equal(perm[S.argmax(1)], np.arange(40))


def test_soft_permutation_errors():
    with pytest.raises(ValueError, match="same number of rows"):
        ot.soft_permutation(np.zeros((3, 2)), np.zeros((4, 2)), 0.1)
    with pytest.raises(ValueError, match="eps must be positive"):
        ot.soft_permutation(np.zeros((3, 2)), np.zeros((3, 2)), 0.0)
