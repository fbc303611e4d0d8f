"""Tests for optlab.prox against closed forms, cvxpy (proxes), scikit-learn (the lasso) and
scipy (Bradley–Terry maximum likelihood), with hypothesis properties (Moreau's identity,
firm non-expansiveness) and the rate bounds of chapter 18.

Tests run in float32 (the readers' dtype) with tolerances measured relative to the
magnitudes involved; float64 cases request the ``x64`` fixture.
"""

import functools
import importlib

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso

from optlab import prox as px

DTYPES = [jnp.float32, jnp.float64]
pg_module = importlib.import_module("optlab.prox.proximal_gradient_methods")


def _ctx(dtype):
    return jax.enable_x64(dtype == jnp.float64)


def _tol(dtype, f32, f64):
    return f32 if dtype == jnp.float32 else f64


# ------------------------------------------------------------------ proxes against cvxpy


def _cvx_prox(kind, v, gam, **kw):
    x = cp.Variable(v.shape)
    pen = {
        "l1": lambda: gam * cp.norm1(x),
        "l2": lambda: gam * cp.norm2(x),
        "nuclear": lambda: gam * cp.normNuc(x),
        "group": lambda: gam * sum(cp.norm2(x[s:e]) for s, e in kw["bounds"]),
        "box": lambda: 0,
    }[kind]()
    cons = [x >= kw["lo"], x <= kw["hi"]] if kind == "box" else []
    cp.Problem(cp.Minimize(pen + 0.5 * cp.sum_squares(x - v)), cons).solve(solver=cp.CLARABEL)
    return x.value


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["l1", "l2", "box", "group", "nuclear"])
def test_prox_matches_cvxpy(kind, dtype):
    rng = np.random.default_rng(0)
    with _ctx(dtype):
        for gam in (0.3, 1.7):
            v = rng.normal(size=(5, 4) if kind == "nuclear" else 9) * 2
            vj = jnp.asarray(v, dtype)
            kw = {}
            if kind == "l1":
                got = px.prox_l1(vj, gam)
            elif kind == "l2":
                got = px.prox_l2(vj, gam)
            elif kind == "nuclear":
                got = px.prox_nuclear(vj, gam)
            elif kind == "group":
                kw["bounds"] = [(0, 2), (2, 5), (5, 9)]
                got = px.prox_group_l2(vj, gam, groups=(2, 3, 4))
            else:
                kw.update(lo=-0.5, hi=np.linspace(0.0, 1.0, 9))
                got = px.prox_box(vj, gam, lower=-0.5, upper=kw["hi"])
            assert got.dtype == dtype
            want = _cvx_prox(kind, v, gam, **kw)
            # cvxpy (Clarabel) is accurate to ~1e-7 relative; float32 adds ~1e-7 ‖v‖
            np.testing.assert_allclose(np.asarray(got), want, atol=2e-5 * np.linalg.norm(v))


def test_closed_forms():
    v = jnp.array([3.0, -0.5, 0.2, -4.0])
    np.testing.assert_allclose(px.prox_l1(v, 1.0), [2.0, 0.0, 0.0, -3.0])
    # weighted ℓ1: one threshold per entry
    np.testing.assert_allclose(px.prox_l1(v, jnp.array([0.0, 1.0, 0.1, 5.0])), [3.0, 0.0, 0.1, 0.0], atol=1e-7)
    np.testing.assert_allclose(px.prox_l2(jnp.array([3.0, 4.0]), 1.0), [2.4, 3.2], rtol=1e-6)
    np.testing.assert_array_equal(px.prox_l2(jnp.array([0.3, 0.4]), 1.0), [0.0, 0.0])
    np.testing.assert_array_equal(px.prox_l2(jnp.zeros(3), 1.0), jnp.zeros(3))  # no 0/0
    np.testing.assert_array_equal(px.prox_group_l2(jnp.zeros(4), 1.0, groups=(2, 2)), jnp.zeros(4))
    np.testing.assert_allclose(px.prox_nuclear(jnp.diag(jnp.array([3.0, 0.5])), 1.0), [[2.0, 0.0], [0.0, 0.0]],
                               atol=1e-6)
    # the box prox ignores the scale, and infinite bounds are allowed
    np.testing.assert_array_equal(px.prox_box(v, 9.0, lower=-jnp.inf, upper=1.0), jnp.minimum(v, 1.0))


def test_moreau_envelope_of_l1_is_huber(x64):
    v = jnp.linspace(-3.0, 3.0, 61)
    for gam in (0.5, 2.0):
        env = jax.vmap(lambda t: px.moreau_envelope(lambda x: jnp.sum(jnp.abs(x)), px.prox_l1, t[None], gam))(v)
        huber = jnp.where(jnp.abs(v) <= gam, v**2 / (2 * gam), jnp.abs(v) - gam / 2)
        np.testing.assert_allclose(env, huber, atol=1e-12)
        grad = jax.vmap(lambda t: px.moreau_gradient(px.prox_l1, t[None], gam)[0])(v)
        np.testing.assert_allclose(grad, jnp.clip(v / gam, -1.0, 1.0), atol=1e-12)


def test_moreau_gradient_is_the_derivative_of_the_envelope(x64):
    rng = np.random.default_rng(3)
    V = jnp.asarray(rng.normal(size=(4, 3)))

    def nuc(x):
        return jnp.sum(jnp.linalg.svd(x, compute_uv=False))

    def env(x):
        return px.moreau_envelope(nuc, px.prox_nuclear, x, 0.7)

    np.testing.assert_allclose(jax.grad(env)(V), px.moreau_gradient(px.prox_nuclear, V, 0.7), atol=1e-10)
    # e_γ g ≤ g, and the gradient is 1/γ-Lipschitz
    assert env(V) <= nuc(V)


# ------------------------------------------------------------------ properties


def _proxes():
    return {
        "l1": lambda v, s: px.prox_l1(v, s),
        "l2": lambda v, s: px.prox_l2(v, s),
        "group": lambda v, s: px.prox_group_l2(v, s, groups=(2, 4)),
        "box": lambda v, s: px.prox_box(v, s, lower=-0.5, upper=1.0),
    }


vectors = st.lists(st.floats(-5, 5, allow_nan=False, width=32), min_size=6, max_size=6)


@settings(max_examples=25)
@given(x=vectors, y=vectors, gam=st.floats(0.05, 3.0))
def test_firm_nonexpansiveness(x, y, gam):
    x, y = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)
    for name, p in _proxes().items():
        d = p(x, gam) - p(y, gam)
        # ‖P x − P y‖² ≤ ⟨P x − P y, x − y⟩ (float32 rounding: 1e-5 of ‖x − y‖²)
        assert jnp.sum(d * d) <= jnp.vdot(d, x - y) + 1e-5 * (1.0 + jnp.sum((x - y) ** 2)), name


@settings(max_examples=25)
@given(x=vectors, gam=st.floats(0.05, 3.0))
def test_moreau_identity(x, gam):
    v = jnp.asarray(x, jnp.float32)
    # g = ‖·‖₁: g* is the indicator of the ℓ∞ unit ball, its prox the clip to [−1, 1]
    np.testing.assert_allclose(px.prox_conjugate(px.prox_l1, v, gam), jnp.clip(v, -1.0, 1.0), atol=2e-6)
    # g = ‖·‖₂: g* is the indicator of the unit ℓ2 ball
    ball = v / jnp.maximum(1.0, jnp.linalg.norm(v))
    np.testing.assert_allclose(px.prox_conjugate(px.prox_l2, v, gam), ball, atol=2e-6)
    # prox_g(v) + prox_{g*}(v) = v at γ = 1, for every prox
    for name, p in _proxes().items():
        np.testing.assert_allclose(p(v, 1.0) + px.prox_conjugate(p, v, 1.0), v, atol=2e-6, err_msg=name)


# ------------------------------------------------------------------ the lasso


def _problem(n=80, d=30, k=5, noise=0.1, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    x = np.zeros(d)
    x[:k] = rng.choice([-1.0, 1.0], k) * rng.uniform(1.0, 2.0, k)
    b = A @ x + noise * rng.normal(size=n)
    return A.astype(dtype), b.astype(dtype), x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("acceleration", ["none", "fista", "restart"])
def test_lasso_matches_sklearn(dtype, acceleration):
    A, b, _ = _problem(dtype=np.dtype(dtype))
    reg = 0.1
    ref = Lasso(alpha=reg, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(
        A.astype(np.float64), b.astype(np.float64)).coef_
    with _ctx(dtype):
        out = px.lasso(A, b, reg=reg, num_steps=3000 if acceleration == "none" else 800,
                       acceleration=acceleration, tol=_tol(dtype, 1e-4, 1e-9))
        assert out.params.dtype == dtype
        # float32: measured 4e-7; float64: 1e-12
        np.testing.assert_allclose(out.params, ref, atol=_tol(dtype, 1e-5, 1e-9))
        assert bool(out.converged)
        gap = px.lasso_duality_gap(A, b, out.params, reg=reg)
        assert float(gap) <= _tol(dtype, 1e-5, 1e-12)
        np.testing.assert_array_equal(np.abs(ref) > 1e-8, np.abs(np.asarray(out.params)) > 1e-6)


def test_duality_gap_bounds_suboptimality(x64):
    A, b, _ = _problem(dtype=np.float64)
    reg = 0.05
    star = px.lasso(A, b, reg=reg, num_steps=3000, acceleration="restart")
    f_star = px.lasso_objective(A, b, star.params, reg=reg)
    rng = np.random.default_rng(1)
    for _ in range(10):
        x = star.params + rng.normal(size=30) * rng.uniform(0.001, 1.0)
        gap = px.lasso_duality_gap(A, b, x, reg=reg)
        assert gap >= px.lasso_objective(A, b, x, reg=reg) - f_star - 1e-12
    assert px.lasso_duality_gap(A, b, star.params, reg=reg) < 1e-12
    # λ ≥ λ_max: zero is the solution and its gap is zero
    lam_max = px.lasso_reg_max(A, b)
    np.testing.assert_allclose(lam_max, np.max(np.abs(A.T @ b)) / 80, rtol=1e-12)
    assert px.lasso_duality_gap(A, b, jnp.zeros(30), reg=lam_max) < 1e-12
    assert px.lasso_duality_gap(A, b, jnp.zeros(30), reg=0.99 * lam_max) > 0


def test_ista_and_fista_rates_hold_as_bounds(x64):
    A, b, _ = _problem(n=40, d=60, seed=2, dtype=np.float64)  # d > N: not strongly convex
    reg = 0.05
    L = np.linalg.norm(A, 2) ** 2 / 40
    star = px.lasso(A, b, reg=reg, num_steps=20_000, acceleration="restart")
    f_star = float(star.values[-1])
    R2 = float(np.sum(np.asarray(star.params) ** 2))
    k = np.arange(1, 501)
    ista = px.lasso(A, b, reg=reg, num_steps=500, acceleration="none")
    fista = px.lasso(A, b, reg=reg, num_steps=500, acceleration="fista")
    assert np.all(ista.values[1:] - f_star <= L * R2 / (2 * k) + 1e-12)
    assert np.all(fista.values[1:] - f_star <= 2 * L * R2 / (k + 1) ** 2 + 1e-12)
    # ISTA is a descent method; FISTA is not
    assert np.all(np.diff(ista.values) <= 1e-12)
    assert fista.values[50] - f_star < 0.1 * (ista.values[50] - f_star)


def test_restart_beats_fista_on_a_strongly_convex_lasso(x64):
    A, b, _ = _problem(n=200, d=30, seed=4, dtype=np.float64)
    reg = 0.05
    star = px.lasso(A, b, reg=reg, num_steps=5000, acceleration="restart")
    f_star = float(star.values[-1])

    def first_below(out, eps=1e-10):
        return int(np.argmax(np.asarray(out.values) - f_star <= eps))

    fista = px.lasso(A, b, reg=reg, num_steps=600, acceleration="fista")
    restart = px.lasso(A, b, reg=reg, num_steps=600, acceleration="restart")
    assert int(restart.restarts.sum()) >= 1 and int(fista.restarts.sum()) == 0
    assert first_below(restart) < first_below(fista)


def test_generic_proximal_gradient_equals_the_lasso_path(x64):
    A, b, _ = _problem(dtype=np.float64)
    A, b = jnp.asarray(A), jnp.asarray(b)
    reg, L = 0.1, float(np.linalg.norm(A, 2) ** 2 / 80)

    def f(x):
        return jnp.sum((A @ x - b) ** 2) / 160

    def g(x):
        return reg * jnp.sum(jnp.abs(x))

    def prox(v, s):
        return px.prox_l1(v, s * reg)

    for acc in ("none", "fista", "restart"):
        gen = px.proximal_gradient(f, g, prox, jnp.zeros(30), learning_rate=1 / L, num_steps=50, acceleration=acc)
        las = px.lasso(A, b, reg=reg, num_steps=50, acceleration=acc)
        np.testing.assert_allclose(gen.iterates, las.iterates, atol=1e-10)
        np.testing.assert_allclose(gen.values, las.values, atol=1e-10)
        assert gen.iterates.shape == (51, 30)


def test_lasso_compiles_once_per_shape():
    A, b, _ = _problem()
    px.lasso(A, b, reg=0.1, num_steps=20)
    size = pg_module._lasso._cache_size()
    A2, b2, _ = _problem(seed=5)
    px.lasso(A2, b2, reg=0.2, num_steps=20)
    assert pg_module._lasso._cache_size() == size
    # a given step skips the SVD for L: one more program, shared by every step value
    px.lasso(A2, b2, reg=0.2, num_steps=20, learning_rate=0.01)
    px.lasso(A, b, reg=0.1, num_steps=20, learning_rate=0.02)
    assert pg_module._lasso._cache_size() == size + 1


# ------------------------------------------------------------------ coordinate descent


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", ["cyclic", "random", "lipschitz"])
def test_coordinate_descent_matches_sklearn(dtype, rule):
    A, b, _ = _problem(dtype=np.dtype(dtype))
    A = A * np.linspace(0.5, 2.0, 30).astype(A.dtype)  # unequal L_j
    reg = 0.1
    ref = Lasso(alpha=reg, fit_intercept=False, tol=1e-14, max_iter=100_000).fit(
        A.astype(np.float64), b.astype(np.float64)).coef_
    with _ctx(dtype):
        out = px.lasso_coordinate_descent(A, b, reg=reg, num_steps=200, rule=rule, key=jax.random.key(0))
        assert out.params.dtype == dtype and out.iterates.shape == (201, 30)
        np.testing.assert_allclose(out.params, ref, atol=_tol(dtype, 2e-5, 1e-9))
        if rule == "cyclic":
            assert np.all(np.diff(np.asarray(out.values)) <= _tol(dtype, 1e-6, 1e-14))


def test_coordinate_descent_is_seeded_and_safeguarded():
    A, b, _ = _problem()
    A[:, 3] = 0.0
    runs = [px.lasso_coordinate_descent(A, b, reg=0.1, num_steps=5, rule="random", key=jax.random.key(s))
            for s in (0, 0, 1)]
    np.testing.assert_array_equal(runs[0].params, runs[1].params)
    assert not np.array_equal(runs[0].iterates[1], runs[2].iterates[1])
    assert all(np.all(np.isfinite(r.params)) and r.params[3] == 0.0 for r in runs)
    np.testing.assert_allclose(px.coordinate_lipschitz(A), np.sum(A**2, 0) / 80, rtol=1e-6)


def test_randomized_coordinate_descent_bound(x64):
    # Nesterov (2012), uniform sampling, λ = 0: E f(x_k) − f* ≤ 2d R²_[1]/(k + 4)
    A, b, _ = _problem(n=60, d=20, seed=6, dtype=np.float64)
    A = A * np.linspace(0.3, 2.0, 20)
    x_star = np.linalg.lstsq(A, b, rcond=None)[0]
    f_star = np.sum((A @ x_star - b) ** 2) / 120
    Lj = np.sum(A**2, 0) / 60
    R2 = np.sum(Lj * x_star**2)
    outs = [px.lasso_coordinate_descent(A, b, reg=0.0, num_steps=10, rule="random", key=jax.random.key(s))
            for s in range(8)]
    mean_gap = np.mean([np.asarray(o.values) for o in outs], axis=0) - f_star
    k = 20 * np.arange(11)  # coordinate steps after each epoch
    assert np.all(mean_gap <= 2 * 20 * R2 / (k + 4))


# ------------------------------------------------------------------ subgradient method


def test_subgradient_bound_and_average(x64):
    rng = np.random.default_rng(7)
    A, b = jnp.asarray(rng.normal(size=(30, 5))), jnp.asarray(rng.normal(size=30))

    def f(x):
        return jnp.mean(jnp.abs(A @ x - b))

    res = scipy.optimize.linprog(
        np.r_[np.zeros(5), np.ones(30) / 30],
        A_ub=np.block([[np.asarray(A), -np.eye(30)], [-np.asarray(A), -np.eye(30)]]),
        b_ub=np.r_[np.asarray(b), -np.asarray(b)], bounds=[(None, None)] * 5 + [(0, None)] * 30)
    f_star, x_star = res.fun, res.x[:5]
    R = float(np.linalg.norm(x_star))
    K = 400
    for lr in (0.05, functools.partial(_sqrt_schedule, c=0.2)):
        out = px.subgradient_method(f, jnp.zeros(5), learning_rate=lr, num_steps=K)
        assert out.iterates.shape == (K + 1, 5) and out.learning_rates.shape == (K,)
        bound = float(out.bound(R))
        best = float(out.best_values()[K - 1]) - f_star
        avg = float(f(out.average())) - f_star
        assert 0 <= best <= bound and 0 <= avg <= bound
        w = np.asarray(out.learning_rates)
        np.testing.assert_allclose(out.average(), (w[:, None] * np.asarray(out.iterates[:-1])).sum(0) / w.sum())
    np.testing.assert_allclose(out.learning_rates[:3], 0.2 / np.sqrt([1, 2, 3]))


def _sqrt_schedule(k, c):
    return c / jnp.sqrt(k + 1.0)


def test_subgradient_rate_is_nearly_attained_on_nesterovs_function(x64):
    # f(x) = γ max_{i≤t} x_i + (α/2)‖x‖² with a resisting oracle (first maximal index):
    # every method in the span of the subgradients has min_{s≤t} f(x_s) − f* ≥ GR/(2(1 + √t))
    t, G, R = 64, 1.0, 1.0
    gam, alpha = G * np.sqrt(t) / (1 + np.sqrt(t)), G / (R * (1 + np.sqrt(t)))

    def f(x):
        return gam * jnp.max(x) + alpha / 2 * jnp.sum(x * x)

    def sub(x):
        return alpha * x + gam * jax.nn.one_hot(jnp.argmax(x), t, dtype=x.dtype)

    out = px.subgradient_method(f, jnp.zeros(t), learning_rate=R / (G * np.sqrt(t)), num_steps=t - 1,
                                subgradient=sub)
    f_star = -G * R / (2 * (1 + np.sqrt(t)))
    gap = float(out.best_values()[-1]) - f_star
    lower = G * R / (2 * (1 + np.sqrt(t)))
    upper = float(out.bound(R))
    assert lower - 1e-12 <= gap <= upper
    assert upper / gap < 2.5  # the bound is attained to a small constant


# ------------------------------------------------------------------ Bradley–Terry


def _tournament(n=25, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    P = 1 / (1 + np.exp(-(s[:, None] - s[None, :])))
    G = np.triu(rng.poisson(3, size=(n, n)), 1)
    G = G + G.T
    W = rng.binomial(G, P).astype(float)
    return W


def _scipy_mle(W):
    n = W.shape[0]

    def nll(theta):
        th = np.r_[0.0, theta]
        return -np.sum(W * (th[:, None] - np.logaddexp(th[:, None], th[None, :])))

    res = scipy.optimize.minimize(nll, np.zeros(n - 1), method="BFGS", options={"gtol": 1e-10})
    th = np.r_[0.0, res.x]
    return th - th.mean()


@pytest.mark.parametrize("dtype", DTYPES)
def test_zermelo_and_newman_reach_the_scipy_mle(dtype):
    W = _tournament()
    ref = _scipy_mle(W)
    with _ctx(dtype):
        tol = _tol(dtype, 1e-6, 1e-12)
        out = {m: px.bradley_terry(W, method=m, tol=tol) for m in ("zermelo", "newman")}
        for m, o in out.items():
            assert bool(o.converged) and o.params.dtype == dtype, m
            # float32: measured 3e-6 in log-scores; float64: limited by BFGS's 1e-7
            np.testing.assert_allclose(np.log(np.asarray(o.params, float)), ref, atol=_tol(dtype, 5e-5, 1e-6))
            np.testing.assert_allclose(np.exp(np.mean(np.log(np.asarray(o.params, float)))), 1.0, rtol=1e-5)
        assert int(out["newman"].n_iters) < int(out["zermelo"].n_iters) / 2
        ll = px.bradley_terry_loglik(W, out["newman"].params)
        assert ll >= px.bradley_terry_loglik(W, jnp.exp(jnp.asarray(ref, dtype))) - 1e-6 * abs(float(ll))


def test_fixed_point_iterations_increase_the_likelihood(x64):
    W = _tournament(seed=1)
    lls = [float(px.bradley_terry_loglik(W, px.bradley_terry(W, method="zermelo", num_steps=k, tol=0.0).params))
           for k in (1, 2, 4, 8, 16)]
    assert np.all(np.diff(lls) > 0)  # MM: monotone ascent


@pytest.mark.parametrize("dtype,big,tiny", [(jnp.float64, 1e200, 1e-200), (jnp.float32, 1e30, 1e-30)])
def test_l2_and_group_proxes_at_extreme_magnitudes(dtype, big, tiny):
    """v·v overflows (or underflows) at these magnitudes; the proxes scale each block first."""
    with jax.enable_x64(dtype == jnp.float64):
        base = np.array([3.0, -4.0, 1.0, 2.0, -2.0])  # groups (2, 3): norms 5 and 3
        for mag in (big, tiny):
            v = jnp.asarray(base * mag, dtype)
            p2 = px.prox_l2(v, 0.5 * np.linalg.norm(base) * mag)
            np.testing.assert_allclose(np.asarray(p2) / mag, base * 0.5, rtol=1e-5)
            pg = px.prox_group_l2(v, 2.0 * mag, groups=(2, 3))
            expect = np.r_[base[:2] * (1 - 2 / 5), base[2:] * (1 - 2 / 3)]
            np.testing.assert_allclose(np.asarray(pg) / mag, expect, rtol=1e-5)
            assert np.all(np.isfinite(np.asarray(pg))) and pg.dtype == dtype
        # one group huge, the other tiny, in one call
        v = jnp.asarray(np.r_[base[:2] * big, base[2:] * tiny], dtype)
        pg = px.prox_group_l2(v, 1.0, groups=(2, 3))
        np.testing.assert_allclose(np.asarray(pg[:2]) / big, base[:2], rtol=1e-5)
        assert np.all(np.asarray(pg[2:]) == 0)  # ‖tiny group‖ << 1: thresholded to 0
