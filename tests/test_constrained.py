"""Tests for optlab.constrained against cvxpy (projections, optimal values and
multipliers), scipy (the assignment LP), dense KKT solves and closed forms.

Numerical tests run in float32 (the readers' dtype) with tolerances measured
relative to the magnitudes involved; the identities checked to 1e-8 and beyond
request the ``x64`` fixture and build their arrays inside the test.
"""

import json
import time

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import constrained as cs
from optlab.constrained import convex_relu, dual_ascent, sketch

SETS = {
    "simplex": lambda r: cs.simplex(r),
    "l1": lambda r: cs.l1_ball(r),
    "l2": lambda r: cs.l2_ball(r),
    "box": lambda r: cs.box(-r, 0.5 * r),
}


def cvx_projection(kind, v, r):
    x = cp.Variable(v.shape[0])
    cons = {"simplex": [x >= 0, cp.sum(x) == r], "l1": [cp.norm1(x) <= r],
            "l2": [cp.norm2(x) <= r], "box": [x >= -r, x <= 0.5 * r]}[kind]
    cp.Problem(cp.Minimize(cp.sum_squares(x - v)), cons).solve(solver=cp.CLARABEL)
    return x.value


# ------------------------------------------------------------------ projections and LMOs

@pytest.mark.parametrize("kind", list(SETS))
def test_projection_matches_cvxpy(kind):
    rng = np.random.default_rng(0)
    for r in (0.5, 2.0):
        v = rng.normal(size=12) * 2
        p = np.asarray(SETS[kind](r).project(jnp.asarray(v, jnp.float32)))
        assert p.dtype == np.float32
        # float32 against cvxpy: measured max error 1.1e-6 ‖v‖ (the box: cvxpy's own accuracy)
        np.testing.assert_allclose(p, cvx_projection(kind, v, r), atol=5e-6 * np.linalg.norm(v))


def test_spectral_and_nuclear_balls_match_cvxpy(x64):
    rng = np.random.default_rng(1)
    V, G = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    for S, norm in ((cs.spectral_ball(1.5), cp.sigma_max), (cs.nuclear_ball(1.5), cp.normNuc)):
        Xv = cp.Variable((5, 4))
        cp.Problem(cp.Minimize(cp.sum_squares(Xv - V)), [norm(Xv) <= 1.5]).solve(
            solver=cp.CLARABEL)
        np.testing.assert_allclose(S.project(jnp.asarray(V)), Xv.value, atol=1e-5)
        ref = cp.Problem(cp.Minimize(cp.sum(cp.multiply(G, Xv))), [norm(Xv) <= 1.5]).solve(
            solver=cp.CLARABEL)
        s = S.lmo(jnp.asarray(G))
        assert S.contains(s, tol=1e-9)
        assert abs(float(jnp.sum(G * s)) - ref) < 1e-6
    # the nuclear LMO is rank one: the top singular pair only
    s = np.asarray(cs.nuclear_ball(1.5).lmo(jnp.asarray(G)))
    assert np.linalg.matrix_rank(s, tol=1e-9) == 1


@pytest.mark.parametrize("kind", ["simplex", "l1", "l2", "box"])
def test_lmo_matches_cvxpy_linear_program(kind, x64):
    rng = np.random.default_rng(2)
    g = rng.normal(size=9)
    S = SETS[kind](1.3)
    s = np.asarray(S.lmo(jnp.asarray(g)))
    x = cp.Variable(9)
    cons = {"simplex": [x >= 0, cp.sum(x) == 1.3], "l1": [cp.norm1(x) <= 1.3],
            "l2": [cp.norm2(x) <= 1.3], "box": [x >= -1.3, x <= 0.65]}[kind]
    ref = cp.Problem(cp.Minimize(g @ x), cons).solve(solver=cp.CLARABEL)
    assert S.contains(jnp.asarray(s), tol=1e-9)
    assert abs(g @ s - ref) < 1e-6


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(list(SETS)), st.floats(0.1, 5.0), st.integers(0, 10_000))
def test_property_projection_feasible_idempotent_nonexpansive(kind, r, seed):
    rng = np.random.default_rng(seed)
    S = SETS[kind](r)
    u, v = (jnp.asarray(rng.normal(size=8) * 3, jnp.float32) for _ in range(2))
    pu, pv = S.project(u), S.project(v)
    # float32; measured over 300 draws: feasible to 1e-6, idempotent to 5e-7 r,
    # variational inequality to 2.5e-7 (‖u‖ r + 1); margins of about 5-10x
    assert bool(S.contains(pu, tol=5e-6))
    scale = float(jnp.linalg.norm(u)) + r
    np.testing.assert_allclose(S.project(pu), pu, atol=3e-6 * scale)
    assert float(jnp.linalg.norm(pu - pv)) <= float(jnp.linalg.norm(u - v)) * (1 + 1e-6)
    # variational inequality: <u - P u, z - P u> <= 0 for every z in the set
    z = S.project(jnp.asarray(rng.normal(size=8), jnp.float32))
    assert float(jnp.vdot(u - pu, z - pu)) <= 2e-6 * (float(jnp.linalg.norm(u)) * r + 1)


@pytest.mark.parametrize("offset", [3e8, -3e8, 1e30])
def test_simplex_and_l1_projections_keep_float32_precision_at_large_offsets(offset):
    """P(v + c1) = P(v) on the simplex: entries 3e8 + 32k (exact in float32, spacing 32) project
    as their differences do (before the shift by max v, every entry came out 0, off the simplex)."""
    k = np.arange(6)
    v = jnp.asarray(offset + np.float32(np.spacing(np.float32(offset))) * k * 2, jnp.float32)
    ref = np.asarray(cs.project_simplex(jnp.asarray(np.asarray(v, np.float64) - float(v.max()), jnp.float32)))
    got = np.asarray(cs.project_simplex(v))
    assert got.sum() == pytest.approx(1.0, rel=1e-6) and np.all(got >= 0)
    np.testing.assert_allclose(got, ref, atol=1e-6)
    np.testing.assert_allclose(np.asarray(cs.simplex(1.0).project(v)), ref, atol=1e-6)
    w = jnp.asarray([offset, -offset - 2 * float(np.spacing(np.float32(abs(offset)))), 5.0], jnp.float32)
    out = np.asarray(cs.project_l1_ball(w, 2.0))
    assert np.abs(out).sum() == pytest.approx(2.0, rel=1e-6)


def test_projection_jits_and_vmaps():
    V = jnp.asarray(np.random.default_rng(3).normal(size=(6, 5)), jnp.float32)
    S = cs.simplex(1.0)
    out = jax.jit(jax.vmap(S.project))(V)
    np.testing.assert_allclose(out, np.stack([np.asarray(S.project(v)) for v in V]), atol=1e-6)
    # the radius is a pytree leaf: vmap over radii
    radii = jnp.array([0.5, 1.0, 2.0])
    sums = jax.vmap(lambda r: jnp.sum(cs.project_simplex(V[0], r)))(radii)
    np.testing.assert_allclose(sums, radii, rtol=1e-6)
    # contains is traceable: a boolean array under jit and vmap (no bool() on a tracer)
    for T in (cs.simplex(1.0), cs.l1_ball(1.0), cs.l2_ball(1.0), cs.box(-1.0, 1.0)):
        inside = jax.jit(jax.vmap(T.contains))(jax.vmap(T.project)(3 * V))
        assert inside.dtype == jnp.bool_ and bool(jnp.all(inside))
        assert not bool(jax.jit(T.contains)(10 * jnp.ones(5)))
    for T in (cs.spectral_ball(1.0), cs.nuclear_ball(1.0)):
        assert bool(jax.jit(T.contains)(T.project(V))) and not bool(jax.jit(T.contains)(10 * V))
    # the set itself may be a jit argument (its radius is then traced)
    proj = jax.jit(lambda S, v: S.project(v))
    np.testing.assert_allclose(proj(cs.l1_ball(2.0), V[0]), cs.l1_ball(2.0).project(V[0]), atol=1e-6)


# ------------------------------------------------------------------ PGD and Frank–Wolfe

def portfolio(seed=0, m=150, d=12):
    rng = np.random.default_rng(seed)
    R = np.exp(rng.normal(0.0, 0.05, (m, d)) + rng.normal(0, 0.01, d))
    x = cp.Variable(d)
    ref = cp.Problem(cp.Minimize(-cp.sum(cp.log(R @ x)) / m), [x >= 0, cp.sum(x) == 1]).solve(
        solver=cp.CLARABEL)
    Rj = jnp.asarray(R)
    return (lambda x: -jnp.mean(jnp.log(Rj @ x))), ref, x.value


def test_frank_wolfe_open_loop_gap_certificate_and_cvxpy_value(x64):
    f, ref, _ = portfolio()
    out = cs.frank_wolfe(f, cs.simplex(), jnp.ones(12) / 12, num_steps=1500)
    primal = np.asarray(out.values) - ref
    gaps = np.asarray(out.gaps)
    assert np.all(gaps >= primal - 1e-9)            # the FW gap certifies suboptimality
    assert primal[-1] < 1e-5
    t = np.arange(1, 1501)
    assert np.max(t[10:] * primal[10:]) < 50 * max(primal[0], 1e-3)  # O(1/t) envelope


def test_projected_gradient_matches_cvxpy_and_grad_map_vanishes(x64):
    f, ref, xref = portfolio(1)
    out = cs.projected_gradient(f, cs.simplex(), jnp.zeros(12), learning_rate=2.0, num_steps=3000)
    assert abs(float(out.values[-1]) - ref) < 1e-7
    assert float(out.grad_maps[-1]) < 1e-4
    assert cs.simplex().contains(out.params, tol=1e-10)


def test_frank_wolfe_l1_ball_lasso_and_spectral_ball(x64):
    rng = np.random.default_rng(4)
    A, b = rng.normal(size=(30, 10)), rng.normal(size=30)
    x = cp.Variable(10)
    ref = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b)), [cp.norm1(x) <= 1.0]).solve()
    Aj, bj = jnp.asarray(A), jnp.asarray(b)
    f = lambda x: 0.5 * jnp.sum((Aj @ x - bj) ** 2)  # noqa: E731
    out = cs.frank_wolfe(f, cs.l1_ball(1.0), jnp.zeros(10), num_steps=3000)
    assert float(out.values[-1]) - ref < 2e-3 * abs(ref)
    assert np.all(np.asarray(out.gaps) >= np.asarray(out.values) - ref - 1e-7)
    # short step with L = ||A||^2 is at least as good here
    L = np.linalg.norm(A, 2) ** 2
    short = cs.frank_wolfe(f, cs.l1_ball(1.0), jnp.zeros(10), num_steps=3000, learning_rate="short", L=L)
    assert float(short.values[-1]) - ref < 2e-3 * abs(ref)
    # matrix completion-like: min ||X - M||^2 over the spectral ball: projection is the answer
    M = jnp.asarray(rng.normal(size=(6, 5)))
    fs = lambda X: 0.5 * jnp.sum((X - M) ** 2)  # noqa: E731
    for S in (cs.nuclear_ball(2.0), cs.spectral_ball(0.8)):
        out = cs.frank_wolfe(fs, S, jnp.zeros((6, 5)), num_steps=2000)
        fstar = float(fs(S.project(M)))
        assert float(out.values[-1]) - fstar < 1e-3
        assert np.all(np.asarray(out.gaps) >= np.asarray(out.values) - fstar - 1e-9)


# ------------------------------------------------------------------ duality

def test_load_balancing_weak_duality_and_lp(x64):
    rng = np.random.default_rng(5)
    S = jnp.asarray(rng.normal(size=(256, 8)) + np.linspace(0, 1.5, 8))
    lp = cs.balanced_assignment_lp(S)
    out = cs.load_balancing(S, num_steps=300, learning_rate=1e-2)
    dual = np.asarray(out.duals)
    assert np.all(dual >= lp - 1e-9)                       # weak duality, every step
    assert dual.min() - lp < 0.02 * (dual[0] - lp)        # dual steps close the gap
    assert float(out.imbalances[0]) > 1.8 and float(out.imbalances[-1]) < 1.15
    np.testing.assert_allclose(np.asarray(out.loads).sum(1), 256)
    # D(b_t) = routed affinity + sum_e b_e (load_e - n/E): the Lagrangian at the routed point
    lag = np.asarray(out.affinities) + np.sum(np.asarray(out.iterates[:-1]) * (np.asarray(out.loads) - 32), 1)
    np.testing.assert_allclose(dual, lag, rtol=1e-12)
    # brute-force check of the dual function at a random bias
    b = jnp.asarray(rng.normal(size=8))
    ref = np.sum(np.max(np.asarray(S) + np.asarray(b), 1)) - 256 / 8 * np.sum(np.asarray(b))
    assert abs(float(cs.load_balancing_dual(S, b)) - ref) < 1e-9


def circle_problem():
    f = lambda x: (x[0] - 2) ** 2 + 2 * (x[1] - 1) ** 2  # noqa: E731
    c = lambda x: jnp.array([x[0] ** 2 + x[1] ** 2 - 1.0])  # noqa: E731
    # reference by scipy SLSQP (x*, and lambda from the stationarity condition)
    from scipy.optimize import minimize

    res = minimize(lambda x: (x[0] - 2) ** 2 + 2 * (x[1] - 1) ** 2, np.array([1.0, 0.5]),
                   constraints=[{"type": "eq", "fun": lambda x: x[0] ** 2 + x[1] ** 2 - 1}],
                   method="SLSQP", options=dict(ftol=1e-14, maxiter=500))
    xs = res.x
    gf = np.array([2 * (xs[0] - 2), 4 * (xs[1] - 1)])
    lam = -gf @ (2 * xs) / np.sum((2 * xs) ** 2)
    return f, c, xs, lam


def test_penalty_ill_conditioned_and_alm_converges_with_bounded_mu(x64):
    f, c, xs, lam = circle_problem()
    qp = cs.quadratic_penalty(f, c, jnp.zeros(2), jnp.array([1.0, 10, 100, 1e3, 1e4]))
    viol, cond = np.asarray(qp.violations), np.asarray(qp.conds)
    assert np.all(np.diff(viol) < 0) and viol[-1] > 1e-5      # feasibility only as mu grows
    assert cond[-1] > 1e3 * cond[0] / 10                        # condition number ~ mu
    al = cs.augmented_lagrangian(f, c, jnp.zeros(2), 10.0, num_steps=12)
    np.testing.assert_allclose(al.params, xs, atol=1e-7)
    np.testing.assert_allclose(al.lams[-1], [lam], atol=1e-6)
    assert np.max(np.asarray(al.conds)) < 20
    np.testing.assert_allclose(qp.lams[-1], [lam], atol=1e-2)   # mu c(x) -> lambda*


def eq_qp(seed=1, d=12, m=3):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(d, d))
    Q, q = M @ M.T / d + 0.1 * np.eye(d), rng.normal(size=d)
    A = rng.normal(size=(m, d))
    xf = rng.normal(size=d)
    xf /= np.linalg.norm(xf)
    b = A @ xf
    Qj, qj, Aj, bj = map(jnp.asarray, (Q, q, A, b))
    f = lambda x: 0.5 * x @ Qj @ x + qj @ x  # noqa: E731
    c = lambda x: jnp.concatenate([Aj @ x - bj, jnp.array([x @ x - 1.0])])  # noqa: E731
    return f, c, jnp.asarray(xf + 0.3 * rng.normal(size=d)), (Q, q, A, b)


def test_sketch_solve_reaches_asked_accuracy(x64):
    rng = np.random.default_rng(6)
    K = rng.normal(size=(15, 15)) / np.sqrt(15) + 2 * np.eye(15)
    r = rng.normal(size=15)
    for th in (1e-1, 1e-6):
        z, it, conv = cs.sketch_solve(jnp.asarray(K), jnp.asarray(r), tol=th, key=jax.random.key(0),
                                      sketch_size=5, num_steps=20000)
        assert 0 < int(it) < 20000 and bool(conv)
        assert np.linalg.norm(K @ np.asarray(z) - r) <= th * np.linalg.norm(r) * (1 + 1e-9)
    np.testing.assert_allclose(z, np.linalg.solve(K, r), rtol=1e-3, atol=1e-4)


def test_exact_al_sketch_unit_steps_and_superlinear_with_tightening(x64):
    f, c, x0, (Q, q, A, b) = eq_qp()
    out = cs.exact_al_sketch(f, c, x0, key=jax.random.key(0), accuracy="tightening", theta=0.1,
                             num_steps=40, tol=1e-10)
    assert out.converged
    r = np.asarray(out.residuals)
    assert np.all(np.asarray(out.learning_rates)[-3:] == 1.0)
    assert (r[1:] / r[:-1])[-1] < 1e-2
    # KKT check against the dense-solve variant and feasibility
    ex = cs.exact_al_sketch(f, c, x0, key=jax.random.key(0), accuracy="exact", num_steps=40,
                            tol=1e-10)
    np.testing.assert_allclose(out.params, ex.params, atol=1e-8)
    np.testing.assert_allclose(A @ np.asarray(out.params), b, atol=1e-9)
    assert abs(np.sum(np.asarray(out.params) ** 2) - 1) < 1e-9
    fixed = cs.exact_al_sketch(f, c, x0, key=jax.random.key(0), accuracy="fixed", theta=0.1,
                               num_steps=60, tol=1e-8)
    rf = np.asarray(fixed.residuals)
    ratios = rf[1:] / rf[:-1]
    late = ratios[np.asarray(fixed.learning_rates) == 1.0][-4:]
    assert np.all(late > 1e-3) and np.median(late) < 0.5       # linear, not superlinear


def test_primal_dual_matches_cvxpy_solution_and_multipliers(x64):
    rng = np.random.default_rng(7)
    A, bb = rng.normal(size=(3, 5)), rng.normal(size=3) * 0.1
    Q, q = np.eye(5) + 0.1 * np.ones((5, 5)), rng.normal(size=5)
    x = cp.Variable(5)
    con = [A @ x <= bb]
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, Q) + q @ x), con).solve(solver=cp.CLARABEL)
    Qj, qj, Aj, bj = map(jnp.asarray, (Q, q, A, bb))
    out = cs.primal_dual(lambda x: 0.5 * x @ Qj @ x + qj @ x, lambda x: Aj @ x - bj,
                         jnp.zeros(5), learning_rate=0.2, dual_learning_rate=0.2, num_steps=3000)
    np.testing.assert_allclose(out.params, x.value, atol=1e-6)
    np.testing.assert_allclose(out.lam, con[0].dual_value, atol=1e-6)
    assert float(out.violations[-1]) < 1e-7


# ------------------------------------------------------------------ convex ReLU

def relu_data(n=16, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(-2, 2, n))
    y = np.sin(2 * t) + 0.1 * rng.normal(size=n)
    return jnp.asarray(np.stack([t, np.ones(n)], 1)), jnp.asarray(y)


def cvx_relu(X, y, D, beta):
    X, y, D = map(np.asarray, (X, y, D))
    P, d = D.shape[0], X.shape[1]
    V, W = cp.Variable((P, d)), cp.Variable((P, d))
    pred = sum(cp.multiply(D[j], X @ (V[j] - W[j])) for j in range(P))
    cons = []
    for j in range(P):
        S = (2 * D[j] - 1)[:, None] * X
        cons += [S @ V[j] >= 0, S @ W[j] >= 0]
    obj = 0.5 * cp.sum_squares(pred - y) + beta * sum(cp.norm(V[j]) + cp.norm(W[j])
                                                      for j in range(P))
    return cp.Problem(cp.Minimize(obj), cons).solve(solver=cp.CLARABEL)


def test_relu_patterns_enumeration_is_complete():
    X, _ = relu_data()
    D = np.asarray(cs.relu_patterns(X))
    sampled = np.asarray(cs.relu_patterns(X, num_samples=20000, key=jax.random.key(1)))
    assert {tuple(r) for r in sampled} <= {tuple(r) for r in D}
    assert len(D) <= 2 * X.shape[0]


def test_relu_admm_matches_cvxpy_and_reconstructs_the_network(x64):
    X, y = relu_data()
    D = cs.relu_patterns(X)
    beta = 0.05
    ref = cvx_relu(X, y, D, beta)
    out = cs.relu_admm(X, y, D, beta, rho=0.1, num_steps=3000)
    assert abs(float(out.objectives[-1]) - ref) < 5e-3 * ref
    assert float(out.violations[-1]) < 1e-3
    U, a = cs.relu_from_convex(out.v, out.w, tol=1e-7)
    pred_cvx = jnp.einsum("pn,nd,pd->n", D, X, out.v - out.w)
    np.testing.assert_allclose(cs.relu_predict(X, U, a), pred_cvx, atol=5e-3)
    # nonconvex training can never beat the convex optimum (all patterns enumerated)
    keys = jax.random.split(jax.random.key(0), 4)
    _, _, vals = jax.vmap(lambda k: cs.train_relu_nonconvex(X, y, 8, beta, key=k,
                                                            num_steps=1500))(keys)
    assert float(jnp.min(vals[:, -1])) >= ref - 1e-6


# ------------------------------------------------------------------ float32 (the readers' dtype)

def test_frank_wolfe_and_projected_gradient_float32():
    # measured over seeds 0-2: |f(x_T) - f*| <= 3.5e-6 |f*| (FW, 1500 steps), 6.2e-6 |f*| (PGD);
    # the certificate gap_t >= f(x_t) - f* holds up to 2.1e-7 |f*| of float32 rounding
    for seed in (0, 1):
        f, ref, _ = portfolio(seed)
        scale = max(1.0, abs(ref))
        out = cs.frank_wolfe(f, cs.simplex(), jnp.ones(12) / 12, num_steps=1500)
        assert out.params.dtype == jnp.float32
        primal = np.asarray(out.values, float) - ref
        assert abs(primal[-1]) < 2e-5 * scale
        assert np.all(np.asarray(out.gaps) >= primal - 2e-6 * scale)
        assert bool(out.converged)
        pg = cs.projected_gradient(f, cs.simplex(), jnp.zeros(12), learning_rate=2.0, num_steps=3000)
        assert abs(float(pg.values[-1]) - ref) < 3e-5 * scale
        assert bool(cs.simplex().contains(pg.params, tol=1e-6)) and bool(pg.converged)


def test_load_balancing_float32():
    rng = np.random.default_rng(5)
    S = jnp.asarray(rng.normal(size=(256, 8)) + np.linspace(0, 1.5, 8), jnp.float32)
    lp = cs.balanced_assignment_lp(S)
    out = cs.load_balancing(S, num_steps=300, learning_rate=1e-2)
    dual = np.asarray(out.duals, float)
    assert np.all(dual >= lp - 1e-5 * abs(lp))                    # weak duality, every step
    assert dual.min() - lp < 0.02 * (dual[0] - lp)
    lag = np.asarray(out.affinities) + np.sum(np.asarray(out.iterates[:-1]) * (np.asarray(out.loads) - 32), 1)
    np.testing.assert_allclose(dual, lag, rtol=2e-6)              # measured 2.2e-7
    assert bool(out.converged) and float(out.imbalances[-1]) < 1.15


def test_multipliers_and_primal_dual_float32():
    _, _, xs, lam = circle_problem()
    f = lambda x: (x[0] - 2) ** 2 + 2 * (x[1] - 1) ** 2  # noqa: E731
    c = lambda x: jnp.array([x[0] ** 2 + x[1] ** 2 - 1.0])  # noqa: E731
    al = cs.augmented_lagrangian(f, c, jnp.zeros(2), 10.0, num_steps=12)
    assert al.params.dtype == jnp.float32 and bool(al.converged)
    np.testing.assert_allclose(al.params, xs, atol=5e-7)         # measured 7.5e-8
    np.testing.assert_allclose(al.lams[-1], [lam], rtol=2e-5)     # measured 3e-6
    qp = cs.quadratic_penalty(f, c, jnp.zeros(2), jnp.array([1.0, 10, 100, 1e3, 1e4]))
    assert not bool(qp.converged)                                 # |c| ~ 1/mu = 1e-4 > tol
    np.testing.assert_allclose(qp.lams[-1], [lam], rtol=2e-4)     # mu c(x) -> lambda*
    rng = np.random.default_rng(7)
    A, bb = rng.normal(size=(3, 5)), rng.normal(size=3) * 0.1
    Q, q = np.eye(5) + 0.1 * np.ones((5, 5)), rng.normal(size=5)
    x = cp.Variable(5)
    con = [A @ x <= bb]
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, Q) + q @ x), con).solve(solver=cp.CLARABEL)
    Qj, qj, Aj, bj = (jnp.asarray(a, jnp.float32) for a in (Q, q, A, bb))
    out = cs.primal_dual(lambda x: 0.5 * x @ Qj @ x + qj @ x, lambda x: Aj @ x - bj,
                         jnp.zeros(5), learning_rate=0.2, dual_learning_rate=0.2, num_steps=3000)
    # measured relative errors 1.3e-7 (x) and 2.0e-7 (lambda)
    assert np.linalg.norm(np.asarray(out.params) - x.value) < 2e-6 * np.linalg.norm(x.value)
    lam_ref = con[0].dual_value
    assert np.linalg.norm(np.asarray(out.lam) - lam_ref) < 2e-6 * np.linalg.norm(lam_ref)
    assert bool(out.converged)


def test_sketch_solve_and_relu_admm_float32():
    rng = np.random.default_rng(6)
    K = rng.normal(size=(15, 15)) / np.sqrt(15) + 2 * np.eye(15)
    r = rng.normal(size=15)
    z, it, conv = cs.sketch_solve(jnp.asarray(K, jnp.float32), jnp.asarray(r, jnp.float32), tol=1e-5,
                                  key=jax.random.key(0), sketch_size=5, num_steps=20000)
    assert z.dtype == jnp.float32 and 0 < int(it) < 20000 and bool(conv)
    assert np.linalg.norm(K @ np.asarray(z, float) - r) <= 1e-5 * np.linalg.norm(r) * 1.01
    X, y = relu_data()
    D = cs.relu_patterns(X)
    ref = cvx_relu(X, y, D, 0.05)
    out = cs.relu_admm(jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32), D, 0.05,
                       rho=0.1, num_steps=3000)
    assert abs(float(out.objectives[-1]) - ref) < 5e-3 * ref      # measured 1.5e-3
    assert float(out.violations[-1]) < 1e-3


# ------------------------------------------------------------------ diagnostics under jit

def test_converged_flags_report_failure_instead_of_silent_garbage():
    f = lambda x: jnp.sum((x - jnp.array([0.2, 0.3, 0.5])) ** 2)  # noqa: E731
    S = cs.simplex()
    x0 = jnp.array([1.0, 0.0, 0.0])
    assert not bool(cs.frank_wolfe(f, S, x0, num_steps=3).converged)        # too few steps
    assert bool(cs.frank_wolfe(f, S, x0, num_steps=200, learning_rate="short", L=2.0).converged)
    # a NaN objective: converged is False, also under jit
    bad = lambda x: jnp.sum(jnp.log(x - 1.0))  # noqa: E731
    out = jax.jit(lambda x0: cs.frank_wolfe(bad, S, x0, num_steps=5))(x0)
    assert out.converged.dtype == jnp.bool_ and not bool(out.converged)
    out = jax.jit(lambda x0: cs.projected_gradient(bad, S, x0, learning_rate=0.1, num_steps=5))(x0)
    assert not bool(out.converged)
    # ALM whose penalty is far too small for 2 outer steps
    c = lambda x: jnp.array([x[0] - 1.0])  # noqa: E731
    g = lambda x: jnp.sum(x**2)  # noqa: E731
    assert not bool(jax.jit(lambda x: cs.augmented_lagrangian(g, c, x, 1e-3, num_steps=2).converged)(
        jnp.zeros(2)))
    assert bool(cs.augmented_lagrangian(g, c, jnp.zeros(2), 10.0, num_steps=20).converged)
    # primal-dual that diverges (step far too large): converged is False, not garbage
    out = cs.primal_dual(g, c, jnp.ones(2), learning_rate=5.0, dual_learning_rate=5.0, num_steps=50)
    assert not bool(out.converged)
    lb = cs.load_balancing(jnp.asarray(np.random.default_rng(0).normal(size=(64, 4))), num_steps=2,
                          learning_rate=1e-6)
    assert not bool(lb.converged)


# ------------------------------------------------------------------ compile once

def _timed(fn):
    t = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t


def test_solvers_compile_once_per_shape():
    traces = []

    def f(x):
        traces.append(1)
        return jnp.sum((x - 0.3) ** 2)

    rng = np.random.default_rng(0)
    S = cs.simplex()
    runs = {
        "frank_wolfe": lambda: cs.frank_wolfe(f, S, jnp.asarray(rng.dirichlet(np.ones(4))), num_steps=50),
        "projected_gradient": lambda: cs.projected_gradient(f, S, jnp.asarray(rng.normal(size=4)),
                                                            learning_rate=0.1, num_steps=50),
        "augmented_lagrangian": lambda: cs.augmented_lagrangian(
            f, _c_first, jnp.asarray(rng.normal(size=4)), 10.0, num_steps=3, newton_num_steps=5),
        "quadratic_penalty": lambda: cs.quadratic_penalty(
            f, _c_first, jnp.asarray(rng.normal(size=4)), jnp.array([1.0, 10.0]), newton_num_steps=5),
        "primal_dual": lambda: cs.primal_dual(f, _c_first, jnp.asarray(rng.normal(size=4)),
                                              learning_rate=0.1, dual_learning_rate=0.1, num_steps=20),
    }
    for name, run in runs.items():
        cold = _timed(run)
        n = len(traces)
        warm = _timed(run)
        assert len(traces) == n, f"{name} traced f again on a second call with new data"
        print(f"{name}: cold {cold * 1e3:.0f} ms, warm {warm * 1e3:.1f} ms")
    # solvers without user callables: the jit cache does not grow on new data
    X = jnp.asarray(rng.normal(size=(6, 2)))
    D = cs.relu_patterns(X)
    cached = {
        dual_ascent._load_balancing: lambda: cs.load_balancing(jnp.asarray(rng.normal(size=(16, 4))),
                                                               num_steps=20, learning_rate=0.1),
        convex_relu._relu_admm: lambda: cs.relu_admm(X, jnp.asarray(rng.normal(size=6)), D, 0.1, num_steps=20),
        sketch._sketch_solve: lambda: cs.sketch_solve(jnp.eye(4) * 2, jnp.asarray(rng.normal(size=4)),
                                                      tol=0.1, key=jax.random.key(0), sketch_size=2),
        convex_relu._train_relu: lambda: cs.train_relu_nonconvex(X, jnp.asarray(rng.normal(size=6)), 3, 0.1,
                                                                 key=jax.random.key(1), num_steps=10),
    }
    for fn, run in cached.items():
        run()
        size = fn._cache_size()
        run()
        assert fn._cache_size() == size


def _c_first(x):
    return jnp.array([x[0] - 0.1])


def test_projections_validate_their_arguments():
    for proj in (cs.project_simplex, cs.project_l1_ball):
        for r in (-1.0, 0.0, np.nan, np.inf, jnp.ones(2), "1"):
            with pytest.raises((ValueError, TypeError), match="radius"):
                proj(jnp.ones(3), r)
        with pytest.raises(ValueError, match="v contains"):
            proj(jnp.array([1.0, np.nan]), 1.0)
        with pytest.raises(ValueError, match="v must not be empty"):
            proj(jnp.zeros(0), 1.0)
        with pytest.raises(TypeError, match="v must be"):
            proj("abc", 1.0)
        # lists and integer arrays are converted
        np.testing.assert_allclose(proj([3, 0, 0], 1), proj(jnp.array([3.0, 0.0, 0.0]), 1.0))
    with pytest.raises(ValueError, match="v must be a 1-D"):
        cs.project_simplex(jnp.ones((2, 2)))
    for S, shape in ((cs.simplex(), (3,)), (cs.spectral_ball(), (3, 2)), (cs.nuclear_ball(), (3, 2))):
        with pytest.raises(ValueError, match="x must be a"):
            S.project(jnp.ones(shape + (1,)))
        with pytest.raises(ValueError, match="g must be a"):
            S.lmo(jnp.ones(shape + (1,)))
        with pytest.raises(ValueError, match="g contains"):
            S.lmo(jnp.full(shape, np.nan))
    with pytest.raises(ValueError, match="tol must be non-negative"):
        cs.l2_ball().contains(jnp.ones(2), tol=-1.0)
    with pytest.raises(ValueError, match="x must broadcast"):
        cs.box(jnp.zeros(3), jnp.ones(3)).project(jnp.ones(4))
    # under jit the checks on values are skipped, the maths still runs
    assert jax.jit(cs.project_simplex)(jnp.ones(3), 1.0).shape == (3,)


def test_frank_wolfe_learning_rate_is_validated():
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    x0 = jnp.ones(2) / 2
    with pytest.raises(ValueError, match=r"learning_rate must be one of 'open_loop', 'short'.*got 'Short'"):
        cs.frank_wolfe(f, cs.simplex(), x0, num_steps=10, learning_rate="Short")
    with pytest.raises(ValueError, match=r"learning_rate must lie in \(0, 1\]"):
        cs.frank_wolfe(f, cs.simplex(), x0, num_steps=10, learning_rate=1.5)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        cs.frank_wolfe(f, cs.simplex(), x0, num_steps=10, learning_rate=0.0)
    with pytest.raises(TypeError, match="learning_rate"):
        cs.frank_wolfe(f, cs.simplex(), x0, num_steps=10, learning_rate=None)
    with pytest.raises(ValueError, match="L must be positive"):
        cs.frank_wolfe(f, cs.simplex(), x0, num_steps=10, learning_rate="short", L=-1.0)
    out = cs.frank_wolfe(f, cs.simplex(), x0, num_steps=10, learning_rate="short", L=2.0)
    np.testing.assert_allclose(out.params, x0, atol=1e-7)


def _open_loop(t):
    return 2.0 / (t + 2.0)


def test_frank_wolfe_learning_rate_schedule_and_constant():
    f = lambda x: jnp.sum((x - jnp.array([0.7, 0.2, 0.1])) ** 2)  # noqa: E731
    x0 = jnp.array([1.0, 0.0, 0.0])
    rule = cs.frank_wolfe(f, cs.simplex(), x0, num_steps=50)
    sched = cs.frank_wolfe(f, cs.simplex(), x0, num_steps=50, learning_rate=_open_loop)
    np.testing.assert_array_equal(sched.iterates, rule.iterates)      # the same rule, as a schedule
    const = cs.frank_wolfe(f, cs.simplex(), x0, num_steps=3, learning_rate=0.5)
    s = jnp.array([0.0, 1.0, 0.0])                                    # lmo at x0: the vertex e_2
    np.testing.assert_allclose(const.iterates[1], 0.5 * x0 + 0.5 * s, atol=1e-7)
    assert int(const.n_iters) == 3 and const.iterates.shape == (4, 3)


# ------------------------------------------------------------------ errors

def test_errors():
    with pytest.raises(ValueError, match="non-negative"):
        cs.l2_ball(-1.0)
    with pytest.raises(ValueError, match="positive"):
        cs.simplex(0.0)
    with pytest.raises(ValueError, match="not convex"):
        cs.ball(1.0, p=0)
    with pytest.raises(ValueError, match="not convex"):
        cs.ball(1.0, p=0.5)
    assert isinstance(cs.ball(2.0, p="nuclear"), cs.NuclearBall)
    assert isinstance(cs.ball(2.0, p=np.inf), cs.Box)
    with pytest.raises(ValueError, match="unknown norm"):
        cs.ball(1.0, p="l0")
    with pytest.raises(ValueError, match="box is empty"):
        cs.box(jnp.array([0.0, 1.0]), jnp.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="broadcast"):
        cs.box(jnp.zeros(2), jnp.ones(3))
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    with pytest.raises(ValueError, match="x0 is not feasible"):
        cs.frank_wolfe(f, cs.simplex(), jnp.array([0.5, 0.6]), num_steps=10)
    with pytest.raises(TypeError, match="cset must be a set"):
        cs.frank_wolfe(f, "simplex", jnp.array([0.5, 0.5]), num_steps=10)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        cs.projected_gradient(f, cs.simplex(), jnp.ones(2) / 2, learning_rate=-0.1, num_steps=10)
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        cs.projected_gradient(f, cs.simplex(), jnp.ones(2) / 2, learning_rate=0.1, num_steps=10.5)
    with pytest.raises(ValueError, match="needs the smoothness constant"):
        cs.frank_wolfe(f, cs.simplex(), jnp.ones(2) / 2, num_steps=10, learning_rate="short")
    with pytest.raises(ValueError, match="x0 contains"):
        cs.projected_gradient(f, cs.simplex(), jnp.array([np.nan, 1.0]), learning_rate=0.1, num_steps=10)
    with pytest.raises(ValueError, match="scores must be a 2-D"):
        cs.load_balancing(jnp.ones(5), num_steps=10, learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        cs.load_balancing(jnp.ones((5, 3)), num_steps=10, learning_rate=0.0)
    c = lambda x: jnp.array([x[0] - 1.0])  # noqa: E731
    with pytest.raises(ValueError, match="mus must be positive"):
        cs.quadratic_penalty(f, c, jnp.zeros(2), jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="lam0 must have shape"):
        cs.augmented_lagrangian(f, c, jnp.zeros(2), 1.0, num_steps=3, lam0=jnp.zeros(2))
    with pytest.raises(ValueError, match="theta must lie"):
        cs.exact_al_sketch(f, c, jnp.zeros(2), key=jax.random.key(0), accuracy="fixed", theta=1.5)
    with pytest.raises(ValueError, match="sketch_size must be at most"):
        cs.exact_al_sketch(f, c, jnp.zeros(2), key=jax.random.key(0), sketch_size=9)
    with pytest.raises(ValueError, match="lam0 must be non-negative"):
        cs.primal_dual(f, c, jnp.zeros(2), learning_rate=0.1, dual_learning_rate=0.1, num_steps=5,
                       lam0=jnp.array([-1.0]))
    X, y = relu_data(8)
    with pytest.raises(ValueError, match="exact enumeration needs d = 2"):
        cs.relu_patterns(jnp.ones((4, 3)))
    with pytest.raises(ValueError, match="D must hold 0/1"):
        cs.relu_admm(X, y, 0.5 * jnp.ones((3, 8)), 0.1)
    with pytest.raises(ValueError, match="y must have shape"):
        cs.relu_admm(X, y[:3], jnp.ones((3, 8)), 0.1)


def test_figures_have_one_slider_step_per_value():
    from optlab.viz import constrained as vc

    fig = vc.penalty_landscape(lambda x: (x[0] - 2) ** 2 + 2 * (x[1] - 1) ** 2,
                               lambda x: jnp.array([x[0] ** 2 + x[1] ** 2 - 1.0]),
                               [1.0, 10.0, 100.0], iterates=np.zeros((4, 2)), xlim=(-2, 2),
                               ylim=(-2, 2), resolution=20)
    assert len(fig.layout.sliders[0].steps) == 3
    # at the default 70 x 70 grid the contours ship as base64 float32 (152 KB for 3 values of mu;
    # float64 made chapter 11's two five-step landscapes 335 KB each)
    fig = vc.penalty_landscape(lambda x: (x[0] - 2) ** 2 + 2 * (x[1] - 1) ** 2,
                               lambda x: jnp.array([x[0] ** 2 + x[1] ** 2 - 1.0]), [1.0, 10.0, 100.0])
    assert json.loads(fig.to_json())["data"][0]["z"]["dtype"] == "f4"
    assert len(fig.to_json()) < 200_000
    it = np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 30))
    fig = vc.simplex_trajectories({"a": it[0], "b": it[1]})
    assert len(fig.data) >= 3
    fig = vc.load_balance_figure(np.ones((2, 10, 4)), np.ones((2, 10)), [0.1, 0.01],
                                 lp_value=0.5)
    assert len(fig.layout.sliders[0].steps) == 2
    assert len(fig.to_json()) < 1_000_000
    fig = vc.relu_fits(np.arange(3), np.arange(3), np.arange(5), np.arange(5),
                       np.ones((2, 5)), [1.0, 2.0], 0.5)
    assert len(fig.layout.sliders[0].steps) == 2
