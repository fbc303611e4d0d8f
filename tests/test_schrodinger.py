"""optlab.sampling.schrodinger against independent references: the 1-D entropic OT stationarity
condition and a dense Sinkhorn plan (numpy) for the Gaussian cross-covariance, scipy densities for
the Light SB objective, automatic differentiation of the defining integral for the drift, and the
Gaussian closed form for the trained bridge."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special
import scipy.stats

from optlab import runner
from optlab import sampling as sp
from optlab.sampling import schrodinger

F32 = jnp.float32
PARAMS = {
    "log_alpha": jnp.asarray([-0.5, 0.2, 0.0], F32),
    "r": jnp.asarray([[1.0, -0.5], [-1.0, 1.0], [0.3, 2.0]], F32),
    "log_s": jnp.asarray([[0.2, -0.3], [-0.5, 0.1], [0.0, 0.4]], F32),
}
EPS = 0.4


def test_brownian_bridge_has_the_closed_form_moments():
    n = 20000
    x0 = jnp.tile(jnp.asarray([[1.0, -2.0]], F32), (n, 1))
    x1 = jnp.tile(jnp.asarray([[3.0, 0.0]], F32), (n, 1))
    t, eps = 0.3, 0.5
    xt = np.asarray(sp.brownian_bridge(x0, x1, t, eps, key=jax.random.key(0)), float)
    assert xt.dtype == np.float64 or xt.dtype == np.float32
    var = eps * t * (1 - t)
    np.testing.assert_allclose(xt.mean(0), [1.6, -1.4], atol=4 * np.sqrt(var / n))
    np.testing.assert_allclose(xt.var(0), [var, var], rtol=4 * np.sqrt(2 / n))
    ends = [np.asarray(sp.brownian_bridge(x0[:5], x1[:5], s, eps, key=jax.random.key(1))) for s in (0.0, 1.0)]
    np.testing.assert_allclose(ends[0], np.asarray(x0[:5]), atol=1e-6)
    np.testing.assert_allclose(ends[1], np.asarray(x1[:5]), atol=1e-6)


@pytest.mark.parametrize("eps", [0.05, 0.5, 3.0])
def test_gaussian_cross_covariance_solves_the_1d_stationarity_condition(eps):
    a, b = 1.7, 0.4
    c = float(sp.gaussian_sb_cross_covariance(jnp.asarray([[a]], F32), jnp.asarray([[b]], F32), eps)[0, 0])
    assert abs(a * b - c * c - eps * c) < 1e-5 * max(1.0, a * b)  # ab − C² = εC
    assert 0 < c < np.sqrt(a * b)


def test_gaussian_cross_covariance_matches_a_dense_sinkhorn_plan_on_a_grid(x64):
    # 1-D Gaussians discretised on a fine grid; Sinkhorn (numpy, scaling form) with cost ½(x−y)²
    a_var, b_var, eps = 1.0, 0.5, 0.3
    grid = np.linspace(-7, 7, 601)
    pa = scipy.stats.norm(0, np.sqrt(a_var)).pdf(grid)
    pb = scipy.stats.norm(0, np.sqrt(b_var)).pdf(grid)
    pa, pb = pa / pa.sum(), pb / pb.sum()
    K = np.exp(-0.5 * (grid[:, None] - grid[None]) ** 2 / eps)
    u, v = np.ones_like(pa), np.ones_like(pb)
    for _ in range(3000):
        u = pa / (K @ v)
        v = pb / (K.T @ u)
    P = u[:, None] * K * v[None]
    c_dense = grid @ P @ grid
    c = float(sp.gaussian_sb_cross_covariance(jnp.asarray([[a_var]]), jnp.asarray([[b_var]]), eps)[0, 0])
    assert abs(c - c_dense) < 1e-4


def test_gaussian_cross_covariance_tends_to_the_ot_map_and_to_zero():
    A = jnp.asarray([[1.0, 0.4], [0.4, 0.5]], F32)
    B = jnp.asarray([[0.6, -0.3], [-0.3, 1.2]], F32)
    An, Bn = np.asarray(A, float), np.asarray(B, float)
    w, U = np.linalg.eigh(An)
    ah = U @ np.diag(np.sqrt(w)) @ U.T
    mid = np.linalg.eigh(ah @ Bn @ ah)
    c_ot = ah @ (mid[1] @ np.diag(np.sqrt(mid[0])) @ mid[1].T) @ np.linalg.inv(ah)  # A^{1/2}(A^{1/2}BA^{1/2})^{1/2}A^{-1/2}
    np.testing.assert_allclose(np.asarray(sp.gaussian_sb_cross_covariance(A, B, 1e-4)), c_ot, atol=1e-3)
    assert np.abs(np.asarray(sp.gaussian_sb_cross_covariance(A, B, 1e4))).max() < 1e-3


def _np_params():
    return {k: np.asarray(v, float) for k, v in PARAMS.items()}


def test_light_sb_loss_matches_scipy_densities():
    p = _np_params()
    rng = np.random.default_rng(0)
    x0, x1 = rng.normal(size=(30, 2)), rng.normal(size=(40, 2)) + 1.0
    s = np.exp(p["log_s"])
    log_c = scipy.special.logsumexp(
        p["log_alpha"][None] + ((x0**2) @ s.T + 2 * x0 @ p["r"].T) / (2 * EPS), axis=1
    )
    log_v = scipy.special.logsumexp(
        np.stack([a + scipy.stats.multivariate_normal(r, EPS * np.diag(si)).logpdf(x1)
                  for a, r, si in zip(p["log_alpha"], p["r"], s, strict=True)]), axis=0)
    want = log_c.mean() - log_v.mean()
    got = float(sp.light_sb_loss(PARAMS, jnp.asarray(x0, F32), jnp.asarray(x1, F32), EPS))
    assert abs(got - want) < 1e-5 * max(1.0, abs(want))


def _conditional(p, x0):
    s = np.exp(p["log_s"])
    logw = p["log_alpha"] + (s @ (x0**2) + 2 * p["r"] @ x0) / (2 * EPS)
    w = np.exp(logw - scipy.special.logsumexp(logw))
    means = p["r"] + s * x0
    mean = w @ means
    cov = sum(wk * (np.diag(EPS * sk) + np.outer(mk - mean, mk - mean)) for wk, sk, mk in zip(w, s, means, strict=True))
    return mean, cov


def test_light_sb_sample_and_sde_reproduce_the_conditional_mixture():
    p = _np_params()
    x0_pt = np.array([0.5, -0.3])
    mean, cov = _conditional(p, x0_pt)
    n = 4000
    x0 = jnp.tile(jnp.asarray(x0_pt[None], F32), (n, 1))
    exact = np.asarray(sp.light_sb_sample(PARAMS, x0, EPS, key=jax.random.key(0)), float)
    sde = np.asarray(sp.light_sb_sde(PARAMS, x0, EPS, num_steps=200, key=jax.random.key(1)).params, float)
    se = np.sqrt(np.diag(cov) / n)
    for got in (exact, sde):
        np.testing.assert_array_less(np.abs(got.mean(0) - mean), 5 * se)
        np.testing.assert_allclose(np.cov(got.T), cov, atol=8 * np.sqrt(2 / n) * np.abs(cov).max())


@pytest.mark.parametrize("t", [0.1, 0.5, 0.95])
def test_light_sb_drift_is_eps_grad_log_of_the_defining_integral(t):
    # h(x, t) = ∫ N(x'|x, ε(1−t)I) e^{‖x'‖²/2ε} v(x') dx' by Gauss–Hermite quadrature on a 2-D grid (numpy)
    p = _np_params()
    s = np.exp(p["log_s"])
    nodes, weights = np.polynomial.hermite_e.hermegauss(80)

    def log_h(x):
        sd = np.sqrt(EPS * (1 - t))
        xs = x[:, None] + sd * nodes[None]  # per coordinate
        vals = 0.0
        for a, r, si in zip(p["log_alpha"], p["r"], s, strict=True):
            comp = np.exp(a)
            for j in range(2):
                f = np.exp(xs[j] ** 2 / (2 * EPS)) * scipy.stats.norm(r[j], np.sqrt(EPS * si[j])).pdf(xs[j])
                comp = comp * (weights @ f) / np.sqrt(2 * np.pi)
            vals = vals + comp
        return np.log(vals)

    x = np.random.default_rng(1).normal(scale=0.7, size=(6, 2))
    h = 1e-5
    fd = np.stack([[(log_h(xi + h * e) - log_h(xi - h * e)) / (2 * h) for e in np.eye(2)] for xi in x])
    got = np.asarray(sp.light_sb_drift(PARAMS, jnp.asarray(x, F32), t, EPS), float)
    np.testing.assert_allclose(got, EPS * fd, rtol=1e-3, atol=1e-3 * np.abs(EPS * fd).max())


def test_light_sb_drift_at_time_zero_is_the_conditional_mean_minus_x():
    p = _np_params()
    x = np.random.default_rng(2).normal(size=(5, 2))
    want = np.stack([_conditional(p, xi)[0] - xi for xi in x])
    got = np.asarray(sp.light_sb_drift(PARAMS, jnp.asarray(x, F32), 0.0, EPS), float)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_light_sb_learns_the_gaussian_bridge():
    eps, n = 0.5, 2000
    a, b, m1 = np.array([1.0, 0.5]), np.array([0.3, 2.0]), np.array([2.0, -1.0])
    k0, k1, k2 = jax.random.split(jax.random.key(0), 3)
    x0 = jax.random.normal(k0, (n, 2), F32) * jnp.sqrt(jnp.asarray(a, F32))
    x1 = jnp.asarray(m1, F32) + jax.random.normal(k1, (n, 2), F32) * jnp.sqrt(jnp.asarray(b, F32))
    p0 = sp.light_sb_init(x1, num_components=1, key=k2)
    trace = runner.run_loss(optax.adam(0.05), lambda p: sp.light_sb_loss(p, x0, x1, eps), p0, num_steps=600)
    s_ref = (np.sqrt(4 * a * b + eps**2) - eps) / 2 / a
    np.testing.assert_allclose(np.exp(np.asarray(trace.params["log_s"][0])), s_ref, rtol=0.08)
    np.testing.assert_allclose(np.asarray(trace.params["r"][0]), m1, atol=0.1)
    assert float(trace.values[-1]) < float(trace.values[0])


def test_light_sb_init_picks_target_points_and_unit_scales():
    x1 = jnp.arange(20.0, dtype=F32).reshape(10, 2)
    p = sp.light_sb_init(x1, num_components=4, key=jax.random.key(0))
    assert p["r"].shape == (4, 2) and p["log_s"].shape == (4, 2) and p["log_alpha"].shape == (4,)
    rows = {tuple(r) for r in np.asarray(x1).tolist()}
    assert all(tuple(r) in rows for r in np.asarray(p["r"]).tolist())
    assert len({tuple(r) for r in np.asarray(p["r"]).tolist()}) == 4
    np.testing.assert_allclose(np.asarray(jax.nn.logsumexp(p["log_alpha"])), 0.0, atol=1e-6)


def test_functions_do_not_retrace_on_new_data_of_the_same_shape():
    fns = (schrodinger._loss, schrodinger._sample, schrodinger._drift, schrodinger._sde, schrodinger._bridge)

    def run(seed):
        x = jax.random.normal(jax.random.key(seed), (16, 2), F32)
        sp.light_sb_loss(PARAMS, x, x + 1, EPS)
        sp.light_sb_sample(PARAMS, x, EPS, key=jax.random.key(seed))
        sp.light_sb_drift(PARAMS, x, 0.3, EPS)
        sp.light_sb_sde(PARAMS, x, EPS, num_steps=4, key=jax.random.key(seed))
        sp.brownian_bridge(x, x + 1, 0.3, EPS, key=jax.random.key(seed))

    run(0)
    sizes = [f._cache_size() for f in fns]
    run(1)
    assert [f._cache_size() for f in fns] == sizes


def test_float32_in_float32_out():
    x = jnp.ones((3, 2), F32)
    assert sp.light_sb_drift(PARAMS, x, 0.5, EPS).dtype == F32
    assert sp.light_sb_sde(PARAMS, x, EPS, num_steps=2, key=jax.random.key(0)).params.dtype == F32
    assert sp.brownian_bridge(x, x, 0.5, EPS, key=jax.random.key(0)).dtype == F32


def test_errors_name_the_argument():
    x = jnp.ones((3, 2), F32)
    with pytest.raises(ValueError, match="t must lie in"):
        sp.light_sb_drift(PARAMS, x, 1.5, EPS)
    with pytest.raises(ValueError, match="eps"):
        sp.light_sb_sample(PARAMS, x, -1.0, key=jax.random.key(0))
    with pytest.raises(TypeError, match="params"):
        sp.light_sb_loss({"r": PARAMS["r"]}, x, x, EPS)
    with pytest.raises(ValueError, match="num_components"):
        sp.light_sb_init(x, num_components=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="cov0"):
        sp.gaussian_sb_cross_covariance(-jnp.eye(2), jnp.eye(2), EPS)
    with pytest.raises(ValueError, match="same shape"):
        sp.brownian_bridge(x, jnp.ones((4, 2)), 0.5, EPS, key=jax.random.key(0))
