"""Tests for optlab.bilevel against the ridge closed form (dense numpy solves), central
finite differences, jax.grad through a Python-unrolled loop, and geometric-rate bounds.

Numerical tests run in float32 (the readers' dtype) with tolerances measured relative
to the magnitudes involved; identities checked to 1e-8 and beyond request the ``x64``
fixture and build their arrays inside the test.
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import bilevel as bl
from optlab.viz import bilevel as vbl


def ridge_data(seed=0, n=30, nv=25, d=6, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    wt = rng.standard_normal(d)
    y = X @ wt + noise * rng.standard_normal(n)
    Xv = rng.standard_normal((nv, d))
    yv = Xv @ wt + noise * rng.standard_normal(nv)
    return X, y, Xv, yv


def np_reference(X, y, Xv, yv, lam):
    """Independent closed form with numpy: F(λ) and dF/dλ by the adjoint formula."""
    d = X.shape[1]
    lam_vec = np.broadcast_to(np.asarray(lam, float), (d,))
    A = X.T @ X + np.diag(lam_vec)
    w = np.linalg.solve(A, X.T @ y)
    r = Xv @ w - yv
    q = np.linalg.solve(A, Xv.T @ r)
    g = -w * q
    return 0.5 * r @ r, (g.sum() if np.ndim(lam) == 0 else g), w, A


def F_np(X, y, Xv, yv, lam):
    return np_reference(X, y, Xv, yv, lam)[0]


# --------------------------------------------------------------------------- closed form

def test_closed_form_matches_finite_differences_scalar_and_vector(x64):
    X, y, Xv, yv = ridge_data(0)
    lam = 2.0
    h = 1e-5
    fd = (F_np(X, y, Xv, yv, lam + h) - F_np(X, y, Xv, yv, lam - h)) / (2 * h)
    assert abs(float(bl.ridge_hypergradient(X, y, Xv, yv, lam)) - fd) < 1e-7
    lamv = np.linspace(0.5, 3.0, X.shape[1])
    g = np.asarray(bl.ridge_hypergradient(X, y, Xv, yv, lamv))
    for i in range(X.shape[1]):
        e = np.zeros_like(lamv)
        e[i] = h
        fd = (F_np(X, y, Xv, yv, lamv + e) - F_np(X, y, Xv, yv, lamv - e)) / (2 * h)
        assert abs(g[i] - fd) < 1e-7
    np.testing.assert_allclose(bl.ridge_solution(X, y, lam), np_reference(X, y, Xv, yv, lam)[2],
                               rtol=1e-12)


# --------------------------------------------------------------------------- implicit

@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), lam=st.floats(0.05, 20.0), vector=st.booleans(),
       method=st.sampled_from(["dense", "cg"]))
def test_implicit_matches_closed_form(seed, lam, vector, method):
    # float32; the error is relative to the size of the terms, ‖w*‖‖q‖ with q = H⁻¹∇_w f:
    # measured at most 2.7e-7 over 80 draws (dense and CG)
    X, y, Xv, yv = ridge_data(seed, d=5)
    lam_arg = np.full(5, lam) * np.linspace(0.5, 1.5, 5) if vector else lam
    _, ref, w, A = np_reference(X, y, Xv, yv, lam_arg)
    scale = np.linalg.norm(w) * np.linalg.norm(np.linalg.solve(A, Xv.T @ (Xv @ w - yv)))
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    g = bl.implicit_hypergradient(inner, outer, jnp.asarray(w, jnp.float32),
                                  jnp.asarray(lam_arg, jnp.float32), method=method,
                                  tol=1e-6 * scale)
    assert g.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(g), ref, rtol=0, atol=2e-6 * scale)


@pytest.mark.parametrize("method", ["dense", "cg"])
def test_implicit_matches_closed_form_float64(method, x64):
    for seed, lam, vector in ((0, 0.05, False), (1, 3.0, True), (2, 20.0, False)):
        X, y, Xv, yv = ridge_data(seed, d=5)
        lam_arg = np.full(5, lam) * np.linspace(0.5, 1.5, 5) if vector else lam
        _, ref, w, _ = np_reference(X, y, Xv, yv, lam_arg)
        inner, outer = bl.ridge_losses(X, y, Xv, yv)
        g = bl.implicit_hypergradient(inner, outer, w, jnp.asarray(lam_arg), method=method,
                                      tol=1e-12)
        np.testing.assert_allclose(np.asarray(g), ref, rtol=1e-6, atol=1e-9)


def test_implicit_log_parametrisation_chain_rule(x64):
    X, y, Xv, yv = ridge_data(1)
    inner, outer = bl.ridge_losses(X, y, Xv, yv, log_lambda=True)
    lam = 0.7
    _, ref, w, _ = np_reference(X, y, Xv, yv, lam)
    g = bl.implicit_hypergradient(inner, outer, w, np.log(lam))
    assert abs(float(g) - lam * ref) < 1e-9


def test_custom_root_gradient_matches_closed_form_and_primal_untouched(x64):
    X, y, Xv, yv = ridge_data(2)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    grad_w = jax.grad(inner, argnums=0)

    for method in ("dense", "cg"):
        @bl.custom_root(grad_w, method=method, tol=1e-12)
        def solver(lam, init):
            # an iterative solver that is never differentiated: 2000 GD steps
            L = np.linalg.eigvalsh(X.T @ X)[-1] + 10.0
            return jax.lax.fori_loop(0, 2000, lambda _, w: w - grad_w(w, lam) / L, init)

        lam = 1.3
        w = solver(lam, jnp.zeros(X.shape[1]))
        _, ref, w_ref, _ = np_reference(X, y, Xv, yv, lam)
        np.testing.assert_allclose(w, w_ref, atol=1e-9)
        g = jax.grad(lambda t: outer(solver(t, jnp.zeros(X.shape[1])), t))(lam)
        assert abs(float(g) - ref) < 1e-8
        # also under jit
        gj = jax.jit(jax.grad(lambda t: outer(solver(t, jnp.zeros(X.shape[1])), t)))(lam)
        assert abs(float(gj) - ref) < 1e-8


# --------------------------------------------------------------------------- Neumann

def test_neumann_converges_geometrically_at_rate_one_minus_alpha_mu(x64):
    X, y, Xv, yv = ridge_data(3, d=8)
    lam = 1.0
    _, ref, w, A = np_reference(X, y, Xv, yv, lam)
    ev = np.linalg.eigvalsh(A)
    alpha = 1.0 / ev[-1]
    rate = 1 - alpha * ev[0]
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    est = np.asarray(bl.neumann_hypergradient(inner, outer, w, lam, 60, alpha, all_terms=True))
    err = np.abs(est - ref)
    # exact: the error of the K-term sum is α Σ_{j≥K} (I − αA)^j = A⁻¹(I − αA)^K (eigenwise)
    ks = np.arange(1, 61)
    evals, V = np.linalg.eigh(A)
    coef = (V.T @ w) * (V.T @ (Xv.T @ (Xv @ w - yv))) / evals
    exact_err = np.abs(np.array([np.sum(coef * (1 - alpha * evals) ** k) for k in ks]))
    np.testing.assert_allclose(err, exact_err, rtol=1e-6, atol=1e-12)
    assert np.all(err <= np.abs(coef).sum() * rate ** ks + 1e-12)
    # the traced-K version (vmap over K) agrees with the all-terms scan
    Ks = jnp.array([1, 5, 17, 60])
    sweep = jax.vmap(lambda K: bl.neumann_hypergradient(inner, outer, w, lam, K, alpha))(Ks)
    np.testing.assert_allclose(sweep, est[np.asarray(Ks) - 1], rtol=1e-10)


# --------------------------------------------------------------------------- unrolling

def _autodiff_unrolled(inner, outer, lam, w0, T, lr, K):
    """Reference: jax.grad through a Python loop, stop_gradient before the last K steps."""
    def F(t):
        w = w0
        for s in range(T):
            if s == T - K:
                w = jax.lax.stop_gradient(w)
            w = w - lr * jax.grad(inner, argnums=0)(w, t)
        return outer(w, t)
    return jax.grad(F)(lam)


def test_unrolled_and_truncated_match_autodiff(x64):
    X, y, Xv, yv = ridge_data(4, d=5)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    lr = 0.5 / np.linalg.eigvalsh(X.T @ X + np.eye(5))[-1]
    w0 = jnp.asarray(np.random.default_rng(0).standard_normal(5))
    for K in (1, 7, 25):
        g = bl.unrolled_hypergradient(inner, outer, 1.0, w0, num_steps=25, learning_rate=lr, truncate=K)
        assert abs(float(g) - float(_autodiff_unrolled(inner, outer, 1.0, w0, 25, lr, K))) < 1e-10
    # num_steps < steps uses w_{num_steps}
    g = bl.unrolled_hypergradient(inner, outer, 1.0, w0, max_num_steps=25, learning_rate=lr, num_steps=10,
                                 truncate=4)
    assert abs(float(g) - float(_autodiff_unrolled(inner, outer, 1.0, w0, 10, lr, 4))) < 1e-10


def test_truncated_at_fixed_point_equals_neumann_and_converges_to_closed_form(x64):
    X, y, Xv, yv = ridge_data(5, d=6)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    lam = 2.0
    _, ref, w, A = np_reference(X, y, Xv, yv, lam)
    ev = np.linalg.eigvalsh(A)
    lr = 1.0 / ev[-1]
    Ks = jnp.array([1, 3, 10, 30, 100])
    tr = jax.vmap(lambda K: bl.unrolled_hypergradient(inner, outer, lam, jnp.asarray(w), num_steps=100,
                                                      learning_rate=lr, truncate=K))(Ks)
    nm = jax.vmap(lambda K: bl.neumann_hypergradient(inner, outer, w, lam, K, lr))(Ks)
    # starting at w* the iterates stay there, so truncation is exactly the Neumann series
    np.testing.assert_allclose(tr, nm, rtol=1e-10, atol=1e-12)
    err = np.abs(np.asarray(tr) - ref)
    assert err[-1] < 1e-8 * max(1.0, abs(ref)) and np.all(np.diff(err) <= 1e-15)


def test_full_unrolling_tends_to_hypergradient_as_T_grows(x64):
    X, y, Xv, yv = ridge_data(6, d=5)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    lam = 1.0
    _, ref, _, A = np_reference(X, y, Xv, yv, lam)
    lr = 1.0 / np.linalg.eigvalsh(A)[-1]
    Ts = jnp.array([5, 20, 80, 300])
    g = jax.vmap(lambda T: bl.unrolled_hypergradient(inner, outer, lam, jnp.zeros(5), max_num_steps=300,
                                                     learning_rate=lr, num_steps=T))(Ts)
    err = np.abs(np.asarray(g) - ref)
    assert err[-1] < 1e-9 and err[0] > 10 * err[2]


# --------------------------------------------------------------------------- penalty / F2SA

def test_penalty_bias_is_order_sigma_and_f2sa_is_the_same_with_lambda(x64):
    X, y, Xv, yv = ridge_data(7, d=5)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    lam = 1.5
    _, ref, _, A = np_reference(X, y, Xv, yv, lam)
    lr = 1.0 / np.linalg.eigvalsh(A)[-1]
    sigmas = np.array([1e-1, 1e-2, 1e-3, 1e-4])
    errs = []
    for s in sigmas:
        g = bl.penalty_hypergradient(inner, outer, lam, jnp.zeros(5), sigma=s, num_steps=3000, learning_rate=lr)
        errs.append(abs(float(g) - ref))
    slope = np.polyfit(np.log(sigmas), np.log(errs), 1)[0]
    assert 0.9 < slope < 1.1, slope
    g1 = bl.penalty_hypergradient(inner, outer, lam, jnp.zeros(5), sigma=0.01, num_steps=3000, learning_rate=lr)
    g2 = bl.f2sa_hypergradient(inner, outer, lam, jnp.zeros(5), lam=100.0, num_steps=3000, learning_rate=lr)
    assert abs(float(g1) - float(g2)) < 1e-12


def test_penalty_value_is_order_sigma_close_to_F(x64):
    X, y, Xv, yv = ridge_data(8, d=4)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    lam = 1.0
    F = F_np(X, y, Xv, yv, lam)
    lr = 1.0 / np.linalg.eigvalsh(X.T @ X + np.eye(4))[-1]
    gaps = [abs(float(bl.penalty_value(inner, outer, lam, jnp.zeros(4), sigma=s, num_steps=3000, learning_rate=lr))
                - F) for s in (1e-2, 1e-3)]
    # psi_sigma <= F (y_sigma is a candidate) and the gap shrinks 10x with sigma
    assert 5 < gaps[0] / gaps[1] < 20


# --------------------------------------------------------------------------- outer loops

def test_hypergradient_descent_reaches_closed_form_optimum(x64):
    X, y, Xv, yv = ridge_data(11, n=20, d=8, noise=2.0)  # optimum log λ ≈ 2.4
    inner, outer = bl.ridge_losses(X, y, Xv, yv, log_lambda=True)
    grid = np.linspace(-3, 6, 181)
    Fs = [F_np(X, y, Xv, yv, np.exp(t)) for t in grid]
    t_star = grid[int(np.argmin(Fs))]
    lr = 1.0 / (np.linalg.eigvalsh(X.T @ X)[-1] + np.exp(4))
    for method in ("implicit", "f2sa"):
        tr = bl.hypergradient_descent(inner, outer, 0.0, jnp.zeros(8), method=method, learning_rate=0.01,
                                      num_steps=300, inner_num_steps=200, inner_learning_rate=lr, lam=100.0,
                                      cg_num_steps=8)
        assert abs(float(tr.params) - t_star) < 0.1, (method, float(tr.params), t_star)


def test_hoag_and_adaptive_inexact_reach_optimum(x64):
    X, y, Xv, yv = ridge_data(10, n=25, d=10, noise=2.0)
    inner, outer = bl.ridge_losses(X, y, Xv, yv, log_lambda=True)
    L0 = np.linalg.eigvalsh(X.T @ X)[-1]
    grid = np.linspace(-3, 6, 361)
    Fs = np.array([F_np(X, y, Xv, yv, np.exp(t)) for t in grid])

    def lr(t):
        return 1.0 / (L0 + np.exp(min(float(t), 30.0)))

    h = bl.hoag(inner, outer, 0.0, jnp.zeros(10), inner_learning_rate=lr, num_steps=30)
    m = bl.adaptive_inexact(inner, outer, 0.0, jnp.zeros(10), inner_learning_rate=lr, num_steps=15, learning_rate=1.0)
    for res in (h, m):
        assert F_np(X, y, Xv, yv, np.exp(float(res.params))) <= Fs.min() + 1e-3 * abs(Fs.min())
        assert np.all(np.diff(res.inner_num_steps) >= 0)
    assert np.all(np.diff(h.tolerances) < 0)


def test_data_cleaning_downweights_flipped_labels(x64):
    data = bl.data_cleaning_problem(key=jax.random.key(0), n_train=120, n_val=80, d=4)
    assert int(data.flipped.sum()) == 36
    inner, outer = bl.weighted_logistic_losses(data, mu=1e-2)
    tr = bl.hypergradient_descent(inner, outer, jnp.zeros(120), jnp.zeros(4), method="f2sa",
                                  learning_rate=50.0, num_steps=150, inner_num_steps=20, inner_learning_rate=2.0, lam=1.0,
                                  lam_max=50.0, lam_growth=1.0)
    s = np.asarray(jax.nn.sigmoid(tr.params))
    assert bl.auc(-s, np.asarray(data.flipped)) > 0.8
    assert float(tr.outer_values[-1]) < float(tr.outer_values[0])


def test_auc_against_brute_force():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 5, 40).astype(float)
    lab = rng.random(40) < 0.4
    pairs = [(1.0 if a > b else 0.5 if a == b else 0.0) for a in s[lab] for b in s[~lab]]
    assert abs(bl.auc(s, lab) - np.mean(pairs)) < 1e-15


# --------------------------------------------------------------------------- float32

def test_outer_loops_reach_the_optimum_in_float32():
    # the readers' dtype: measured |θ − θ*| = 0.012 (implicit) and 0.002 (F2SA) on a grid of
    # spacing 0.05; HOAG and the adaptive method end 1.1e-5 and -3.6e-6 (relative) from F*
    X, y, Xv, yv = ridge_data(11, n=20, d=8, noise=2.0)
    inner, outer = bl.ridge_losses(X, y, Xv, yv, log_lambda=True)
    grid = np.linspace(-3, 6, 181)
    t_star = grid[int(np.argmin([F_np(X, y, Xv, yv, np.exp(t)) for t in grid]))]
    lr = 1.0 / (np.linalg.eigvalsh(X.T @ X)[-1] + np.exp(4))
    for method in ("implicit", "f2sa"):
        tr = bl.hypergradient_descent(inner, outer, 0.0, jnp.zeros(8), method=method, learning_rate=0.01,
                                      num_steps=300, inner_num_steps=200, inner_learning_rate=lr, lam=100.0,
                                      cg_num_steps=8)
        assert tr.params.dtype == jnp.float32 and bool(tr.converged)
        assert abs(float(tr.params) - t_star) < 0.1, (method, float(tr.params), t_star)
    X, y, Xv, yv = ridge_data(10, n=25, d=10, noise=2.0)
    inner, outer = bl.ridge_losses(X, y, Xv, yv, log_lambda=True)
    L0 = np.linalg.eigvalsh(X.T @ X)[-1]
    grid = np.linspace(-3, 6, 361)
    F_min = np.array([F_np(X, y, Xv, yv, np.exp(t)) for t in grid]).min()

    def lr_of(t):
        return 1.0 / (L0 + np.exp(min(float(t), 30.0)))

    h = bl.hoag(inner, outer, 0.0, jnp.zeros(10), inner_learning_rate=lr_of, num_steps=30)
    m = bl.adaptive_inexact(inner, outer, 0.0, jnp.zeros(10), inner_learning_rate=lr_of, num_steps=15)
    for res in (h, m):
        assert F_np(X, y, Xv, yv, np.exp(float(res.params))) <= F_min + 1e-4 * abs(F_min)
    # float32 cannot resolve accuracies near min_eps = 1e-12: the inner solves stop when the
    # steps stop moving w, so the adaptive method takes all its steps (it used to spend
    # 24 million inner iterations at maxiter and stop after 6 of 15 steps)
    assert len(m.iterates) == 16 and m.inner_num_steps[-1] < 100_000


def test_neumann_and_penalty_in_float32():
    X, y, Xv, yv = ridge_data(3, d=8)
    _, ref, w, A = np_reference(X, y, Xv, yv, 1.0)
    evals, V = np.linalg.eigh(A)
    alpha = 1.0 / evals[-1]
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    est = np.asarray(bl.neumann_hypergradient(inner, outer, jnp.asarray(w, jnp.float32), 1.0, 60,
                                              alpha, all_terms=True))
    coef = (V.T @ w) * (V.T @ (Xv.T @ (Xv @ w - yv))) / evals
    exact_err = np.array([np.sum(coef * (1 - alpha * evals) ** k) for k in range(1, 61)])
    # measured: the float32 error of the K-term estimate is exact to 1.8e-7 Σ|coef|
    np.testing.assert_allclose(est - ref, exact_err, atol=2e-6 * np.abs(coef).sum())
    X, y, Xv, yv = ridge_data(7, d=5)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    _, ref, _, A = np_reference(X, y, Xv, yv, 1.5)
    lr = 1.0 / np.linalg.eigvalsh(A)[-1]
    errs = [abs(float(bl.penalty_hypergradient(inner, outer, 1.5, jnp.zeros(5), sigma=s, num_steps=3000,
                                               learning_rate=lr)) - ref) for s in (1e-1, 1e-2)]
    assert 5 < errs[0] / errs[1] < 15                          # O(σ) bias (measured 7.5)


def test_data_cleaning_in_float32():
    data = bl.data_cleaning_problem(key=jax.random.key(0), n_train=120, n_val=80, d=4)
    inner, outer = bl.weighted_logistic_losses(data, mu=1e-2)
    tr = bl.hypergradient_descent(inner, outer, jnp.zeros(120), jnp.zeros(4), method="f2sa",
                                  learning_rate=50.0, num_steps=150, inner_num_steps=20, inner_learning_rate=2.0, lam=1.0,
                                  lam_max=50.0, lam_growth=1.0)
    s = np.asarray(jax.nn.sigmoid(tr.params))
    assert bl.auc(-s, np.asarray(data.flipped)) > 0.8          # measured 0.93
    assert float(tr.outer_values[-1]) < 0.5 * float(tr.outer_values[0])


# --------------------------------------------------------------------------- diagnostics

def test_divergence_is_reported_not_returned_as_garbage():
    X, y, Xv, yv = ridge_data(0, d=4)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    with pytest.raises(ValueError, match="learning_rate=.* is too large"):
        bl.inner_gd_tol(inner, 1.0, jnp.zeros(4), tol=1e-6, learning_rate=10.0, num_steps=1000)
    w, k, conv = bl.inner_gd_tol(inner, 1.0, jnp.zeros(4), tol=1e-3, learning_rate=1e-3, num_steps=50000)
    assert float(jnp.linalg.norm(jax.grad(inner)(w, 1.0))) <= 1e-3 and 0 < int(k) < 50000 and bool(conv)
    # a diverging outer loop says so, also under jit
    run = jax.jit(lambda t0: bl.hypergradient_descent(inner, outer, t0, jnp.zeros(4), learning_rate=1.0,
                                                      num_steps=20, inner_num_steps=5, inner_learning_rate=10.0))
    tr = run(1.0)
    assert tr.converged.dtype == jnp.bool_ and not bool(tr.converged)
    tr = bl.hypergradient_descent(inner, outer, 1.0, jnp.zeros(4), learning_rate=1e-3, num_steps=2,
                                  inner_num_steps=5, inner_learning_rate=1e-3)
    assert not bool(tr.converged) and int(tr.n_iters) == 2      # too few steps
    assert tr.iterates.shape == (3,) and float(tr.params) == float(tr.iterates[-1])


# --------------------------------------------------------------------------- compile once

def test_estimators_compile_once_per_shape():
    X, y, Xv, yv = ridge_data(14, d=4)
    inner0, outer0 = bl.ridge_losses(X, y, Xv, yv)
    traces = []

    def inner(w, t):
        traces.append(1)
        return inner0(w, t)

    rng = np.random.default_rng(0)

    def w_new():
        return jnp.asarray(rng.normal(size=4))

    runs = {
        "implicit_hypergradient": lambda: bl.implicit_hypergradient(inner, outer0, w_new(),
                                                                    rng.uniform(1, 2)),
        "implicit_hypergradient cg": lambda: bl.implicit_hypergradient(
            inner, outer0, w_new(), rng.uniform(1, 2), method="cg", tol=1e-5, check=False),
        "neumann_hypergradient": lambda: bl.neumann_hypergradient(inner, outer0, w_new(), 1.0, 7,
                                                                  0.01),
        "unrolled_hypergradient": lambda: bl.unrolled_hypergradient(inner, outer0, 1.0, w_new(),
                                                                    num_steps=20, learning_rate=0.01),
        "penalty_hypergradient": lambda: bl.penalty_hypergradient(inner, outer0, 1.0, w_new(),
                                                                  sigma=0.1, num_steps=20, learning_rate=0.01),
        "inner_gd": lambda: bl.inner_gd(inner, 1.0, w_new(), num_steps=20, learning_rate=0.01),
        "inner_gd_tol": lambda: bl.inner_gd_tol(inner, 1.0, w_new(), tol=1e-2, learning_rate=0.01),
        "hypergradient_descent": lambda: bl.hypergradient_descent(
            inner, outer0, rng.uniform(1, 2), w_new(), learning_rate=0.01, num_steps=5, inner_num_steps=5,
            inner_learning_rate=0.01),
    }
    for name, run in runs.items():
        t = time.perf_counter()
        jax.block_until_ready(run())
        cold = time.perf_counter() - t
        n = len(traces)
        t = time.perf_counter()
        jax.block_until_ready(run())
        warm = time.perf_counter() - t
        assert len(traces) == n, f"{name} traced inner again on a second call with new data"
        print(f"{name}: cold {cold * 1e3:.0f} ms, warm {warm * 1e3:.1f} ms")


# --------------------------------------------------------------------------- errors

def test_singular_lower_level_hessian_raises_with_reason(x64):
    X, y, Xv, yv = ridge_data(11, n=4, d=6)  # n < d: XᵀX is singular
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    with pytest.raises(ValueError, match=r"lower-level Hessian is singular \(smallest eigenvalue .*"
                                         r"no unique solution, add regularisation"):
        bl.implicit_hypergradient(inner, outer, jnp.zeros(6), 0.0)

    def concave(w, t):
        return -0.5 * jnp.sum(w ** 2) * t

    with pytest.raises(ValueError, match="not positive definite"):
        bl.implicit_hypergradient(concave, outer, jnp.zeros(6), 1.0)


def test_bad_inputs_raise_before_compute():
    X, y, Xv, yv = ridge_data(12)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    w = jnp.zeros(6)
    with pytest.raises(ValueError, match="y_train must have 30 entries"):
        bl.ridge_losses(X, y[:-1], Xv, yv)
    with pytest.raises(ValueError, match="X_val must have 6 columns"):
        bl.ridge_losses(X, y, Xv[:, :3], yv)
    with pytest.raises(ValueError, match="w must be a 1-D array"):
        bl.implicit_hypergradient(inner, outer, jnp.zeros((6, 1)), 1.0)
    with pytest.raises(ValueError, match="method must be"):
        bl.implicit_hypergradient(inner, outer, w, 1.0, method="lu")
    with pytest.raises(ValueError, match="alpha must be positive"):
        bl.neumann_hypergradient(inner, outer, w, 1.0, 5, -0.1)
    with pytest.raises(ValueError, match="K must be at least 1"):
        bl.neumann_hypergradient(inner, outer, w, 1.0, 0, 0.1)
    with pytest.raises(TypeError, match="K must be"):
        bl.neumann_hypergradient(inner, outer, w, 1.0, 2.5, 0.1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        bl.unrolled_hypergradient(inner, outer, 1.0, w, num_steps=10, learning_rate=0.0)
    with pytest.raises(ValueError, match="num_steps must be at most"):
        bl.unrolled_hypergradient(inner, outer, 1.0, w, max_num_steps=10, learning_rate=0.1, num_steps=11)
    with pytest.raises(ValueError, match="truncate must be at least 1"):
        bl.unrolled_hypergradient(inner, outer, 1.0, w, num_steps=10, learning_rate=0.1, truncate=0)
    with pytest.raises(ValueError, match="sigma must be positive"):
        bl.penalty_hypergradient(inner, outer, 1.0, w, sigma=0.0, num_steps=10, learning_rate=0.1)
    with pytest.raises(ValueError, match="theta contains 1 NaN"):
        bl.penalty_hypergradient(inner, outer, jnp.nan, w, sigma=0.1, num_steps=10, learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        bl.hypergradient_descent(inner, outer, 1.0, w, learning_rate=-1.0, num_steps=3, inner_num_steps=2,
                                 inner_learning_rate=0.1)
    with pytest.raises(ValueError, match="tolerances must have at least"):
        bl.hoag(inner, outer, 1.0, w, inner_learning_rate=0.1, num_steps=5, tolerances=[0.1, 0.1])
    with pytest.raises(ValueError, match="rho must lie in"):
        bl.adaptive_inexact(inner, outer, 1.0, w, inner_learning_rate=0.1, num_steps=5, rho=1.5)
    with pytest.raises(ValueError, match="flip_fraction"):
        bl.data_cleaning_problem(key=jax.random.key(0), flip_fraction=0.6)


def test_estimators_jit_and_vmap_over_lambda(x64):
    X, y, Xv, yv = ridge_data(13, d=4)
    inner, outer = bl.ridge_losses(X, y, Xv, yv)
    lams = jnp.array([0.3, 1.0, 3.0])
    ws = jax.vmap(lambda l: bl.ridge_solution(X, y, l))(lams)
    g = jax.jit(jax.vmap(lambda w, l: bl.implicit_hypergradient(inner, outer, w, l)))(ws, lams)
    ref = [np_reference(X, y, Xv, yv, float(l))[1] for l in lams]
    np.testing.assert_allclose(g, ref, rtol=1e-9)


# --------------------------------------------------------------------------- figures

def test_figures_build_and_stay_small():
    Ks = np.arange(1, 31)
    errs = {"Neumann": np.exp(-0.2 * Ks)[None].repeat(3, 0), "truncated": np.exp(-0.1 * Ks)[None].repeat(3, 0)}
    fig = vbl.estimator_error_slider(errs, Ks, [0.1, 1.0, 10.0])
    assert len(fig.layout.sliders[0].steps) == 3
    fig2 = vbl.penalty_bias_figure(np.array([1e-3, 1e-2, 1e-1]), np.array([1e-3, 1e-2, 1e-1]), slope=1.0)
    assert fig2.layout.xaxis.type == "log"
    s = np.random.default_rng(0).random((5, 50))
    fig3 = vbl.weights_slider(s, np.arange(50) < 10, [0, 10, 20, 30, 40])
    assert len(fig3.layout.sliders[0].steps) == 5
    fig4 = vbl.robustness_heatmaps({"a": np.ones((2, 3)), "b": np.zeros((2, 3))}, learning_rates=[1, 2, 3], accuracies=[0.1, 0.01])
    assert len(fig4.layout.sliders[0].steps) == 2
    for f in (fig, fig2, fig3, fig4):
        assert len(f.to_json()) < 1_000_000
    with pytest.raises(ValueError, match="must have shape"):
        vbl.weights_slider(s, np.arange(49) < 10, [0, 10, 20, 30, 40])
