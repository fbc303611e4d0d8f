"""Tests for optlab.zeroth_order against closed forms (linear / quadratic f, the (d+2)
second-moment law), jax.grad, exact enumeration of discrete expectations (numpy, written
out independently), numpy re-implementations (CBO drift, consensus), and the viz figures."""

import itertools
import time

import jax
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from optlab import zeroth_order as zo  # noqa: E402
from optlab.viz import zeroth_order as zviz  # noqa: E402

KEY = jax.random.key(0)


@pytest.fixture(params=["float32", "float64"])
def prec(request):
    """Run an exactness check in the readers' float32 and again in float64."""
    if request.param == "float64":
        with jax.enable_x64(True):
            yield "float64"
    else:
        yield "float32"


def rtol_for(prec, f32=2e-5, f64=1e-10):
    """Tolerances measured: float32 errors of these identities are <= 3e-6 relative."""
    return f64 if prec == "float64" else f32


def linear(d, seed=0):
    a = jnp.asarray(np.random.default_rng(seed).normal(size=d))
    return a, (lambda x: a @ x + 0.5)


def quadratic(d, seed=0):
    r = np.random.default_rng(seed)
    M = r.normal(size=(d, d))
    A = jnp.asarray(M @ M.T / d + np.eye(d))
    b = jnp.asarray(r.normal(size=d))
    return A, b, (lambda x: 0.5 * x @ A @ x - b @ x)


def sample(est, f, x, n, m=1, mu=1e-3, key=KEY):
    return jax.vmap(lambda k: est(f, x, key=k, num_directions=m, smoothing=mu))(jax.random.split(key, n))


# --------------------------------------------------------------------------- estimators

@pytest.mark.parametrize("name", ["gaussian", "central", "sphere", "forward"])
def test_unbiased_on_linear_functions(name):
    d, n = 8, 40000
    a, f = linear(d)
    x = jnp.asarray(np.random.default_rng(1).normal(size=d))
    g = sample(zo.ESTIMATORS[name], f, x, n)
    se = g.std(0) / np.sqrt(n)
    assert np.all(np.abs(g.mean(0) - a) < 4.5 * se + 1e-9)


@pytest.mark.parametrize("d", [5, 50])
def test_second_moment_law(d):
    """E‖ĝ‖² = (1 + (d+1)/m)‖a‖² for Gaussian directions, (1 + (d−1)/m)‖a‖² on the sphere."""
    a, f = linear(d, seed=d)
    x = jnp.zeros(d)
    n = 20000
    for m in (1, 4):
        for name, law in (("gaussian", 1 + (d + 1) / m), ("forward", 1 + (d + 1) / m),
                          ("sphere", 1 + (d - 1) / m)):
            g = sample(zo.ESTIMATORS[name], f, x, n, m=m, key=jax.random.fold_in(KEY, m))
            sq = np.sum(np.asarray(g) ** 2, 1) / float(a @ a)
            assert abs(sq.mean() - law) < 5 * sq.std() / np.sqrt(n), (name, m)


def test_gaussian_estimator_is_unbiased_for_smoothed_quadratic():
    # f_μ = f + μ²/2 tr(A) for a quadratic: ∇f_μ = ∇f, and E ĝ = Ax − b for any μ
    d, n, mu = 6, 60000, 0.5
    A, b, f = quadratic(d)
    x = jnp.asarray(np.random.default_rng(3).normal(size=d))
    for name in ("gaussian", "central"):
        g = sample(zo.ESTIMATORS[name], f, x, n, mu=mu)
        se = g.std(0) / np.sqrt(n)
        assert np.all(np.abs(g.mean(0) - (A @ x - b)) < 4.5 * se)


def test_central_and_coordinate_differences_are_exact_on_quadratics(prec):
    A, b, f = quadratic(7)
    x = jnp.asarray(np.random.default_rng(4).normal(size=7))
    grad = np.asarray(A @ x - b, dtype=np.float64)
    scale = np.max(np.abs(grad))
    np.testing.assert_allclose(zo.coordinate_grad(f, x, smoothing=0.3), grad,
                               atol=rtol_for(prec) * scale)
    u = jax.random.normal(KEY, (1, 7))
    g = zo.gaussian_smoothing_grad(f, x, key=KEY, num_directions=1, smoothing=0.3, central=True)
    ref = (grad @ np.asarray(u[0])) * np.asarray(u[0])
    np.testing.assert_allclose(g, ref, atol=rtol_for(prec) * np.max(np.abs(ref)))


def test_forward_gradient_uses_one_jvp_per_direction_exactly(prec):
    A, b, f = quadratic(5)
    x = jnp.ones(5)
    v = jax.random.normal(KEY, (3, 5))
    ref = np.mean([(np.asarray(A @ x - b) @ vi) * vi for vi in np.asarray(v)], axis=0)
    np.testing.assert_allclose(zo.forward_gradient(f, x, key=KEY, num_directions=3), ref,
                               atol=rtol_for(prec) * np.max(np.abs(ref)))


@settings(max_examples=10, deadline=None)
@given(st.sampled_from([2, 5, 9]), st.integers(1, 3), st.floats(1e-3, 1.0))
def test_estimators_lie_in_span_of_directions_and_scale(d, m, mu):
    """Property: a two-point estimate on a linear f is linear in the gradient (scaling by a
    power of two is exact in floating point, so the identity holds to the last bit)."""
    a, f = linear(d, seed=d)
    x = jnp.zeros(d)
    g1 = zo.sphere_two_point_grad(f, x, key=KEY, num_directions=m, smoothing=mu)
    g2 = zo.sphere_two_point_grad(lambda z: 4.0 * f(z), x, key=KEY, num_directions=m, smoothing=mu)
    np.testing.assert_allclose(g2, 4.0 * g1, rtol=1e-6, atol=1e-6 * float(jnp.max(jnp.abs(g1))))
    if m == 1:  # one direction: ĝ ∥ u and ⟨ĝ, a⟩ ≥ 0
        assert float(g1 @ a) >= -1e-5 * float(jnp.linalg.norm(g1) * jnp.linalg.norm(a))


def test_estimators_jit_and_vmap():
    a, f = linear(4)
    jit_est = jax.jit(zo.gaussian_smoothing_grad, static_argnums=(0,), static_argnames=("num_directions",))
    np.testing.assert_allclose(jit_est(f, jnp.zeros(4), key=KEY, num_directions=2, smoothing=1e-2),
                               zo.gaussian_smoothing_grad(f, jnp.zeros(4), key=KEY, num_directions=2, smoothing=1e-2))
    mus = jnp.array([1e-3, 1e-2])
    out = jax.vmap(lambda mu: zo.sphere_two_point_grad(f, jnp.zeros(4), key=KEY, num_directions=2, smoothing=mu))(mus)
    assert out.shape == (2, 4)


def test_estimator_errors():
    a, f = linear(3)
    x = jnp.zeros(3)
    with pytest.raises(ValueError, match="smoothing must be positive"):
        zo.gaussian_smoothing_grad(f, x, key=KEY, num_directions=1, smoothing=0.0)
    with pytest.raises(ValueError, match="smoothing must be positive"):
        zo.sphere_two_point_grad(f, x, key=KEY, num_directions=1, smoothing=-1e-3)
    with pytest.raises(ValueError, match="num_directions must be at least 1"):
        zo.forward_gradient(f, x, key=KEY, num_directions=0)
    with pytest.raises(TypeError, match="num_directions must be an integer"):
        zo.gaussian_smoothing_grad(f, x, key=KEY, num_directions=2.0)
    with pytest.raises(ValueError, match="x must be a 1-D array"):
        zo.gaussian_smoothing_grad(f, jnp.zeros((3, 1)), key=KEY)
    with pytest.raises(ValueError, match="f must return a scalar"):
        zo.forward_gradient(lambda z: z * 2, x, key=KEY)
    # integer arrays and lists are converted (the library's one policy)
    np.testing.assert_allclose(zo.forward_gradient(f, jnp.zeros(3, dtype=jnp.int32), key=KEY),
                               zo.forward_gradient(f, [0.0, 0.0, 0.0], key=KEY))
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        zo.forward_gradient(f, x, key=0)
    with pytest.raises(TypeError, match="x must be"):
        zo.forward_gradient(f, "abc", key=KEY)
    with pytest.raises(ValueError, match="NaN"):
        zo.sphere_two_point_grad(f, jnp.array([0.0, jnp.nan, 1.0]), key=KEY)
    with pytest.raises(ValueError, match="shape"):  # x of the wrong length for f
        zo.gaussian_smoothing_grad(f, jnp.zeros(4), key=KEY)
    with pytest.raises(ValueError, match="smoothing must be a scalar"):
        zo.gaussian_smoothing_grad(f, x, key=KEY, num_directions=1, smoothing=jnp.ones(3))


# --------------------------------------------------------------------------- descent

def test_zo_descent_exact_matches_gradient_descent_closed_form(prec):
    A, b, f = quadratic(4)
    x = jnp.zeros(4)
    res = zo.zo_descent(f, x, key=KEY, learning_rate=0.1, num_steps=30, estimator="exact")
    ref = np.zeros(4)
    for _ in range(30):
        ref = ref - 0.1 * (np.asarray(A, np.float64) @ ref - np.asarray(b, np.float64))
    tol = rtol_for(prec, f64=1e-12)  # float32: measured 1e-7 relative
    np.testing.assert_allclose(res.params, ref, rtol=tol, atol=tol * np.max(np.abs(ref)))
    assert res.iterates.shape == (31, 4) and res.values.shape == (31,)
    np.testing.assert_allclose(res.values[-1], f(jnp.asarray(ref)), rtol=tol)
    assert int(res.evaluations[-1]) == 30


def test_zo_descent_converges_on_a_quadratic_and_counts_evaluations():
    A, b, f = quadratic(5)
    xstar = np.linalg.solve(A, b)
    fstar = float(f(jnp.asarray(xstar)))
    for est, per in (("gaussian", 5), ("sphere", 8), ("forward", 4), ("coordinate", 10)):
        res = zo.zo_descent(f, jnp.zeros(5), key=KEY, learning_rate=0.05, num_steps=600,
                            estimator=est, num_directions=4, smoothing=1e-4)
        assert float(res.values[-1]) - fstar < 1e-3 * (float(res.values[0]) - fstar), est
        assert int(res.evaluations[1]) == per
    # vmap over learning rates and keys
    out = jax.vmap(lambda lr, k: zo.zo_descent(f, jnp.zeros(5), key=k, learning_rate=lr, num_steps=10,
                                               estimator="central").values[-1])(
        jnp.array([0.01, 0.05]), jax.random.split(KEY, 2))
    assert out.shape == (2,)


def test_perturbed_two_point_escapes_strict_saddle_and_unperturbed_does_not():
    x0 = jnp.zeros(6)
    kw = dict(learning_rate=0.1, num_steps=300, estimator="sphere", smoothing=1e-2)
    stuck = zo.zo_descent(zo.strict_saddle, x0, key=KEY, **kw)
    assert float(jnp.max(jnp.abs(stuck.iterates))) == 0.0  # f is even: central differences vanish
    gd = zo.zo_descent(zo.strict_saddle, x0, key=KEY, learning_rate=0.1, num_steps=300, estimator="exact")
    assert float(jnp.max(jnp.abs(gd.iterates))) == 0.0
    esc = jax.vmap(lambda k: zo.zo_descent(zo.strict_saddle, x0, key=k, perturbation=0.1, **kw).values[-1])(
        jax.random.split(KEY, 8))
    assert np.all(np.asarray(esc) < -0.2)


def test_zo_descent_errors():
    a, f = linear(3)
    with pytest.raises(ValueError, match="estimator must be one of"):
        zo.zo_descent(f, jnp.zeros(3), key=KEY, learning_rate=0.1, num_steps=3, estimator="adam")
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        zo.zo_descent(f, jnp.zeros(3), key=KEY, learning_rate=-0.1, num_steps=3)
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        zo.zo_descent(f, jnp.zeros(3), key=KEY, learning_rate=0.1, num_steps=0)
    with pytest.raises(ValueError, match="perturbation must be non-negative"):
        zo.zo_descent(f, jnp.zeros(3), key=KEY, learning_rate=0.1, num_steps=3, perturbation=-1.0)
    with pytest.raises(ValueError, match="smoothing must be positive"):
        zo.zo_descent(f, jnp.zeros(3), key=KEY, learning_rate=0.1, num_steps=3, smoothing=0.0)
    with pytest.raises(ValueError, match="evaluations_per_step|estimator must be one of"):
        zo.evaluations_per_step("nope", 3, 1)


# --------------------------------------------------------------------------- CBO

def test_rastrigin_and_saddle_closed_forms():
    s = jnp.array([1.0, 1.0])
    assert float(zo.rastrigin(s, s)) == 0.0
    assert np.isclose(float(zo.rastrigin(jnp.array([0.0, 1.0]), s)), 1.0 + 10 - 10)
    np.testing.assert_allclose(jax.grad(zo.rastrigin)(s, s), 0.0, atol=1e-12)
    x = jnp.array([0.0, 0.0, 1.0])
    assert np.isclose(float(zo.strict_saddle(x)), -0.25)
    np.testing.assert_allclose(jax.hessian(zo.strict_saddle)(jnp.zeros(3)), np.diag([1, 1, -1.0]))


def test_consensus_point_matches_numpy_and_laplace_limit(prec):
    r = np.random.default_rng(5)
    X, v = r.normal(size=(30, 3)), r.random(30) * 5
    Xj, vj = jnp.asarray(X), jnp.asarray(v)
    X, v = np.asarray(Xj, np.float64), np.asarray(vj, np.float64)  # the values JAX sees
    tol = rtol_for(prec, f64=1e-12)  # float32: measured 1.1e-7 relative
    for alpha in (0.0, 1.0, 30.0):
        w = np.exp(-alpha * (v - v.min()))
        ref = w @ X / w.sum()
        np.testing.assert_allclose(zo.consensus_point(Xj, vj, alpha), ref, rtol=tol,
                                   atol=tol * np.max(np.abs(ref)))
    # huge α: no overflow, the argmin particle (Laplace principle)
    np.testing.assert_allclose(zo.consensus_point(Xj, vj, 1e8), X[np.argmin(v)],
                               atol=tol * np.max(np.abs(X)))


def test_cbo_finds_rastrigin_global_minimum_and_beats_gradient_descent():
    star = jnp.array([1.0, 1.0])
    f = lambda x: zo.rastrigin(x, star)  # noqa: E731

    def run(k):
        X0 = jax.random.uniform(k, (100, 2), minval=-3.0, maxval=3.0)
        res = zo.cbo(f, X0, key=jax.random.fold_in(k, 1), alpha=50.0, drift=1.0, noise=0.7,
                     dt=0.02, num_steps=300)
        gd = jax.vmap(lambda x0: zo.zo_descent(f, x0, key=k, learning_rate=0.002, num_steps=300,
                                               estimator="exact").params)(X0)
        return (jnp.linalg.norm(res.consensus[-1] - star),
                jnp.mean(jnp.linalg.norm(gd - star, axis=1) < 0.1))

    cbo_err, gd_rate = jax.vmap(run)(jax.random.split(KEY, 12))
    assert np.mean(np.asarray(cbo_err) < 0.1) >= 10 / 12
    assert float(np.mean(gd_rate)) < 0.2


def test_cbo_shapes_iterates_and_deterministic_drift():
    X0 = jnp.asarray(np.random.default_rng(6).normal(size=(20, 3)))
    res = zo.cbo(lambda x: jnp.sum(x**2), X0, key=KEY, num_steps=40, record_every=10)
    assert res.iterates.shape == (5, 20, 3) and res.consensus.shape == (41, 3)
    np.testing.assert_allclose(res.iterates[-1], res.params)
    np.testing.assert_allclose(res.iterates[0], X0)
    assert res.spread[-1] < res.spread[0]
    # σ = 0: pure drift x ← x − λdt(x − v), with v recomputed every step (numpy reference)
    res0 = zo.cbo(lambda x: jnp.sum(x**2), X0, key=KEY, alpha=2.0, drift=1.0, noise=0.0, dt=0.1,
                  num_steps=5)
    X = np.asarray(X0, np.float64)
    for _ in range(5):
        w = np.exp(-2.0 * np.sum(X**2, 1))
        X = X - 0.1 * (X - w @ X / w.sum())
    # float32: measured max error 1.2e-7 on entries of size ~1
    np.testing.assert_allclose(res0.params, X, rtol=1e-5, atol=1e-5 * np.max(np.abs(X)))


def test_cbo_errors():
    f = lambda x: jnp.sum(x**2)  # noqa: E731
    X0 = jnp.zeros((5, 2))
    with pytest.raises(ValueError, match="particles must be a 2-D array"):
        zo.cbo(f, jnp.zeros(5), key=KEY)
    with pytest.raises(ValueError, match="dt must be positive"):
        zo.cbo(f, X0, key=KEY, dt=0.0)
    with pytest.raises(ValueError, match="must divide num_steps"):
        zo.cbo(f, X0, key=KEY, num_steps=10, record_every=3)
    with pytest.raises(ValueError, match="alpha must be non-negative"):
        zo.consensus_point(X0, jnp.zeros(5), -1.0)
    with pytest.raises(ValueError, match="one entry per particle"):
        zo.consensus_point(X0, jnp.zeros(4), 1.0)


# --------------------------------------------------------------------------- discrete

def np_bernoulli_grad(fvals_of, theta):
    """∇θ Σ_z p(z) f(z) written out by hand: ∂p(z)/∂θ_i = p(z)(z_i − σ(θ_i))."""
    s = 1 / (1 + np.exp(-theta))
    g, J = np.zeros_like(theta), 0.0
    for z in itertools.product([0.0, 1.0], repeat=len(theta)):
        z = np.array(z)
        p = np.prod(np.where(z == 1, s, 1 - s))
        fz = fvals_of(z)
        J += p * fz
        g += p * fz * (z - s)
    return J, g


F_COEF = np.array([0.2, 0.7, 0.4, -0.3])


def f_np(z):
    return float(np.sum((z - F_COEF) ** 2) + z[0] * z[2] - 0.5 * z[1] * z[3])


def f_jax(z):
    return jnp.sum((z - F_COEF) ** 2) + z[0] * z[2] - 0.5 * z[1] * z[3]


def test_enumeration_matches_handwritten_reference(prec):
    theta = np.array([0.3, -0.5, 1.0, 0.1])
    J, g = np_bernoulli_grad(f_np, theta)
    tol = rtol_for(prec)  # float32: measured 7e-7 relative
    assert np.isclose(float(zo.bernoulli_expectation(f_jax, jnp.asarray(theta))), J, rtol=tol, atol=0)
    np.testing.assert_allclose(jax.grad(lambda t: zo.bernoulli_expectation(f_jax, t))(jnp.asarray(theta)),
                               g, rtol=tol, atol=tol * np.max(np.abs(g)))
    # categorical: closed form ∇J = p ⊙ (f − J)
    th = jnp.array([0.5, -1.0, 2.0, 0.0, 0.3])
    fk = jnp.array([1.0, -2.0, 0.5, 3.0, 0.0])
    fc = lambda z: z @ fk + (z @ fk) ** 2  # noqa: E731
    p = np.asarray(jax.nn.softmax(th))
    vals = np.asarray(fk + fk**2)
    Jc = p @ vals
    assert np.isclose(float(zo.categorical_expectation(fc, th)), Jc, rtol=tol, atol=0)
    ref = p * (vals - Jc)
    np.testing.assert_allclose(jax.grad(lambda t: zo.categorical_expectation(fc, t))(th),
                               ref, rtol=tol, atol=tol * np.max(np.abs(ref)))


@pytest.mark.parametrize("dist,baseline", [("bernoulli", "none"), ("bernoulli", "loo"),
                                           ("categorical", "none"), ("categorical", "loo"),
                                           ("categorical", 1.5)])
def test_reinforce_is_unbiased_against_enumeration(dist, baseline):
    n = 20000
    if dist == "bernoulli":
        theta, f = jnp.array([0.3, -0.5, 1.0, 0.1]), f_jax
        exact = jax.grad(lambda t: zo.bernoulli_expectation(f, t))(theta)
    else:
        theta = jnp.array([0.5, -1.0, 2.0, 0.0, 0.3])
        f = lambda z: (z @ jnp.arange(5.0) - 1.5) ** 2  # noqa: E731
        exact = jax.grad(lambda t: zo.categorical_expectation(f, t))(theta)
    S = 1 if baseline == "none" else 2
    g = jax.vmap(lambda k: zo.reinforce_grad(f, theta, key=k, num_samples=S, distribution=dist,
                                             baseline=baseline))(jax.random.split(KEY, n))
    se = g.std(0) / np.sqrt(n)
    assert np.all(np.abs(g.mean(0) - exact) < 4.5 * se + 1e-12)


def test_loo_baseline_reduces_variance():
    theta = jnp.array([0.3, -0.5, 1.0, 0.1])
    f = lambda z: f_jax(z) + 5.0  # noqa: E731  (a large constant offset hurts plain REINFORCE)
    ks = jax.random.split(KEY, 4000)
    plain = jax.vmap(lambda k: zo.reinforce_grad(f, theta, key=k, num_samples=4))(ks)
    loo = jax.vmap(lambda k: zo.reinforce_grad(f, theta, key=k, num_samples=4, baseline="loo"))(ks)
    assert float(jnp.sum(loo.var(0))) < 0.2 * float(jnp.sum(plain.var(0)))


def test_straight_through_exact_for_affine_biased_otherwise():
    theta = jnp.array([0.3, -0.5, 1.0, 0.1])
    a = jnp.array([1.0, -2.0, 0.5, 3.0])
    lin = lambda z: a @ z + 1.0  # noqa: E731
    exact = jax.grad(lambda t: zo.bernoulli_expectation(lin, t))(theta)
    # float32: measured 7e-7 relative (the sum over 16 configurations against one sample)
    np.testing.assert_allclose(zo.straight_through_grad(lin, theta, key=KEY, num_samples=1), exact, rtol=1e-5,
                               atol=1e-5 * float(jnp.max(jnp.abs(exact))))
    thc = jnp.array([0.5, -1.0, 2.0])
    lin_c = lambda z: a[:3] @ z  # noqa: E731
    exact_c = jax.grad(lambda t: zo.categorical_expectation(lin_c, t))(thc)
    np.testing.assert_allclose(zo.straight_through_grad(lin_c, thc, key=KEY, num_samples=1, distribution="categorical"),
                               exact_c, rtol=1e-5, atol=1e-5 * float(jnp.max(jnp.abs(exact_c))))
    # one bit, f(z) = (z − c)²: E ĝ_ST = σ'(θ)(2p − 2c) ≠ σ'(θ)(1 − 2c) unless p = 1/2
    c, th = 0.3, jnp.array([1.2])
    fq = lambda z: jnp.sum((z - c) ** 2)  # noqa: E731
    p = float(jax.nn.sigmoid(th)[0])
    ds = p * (1 - p)
    gst = jax.vmap(lambda k: zo.straight_through_grad(fq, th, key=k, num_samples=1))(jax.random.split(KEY, 20000))
    assert abs(float(gst.mean()) - ds * (2 * p - 2 * c)) < 5 * float(gst.std()) / np.sqrt(20000)
    exact_q = float(jax.grad(lambda t: zo.bernoulli_expectation(fq, t))(th)[0])
    assert np.isclose(exact_q, ds * (1 - 2 * c))
    assert abs(float(gst.mean()) - exact_q) > 0.05


def _reinmax_mean_by_enumeration(f, theta, distribution, temperature=1.0):
    """E ĝ_RM = Σ_z p(z) ĝ_RM(z), every sample enumerated (no Monte-Carlo)."""
    from optlab.zeroth_order.discrete_gradients import _reinmax_from_samples

    n = theta.shape[0]
    if distribution == "bernoulli":
        Z = jnp.asarray(list(itertools.product([0.0, 1.0], repeat=n)), theta.dtype)
        q = jax.nn.sigmoid(theta)
        pz = jnp.prod(jnp.where(Z > 0, q, 1 - q), axis=1)
    else:
        Z, pz = jnp.eye(n, dtype=theta.dtype), jax.nn.softmax(theta)
    g = jax.vmap(lambda z: _reinmax_from_samples(f, theta, z[None], distribution, temperature))(Z)
    return jnp.sum(pz[:, None] * g, axis=0)


@pytest.mark.parametrize("distribution,n", [("categorical", 6), ("bernoulli", 5)])
def test_reinmax_is_exact_for_quadratic_f_and_biased_beyond(distribution, n):
    """Proposition prop-reinmax-quadratic (chapter 14): τ = 1 and f quadratic give
    E ĝ_RM = ∇_θ E f(z) exactly; a cubic term or τ ≠ 1 breaks it (float32)."""
    rng = np.random.default_rng(3)
    B, c = jnp.asarray(rng.normal(size=(n, n)), jnp.float32), jnp.asarray(rng.normal(size=n), jnp.float32)
    theta = jnp.asarray(rng.normal(size=n), jnp.float32)
    expect = zo.bernoulli_expectation if distribution == "bernoulli" else zo.categorical_expectation
    quad = lambda z: z @ B @ z + c @ z  # noqa: E731
    cubic = lambda z: quad(z) + (c @ z) ** 3  # noqa: E731
    exact = jax.grad(lambda t: expect(quad, t))(theta)
    scale = float(jnp.max(jnp.abs(exact)))
    got = _reinmax_mean_by_enumeration(quad, theta, distribution)
    # float32 sums over 2^5 or 6 outcomes: measured 1.2e-7 and 6e-8 absolute on gradients of size ~0.5-0.8
    np.testing.assert_allclose(got, exact, rtol=0, atol=2e-6 * max(scale, 1.0))
    assert float(jnp.max(jnp.abs(_reinmax_mean_by_enumeration(quad, theta, distribution, 2.0) - exact))) > 0.02 * scale
    exact_c = jax.grad(lambda t: expect(cubic, t))(theta)
    assert float(jnp.max(jnp.abs(_reinmax_mean_by_enumeration(cubic, theta, distribution) - exact_c))) > 0.02 * float(
        jnp.max(jnp.abs(exact_c)))


def test_reinmax_matches_the_authors_backward_formula():
    """ĝ = (2 J(π₁) − ½ J(π₀)) ∇f(z), J(π) = diag(π) − ππᵀ, π₁ = (z + softmax(θ/τ))/2: the
    backward pass of the authors' reference implementation, written out in NumPy (float64)."""
    rng = np.random.default_rng(4)
    K, tau = 5, 1.7
    a = rng.normal(size=K)
    f = lambda z: jnp.sum(jnp.sin(z) * a) + jnp.sum(z**2)  # noqa: E731
    theta = rng.normal(size=K)
    key = jax.random.key(11)
    got = np.asarray(zo.reinmax_grad(f, jnp.asarray(theta, jnp.float32), key=key, num_samples=1,
                                     distribution="categorical", temperature=tau))
    z = np.asarray(jax.nn.one_hot(jax.random.categorical(key, jnp.asarray(theta, jnp.float32), shape=(1,)), K))[0]
    soft = lambda v: np.exp(v - v.max()) / np.exp(v - v.max()).sum()  # noqa: E731
    J = lambda p: np.diag(p) - np.outer(p, p)  # noqa: E731
    grad_f = np.cos(z) * a + 2 * z
    ref = (2 * J(0.5 * (z + soft(theta / tau))) - 0.5 * J(soft(theta))) @ grad_f
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)  # float32 against float64: measured 6e-8
    # bits: J(π) = diag(π(1 − π))
    th_b = rng.normal(size=4)
    fb = lambda z: jnp.sum(jnp.sin(z) * a[:4]) + jnp.sum(z**2)  # noqa: E731
    got_b = np.asarray(zo.reinmax_grad(fb, jnp.asarray(th_b, jnp.float32), key=key, temperature=tau))
    zb = np.asarray(jax.random.bernoulli(key, jax.nn.sigmoid(jnp.asarray(th_b, jnp.float32)), (1, 4)), float)[0]
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    p1 = 0.5 * (zb + sig(th_b / tau))
    ref_b = (2 * p1 * (1 - p1) - 0.5 * sig(th_b) * (1 - sig(th_b))) * (np.cos(zb) * a[:4] + 2 * zb)
    np.testing.assert_allclose(got_b, ref_b, rtol=1e-5, atol=1e-6)


def test_reinmax_is_jittable_vmappable_and_stable_at_saturated_logits():
    f = lambda z: jnp.sum((z - 0.3) ** 2)  # noqa: E731
    keys = jax.random.split(KEY, 8)
    g = jax.jit(jax.vmap(lambda k: zo.reinmax_grad(f, jnp.array([0.2, -1.0, 3.0]), key=k, num_samples=2)))(keys)
    assert g.shape == (8, 3) and g.dtype == jnp.float32
    for dist in ("bernoulli", "categorical"):  # σ / softmax saturate in float32: finite, ~0 gradient
        out = zo.reinmax_grad(f, jnp.array([80.0, -80.0, 0.0]), key=KEY, num_samples=4, distribution=dist)
        assert bool(jnp.all(jnp.isfinite(out))), (dist, out)


def test_discrete_errors():
    with pytest.raises(ValueError, match="distribution must be one of"):
        zo.reinforce_grad(f_jax, jnp.zeros(4), key=KEY, distribution="poisson")
    with pytest.raises(ValueError, match="leave-one-out baseline needs num_samples >= 2"):
        zo.reinforce_grad(f_jax, jnp.zeros(4), key=KEY, num_samples=1, baseline="loo")
    with pytest.raises(ValueError, match="baseline must be"):
        zo.reinforce_grad(f_jax, jnp.zeros(4), key=KEY, num_samples=2, baseline="mean")
    with pytest.raises(ValueError, match="num_samples must be at least 1"):
        zo.straight_through_grad(f_jax, jnp.zeros(4), key=KEY, num_samples=0)
    with pytest.raises(ValueError, match="at most 16 bits"):
        zo.bernoulli_expectation(lambda z: jnp.sum(z), jnp.zeros(17))
    with pytest.raises(ValueError, match="at least 2 logits"):
        zo.categorical_expectation(lambda z: jnp.sum(z), jnp.zeros(1))
    with pytest.raises(ValueError, match="logits must be a 1-D array"):
        zo.reinforce_grad(f_jax, jnp.zeros((2, 2)), key=KEY)


# --------------------------------------------------------------------------- figures

def test_figures_build_and_validate_inputs():
    S = np.random.default_rng(0).uniform(-3, 3, size=(4, 30, 2))
    V = np.zeros((31, 2))
    fig = zviz.cbo_particles_figure(lambda x: zo.rastrigin(x, 1.0), S, V, [0, 10, 20, 30],
                                    xlim=(-3, 3), ylim=(-3, 3), minimizer=[1, 1],
                                    gd_final=S[0], resolution=30)
    assert len(fig.layout.sliders[0].steps) == 4
    assert len(fig.to_json()) < 1_000_000
    with pytest.raises(ValueError, match="iterates but"):
        zviz.cbo_particles_figure(lambda x: zo.rastrigin(x), S, V, [0, 1], xlim=(-3, 3), ylim=(-3, 3))
    dims, ms = [2, 8, 32], [1, 4]
    meas = {"Gaussian": np.ones((2, 3))}
    fig2 = zviz.second_moment_figure(dims, meas, ms, {"theory": np.ones((2, 3))})
    assert len(fig2.layout.sliders[0].steps) == 2
    with pytest.raises(ValueError, match="must have shape"):
        zviz.second_moment_figure(dims, {"x": np.ones((3, 3))}, ms, {})
    fig3 = zviz.discrete_estimators_figure([0.5, 1, 2], {"a": [1e-3, 0, 1]}, {"a": [1, 2, 3]})
    assert len(fig3.data) == 2


# --------------------------------------------------------------------------- compilation

def test_solvers_compile_once_per_shape():
    """A second call with new data of the same shape reuses the compiled loop (no re-trace)."""
    traces = []

    def f(x):
        traces.append(1)
        return jnp.sum((x - 0.5) ** 2)

    r = np.random.default_rng(0)
    t0 = time.perf_counter()
    zo.zo_descent(f, jnp.asarray(r.normal(size=6)), key=KEY, learning_rate=0.1, num_steps=50,
                  estimator="sphere", num_directions=2, smoothing=1e-2).params.block_until_ready()
    cold = time.perf_counter() - t0
    n_cold = len(traces)
    t0 = time.perf_counter()
    zo.zo_descent(f, jnp.asarray(r.normal(size=6)), key=jax.random.key(1), learning_rate=0.05,
                  num_steps=50, estimator="sphere", num_directions=2,
                  smoothing=2e-2).params.block_until_ready()
    warm = time.perf_counter() - t0
    # the validation's eval_shape traces f once per call; the solver itself is not re-traced
    assert len(traces) - n_cold <= 1, (n_cold, len(traces))
    X0 = jnp.asarray(r.normal(size=(10, 2)))
    zo.cbo(f, X0, key=KEY, num_steps=20)
    n_cbo = len(traces)
    zo.cbo(f, X0 + 1.0, key=jax.random.key(2), alpha=10.0, num_steps=20)
    assert len(traces) - n_cbo <= 1
