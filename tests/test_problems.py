"""optlab.problems: the advertised constants and optima against independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import problems

jax.config.update("jax_enable_x64", True)


@settings(max_examples=20, deadline=None)
@given(st.floats(1.0, 1e4), st.integers(2, 12), st.integers(0, 1000))
def test_quadratic_constants_are_the_hessian_spectrum(kappa, dim, seed):
    p = problems.quadratic(kappa=kappa, dim=dim, key=jax.random.key(seed))
    eigs = np.linalg.eigvalsh(np.asarray(jax.hessian(p.value)(p.x0)))
    np.testing.assert_allclose([eigs[0], eigs[-1]], [p.mu, p.L], rtol=1e-9)
    np.testing.assert_allclose(p.condition_number, kappa, rtol=1e-9)
    assert float(p.value(p.x_star)) == p.f_star == 0.0


def test_least_squares_matches_numpy_lstsq():
    rng = np.random.default_rng(0)
    A, b = rng.normal(size=(50, 6)), rng.normal(size=50)
    p = problems.least_squares(jnp.asarray(A), jnp.asarray(b))
    np.testing.assert_allclose(p.x_star, np.linalg.lstsq(A, b, rcond=None)[0], rtol=1e-10)
    eigs = np.linalg.eigvalsh(A.T @ A / 50)
    np.testing.assert_allclose([p.mu, p.L], [eigs[0], eigs[-1]], rtol=1e-10)
    idx = jnp.arange(50)
    np.testing.assert_allclose(p.sample_grad(p.x0, idx), p.grad(p.x0), rtol=1e-12)


def test_logistic_regression_optimum_matches_scipy():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 4))
    y = np.sign(X @ rng.normal(size=4) + 0.3 * rng.normal(size=80))
    p = problems.logistic_regression(jnp.asarray(X), jnp.asarray(y), reg=0.05)
    ref = scipy.optimize.minimize(lambda w: float(p.value(jnp.asarray(w))), np.zeros(4),
                                  jac=lambda w: np.asarray(p.grad(jnp.asarray(w))), method="BFGS",
                                  options={"gtol": 1e-12})
    np.testing.assert_allclose(p.x_star, ref.x, atol=1e-6)
    assert p.f_star <= ref.fun + 1e-12
    H = np.asarray(jax.hessian(p.value)(jnp.zeros(4)))
    assert np.linalg.eigvalsh(H)[-1] <= p.L + 1e-12  # the Hessian is largest at the origin


def test_worst_case_quadratic_closed_form():
    p = problems.worst_case_quadratic(dim=30, L=2.0)
    np.testing.assert_allclose(p.grad(p.x_star), 0.0, atol=1e-12)
    np.testing.assert_allclose(p.value(p.x_star), p.f_star, rtol=1e-12)
    eigs = np.linalg.eigvalsh(np.asarray(jax.hessian(p.value)(p.x0)))
    assert eigs[-1] <= p.L and np.isclose(eigs[0], p.mu)


def test_pl_sine_satisfies_pl_and_smoothness_on_a_grid():
    p = problems.pl_sine()
    xs = jnp.linspace(-30, 30, 20001)[:, None]
    f = jax.vmap(p.value)(xs)
    g = jax.vmap(p.grad)(xs)[:, 0]
    h = jax.vmap(lambda x: jax.hessian(p.value)(x)[0, 0])(xs)
    mask = f > 1e-12
    assert np.all(0.5 * g[mask] ** 2 >= (1 / 32) * f[mask])
    assert np.max(np.abs(h)) <= p.L + 1e-9


def test_rosenbrock_and_abs():
    r = problems.rosenbrock()
    np.testing.assert_allclose(r.grad(r.x_star), 0.0)
    a = problems.abs_1d(2.0)
    assert float(a.value(jnp.array([-3.0]))) == 6.0


@pytest.mark.parametrize("call,match", [
    (lambda: problems.quadratic(kappa=0.5), "kappa must be at least 1"),
    (lambda: problems.quadratic(kappa=-1.0), "kappa must be positive"),
    (lambda: problems.quadratic(dim=0), "dim must be at least 1"),
    (lambda: problems.least_squares(jnp.ones(3), jnp.ones(3)), "A must be a 2-D array"),
    (lambda: problems.least_squares(jnp.ones((3, 2)), jnp.ones(4)), "A has 3 rows but b has 4"),
    (lambda: problems.least_squares(jnp.full((3, 2), jnp.nan), jnp.ones(3)), "A contains 6 NaN"),
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
