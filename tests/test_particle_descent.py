"""Particle gradient descent (optlab.sampling.particle_descent) on F(μ) = ∫V dμ + ½∬W(x − y) dμ dμ:
the energy against a dense numpy sum, the step against the explicit formula, and the closed-form
optimum of V = x²/2, W = −|z| on the line."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import sampling as sp
from optlab.sampling import particle_descent as pd_mod


def V_quad(x):
    return 0.5 * jnp.sum(x * x)


def W_abs(z):
    return -jnp.sum(jnp.abs(z))


def W_sq(z):
    return 0.25 * jnp.sum(z * z)


def test_energy_matches_a_dense_numpy_sum():
    x = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    got = float(sp.interaction_energy(V_quad, W_sq, x))
    d = x[:, None, :] - x[None, :, :]
    ref = np.mean(0.5 * np.sum(x**2, 1)) + 0.5 * np.sum(0.25 * np.sum(d**2, -1)) / 49
    assert got == pytest.approx(ref, rel=1e-5)


def test_step_is_the_explicit_formula():
    x0 = np.random.default_rng(1).normal(size=(6, 2)).astype(np.float32)
    out = sp.particle_gradient_descent(V_quad, W_sq, x0, learning_rate=0.1, num_steps=1)
    # ∇V(x_i) + (1/n) Σ_j ∇W(x_i − x_j) = x_i + (1/2)(x_i − x̄)
    ref = x0 - 0.1 * (x0 + 0.5 * (x0 - x0.mean(0)))
    np.testing.assert_allclose(np.asarray(out.params), ref, rtol=1e-5, atol=1e-6)
    assert out.values.shape == (2,)
    assert float(out.values[0]) == pytest.approx(float(sp.interaction_energy(V_quad, W_sq, x0)), rel=1e-6)


@pytest.mark.parametrize("n", [5, 40])
def test_line_optimum_and_linear_rate_float32(n):
    x0 = jax.random.normal(jax.random.key(0), (n, 1))
    h, K = 0.3, 20
    out = sp.particle_gradient_descent(V_quad, W_abs, x0, learning_rate=h, num_steps=K)
    x_star = (2.0 * np.arange(1, n + 1) - n - 1) / n
    xs = np.sort(np.asarray(out.iterates, float)[..., 0], axis=1)
    w2 = np.sqrt(np.mean((xs - x_star) ** 2, 1))
    np.testing.assert_allclose(w2, (1 - h) ** np.arange(K + 1) * w2[0], rtol=1e-4)
    F_n_star = -1 / 6 + 1 / (6 * n**2)
    assert float(sp.interaction_energy(V_quad, W_abs, x_star[:, None])) == pytest.approx(F_n_star, rel=1e-5)
    vals = np.asarray(out.values, float)
    np.testing.assert_allclose(vals[:8] - F_n_star, 0.5 * w2[:8] ** 2, rtol=1e-3, atol=1e-7)
    assert np.all(np.diff(vals) <= 1e-7)


def test_compiles_once_per_shape_and_vmaps():
    x0 = jax.random.normal(jax.random.key(0), (10, 1))
    sp.particle_gradient_descent(V_quad, W_abs, x0, learning_rate=0.1, num_steps=4)
    n = pd_mod._pgd._cache_size()
    sp.particle_gradient_descent(V_quad, W_abs, x0 + 1.0, learning_rate=0.2, num_steps=4)
    assert pd_mod._pgd._cache_size() == n
    run = lambda h: sp.particle_gradient_descent(V_quad, W_abs, x0, learning_rate=h, num_steps=4,  # noqa: E731
                                                 return_iterates=False).params
    np.testing.assert_allclose(jax.vmap(run)(jnp.array([0.1, 0.2]))[1], run(0.2), rtol=1e-6)
    g = jax.grad(lambda h: jnp.sum(run(h) ** 2))(0.1)
    assert np.isfinite(float(g))
