"""optlab.problems: the advertised constants and optima against independent computations.

Tests run in float32 (the readers' dtype) with tolerances measured against the
magnitudes involved; identities to 1e-9 are checked again in float64 (``x64``).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import problems

EPS32 = float(np.finfo(np.float32).eps)


@jax.jit
def _hessian(f, x):  # f is a jax.tree_util.Partial: one compile per problem kind and shape
    return jax.hessian(f)(x)


def _hessian_eigs(p):
    return np.linalg.eigvalsh(np.asarray(_hessian(p.value, p.x0), dtype=np.float64))


@settings(max_examples=20, deadline=None)
@given(st.floats(1.0, 1e4), st.integers(2, 12), st.integers(0, 1000))
def test_quadratic_constants_are_the_hessian_spectrum(kappa, dim, seed):
    p = problems.quadratic(kappa=kappa, dim=dim, key=jax.random.key(seed))
    assert p.x0.dtype == jnp.float32
    eigs = _hessian_eigs(p)
    # float32 eigenvalues carry an absolute error of a few eps·L (measured: ≤ 2.9 eps·L over 60 draws)
    np.testing.assert_allclose([eigs[0], eigs[-1]], [p.mu, p.L], rtol=0, atol=10 * EPS32 * p.L)
    np.testing.assert_allclose(p.condition_number, kappa, rtol=1e-12)  # constants are exact
    assert float(p.value(p.x_star)) == p.f_star == 0.0


@settings(max_examples=10, deadline=None)
@given(st.floats(1.0, 1e4), st.integers(2, 12), st.integers(0, 1000))
def test_quadratic_constants_in_float64(kappa, dim, seed):
    with jax.enable_x64(True):
        p = problems.quadratic(kappa=kappa, dim=dim, key=jax.random.key(seed))
        assert p.x0.dtype == jnp.float64
        eigs = _hessian_eigs(p)
        np.testing.assert_allclose([eigs[0], eigs[-1]], [p.mu, p.L], rtol=1e-9)


def test_least_squares_matches_numpy_lstsq_float64(x64):
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(50, 6)), rng.normal(size=50)
    p = problems.least_squares(jnp.asarray(A), jnp.asarray(b))
    np.testing.assert_allclose(p.x_star, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)
    eigs = np.linalg.eigvalsh(A.T @ A / 50)
    np.testing.assert_allclose([p.mu, p.L], [eigs[0], eigs[-1]], rtol=1e-10)
    idx = jnp.arange(50)
    np.testing.assert_allclose(p.sample_grad(p.x0, idx), p.grad(p.x0), rtol=1e-12)


def test_least_squares_matches_numpy_lstsq_float32():
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(50, 6)), rng.normal(size=50)
    p = problems.least_squares(A.astype(np.float32), b.astype(np.float32))
    assert p.x_star.dtype == jnp.float32
    ref = np.linalg.lstsq(A, b, rcond=None)[0]
    # conditioning of AᵀA is ~4 here; measured error 2e-7 relative
    np.testing.assert_allclose(p.x_star, ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    eigs = np.linalg.eigvalsh(A.T @ A / 50)
    np.testing.assert_allclose([p.mu, p.L], [eigs[0], eigs[-1]], rtol=1e-5)
    np.testing.assert_allclose(p.sample_grad(p.x0, jnp.arange(50)), p.grad(p.x0), rtol=1e-5, atol=1e-6)


def test_logistic_regression_optimum_matches_scipy_float64(x64):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = np.sign(X @ rng.normal(size=4) + 0.3 * rng.normal(size=80))
    p = problems.logistic_regression(jnp.asarray(X), jnp.asarray(y), reg=0.05)
    vg = jax.jit(jax.value_and_grad(p.value))
    ref = scipy.optimize.minimize(lambda w: tuple(np.asarray(t) for t in vg(jnp.asarray(w))),
                                  np.zeros(4), jac=True, method="BFGS",
                                  options={"gtol": 1e-12})
    np.testing.assert_allclose(p.x_star, ref.x, atol=1e-6)
    assert p.f_star <= ref.fun + 1e-12
    H = np.asarray(jax.hessian(p.value)(jnp.zeros(4)))
    assert np.linalg.eigvalsh(H)[-1] <= p.L + 1e-12  # the Hessian is largest at the origin


def test_logistic_regression_optimum_float32():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = np.sign(X @ rng.normal(size=4) + 0.3 * rng.normal(size=80))
    with jax.enable_x64(True):
        ref = problems.logistic_regression(jnp.asarray(X), jnp.asarray(y), reg=0.05)
        x_ref, f_ref = np.asarray(ref.x_star), ref.f_star
    p = problems.logistic_regression(X.astype(np.float32), y, reg=0.05)
    assert p.x_star.dtype == jnp.float32
    np.testing.assert_allclose(p.x_star, x_ref, rtol=0, atol=1e-5 * np.abs(x_ref).max())
    np.testing.assert_allclose(p.f_star, f_ref, rtol=1e-6)
    assert float(jnp.linalg.norm(p.grad(p.x_star))) < 1e-5


def test_worst_case_quadratic_closed_form():
    p = problems.worst_case_quadratic(dim=30, L=2.0)
    np.testing.assert_allclose(p.grad(p.x_star), 0.0, atol=10 * EPS32 * p.L)
    np.testing.assert_allclose(p.value(p.x_star), p.f_star, rtol=1e-6)
    eigs = _hessian_eigs(p)
    assert eigs[-1] <= p.L * (1 + 1e-6) and np.isclose(eigs[0], p.mu, rtol=1e-4)


def test_worst_case_quadratic_closed_form_float64(x64):
    p = problems.worst_case_quadratic(dim=30, L=2.0)
    np.testing.assert_allclose(p.grad(p.x_star), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.value(p.x_star), p.f_star, rtol=1e-12)
    eigs = _hessian_eigs(p)
    assert eigs[-1] <= p.L and np.isclose(eigs[0], p.mu, rtol=1e-9)


def test_pl_sine_satisfies_pl_and_smoothness_on_a_grid():
    p = problems.pl_sine()
    xs = jnp.linspace(-30, 30, 20001)[:, None]
    f = jax.vmap(p.value)(xs)
    g = jax.vmap(p.grad)(xs)[:, 0]
    h = jax.vmap(lambda x: jax.hessian(p.value)(x)[0, 0])(xs)
    mask = f > 1e-6
    # the PL margin ½g² − f/32 is ≥ 0.06 f on this grid: far above float32 rounding
    assert np.all(0.5 * g[mask] ** 2 >= (1 / 32) * f[mask])
    assert np.max(np.abs(h)) <= p.L * (1 + 1e-6)


def test_rosenbrock_and_abs():
    r = problems.rosenbrock()
    np.testing.assert_allclose(r.grad(r.x_star), 0.0)
    a = problems.abs_1d(2.0)
    assert float(a.value(jnp.array([-3.0]))) == 6.0


def test_problems_are_traceable():
    """Constructors validate without concrete values: they work under jit/vmap."""
    L = jax.jit(lambda k: problems.quadratic(k, 4).mu)(jnp.float32(8.0))
    np.testing.assert_allclose(L, 1.0 / 8.0, rtol=1e-6)
    A = jax.random.normal(jax.random.key(0), (20, 3))
    b = jnp.ones(20)
    mus = jax.vmap(lambda s: problems.least_squares(s * A, b).mu)(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(mus[1], 4 * mus[0], rtol=1e-4)
    fs = jax.jit(lambda s: problems.least_squares(A, s * b).f_star)(2.0)
    assert np.isfinite(fs)
    L = jax.jit(lambda X: problems.logistic_regression(X, jnp.sign(b), reg=0.1).L)(A)
    assert np.isfinite(L)
    assert np.isfinite(jax.jit(lambda s: problems.rosenbrock(s, 10.0).x_star)(1.0)).all()
    assert np.isfinite(jax.jit(lambda s: problems.worst_case_quadratic(5, s).f_star)(2.0))


def test_problem_data_are_arguments_not_constants():
    """Built-in problems hold their data as leaves of a Partial (see optlab.runner)."""
    A = jnp.ones((4, 2))
    p = problems.least_squares(A, jnp.ones(4))
    q = problems.least_squares(2 * A, jnp.zeros(4))
    assert jax.tree_util.tree_structure(p.value) == jax.tree_util.tree_structure(q.value)
    assert len(jax.tree_util.tree_leaves(p.value)) == 3  # A, b, reg


@pytest.mark.parametrize("call,match", [
    (lambda: problems.quadratic(kappa=0.5), "kappa must be at least 1"),
    (lambda: problems.quadratic(kappa=-1.0), "kappa must be positive"),
    (lambda: problems.quadratic(dim=0), "dim must be at least 1"),
    (lambda: problems.least_squares(jnp.ones(3), jnp.ones(3)), "A must be a 2-D array"),
    (lambda: problems.least_squares(jnp.ones((3, 2)), jnp.ones(4)), "A has 3 rows but b has 4"),
    (lambda: problems.least_squares(jnp.full((3, 2), jnp.nan), jnp.ones(3)), "A contains 6 NaN"),
    (lambda: problems.least_squares(jnp.ones((0, 2)), jnp.ones(0)), "A must have at least one row"),
    (lambda: problems.logistic_regression(jnp.ones((3, 2)), jnp.array([0.0, 1.0, 1.0])), "labels -1 and \\+1"),
    (lambda: problems.logistic_regression(jnp.ones((3, 2)), jnp.ones(3), reg=-1.0), "reg must be non-negative"),
    (lambda: problems.rosenbrock(b=0.0), "b must be positive"),
])
def test_bad_input_raises(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_suboptimality_needs_f_star():
    X = jnp.ones((4, 2)); y = jnp.array([1.0, -1.0, 1.0, -1.0])
    p = problems.logistic_regression(X, y)
    with pytest.raises(ValueError, match="f_star is not known"):
        p.suboptimality(jnp.zeros(2))
