"""optlab.online against independent references: numpy re-implementations and closed forms,
optax (AdaGrad), scipy (best fixed point), and the standard regret bounds."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammaln



from optlab import online as ol  # noqa: E402
from optlab.viz import online as viz_ol  # noqa: E402

SETTINGS = settings(max_examples=20, deadline=None)


@pytest.fixture(params=["float32", "float64"])
def prec(request):
    """Run an exactness check in the readers' float32 and again in float64."""
    if request.param == "float64":
        with jax.enable_x64(True):
            yield "float64"
    else:
        yield "float32"


def tol(prec, f64, f32=5e-6):
    """float64 tolerance, or the float32 one (measured errors <= 1e-6 on O(1) values)."""
    return f64 if prec == "float64" else f32


def _np_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _quad(x, c):
    return 0.5 * jnp.sum((x - c) ** 2)


def _linear(x, g):
    return jnp.dot(g, x)


# ---------------------------------------------------------------- Hedge

@SETTINGS
@given(seed=st.integers(0, 10_000), T=st.sampled_from([1, 60]), n=st.sampled_from([1, 8]),
       eta=st.floats(0.01, 5.0))
def test_hedge_is_softmax_of_cumulative_losses(seed, T, n, eta):
    losses = np.random.default_rng(seed).random((T, n))
    out = ol.hedge(losses, learning_rate=eta)
    cum_prev = np.vstack([np.zeros(n), np.cumsum(losses, 0)[:-1]])
    w = _np_softmax(-eta * cum_prev)
    # float32 (measured): weights within 8e-7, regret within 2e-6 relative to its scale
    np.testing.assert_allclose(out.weights, w, atol=5e-6)
    lt = (w * losses).sum(1)
    np.testing.assert_allclose(out.losses, lt, atol=5e-6)
    regret = np.cumsum(lt) - np.cumsum(losses, 0).min(1)
    np.testing.assert_allclose(out.regret, regret, atol=2e-5 * max(1.0, np.abs(np.cumsum(lt)).max()))


@SETTINGS
@given(seed=st.integers(0, 10_000), T=st.sampled_from([7, 200]), n=st.sampled_from([2, 10]),
       eta=st.floats(0.005, 3.0))
def test_hedge_regret_bound_holds(seed, T, n, eta):
    rng = np.random.default_rng(seed)
    losses = (rng.random((T, n)) < rng.random(n)).astype(float)  # adversarial-ish 0/1 losses
    out = ol.hedge(losses, learning_rate=eta)
    bound = ol.hedge_regret_bound(n, T, learning_rate=eta)
    assert np.all(np.asarray(out.regret) <= math.log(n) / eta + eta * np.arange(1, T + 1) / 8 + 1e-9)
    assert float(out.regret[-1]) <= bound + 1e-9


def test_hedge_is_the_multiplicative_mirror_step_and_respects_a_prior(prec):
    rng = np.random.default_rng(1)
    losses, eta = rng.random((30, 5)), 0.7
    prior = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    out = ol.hedge(losses, learning_rate=eta, prior=prior)
    p = prior.copy()
    for t in range(30):
        np.testing.assert_allclose(out.weights[t], p, atol=tol(prec, 1e-12))
        p = p * np.exp(-eta * losses[t])
        p /= p.sum()


def test_optimistic_hedge_hints(prec):
    rng = np.random.default_rng(2)
    losses, eta = rng.random((40, 4)), 0.5
    zero = ol.optimistic_hedge(losses, learning_rate=eta, hints=np.zeros((40, 4)))
    np.testing.assert_allclose(zero.weights, ol.hedge(losses, learning_rate=eta).weights, atol=tol(prec, 1e-14, 1e-7))
    last = ol.optimistic_hedge(losses, learning_rate=eta, hints="last")
    cum_prev = np.vstack([np.zeros(4), np.cumsum(losses, 0)[:-1]])
    m = np.vstack([np.zeros(4), losses[:-1]])
    np.testing.assert_allclose(last.weights, _np_softmax(-eta * (cum_prev + m)), atol=tol(prec, 1e-12))
    # constant losses: the hint is exact after round 1 and optimism's regret is smaller
    const = np.tile(rng.random(4), (200, 1))
    assert float(ol.optimistic_hedge(const, learning_rate=eta).regret[-1]) < float(ol.hedge(const, learning_rate=eta).regret[-1])


def test_hedge_vmaps_over_eta():
    losses = np.random.default_rng(3).random((50, 6))
    etas = jnp.array([0.1, 0.5, 2.0])
    batched = jax.vmap(lambda e: ol.hedge(losses, learning_rate=e).regret)(etas)
    for i, e in enumerate(etas):
        np.testing.assert_allclose(batched[i], ol.hedge(losses, learning_rate=float(e)).regret, atol=1e-12)


# ---------------------------------------------------------------- OGD / optimistic / AdaGrad

@pytest.mark.parametrize("schedule", ["constant", "sqrt", "adaptive"])
def test_ogd_matches_numpy_loop_on_fixed_quadratics(schedule, prec):
    rng = np.random.default_rng(4)
    T, d, eta, R = 40, 3, 0.3, 0.8
    c = rng.normal(size=(T, d))
    out = ol.ogd(_quad, c, np.zeros(d), learning_rate=eta, radius=R, schedule=schedule)
    x, acc = np.zeros(d), 0.0
    for t in range(T):
        np.testing.assert_allclose(out.predictions[t], x, atol=tol(prec, 1e-12))
        g = x - c[t]
        acc += g @ g
        e = {"constant": eta, "sqrt": eta / np.sqrt(t + 1), "adaptive": eta / np.sqrt(1e-12 + acc)}[schedule]
        x = np.clip(x - e * g, -R, R)
    np.testing.assert_allclose(out.losses, 0.5 * ((np.asarray(out.predictions) - c) ** 2).sum(1),
                               atol=tol(prec, 1e-12))


def test_ogd_closed_form_on_a_constant_linear_loss(prec):
    # f_t(x) = <g, x> on [-1, 1]^2, eta_t = eta (constant): x_t = clip(-eta (t-1) g)
    g = np.array([0.2, -0.05])
    out = ol.ogd(_linear, np.tile(g, (30, 1)), np.zeros(2), learning_rate=0.5, radius=1.0, schedule="constant")
    t = np.arange(30)[:, None]
    np.testing.assert_allclose(out.predictions, np.clip(-0.5 * t * g, -1, 1), atol=tol(prec, 1e-12))


@SETTINGS
@given(seed=st.integers(0, 10_000), T=st.sampled_from([5, 300]))
def test_ogd_zinkevich_bound_on_linear_losses(seed, T):
    rng = np.random.default_rng(seed)
    d, R = 3, 1.0
    gs = rng.uniform(-1, 1, size=(T, d))
    D, G = 2 * R * math.sqrt(d), math.sqrt(d)
    out = ol.ogd(_linear, gs, np.zeros(d), learning_rate=D / G, radius=R, schedule="sqrt")
    best = -np.abs(gs.sum(0)).sum() * R  # min over the box of a linear function
    regret = float(np.sum(out.losses)) - best
    assert regret <= 1.5 * D * G * math.sqrt(T) + 1e-9


def test_optimistic_with_zero_hint_is_ogd():
    rng = np.random.default_rng(5)
    c = rng.normal(size=(60, 4))
    for schedule in ("constant", "sqrt", "adaptive"):
        a = ol.optimistic_ogd(ol.logcosh_loss, c, np.ones(4), learning_rate=0.4, radius=2.0, schedule=schedule,
                              hint="zero")
        b = ol.ogd(ol.logcosh_loss, c, np.ones(4), learning_rate=0.4, radius=2.0, schedule=schedule)
        np.testing.assert_allclose(a.predictions, b.predictions, atol=1e-12)
        np.testing.assert_allclose(a.losses, b.losses, atol=1e-12)


def test_optimistic_matches_numpy_two_sequence_loop(prec):
    rng = np.random.default_rng(6)
    T, d, eta, R = 50, 2, 0.2, 1.0
    gs = rng.normal(size=(T, d))
    out = ol.optimistic_ogd(_linear, gs, np.zeros(d), learning_rate=eta, radius=R, schedule="constant")
    y, m, e_prev = np.zeros(d), np.zeros(d), 0.0
    for t in range(T):
        x = np.clip(y - e_prev * m, -R, R)
        np.testing.assert_allclose(out.predictions[t], x, atol=tol(prec, 1e-12))
        y = np.clip(y - eta * gs[t], -R, R)
        m, e_prev = gs[t], eta


@SETTINGS
@given(seed=st.integers(0, 10_000), T=st.sampled_from([5, 200]), eta=st.floats(0.01, 1.0),
       wobble=st.floats(0.0, 1.0))
def test_optimistic_regret_bound_with_hints(seed, T, eta, wobble):
    # R_T(u) <= ||u - y_1||^2/(2 eta) + (eta/2) sum ||g_t - M_t||^2 for every u in X (linear losses)
    rng = np.random.default_rng(seed)
    d, R = 3, 1.0
    base = rng.uniform(-1, 1, size=d)
    gs = base + wobble * rng.uniform(-1, 1, size=(T, d))
    out = ol.optimistic_ogd(_linear, gs, np.zeros(d), learning_rate=eta, radius=R, schedule="constant")
    u = -R * np.sign(gs.sum(0))
    regret = float(np.sum(out.losses)) - float(gs.sum(0) @ u)
    M = np.vstack([np.zeros(d), gs[:-1]])
    bound = (u @ u) / (2 * eta) + 0.5 * eta * np.sum((gs - M) ** 2)
    assert regret <= bound + 1e-9


def test_adagrad_omd_matches_optax_unconstrained():
    rng = np.random.default_rng(7)
    T, d, eta, delta = 40, 3, 0.3, 0.1
    c = rng.normal(size=(T, d))
    out = ol.adagrad_omd(ol.logcosh_loss, c, np.zeros(d), learning_rate=eta, delta=delta)
    opt = optax.adagrad(eta, initial_accumulator_value=delta, eps=0.0)
    x = jnp.zeros(d)
    state = opt.init(x)
    for t in range(T):
        np.testing.assert_allclose(out.predictions[t], x, atol=1e-6)
        g = jax.grad(ol.logcosh_loss)(x, c[t])
        upd, state = opt.update(g, state)
        x = optax.apply_updates(x, upd)


def test_adagrad_projection_is_the_clip():
    c = np.full((20, 2), 10.0)
    out = ol.adagrad_omd(_quad, c, np.zeros(2), learning_rate=5.0, radius=1.0)
    assert np.all(np.abs(np.asarray(out.predictions)) <= 1.0 + 1e-12)
    np.testing.assert_allclose(out.predictions[-1], [1.0, 1.0])


# ---------------------------------------------------------------- coin betting

def test_coin_betting_wealth_identities(prec):
    rng = np.random.default_rng(8)
    T, d, eps = 300, 4, 0.5
    c = rng.normal(size=(T, d)) + 2.0
    x0 = np.array([0.1, -0.2, 0.0, 0.3])
    out = ol.coin_betting(ol.logcosh_loss, c, x0, initial_wealth=eps)
    g, x, beta = np.asarray(out.grads), np.asarray(out.predictions), np.asarray(out.fractions)
    # W_T = eps - sum_t g_t (x_t - x0)  (wealth = minus the linear loss)
    # float32 (measured): 8e-7 relative after T = 300 rounds
    np.testing.assert_allclose(out.wealth[-1], eps - np.sum(g * (x - x0), 0), rtol=tol(prec, 1e-10, 1e-5))
    # W_T = eps prod_t (1 - g_t beta_t)
    np.testing.assert_allclose(out.wealth[-1], eps * np.prod(1 - g * beta, 0), rtol=tol(prec, 1e-10, 1e-5))
    # KT fraction beta_t = -(sum_{s<t} g_s)/t
    cum_prev = np.vstack([np.zeros(d), np.cumsum(-g, 0)[:-1]])
    np.testing.assert_allclose(beta, cum_prev / np.arange(1, T + 1)[:, None], atol=tol(prec, 1e-12))
    assert np.all(np.asarray(out.wealth) > 0)


@SETTINGS
@given(seed=st.integers(0, 10_000), T=st.sampled_from([1, 2, 80]))
def test_kt_wealth_closed_form_on_coin_flips(seed, T):
    # coins c_t = +-1: W_T = eps 2^T Gamma(a+1/2) Gamma(b+1/2) / (pi Gamma(T+1)), a heads, b tails
    coins = np.random.default_rng(seed).choice([-1.0, 1.0], size=(T, 1))
    out = ol.coin_betting(_linear, -coins, np.zeros(1), initial_wealth=1.0)
    a, b = int((coins > 0).sum()), int((coins < 0).sum())
    log_w = T * math.log(2) + gammaln(a + 0.5) + gammaln(b + 0.5) - math.log(math.pi) - gammaln(T + 1)
    # float32 (measured): 4.6e-7 after 80 rounds; rounding accumulates linearly in T
    np.testing.assert_allclose(np.log(float(out.wealth[-1, 0])), log_w, atol=1e-6 + 5e-8 * T)


def test_coin_betting_is_competitive_without_a_step_size():
    rng = np.random.default_rng(9)
    T, d = 1000, 3
    c = 2.0 + 0.3 * rng.normal(size=(T, d))
    out = ol.coin_betting(ol.logcosh_loss, c, np.zeros(d))
    reg = float(ol.regret_at(out, ol.logcosh_loss, c)[0])
    u_norm = float(np.linalg.norm(ol.best_fixed(ol.logcosh_loss, c)[0][0]))
    # R_T(u) = O(||u|| sqrt(T log(||u|| T))): sublinear and within a small multiple of that
    assert 0 < reg < u_norm * math.sqrt(T * math.log(u_norm * T))


def test_coin_betting_rejects_unbounded_gradients():
    with pytest.raises(ValueError, match="lipschitz"):
        ol.coin_betting(_quad, np.full((10, 2), 5.0), np.zeros(2), lipschitz=1.0)


# ---------------------------------------------------------------- comparator and regret

def test_best_fixed_matches_scipy():
    rng = np.random.default_rng(10)
    c = rng.normal(size=(200, 3)) * 0.8 + 0.5
    hs = np.array([20, 200])
    u, tot = ol.best_fixed(ol.logcosh_loss, c, radius=1.0, horizons=hs, num_steps=500)
    for k, h in enumerate(hs):
        def fun(v, h=h):
            z = np.abs(v[None, :] - c[:h])
            return float(np.sum(z + np.log1p(np.exp(-2 * z)) - np.log(2)))
        ref = scipy.optimize.minimize(fun, np.zeros(3), bounds=[(-1, 1)] * 3, method="L-BFGS-B",
                                      options=dict(ftol=1e-14, gtol=1e-10))
        np.testing.assert_allclose(u[k], ref.x, atol=1e-4)  # float32: measured 1.2e-5
        np.testing.assert_allclose(tot[k], ref.fun, rtol=1e-6)  # float32: measured 3e-7


def test_regret_at_is_cumulative_loss_minus_best():
    rng = np.random.default_rng(11)
    c = rng.normal(size=(100, 2))
    out = ol.ogd(ol.logcosh_loss, c, np.zeros(2), learning_rate=1.0)
    hs = np.array([10, 50, 100])
    _, best = ol.best_fixed(ol.logcosh_loss, c, horizons=hs)
    np.testing.assert_allclose(ol.regret_at(out, ol.logcosh_loss, c, hs),
                               np.cumsum(out.losses)[hs - 1] - best, rtol=1e-6, atol=1e-5)


def test_sea_centers_structure(prec):
    c0 = ol.sea_centers(200, 3, 0.0, 0.0, key=jax.random.key(0))
    np.testing.assert_allclose(c0, 0.5)
    cd = np.asarray(ol.sea_centers(200, 3, 0.0, 1.0, key=jax.random.key(0), period=50))
    np.testing.assert_allclose(np.linalg.norm(cd - 0.5, axis=1), 1.0, atol=tol(prec, 1e-12, 1e-6))
    np.testing.assert_allclose(cd[0] - 0.5, -(cd[50] - 0.5), atol=tol(prec, 1e-12, 1e-6))
    cn = np.asarray(ol.sea_centers(4000, 2, 0.3, 0.0, key=jax.random.key(0)))
    assert abs(cn.std() - 0.3) < 0.02
    # traced noise/drift: a grid of environments is one vmap
    grid = jax.vmap(lambda s: ol.sea_centers(10, 2, s, 0.5, key=jax.random.key(0)))(jnp.array([0.0, 1.0]))
    assert grid.shape == (2, 10, 2)


def test_regret_flat_when_predictable():
    c = ol.sea_centers(1000, 4, 0.0, 0.0, key=jax.random.key(1))
    out = ol.ogd(ol.logcosh_loss, c, np.zeros(4), learning_rate=1.0, radius=5.0, schedule="adaptive", max_learning_rate=0.25)
    r = np.asarray(ol.regret_at(out, ol.logcosh_loss, c, np.array([100, 1000]), radius=5.0))
    assert r[1] <= 1.01 * r[0] + 1e-6


# ---------------------------------------------------------------- EXP3

def test_exp3_probabilities_match_numpy_replay(prec):
    rng = np.random.default_rng(12)
    T, K, eta, gamma = 80, 5, 0.3, 0.1
    losses = rng.random((T, K))
    out = ol.exp3(losses, learning_rate=eta, key=jax.random.key(3), gamma=gamma)
    L_hat = np.zeros(K)
    arms = np.asarray(out.arms)
    for t in range(T):
        p = (1 - gamma) * _np_softmax(-eta * L_hat) + gamma / K
        np.testing.assert_allclose(out.probs[t], p, atol=tol(prec, 1e-12, 1e-5))
        i = arms[t]
        assert float(out.losses[t]) == np.asarray(out.losses.dtype.type(losses[t, i]))
        L_hat[i] += losses[t, i] / p[i]
    best = np.cumsum(losses, 0).min(1)
    np.testing.assert_allclose(out.regret, np.cumsum(losses[np.arange(T), arms]) - best,
                               atol=tol(prec, 1e-10, 1e-5 * T))
    np.testing.assert_allclose(out.pseudo_regret,
                               np.cumsum((np.asarray(out.probs) * losses).sum(1)) - best,
                               atol=tol(prec, 1e-10, 1e-5 * T))


def test_exp3_expected_regret_below_bound():
    rng = np.random.default_rng(13)
    T, K = 400, 4
    means = np.array([0.3, 0.5, 0.55, 0.7])
    losses = (rng.random((T, K)) < means).astype(float)
    eta = math.sqrt(2 * math.log(K) / (T * K))
    keys = jax.random.split(jax.random.key(4), 64)
    reg = np.asarray(jax.vmap(lambda k: ol.exp3(losses, learning_rate=eta, key=k).pseudo_regret[-1])(keys))
    bound = math.log(K) / eta + eta * T * K / 2
    assert reg.mean() < bound
    assert reg.mean() > 0  # it does pay for exploration


def test_exp3_arm_frequencies_follow_probs():
    losses = np.tile([0.9, 0.1, 0.5], (2000, 1))
    out = ol.exp3(losses, learning_rate=0.0 + 1e-9, key=jax.random.key(5), gamma=0.0)  # eta -> 0: uniform sampling
    counts = np.bincount(np.asarray(out.arms), minlength=3) / 2000
    np.testing.assert_allclose(counts, 1 / 3, atol=0.04)


# ---------------------------------------------------------------- errors

def test_errors():
    c = np.zeros((5, 2))
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        ol.ogd(_quad, c, np.zeros(2), learning_rate=-0.1)
    with pytest.raises(ValueError, match="schedule must be one of"):
        ol.ogd(_quad, c, np.zeros(2), learning_rate=0.1, schedule="cosine")
    with pytest.raises(ValueError, match="radius must be positive"):
        ol.optimistic_ogd(_quad, c, np.zeros(2), learning_rate=0.1, radius=0.0)
    with pytest.raises(ValueError, match="hint must be"):
        ol.optimistic_ogd(_quad, c, np.zeros(2), learning_rate=0.1, hint="mean")
    with pytest.raises(ValueError, match="x0 must be a 1-D array"):
        ol.ogd(_quad, c, np.zeros((2, 1)), learning_rate=0.1)
    with pytest.raises(ValueError, match="thetas contains 1 NaN"):
        ol.adagrad_omd(_quad, np.array([[0.0, np.nan]]), np.zeros(2), learning_rate=0.1)
    with pytest.raises(ValueError, match="losses must be a 2-D array"):
        ol.hedge(np.zeros(5), learning_rate=0.1)
    with pytest.raises(ValueError, match="losses contains"):
        ol.hedge(np.array([[0.0, np.inf]]), learning_rate=0.1)
    with pytest.raises(ValueError, match="prior must sum to 1"):
        ol.hedge(np.zeros((3, 2)), learning_rate=0.1, prior=np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match=r"hints must have shape \(3, 2\)"):
        ol.optimistic_hedge(np.zeros((3, 2)), learning_rate=0.1, hints=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"losses must lie in \[0.0, 1.0\]"):
        ol.exp3(np.full((3, 2), 2.0), learning_rate=0.1, key=jax.random.key(0))
    with pytest.raises(ValueError, match="gamma must lie in"):
        ol.exp3(np.zeros((3, 2)), learning_rate=0.1, key=jax.random.key(0), gamma=1.0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        ol.exp3(np.zeros((3, 2)), learning_rate=0.1, key=0)
    with pytest.raises(ValueError, match="horizons must lie in"):
        ol.best_fixed(_quad, c, horizons=np.array([6]))
    with pytest.raises(ValueError, match="noise must be non-negative"):
        ol.sea_centers(10, 2, -1.0, 0.0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="initial_wealth must be positive"):
        ol.coin_betting(_quad, c, np.zeros(2), initial_wealth=0.0)


def test_learners_jit_and_vmap_over_step_sizes():
    c = ol.sea_centers(100, 3, 0.2, 0.1, key=jax.random.key(2))
    etas = jnp.array([0.05, 0.5, 2.0])
    f = jax.jit(jax.vmap(lambda e: ol.ogd(ol.logcosh_loss, c, jnp.zeros(3), learning_rate=e, radius=5.0).losses))
    batched = f(etas)
    for i, e in enumerate([0.05, 0.5, 2.0]):
        np.testing.assert_allclose(batched[i], ol.ogd(ol.logcosh_loss, c, jnp.zeros(3), learning_rate=e, radius=5.0).losses,
                                   atol=1e-12)


# ---------------------------------------------------------------- figures

def test_figures():
    R = np.random.default_rng(0).normal(size=(2, 3, 4, 5))
    fig = viz_ol.regret_heatmap(R, ["OGD", "optimistic"], [10, 20, 40], [0, 0.1, 0.2, 0.3],
                                [0, 1, 2, 3, 4])
    assert len(fig.data) == 6 and len(fig.layout.sliders[0].steps) == 3
    assert sum(bool(tr.visible) for tr in fig.data) == 2
    assert len(json.dumps(fig.to_plotly_json(), default=str)) < 1_000_000
    with pytest.raises(ValueError, match="regret must have shape"):
        viz_ol.regret_heatmap(R[0], ["a"], [1], [0], [0])
    fig = viz_ol.regret_curves({"OGD": np.ones((2, 3)), "opt": np.ones((2, 3))}, [10, 20, 40],
                               ["a", "b"])
    assert len(fig.layout.sliders[0].steps) == 2
    with pytest.raises(ValueError, match="each regret curve"):
        viz_ol.regret_curves({"OGD": np.ones(3)}, [10, 20, 40], ["a"])
    fig = viz_ol.step_size_sweep(np.logspace(-2, 1, 4), np.ones((2, 4)), np.ones(2), [1, 2])
    assert len(fig.data) == 4
    with pytest.raises(ValueError, match="regret_ogd must be"):
        viz_ol.step_size_sweep(np.logspace(-2, 1, 4), np.ones((2, 3)), np.ones(2), [1, 2])
    P = np.full((10, 3), 1 / 3)
    fig = viz_ol.sor_bandit({"EXP3": np.ones(10)}, P, np.ones((10, 3)), [1.0, 1.4, 1.8],
                            np.full(10, 1.5), [0, 4, 9])
    assert len(fig.layout.sliders[0].steps) == 3 and len(fig.data) == 1 + 9
    with pytest.raises(ValueError, match="probs and n_iters"):
        viz_ol.sor_bandit({"EXP3": np.ones(10)}, P, np.ones((10, 4)), [1.0, 1.4, 1.8],
                          np.full(10, 1.5), [0])


def test_results_carry_the_last_play_as_params():
    c = ol.sea_centers(20, 3, 0.2, 0.1, key=jax.random.key(4))
    out = ol.ogd(ol.logcosh_loss, c, jnp.zeros(3), learning_rate=0.5)
    np.testing.assert_array_equal(out.params, out.predictions[-1])
    coin = ol.coin_betting(ol.logcosh_loss, c, jnp.zeros(3))
    np.testing.assert_array_equal(coin.params, coin.predictions[-1])
    L = np.random.default_rng(3).random((30, 4))
    h = ol.hedge(L, learning_rate=0.3)
    np.testing.assert_array_equal(h.params, h.weights[-1])
    b = ol.exp3(L, learning_rate=0.3, key=jax.random.key(0))
    np.testing.assert_array_equal(b.params, b.probs[-1])
    # batch-safe: under vmap the round axis is the second to last
    hs = jax.vmap(lambda e: ol.hedge(L, learning_rate=e))(jnp.array([0.1, 0.3]))
    assert hs.params.shape == (2, 4)
    np.testing.assert_allclose(hs.params[1], h.params, rtol=1e-6)
