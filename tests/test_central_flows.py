"""Central flow of gradient descent (Cohen et al. 2025) against closed forms on a loss whose
sharpness is a function of one coordinate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import dynamics as dy
from optlab import landscape
from optlab.dynamics import central_flows as cfm

C, ETA, Y0 = 1.0, 0.5, 1.0  # the edge 2/η = 4 is reached at t = (4 − y0)/(ηc) = 6
D = jnp.array([0.25, 0.5])  # below y0, so that S = y all along


def ridge(w):
    """L(x, y, z) = ½ y x² − c y + ½ Σ d_i z_i²: at x = 0 the Hessian is diag(y, 0, d), so S = y with u = e_x and ∇S = e_y."""
    x, y, z = w[0], w[1], w[2:]
    return 0.5 * y * x**2 - C * y + 0.5 * jnp.sum(D * z**2)


def ridge_exp(w):
    """The same with S = exp(y): on the edge y* = log(2/η) and σ² = 2c / e^{y*} = cη."""
    x, y, z = w[0], w[1], w[2:]
    return 0.5 * jnp.exp(y) * x**2 - C * y + 0.5 * jnp.sum(D * z**2)


W0 = jnp.array([0.0, Y0, 1.0, -2.0], jnp.float32)


def test_central_flow_closed_form_linear_sharpness():
    T, sub = 12, 4
    out = dy.central_flow(ridge, W0, learning_rate=ETA, num_steps=T, key=jax.random.key(0), substeps=sub)
    t = np.arange(T + 1)
    y_exact = np.minimum(Y0 + ETA * C * t, 2 / ETA)  # y grows at rate ηc until S = y = 2/η, then stops
    np.testing.assert_allclose(np.asarray(out.iterates[:, 1]), y_exact, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(out.sharpness), y_exact, rtol=1e-4)
    # σ² = 2⟨−∇L, ∇S⟩/‖∇S‖² = 2c on the edge (the record at t is σ² of the Euler step from w(t))
    np.testing.assert_allclose(np.asarray(out.variances[7:]), 2 * C, rtol=1e-4)
    np.testing.assert_array_equal(np.asarray(out.variances[:6]), 0.0)
    # z follows the Euler steps of gradient flow, (1 − hηd)^(t·substeps), untouched by σ² (∇S ⟂ z)
    z_exact = np.asarray(W0[2:])[None] * (1 - ETA * np.asarray(D)[None] / sub) ** (sub * t[:, None])
    np.testing.assert_allclose(np.asarray(out.iterates[:, 2:]), z_exact, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(out.iterates[:, 0]), 0.0, atol=1e-7)
    # predicted averaged loss L + ½σ²S: on the edge −c·y* + ½·2c·y* = 0 plus the z part
    zpart = 0.5 * np.sum(np.asarray(D) * z_exact**2, axis=1)
    np.testing.assert_allclose(np.asarray(out.mean_losses()[7:]), zpart[7:], rtol=1e-4, atol=1e-5)
    assert np.abs(np.asarray(out.eigenvectors[:, 0])).min() > 1 - 1e-5  # u = e_x, the direction that oscillates


def test_central_flow_closed_form_nonlinear_sharpness():
    out = dy.central_flow(ridge_exp, W0, learning_rate=ETA, num_steps=12, key=jax.random.key(0))
    y_star = np.log(2 / ETA)
    np.testing.assert_allclose(np.asarray(out.iterates[-4:, 1]), y_star, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(out.variances[-4:]), C * ETA, rtol=1e-4)  # 2c / S'(y*) = 2c·η/2
    np.testing.assert_allclose(np.asarray(out.sharpness[-4:]), 2 / ETA, rtol=1e-5)


def test_gradient_flow_crosses_the_edge_and_has_no_variance():
    out = dy.gradient_flow(ridge, W0, learning_rate=ETA, num_steps=12, key=jax.random.key(0), substeps=4)
    t = np.arange(13)
    np.testing.assert_allclose(np.asarray(out.iterates[:, 1]), Y0 + ETA * C * t, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(out.variances), 0.0)
    np.testing.assert_allclose(np.asarray(out.losses), np.asarray(jax.vmap(ridge)(out.iterates)), rtol=1e-6)


def test_gradient_descent_orbit_has_the_predicted_variance():
    # GD on ridge: x ← (1 − ηy)x, y ← y + η(c − x²/2); its period-2 orbit y = 2/η, x = ±√(2c) has x² = σ² = 2c
    x = jnp.array([np.sqrt(2 * C), 2 / ETA, 0.0, 0.0], jnp.float32)
    x1 = x - ETA * jax.grad(ridge)(x)
    x2 = x1 - ETA * jax.grad(ridge)(x1)
    np.testing.assert_allclose(np.asarray(x1[:2]), [-np.sqrt(2 * C), 2 / ETA], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(x2), np.asarray(x), rtol=1e-6, atol=1e-7)


def test_below_the_edge_central_flow_is_gradient_flow_on_a_pytree():
    x = jax.random.normal(jax.random.key(1), (12, 2))
    y = jnp.sin(x[:, :1])

    def mse(p):
        return 0.5 * jnp.mean((landscape.mlp_batch_apply(p, x) - y) ** 2)

    p0 = landscape.mlp_init([2, 4, 1], key=jax.random.key(2))
    kw = dict(learning_rate=0.01, num_steps=20, key=jax.random.key(0))  # 2/η = 200, far above S
    a, b = dy.central_flow(mse, p0, **kw), dy.gradient_flow(mse, p0, **kw)
    for la, lb in zip(jax.tree.leaves(a.iterates), jax.tree.leaves(b.iterates), strict=True):
        np.testing.assert_allclose(np.asarray(la), np.asarray(lb), rtol=1e-6, atol=1e-7)
    assert jax.tree.structure(a.params) == jax.tree.structure(p0)
    assert a.iterates[0][0].shape == (21, 4, 2) and a.eigenvectors.shape == (21, 17)
    dense = float(jnp.linalg.eigvalsh(landscape.hessian_matrix(mse, a.params))[-1])
    assert float(a.sharpness[-1]) == pytest.approx(dense, rel=1e-3)


def test_learning_rate_is_traced_and_no_retrace():
    cfm._flow.clear_cache()
    kw = dict(num_steps=10, key=jax.random.key(0))
    dy.central_flow(ridge, W0, learning_rate=0.5, **kw)
    n = cfm._flow._cache_size()
    out = dy.central_flow(ridge, W0 + 0.1, learning_rate=0.4, **kw)  # new data and step, same shapes
    dy.gradient_flow(ridge, W0, learning_rate=0.3, **kw)  # the same compiled loop
    assert cfm._flow._cache_size() == n == 1
    assert np.all(np.isfinite(np.asarray(out.losses)))
    y_end = jax.jit(lambda eta: dy.central_flow(ridge, W0, learning_rate=eta, **kw).iterates[-1, 1])(0.5)
    assert float(y_end) == pytest.approx(2 / 0.5, rel=1e-5)
