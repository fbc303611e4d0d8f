"""Tests for optlab.ot against POT (ot.sinkhorn, ot.emd), cvxpy, finite differences
and brute force."""

import itertools

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import ot as pot  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from optlab import ot  # noqa: E402


def problem(seed, n=30, m=40, d=2):
    rng = np.random.default_rng(seed)
    x, y = rng.random((n, d)), rng.random((m, d)) + 0.3
    a = rng.random(n) + 0.1
    b = rng.random(m) + 0.1
    a, b = a / a.sum(), b / b.sum()
    C = pot.dist(x, y)
    return x, y, a, b, C / C.max()


# --------------------------------------------------------------------------- POT parity

@pytest.mark.parametrize("seed,eps,method", [(0, 0.1, "log"), (1, 0.03, "log"),
                                             (2, 0.01, "log"), (2, 0.01, "stabilized"),
                                             (3, 0.002, "stabilized")])
def test_sinkhorn_matches_pot_log(seed, eps, method):
    _, _, a, b, C = problem(seed)
    out = ot.sinkhorn(C, a, b, eps, tol=1e-12, max_iter=50000, method=method)
    ref = pot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=1e-14, numItermax=200000)
    P = np.asarray(out.plan())
    assert bool(out.converged)
    np.testing.assert_allclose(P, ref, atol=1e-6, rtol=0)
    assert abs(float(out.transport_cost) - float(np.sum(ref * C))) < 1e-6
    # regularised cost: primal <C,P> + eps KL(P || a⊗b) evaluated on POT's plan
    Q = np.outer(a, b)
    kl = np.sum(ref * np.log(ref / Q) - ref + Q)
    assert abs(float(out.reg_ot_cost) - (np.sum(ref * C) + eps * kl)) < 1e-6


def test_point_cloud_matches_explicit_cost_and_pot_dist():
    x, y, a, b, C = problem(3)
    for power, bs in ((2.0, None), (2.0, 7), (1.5, 7), (1.0, None)):
        Cp = pot.dist(x, y, metric="euclidean") ** power
        Cp = Cp / Cp.max()
        if True:
            geom = ot.PointCloud(x, y, power=power, scale="max", batch_size=bs)
            np.testing.assert_allclose(geom.cost_matrix, Cp, atol=1e-10)
            out = ot.sinkhorn(geom, a, b, 0.05, tol=1e-12, max_iter=5000)
            ref = pot.sinkhorn(a, b, Cp, 0.05, method="sinkhorn_log", stopThr=1e-14,
                               numItermax=100000)
            np.testing.assert_allclose(out.plan(), ref, atol=1e-6)
            assert abs(float(out.transport_cost) - np.sum(ref * Cp)) < 1e-8


def test_emd_matches_pot_emd():
    for seed in range(3):
        _, _, a, b, C = problem(seed, n=25, m=20)
        res = ot.emd(C, a, b)
        ref = pot.emd(a, b, C)
        assert abs(res.cost - float(np.sum(ref * C))) < 1e-9
        np.testing.assert_allclose(res.plan, ref, atol=1e-6)


def test_small_eps_approaches_exact_cost_and_is_stable_in_float32():
    _, _, a, b, C = problem(4)
    exact = ot.emd(C, a, b).cost
    gaps = []
    for eps in (1e-1, 1e-2, 1e-3):
        out = ot.sinkhorn(C, a, b, eps, tol=1e-9, max_iter=50000)
        gaps.append(float(out.transport_cost) - exact)
    assert gaps[0] > gaps[1] > gaps[2] >= -1e-9
    assert gaps[2] < 2e-3
    # eps = 1e-4 in float32: no NaN/overflow, potentials finite, marginals near
    C32, a32, b32 = (jnp.asarray(v, jnp.float32) for v in (C, a, b))
    out = ot.sinkhorn(C32, a32, b32, 1e-4, tol=1e-3, max_iter=20000)
    P = np.asarray(out.plan())
    assert out.f.dtype == jnp.float32
    assert np.all(np.isfinite(out.f)) and np.all(np.isfinite(out.g)) and np.all(np.isfinite(P))
    assert np.all(np.isfinite(np.asarray(out.errors)))
    assert float(ot.marginal_error(jnp.asarray(P), a32, b32)) < 1e-2
    # the stabilised-scaling variant too
    st_out = ot.sinkhorn(C32, a32, b32, 1e-4, tol=1e-3, max_iter=20000, method="stabilized")
    Ps = np.asarray(st_out.plan())
    assert np.all(np.isfinite(Ps)) and np.all(np.isfinite(np.asarray(st_out.f)))
    assert float(ot.marginal_error(jnp.asarray(Ps), a32, b32)) < 1e-2
    # ... while the textbook non-log iteration breaks down (underflow → NaN / zero plan)
    Pn, errs = ot.sinkhorn_naive(C32, a32, b32, 1e-4, num_iters=20)
    assert not np.all(np.isfinite(np.asarray(Pn))) or np.isnan(np.asarray(errs)).any() \
        or float(np.nansum(Pn)) < 0.5


def test_sinkhorn_naive_matches_log_domain_at_large_eps():
    _, _, a, b, C = problem(5)
    P, errs = ot.sinkhorn_naive(C, a, b, 0.1, num_iters=300)
    ref = ot.sinkhorn(C, a, b, 0.1, tol=1e-12, max_iter=5000).plan()
    np.testing.assert_allclose(P, ref, atol=1e-9)


# --------------------------------------------------------------------------- SNS

def test_sns_matches_sinkhorn_and_needs_far_fewer_iterations():
    _, _, a, b, C = problem(6, n=60, m=60)
    eps = 5e-3
    sns = ot.sinkhorn_newton_sparse(C, a, b, eps, warmup=20, threshold=1e-6, tol=1e-9)
    sk = ot.sinkhorn(C, a, b, eps, tol=1e-9, max_iter=50000)
    assert bool(sns.converged) and bool(sk.converged)
    np.testing.assert_allclose(sns.plan(), sk.plan(), atol=1e-8)
    assert float(ot.marginal_error(sns.plan(), a, b)) <= 1e-9
    total = int(sns.n_sinkhorn) + int(sns.n_newton)
    assert 10 * total <= int(sk.n_iters), (total, int(sk.n_iters))
    d = np.asarray(sns.density[: int(sns.n_newton)])
    assert np.all((d > 0) & (d < 1))
    # float32 at a looser tolerance converges too
    s32 = ot.sinkhorn_newton_sparse(*(jnp.asarray(v, jnp.float32) for v in (C, a, b)), 0.01,
                                    tol=1e-5)
    assert bool(s32.converged) and s32.f.dtype == jnp.float32
    # the plan is POT's plan as well
    ref = pot.sinkhorn(a, b, C, eps, method="sinkhorn_log", stopThr=1e-13, numItermax=200000)
    np.testing.assert_allclose(sns.plan(), ref, atol=1e-6)


# --------------------------------------------------------------------------- vmap / grad

def test_vmap_over_problems_matches_loop():
    Cs = np.stack([problem(s, n=12, m=12)[4] for s in range(4)])
    _, _, a, b, _ = problem(0, n=12, m=12)
    batched = jax.vmap(lambda C: ot.sinkhorn(C, a, b, 0.05, tol=1e-10, max_iter=3000))(Cs)
    for i in range(4):
        single = ot.sinkhorn(Cs[i], a, b, 0.05, tol=1e-10, max_iter=3000)
        np.testing.assert_allclose(batched.f[i] - batched.f[i][0],
                                   single.f - single.f[0], atol=1e-9)
        assert abs(float(batched.transport_cost[i]) - float(single.transport_cost)) < 1e-10
    # vmap over eps as well
    eps = jnp.array([0.1, 0.05, 0.02])
    costs = jax.vmap(lambda e: ot.sinkhorn(Cs[0], a, b, e, tol=1e-10, max_iter=5000)
                     .transport_cost)(eps)
    assert np.all(np.diff(np.asarray(costs)) < 0)


def test_implicit_gradient_matches_finite_differences_and_unrolled():
    _, _, a, b, C = problem(7, n=15, m=12)
    eps = 0.05

    def cost(C, mode):
        return ot.sinkhorn(C, a, b, eps, tol=1e-13, max_iter=4000,
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
        return ot.sinkhorn(geom, a, b, eps, tol=1e-13, max_iter=4000).transport_cost

    gx, ga = jax.grad(pc_cost, argnums=(0, 1))(jnp.asarray(x), jnp.asarray(a))
    Ex = np.random.default_rng(1).standard_normal(x.shape)
    fdx = (pc_cost(x + h * Ex, a) - pc_cost(x - h * Ex, a)) / (2 * h)
    assert abs(float(jnp.sum(gx * Ex)) - float(fdx)) < 1e-6
    Ea = np.random.default_rng(2).standard_normal(a.shape)
    Ea -= Ea.mean()  # stay on the simplex's affine hull
    fda = (pc_cost(x, a + h * Ea) - pc_cost(x, a - h * Ea)) / (2 * h)
    assert abs(float(jnp.sum(ga * Ea)) - float(fda)) < 1e-6


def test_reg_cost_gradient_is_the_plan_envelope():
    _, _, a, b, C = problem(8, n=10, m=9)
    g = jax.grad(lambda C: ot.sinkhorn(C, a, b, 0.1, tol=1e-13, max_iter=3000).reg_ot_cost)(
        jnp.asarray(C))
    P = ot.sinkhorn(C, a, b, 0.1, tol=1e-13, max_iter=3000).plan()
    np.testing.assert_allclose(g, P, atol=1e-9)


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
    C, a, b, eps = prob
    out = ot.sinkhorn(C, a, b, eps, tol=1e-11, max_iter=20000)
    P = np.asarray(out.plan())
    assert bool(out.converged)
    assert np.all(P >= 0)
    np.testing.assert_allclose(P.sum(1), a, atol=1e-9)
    np.testing.assert_allclose(P.sum(0), b, atol=1e-9)
    swapped = np.asarray(ot.sinkhorn(C.T, b, a, eps, tol=1e-11, max_iter=20000).plan())
    np.testing.assert_allclose(swapped, P.T, atol=1e-8)


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


def test_sparse_simplex_projection_brute_force():
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


def test_sparse_ot_column_sparsity_and_quadratic_limit():
    import cvxpy as cp

    _, _, a, b, C = problem(9, n=12, m=10)
    gamma = 1.0
    for k in (1, 2, 3):
        out = ot.sparse_ot(C, a, b, k=k, gamma=gamma, tol=1e-6, max_iter=200)
        P = np.asarray(out.plan)
        assert np.all(np.count_nonzero(P > 0, axis=0) <= k)
        np.testing.assert_allclose(P.sum(0), b, atol=1e-12)
        assert np.all(P >= 0)
    # k = n: quadratically regularised OT, solved independently by cvxpy
    out = ot.sparse_ot(C, a, b, k=12, gamma=gamma, tol=1e-9, max_iter=3000)
    assert bool(out.converged)
    X = cp.Variable(C.shape)
    obj = cp.Minimize(cp.sum(cp.multiply(C, X)) + gamma / 2 * cp.sum_squares(X))
    cp.Problem(obj, [X >= 0, cp.sum(X, axis=1) == a, cp.sum(X, axis=0) == b]).solve(
        solver=cp.CLARABEL)
    np.testing.assert_allclose(out.plan, X.value, atol=1e-5)


# --------------------------------------------------------------------------- Sinkformer

def test_sinkhorn_attention_softmax_and_doubly_stochastic_limit():
    rng = np.random.default_rng(0)
    q, k, v = (jnp.asarray(rng.standard_normal((6, 4))) for _ in range(3))
    soft = jax.nn.softmax(q @ k.T / 2.0, axis=1) @ v
    np.testing.assert_allclose(ot.sinkhorn_attention(q, k, v, num_iters=1), soft, atol=1e-12)
    # many iterations: the attention matrix is the entropic OT plan between uniform
    # marginals with cost −QKᵀ/τ and eps = 1, times n
    eye = jnp.eye(6)
    A = ot.sinkhorn_attention(q, k, eye, num_iters=401)
    np.testing.assert_allclose(A.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(A.sum(0), 1.0, atol=1e-9)
    ref = ot.sinkhorn(-(q @ k.T) / 2.0, None, None, 1.0, tol=1e-13, max_iter=5000).plan() * 6
    np.testing.assert_allclose(A, ref, atol=1e-8)


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
