"""Tests for optlab.lipschitz and optlab.smoothing against independent references:
numpy SVD, an explicit dense circulant convolution matrix, hand-solved LipSDP cases,
scipy.stats quantiles and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from optlab import lipschitz as lp
from optlab import smoothing as sm

jax.config.update("jax_enable_x64", True)

RNG = np.random.default_rng(0)


def _matrix_with_gap(n, gap, seed=0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V, _ = np.linalg.qr(rng.normal(size=(n, n)))
    s = np.concatenate([[3.0, 3.0 * gap], np.linspace(3.0 * gap * 0.95, 0.01, n - 2)])
    return jnp.array(U * s @ V.T), 3.0


def _mlp(key, sizes, scale=1.0):
    keys = jax.random.split(key, len(sizes) - 1)
    return [(scale * jax.random.normal(k, (m, n)) / np.sqrt(n), 0.1 * jax.random.normal(k, (m,)))
            for k, n, m in zip(keys, sizes[:-1], sizes[1:])]


# --------------------------------------------------------------------- spectral norms


@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (12, 4)])
def test_exact_and_converged_iterations_match_numpy_svd(shape):
    W = jnp.array(RNG.normal(size=shape))
    ref = np.linalg.svd(np.asarray(W), compute_uv=False)[0]
    assert np.isclose(lp.spectral_norm_exact(W), ref, rtol=1e-12)
    assert np.isclose(lp.frobenius_bound(W), np.linalg.norm(np.asarray(W)), rtol=1e-12)
    assert np.isclose(lp.gram_iteration(W, 14).sigma, ref, rtol=1e-9)
    assert np.isclose(lp.power_iteration(W, 500, key=jax.random.key(0)).sigma, ref, rtol=1e-6)


def test_gram_beats_power_at_a_small_gap():
    W, s1 = _matrix_with_gap(128, 0.99)
    g = lp.gram_iteration(W, 10)
    p = lp.power_iteration(W, 10, key=jax.random.key(0))
    assert abs(g.sigma / s1 - 1) < 1e-6
    assert abs(p.sigma / s1 - 1) > 1e-3
    assert g.kind == "UPPER" and p.kind == "LOWER"


def test_gram_iteration_does_not_overflow():
    W = jnp.array(RNG.normal(size=(30, 30))) * 1e30  # ‖G_t‖ would be 1e(30·2^t) unscaled
    g = lp.gram_iteration(W, 12)
    assert np.all(np.isfinite(g.history))
    assert np.isclose(g.sigma, np.linalg.norm(np.asarray(W), 2), rtol=1e-8)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(6, 6), (9, 4)]),
       gap=st.floats(0.0, 0.999))
def test_power_increases_gram_decreases_and_sandwich_exact(seed, shape, gap):
    m, n = shape
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(m, n))
    U, s, Vt = np.linalg.svd(W, full_matrices=False)
    if len(s) > 1:
        s[1] = s[0] * gap  # control the spectral gap
        s[2:] = np.minimum(s[2:], s[1])
    W = jnp.array(U * s @ Vt)
    exact = s[0]
    p = np.asarray(lp.power_iteration(W, 30, key=jax.random.key(seed)).history)
    g = np.asarray(lp.gram_iteration(W, 8).history)
    tol = 1e-12 * exact
    assert np.all(np.diff(p) >= -tol)
    assert np.all(np.diff(g) <= tol)
    assert np.all(p <= exact + tol) and np.all(g >= exact - tol)


def test_gradients_match_top_singular_vectors():
    W = jnp.array(RNG.normal(size=(6, 5)))
    U, s, Vt = np.linalg.svd(np.asarray(W))
    ref = np.outer(U[:, 0], Vt[0])
    for fn in (lp.spectral_norm_exact, lambda A: lp.gram_iteration(A, 12).sigma):
        assert np.allclose(jax.grad(fn)(W), ref, atol=1e-8)


# --------------------------------------------------------------------- convolutions


def test_conv_apply_matches_explicit_dense_circulant_matrix():
    K = jnp.array(RNG.normal(size=(3, 2, 3, 3)))
    M = lp.conv_dense_matrix(K, 5)
    x = RNG.normal(size=(2, 5, 5))
    assert np.allclose(M @ x.ravel(), np.asarray(lp.conv_apply(K, jnp.array(x))).ravel(), atol=1e-12)
    # the explicit matrix, written independently of conv_apply: check one entry by hand
    # y[0,0,0] = Σ K[0,c,a,b] x[c,(a−1) mod 5,(b−1) mod 5]
    y00 = sum(K[0, c, a, b] * x[c, (a - 1) % 5, (b - 1) % 5]
              for c in range(2) for a in range(3) for b in range(3))
    assert np.isclose(float(lp.conv_apply(K, jnp.array(x))[0, 0, 0]), float(y00))


@pytest.mark.parametrize("shape,n", [((3, 2, 3, 3), 5), ((2, 4, 2, 2), 6)])
def test_conv_norms_against_dense_svd(shape, n):
    K = jnp.array(RNG.normal(size=shape))
    ref = np.linalg.norm(lp.conv_dense_matrix(K, n), 2)
    assert np.isclose(lp.conv_spectral_norm_exact(K, n), ref, rtol=1e-10)
    g = lp.conv_gram_iteration(K, n, 12)
    assert np.isclose(g.sigma, ref, rtol=1e-8)
    assert np.all(np.diff(np.asarray(g.history)) <= 1e-12) and np.all(g.history >= ref * (1 - 1e-12))
    p = lp.conv_power_iteration(K, n, 300, key=jax.random.key(0))
    assert np.all(p.history <= ref * (1 + 1e-12)) and np.isclose(p.sigma, ref, rtol=1e-3)
    assert np.all(np.diff(np.asarray(p.history)) >= -1e-12)


# --------------------------------------------------------------------- MLP bounds


def test_lipsdp_single_neuron_is_exact():
    # f(x) = v relu(w x): LipSDP gives min_t w²t²/(2t − v²) = w²v² at t = v²
    params = [(jnp.array([[2.0]]), jnp.zeros(1)), (jnp.array([[-3.0]]), jnp.zeros(1))]
    b = lp.lipsdp(params)
    assert b.kind == "UPPER" and b.norm == "l2"
    assert np.isclose(b.value, 6.0, rtol=1e-5)


def test_lipsdp_diagonal_layer_is_exact_and_beats_product():
    # f(x) = Σ v_i relu(d_i x_i): L = ‖d ⊙ v‖₂; T = diag(v_i²)… certifies it exactly
    d = np.array([2.0, 0.5, 1.0])
    v = np.array([1.0, 3.0, -2.0])
    params = [(jnp.diag(jnp.array(d)), jnp.zeros(3)), (jnp.array(v)[None, :], jnp.zeros(1))]
    b = lp.lipsdp(params)
    assert np.isclose(b.value, np.linalg.norm(d * v), rtol=1e-5)
    assert lp.upper_bound_product(params).value > b.value * 1.5  # 2·‖v‖ ≫ ‖d ⊙ v‖


def test_bound_ladder_order_on_random_mlp():
    params = _mlp(jax.random.key(1), [2, 12, 12, 1], scale=1.5)
    pts = jnp.array(RNG.uniform(-3, 3, size=(500, 2)))
    lo = lp.lower_bound_sampled(params, pts)
    ga = lp.lower_bound_gradient_ascent(params, pts[:10], num_steps=30)
    sdp = lp.lipsdp(params)
    prod = lp.upper_bound_product(params)
    assert lo.kind == ga.kind == "LOWER" and sdp.kind == prod.kind == "UPPER"
    assert ga.value >= lp.lower_bound_sampled(params, pts[:10]).value  # ascent starts there
    assert max(lo.value, ga.value) <= sdp.value * (1 + 1e-4) <= prod.value * (1 + 2e-4)


def test_maxmin_residual_lipsdp_is_one_and_naive_rewrite_is_not():
    x = jnp.array(RNG.normal(size=(50, 2)))
    # MaxMin = C x + D relu(W x): max(a,b) = b + relu(a−b), min(a,b) = a − relu(a−b)
    W, C, D = np.array([[1.0, -1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [-1.0]])
    ref = jax.vmap(lambda z: C @ z + D @ jax.nn.relu(W @ z))(x)
    assert np.allclose(ref, lp.maxmin(x))
    assert np.isclose(lp.lipsdp_residual(W, C, D).value, 1.0, atol=1e-4)
    # identity written as relu(z) − relu(−z): a plain ReLU net, LipSDP is conservative
    Wn = jnp.array([[1.0, -1], [0, 1], [0, -1], [1, 0], [-1, 0]])
    Vn = jnp.array([[1.0, 1, -1, 0, 0], [-1, 0, 0, 1, -1]])
    naive = [(Wn, jnp.zeros(5)), (Vn, jnp.zeros(2))]
    assert np.allclose(jax.vmap(lambda z: lp.mlp_apply(naive, z))(x), lp.maxmin(x))
    assert lp.lipsdp(naive).value > 1.5


def test_local_interval_bound_contains_sampled_gradients_and_bab_is_monotone():
    params = _mlp(jax.random.key(2), [2, 10, 10, 1])
    x0, eps = jnp.array([0.2, -0.1]), 0.3
    res = lp.interval_jacobian_bound(params, x0, eps)
    pts = x0 + eps * jnp.array(RNG.uniform(-1, 1, size=(3000, 2)))
    J = jax.vmap(lambda z: lp.mlp_jacobian(params, z))(pts)
    assert np.all(J >= res.jac_lo - 1e-12) and np.all(J <= res.jac_hi + 1e-12)
    lower = float(jnp.max(jnp.sum(jnp.abs(J), axis=(1, 2))))
    assert lower <= float(res.bound) + 1e-12
    bab = lp.local_linf_bab(params, x0, eps, num_splits=60)
    assert np.all(np.diff(bab.upper) <= 1e-12) and np.all(np.diff(bab.lower) >= 0)
    assert np.isclose(bab.upper[0], res.bound) and bab.upper[-1] >= lower - 1e-12
    assert bab.upper[-1] <= lp.upper_bound_product(params, "linf").value + 1e-12
    # a box inside one linear region: the bound equals the exact ‖∇f‖₁
    tiny = lp.interval_jacobian_bound(params, x0, 1e-7)
    assert int(tiny.unstable) == 0
    assert np.isclose(float(tiny.bound), float(jnp.sum(jnp.abs(lp.mlp_jacobian(params, x0)))))


def test_tanh_interval_bound_is_valid():
    params = _mlp(jax.random.key(3), [2, 8, 1], scale=2.0)
    x0, eps = jnp.array([0.0, 0.5]), 0.5
    res = lp.interval_jacobian_bound(params, x0, eps, activation="tanh")
    pts = x0 + eps * jnp.array(RNG.uniform(-1, 1, size=(2000, 2)))
    g = jax.vmap(lambda z: lp.mlp_jacobian(params, z, "tanh"))(pts)
    assert float(jnp.max(jnp.sum(jnp.abs(g), axis=(1, 2)))) <= float(res.bound) + 1e-12


# --------------------------------------------------------------------- constructions


def test_orthogonal_layers():
    A = jnp.array(RNG.normal(size=(16, 16)))
    V = jnp.array(RNG.normal(size=(16, 5)))
    for Q in (lp.cayley(A), lp.block_reflector(V)):
        assert float(lp.orthogonality_residual(Q)) < 1e-6
        assert float(lp.orthogonality_residual(Q)) < 1e-12  # in float64 far below
        x = jnp.array(RNG.normal(size=16))
        assert np.isclose(jnp.linalg.norm(Q @ x), jnp.linalg.norm(x))
    R = lp.block_reflector(V)
    assert np.allclose(R, R.T) and np.allclose(R @ V, -V)  # reflects span(V)


def test_spectral_normalisation_can_under_normalise_and_gram_cannot():
    W, s1 = _matrix_with_gap(64, 0.98, seed=3)
    u = jnp.array(np.random.default_rng(1).normal(size=64))
    Wsn, _ = lp.spectral_normalize(W, u, 1)
    Wg = lp.gram_normalize(W, 6)
    assert np.linalg.norm(np.asarray(Wsn), 2) > 1.0 + 1e-3
    assert np.linalg.norm(np.asarray(Wg), 2) <= 1.0 + 1e-12


def test_sandwich_layer_is_gamma_lipschitz_and_certified_by_lipsdp():
    for seed, gamma in [(0, 1.0), (1, 2.5)]:
        p = lp.sandwich_init(jax.random.key(seed), 3, 4, 2, jnp.float64)
        A, B = lp._sandwich_mats(p)
        assert np.allclose(A @ A.T + B @ B.T, np.eye(4), atol=1e-12)
        x = jnp.array(RNG.normal(size=(500, 3)))
        as_mlp = lp.sandwich_as_mlp(p, gamma)
        y = jax.vmap(lambda z: lp.sandwich_apply(p, z, gamma))(x)
        assert np.allclose(y, jax.vmap(lambda z: lp.mlp_apply(as_mlp, z))(x) - as_mlp[-1][1])
        low = lp.lower_bound_gradient_ascent(as_mlp, x[:10], num_steps=40)
        assert low.value <= gamma * (1 + 1e-9)
        assert lp.lipsdp(as_mlp).value <= gamma * (1 + 1e-4)


def test_lipschitz_margin_radius():
    logits = jnp.array([[3.0, 1.0, 0.5], [0.0, 2.0, 1.0]])
    r = lp.lipschitz_margin_radius(logits, jnp.array([0, 0]), 2.0)
    assert np.allclose(r, [2.0 / (2 * np.sqrt(2)), 0.0])


# --------------------------------------------------------------------- smoothing


def test_clopper_pearson_against_scipy_and_closed_forms():
    k, n, a = np.array([0, 3, 50, 100]), 100, 0.01
    got = sm.clopper_pearson_lower(k, n, a)
    assert got[0] == 0.0
    assert np.allclose(got[1:], stats.beta.ppf(a, k[1:], n - k[1:] + 1))
    assert np.isclose(got[3], a ** (1 / n))  # k = n: Beta(n, 1) quantile is α^{1/n}
    # coverage: P(p̲ ≤ p) ≥ 1 − α (exact binomial sum)
    p = 0.7
    ks = np.arange(n + 1)
    low = sm.clopper_pearson_lower(ks, n, 0.05)
    assert stats.binom.pmf(ks, n, p)[low > p].sum() <= 0.05


def test_hoeffding_and_bernstein_closed_forms_and_coverage():
    assert np.isclose(sm.hoeffding_lower(0.9, 200, 0.05), 0.9 - np.sqrt(np.log(20) / 400))
    lg = np.log(2 / 0.05)
    assert np.isclose(sm.empirical_bernstein_lower(0.9, 0.01, 200, 0.05),
                      0.9 - np.sqrt(0.02 * lg / 200) - 7 * lg / (3 * 199))
    rng = np.random.default_rng(0)
    X = rng.beta(8, 2, size=(4000, 300))  # mean 0.8, variance 0.0145
    m, v = X.mean(1), X.var(1, ddof=1)
    for low in (sm.hoeffding_lower(m, 300, 0.05), sm.empirical_bernstein_lower(m, v, 300, 0.05)):
        assert np.mean(low > 0.8) <= 0.05
    assert np.mean(sm.empirical_bernstein_lower(m, v, 300, 0.05) > sm.hoeffding_lower(m, 300, 0.05)) > 0.99


def test_smoothed_radius_and_certify_on_a_linear_classifier():
    assert np.isclose(sm.smoothed_radius(0.975, 0.5), 0.5 * stats.norm.ppf(0.975))
    assert sm.smoothed_radius(0.4, 1.0) == 0.0
    # logits (w·x, 0): P(class 0) = Φ(w·x/(σ‖w‖)), the smoothed radius is the distance
    w = jnp.array([1.0, 0.0])
    fn = lambda x: jnp.array([w @ x, 0.0])  # noqa: E731
    X = jnp.array([[1.0, 0.0], [0.3, 2.0]])
    c = sm.certify(fn, X, 0.5, key=jax.random.key(0), n=20000, alpha=0.001)
    assert np.all(c.prediction == 0)
    assert np.all(c.radius <= np.array([1.0, 0.3]) + 1e-9)  # never above the true distance
    assert np.allclose(c.radius, [1.0, 0.3], atol=0.08)
    for method in ("hoeffding", "bernstein"):
        s = sm.certify(fn, X, 0.5, key=jax.random.key(0), n=2000, method=method, temperature=0.1)
        assert np.all(s.prediction == 0) and np.all(s.radius > 0)


def test_attack_radius_upper_bounds_lipschitz_certificate():
    W = jnp.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]])
    fn = lambda x: W @ x  # noqa: E731
    L = float(np.linalg.norm(np.asarray(W), 2))
    X = jnp.array(RNG.normal(size=(20, 2)))
    y = jnp.argmax(X @ W.T, axis=1)
    cert = lp.lipschitz_margin_radius(X @ W.T, y, L)
    att = sm.min_adversarial_radius(fn, X, y, r_max=5.0, key=jax.random.key(0))
    assert np.all(np.asarray(cert) <= att + 1e-9)
    acc = sm.certified_accuracy(np.asarray(cert), np.ones(20, bool), [0.0, 0.1, 10.0])
    assert acc[0] == 1.0 and acc[-1] == 0.0 and acc[1] <= 1.0


# --------------------------------------------------------------------- errors


def test_errors():
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        lp.spectral_norm_exact(jnp.ones(3))
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        lp.gram_iteration(jnp.ones((2, 2, 2)), 3)
    with pytest.raises(ValueError, match="num_iters must be at least 0"):
        lp.gram_iteration(jnp.ones((2, 2)), -1)
    with pytest.raises(ValueError, match="needs a start"):
        lp.power_iteration(jnp.ones((2, 2)), 3)
    with pytest.raises(ValueError, match="v0 must have length 3"):
        lp.power_iteration(jnp.ones((2, 3)), 3, v0=jnp.ones(2))
    with pytest.raises(ValueError, match="W contains 1 NaN"):
        lp.spectral_norm_exact(jnp.array([[1.0, jnp.nan]]))
    with pytest.raises(ValueError, match="kernel must be a 4-D array"):
        lp.conv_spectral_norm_exact(jnp.ones((3, 3)), 8)
    with pytest.raises(ValueError, match="exceeds input_size"):
        lp.conv_spectral_norm_exact(jnp.ones((1, 1, 5, 5)), 3)
    with pytest.raises(ValueError, match="eps must be non-negative"):
        lp.interval_jacobian_bound([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.zeros(2), -0.1)
    with pytest.raises(ValueError, match="norm must be 'l2' or 'linf'"):
        lp.upper_bound_product([(jnp.ones((2, 2)), jnp.zeros(2))], norm="l1")
    with pytest.raises(ValueError, match="columns but the previous layer"):
        lp.upper_bound_product([(jnp.ones((3, 2)), jnp.zeros(3)), (jnp.ones((1, 2)), jnp.zeros(1))])
    with pytest.raises(ValueError, match="activation must be one of"):
        lp.lower_bound_sampled([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.ones((3, 2)), "gelu")
    with pytest.raises(ValueError, match="at least one hidden layer"):
        lp.lipsdp([(jnp.ones((2, 2)), jnp.zeros(2))])
    with pytest.raises(ValueError, match="A must be square"):
        lp.cayley(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="at most as many columns"):
        lp.block_reflector(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="even last dimension"):
        lp.maxmin(jnp.ones(3))
    with pytest.raises(ValueError, match="n_hidden must be <="):
        lp.sandwich_init(jax.random.key(0), 2, 5, 1)
    with pytest.raises(ValueError, match="lipschitz must be positive"):
        lp.lipschitz_margin_radius(jnp.ones(3), 0, 0.0)
    with pytest.raises(ValueError, match="label must lie in"):
        lp.lipschitz_margin_radius(jnp.ones(3), 3, 1.0)
    with pytest.raises(ValueError, match="alpha must lie in"):
        sm.clopper_pearson_lower(3, 10, 1.5)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        sm.clopper_pearson_lower(11, 10, 0.05)
    with pytest.raises(ValueError, match="sigma must be positive"):
        sm.smoothed_radius(0.9, -1.0)
    with pytest.raises(ValueError, match="n must be at least 2"):
        sm.empirical_bernstein_lower(0.5, 0.1, 1, 0.05)
    with pytest.raises(ValueError, match="grid \\(radius\\) must be non-negative"):
        sm.certified_accuracy([0.1], [True], [-0.5])
    with pytest.raises(ValueError, match="method must be one of"):
        sm.certify(lambda x: x, jnp.ones((2, 2)), 0.5, key=jax.random.key(0), method="chernoff")
