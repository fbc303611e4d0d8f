"""Tests for optlab.constrained against cvxpy (projections, optimal values and
multipliers), scipy (the assignment LP), dense KKT solves and closed forms."""

import jax

jax.config.update("jax_enable_x64", True)

import cvxpy as cp  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from optlab import constrained as cs  # noqa: E402

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
        p = np.asarray(SETS[kind](r).project(jnp.asarray(v)))
        np.testing.assert_allclose(p, cvx_projection(kind, v, r), atol=1e-5)


def test_spectral_and_nuclear_balls_match_cvxpy():
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
        assert S.contains(s, 1e-9)
        assert abs(float(jnp.sum(G * s)) - ref) < 1e-6
    # the nuclear LMO is rank one: the top singular pair only
    s = np.asarray(cs.nuclear_ball(1.5).lmo(jnp.asarray(G)))
    assert np.linalg.matrix_rank(s, tol=1e-9) == 1


@pytest.mark.parametrize("kind", ["simplex", "l1", "l2", "box"])
def test_lmo_matches_cvxpy_linear_program(kind):
    rng = np.random.default_rng(2)
    g = rng.normal(size=9)
    S = SETS[kind](1.3)
    s = np.asarray(S.lmo(jnp.asarray(g)))
    x = cp.Variable(9)
    cons = {"simplex": [x >= 0, cp.sum(x) == 1.3], "l1": [cp.norm1(x) <= 1.3],
            "l2": [cp.norm2(x) <= 1.3], "box": [x >= -1.3, x <= 0.65]}[kind]
    ref = cp.Problem(cp.Minimize(g @ x), cons).solve(solver=cp.CLARABEL)
    assert S.contains(jnp.asarray(s), 1e-9)
    assert abs(g @ s - ref) < 1e-6


@settings(max_examples=20, deadline=None)
@given(st.sampled_from(list(SETS)), st.floats(0.1, 5.0), st.integers(0, 10_000))
def test_property_projection_feasible_idempotent_nonexpansive(kind, r, seed):
    rng = np.random.default_rng(seed)
    S = SETS[kind](r)
    u, v = (jnp.asarray(rng.normal(size=8) * 3) for _ in range(2))
    pu, pv = S.project(u), S.project(v)
    assert S.contains(pu, 1e-9)
    np.testing.assert_allclose(S.project(pu), pu, atol=1e-10)
    assert float(jnp.linalg.norm(pu - pv)) <= float(jnp.linalg.norm(u - v)) + 1e-10
    # variational inequality: <u - P u, z - P u> <= 0 for every z in the set
    z = S.project(jnp.asarray(rng.normal(size=8)))
    assert float(jnp.vdot(u - pu, z - pu)) <= 1e-8


def test_projection_jits_and_vmaps():
    V = jnp.asarray(np.random.default_rng(3).normal(size=(6, 5)))
    S = cs.simplex(1.0)
    out = jax.jit(jax.vmap(S.project))(V)
    np.testing.assert_allclose(out, np.stack([np.asarray(S.project(v)) for v in V]), atol=1e-12)
    # the radius is a pytree leaf: vmap over radii
    radii = jnp.array([0.5, 1.0, 2.0])
    sums = jax.vmap(lambda r: jnp.sum(cs.project_simplex(V[0], r)))(radii)
    np.testing.assert_allclose(sums, radii, atol=1e-12)


# ------------------------------------------------------------------ PGD and Frank–Wolfe

def portfolio(seed=0, m=150, d=12):
    rng = np.random.default_rng(seed)
    R = np.exp(rng.normal(0.0, 0.05, (m, d)) + rng.normal(0, 0.01, d))
    x = cp.Variable(d)
    ref = cp.Problem(cp.Minimize(-cp.sum(cp.log(R @ x)) / m), [x >= 0, cp.sum(x) == 1]).solve(
        solver=cp.CLARABEL)
    Rj = jnp.asarray(R)
    return (lambda x: -jnp.mean(jnp.log(Rj @ x))), ref, x.value


def test_frank_wolfe_open_loop_gap_certificate_and_cvxpy_value():
    f, ref, _ = portfolio()
    out = cs.frank_wolfe(f, cs.simplex(), jnp.ones(12) / 12, 1500)
    primal = np.asarray(out.values) - ref
    gaps = np.asarray(out.gaps)
    assert np.all(gaps >= primal - 1e-9)            # the FW gap certifies suboptimality
    assert primal[-1] < 1e-5
    t = np.arange(1, 1501)
    assert np.max(t[10:] * primal[10:]) < 50 * max(primal[0], 1e-3)  # O(1/t) envelope


def test_projected_gradient_matches_cvxpy_and_grad_map_vanishes():
    f, ref, xref = portfolio(1)
    out = cs.projected_gradient(f, cs.simplex(), jnp.zeros(12), 2.0, 3000)
    assert abs(float(out.values[-1]) - ref) < 1e-7
    assert float(out.grad_map[-1]) < 1e-4
    assert cs.simplex().contains(out.x, 1e-10)


def test_frank_wolfe_l1_ball_lasso_and_spectral_ball():
    rng = np.random.default_rng(4)
    A, b = rng.normal(size=(30, 10)), rng.normal(size=30)
    x = cp.Variable(10)
    ref = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(A @ x - b)), [cp.norm1(x) <= 1.0]).solve()
    Aj, bj = jnp.asarray(A), jnp.asarray(b)
    f = lambda x: 0.5 * jnp.sum((Aj @ x - bj) ** 2)  # noqa: E731
    out = cs.frank_wolfe(f, cs.l1_ball(1.0), jnp.zeros(10), 3000)
    assert float(out.values[-1]) - ref < 2e-3 * abs(ref)
    assert np.all(np.asarray(out.gaps) >= np.asarray(out.values) - ref - 1e-7)
    # short step with L = ||A||^2 is at least as good here
    L = np.linalg.norm(A, 2) ** 2
    short = cs.frank_wolfe(f, cs.l1_ball(1.0), jnp.zeros(10), 3000, step="short", L=L)
    assert float(short.values[-1]) - ref < 2e-3 * abs(ref)
    # matrix completion-like: min ||X - M||^2 over the spectral ball: projection is the answer
    M = jnp.asarray(rng.normal(size=(6, 5)))
    fs = lambda X: 0.5 * jnp.sum((X - M) ** 2)  # noqa: E731
    for S in (cs.nuclear_ball(2.0), cs.spectral_ball(0.8)):
        out = cs.frank_wolfe(fs, S, jnp.zeros((6, 5)), 2000)
        fstar = float(fs(S.project(M)))
        assert float(out.values[-1]) - fstar < 1e-3
        assert np.all(np.asarray(out.gaps) >= np.asarray(out.values) - fstar - 1e-9)


# ------------------------------------------------------------------ duality

def test_load_balancing_weak_duality_and_lp():
    rng = np.random.default_rng(5)
    S = jnp.asarray(rng.normal(size=(256, 8)) + np.linspace(0, 1.5, 8))
    lp = cs.balanced_assignment_lp(S)
    out = cs.load_balancing(S, 300, 1e-2)
    dual = np.asarray(out.dual)
    assert np.all(dual >= lp - 1e-9)                       # weak duality, every step
    assert dual.min() - lp < 0.02 * (dual[0] - lp)        # dual steps close the gap
    assert float(out.imbalance[0]) > 1.8 and float(out.imbalance[-1]) < 1.15
    np.testing.assert_allclose(np.asarray(out.loads).sum(1), 256)
    # D(b_t) = routed affinity + sum_e b_e (load_e - n/E): the Lagrangian at the routed point
    lag = np.asarray(out.affinity) + np.sum(np.asarray(out.biases) * (np.asarray(out.loads) - 32), 1)
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

    res = minimize(lambda x: float(f(jnp.asarray(x))), np.array([1.0, 0.5]),
                   constraints=[{"type": "eq", "fun": lambda x: x[0] ** 2 + x[1] ** 2 - 1}],
                   method="SLSQP", options=dict(ftol=1e-14, maxiter=500))
    xs = res.x
    gf = np.array([2 * (xs[0] - 2), 4 * (xs[1] - 1)])
    lam = -gf @ (2 * xs) / np.sum((2 * xs) ** 2)
    return f, c, xs, lam


def test_penalty_ill_conditioned_and_alm_converges_with_bounded_mu():
    f, c, xs, lam = circle_problem()
    qp = cs.quadratic_penalty(f, c, jnp.zeros(2), jnp.array([1.0, 10, 100, 1e3, 1e4]))
    viol, cond = np.asarray(qp.violations), np.asarray(qp.conds)
    assert np.all(np.diff(viol) < 0) and viol[-1] > 1e-5      # feasibility only as mu grows
    assert cond[-1] > 1e3 * cond[0] / 10                        # condition number ~ mu
    al = cs.augmented_lagrangian(f, c, jnp.zeros(2), 10.0, 12)
    np.testing.assert_allclose(al.xs[-1], xs, atol=1e-7)
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


def test_sketch_solve_reaches_asked_accuracy():
    rng = np.random.default_rng(6)
    K = rng.normal(size=(15, 15)) / np.sqrt(15) + 2 * np.eye(15)
    r = rng.normal(size=15)
    for th in (1e-1, 1e-6):
        z, it = cs.sketch_solve(jnp.asarray(K), jnp.asarray(r), th, jax.random.key(0),
                                sketch_size=5, max_iters=20000)
        assert 0 < int(it) < 20000
        assert np.linalg.norm(K @ np.asarray(z) - r) <= th * np.linalg.norm(r) * (1 + 1e-9)
    np.testing.assert_allclose(z, np.linalg.solve(K, r), rtol=1e-3, atol=1e-4)


def test_exact_al_sketch_unit_steps_and_superlinear_with_tightening():
    f, c, x0, (Q, q, A, b) = eq_qp()
    out = cs.exact_al_sketch(f, c, x0, jax.random.key(0), accuracy="tightening", theta=0.1,
                             num_iters=40, tol=1e-10)
    assert out.converged
    r = np.asarray(out.residuals)
    assert np.all(np.asarray(out.steps)[-3:] == 1.0)
    assert (r[1:] / r[:-1])[-1] < 1e-2
    # KKT check against the dense-solve variant and feasibility
    ex = cs.exact_al_sketch(f, c, x0, jax.random.key(0), accuracy="exact", num_iters=40,
                            tol=1e-10)
    np.testing.assert_allclose(out.x, ex.x, atol=1e-8)
    np.testing.assert_allclose(A @ np.asarray(out.x), b, atol=1e-9)
    assert abs(np.sum(np.asarray(out.x) ** 2) - 1) < 1e-9
    fixed = cs.exact_al_sketch(f, c, x0, jax.random.key(0), accuracy="fixed", theta=0.1,
                               num_iters=60, tol=1e-8)
    rf = np.asarray(fixed.residuals)
    ratios = rf[1:] / rf[:-1]
    late = ratios[np.asarray(fixed.steps) == 1.0][-4:]
    assert np.all(late > 1e-3) and np.median(late) < 0.5       # linear, not superlinear


def test_primal_dual_matches_cvxpy_solution_and_multipliers():
    rng = np.random.default_rng(7)
    A, bb = rng.normal(size=(3, 5)), rng.normal(size=3) * 0.1
    Q, q = np.eye(5) + 0.1 * np.ones((5, 5)), rng.normal(size=5)
    x = cp.Variable(5)
    con = [A @ x <= bb]
    cp.Problem(cp.Minimize(0.5 * cp.quad_form(x, Q) + q @ x), con).solve(solver=cp.CLARABEL)
    Qj, qj, Aj, bj = map(jnp.asarray, (Q, q, A, bb))
    out = cs.primal_dual(lambda x: 0.5 * x @ Qj @ x + qj @ x, lambda x: Aj @ x - bj,
                         jnp.zeros(5), 0.2, 0.2, 3000)
    np.testing.assert_allclose(out.x, x.value, atol=1e-6)
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


def test_relu_admm_matches_cvxpy_and_reconstructs_the_network():
    X, y = relu_data()
    D = cs.relu_patterns(X)
    beta = 0.05
    ref = cvx_relu(X, y, D, beta)
    out = cs.relu_admm(X, y, D, beta, rho=0.1, num_iters=3000)
    assert abs(float(out.objectives[-1]) - ref) < 5e-3 * ref
    assert float(out.violations[-1]) < 1e-3
    U, a = cs.relu_from_convex(out.v, out.w, tol=1e-7)
    pred_cvx = jnp.einsum("pn,nd,pd->n", D, X, out.v - out.w)
    np.testing.assert_allclose(cs.relu_predict(X, U, a), pred_cvx, atol=5e-3)
    # nonconvex training can never beat the convex optimum (all patterns enumerated)
    keys = jax.random.split(jax.random.key(0), 4)
    _, _, vals = jax.vmap(lambda k: cs.train_relu_nonconvex(X, y, 8, beta, k,
                                                            num_steps=1500))(keys)
    assert float(jnp.min(vals[:, -1])) >= ref - 1e-6


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
        cs.frank_wolfe(f, cs.simplex(), jnp.array([0.5, 0.6]), 10)
    with pytest.raises(TypeError, match="cset must be a set"):
        cs.frank_wolfe(f, "simplex", jnp.array([0.5, 0.5]), 10)
    with pytest.raises(ValueError, match="step_size must be positive"):
        cs.projected_gradient(f, cs.simplex(), jnp.ones(2) / 2, -0.1, 10)
    with pytest.raises(TypeError, match="num_iters must be an integer"):
        cs.projected_gradient(f, cs.simplex(), jnp.ones(2) / 2, 0.1, 10.5)
    with pytest.raises(ValueError, match="needs the smoothness constant"):
        cs.frank_wolfe(f, cs.simplex(), jnp.ones(2) / 2, 10, step="short")
    with pytest.raises(ValueError, match="x0 contains"):
        cs.projected_gradient(f, cs.simplex(), jnp.array([np.nan, 1.0]), 0.1, 10)
    with pytest.raises(ValueError, match="scores must be a 2-D"):
        cs.load_balancing(jnp.ones(5), 10, 0.1)
    with pytest.raises(ValueError, match="step_size must be positive"):
        cs.load_balancing(jnp.ones((5, 3)), 10, 0.0)
    c = lambda x: jnp.array([x[0] - 1.0])  # noqa: E731
    with pytest.raises(ValueError, match="mus must be positive"):
        cs.quadratic_penalty(f, c, jnp.zeros(2), jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="lam0 must have shape"):
        cs.augmented_lagrangian(f, c, jnp.zeros(2), 1.0, 3, lam0=jnp.zeros(2))
    with pytest.raises(ValueError, match="theta must lie"):
        cs.exact_al_sketch(f, c, jnp.zeros(2), jax.random.key(0), accuracy="fixed", theta=1.5)
    with pytest.raises(ValueError, match="sketch_size must be at most"):
        cs.exact_al_sketch(f, c, jnp.zeros(2), jax.random.key(0), sketch_size=9)
    with pytest.raises(ValueError, match="lam0 must be non-negative"):
        cs.primal_dual(f, c, jnp.zeros(2), 0.1, 0.1, 5, lam0=jnp.array([-1.0]))
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
                               [1.0, 10.0, 100.0], xs=np.zeros((3, 2)), xlim=(-2, 2),
                               ylim=(-2, 2), resolution=20)
    assert len(fig.layout.sliders[0].steps) == 3
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
