"""optlab.sampling.diffusion against independent references: scipy log-densities (finite
differences) for the noised-mixture score, closed-form Ornstein–Uhlenbeck marginals, and the
exactly solvable Gaussian case for the samplers."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special
import scipy.stats

from optlab import runner
from optlab import sampling as sp
from optlab.sampling import diffusion

W = np.array([0.2, 0.5, 0.3])
MU = np.array([[-1.0, 0.5], [1.5, -0.5], [0.0, 2.0]])
SIG = np.array([[[0.3, 0.1], [0.1, 0.2]], [[0.5, -0.2], [-0.2, 0.4]], [[0.1, 0.0], [0.0, 0.6]]])
MIX = tuple(jnp.asarray(a, jnp.float32) for a in (W, MU, SIG))


def _log_density(x, t):
    """log p_t(x) of the noised mixture, with scipy, in float64."""
    a, s2 = np.exp(-t), 1.0 - np.exp(-2.0 * t)
    logs = [
        np.log(w) + scipy.stats.multivariate_normal(a * m, a * a * S + s2 * np.eye(2)).logpdf(x)
        for w, m, S in zip(W, MU, SIG, strict=True)
    ]
    return scipy.special.logsumexp(np.stack(logs), axis=0)


@pytest.mark.parametrize("t", [0.02, 0.3, 1.0, 3.0])
def test_mixture_score_matches_finite_differences_of_the_scipy_log_density(t):
    x = np.random.default_rng(0).normal(scale=1.5, size=(25, 2))
    h = 1e-5
    fd = np.stack([(_log_density(x + h * e, t) - _log_density(x - h * e, t)) / (2 * h) for e in np.eye(2)], 1)
    got = np.asarray(sp.gaussian_mixture_score(MIX, jnp.asarray(x, jnp.float32), t), float)
    assert got.dtype == np.float64 and np.all(np.isfinite(got))
    np.testing.assert_allclose(got, fd, rtol=2e-4, atol=2e-4 * np.abs(fd).max())


def test_mixture_score_per_row_times_equal_one_time_each():
    x = jnp.asarray(np.random.default_rng(1).normal(size=(6, 2)), jnp.float32)
    ts = jnp.asarray([0.01, 0.1, 0.5, 1.0, 2.0, 4.0], jnp.float32)
    rows = sp.gaussian_mixture_score(MIX, x, ts)
    for i in range(6):
        one = sp.gaussian_mixture_score(MIX, x[i : i + 1], float(ts[i]))
        np.testing.assert_allclose(np.asarray(rows[i]), np.asarray(one[0]), rtol=1e-5, atol=1e-6)


def test_mixture_score_is_float32_stable_far_in_the_tails():
    x = jnp.asarray([[40.0, -30.0], [0.0, 60.0]], jnp.float32)  # densities underflow, the score does not
    got = sp.gaussian_mixture_score(MIX, x, 1e-3)
    assert got.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(got)))


def test_ou_noising_has_the_closed_form_marginal():
    m, S, t, n = np.array([1.0, -2.0]), np.array([[0.5, 0.2], [0.2, 0.3]]), 0.7, 200_000
    x0 = np.random.default_rng(2).multivariate_normal(m, S, size=n).astype(np.float32)
    xt = np.asarray(sp.ou_noising(x0, t, key=jax.random.key(0)), float)
    mean_t = np.exp(-t) * m
    cov_t = np.exp(-2 * t) * S + (1 - np.exp(-2 * t)) * np.eye(2)
    se = np.sqrt(np.diag(cov_t) / n)
    assert np.all(np.abs(xt.mean(0) - mean_t) < 5 * se)
    np.testing.assert_allclose(np.cov(xt.T), cov_t, atol=5 * np.sqrt(2 / n) * cov_t.max())


def _gaussian_case(dtype):
    m, S = np.array([1.5, -1.0]), np.array([[0.4, 0.15], [0.15, 0.2]])
    params = (jnp.ones(1, dtype), jnp.asarray(m[None], dtype), jnp.asarray(S[None], dtype))
    return m, S, params


def _pf_moments(params, m, S, num_steps, method, t_max=3.0, t_min=1e-3):
    """The ODE's map is affine on a Gaussian target: push the mean and the columns of a square root of
    the covariance of p_{t_max} through it, exactly."""
    a, s2 = np.exp(-t_max), 1 - np.exp(-2 * t_max)
    mT, LT = a * m, np.linalg.cholesky(a * a * S + s2 * np.eye(2))
    dtype = params[0].dtype
    x = jnp.asarray(np.vstack([mT, mT + LT.T]), dtype)  # rows: m_T, m_T + L e_1, m_T + L e_2
    y = np.asarray(
        sp.probability_flow(
            sp.gaussian_mixture_score, params, x, num_steps=num_steps, t_max=t_max, t_min=t_min, method=method
        ).params,
        float,
    )
    A = (y[1:] - y[0]).T
    b, r2 = np.exp(-t_min), 1 - np.exp(-2 * t_min)
    return np.linalg.norm(y[0] - b * m), np.linalg.norm(A @ A.T - (b * b * S + r2 * np.eye(2)))


def test_probability_flow_on_a_gaussian_converges_at_the_order_of_the_method(x64):
    m, S, params = _gaussian_case(jnp.float64)
    for method, order in (("euler", 1), ("heun", 2)):
        errs = np.array([sum(_pf_moments(params, m, S, k, method)) for k in (32, 64, 128, 256)])
        ratios = errs[:-1] / errs[1:]
        assert np.all(errs[1:] < errs[:-1])
        # halving the step divides the error by 2^order (measured: Euler 2.00, Heun 4.02–4.07)
        assert np.all(np.abs(np.log2(ratios) - order) < 0.3), (method, ratios)


def test_probability_flow_in_float32_reaches_the_target_moments():
    m, S, params = _gaussian_case(jnp.float32)
    mean_err, cov_err = _pf_moments(params, m, S, 128, "heun")
    assert mean_err < 2e-3 and cov_err < 2e-3


def test_reverse_sde_on_a_gaussian_reaches_the_target_and_improves_with_steps():
    m, S, params = _gaussian_case(jnp.float32)
    n = 20_000
    x_T = jax.random.normal(jax.random.key(1), (n, 2), jnp.float32)  # N(0, I): p_3 up to e^{-3}
    errs = {}
    for k in (8, 200):
        y = np.asarray(
            sp.reverse_sde(sp.gaussian_mixture_score, params, x_T, num_steps=k, key=jax.random.key(2)).params
        )
        errs[k] = (np.linalg.norm(y.mean(0) - m), np.abs(np.cov(y.T) - S).max())
    se_mean, se_cov = np.sqrt(np.trace(S) / n), np.sqrt(2 / n) * 0.4
    # K = 200: within the sampling error, plus the start's bias (p_3 has mean e^{-3} m, not 0)
    assert errs[200][0] < np.exp(-3) * np.linalg.norm(m) + 5 * se_mean
    assert errs[200][1] < 5 * se_cov + 0.01
    assert errs[8][1] > 3 * errs[200][1]  # eight Euler–Maruyama steps distort the covariance


def test_dsm_loss_is_minimised_by_the_exact_score_and_its_excess_is_the_explicit_loss():
    rng = np.random.default_rng(3)
    c = rng.choice(3, 8192, p=W)
    x0 = jnp.asarray(
        MU[c] + np.einsum("nij,nj->ni", np.linalg.cholesky(SIG)[c], rng.normal(size=(8192, 2))), jnp.float32
    )
    key = jax.random.key(4)

    def scaled(params, x, t):
        return params[0] * sp.gaussian_mixture_score(params[1:], x, t)

    exact = float(sp.dsm_loss(sp.gaussian_mixture_score, MIX, x0, key=key))
    for d in (-0.2, -0.05, 0.05, 0.2):
        j = float(sp.dsm_loss(scaled, (jnp.float32(1 + d),) + MIX, x0, key=key))
        assert j > exact
    # "constant" weighting, too
    exact_c = float(sp.dsm_loss(sp.gaussian_mixture_score, MIX, x0, key=key, weighting="constant"))
    scaled_c = float(sp.dsm_loss(scaled, (jnp.float32(1.1),) + MIX, x0, key=key, weighting="constant"))
    assert scaled_c > exact_c


def test_fourier_score_model_trained_by_run_loss_approaches_the_exact_loss():
    rng = np.random.default_rng(5)
    c = rng.choice(3, 4096, p=W)
    x0 = jnp.asarray(
        MU[c] + np.einsum("nij,nj->ni", np.linalg.cholesky(SIG)[c], rng.normal(size=(4096, 2))), jnp.float32
    )
    theta0 = sp.fourier_score_init(key=jax.random.key(6), dim=2, num_features=64, scale=1.5)

    def loss_of(x, key, theta):
        return sp.dsm_loss(sp.fourier_score_model, theta, x, key=key)

    trace = runner.run_loss(
        optax.adam(optax.cosine_decay_schedule(2e-2, 300)),
        jax.tree_util.Partial(loss_of, x0, jax.random.key(7)),
        theta0,
        num_steps=300,
    )
    k_eval = jax.random.key(8)
    exact = float(sp.dsm_loss(sp.gaussian_mixture_score, MIX, x0, key=k_eval))
    start = float(sp.dsm_loss(sp.fourier_score_model, theta0, x0, key=k_eval))
    end = float(sp.dsm_loss(sp.fourier_score_model, trace.params, x0, key=k_eval))
    assert exact < end < start
    assert (end - exact) < 0.1 * (start - exact)


def test_samplers_and_loss_do_not_retrace_on_new_data_of_the_same_shape():
    x = jax.random.normal(jax.random.key(9), (50, 2), jnp.float32)
    sp.reverse_sde(sp.gaussian_mixture_score, MIX, x, num_steps=5, key=jax.random.key(0))
    sp.probability_flow(sp.gaussian_mixture_score, MIX, x, num_steps=5)
    sp.dsm_loss(sp.gaussian_mixture_score, MIX, x, key=jax.random.key(0))
    sizes = [f._cache_size() for f in (diffusion._reverse_sde, diffusion._probability_flow, diffusion._dsm)]
    mix2 = (MIX[0], MIX[1] + 0.5, MIX[2] * 1.2)
    sp.reverse_sde(sp.gaussian_mixture_score, mix2, x + 1.0, num_steps=5, key=jax.random.key(1), t_max=2.0)
    sp.probability_flow(sp.gaussian_mixture_score, mix2, x - 1.0, num_steps=5, t_min=0.01)
    sp.dsm_loss(sp.gaussian_mixture_score, mix2, x * 2.0, key=jax.random.key(1), t_max=1.0)
    assert [
        f._cache_size() for f in (diffusion._reverse_sde, diffusion._probability_flow, diffusion._dsm)
    ] == sizes


def test_padded_grid_steps_of_length_zero_do_nothing():
    x = jax.random.normal(jax.random.key(10), (30, 2), jnp.float32)
    short = sp.probability_flow(sp.gaussian_mixture_score, MIX, x, num_steps=4)
    grid = np.concatenate([np.geomspace(3.0, 1e-3, 5), np.full(6, 1e-3)])
    padded = sp.probability_flow(sp.gaussian_mixture_score, MIX, x, num_steps=10, times=grid)
    np.testing.assert_allclose(np.asarray(padded.params), np.asarray(short.params), rtol=1e-5, atol=1e-5)
    sde_short = sp.reverse_sde(sp.gaussian_mixture_score, MIX, x, num_steps=4, key=jax.random.key(0))
    sde_pad = sp.reverse_sde(
        sp.gaussian_mixture_score, MIX, x, num_steps=10, times=grid, key=jax.random.key(0)
    )
    np.testing.assert_allclose(np.asarray(sde_pad.params), np.asarray(sde_short.params), rtol=1e-5, atol=1e-5)
    out = sp.reverse_sde(
        sp.gaussian_mixture_score, MIX, x, num_steps=4, key=jax.random.key(0), return_iterates=True
    )
    assert out.iterates.shape == (5, 30, 2) and out.times.shape == (5,)


def test_errors_name_the_argument():
    x = jnp.zeros((4, 2))
    with pytest.raises(ValueError, match="weights"):
        sp.gaussian_mixture_score((jnp.array([0.5, 0.6, -0.1]),) + MIX[1:], x, 0.5)
    with pytest.raises(ValueError, match="covariances"):
        sp.gaussian_mixture_score(MIX[:2] + (-MIX[2],), x, 0.5)
    with pytest.raises(ValueError, match="t_min"):
        sp.dsm_loss(sp.gaussian_mixture_score, MIX, x, key=jax.random.key(0), t_min=2.0, t_max=1.0)
    with pytest.raises(ValueError, match="method"):
        sp.probability_flow(sp.gaussian_mixture_score, MIX, x, num_steps=3, method="rk4")
    with pytest.raises(ValueError, match="times"):
        sp.reverse_sde(
            sp.gaussian_mixture_score, MIX, x, num_steps=3, key=jax.random.key(0), times=[1.0, 2.0, 0.5, 0.1]
        )
