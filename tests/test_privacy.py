"""Tests for optlab.privacy against independent references: dp_accounting's RDP
accountant (the kept library), optax.contrib's DP-SGD, numpy loops over examples,
closed forms (Gaussian RDP, logistic-regression gradients) and empirical noise moments.

The JAX-side tests run in float32 (the readers' dtype) with tolerances measured over
10-20 random draws and set a few times above the worst error seen, relative to the
magnitudes compared; each has a float64 twin (``x64`` fixture) at 1e-12..1e-14.  The
accountant is float64 NumPy on the host in both modes.
"""

import time
import warnings

import dp_accounting
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from dp_accounting.rdp import RdpAccountant
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import lipschitz as lp
from optlab import privacy as pv
from optlab.viz import privacy as pviz


def _logistic_data(n=24, d=5, seed=0):
    r = np.random.default_rng(seed)
    X = jnp.array(r.normal(size=(n, d)) * r.lognormal(0, 1, size=(n, 1)))
    y = jnp.array(r.integers(0, 2, n) * 2 - 1.0)
    return X, y


def _logistic_loss(p, z):
    x, y = z
    return jnp.logaddexp(0.0, -y * (x @ p["w"] + p["b"]))


def _params(seed=0, scale=1.0, b=0.2):
    return {"w": jnp.array(np.random.default_rng(seed).normal(size=5) * scale), "b": jnp.array(b)}


def _reference_epsilon(q, sigma, steps, delta, orders=pv.DEFAULT_ORDERS):
    acc = RdpAccountant(orders=list(orders))
    event = dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(sigma))
    acc.compose(dp_accounting.SelfComposedDpEvent(event, steps))
    return acc.get_epsilon_and_optimal_order(delta)


def _rel(a, b):
    """max |a − b| / max |b|."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b).max() / np.abs(b).max()


# --------------------------------------------------------------------- per-example gradients


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-6), ("float64", 1e-12)])
def test_per_example_grads_match_closed_form_and_loop(dtype, tol):
    # float32 over 20 draws: ∇w 2.7e-7, ∇b 4.6e-7, norms 1.2e-7 (relative to the largest entry)
    with jax.enable_x64(dtype == "float64"):
        X, y = _logistic_data()
        params = _params()
        assert X.dtype == params["w"].dtype == jnp.dtype(dtype)
        g = pv.per_example_grads(_logistic_loss, params, (X, y))
        assert g["w"].dtype == jnp.dtype(dtype)
        # ∇_w log(1 + e^{−y(wᵀx+b)}) = −y σ(−y(wᵀx+b)) x
        Xd, yd, wd = (np.asarray(v, dtype=float) for v in (X, y, params["w"]))
        m = -yd / (1 + np.exp(yd * (Xd @ wd + 0.2)))
        assert _rel(g["w"], m[:, None] * Xd) < tol and _rel(g["b"], m) < tol
        loop = [jax.grad(_logistic_loss)(params, (X[i], y[i])) for i in range(len(y))]
        assert _rel(g["w"], np.stack([l_["w"] for l_ in loop])) < tol
        gw, gb = np.asarray(g["w"], dtype=float), np.asarray(g["b"], dtype=float)
        np.testing.assert_allclose(pv.per_example_norms(g), np.sqrt(np.sum(gw**2, 1) + gb**2), rtol=tol)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-12)])
@pytest.mark.parametrize("clip", [0.01, 0.5, 3.0, 1e3])
def test_clipping_matches_a_numpy_loop(clip, dtype, tol):
    # float32 over 20 draws: factors 1.6e-7, clipped entries 1.8e-7 (relative), norms ≤ C(1 + 1.7e-7)
    with jax.enable_x64(dtype == "float64"):
        r = np.random.default_rng(1)
        g = {"a": (r.normal(size=(16, 3, 2)) * r.lognormal(0, 1, size=(16, 1, 1))).astype(dtype),
             "b": r.normal(size=(16, 4)).astype(dtype)}
        clipped, factor = pv.clip_per_example(g, clip)
        assert factor.dtype == jnp.dtype(dtype)
        for i in range(16):
            v = np.concatenate([np.ravel(g["a"][i]), np.ravel(g["b"][i])]).astype(float)
            f = min(1.0, clip / np.linalg.norm(v))
            np.testing.assert_allclose(factor[i], f, rtol=tol)
            atol = tol * f * np.abs(v).max()
            np.testing.assert_allclose(clipped["a"][i], f * g["a"][i].astype(float), rtol=0, atol=atol)
            np.testing.assert_allclose(clipped["b"][i], f * g["b"][i].astype(float), rtol=0, atol=atol)
        assert np.all(np.asarray(pv.per_example_norms(clipped), dtype=float) <= clip * (1 + tol))


def test_zero_gradient_is_not_nan():
    clipped, factor = pv.clip_per_example(jnp.zeros((3, 4)), 1.0)
    assert np.all(factor == 1.0) and np.all(clipped == 0.0)


@settings(max_examples=20, deadline=None)
@given(st.floats(0.05, 5.0), st.integers(1, 8))
def test_clipping_properties(clip, seed):
    # float32; tolerances relative to C and to the largest entry
    g = np.random.default_rng(seed).normal(size=(10, 6)).astype(np.float32) * 3
    clipped, factor = pv.clip_per_example(g, clip)
    n0 = np.asarray(pv.per_example_norms(g), dtype=float)
    n1 = np.asarray(pv.per_example_norms(clipped), dtype=float)
    assert np.all(n1 <= clip * (1 + 1e-6))
    np.testing.assert_allclose(n1, np.minimum(n0, clip), rtol=1e-6)  # clipping is a radial projection
    # directions are kept
    c = np.asarray(clipped, dtype=float)
    np.testing.assert_allclose(c * n0[:, None], g * n1[:, None], rtol=0, atol=1e-6 * np.abs(g * n1[:, None]).max())


def test_clip_norm_may_be_traced():
    g = jnp.array(np.random.default_rng(2).normal(size=(5, 3)), jnp.float32)
    clips = jnp.array([0.1, 1.0, 10.0])
    batched = jax.vmap(lambda c: pv.clip_per_example(g, c)[1])(clips)
    for c, f in zip(clips, batched):
        np.testing.assert_allclose(f, pv.clip_per_example(g, float(c))[1], rtol=1e-6)


def _dp_sgd_against_optax(tol):
    X, y = _logistic_data(32)
    params = _params(3, b=0.3)
    g = pv.per_example_grads(_logistic_loss, params, (X, y))
    mine = pv.dp_sgd(0.1, 0.5, 1.3, key=jax.random.key(3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = optax.contrib.dpsgd(0.1, 0.5, 1.3, 3)  # seed 3 → jax.random.key(3)
    sm, sr = mine.init(params), ref.init(params)
    # optax clips through an einsum: on GPUs a float32 einsum runs in TF32 unless asked
    with jax.default_matmul_precision("highest"):
        for _ in range(3):
            um, sm = mine.update(g, sm, params)
            ur, sr = ref.update(g, sr, params)
            for k in params:
                assert _rel(um[k], ur[k]) < tol, k
        agg = pv.dp_aggregate(0.5, 1.3, key=jax.random.key(3))
        ref_agg = optax.contrib.differentially_private_aggregate(0.5, 1.3, jax.random.key(3))
        ua, _ = agg.update(g, agg.init(params))
        ur, _ = ref_agg.update(g, ref_agg.init(params))
    assert _rel(ua["w"], ur["w"]) < tol


def test_dp_sgd_matches_optax_including_noise_float32():
    # measured over 20 draws: 1.9e-6 relative to the largest update entry (optax sums the
    # clipped gradients with an einsum, we multiply then sum: different rounding)
    _dp_sgd_against_optax(1e-5)


def test_dp_sgd_matches_optax_exactly_including_noise_float64(x64):
    _dp_sgd_against_optax(1e-13)


def test_dp_sgd_refuses_an_integer_seed():
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(3\)"):
        pv.dp_sgd(0.1, 0.5, 1.3, key=3)
    with pytest.raises(TypeError, match="clip must be True or False"):
        pv.dp_aggregate(0.5, 1.3, key=jax.random.key(3), clip="no")


def test_dp_aggregate_noise_std_and_mean_empirically():
    B, C, sigma = 8, 0.7, 2.0
    g = jnp.array(np.random.default_rng(4).normal(size=(B, 3)) * 5, jnp.float32)  # all clipped
    clipped, _ = pv.clip_per_example(g, C)
    mean_ref = np.asarray(jnp.sum(clipped, 0)) / B
    agg = pv.dp_aggregate(C, sigma, key=jax.random.key(0))

    def one(k):
        u, _ = agg.update(g, pv.DPAggregateState(k))
        return u

    samples = np.asarray(jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(1), 20000)), dtype=float)
    std_expected = sigma * C / B
    # mean: error std is std_expected/√20000 → 5σ margin; std: relative error ~ 1/√(2·20000)
    np.testing.assert_allclose(samples.mean(0), mean_ref, atol=5 * std_expected / np.sqrt(20000))
    np.testing.assert_allclose(samples.std(0), std_expected, rtol=0.03)


def test_no_clip_mode_adds_noise_without_clipping():
    g = jnp.array(np.random.default_rng(5).normal(size=(4, 3)) * 10, jnp.float32)
    agg = pv.dp_aggregate(1.0, 1.0, key=jax.random.key(0), clip=False)
    u, _ = agg.update(g, agg.init(None))
    noise = np.asarray(u, dtype=float) * 4 - np.asarray(g, dtype=float).sum(0)
    k = jax.random.split(jax.random.key(0), 2)[1]
    ref = np.asarray(jax.random.normal(k, (3,)), dtype=float)
    # float32: the sum of 4 entries of size ~10, divided then multiplied by 4
    np.testing.assert_allclose(noise, ref, rtol=0, atol=1e-5 * np.abs(np.asarray(g)).sum(0).max())


def test_dp_sgd_works_under_jit_and_scan():
    X, y = (v.astype(jnp.float32) for v in _logistic_data(16))
    opt = pv.dp_sgd(0.5, 1.0, 1.0, key=jax.random.key(0))
    p0 = {"w": jnp.zeros(5), "b": jnp.array(0.0)}

    @jax.jit
    def run(p):
        def step(c, _):
            p, s = c
            u, s = opt.update(pv.per_example_grads(_logistic_loss, p, (X, y)), s, p)
            return (optax.apply_updates(p, u), s), None
        return jax.lax.scan(step, (p, opt.init(p)), None, length=5)[0][0]

    assert np.all(np.isfinite(run(p0)["w"]))


# --------------------------------------------------------------------- accountant


@pytest.mark.parametrize("q,sigma,steps,delta", [
    (0.01, 1.1, 1000, 1e-5), (0.1, 0.7, 50, 1e-6), (1.0, 3.0, 100, 1e-5),
    (0.003, 2.0, 10000, 1e-5), (0.5, 5.0, 7, 1e-3), (0.02, 0.5, 200, 1e-5),
])
def test_accountant_matches_dp_accounting(q, sigma, steps, delta):
    mine = pv.dp_sgd_privacy(sigma, q, num_steps=steps, delta=delta)
    ref_eps, ref_order = _reference_epsilon(q, sigma, steps, delta)
    assert np.isclose(mine.epsilon, ref_eps, rtol=1e-9, atol=1e-12)
    assert mine.order == ref_order


@settings(max_examples=20, deadline=None)
@given(st.floats(1e-3, 1.0), st.floats(0.5, 8.0), st.integers(1, 3000), st.sampled_from([1e-3, 1e-5, 1e-7]))
def test_accountant_matches_dp_accounting_property(q, sigma, steps, delta):
    mine = pv.dp_sgd_privacy(sigma, q, num_steps=steps, delta=delta)
    ref_eps, _ = _reference_epsilon(q, sigma, steps, delta)
    assert np.isclose(mine.epsilon, ref_eps, rtol=1e-8, atol=1e-10)


def test_rdp_closed_forms():
    orders = np.arange(2, 20)
    # q = 1: the Gaussian mechanism, α/(2σ²)
    assert np.allclose(pv.rdp_subsampled_gaussian(1.0, 1.7, orders), orders / (2 * 1.7**2))
    assert np.allclose(pv.rdp_gaussian(1.7, orders), orders / (2 * 1.7**2))
    # α = 2: A_2 = (1−q)² + 2q(1−q) + q² e^{1/σ²} = 1 + q²(e^{1/σ²} − 1)
    q, s = 0.07, 1.3
    assert np.isclose(pv.rdp_subsampled_gaussian(q, s, [2])[0], np.log1p(q**2 * np.expm1(1 / s**2)), rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.floats(1e-3, 0.99), st.floats(0.5, 5.0))
def test_rdp_monotone_and_below_unsampled(q, sigma):
    r = pv.rdp_subsampled_gaussian(q, sigma)
    assert np.all(np.diff(r) >= -1e-12)  # RDP is non-decreasing in α
    assert np.all(r <= pv.rdp_gaussian(sigma) * (1 + 1e-12))  # subsampling only helps
    r2 = pv.rdp_subsampled_gaussian(min(1.0, 1.5 * q), sigma)
    assert np.all(r2 >= r - 1e-12)  # and more so at smaller q


def test_classic_conversion_is_looser_and_matches_formula():
    sp = pv.dp_sgd_privacy(1.0, 0.01, num_steps=500, delta=1e-5)
    eps_c, _ = pv.rdp_to_epsilon(sp.orders, sp.rdp, 1e-5, conversion="classic")
    assert np.isclose(eps_c, np.min(sp.rdp + np.log(1e5) / (sp.orders - 1)))
    assert eps_c > sp.epsilon


def test_calibrate_noise_hits_target_and_matches_dp_accounting():
    target, delta, q, T = 2.0, 1e-5, 0.02, 500
    sigma = pv.calibrate_noise(target, delta, q, num_steps=T)
    assert pv.dp_sgd_privacy(sigma, q, num_steps=T, delta=delta).epsilon <= target
    assert pv.dp_sgd_privacy(sigma * (1 - 1e-4), q, num_steps=T, delta=delta).epsilon > target
    ref = dp_accounting.calibrate_dp_mechanism(
        lambda: RdpAccountant(orders=list(pv.DEFAULT_ORDERS)),
        lambda s: dp_accounting.SelfComposedDpEvent(
            dp_accounting.PoissonSampledDpEvent(q, dp_accounting.GaussianDpEvent(s)), T),
        target, delta, bracket_interval=dp_accounting.LowerEndpointAndGuess(0.1, 1.0), tol=1e-7)
    assert np.isclose(sigma, ref, rtol=1e-5)


def test_diff2_privacy_is_composition_of_gaussians():
    sp = pv.diff2_privacy(2.0, 3.0, num_steps=20, restart_every=5, delta=1e-5)
    # 4 restarts at σ=2 and 16 difference rounds at σ=3 = one Gaussian with 1/σ² = 4/4 + 16/9
    s_eff = 1 / np.sqrt(4 / 4 + 16 / 9)
    ref_eps, _ = _reference_epsilon(1.0, s_eff, 1, 1e-5)
    assert np.isclose(sp.epsilon, ref_eps, rtol=1e-9)
    assert np.isclose(pv.diff2_privacy(2.0, 2.0, num_steps=20, restart_every=1, delta=1e-5).epsilon,
                      pv.dp_sgd_privacy(2.0, 1.0, num_steps=20, delta=1e-5).epsilon, rtol=1e-12)


def test_vectorised_rdp_matches_the_per_order_sum():
    # the binomial expansion evaluated order by order, as written in the docstring
    from scipy import special

    q, s, orders = 0.03, 0.8, [2, 3, 7, 32, 64, 256]
    ref = []
    for a in orders:
        k = np.arange(a + 1)
        terms = (special.gammaln(a + 1) - special.gammaln(k + 1) - special.gammaln(a - k + 1)
                 + k * np.log(q) + (a - k) * np.log1p(-q) + (k * k - k) / (2 * s**2))
        ref.append(special.logsumexp(terms) / (a - 1))
    np.testing.assert_allclose(pv.rdp_subsampled_gaussian(q, s, orders), ref, rtol=1e-13)


def test_accountant_is_float64_in_both_modes(x64):
    # the host accountant does not depend on jax_enable_x64
    assert pv.dp_sgd_privacy(1.1, 0.01, num_steps=1000, delta=1e-5).epsilon == _float32_mode_epsilon


_float32_mode_epsilon = pv.dp_sgd_privacy(1.1, 0.01, num_steps=1000, delta=1e-5).epsilon


def test_accountant_refuses_traced_values():
    with pytest.raises(TypeError, match="noise_multiplier must be a concrete number"):
        jax.jit(lambda s: pv.rdp_gaussian(s)[0])(1.0)


# --------------------------------------------------------------------- Lipschitz bounds


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-12)])
def test_logistic_bound_is_tight_and_dominates(dtype, tol):
    # one layer, no hidden: ‖∇‖ ≤ G·sqrt(‖x‖² + 1), attained as y·f → −∞
    # float32 over 10 draws: norms exceed the bound by ≤ 1.2e-7 (rounding), tight to 1.1e-7
    with jax.enable_x64(dtype == "float64"):
        X, y = _logistic_data(50)
        xn = jnp.linalg.norm(X, axis=1)
        params = _params(6, scale=3.0, b=0.5)
        norms = pv.per_example_norms(pv.per_example_grads(_logistic_loss, params, (X, y)))
        bound = pv.param_grad_bound([1.0], [0.0], xn)
        assert bound.dtype == jnp.dtype(dtype)
        assert np.all(np.asarray(norms) <= np.asarray(bound) * (1 + tol))
        far = {"w": -1e3 * y[0] * X[0] / xn[0], "b": jnp.array(0.0)}
        g0 = pv.per_example_norms(pv.per_example_grads(_logistic_loss, far, (X[:1], y[:1])))
        np.testing.assert_allclose(g0[0], bound[0], rtol=10 * tol)


def test_param_grad_bound_closed_form_and_tracer_safety():
    # two layers: D = (G s₂, G), H = (‖x‖, s₁‖x‖ + β₁): √(G²s₂²(‖x‖²+1) + G²((s₁‖x‖+β₁)²+1))
    s, b, x, G = [2.0, 0.5], [0.3, 1.0], np.array([0.0, 1.0, 4.0]), 1.5
    ref = np.sqrt(G**2 * s[1] ** 2 * (x**2 + 1) + G**2 * ((s[0] * x + b[0]) ** 2 + 1))
    np.testing.assert_allclose(pv.param_grad_bound(s, b, x, loss_lipschitz=G), ref, rtol=1e-6)
    jitted = jax.jit(lambda s, b, x: pv.param_grad_bound(s, b, x, loss_lipschitz=G))
    np.testing.assert_allclose(jitted(jnp.array(s), jnp.array(b), jnp.array(x)), ref, rtol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_grad_bound_dominates_observed_norms(activation):
    keys = jax.random.split(jax.random.key(0), 3)
    sizes = [4, 8, 8, 3]
    params = [(jax.random.normal(k, (m, n)) / np.sqrt(n), 0.3 * jax.random.normal(k, (m,)))
              for k, n, m in zip(keys, sizes[:-1], sizes[1:])]
    r = np.random.default_rng(7)
    X = jnp.array(r.normal(size=(300, 4)) * 2, jnp.float32)
    y = jnp.array(r.integers(0, 3, 300))

    def loss(p, z):
        logits = lp.mlp_apply(p, z[0], activation)
        return -jax.nn.log_softmax(logits)[z[1]]  # ∇_logits = p − e_y, norm ≤ √2

    norms = jax.jit(lambda p: pv.per_example_norms(pv.per_example_grads(loss, p, (X, y))))(params)
    bound = pv.mlp_grad_bound(params, jnp.linalg.norm(X, axis=1), loss_lipschitz=np.sqrt(2))
    assert np.all(norms <= bound) and float(jnp.max(norms / bound)) > 0.05
    jitted = jax.jit(lambda p: pv.mlp_grad_bound(p, jnp.linalg.norm(X, axis=1), loss_lipschitz=np.sqrt(2)))
    np.testing.assert_allclose(jitted(params), bound, rtol=1e-6)


def test_project_mlp_enforces_the_constraint():
    r = np.random.default_rng(8)
    params = [(jnp.array(r.normal(size=(6, 4)) * 3, jnp.float32), jnp.array(r.normal(size=6) * 4, jnp.float32)),
              (jnp.array(r.normal(size=(1, 6)) * 0.1, jnp.float32), jnp.array([0.05], jnp.float32))]
    proj = jax.jit(lambda p: pv.project_mlp(p, 1.0, 0.5))(params)
    # float32: the Gram UPPER bound is exact to ~2e-7, so σ₁ ≤ 1 up to rounding
    assert np.linalg.norm(np.asarray(proj[0][0], dtype=float), 2) <= 1 + 1e-6
    assert np.linalg.norm(np.asarray(proj[0][1], dtype=float)) <= 0.5 * (1 + 1e-6)
    np.testing.assert_array_equal(proj[1][0], params[1][0])  # inside: unchanged
    np.testing.assert_array_equal(proj[1][1], params[1][1])


# --------------------------------------------------------------------- DIFF2


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-6), ("float64", 1e-9)])
def test_diff2_with_restart_every_step_is_dp_gd(dtype, tol):
    # float32 over 10 draws: 1.1e-7 relative to the largest weight
    with jax.enable_x64(dtype == "float64"):
        X, y = _logistic_data(20)
        p0 = {"w": jnp.zeros(5), "b": jnp.array(0.0)}
        kw = dict(num_steps=6, learning_rate=0.3, clip_norm=0.8, noise_multiplier_grad=1e-9,
                  noise_multiplier_diff=1.0, smoothness=1.0)
        out = pv.diff2(_logistic_loss, p0, (X, y), key=jax.random.key(0), restart_every=1, **kw)

        @jax.jit
        def step(p):  # noiseless clipped GD by hand
            c, _ = pv.clip_per_example(pv.per_example_grads(_logistic_loss, p, (X, y)), 0.8)
            return jax.tree_util.tree_map(lambda a, b: a - 0.3 * jnp.mean(b, 0), p, c)

        p = p0
        for _ in range(6):
            p = step(p)
        assert _rel(out.params["w"], p["w"]) < tol


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-6), ("float64", 1e-9)])
def test_diff2_without_clipping_or_noise_is_gd(dtype, tol):
    # tiny noise, huge clip and smoothness: gradient differences telescope to the full gradient
    # float32 over 10 draws: weights 2.6e-7, final ‖∇F‖² 1.6e-7 (relative)
    with jax.enable_x64(dtype == "float64"):
        X, y = _logistic_data(20)
        X = X / jnp.linalg.norm(X, axis=1, keepdims=True)
        p0 = {"w": jnp.zeros(5), "b": jnp.array(0.0)}
        out = pv.diff2(_logistic_loss, p0, (X, y), key=jax.random.key(0), num_steps=8, learning_rate=0.5,
                       clip_norm=1e3, noise_multiplier_grad=1e-12, noise_multiplier_diff=1e-12,
                       smoothness=1e3, restart_every=4, num_clients=5)
        p = p0
        f = lambda p: jnp.mean(jax.vmap(_logistic_loss, in_axes=(None, 0))(p, (X, y)))  # noqa: E731
        gf = jax.jit(jax.grad(f))
        for _ in range(8):
            p = jax.tree_util.tree_map(lambda a, b: a - 0.5 * b, p, gf(p))
        assert _rel(out.params["w"], p["w"]) < tol
        gn = sum(float(jnp.sum(v**2)) for v in jax.tree_util.tree_leaves(gf(p)))
        np.testing.assert_allclose(out.grad_norms_sq[-1], gn, rtol=tol)


def test_diff2_compiles_once_per_shape():
    X, y = (v.astype(jnp.float32) for v in _logistic_data(20))
    kw = dict(num_steps=5, clip_norm=1.0, noise_multiplier_grad=1.0, noise_multiplier_diff=1.0,
              smoothness=1.0, restart_every=2, num_clients=2)
    p0 = {"w": jnp.zeros(5), "b": jnp.array(0.0)}
    t0 = time.perf_counter()
    jax.block_until_ready(pv.diff2(_logistic_loss, p0, (X, y), key=jax.random.key(0), learning_rate=0.1, **kw))
    cold = time.perf_counter() - t0
    n = pv.gradient_differences._diff2._cache_size()
    X2, y2 = (v.astype(jnp.float32) for v in _logistic_data(20, seed=1))
    t0 = time.perf_counter()
    out = pv.diff2(_logistic_loss, {"w": jnp.ones(5), "b": jnp.array(1.0)}, (X2, y2), key=jax.random.key(1),
                   learning_rate=0.3, **{**kw, "restart_every": 3, "smoothness": 2.0})
    jax.block_until_ready(out)
    warm = time.perf_counter() - t0
    assert pv.gradient_differences._diff2._cache_size() == n


# --------------------------------------------------------------------- ghost clipping / book-keeping


def _mlp_params(seed, dims, dtype):
    r = np.random.default_rng(seed)
    return [
        (jnp.array(r.normal(size=(o, i)) / np.sqrt(i), dtype), jnp.array(r.normal(size=o) * 0.1, dtype))
        for i, o in zip(dims[:-1], dims[1:])
    ]


def _sq_loss(out, y):
    return 0.5 * jnp.sum((out - y) ** 2)


def _numpy_per_example_grads(params, X, Y, tau):
    """Per-example gradients of ℓ = log(1 + e^{−τ y f(x)}) for a ReLU MLP, materialised one
    example at a time by hand-written backpropagation in float64 NumPy."""
    P = [(np.asarray(W, float), np.asarray(b, float)) for W, b in params]
    out = []
    for x, y in zip(np.asarray(X, float), np.asarray(Y, float)):
        hs, zs = [x], []
        for layer, (W, b) in enumerate(P):
            zs.append(W @ hs[-1] + b)
            hs.append(np.maximum(zs[-1], 0.0) if layer < len(P) - 1 else zs[-1])
        f = hs[-1][0]
        delta = np.array([-tau * y / (1.0 + np.exp(tau * y * f))])  # ∂ℓ/∂f
        grads = [None] * len(P)
        for layer in reversed(range(len(P))):
            grads[layer] = (np.outer(delta, hs[layer]), delta.copy())
            if layer:
                delta = (P[layer][0].T @ delta) * (zs[layer - 1] > 0)
        out.append(grads)
    return out


@pytest.mark.parametrize("dtype,tol", [("float32", 5e-6), ("float64", 1e-12)])
def test_ghost_norms_logistic_regression_closed_form(dtype, tol):
    # one layer: ‖∇ℓ_i‖ = σ(−y(wᵀx+b)) √(‖x‖² + 1); float32 measured 2.4e-7
    with jax.enable_x64(dtype == "float64"):
        X, y = (v.astype(dtype) for v in _logistic_data(40))
        w, b = np.random.default_rng(1).normal(size=5), 0.3
        params = [(jnp.array(w[None, :], dtype), jnp.array([b], dtype))]
        norms = pv.ghost_norms(lambda out, t: jnp.logaddexp(0.0, -t * out[0]), params, (X, y))
        assert norms.dtype == jnp.dtype(dtype)
        Xd, yd = np.asarray(X, float), np.asarray(y, float)
        ref = np.sqrt(np.sum(Xd**2, 1) + 1) / (1 + np.exp(yd * (Xd @ w + b)))
        np.testing.assert_allclose(norms, ref, rtol=tol)


@pytest.mark.parametrize("dtype,tol", [("float32", 5e-6), ("float64", 1e-12)])
def test_ghost_norms_and_clip_match_a_numpy_per_example_loop(dtype, tol):
    # float32 over 20 draws: norms 1.1e-6, clipped sum 1.0e-6 (relative)
    tau = 4.0
    with jax.enable_x64(dtype == "float64"):
        for seed in range(3):
            params = _mlp_params(seed, [2, 16, 8, 1], dtype)
            r = np.random.default_rng(seed + 10)
            X = jnp.array(r.normal(size=(24, 2)) * r.lognormal(0, 1, (24, 1)), dtype)
            Y = jnp.array(r.integers(0, 2, 24) * 2 - 1.0, dtype)
            ol = lambda out, t: jnp.logaddexp(0.0, -tau * t * out[0])  # noqa: E731
            ref = _numpy_per_example_grads(params, X, Y, tau)
            ref_norms = np.array([np.sqrt(sum(np.sum(W**2) + np.sum(b**2) for W, b in g)) for g in ref])
            np.testing.assert_allclose(pv.ghost_norms(ol, params, (X, Y)), ref_norms, rtol=tol)
            C = float(np.median(ref_norms))  # half of the examples are clipped
            res = pv.ghost_clip(ol, params, (X, Y), C)
            c = np.minimum(1.0, C / ref_norms)
            np.testing.assert_allclose(res.factors, c, rtol=tol)
            assert 0 < np.sum(c < 1) < len(c)
            for layer, (W, b) in enumerate(res.clipped_sum):
                refW = sum(ci * g[layer][0] for ci, g in zip(c, ref))
                refb = sum(ci * g[layer][1] for ci, g in zip(c, ref))
                assert W.dtype == jnp.dtype(dtype)
                assert _rel(W, refW) < tol and _rel(b, refb) < tol


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("dtype,tol", [("float32", 5e-6), ("float64", 1e-12)])
def test_ghost_norms_equal_per_example_norms(activation, dtype, tol):
    # the vmap(grad) route of per_example_grads, plain and sequence inputs (Gram trick, T = 5)
    with jax.enable_x64(dtype == "float64"):
        params = _mlp_params(0, [3, 16, 8, 2], dtype)
        r = np.random.default_rng(1)
        X, Y = jnp.array(r.normal(size=(32, 3)), dtype), jnp.array(r.normal(size=(32, 2)), dtype)
        XS, YS = jnp.array(r.normal(size=(32, 5, 3)), dtype), jnp.array(r.normal(size=(32, 5, 2)), dtype)

        def loss(p, z):
            return _sq_loss(lp.mlp_apply(p, z[0], activation), z[1])

        def seq_loss(p, z):
            return _sq_loss(jax.vmap(lambda xt: lp.mlp_apply(p, xt, activation))(z[0]), z[1])

        for data, ell in (((X, Y), loss), ((XS, YS), seq_loss)):
            ref = pv.per_example_norms(pv.per_example_grads(ell, params, data))
            np.testing.assert_allclose(pv.ghost_norms(_sq_loss, params, data, activation=activation), ref, rtol=tol)


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float64", 1e-13)])
def test_ghost_dp_sgd_step_equals_dp_sgd_on_per_example_gradients(dtype, tol):
    # the same noise draws; float32 measured 2.0e-6 relative to the largest update entry
    with jax.enable_x64(dtype == "float64"):
        params = _mlp_params(2, [3, 16, 2], dtype)
        r = np.random.default_rng(2)
        X, Y = jnp.array(r.normal(size=(20, 3)) * 3, dtype), jnp.array(r.normal(size=(20, 2)), dtype)

        def loss(p, z):
            return _sq_loss(lp.mlp_apply(p, z[0]), z[1])

        g = pv.per_example_grads(loss, params, (X, Y))
        C = float(np.median(pv.per_example_norms(g)))
        for k in jax.random.split(jax.random.key(0), 3):
            opt = pv.dp_sgd(0.1, C, 1.3, key=k)
            u, _ = opt.update(g, opt.init(params), params)
            new = pv.ghost_dp_sgd_step(_sq_loss, params, (X, Y), learning_rate=0.1, clip_norm=C,
                                       noise_multiplier=1.3, key=k)
            for p0, du, p1 in zip(*(jax.tree_util.tree_leaves(t) for t in (params, u, new)), strict=True):
                assert p1.dtype == jnp.dtype(dtype)
                assert np.abs(np.asarray(p0 + du - p1)).max() <= tol * np.abs(np.asarray(du)).max()


def test_ghost_functions_compile_once_per_shape_and_work_under_jit():
    params = _mlp_params(0, [3, 8, 2], jnp.float32)
    r = np.random.default_rng(0)
    X, Y = jnp.array(r.normal(size=(16, 3)), jnp.float32), jnp.array(r.normal(size=(16, 2)), jnp.float32)
    pv.ghost_clip(_sq_loss, params, (X, Y), 0.5)
    n = pv.ghost_clipping._ghost_clip._cache_size()
    pv.ghost_clip(_sq_loss, _mlp_params(1, [3, 8, 2], jnp.float32), (X + 1.0, Y), 2.0)
    assert pv.ghost_clipping._ghost_clip._cache_size() == n
    traced = jax.jit(lambda p, c: pv.ghost_clip(_sq_loss, p, (X, Y), c).norms)(params, 0.5)
    np.testing.assert_allclose(traced, pv.ghost_norms(_sq_loss, params, (X, Y)), rtol=1e-6)


def test_book_keeping_materialises_far_less_than_per_example_clipping():
    # XLA's temporary buffers of the clipped sum, B = 128, width 256 (measured ratio ~50)
    params = _mlp_params(0, [2, 256, 256, 1], jnp.float32)
    X, Y = jnp.ones((128, 2)), jnp.ones((128, 1))

    def loss(p, z):
        return _sq_loss(lp.mlp_apply(p, z[0]), z[1])

    def per_example(p, x, y):
        g, _ = pv.clip_per_example(pv.per_example_grads(loss, p, (x, y)), 1.0)
        return jax.tree_util.tree_map(lambda a: a.sum(0), g)

    def ghost(p, x, y):
        return pv.ghost_clip(_sq_loss, p, (x, y), 1.0).clipped_sum

    pe, gh = (jax.jit(f).lower(params, X, Y).compile().memory_analysis() for f in (per_example, ghost))
    if pe is None or gh is None:
        pytest.skip("this backend gives no memory analysis")
    per_example_W2 = 128 * 256 * 256 * 4  # bytes of the per-example gradients of the 256 × 256 layer
    assert pe.temp_size_in_bytes >= per_example_W2  # materialised by per-example clipping
    assert gh.temp_size_in_bytes * 10 < pe.temp_size_in_bytes
    assert gh.temp_size_in_bytes * 10 < per_example_W2


def test_ghost_errors():
    params = _mlp_params(0, [3, 4, 2], jnp.float32)
    X, Y = jnp.ones((5, 3)), jnp.ones((5, 2))
    with pytest.raises(TypeError, match="output_loss must be callable"):
        pv.ghost_norms("loss", params, (X, Y))
    with pytest.raises(TypeError, match="batch must be a pair"):
        pv.ghost_norms(_sq_loss, params, X)
    with pytest.raises(ValueError, match=r"batch\[0\] \(inputs\) must have shape \(batch, 3\) or \(batch, T, 3\)"):
        pv.ghost_norms(_sq_loss, params, (jnp.ones((5, 4)), Y))
    with pytest.raises(ValueError, match="same batch size"):
        pv.ghost_norms(_sq_loss, params, (X, Y[:4]))
    with pytest.raises(ValueError, match="activation must be one of"):
        pv.ghost_norms(_sq_loss, params, (X, Y), activation="gelu")
    with pytest.raises(ValueError, match=r"batch\[0\] \(inputs\) contains 1 NaN"):
        pv.ghost_norms(_sq_loss, params, (X.at[0, 0].set(jnp.nan), Y))
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        pv.ghost_clip(_sq_loss, params, (X, Y), 0.0)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        pv.ghost_dp_sgd_step(_sq_loss, params, (X, Y), learning_rate=-0.1, clip_norm=1.0, noise_multiplier=1.0,
                             key=jax.random.key(0))
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        pv.ghost_dp_sgd_step(_sq_loss, params, (X, Y), learning_rate=0.1, clip_norm=1.0, noise_multiplier=1.0,
                             key=0)
    with pytest.raises(ValueError, match="params must be a non-empty list"):
        pv.ghost_norms(_sq_loss, [], (X, Y))


# --------------------------------------------------------------------- errors


def test_errors():
    X, y = _logistic_data(8)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="noise_multiplier must be positive"):
        pv.dp_sgd(0.1, 1.0, 0.0, key=key)
    with pytest.raises(ValueError, match="noise_multiplier must be positive"):
        pv.dp_sgd_privacy(-1.0, 0.1, num_steps=10, delta=1e-5)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        pv.dp_aggregate(0.0, 1.0, key=key)
    with pytest.raises(ValueError, match="clip_norm must be positive"):
        pv.clip_per_example(jnp.ones((2, 3)), -1.0)
    with pytest.raises(ValueError, match="clip_norm must be a 0-D array"):
        pv.clip_per_example(jnp.ones((2, 3)), jnp.ones(2))
    with pytest.raises(ValueError, match=r"sampling_rate must lie in \(0.0, 1.0\]"):
        pv.dp_sgd_privacy(1.0, 0.0, num_steps=10, delta=1e-5)
    with pytest.raises(ValueError, match="sampling_rate must lie in"):
        pv.dp_sgd_privacy(1.0, 1.5, num_steps=10, delta=1e-5)
    with pytest.raises(ValueError, match="sampling_rate must be a scalar"):
        pv.rdp_subsampled_gaussian([0.1, 0.2], 1.0)
    with pytest.raises(ValueError, match=r"delta must lie in \(0.0, 1.0\)"):
        pv.dp_sgd_privacy(1.0, 0.1, num_steps=10, delta=1.0)
    with pytest.raises(ValueError, match="delta must lie in"):
        pv.calibrate_noise(1.0, 0.0, 0.1, num_steps=10)
    with pytest.raises(ValueError, match="orders must be integers >= 2"):
        pv.rdp_subsampled_gaussian(0.1, 1.0, [1.5, 2])
    with pytest.raises(TypeError, match="orders must be a non-empty 1-D sequence"):
        pv.rdp_gaussian(1.0, "abc")
    with pytest.raises(ValueError, match="rdp must have the same shape"):
        pv.rdp_to_epsilon([2, 3], [0.1], 1e-5)
    with pytest.raises(TypeError, match="rdp must be real-numeric"):
        pv.rdp_to_epsilon([2, 3], ["a", "b"], 1e-5)
    with pytest.raises(ValueError, match="conversion must be"):
        pv.rdp_to_epsilon([2, 3], [0.1, 0.2], 1e-5, conversion="zcdp")
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        pv.dp_sgd_privacy(1.0, 0.1, num_steps=10.5, delta=1e-5)
    with pytest.raises(ValueError, match="same batch size"):
        pv.per_example_norms({"a": jnp.ones((3, 2)), "b": jnp.ones((4,))})
    with pytest.raises(ValueError, match="grads must hold at least one example"):
        pv.per_example_norms(jnp.ones((0, 3)))
    with pytest.raises(ValueError, match=r"grads\['b'\] contains 1 NaN"):
        pv.per_example_norms({"a": jnp.ones((1, 2)), "b": jnp.array([jnp.nan])})
    with pytest.raises(ValueError, match="leading batch axis"):
        pv.per_example_grads(_logistic_loss, {"w": jnp.zeros(5), "b": 0.0}, (X[0, 0], y[0]))
    with pytest.raises(ValueError, match="same batch size"):
        pv.per_example_grads(_logistic_loss, {"w": jnp.zeros(5), "b": 0.0}, (X, y[:5]))
    with pytest.raises(TypeError, match="loss must be callable"):
        pv.per_example_grads("loss", {"w": jnp.zeros(5), "b": 0.0}, (X, y))
    with pytest.raises(ValueError, match="divisible by num_clients"):
        pv.diff2(_logistic_loss, {"w": jnp.zeros(5), "b": jnp.array(0.0)}, (X, y), key=key, num_steps=2,
                 learning_rate=0.1, clip_norm=1.0, noise_multiplier_grad=1.0, noise_multiplier_diff=1.0,
                 smoothness=1.0, restart_every=2, num_clients=3)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        pv.diff2(_logistic_loss, {"w": jnp.zeros(5), "b": jnp.array(0.0)}, (X, y), key=0, num_steps=2,
                 learning_rate=0.1, clip_norm=1.0, noise_multiplier_grad=1.0, noise_multiplier_diff=1.0,
                 smoothness=1.0, restart_every=2)
    with pytest.raises(ValueError, match="noise_multiplier_diff must be positive"):
        pv.diff2_privacy(1.0, 0.0, num_steps=10, restart_every=2, delta=1e-5)
    with pytest.raises(ValueError, match="x_norms must be non-negative"):
        pv.param_grad_bound([1.0], [0.0], jnp.array([-1.0]))
    with pytest.raises(ValueError, match="equal length"):
        pv.param_grad_bound([1.0, 1.0], [0.0], 1.0)
    with pytest.raises(ValueError, match="target_epsilon must be positive"):
        pv.calibrate_noise(0.0, 1e-5, 0.1, num_steps=10)
    with pytest.raises(ValueError, match=r"^tol must lie in \(0.0, 1.0\)"):
        pv.calibrate_noise(1.0, 1e-5, 0.1, num_steps=10, tol=2.0)
    with pytest.raises(ValueError, match="params must be a non-empty list"):
        pv.project_mlp([])


# --------------------------------------------------------------------- figures


def test_figures_build_and_are_small():
    figs = [
        pviz.epsilon_figure([10, 100, 1000], {"σ=1": [0.1, 0.5, 2.0]}, {"σ=1": [0.1, 0.5, 2.0]}),
        pviz.clip_sweep_figure(np.logspace(-2, 1, 7), [1.0, 2.0], np.random.default_rng(0).uniform(size=(2, 7)),
                               min_lipschitz=0.1, max_lipschitz=5.0, norms=np.random.default_rng(1).lognormal(size=50)),
        pviz.privacy_utility_figure([0.5, 1, 2], {"a": [0.6, 0.7, 0.8], "b": [0.5, 0.6, 0.7]}),
        pviz.norm_bound_figure(np.arange(5), np.random.default_rng(0).uniform(size=(5, 20)), np.ones(20)),
        pviz.diff2_figure([1000, 4000], {"DP-GD": np.ones((2, 10)), "DIFF2": 0.5 * np.ones((2, 10))}),
        pviz.ghost_memory_figure([64, 256], {"a": [1e6, 1e7], "a (count)": [1e6, 1e7]}, [8, 16, 32],
                                 {"a": [1e5, 2e5, 4e5], "a (count)": [1e5, 2e5, 4e5]}),
    ]
    for f in figs:
        assert len(f.to_json()) < 1_000_000
    with pytest.raises(ValueError, match="curve 'a' must have 2 values"):
        pviz.ghost_memory_figure([64, 256], {"a": [1.0]}, [8], {"a": [1.0]})
    with pytest.raises(ValueError, match="shape"):
        pviz.clip_sweep_figure([1, 2], [1.0], np.ones((2, 2)), min_lipschitz=0.1, max_lipschitz=1.0)
