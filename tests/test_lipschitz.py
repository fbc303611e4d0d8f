"""Tests for optlab.lipschitz against independent references: numpy SVD (float64), an
explicit dense circulant convolution matrix, hand-solved LipSDP cases and closed forms.

Numerical tests run in float32 (the readers' dtype) with tolerances measured on 20-300
random draws and set a few times above the worst error seen (relative to σ₁ or to the
largest entry involved); the same checks run in float64 (``x64`` fixture) to 1e-9..1e-12,
where the identities are exact up to rounding.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import lipschitz as lp
from optlab import smoothing as sm

F32 = np.float32


def _rng(seed=0):
    return np.random.default_rng(seed)


def _matrix_with_gap(n, gap, seed=0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V, _ = np.linalg.qr(rng.normal(size=(n, n)))
    s = np.concatenate([[3.0, 3.0 * gap], np.linspace(3.0 * gap * 0.95, 0.01, n - 2)])
    return U * s @ V.T


def _sigma1(W):
    """σ₁ of the matrix actually passed (float64 SVD of its float32 or float64 entries)."""
    return np.linalg.svd(np.asarray(W, dtype=float), compute_uv=False)[0]


def _mlp(key, sizes, scale=1.0, dtype=jnp.float32):
    keys = jax.random.split(key, len(sizes) - 1)
    return [(scale * jax.random.normal(k, (m, n), dtype) / np.sqrt(n), 0.1 * jax.random.normal(k, (m,), dtype))
            for k, n, m in zip(keys, sizes[:-1], sizes[1:])]


# --------------------------------------------------------------------- spectral norms


@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (12, 4)])
def test_exact_and_converged_iterations_match_numpy_svd_float32(shape):
    # measured over 30 seeds: max relative error 2.3e-7 (SVD), 1.3e-7 (Frobenius),
    # 1.8e-7 (Gram, 14 steps), 1.7e-7 (power, 500 steps)
    for seed in range(3):
        W = _rng(seed).normal(size=shape).astype(F32)
        ref = _sigma1(W)
        assert lp.spectral_norm_exact(W).dtype == jnp.float32
        np.testing.assert_allclose(lp.spectral_norm_exact(W), ref, rtol=1e-6)
        np.testing.assert_allclose(lp.frobenius_bound(W), np.linalg.norm(W.astype(float)), rtol=1e-6)
        np.testing.assert_allclose(lp.gram_iteration(W, num_steps=14).sigma, ref, rtol=1e-6)
        np.testing.assert_allclose(lp.power_iteration(W, num_steps=500, key=jax.random.key(seed)).sigma, ref, rtol=1e-6)


@pytest.mark.parametrize("shape", [(7, 7), (5, 9), (12, 4)])
def test_exact_and_converged_iterations_match_numpy_svd_float64(shape, x64):
    W = jnp.array(_rng(1).normal(size=shape))
    ref = _sigma1(W)
    assert lp.gram_iteration(W, num_steps=14).sigma.dtype == jnp.float64
    np.testing.assert_allclose(lp.spectral_norm_exact(W), ref, rtol=1e-12)
    np.testing.assert_allclose(lp.frobenius_bound(W), np.linalg.norm(np.asarray(W)), rtol=1e-12)
    np.testing.assert_allclose(lp.gram_iteration(W, num_steps=14).sigma, ref, rtol=1e-9)
    np.testing.assert_allclose(lp.power_iteration(W, num_steps=500, key=jax.random.key(0)).sigma, ref, rtol=1e-6)


def test_gram_beats_power_at_a_small_gap():
    # float32: Gram error ≤ 1.7e-7 over 5 seeds, power still ≥ 5.8e-3 away after 10 steps
    W = _matrix_with_gap(128, 0.99).astype(F32)
    s1 = _sigma1(W)
    g = lp.gram_iteration(W, num_steps=10)
    p = lp.power_iteration(W, num_steps=10, key=jax.random.key(0))
    assert abs(g.sigma / s1 - 1) < 1e-6
    assert abs(p.sigma / s1 - 1) > 1e-3
    assert g.kind == "UPPER" and p.kind == "LOWER"


def test_gram_beats_power_at_a_small_gap_float64(x64):
    W = jnp.array(_matrix_with_gap(128, 0.99))
    assert abs(lp.gram_iteration(W, num_steps=10).sigma / 3.0 - 1) < 1e-12
    assert abs(lp.power_iteration(W, num_steps=10, key=jax.random.key(0)).sigma / 3.0 - 1) > 1e-3


@pytest.mark.parametrize("scale", [1e30, 1e-30])
def test_gram_iteration_neither_overflows_nor_loses_precision(scale):
    # float32: ‖G_t‖ would be 1e(±30·2^t) unscaled, and ‖W‖_F² alone overflows at 1e30;
    # measured relative error ≤ 1.3e-7 over 10 seeds (the log-scale is kept relative to ‖W‖_F)
    W = (_rng(3).normal(size=(30, 30)) * scale).astype(F32)
    g = lp.gram_iteration(W, num_steps=12)
    assert np.all(np.isfinite(np.asarray(g.iterates)))
    np.testing.assert_allclose(g.sigma, _sigma1(W), rtol=1e-6)


def test_gram_iteration_does_not_overflow_float64(x64):
    W = jnp.array(_rng(0).normal(size=(30, 30))) * 1e300
    g = lp.gram_iteration(W, num_steps=12)
    assert np.all(np.isfinite(g.iterates))
    np.testing.assert_allclose(g.sigma / 1e300, _sigma1(W / 1e300), rtol=1e-9)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shape=st.sampled_from([(6, 6), (9, 4)]),
       gap=st.floats(0.0, 0.999))
def test_power_increases_gram_decreases_and_sandwich_exact(seed, shape, gap):
    # float32, 300 random draws: power decreased by ≤ 2.6e-7·σ₁ and exceeded σ₁ by ≤ 2.1e-7·σ₁;
    # Gram increased by ≤ 1.1e-7·σ₁ and fell below σ₁ by ≤ 1.6e-7·σ₁ (rounding only)
    rng = np.random.default_rng(seed)
    U, s, Vt = np.linalg.svd(rng.normal(size=shape), full_matrices=False)
    s[1] = s[0] * gap  # control the spectral gap
    s[2:] = np.minimum(s[2:], s[1])
    W = (U * s @ Vt).astype(F32)
    exact = _sigma1(W)
    p = np.asarray(lp.power_iteration(W, num_steps=30, key=jax.random.key(seed)).iterates, float)
    g = np.asarray(lp.gram_iteration(W, num_steps=8).iterates, float)
    tol = 1e-6 * exact
    assert np.all(np.diff(p) >= -tol)
    assert np.all(np.diff(g) <= tol)
    assert np.all(p <= exact + tol) and np.all(g >= exact - tol)


def test_power_and_gram_monotone_to_rounding_float64(x64):
    for seed in range(5):
        W = jnp.array(_rng(seed).normal(size=(9, 4)))
        exact = _sigma1(W)
        p = np.asarray(lp.power_iteration(W, num_steps=30, key=jax.random.key(seed)).iterates)
        g = np.asarray(lp.gram_iteration(W, num_steps=8).iterates)
        tol = 1e-12 * exact
        assert np.all(np.diff(p) >= -tol) and np.all(np.diff(g) <= tol)
        assert np.all(p <= exact + tol) and np.all(g >= exact - tol)


def test_gradients_match_top_singular_vectors():
    # float32: max abs error 1.0e-6 over 10 seeds (entries of u vᵀ are O(0.1-1))
    W = _rng(4).normal(size=(6, 5)).astype(F32)
    U, s, Vt = np.linalg.svd(W.astype(float))
    ref = np.outer(U[:, 0], Vt[0])
    for fn in (lp.spectral_norm_exact, lambda A: lp.gram_iteration(A, num_steps=12).sigma):
        np.testing.assert_allclose(jax.grad(fn)(jnp.array(W)), ref, atol=5e-6)


def test_gradients_match_top_singular_vectors_float64(x64):
    W = jnp.array(_rng(4).normal(size=(6, 5)))
    U, s, Vt = np.linalg.svd(np.asarray(W))
    ref = np.outer(U[:, 0], Vt[0])
    for fn in (lp.spectral_norm_exact, lambda A: lp.gram_iteration(A, num_steps=12).sigma):
        np.testing.assert_allclose(jax.grad(fn)(W), ref, atol=1e-8)


def test_zero_matrix_gives_zero_not_nan():
    Z = jnp.zeros((3, 4))
    assert float(lp.gram_iteration(Z, num_steps=5).sigma) == 0.0
    assert np.all(np.asarray(lp.gram_iteration(Z, num_steps=5).iterates) == 0.0)
    assert float(lp.power_iteration(Z, num_steps=5, key=jax.random.key(0)).sigma) == 0.0
    assert np.all(np.asarray(lp.gram_normalize(Z)) == 0.0)
    Wn, u = lp.spectral_normalize(Z, jnp.ones(4))
    assert np.all(np.asarray(Wn) == 0.0) and np.all(np.isfinite(np.asarray(u)))
    assert float(lp.conv_gram_iteration(jnp.zeros((1, 1, 2, 2)), 3, num_steps=4).sigma) == 0.0


def test_validated_functions_work_under_jit_vmap_and_grad():
    W = jnp.array(_rng(5).normal(size=(4, 3)), jnp.float32)
    ref = _sigma1(W)
    np.testing.assert_allclose(jax.jit(lambda A: lp.gram_iteration(A, num_steps=10).sigma)(W), ref, rtol=1e-6)
    np.testing.assert_allclose(jax.jit(lambda A: lp.spectral_norm_exact(A))(W), ref, rtol=1e-6)
    batch = jnp.stack([W, 2 * W])
    np.testing.assert_allclose(jax.vmap(lambda A: lp.gram_normalize(A, num_steps=8))(batch)[1], W / ref, rtol=1e-5)
    params = _mlp(jax.random.key(0), [3, 5, 2])
    # upper_bound_product is tracer-safe: its value is traced inside jit/grad
    ub = jax.jit(lambda p: lp.upper_bound_product(p).value)(params)
    np.testing.assert_allclose(ub, lp.upper_bound_product(params).value, rtol=1e-6)
    g = jax.grad(lambda p: lp.upper_bound_product(p).value)(params)
    assert all(np.all(np.isfinite(np.asarray(leaf))) for leaf in jax.tree_util.tree_leaves(g))
    ys = jax.vmap(lambda x: lp.mlp_apply(params, x))(jnp.ones((7, 3)))
    assert ys.shape == (7, 2)
    logits = jnp.array([[3.0, 1.0, 0.5], [0.0, 2.0, 1.0]])
    r = jax.jit(lp.lipschitz_margin_radius)(logits, jnp.array([0, 1]), 2.0)
    np.testing.assert_allclose(r, [2.0 / (2 * np.sqrt(2)), 1.0 / (2 * np.sqrt(2))], rtol=1e-6)
    res = jax.jit(lambda x0: lp.interval_jacobian_bound(params, x0, 0.1))(jnp.zeros(3))
    np.testing.assert_allclose(res.bound, lp.interval_jacobian_bound(params, jnp.zeros(3), 0.1).bound, rtol=1e-6)


# --------------------------------------------------------------------- no re-compilation


def _timed(f):
    t0 = time.perf_counter()
    jax.block_until_ready(f())
    return time.perf_counter() - t0


def test_iterations_compile_once_per_shape():
    rng = _rng(6)
    W1, W2 = (rng.normal(size=(17, 11)).astype(F32) for _ in range(2))
    lp.gram_iteration(W1, num_steps=9)
    lp.power_iteration(W1, num_steps=9, key=jax.random.key(0))
    lp.conv_gram_iteration(rng.normal(size=(2, 2, 3, 3)).astype(F32), 7, num_steps=5)
    sizes = (lp.norms._gram_jit._cache_size(), lp.norms._power_jit._cache_size(), lp.norms._conv_gram._cache_size())
    warm = _timed(lambda: lp.gram_iteration(W2, num_steps=9).sigma)
    lp.power_iteration(W2, num_steps=9, key=jax.random.key(1))
    lp.conv_gram_iteration(rng.normal(size=(2, 2, 3, 3)).astype(F32), 7, num_steps=5)
    assert (lp.norms._gram_jit._cache_size(), lp.norms._power_jit._cache_size(), lp.norms._conv_gram._cache_size()) == sizes


def test_gradient_ascent_compiles_once_for_new_points_and_step_sizes():
    params = _mlp(jax.random.key(7), [2, 6, 1])
    starts = jnp.array(_rng(7).normal(size=(3, 2)), jnp.float32)
    lp.lower_bound_gradient_ascent(params, starts, num_steps=4, learning_rate=0.05)
    n = lp.networks._ascent._cache_size()
    new_params = _mlp(jax.random.key(8), [2, 6, 1])
    lp.lower_bound_gradient_ascent(new_params, starts + 1.0, num_steps=4, learning_rate=0.2)
    lp.lower_bound_gradient_ascent(new_params, starts, num_steps=4, learning_rate=0.01)
    assert lp.networks._ascent._cache_size() == n


def test_local_bounds_compile_once_per_shape():
    params = _mlp(jax.random.key(9), [2, 6, 6, 1])
    lp.local_linf_bab(params, jnp.zeros(2), 0.2, num_splits=3)
    n = (lp.networks._interval_bound._cache_size(), lp.networks._jac_norms._cache_size())
    lp.local_linf_bab(_mlp(jax.random.key(10), [2, 6, 6, 1]), jnp.ones(2), 0.5, num_splits=6)
    lp.interval_jacobian_bound(params, jnp.ones(2), 0.1)
    assert (lp.networks._interval_bound._cache_size(), lp.networks._jac_norms._cache_size()) == n


# --------------------------------------------------------------------- convolutions


@pytest.mark.parametrize("shape,n", [((3, 2, 3, 3), 5), ((2, 4, 2, 2), 6)])
def test_conv_norms_against_dense_svd(shape, n):
    # float32 over 20 seeds: conv_apply ≤ 1.3e-7 (relative to max |y|), exact σ₁ ≤ 2.6e-7,
    # Gram ≤ 8.7e-8 and monotone to 8.7e-8·σ₁; power above σ₁ by ≤ 1.5e-6·σ₁, non-monotone
    # by ≤ 1.3e-6·σ₁, within 1.1e-6 after 300 steps
    rng = _rng(8)
    K = rng.normal(size=shape).astype(F32)
    M = lp.conv_dense_matrix(K, n).astype(float)
    x = rng.normal(size=(shape[1], n, n)).astype(F32)
    y = np.asarray(lp.conv_apply(K, x), float).ravel()
    np.testing.assert_allclose(y, M @ x.astype(float).ravel(), atol=1e-6 * np.abs(y).max())
    ref = np.linalg.norm(M, 2)
    np.testing.assert_allclose(lp.conv_spectral_norm_exact(K, n), ref, rtol=1e-6)
    g = lp.conv_gram_iteration(K, n, num_steps=12)
    h = np.asarray(g.iterates, float)
    np.testing.assert_allclose(g.sigma, ref, rtol=1e-6)
    assert np.all(np.diff(h) <= 1e-6 * ref) and np.all(h >= ref * (1 - 1e-6))
    p = lp.conv_power_iteration(K, n, num_steps=300, key=jax.random.key(0))
    ph = np.asarray(p.iterates, float)
    assert np.all(ph <= ref * (1 + 5e-6)) and np.isclose(p.sigma, ref, rtol=1e-3)
    assert np.all(np.diff(ph) >= -5e-6 * ref)


def test_conv_apply_matches_explicit_dense_circulant_matrix_float64(x64):
    rng = _rng(9)
    K = jnp.array(rng.normal(size=(3, 2, 3, 3)))
    M = lp.conv_dense_matrix(K, 5)
    x = rng.normal(size=(2, 5, 5))
    np.testing.assert_allclose(M @ x.ravel(), np.asarray(lp.conv_apply(K, jnp.array(x))).ravel(), atol=1e-12)
    # the explicit matrix, written independently of conv_apply: check one entry by hand
    # y[0,0,0] = Σ K[0,c,a,b] x[c,(a−1) mod 5,(b−1) mod 5]
    y00 = sum(K[0, c, a, b] * x[c, (a - 1) % 5, (b - 1) % 5]
              for c in range(2) for a in range(3) for b in range(3))
    assert np.isclose(float(lp.conv_apply(K, jnp.array(x))[0, 0, 0]), float(y00), rtol=1e-12)
    ref = np.linalg.norm(M, 2)
    np.testing.assert_allclose(lp.conv_spectral_norm_exact(K, 5), ref, rtol=1e-10)
    g = lp.conv_gram_iteration(K, 5, num_steps=12)
    np.testing.assert_allclose(g.sigma, ref, rtol=1e-8)
    assert np.all(np.diff(np.asarray(g.iterates)) <= 1e-12) and np.all(g.iterates >= ref * (1 - 1e-12))


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
    pts = jnp.array(_rng(10).uniform(-3, 3, size=(500, 2)), jnp.float32)
    lo = lp.lower_bound_sampled(params, pts)
    ga = lp.lower_bound_gradient_ascent(params, pts[:10], num_steps=30)
    sdp = lp.lipsdp(params)
    prod = lp.upper_bound_product(params)
    assert isinstance(lo.value, float) and isinstance(prod.value, float)
    assert lo.kind == ga.kind == "LOWER" and sdp.kind == prod.kind == "UPPER"
    assert ga.value >= lp.lower_bound_sampled(params, pts[:10]).value  # ascent starts there
    assert max(lo.value, ga.value) <= sdp.value * (1 + 1e-4) <= prod.value * (1 + 2e-4)


def test_gradient_ascent_in_a_box_only_uses_points_of_the_box():
    # f(x) = relu(x₁ − 1): ‖∇f‖ = 1 for x₁ > 1 and 0 inside the box [−0.5, 0.5]²
    params = [(jnp.array([[1.0, 0.0]]), jnp.array([-1.0])), (jnp.array([[1.0]]), jnp.zeros(1))]
    starts = jnp.array([[3.0, 0.0], [0.2, 0.1]])
    assert lp.lower_bound_gradient_ascent(params, starts, num_steps=5).value == 1.0
    local = lp.lower_bound_gradient_ascent(params, starts, num_steps=5, box=(-0.5, 0.5))
    assert local.value == 0.0 and local.scope == "local box"


def test_maxmin_residual_lipsdp_is_one_and_naive_rewrite_is_not():
    x = jnp.array(_rng(11).normal(size=(50, 2)), jnp.float32)
    # MaxMin = C x + D relu(W x): max(a,b) = b + relu(a−b), min(a,b) = a − relu(a−b)
    W, C, D = np.array([[1.0, -1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([[1.0], [-1.0]])
    ref = jax.vmap(lambda z: C @ z + D @ jax.nn.relu(W @ z))(x)
    np.testing.assert_allclose(ref, lp.maxmin(x), rtol=1e-6, atol=1e-6)
    assert np.isclose(lp.lipsdp_residual(W, C, D).value, 1.0, atol=1e-4)
    # identity written as relu(z) − relu(−z): a plain ReLU net, LipSDP is conservative
    Wn = jnp.array([[1.0, -1], [0, 1], [0, -1], [1, 0], [-1, 0]])
    Vn = jnp.array([[1.0, 1, -1, 0, 0], [-1, 0, 0, 1, -1]])
    naive = [(Wn, jnp.zeros(5)), (Vn, jnp.zeros(2))]
    np.testing.assert_allclose(jax.vmap(lambda z: lp.mlp_apply(naive, z))(x), lp.maxmin(x), atol=1e-6)
    assert lp.lipsdp(naive).value > 1.5


def test_local_interval_bound_contains_sampled_gradients_and_bab_is_monotone():
    # float32: over 10 networks the enclosure held exactly (0 violations) and the 1e-6 box
    # matched the exact ‖∇f‖₁ to 1.7e-7; tolerances are 1e-6 relative to the largest entry
    params = _mlp(jax.random.key(2), [2, 10, 10, 1])
    x0, eps = jnp.array([0.2, -0.1]), 0.3
    res = lp.interval_jacobian_bound(params, x0, eps)
    pts = x0 + eps * jnp.array(_rng(12).uniform(-1, 1, size=(3000, 2)), jnp.float32)
    J = np.asarray(jax.jit(jax.vmap(lambda z: lp.mlp_jacobian(params, z)))(pts))
    tol = 1e-6 * np.abs(J).max()
    assert np.all(J >= np.asarray(res.jac_lo) - tol) and np.all(J <= np.asarray(res.jac_hi) + tol)
    lower = float(np.max(np.sum(np.abs(J), axis=(1, 2))))
    assert lower <= float(res.bound) * (1 + 1e-6)
    bab = lp.local_linf_bab(params, x0, eps, num_splits=60)
    assert np.all(np.diff(bab.upper) <= 0) and np.all(np.diff(bab.lower) >= 0)
    assert np.isclose(bab.upper[0], res.bound, rtol=1e-6) and bab.upper[-1] >= lower * (1 - 1e-6)
    assert bab.upper[-1] <= lp.upper_bound_product(params, "linf").value * (1 + 1e-6)
    # a box inside one linear region: the bound equals the exact ‖∇f‖₁
    tiny = lp.interval_jacobian_bound(params, x0, 1e-6)
    assert int(tiny.unstable) == 0
    np.testing.assert_allclose(float(tiny.bound), float(jnp.sum(jnp.abs(lp.mlp_jacobian(params, x0)))),
                               rtol=1e-6)


def test_local_interval_bound_float64(x64):
    params = _mlp(jax.random.key(2), [2, 10, 10, 1], dtype=jnp.float64)
    x0, eps = jnp.array([0.2, -0.1]), 0.3
    res = lp.interval_jacobian_bound(params, x0, eps)
    pts = x0 + eps * jnp.array(_rng(12).uniform(-1, 1, size=(3000, 2)))
    J = jax.jit(jax.vmap(lambda z: lp.mlp_jacobian(params, z)))(pts)
    assert np.all(J >= res.jac_lo - 1e-12) and np.all(J <= res.jac_hi + 1e-12)
    tiny = lp.interval_jacobian_bound(params, x0, 1e-7)
    assert np.isclose(float(tiny.bound), float(jnp.sum(jnp.abs(lp.mlp_jacobian(params, x0)))), rtol=1e-12)


def test_tanh_interval_bound_is_valid():
    params = _mlp(jax.random.key(3), [2, 8, 1], scale=2.0)
    x0, eps = jnp.array([0.0, 0.5]), 0.5
    res = lp.interval_jacobian_bound(params, x0, eps, activation="tanh")
    pts = x0 + eps * jnp.array(_rng(13).uniform(-1, 1, size=(2000, 2)), jnp.float32)
    g = jax.jit(jax.vmap(lambda z: lp.mlp_jacobian(params, z, "tanh")))(pts)
    assert float(jnp.max(jnp.sum(jnp.abs(g), axis=(1, 2)))) <= float(res.bound) * (1 + 1e-6)


# --------------------------------------------------------------------- constructions


def test_orthogonal_layers():
    # float32: residuals ≤ 7.1e-7 over 10 seeds
    rng = _rng(14)
    A = rng.normal(size=(16, 16)).astype(F32)
    V = rng.normal(size=(16, 5)).astype(F32)
    for Q in (lp.cayley(A), lp.block_reflector(V)):
        assert float(lp.orthogonality_residual(Q)) < 5e-6
        x = rng.normal(size=16).astype(F32)
        np.testing.assert_allclose(jnp.linalg.norm(Q @ x), np.linalg.norm(x), rtol=5e-6)
    R = np.asarray(lp.block_reflector(V))
    np.testing.assert_allclose(R, R.T, atol=5e-6)
    np.testing.assert_allclose(R @ V, -V, atol=5e-6 * np.abs(V).max())  # reflects span(V)


def test_orthogonal_layers_float64(x64):
    rng = _rng(14)
    A, V = jnp.array(rng.normal(size=(16, 16))), jnp.array(rng.normal(size=(16, 5)))
    for Q in (lp.cayley(A), lp.block_reflector(V)):
        assert float(lp.orthogonality_residual(Q)) < 1e-12


def test_spectral_normalisation_can_under_normalise_and_gram_cannot():
    W = _matrix_with_gap(64, 0.98, seed=3).astype(F32)
    u = np.random.default_rng(1).normal(size=64).astype(F32)
    Wsn, _ = lp.spectral_normalize(W, u, num_steps=1)
    Wg = lp.gram_normalize(W, num_steps=6)
    assert _sigma1(Wsn) > 1.0 + 1e-3
    assert _sigma1(Wg) <= 1.0 + 1e-6  # float32 rounding (float64 below: 1e-12)


def test_gram_normalisation_float64(x64):
    W = jnp.array(_matrix_with_gap(64, 0.98, seed=3))
    assert _sigma1(lp.gram_normalize(W, num_steps=6)) <= 1.0 + 1e-12


@pytest.mark.parametrize("dtype,tol", [(jnp.float32, 1e-5), (jnp.float64, 1e-12)])
def test_sandwich_layer_is_gamma_lipschitz_and_certified_by_lipsdp(dtype, tol):
    # float32: AAᵀ + BBᵀ = I to 1e-6 and the two forms agree to 1e-6 (measured 2e-7)
    with jax.enable_x64(dtype == jnp.float64):
        rng = _rng(15)
        for seed, gamma in [(0, 1.0), (1, 2.5)]:
            p = lp.sandwich_init(3, 4, 2, dtype, key=jax.random.key(seed))
            A, B = lp.layers._sandwich_mats(p)
            np.testing.assert_allclose(A @ A.T + B @ B.T, np.eye(4), atol=tol)
            x = jnp.array(rng.normal(size=(500, 3)), dtype)
            as_mlp = lp.sandwich_as_mlp(p, gamma)
            y = jax.vmap(lambda z: lp.sandwich_apply(p, z, gamma))(x)
            y2 = jax.vmap(lambda z: lp.mlp_apply(as_mlp, z))(x) - as_mlp[-1][1]
            np.testing.assert_allclose(y, y2, atol=tol * max(1.0, float(jnp.abs(y).max())))
            low = lp.lower_bound_gradient_ascent(as_mlp, x[:10], num_steps=40)
            assert low.value <= gamma * (1 + tol)
            assert lp.lipsdp(as_mlp).value <= gamma * (1 + 1e-4)


def test_lipschitz_margin_radius():
    logits = jnp.array([[3.0, 1.0, 0.5], [0.0, 2.0, 1.0]])
    r = lp.lipschitz_margin_radius(logits, jnp.array([0, 0]), 2.0)
    np.testing.assert_allclose(r, [2.0 / (2 * np.sqrt(2)), 0.0], rtol=1e-6)
    # one point, one label; a scalar label shared by a batch
    np.testing.assert_allclose(lp.lipschitz_margin_radius(logits[1], 1, 1.0), 1.0 / np.sqrt(2), rtol=1e-6)
    np.testing.assert_allclose(lp.lipschitz_margin_radius(logits, 0, 2.0), r, rtol=1e-6)


def test_attack_radius_upper_bounds_lipschitz_certificate():
    W = jnp.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]])
    fn = lambda x: W @ x  # noqa: E731
    L = float(np.linalg.norm(np.asarray(W), 2))
    X = jnp.array(_rng(16).normal(size=(20, 2)), jnp.float32)
    y = jnp.argmax(X @ W.T, axis=1)
    cert = np.asarray(lp.lipschitz_margin_radius(X @ W.T, y, L))
    att = np.asarray(sm.min_adversarial_radius(fn, X, y, r_max=5.0, key=jax.random.key(0)))
    assert np.all(cert <= att * (1 + 1e-5) + 1e-6)
    acc = sm.certified_accuracy(cert, np.ones(20, bool), [0.0, 0.1, 10.0])
    assert acc[0] == 1.0 and acc[-1] == 0.0 and acc[1] <= 1.0


# --------------------------------------------------------------------- errors


def test_errors():
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        lp.spectral_norm_exact(jnp.ones(3))
    with pytest.raises(ValueError, match="W must be a 2-D array"):
        lp.gram_iteration(jnp.ones((2, 2, 2)), num_steps=3)
    with pytest.raises(ValueError, match="W must be a non-empty matrix"):
        lp.gram_iteration(jnp.ones((0, 2)), num_steps=3)
    with pytest.raises(ValueError, match="num_steps must be at least 0"):
        lp.gram_iteration(jnp.ones((2, 2)), num_steps=-1)
    with pytest.raises(TypeError, match="needs a start"):
        lp.power_iteration(jnp.ones((2, 2)), num_steps=3)
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(0\)"):
        lp.power_iteration(jnp.ones((2, 2)), num_steps=3, key=0)
    with pytest.raises(ValueError, match="v0 must have length 3"):
        lp.power_iteration(jnp.ones((2, 3)), num_steps=3, v0=jnp.ones(2))
    with pytest.raises(ValueError, match="v0 must be a non-zero vector"):
        lp.power_iteration(jnp.ones((2, 3)), num_steps=3, v0=jnp.zeros(3))
    with pytest.raises(ValueError, match="W contains 1 NaN"):
        lp.spectral_norm_exact(jnp.array([[1.0, jnp.nan]]))
    with pytest.raises(TypeError, match="W must be numeric"):
        lp.spectral_norm_exact("W")
    with pytest.raises(ValueError, match="kernel must be a 4-D array"):
        lp.conv_spectral_norm_exact(jnp.ones((3, 3)), 8)
    with pytest.raises(ValueError, match="exceeds input_size"):
        lp.conv_spectral_norm_exact(jnp.ones((1, 1, 5, 5)), 3)
    with pytest.raises(ValueError, match="x must have 1 channels"):
        lp.conv_apply(jnp.ones((1, 1, 3, 3)), jnp.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="eps must be non-negative"):
        lp.interval_jacobian_bound([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.zeros(2), -0.1)
    with pytest.raises(ValueError, match="x0 must have shape \\(2,\\)"):
        lp.interval_jacobian_bound([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.zeros(3), 0.1)
    with pytest.raises(ValueError, match="norm must be 'l2' or 'linf'"):
        lp.upper_bound_product([(jnp.ones((2, 2)), jnp.zeros(2))], norm="l1")
    with pytest.raises(ValueError, match="columns but the previous layer"):
        lp.upper_bound_product([(jnp.ones((3, 2)), jnp.zeros(3)), (jnp.ones((1, 2)), jnp.zeros(1))])
    with pytest.raises(TypeError, match="params must be a non-empty list of \\(W, b\\) pairs"):
        lp.mlp_apply({"W": jnp.ones((2, 2))}, jnp.ones(2))
    with pytest.raises(ValueError, match="activation must be one of"):
        lp.lower_bound_sampled([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.ones((3, 2)), "gelu")
    with pytest.raises(ValueError, match="points must hold at least one point"):
        lp.lower_bound_sampled([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.ones((0, 2)))
    with pytest.raises(ValueError, match="box must satisfy lo <= hi"):
        lp.lower_bound_gradient_ascent([(jnp.ones((2, 2)), jnp.zeros(2))], jnp.ones((1, 2)), box=(1.0, 0.0))
    with pytest.raises(ValueError, match="at least one hidden layer"):
        lp.lipsdp([(jnp.ones((2, 2)), jnp.zeros(2))])
    with pytest.raises(ValueError, match="solver must be one of the installed cvxpy solvers"):
        lp.lipsdp([(jnp.ones((2, 2)), jnp.zeros(2))] * 2, solver="NOPE")
    with pytest.raises(TypeError, match="params must be concrete"):
        jax.jit(lambda p: lp.lipsdp(p).value)([(jnp.ones((2, 2)), jnp.zeros(2))] * 2)
    with pytest.raises(ValueError, match="A must be square"):
        lp.cayley(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="at most as many columns"):
        lp.block_reflector(jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="V must have full column rank"):
        lp.block_reflector(jnp.ones((3, 2)))
    with pytest.raises(ValueError, match="even last dimension"):
        lp.maxmin(jnp.ones(3))
    with pytest.raises(ValueError, match="n_hidden must be <="):
        lp.sandwich_init(2, 5, 1, key=jax.random.key(0))
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        lp.sandwich_init(2, 3, 1, jnp.int32, key=jax.random.key(0))
    with pytest.raises(ValueError, match="lipschitz must be positive"):
        lp.lipschitz_margin_radius(jnp.ones(3), 0, 0.0)
    with pytest.raises(ValueError, match="label must lie in"):
        lp.lipschitz_margin_radius(jnp.ones(3), 3, 1.0)
    with pytest.raises(ValueError, match="label must be integer class indices"):
        lp.lipschitz_margin_radius(jnp.ones(3), 0.5, 1.0)


def test_gram_iterations_keep_float32_when_x64_is_on(x64):
    """float32 weights with jax_enable_x64 on (a notebook that turned it on): the Gram
    iteration's log-scale stays float32 (its step counter once made it float64 and the
    scan's carry changed type)."""
    rng = np.random.default_rng(0)
    W = jnp.asarray(rng.standard_normal((6, 4)), jnp.float32)
    res = lp.gram_iteration(W, num_steps=4)
    assert res.sigma.dtype == jnp.float32
    np.testing.assert_allclose(float(res.sigma), np.linalg.svd(np.asarray(W, np.float64))[1][0], rtol=1e-3)
    kernel = jnp.asarray(rng.standard_normal((2, 3, 3, 3)), jnp.float32)
    conv = lp.conv_gram_iteration(kernel, 8, num_steps=4)
    assert conv.sigma.dtype == jnp.float32 and np.isfinite(float(conv.sigma))


# ---------------------------------------------------------------------------
# the 1-Lipschitz MaxMin network of chapter 8
# ---------------------------------------------------------------------------


def _raw_net(seed, sizes=(3, 8, 6, 4)):
    rng = _rng(seed)
    return [(rng.normal(size=(m, n)).astype(F32) * 2.0, rng.normal(size=m).astype(F32))
            for n, m in zip(sizes[:-1], sizes[1:])]


def _np_maxmin(h):
    a, b = h[0::2], h[1::2]
    return np.concatenate([np.maximum(a, b), np.minimum(a, b)])


@pytest.mark.parametrize("seed", range(5))
def test_gram_normalize_mlp_against_svd(seed):
    raw = _raw_net(seed)
    for (W, b), (Wn, bn) in zip(raw, lp.gram_normalize_mlp(raw, num_steps=6)):
        # Ŵ = W / β with β >= σ₁(W): the same direction, σ₁(Ŵ) <= 1, and after 6 Gram steps
        # β is within 1e-4 of σ₁ (measured |1 - σ₁(Ŵ)| <= 1.6e-7 over 5 draws, float32)
        beta = np.linalg.norm(W) / np.linalg.norm(np.asarray(Wn, float))
        np.testing.assert_allclose(np.asarray(Wn) * beta, W, rtol=1e-5, atol=1e-5)
        s1 = _sigma1(Wn)
        assert s1 <= 1 + 2e-6 and s1 >= 1 - 1e-4, s1
        np.testing.assert_array_equal(np.asarray(bn), b)


def test_gram_normalize_mlp_zero_steps_is_frobenius():
    raw = _raw_net(7)
    for (W, _), (Wn, _) in zip(raw, lp.gram_normalize_mlp(raw, num_steps=0)):
        np.testing.assert_allclose(np.asarray(Wn), W / np.linalg.norm(W), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("seed", range(3))
def test_maxmin_mlp_apply_against_numpy_forward(seed):
    raw = _raw_net(seed)
    ps = [(np.asarray(W, float), np.asarray(b, float)) for W, b in lp.gram_normalize_mlp(raw)]
    for x in _rng(100 + seed).normal(size=(10, 3)).astype(F32):
        h = x.astype(float)
        for W, b in ps[:-1]:
            h = _np_maxmin(W @ h + b)
        ref = ps[-1][0] @ h + ps[-1][1]
        got = np.asarray(lp.maxmin_mlp_apply(raw, x))
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_maxmin_mlp_apply_is_one_lipschitz_and_differentiable():
    raw = _raw_net(11)
    f = lambda x: lp.maxmin_mlp_apply(raw, x)  # noqa: E731
    X = jnp.asarray(_rng(12).normal(size=(400, 3)) * 3, jnp.float32)
    J = np.asarray(jax.vmap(jax.jacfwd(f))(X), float)
    norms = np.linalg.norm(J, ord=2, axis=(1, 2))
    assert norms.max() <= 1 + 1e-5, norms.max()
    # and not vacuous: the largest sampled norm is a LOWER bound on L (measured 0.47)
    assert norms.max() > 0.3
    Y = jnp.asarray(_rng(13).normal(size=(400, 3)) * 3, jnp.float32)
    d_out = np.linalg.norm(np.asarray(jax.vmap(f)(X) - jax.vmap(f)(Y)), axis=1)
    d_in = np.linalg.norm(np.asarray(X - Y), axis=1)
    assert np.all(d_out <= d_in * (1 + 1e-5))
    g = jax.grad(lambda p: jnp.sum(lp.maxmin_mlp_apply(p, X[0]) ** 2))(raw)
    assert all(np.all(np.isfinite(np.asarray(w))) and np.any(np.asarray(w) != 0) for w, _ in g)


def test_maxmin_mlp_apply_compiles_once_per_shape():
    lp.maxmin_mlp_apply(_raw_net(20), np.ones(3, F32))
    n = lp.layers._maxmin_mlp._cache_size()
    lp.maxmin_mlp_apply(_raw_net(21), _rng(22).normal(size=3).astype(F32))
    assert lp.layers._maxmin_mlp._cache_size() == n


def test_maxmin_mlp_apply_float64(x64):
    rng = _rng(30)
    raw = [(rng.normal(size=(4, 2)), rng.normal(size=4)), (rng.normal(size=(2, 4)), rng.normal(size=2))]
    x = rng.normal(size=2)
    ps = [(W / np.linalg.svd(W, compute_uv=False)[0], b) for W, b in raw]
    h = _np_maxmin(ps[0][0] @ x + ps[0][1])
    ref = ps[1][0] @ h + ps[1][1]
    # 30 Gram steps: β equals σ₁ to rounding
    np.testing.assert_allclose(np.asarray(lp.maxmin_mlp_apply(raw, x, num_steps=30)), ref, rtol=1e-9, atol=1e-12)
