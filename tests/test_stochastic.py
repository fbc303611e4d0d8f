"""Tests for optlab.stochastic against closed forms, optax and exact enumeration.

Identities checked to 1e-8 and beyond ask for float64 (the ``x64`` fixture, or ``_x64``
around a hypothesis test); the float32 section at the end repeats the main checks in the
readers' dtype with measured, relative tolerances.
"""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from optlab import first_order, problems, runner
from optlab import stochastic as st



SETTINGS = settings(max_examples=25, deadline=None)


def _x64(test):
    """Run a hypothesis test body with float64 on (a fixture cannot wrap each example)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        with jax.enable_x64(True):
            return test(*args, **kwargs)

    return wrapper


def _lsq(n=40, d=4, reg=0.05, seed=0, noise=0.3):
    return _lsq_cached(n, d, reg, seed, noise, bool(jax.config.jax_enable_x64))


@functools.lru_cache(maxsize=None)
def _lsq_cached(n, d, reg, seed, noise, x64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    b = A @ rng.standard_normal(d) + noise * rng.standard_normal(n)
    return problems.least_squares(jnp.asarray(A), jnp.asarray(b), reg=reg), A, b


def _logreg(n=60, d=3, reg=0.1, seed=1):
    return _logreg_cached(n, d, reg, seed, bool(jax.config.jax_enable_x64))


@functools.lru_cache(maxsize=None)
def _logreg_cached(n, d, reg, seed, x64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.where(X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n) > 0, 1.0, -1.0)
    return problems.logistic_regression(jnp.asarray(X), jnp.asarray(y), reg=reg)


def _gd_closed_form(A, b, reg, x0, eta, k):
    """x_k − x* = (I − ηH)^k (x_0 − x*) for GD on least squares, by dense linear algebra."""
    n, d = A.shape
    H = A.T @ A / n + reg * np.eye(d)
    x_star = np.linalg.solve(H, A.T @ b / n)
    return x_star + np.linalg.matrix_power(np.eye(d) - eta * H, k) @ (np.asarray(x0) - x_star)


KEY = jax.random.key(0)


# ----------------------------------------------------------------------------- sampling


@settings(max_examples=15, deadline=None)
@given(
    n_over_b=st_.integers(1, 12),
    b=st_.integers(1, 5),
    epochs=st_.integers(1, 4),
    seed=st_.integers(0, 2**31 - 1),
    scheme=st_.sampled_from(["reshuffle", "single_shuffle", "cyclic"]),
)
def test_shuffling_visits_every_index_once_per_epoch(n_over_b, b, epochs, seed, scheme):
    n = n_over_b * b
    idx = np.asarray(st.sample_indices(n, num_steps=epochs * n_over_b, key=jax.random.key(seed), batch_size=b, sampling=scheme))
    assert idx.shape == (epochs * n_over_b, b)
    per_epoch = idx.reshape(epochs, n)
    for e in range(epochs):
        np.testing.assert_array_equal(np.sort(per_epoch[e]), np.arange(n))
    if scheme == "cyclic":
        np.testing.assert_array_equal(per_epoch, np.tile(np.arange(n), (epochs, 1)))
    if scheme == "single_shuffle":
        assert (per_epoch == per_epoch[0]).all()


def test_reshuffling_draws_fresh_permutations():
    idx = np.asarray(st.sample_indices(50, num_steps=200, key=KEY, batch_size=1, sampling="reshuffle")).reshape(4, 50)
    assert len({tuple(row) for row in idx}) == 4


def test_replacement_sampling_is_uniform():
    idx = np.asarray(st.sample_indices(10, num_steps=20000, key=KEY, batch_size=1, sampling="replacement")).ravel()
    counts = np.bincount(idx, minlength=10)
    # binomial(20000, 0.1): sd = 42.4; 5 sd margin
    assert np.all(np.abs(counts - 2000) < 5 * 42.4)
    # with replacement, an epoch of n draws repeats indices with high probability
    assert len(set(idx[:10])) < 10 or len(set(idx[10:20])) < 10


# ----------------------------------------------------------------------------- clipping


# subnormal floats are excluded: XLA on CPU flushes them to zero in arithmetic
vectors = st_.lists(st_.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False), min_size=1, max_size=6)


@SETTINGS
@given(g=vectors, c=st_.floats(1e-3, 1e3))
@_x64
def test_clip_operator_properties(g, c):
    g = jnp.asarray(g)
    out = st.clip_by_norm(g, c)
    norm_g, norm_out = float(jnp.linalg.norm(g)), float(jnp.linalg.norm(out))
    assert norm_out <= c * (1 + 1e-12) + 1e-12
    if norm_g <= c:
        np.testing.assert_array_equal(out, g)  # identity below the threshold
    else:
        np.testing.assert_allclose(norm_out, c, rtol=1e-12)
        np.testing.assert_allclose(out * norm_g / c, g, rtol=1e-10, atol=1e-12)  # same direction


def test_clip_on_pytree_uses_global_norm():
    g = {"a": jnp.array([3.0, 0.0]), "b": jnp.array([4.0])}
    out = st.clip_by_norm(g, 1.0)
    np.testing.assert_allclose(out["a"], [0.6, 0.0])
    np.testing.assert_allclose(out["b"], [0.8])
    ref, _ = optax.clip_by_global_norm(1.0).update(g, optax.EmptyState())
    np.testing.assert_allclose(out["a"], ref["a"], rtol=1e-12)


def test_clipped_sgd_matches_optax_chain(x64):
    p = _logreg()
    eta, c = 0.5, 0.05
    x0 = jnp.full(p.dim, 2.0)
    ours = st.run_finite_sum(st.clipped_sgd(eta, c), p, x0, num_steps=300, key=KEY, batch_size=4)
    ref = st.run_finite_sum(
        optax.chain(optax.clip_by_global_norm(c), optax.sgd(eta)), p, x0, num_steps=300, key=KEY, batch_size=4
    )
    np.testing.assert_allclose(ours.iterates, ref.iterates, rtol=1e-10, atol=1e-12)
    # and the clipping was active at the start (so the test is not vacuous)
    assert float(ours.estimate_norms[0]) > c


def test_clipped_gd_deterministic_converges_to_minimiser():
    p = _logreg()
    tr = runner.run(st.clipped_sgd(1.0 / p.L, 0.1), p, jnp.full(p.dim, 3.0), num_steps=3000)
    np.testing.assert_allclose(tr.iterates[-1], p.x_star, atol=1e-8)


def test_clipped_sgd_bias_on_skewed_noise():
    # f = x²/2, ξ ∈ {+9 w.p. 0.1, −1 w.p. 0.9}: E[clip_1(x + ξ)] = 0.1 + 0.9 (x − 1) = 0 at x = 8/9.
    p = problems.quadratic(kappa=1.0, dim=1)
    noise = st.discrete_noise([9.0, -1.0], [0.1, 0.9])
    keys = jax.random.split(KEY, 16)
    tr = st.over_seeds(st.run_additive_noise, keys, st.clipped_sgd(0.05, 1.0), p, jnp.zeros(1), num_steps=4000, noise=noise, record_every=4)
    tail_mean = float(tr.iterates[:, 500:, 0].mean())
    assert abs(tail_mean - 8.0 / 9.0) < 0.03
    # without clipping the same oracle is unbiased and SGD hovers around 0
    tr0 = st.over_seeds(st.run_additive_noise, keys, first_order.gd(0.05), p, jnp.zeros(1), num_steps=4000, noise=noise, record_every=4)
    assert abs(float(tr0.iterates[:, 500:, 0].mean())) < 0.1


# ----------------------------------------------------------------------------- schedules


def test_linear_decay_matches_optax():
    ours, ref = st.linear_decay(0.7, num_steps=50), optax.linear_schedule(0.7, 0.0, 50)
    ks = jnp.arange(0, 60)
    np.testing.assert_allclose(jax.vmap(ours)(ks), jax.vmap(ref)(ks), rtol=1e-6, atol=1e-7)


def test_schedules_run_inside_gd_and_optax_sgd():
    p, _, _ = _lsq()
    sched = st.linear_decay(0.5, num_steps=200)
    a = st.run_finite_sum(first_order.gd(sched), p, p.x0, num_steps=200, key=KEY)
    b = st.run_finite_sum(optax.sgd(sched), p, p.x0, num_steps=200, key=KEY)
    np.testing.assert_allclose(a.iterates, b.iterates, rtol=1e-10, atol=1e-12)


def test_inverse_time_closed_form():
    s = st.inverse_time(0.4, 10.0)
    np.testing.assert_allclose(jax.vmap(s)(jnp.arange(5)), 0.4 / (1 + jnp.arange(5) / 10.0))


def test_refined_schedule_constant_norms_is_linear_decay():
    T = 40
    w = st.refined_weights(jnp.full(T, 3.0))
    np.testing.assert_allclose(w, (T - 1 - jnp.arange(T)) / (T - 1), atol=1e-12)


def test_refined_schedule_formula_and_warmup(x64):
    g = jnp.asarray(np.r_[np.linspace(10.0, 1.0, 20), np.ones(80)])
    w = np.asarray(st.refined_weights(g))
    sq = np.asarray(g) ** 2
    ref = np.array([sq[t + 1:].sum() / sq[t] for t in range(len(sq))])
    np.testing.assert_allclose(w, ref / ref.max(), rtol=1e-10)
    assert w[0] < 0.2 and w.argmax() > 0 and w[-1] == 0.0  # warm-up, then anneal to 0
    sched = st.refined_schedule(g, 0.3)
    assert float(sched(jnp.asarray(w.argmax()))) == pytest.approx(0.3)
    assert float(sched(jnp.asarray(10_000))) == 0.0


def test_refined_weights_smoothing_of_constant_is_noop():
    np.testing.assert_allclose(st.refined_weights(jnp.full(30, 2.0), smoothing=5),
                               st.refined_weights(jnp.full(30, 2.0)), atol=1e-12)


# ----------------------------------------------------------------------------- SGD runner


def test_run_finite_sum_full_batch_cyclic_is_gd_closed_form(x64):
    p, A, b = _lsq()
    eta = 0.3
    tr = st.run_finite_sum(first_order.gd(eta), p, p.x0, num_steps=25, key=KEY, batch_size=40, sampling="cyclic")
    np.testing.assert_allclose(tr.iterates[-1], _gd_closed_form(A, b, 0.05, p.x0, eta, 25), atol=1e-12)
    np.testing.assert_array_equal(tr.grad_evals, 40 * np.arange(26))


def test_run_finite_sum_matches_runner_oracle_statistics():
    # runner.run's minibatch SGD and ours sample differently but share the noise floor
    p, _, _ = _lsq()
    eta = 0.1
    keys = jax.random.split(KEY, 8)
    ours = st.over_seeds(st.run_finite_sum, keys, first_order.gd(eta), p, p.x0, num_steps=4000, record_every=4)
    ref = jax.vmap(lambda k: runner.run(first_order.gd(eta), p, p.x0, num_steps=4000, key=k, batch_size=1))(keys)
    a = float((ours.values[:, 250:] - p.f_star).mean())
    b = float((ref.values[:, 1000:] - p.f_star).mean())
    assert 0.7 < a / b < 1.4


def test_record_every_subsamples_the_same_run():
    p, _, _ = _lsq()
    full = st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=60, key=KEY)
    sub = st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=60, key=KEY, record_every=6)
    np.testing.assert_allclose(sub.iterates, full.iterates[::6], atol=1e-14)
    np.testing.assert_array_equal(sub.grad_evals, full.grad_evals[::6])


# ----------------------------------------------------------------------------- noise floor


def test_noise_floor_1d_closed_form(x64):
    # d = 1: Σ = η E[ζ²] / (2h − η E[h_i²]) (b = 1), gap = hΣ/2
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 1.5, 30)
    bb = rng.standard_normal(30)
    p = problems.least_squares(jnp.asarray(a[:, None]), jnp.asarray(bb))
    x_star = (a @ bb) / (a @ a)
    h_i, zeta = a**2, a * (a * x_star - bb)
    eta = 0.3
    sigma = eta * np.mean(zeta**2) / (2 * h_i.mean() - eta * np.mean(h_i**2))
    out = st.sgd_noise_floor(p, learning_rate=eta)
    np.testing.assert_allclose(out.exact, 0.5 * h_i.mean() * sigma, rtol=1e-10)
    np.testing.assert_allclose(out.first_order, eta * np.mean(zeta**2) / 4, rtol=1e-10)


def test_noise_floor_matches_monte_carlo_and_scales_with_step_and_batch():
    p, _, _ = _lsq(n=30, d=3)
    keys = jax.random.split(KEY, 32)
    etas = jnp.array([0.2, 0.1])
    for b in [1, 4]:
        run = lambda eta, k: st.run_finite_sum(first_order.gd(eta), p, p.x0, num_steps=4000,  # noqa: E731
                                               key=k, batch_size=b, record_every=10)
        tr = jax.jit(jax.vmap(lambda eta: jax.vmap(lambda k: run(eta, k))(keys)))(etas)
        for j, eta in enumerate([0.2, 0.1]):
            pred = st.sgd_noise_floor(p, learning_rate=eta, batch_size=b).exact
            mc = float((tr.values[j, :, 100:] - p.f_star).mean())
            assert abs(mc / pred - 1) < 0.15, (eta, b, mc, pred)
    r_step = st.sgd_noise_floor(p, learning_rate=0.2).exact / st.sgd_noise_floor(p, learning_rate=0.1).exact
    r_batch = st.sgd_noise_floor(p, learning_rate=0.2).exact / st.sgd_noise_floor(p, learning_rate=0.2, batch_size=4).exact
    assert 1.9 < r_step < 2.4 and 3.5 < r_batch < 4.5


def test_noise_floor_rejects_unstable_step_and_nonquadratic():
    p, _, _ = _lsq()
    with pytest.raises(ValueError, match="too large"):
        st.sgd_noise_floor(p, learning_rate=50.0)
    with pytest.raises(ValueError, match="quadratic"):
        st.sgd_noise_floor(_logreg(), learning_rate=0.1)


# ----------------------------------------------------------------------------- variance reduction


def test_svrg_estimator_exact_average_is_full_gradient(x64):
    p, _, _ = _lsq()
    x, snap = jnp.linspace(-1, 1, p.dim), jnp.ones(p.dim)
    mu = p.grad(snap)
    vs = jax.vmap(lambda i: st.svrg_estimator(p, x, snap, mu, jnp.array([i])))(jnp.arange(40))
    np.testing.assert_allclose(vs.mean(0), p.grad(x), atol=1e-12)


def test_svrg_estimator_unbiased_statistically():
    p = _logreg()
    x, snap = jnp.array([0.5, -1.0, 2.0]), jnp.zeros(3)
    mu = p.grad(snap)
    idx = jax.random.randint(KEY, (20000, 1), 0, 60)
    vs = np.asarray(jax.vmap(lambda i: st.svrg_estimator(p, x, snap, mu, i))(idx))
    se = vs.std(0, ddof=1) / np.sqrt(len(vs))
    assert np.all(np.abs(vs.mean(0) - np.asarray(p.grad(x))) < 5 * se + 1e-12)
    # and its variance vanishes as x → snapshot (the point of variance reduction)
    vs_near = np.asarray(jax.vmap(lambda i: st.svrg_estimator(p, snap + 1e-3, snap, mu, i))(idx[:500]))
    assert vs_near.var(0).sum() < 1e-4 * vs.var(0).sum()


@pytest.mark.parametrize("method", [st.svrg, st.sarah])
def test_vr_full_batch_inner_loop_is_gd(method, x64):
    # b = n with reshuffling: every inner batch is the whole data set, the estimator
    # telescopes to ∇f(x) and both methods are gradient descent.
    p, A, b = _lsq()
    eta, epochs, m = 0.4, 3, 5
    tr = method(p, p.x0, epochs, learning_rate=eta, key=KEY, inner_num_steps=m, batch_size=40,
                sampling="reshuffle")
    for k in range(epochs * m + 1):
        np.testing.assert_allclose(tr.iterates[k], _gd_closed_form(A, b, 0.05, p.x0, eta, k), atol=1e-11)


def test_grad_eval_counts():
    p, _, _ = _lsq()  # n = 40
    sv = st.svrg(p, p.x0, 2, learning_rate=0.1, key=KEY, batch_size=2)
    # per epoch: n for the snapshot + m = n/b inner steps × 2b
    assert int(sv.grad_evals[-1]) == 2 * (40 + 20 * 4)
    assert sv.iterates.shape == (2 * 20 + 1, p.dim)
    sa = st.sarah(p, p.x0, 2, learning_rate=0.1, key=KEY, inner_num_steps=10)
    assert int(sa.grad_evals[-1]) == 2 * (40 + 9 * 2)


def test_svrg_and_sarah_converge_linearly_where_sgd_stalls(x64):
    p, _, _ = _lsq(n=50, d=4, noise=0.5)
    L_max = float(jnp.max(jax.vmap(lambda i: jnp.linalg.eigvalsh(
        jax.hessian(p.sample_value)(p.x0, jnp.array([i])))[-1])(jnp.arange(50))))
    eta = 0.2 / L_max
    sv = st.svrg(p, p.x0, 25, learning_rate=eta, key=KEY)
    sa = st.sarah(p, p.x0, 25, learning_rate=eta, key=KEY)
    sg = st.run_finite_sum(first_order.gd(eta), p, p.x0, num_steps=25 * 50 * 3, key=KEY)
    gap = lambda t: np.asarray(t.values - p.f_star)  # noqa: E731
    assert gap(sv)[-1] < 1e-12 and gap(sa)[-1] < 1e-12
    half = len(gap(sg)) // 2
    assert gap(sg)[half:].mean() > 1e-5  # SGD sits at its noise floor
    # geometric decrease: the gap at the end of each epoch shrinks by a factor ≥ 2 (up to 1e-13)
    ends = gap(sv)[::50][:8]
    assert np.all(ends[1:] < 0.5 * ends[:-1])


def test_ai_sarah_step_is_inverse_local_smoothness_on_least_squares(x64):
    p, A, _ = _lsq()
    w, v = jnp.ones(p.dim), jnp.linspace(1.0, 2.0, p.dim)
    for i in range(3):
        alpha, g0 = st.ai_sarah_step(p, w, v, jnp.array([i]))
        a = A[i]
        # ξ(α) = ‖v − α H_i v‖², H_i = a aᵀ + reg I: minimiser ⟨v, H_i v⟩ / ‖H_i v‖²
        Hv = a * (a @ np.asarray(v)) + 0.05 * np.asarray(v)
        np.testing.assert_allclose(alpha, (np.asarray(v) @ Hv) / (Hv @ Hv), rtol=1e-10)
        np.testing.assert_allclose(g0, p.sample_grad(w, jnp.array([i])), atol=1e-12)


def test_ai_sarah_converges_without_a_step_size(x64):
    p = _logreg()
    # mini-batches (b = 6): with b = 1 and a ridge term, ξ's minimiser is dominated by
    # the isotropic part of the rank-one-plus-ridge batch Hessian and the steps are erratic
    tr = st.ai_sarah(p, p.x0, 12, key=KEY, batch_size=6)
    gap = np.asarray(tr.values - p.f_star)
    assert gap[-1] < 1e-12 * gap[0]
    assert np.all(np.diff(np.asarray(tr.grad_evals)) >= 0)


def test_over_seeds_equals_python_loop(x64):
    p, _, _ = _lsq()
    keys = jax.random.split(KEY, 3)
    batch = st.over_seeds(st.svrg, keys, p, p.x0, 2, learning_rate=0.1)
    for j in range(3):
        one = st.svrg(p, p.x0, 2, learning_rate=0.1, key=keys[j])
        np.testing.assert_allclose(batch.iterates[j], one.iterates, atol=1e-12)


# ----------------------------------------------------------------------------- noise models


def test_noise_models_moments():
    k = jax.random.key(7)
    x = np.asarray(st.discrete_noise([9.0, -1.0], [0.1, 0.9])(k, (100000,), jnp.float64))
    assert set(np.unique(x)) == {9.0, -1.0}
    assert abs(x.mean()) < 5 * 3.0 / np.sqrt(1e5)
    t = np.asarray(st.student_t_noise(1.5)(k, (100000,), jnp.float64))
    assert np.abs(t).max() > 100  # heavy tail
    assert abs(np.median(t)) < 0.02
    pa = np.asarray(st.pareto_noise(1.5)(k, (100000,), jnp.float64))
    # P(|ξ| > t) = (1 + t)^(-1.5): check at t = 3 (1/8) with a binomial margin
    assert abs(np.mean(np.abs(pa) > 3.0) - 0.125) < 5 * np.sqrt(0.125 * 0.875 / 1e5)
    assert abs(np.mean(pa > 0) - 0.5) < 0.01
    g = np.asarray(st.gaussian_noise(2.0)(k, (100000,), jnp.float64))
    assert abs(g.std() - 2.0) < 0.03


def test_clipping_tames_heavy_tails():
    p = problems.quadratic(kappa=4.0, dim=4)
    keys = jax.random.split(KEY, 200)
    noise = st.pareto_noise(1.5)
    x0 = jnp.ones(4)
    run = lambda opt: st.over_seeds(st.run_additive_noise, keys, opt, p, x0, num_steps=400, noise=noise, record_every=400)
    sgd, clipped = run(first_order.gd(0.05)), run(st.clipped_sgd(0.05, 1.0))
    q_sgd = np.quantile(np.asarray(sgd.values[:, -1]), 0.99)
    q_clip = np.quantile(np.asarray(clipped.values[:, -1]), 0.99)
    assert q_clip < 0.2 * q_sgd


# ----------------------------------------------------------------------------- errors


def test_errors_on_bad_input():
    p, _, _ = _lsq()
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        st.svrg(p, p.x0, 2, learning_rate=-0.1, key=KEY)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        st.sarah(p, p.x0, 2, learning_rate=0.0, key=KEY)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        st.clipped_sgd(-1.0, 1.0)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        st.clip(0.0)
    with pytest.raises(ValueError, match="batch_size=41 exceeds"):
        st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=10, key=KEY, batch_size=41)
    with pytest.raises(ValueError, match="batch_size=41 exceeds"):
        st.svrg(p, p.x0, 2, learning_rate=0.1, key=KEY, batch_size=41)
    with pytest.raises(ValueError, match="x0 contains 1 NaN"):
        st.svrg(p, p.x0.at[0].set(jnp.nan), 2, learning_rate=0.1, key=KEY)
    with pytest.raises(ValueError, match="x0 contains"):
        st.run_finite_sum(first_order.gd(0.1), p, jnp.full(p.dim, jnp.inf), num_steps=10, key=KEY)
    with pytest.raises(ValueError, match="needs an explicit PRNG key"):
        st.svrg(p, p.x0, 2, learning_rate=0.1)
    with pytest.raises(ValueError, match="needs an explicit PRNG key"):
        st.ai_sarah(p, p.x0, 2)
    with pytest.raises(ValueError, match="needs an explicit PRNG key"):
        st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=10)
    with pytest.raises(ValueError, match="needs an explicit PRNG key"):
        st.run_additive_noise(first_order.gd(0.1), p, p.x0, num_steps=10, noise=st.gaussian_noise(1.0))
    with pytest.raises(ValueError, match="needs an explicit PRNG key"):
        st.sample_indices(10, num_steps=5, key=None)
    with pytest.raises(ValueError, match="sampling must be one of"):
        st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=10, key=KEY, sampling="random")
    with pytest.raises(ValueError, match="needs batch_size to divide n"):
        st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=10, key=KEY, batch_size=3, sampling="reshuffle")
    with pytest.raises(ValueError, match="record_every=7 must divide"):
        st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=10, key=KEY, record_every=7)
    with pytest.raises(ValueError, match="x0 must have shape"):
        st.sarah(p, jnp.zeros(p.dim + 1), 2, learning_rate=0.1, key=KEY)
    with pytest.raises(ValueError, match="not a finite sum"):
        st.svrg(problems.quadratic(), jnp.ones(2), 2, learning_rate=0.1, key=KEY)
    with pytest.raises(ValueError, match="mean zero"):
        st.discrete_noise([1.0, -1.0], [0.3, 0.7])
    with pytest.raises(ValueError, match="gamma must lie in"):
        st.ai_sarah(p, p.x0, 2, key=KEY, gamma=1.5)
    with pytest.raises(ValueError, match="noise must be a callable"):
        st.run_additive_noise(first_order.gd(0.1), p, p.x0, num_steps=10, key=KEY)
    with pytest.raises(ValueError, match="peak must be positive"):
        st.linear_decay(0.0, num_steps=10)
    with pytest.raises(ValueError, match="grad_norms must be positive"):
        st.refined_weights(jnp.array([1.0, 0.0, 2.0]))
    with pytest.raises(ValueError, match="batch of keys"):
        st.over_seeds(st.svrg, jax.random.split(KEY, 2), p, p.x0, 2, learning_rate=0.1, key=KEY)
    with pytest.raises(TypeError, match="num_epochs must be an integer"):
        st.svrg(p, p.x0, 2.0, learning_rate=0.1, key=KEY)


def test_traced_learning_rate_is_vmappable(x64):
    p, _, _ = _lsq()
    etas = jnp.array([0.05, 0.1, 0.2])
    out = jax.jit(jax.vmap(lambda e: st.svrg(p, p.x0, 2, learning_rate=e, key=KEY).values[-1]))(etas)
    for e, v in zip(etas, out):
        np.testing.assert_allclose(v, st.svrg(p, p.x0, 2, learning_rate=float(e), key=KEY).values[-1],
                                   rtol=1e-10)


# ----------------------------------------------------------------------------- figures


def test_variance_reduction_slider_structure_and_errors():
    from optlab.viz import stochastic as vst

    x = {"SGD": np.tile(np.arange(50.0), (3, 1)), "AI": np.arange(20.0)}
    y = {"SGD": np.full((3, 50), 1e-2), "AI": np.geomspace(1, 1e-10, 20)}
    fig = vst.variance_reduction_slider(x, y, [0.1, 0.2, 0.4], floors=[1e-3, 2e-3, 4e-3], active=1)
    assert len(fig.data) == 3 * 3  # (2 curves + floor) per slider step
    assert [tr.visible for tr in fig.data] == [False] * 3 + [True] * 3 + [False] * 3
    assert len(fig.layout.sliders[0].steps) == 3
    with pytest.raises(ValueError, match="must have 3 rows"):
        vst.variance_reduction_slider({"a": np.ones((2, 5))}, {"a": np.ones((2, 5))}, [1, 2, 3])
    with pytest.raises(ValueError, match="same labels"):
        vst.variance_reduction_slider({"a": np.ones(5)}, {"b": np.ones(5)}, [1])


def test_other_stochastic_figures_build():
    from optlab.viz import stochastic as vst

    assert len(vst.noise_floor_figure([0.1, 0.2], {"m": [1.0, 2.0]}, {"p": [1.0, 2.0]}).data) == 2
    fig = vst.clipping_bias_slider(np.arange(10), {"clip": np.ones((2, 10))}, [0.1, 0.01], fixed_point=8 / 9)
    assert len(fig.layout.sliders[0].steps) == 2
    q = vst.tail_quantiles_figure([0.5, 0.9], {"a": np.arange(100.0) + 1})
    np.testing.assert_allclose(q.data[0].y, np.quantile(np.arange(100.0) + 1, [0.5, 0.9]))
    s = vst.schedules_figure({"lin": np.linspace(1, 0, 10)}, {"lin": [1e-3, 2e-3]}, [0.1, 0.2])
    assert len(s.data) == 2


# ----------------------------------------------------------------------------- float32
# Tolerances: a few times the largest error measured over 10 random problems (in parentheses).


def test_float32_full_batch_runs_are_gd_closed_form():
    p, A, b = _lsq()
    assert p.x0.dtype == jnp.float32
    scale = np.linalg.norm(_gd_closed_form(A, b, 0.05, p.x0, 0.3, 10_000))  # ‖x*‖
    tr = st.run_finite_sum(first_order.gd(0.3), p, p.x0, num_steps=25, key=KEY, batch_size=40, sampling="cyclic")
    assert tr.iterates.dtype == jnp.float32
    assert np.abs(np.asarray(tr.iterates[-1]) - _gd_closed_form(A, b, 0.05, p.x0, 0.3, 25)).max() <= 1e-6 * scale  # (1.1e-7)
    for method in (st.svrg, st.sarah):
        tr = method(p, p.x0, 3, learning_rate=0.4, key=KEY, inner_num_steps=5, batch_size=40, sampling="reshuffle")
        err = max(np.abs(np.asarray(tr.iterates[k]) - _gd_closed_form(A, b, 0.05, p.x0, 0.4, k)).max()
                  for k in range(16))
        assert err <= 2e-6 * scale, method.__name__


def test_float32_noise_floor_and_over_seeds():
    rng = np.random.default_rng(3)
    a, bb = rng.uniform(0.5, 1.5, 30), rng.standard_normal(30)
    p = problems.least_squares(jnp.asarray(a[:, None], jnp.float32), jnp.asarray(bb, jnp.float32))
    x_star = (a @ bb) / (a @ a)
    h_i, zeta = a**2, a * (a * x_star - bb)
    sigma = 0.3 * np.mean(zeta**2) / (2 * h_i.mean() - 0.3 * np.mean(h_i**2))
    # moments come from float32 data: relative error 5e-8 measured
    np.testing.assert_allclose(st.sgd_noise_floor(p, learning_rate=0.3).exact, 0.5 * h_i.mean() * sigma, rtol=1e-6)
    lsq, _, _ = _lsq()
    keys = jax.random.split(KEY, 3)
    batch = st.over_seeds(st.svrg, keys, lsq, lsq.x0, 2, learning_rate=0.1)
    for j in range(3):  # vmap may reorder float32 reductions: 2.4e-7 on O(1) iterates
        one = st.svrg(lsq, lsq.x0, 2, learning_rate=0.1, key=keys[j])
        np.testing.assert_allclose(batch.iterates[j], one.iterates, rtol=1e-5, atol=2e-6)


# ----------------------------------------------------------------------------- no re-compilation


def test_runs_compile_once_per_shape():
    """New data of the same shape, new x0 and key (new step size for svrg/ai_sarah, a rebuilt but
    equal optimizer and noise model for the others): no new compile."""
    rng = np.random.default_rng(0)

    def data():
        A = jnp.asarray(rng.standard_normal((40, 4)), jnp.float32)
        return problems.least_squares(A, A @ jnp.ones(4), reg=0.05)

    p1, p2 = data(), data()
    runs = {
        "run_finite_sum": (st.sgd._finite_sum_jit,
                           lambda p, x0, k, lr: st.run_finite_sum(first_order.gd(0.1), p, x0, num_steps=20, key=k, batch_size=4)),
        "svrg": (st.variance_reduction._vr_jit, lambda p, x0, k, lr: st.svrg(p, x0, 2, learning_rate=lr, key=k)),
        "ai_sarah": (st.variance_reduction._vr_jit, lambda p, x0, k, lr: st.ai_sarah(p, x0, 2, key=k, gamma=lr)),
        "run_additive_noise": (st.noise_models._additive_jit, lambda p, x0, k, lr: st.run_additive_noise(
            first_order.gd(0.1), p, x0, num_steps=20, key=k, noise=st.gaussian_noise(1.0))),
    }
    for name, (jitted, run) in runs.items():
        t0 = time.perf_counter()
        jax.block_until_ready(run(p1, jnp.zeros(4), jax.random.key(0), 0.1).values)
        cold = time.perf_counter() - t0
        size = jitted._cache_size()
        t0 = time.perf_counter()
        jax.block_until_ready(run(p2, jnp.ones(4), jax.random.key(1), 0.2).values)
        warm = time.perf_counter() - t0
        assert jitted._cache_size() == size, f"{name} compiled again"


def test_noise_floor_compiles_once_per_problem():
    p, _, _ = _lsq()
    st.sgd_noise_floor(p, learning_rate=0.1)
    size = st.noise_floor._noise_floor_moments._cache_size()
    for eta in (0.05, 0.2, 0.3):
        st.sgd_noise_floor(p, learning_rate=eta)
    q = problems.least_squares(jnp.asarray(np.random.default_rng(1).standard_normal((40, 4)), jnp.float32),
                               jnp.ones(40), reg=0.05)
    st.sgd_noise_floor(q, learning_rate=0.1)  # new data, same shapes
    assert st.noise_floor._noise_floor_moments._cache_size() == size


def test_integer_keys_get_a_clear_error():
    p, _, _ = _lsq()
    for call in (lambda: st.sample_indices(4, num_steps=3, key=0),
                 lambda: st.run_finite_sum(first_order.gd(0.1), p, p.x0, num_steps=4, key=0),
                 lambda: st.svrg(p, p.x0, 1, learning_rate=0.1, key=1),
                 lambda: st.run_additive_noise(first_order.gd(0.1), p, p.x0, num_steps=4, key=2, noise=st.gaussian_noise(1.0)),
                 lambda: st.over_seeds(st.svrg, 3, p, p.x0, 1, learning_rate=0.1)):
        with pytest.raises(TypeError, match=r"must be a JAX PRNG key"):
            call()
