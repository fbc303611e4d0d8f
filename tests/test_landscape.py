"""Tests for optlab.landscape against closed forms, dense linear algebra (numpy
eigvalsh, finite differences), scipy (SLSQP for the Att-SVM) and brute force."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize
from scipy.stats import ortho_group

from optlab import landscape as L
from optlab import second_order
from optlab.viz import landscape as viz_land


def etf_config(K=4, d=7, n=5):
    labels = jnp.repeat(jnp.arange(K), n)
    M = L.simplex_etf(K, d)  # K × d, one vertex per row
    return M, labels


# --------------------------------------------------------------------------- neural collapse

@pytest.mark.parametrize("K", [2, 3, 5, 10])
def test_etf_gram_closed_form_and_geometry(K, x64):
    G = np.asarray(L.etf_gram(K))
    ref = K / (K - 1) * (np.eye(K) - np.ones((K, K)) / K)
    np.testing.assert_allclose(G, ref, atol=1e-15)
    M = np.asarray(L.simplex_etf(K, K + 2))
    assert M.shape == (K, K + 2)
    np.testing.assert_allclose(M @ M.T, ref, atol=1e-14)
    np.testing.assert_allclose(np.linalg.norm(M, axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(M.sum(0), 0.0, atol=1e-14)
    off = (M @ M.T)[~np.eye(K, dtype=bool)]
    np.testing.assert_allclose(off, -1 / (K - 1), atol=1e-14)
    assert np.linalg.matrix_rank(M) == K - 1


def test_class_means_against_loop(x64):
    rng = np.random.default_rng(0)
    H = rng.standard_normal((17, 3))  # N × d
    labels = np.array([0, 1, 2] * 5 + [0, 0])
    mu_G, M = L.class_means(H, jnp.asarray(labels), 3)
    assert M.shape == (3, 3)
    for k in range(3):
        np.testing.assert_allclose(M[k], H[labels == k].mean(0), atol=1e-14)
    np.testing.assert_allclose(mu_G, H.mean(0), atol=1e-14)


def test_nc_metrics_zero_on_exact_collapse_and_positive_when_perturbed(x64):
    M, labels = etf_config()
    H = M[labels]  # N × d: every feature at its class vertex
    m = L.nc_metrics(H, M, labels, 4)
    assert max(float(v) for v in m) < 1e-12
    rng = np.random.default_rng(1)
    Hp = H + 0.1 * rng.standard_normal(H.shape)
    mp = L.nc_metrics(Hp, M, labels, 4)
    assert float(mp.nc1) > 1e-4 and float(mp.nc2) > 1e-4 and float(mp.nc3) > 1e-4
    # a classifier that is not the means: NC3 > 0 and NC4 = fraction of disagreements
    Wbad = np.asarray(M)[[1, 0, 2, 3]]
    mb = L.nc_metrics(H, Wbad, labels, 4)
    assert float(mb.nc3) > 0.1
    assert float(mb.nc4) == pytest.approx(0.5)  # classes 0 and 1 are swapped


def test_nc1_against_dense_formula(x64):
    rng = np.random.default_rng(2)
    K, d, n = 3, 5, 6
    labels = np.repeat(np.arange(K), n)
    H = rng.standard_normal((K * n, d)) + 3 * rng.standard_normal((K, d))[labels]
    W = rng.standard_normal((K, d))
    m = L.nc_metrics(H, W, jnp.asarray(labels), K)
    mus = np.stack([H[labels == k].mean(0) for k in range(K)])  # K × d
    muG = H.mean(0)
    SW = sum(np.outer(H[i] - mus[labels[i]], H[i] - mus[labels[i]]) for i in range(K * n)) / (K * n)
    SB = sum(np.outer(mus[k] - muG, mus[k] - muG) for k in range(K)) / K
    assert float(m.nc1) == pytest.approx(np.trace(SW @ np.linalg.pinv(SB)) / K, rel=1e-9)
    Mc = mus - muG[None, :]
    G = Mc @ Mc.T
    nc2 = np.linalg.norm(G / np.linalg.norm(G) - (np.eye(K) - 1 / K) / np.sqrt(K - 1))
    assert float(m.nc2) == pytest.approx(nc2, rel=1e-10)
    nc3 = np.linalg.norm(W / np.linalg.norm(W) - Mc / np.linalg.norm(Mc))
    assert float(m.nc3) == pytest.approx(nc3, rel=1e-10)
    ncc = np.argmin(((H[:, None, :] - mus[None, :, :]) ** 2).sum(2), 1)
    assert float(m.nc4) == pytest.approx(np.mean(np.argmax(H @ W.T, 1) != ncc))


@pytest.mark.parametrize("scale", [1e20, 1e-20, 1e30])
def test_nc_metrics_finite_and_unchanged_at_extreme_float32_scales(scale):
    """Features (and a classifier) of 1e±20 in float32: the squares would overflow or
    underflow; the metrics are scale-invariant and come out as at scale 1."""
    rng = np.random.default_rng(5)
    K, d, n = 4, 6, 5
    labels = jnp.asarray(np.repeat(np.arange(K), n))
    H = jnp.asarray(rng.standard_normal((K * n, d)) + 3 * rng.standard_normal((K, d))[np.repeat(np.arange(K), n)],
                    jnp.float32)
    W = jnp.asarray(rng.standard_normal((K, d)), jnp.float32)
    b = jnp.asarray(rng.standard_normal(K), jnp.float32)
    ref = L.nc_metrics(H, W, labels, K, b)
    for got in (L.nc_metrics(H * scale, W, labels, K, b * scale), L.nc_metrics(H, W * scale, labels, K, b * scale)):
        assert all(bool(jnp.isfinite(v)) for v in got), got
        # float32 metrics of size ~0.1-1 computed from rescaled inputs: measured within 1e-6
        np.testing.assert_allclose(np.asarray(got[:3]), np.asarray(ref[:3]), rtol=1e-4, atol=1e-6)
        assert float(got.nc4) == float(ref.nc4)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0))
def test_nc_metrics_invariant_under_rotation_and_scaling(seed, scale):
    with jax.enable_x64(True):
        _nc_invariance(seed, scale)


def _nc_invariance(seed, scale):
    rng = np.random.default_rng(seed)
    K, d, n = 4, 6, 5
    labels = jnp.repeat(jnp.arange(K), n)
    H = rng.standard_normal((K * n, d)) + 2 * rng.standard_normal((K, d))[np.asarray(labels)]
    W = rng.standard_normal((K, d))
    Q = ortho_group.rvs(d, random_state=seed)
    base = L.nc_metrics(H, W, labels, K)
    rot = L.nc_metrics(H @ Q.T, W @ Q.T, labels, K)
    sc = L.nc_metrics(scale * H, scale * W, labels, K)
    for a, b, c in zip(base, rot, sc):
        assert float(b) == pytest.approx(float(a), rel=1e-7, abs=1e-12)
        assert float(c) == pytest.approx(float(a), rel=1e-7, abs=1e-12)


def test_simplex_etf_with_rotation_and_orthogonal_frame_cosine(x64):
    R = ortho_group.rvs(6, random_state=3)[:4]  # 4 × 6 with orthonormal rows
    M = np.asarray(L.simplex_etf(4, 6, rotation=R))
    np.testing.assert_allclose(M @ M.T, np.asarray(L.etf_gram(4)), atol=1e-13)
    assert float(L.max_offdiag_cosine(np.diag([1.0, 2.0, 3.0]))) == 0.0
    assert float(L.max_offdiag_cosine(M)) == pytest.approx(1 / 3, abs=1e-12)
    np.testing.assert_allclose(L.classifier_mean_cosines(2 * M, M), 1.0, atol=1e-14)


def test_ufm_gradient_matches_finite_differences(x64):
    rng = np.random.default_rng(4)
    labels = jnp.asarray([0, 1, 2, 1, 0])
    p = L.UFMParams(jnp.asarray(rng.standard_normal((5, 4))), jnp.asarray(rng.standard_normal((3, 4))),
                    jnp.asarray(rng.standard_normal(3)))
    f = lambda q: L.ufm_loss(q, labels, 3, 0.1, 0.2, 0.3)  # noqa: E731
    g = jax.grad(f)(p)
    for leaf_idx in range(3):
        x = np.asarray(p[leaf_idx])
        d = rng.standard_normal(x.shape)
        plus = list(p)
        minus = list(p)
        plus[leaf_idx] = jnp.asarray(x + 1e-6 * d)
        minus[leaf_idx] = jnp.asarray(x - 1e-6 * d)
        fd = (f(L.UFMParams(*plus)) - f(L.UFMParams(*minus))) / 2e-6
        assert float(fd) == pytest.approx(float(jnp.sum(g[leaf_idx] * d)), rel=1e-6)


def test_train_ufm_reaches_closed_form_bias_free_optimum(x64):
    counts = np.array([20, 10, 5])
    labels = jnp.asarray(np.repeat(np.arange(3), counts))
    out = L.train_ufm(labels, 3, 5, key=jax.random.key(0), lam_W=5e-3, lam_H=5e-3, bias=False,
                      learning_rate=0.3, num_steps=3000, record_every=100)
    ref = L.ufm_bias_free_optimum(counts, 5e-3, 5e-3)
    assert out.params.H.shape == (35, 5)
    assert float(out.losses[-1]) == pytest.approx(float(ref.loss), abs=1e-9)
    _, M = L.class_means(out.params.H, labels, 3)
    np.testing.assert_allclose(np.linalg.norm(M, axis=1), ref.mean_norms, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out.params.W, axis=1), ref.classifier_norms, atol=1e-6)
    assert float(L.max_offdiag_cosine(M)) < 1e-8
    np.testing.assert_allclose(np.asarray(out.params.b), 0.0)  # frozen
    assert np.all(np.diff(np.asarray(out.losses)) <= 1e-12)  # monotone at this step size


def test_bias_free_optimum_by_direct_minimisation(x64):
    """Independent reference: scipy L-BFGS on the class-collapsed objective."""
    counts = np.array([9.0, 4.0, 1.0])
    lw, lh = 0.01, 0.02
    N, K = counts.sum(), 3

    def f(z):
        W, M = z[:9].reshape(3, 3), z[9:].reshape(3, 3)  # M: class means as rows
        R = (W @ M.T - np.eye(3)) * np.sqrt(counts)[None, :]
        return 0.5 / N * np.sum(R ** 2) + lw / 2 * np.sum(W ** 2) + lh / 2 * np.sum(M ** 2 * counts[:, None])

    best = min((minimize(f, np.random.default_rng(s).standard_normal(18), method="L-BFGS-B",
                         options=dict(maxiter=5000, gtol=1e-12)) for s in range(3)), key=lambda r: r.fun)
    ref = L.ufm_bias_free_optimum(counts, lw, lh)
    # the closed form is a lower bound L-BFGS cannot beat, and L-BFGS gets within its tolerance
    assert float(ref.loss) <= best.fun + 1e-12 and best.fun - float(ref.loss) < 1e-7
    # minority collapse: a large enough lambda zeroes the smallest class
    z = np.asarray(L.ufm_bias_free_optimum([30, 15, 5], 0.045, 0.045).z)
    assert z[-1] == 0 and np.all(z[:2] > 0)
    assert np.all(np.asarray(L.ufm_bias_free_optimum([30, 15, 5], 0.044, 0.044).z) > 0)


def test_train_ufm_with_bias_gives_simplex_etf(x64):
    labels = jnp.repeat(jnp.arange(4), 6)
    out = L.train_ufm(labels, 4, 6, key=jax.random.key(2), lam_W=5e-3, lam_H=5e-3, bias=True,
                      learning_rate=0.3, num_steps=4000, record_every=500)
    m = out.metrics
    assert float(m.nc1[-1]) < 1e-12 and float(m.nc2[-1]) < 1e-6 and float(m.nc4[-1]) == 0.0
    assert float(m.nc3[-1]) < 5e-3 and float(m.nc3[-1]) < float(m.nc3[0])
    np.testing.assert_allclose(out.params.b, 0.25, atol=1e-6)
    assert out.means.shape == (8, 4, 6) and out.classifiers.shape == (8, 4, 6)


def test_nc_errors():
    M, labels = etf_config()
    with pytest.raises(ValueError, match="labels must lie in"):
        L.nc_metrics(M[labels], M, labels.at[0].set(7), 4)
    with pytest.raises(ValueError, match="classes \\[3\\] are empty"):
        L.class_means(M[labels], jnp.minimum(labels, 2), 4)
    with pytest.raises(TypeError, match="labels must be integers"):
        L.class_means(M[labels], labels.astype(float), 4)
    with pytest.raises(ValueError, match="W must have shape"):
        L.nc_metrics(M[labels], M.T, labels, 4)
    with pytest.raises(ValueError, match="W must have shape"):
        L.nc_metrics(M[labels].T, M, labels, 4)  # features as columns (d × N) are refused
    with pytest.raises(ValueError, match="labels must have one entry per row of H"):
        L.class_means(M[labels].T, labels, 4)
    with pytest.raises(ValueError, match="H contains"):
        L.nc_metrics(M[labels].at[0, 0].set(jnp.nan), M, labels, 4)
    with pytest.raises(ValueError, match="d must be at least 4"):
        L.simplex_etf(4, 3)
    with pytest.raises(ValueError, match="orthonormal rows"):
        L.simplex_etf(3, 4, rotation=np.ones((3, 4)))
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        L.train_ufm(labels, 4, 5, key=jax.random.key(0), learning_rate=-0.1)
    with pytest.raises(ValueError, match="multiple of record_every"):
        L.train_ufm(labels, 4, 5, key=jax.random.key(0), num_steps=10, record_every=3)
    with pytest.raises(ValueError, match="counts must be positive"):
        L.ufm_bias_free_optimum([3, 0], 0.1, 0.1)


# --------------------------------------------------------------------------- matrix sensing

def test_sensing_gradient_and_errors_against_numpy_loop(x64):
    n, k = 6, 3
    M = np.asarray(L.low_rank_psd(n, [1.0, 0.5], key=jax.random.key(0)))
    np.testing.assert_allclose(np.linalg.eigvalsh(M)[-2:], [0.5, 1.0], atol=1e-12)
    assert np.linalg.matrix_rank(M, tol=1e-10) == 2
    X0 = 0.1 * np.random.default_rng(0).standard_normal((n, k))
    g = jax.grad(L.sensing_loss)(jnp.asarray(X0), jnp.asarray(M))
    np.testing.assert_allclose(g, (X0 @ X0.T - M) @ X0, atol=1e-14)
    out = L.sensing_gd(X0, M, learning_rate=0.2, num_steps=50)
    X, errs = X0.copy(), []
    for _ in range(50):
        errs.append(np.linalg.norm(X @ X.T - M))
        X = X - 0.2 * (X @ X.T - M) @ X
    errs.append(np.linalg.norm(X @ X.T - M))
    np.testing.assert_allclose(out.errors, errs, rtol=1e-10)
    np.testing.assert_allclose(out.params, X, atol=1e-12)


def test_sensing_rates_exact_vs_overparameterised(x64):
    n, r, eta, T = 12, 2, 0.2, 8000
    M = L.low_rank_psd(n, [1.0, 0.7], key=jax.random.key(1))
    t = np.arange(T + 1)
    X2 = 0.1 * jax.random.normal(jax.random.key(2), (n, 2))
    e2 = np.asarray(L.sensing_gd(X2, M, learning_rate=eta, num_steps=T).errors)
    assert e2[1000] < 1e-12
    assert L.log_linear_rate(t, e2, 20, 100) < 0.95
    X4 = 0.3 * jax.random.normal(jax.random.key(3), (n, 4))
    e4 = np.asarray(L.sensing_gd(X4, M, learning_rate=eta, num_steps=T).errors)
    slope = L.loglog_slope(t, e4, 1e3, T)
    assert -1.05 < slope < -0.85
    assert 0.85 < e4[T] * 2 * eta * T / np.sqrt(4 - r) < 1.1


def test_fit_helpers_recover_known_slopes(x64):
    t = np.arange(1, 1001, dtype=float)
    assert L.loglog_slope(t, 3.0 / t ** 2, 10, 1000) == pytest.approx(-2.0, abs=1e-10)
    assert L.log_linear_rate(t, 5 * 0.9 ** t, 1, 100) == pytest.approx(0.9, abs=1e-10)
    with pytest.raises(ValueError, match="at least two points"):
        L.loglog_slope(t, 1 / t, 2000, 3000)
    with pytest.raises(ValueError, match="must be positive"):
        L.loglog_slope(t, -1 / t, 1, 10)


def test_sensing_errors():
    M = np.eye(3)
    with pytest.raises(ValueError, match="M_star must have shape"):
        L.sensing_gd(np.ones((4, 2)), M, learning_rate=0.1, num_steps=10)
    with pytest.raises(ValueError, match="symmetric"):
        L.sensing_gd(np.ones((3, 2)), np.triu(np.ones((3, 3))), learning_rate=0.1, num_steps=10)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        L.sensing_gd(np.ones((3, 2)), M, learning_rate=0.0, num_steps=10)
    with pytest.raises(ValueError, match="rank 4 exceeds"):
        L.low_rank_psd(3, [1, 1, 1, 1], key=jax.random.key(0))


# --------------------------------------------------------------------------- Hessians

def _quartic(p):
    w, b = p
    return jnp.sum(w ** 4) / 4 + 0.5 * jnp.sum(b ** 2) * w[0] ** 2 + jnp.sum(jnp.sin(w) * b)


def test_hessian_matrix_against_finite_differences(x64):
    rng = np.random.default_rng(5)
    p = (jnp.asarray(rng.standard_normal(3)), jnp.asarray(rng.standard_normal(3)))
    H = np.asarray(L.hessian_matrix(_quartic, p))
    flat = np.concatenate([np.asarray(p[0]), np.asarray(p[1])])
    g = jax.grad(lambda z: _quartic((z[:3], z[3:])))
    eps = 1e-6
    fd = np.stack([(np.asarray(g(flat + eps * e)) - np.asarray(g(flat - eps * e))) / (2 * eps)
                   for e in np.eye(6)], 1)
    np.testing.assert_allclose(H, fd, atol=1e-7)
    np.testing.assert_allclose(L.hessian_spectrum(_quartic, p), np.linalg.eigvalsh(fd), atol=1e-6)


def test_power_iteration_against_eigvalsh(x64):
    rng = np.random.default_rng(6)
    A = rng.standard_normal((8, 8))
    A = A @ A.T + np.diag(np.r_[np.zeros(7), 30.0])
    q = lambda w: 0.5 * w @ jnp.asarray(A) @ w  # noqa: E731
    w0 = jnp.asarray(rng.standard_normal(8))
    v = jnp.asarray(rng.standard_normal(8))
    # the HVP power iteration runs on (the same forward-over-reverse as second_order.hvp)
    np.testing.assert_allclose(second_order.hvp(q, w0, v), A @ np.asarray(v), atol=1e-12)
    np.testing.assert_allclose(L.sharpness._hvp_impl(q, w0, v), A @ np.asarray(v), atol=1e-12)
    lam, u = L.top_eigenvalue(q, w0, key=jax.random.key(0), num_steps=300)
    evals, evecs = np.linalg.eigh(A)
    assert float(lam) == pytest.approx(evals[-1], rel=1e-10)
    assert abs(float(u @ evecs[:, -1])) == pytest.approx(1.0, abs=1e-8)
    # MLP: power iteration agrees with the dense spectrum
    x = jnp.asarray(rng.standard_normal((10, 2)))
    params = L.mlp_init([2, 5, 1], key=jax.random.key(1))
    mse = lambda p: 0.5 * jnp.mean((L.mlp_batch_apply(p, x)[:, 0] - x[:, 0]) ** 2)  # noqa: E731
    ev = np.asarray(L.hessian_spectrum(mse, params))
    lam, _ = L.top_eigenvalue(mse, params, key=jax.random.key(2), num_steps=500)
    assert float(lam) == pytest.approx(ev[-1], rel=1e-6)
    assert ev.shape == (2 * 5 + 5 + 5 + 1,)


def test_gd_with_sharpness_quadratic_stability_threshold(x64):
    """On a quadratic the sharpness is constant and GD diverges iff η > 2/λ_max."""
    A = jnp.diag(jnp.array([4.0, 1.0, 0.5]))
    q = lambda w: 0.5 * w @ A @ w  # noqa: E731
    w0 = jnp.ones(3)
    kw = dict(num_steps=200, key=jax.random.key(0), record_every=20, power_num_steps=30)
    stable = L.gd_with_sharpness(q, w0, learning_rate=0.45, **kw)
    unstable = L.gd_with_sharpness(q, w0, learning_rate=0.55, **kw)
    np.testing.assert_allclose(stable.sharpness[1:], 4.0, rtol=1e-8)
    assert float(stable.losses[-1]) < 1e-10 < float(unstable.losses[-1])
    assert float(unstable.losses[-1]) > float(unstable.losses[0])
    assert stable.losses.shape == (200,) and stable.steps.shape == (10,)
    # vmap over step sizes
    out = jax.vmap(lambda e: L.gd_with_sharpness(q, w0, learning_rate=e, num_steps=100, key=jax.random.key(0),
                                                 record_every=10).losses[-1])(
        jnp.array([0.1, 0.45, 0.55]))
    assert float(out[0]) < 1e-3 and float(out[1]) < 1e-3 and float(out[2]) > 1.0


def test_hessian_errors():
    with pytest.raises(TypeError, match="loss_fn must be callable"):
        L.hessian_matrix(3.0, jnp.ones(2))
    with pytest.raises(ValueError, match="params contains"):
        L.top_eigenvalue(lambda w: jnp.sum(w ** 2), jnp.array([1.0, jnp.nan]), key=jax.random.key(0))
    with pytest.raises(ValueError, match="multiple of record_every"):
        L.gd_with_sharpness(lambda w: jnp.sum(w ** 2), jnp.ones(2), learning_rate=0.1, num_steps=10,
                            key=jax.random.key(0), record_every=3)
    with pytest.raises(ValueError, match="sizes needs at least"):
        L.mlp_init([3], key=jax.random.key(0))


# --------------------------------------------------------------------------- attention

def attention_problem(seed=4, n=6, T=4, d=6):
    g = np.random.default_rng(seed)
    X = jnp.asarray(g.standard_normal((n, T, d)))
    y = jnp.asarray(g.choice([-1, 1], n))
    v = jnp.asarray(np.eye(d)[0])
    return X, y, v


def test_attention_output_against_loop_and_scores(x64):
    X, y, v = attention_problem()
    p = jnp.asarray(np.random.default_rng(0).standard_normal(6))
    f = np.asarray(L.attention_output(p, X, v))
    for i in range(6):
        s = np.exp(np.asarray(X[i] @ p))
        s /= s.sum()
        assert f[i] == pytest.approx(float(np.asarray(v) @ (np.asarray(X[i]).T @ s)), rel=1e-12)
    gam = np.asarray(L.token_scores(X, y, v))
    np.testing.assert_allclose(gam, np.asarray(y)[:, None] * np.asarray(X)[:, :, 0])
    np.testing.assert_array_equal(L.optimal_tokens(X, y, v), gam.argmax(1))


def test_attention_svm_against_scipy_slsqp(x64):
    X, y, v = attention_problem()
    opt = np.asarray(L.optimal_tokens(X, y, v))
    p_mm = L.attention_svm(X, opt)
    Xn = np.asarray(X)
    D = np.stack([Xn[i, opt[i]] - Xn[i, t] for i in range(6) for t in range(4) if t != opt[i]])
    res = minimize(lambda p: p @ p, np.zeros(6), jac=lambda p: 2 * p, method="SLSQP",
                   constraints=[dict(type="ineq", fun=lambda p: D @ p - 1, jac=lambda p: D)],
                   options=dict(ftol=1e-14, maxiter=500))
    assert res.success
    np.testing.assert_allclose(p_mm, res.x, atol=1e-6)
    assert np.min(D @ p_mm) == pytest.approx(1.0, abs=1e-7)


def test_attention_gd_converges_in_direction_to_svm(x64):
    X, y, v = attention_problem()
    opt = np.asarray(L.optimal_tokens(X, y, v))
    p_mm = L.attention_svm(X, opt)
    out = L.attention_gd(X, y, v, jnp.zeros(6), learning_rate=5.0, num_steps=4000, record_every=100)
    P = np.asarray(out.iterates)
    cos = P @ p_mm / (np.linalg.norm(P, axis=1) * np.linalg.norm(p_mm))
    assert cos[-1] > 0.99 and cos[-1] > cos[9]
    assert np.all(np.diff(np.linalg.norm(P, axis=1)) > 0)
    np.testing.assert_array_equal(np.asarray(jnp.argmax(X @ out.params, axis=1)), opt)
    assert float(out.losses[-1]) < float(out.losses[0])
    # normalised steps move by exactly the step size
    outn = L.attention_gd(X, y, v, jnp.zeros(6), learning_rate=0.01, num_steps=10, normalized=True,
                          record_every=1)
    np.testing.assert_allclose(np.linalg.norm(np.diff(np.asarray(outn.iterates), axis=0), axis=1), 0.01,
                               rtol=1e-10)


def test_attention_errors():
    X, y, v = attention_problem()
    with pytest.raises(ValueError, match="X must be a 3-D array"):
        L.token_scores(X[0], y, v)
    with pytest.raises(ValueError, match="y must contain only -1 and \\+1"):
        L.token_scores(X, jnp.zeros(6), v)
    with pytest.raises(ValueError, match="opt must lie in"):
        L.attention_svm(X, np.full(6, 9))
    with pytest.raises(ValueError, match="infeasible"):
        # two identical sequences asking for different tokens: no separating p
        Xb = jnp.stack([X[0], X[0]])
        L.attention_svm(Xb, np.array([0, 1]))
    with pytest.raises(ValueError, match="p0 must have shape"):
        L.attention_gd(X, y, v, jnp.zeros(5), learning_rate=0.1, num_steps=10)


# --------------------------------------------------------------------------- figures

def test_viz_figures_build_and_validate():
    rng = np.random.default_rng(0)
    means = rng.standard_normal((3, 4, 5))  # (C, K, d)
    Ws = rng.standard_normal((3, 4, 5))
    fig = viz_land.collapse_3d(means, Ws, [10, 20, 30], title="t")
    assert len(fig.layout.sliders[0].steps) == 3
    assert sum(tr.visible is not False for tr in fig.data) == 1 + 3  # origin + active group
    fig2 = viz_land.hessian_histogram_slider(rng.standard_normal((2, 50)), [0, 100], "step = ")
    assert len(fig2.data) == 2 and fig2.layout.yaxis.type == "log"
    fig3 = viz_land.sharpness_slider(np.arange(5), rng.random((2, 5)), rng.random((2, 50)), [0.5, 0.25],
                                     reference=(rng.random(5), rng.random(50)))
    assert len(fig3.data) == 2 + 3 * 2
    assert len(fig.to_json()) + len(fig2.to_json()) + len(fig3.to_json()) < 1_000_000
    with pytest.raises(ValueError, match="means and classifiers must both be"):
        viz_land.collapse_3d(means, Ws[:, :, :3], [1, 2, 3])
    with pytest.raises(ValueError, match="eigenvalues must have shape"):
        viz_land.hessian_histogram_slider(rng.standard_normal((2, 50)), [0], "s")
    with pytest.raises(ValueError, match="sharpness must be"):
        viz_land.sharpness_slider(np.arange(4), rng.random((2, 5)), rng.random((2, 50)), [0.5, 0.25])


# --------------------------------------------------------------------------- float32, compilation

def test_float32_nc_metrics_and_class_means():
    M, labels = etf_config()
    assert M.dtype == jnp.float32
    H = M[labels]
    m = L.nc_metrics(H, M, labels, 4)
    assert max(float(v) for v in m) < 1e-6            # measured 1.3e-7 (exact collapse)
    rng = np.random.default_rng(2)
    Hr = rng.standard_normal((18, 5)).astype(np.float32)
    lab = np.repeat(np.arange(3), 6)
    mu_G, Mr = L.class_means(Hr, lab, 3)
    ref = np.stack([Hr[lab == k].astype(np.float64).mean(0) for k in range(3)])
    np.testing.assert_allclose(Mr, ref, rtol=1e-6, atol=1e-6 * np.abs(Hr).max())


def test_float32_sensing_gd_against_numpy_loop():
    n, k = 6, 3
    M = np.asarray(L.low_rank_psd(n, [1.0, 0.5], key=jax.random.key(0)), np.float64)
    X0 = 0.1 * np.random.default_rng(0).standard_normal((n, k))
    out = L.sensing_gd(X0.astype(np.float32), M.astype(np.float32), learning_rate=0.2, num_steps=50)
    assert out.params.dtype == jnp.float32
    X, errs = X0.astype(np.float32).astype(np.float64), []
    Mf = M.astype(np.float32).astype(np.float64)
    for _ in range(50):
        errs.append(np.linalg.norm(X @ X.T - Mf))
        X = X - 0.2 * (X @ X.T - Mf) @ X
    errs.append(np.linalg.norm(X @ X.T - Mf))
    # measured: 3.3e-6 relative (errors), 2.3e-7 relative to max|X| (iterate)
    np.testing.assert_allclose(out.errors, errs, rtol=1e-5)
    np.testing.assert_allclose(out.params, X, atol=2e-6 * np.abs(X).max())


def test_solvers_compile_once_per_shape():
    q = lambda w: jnp.sum(w ** 4) / 4 + jnp.sum(w ** 2)  # noqa: E731
    t = time.perf_counter()
    L.hessian_matrix(q, jnp.ones(5)).block_until_ready()
    cold = time.perf_counter() - t
    n = L.sharpness._hessian._cache_size()
    t = time.perf_counter()
    L.hessian_matrix(q, jnp.arange(5.0)).block_until_ready()
    warm = time.perf_counter() - t
    assert L.sharpness._hessian._cache_size() == n
    print(f"hessian_matrix cold {cold:.3f} s, warm {warm:.4f} s")
    k0 = jax.random.key(0)
    for call, jitted in (
        (lambda x: L.top_eigenvalue(q, x, key=k0, num_steps=7)[0], L.sharpness._top_eigenvalue),
        (lambda x: L.gd_with_sharpness(q, x, learning_rate=0.1, num_steps=20, key=k0).losses, L.sharpness._gd_with_sharpness),
        (lambda x: L.sensing_gd(x[:, None], jnp.eye(5), learning_rate=0.1, num_steps=9).errors, L.matrix_sensing._sensing_gd),
    ):
        call(jnp.ones(5))
        n = jitted._cache_size()
        call(jnp.linspace(0.1, 1.0, 5))
        assert jitted._cache_size() == n
    labels = jnp.repeat(jnp.arange(3), 4)
    L.train_ufm(labels, 3, 4, key=jax.random.key(0), num_steps=20, record_every=10)
    n = L.neural_collapse._train_ufm._cache_size()
    L.train_ufm(labels[::-1], 3, 4, key=jax.random.key(1), num_steps=20, record_every=10, lam_W=1e-2)
    assert L.neural_collapse._train_ufm._cache_size() == n
