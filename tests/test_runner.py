"""optlab.runner: scan-based runs, vmapped sweeps, stochastic runs and input validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import first_order, problems, runner

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="module")
def quad():
    return problems.quadratic(kappa=20.0, dim=4, key=jax.random.key(1))


def test_trace_shapes_and_first_row(quad):
    tr = runner.run(first_order.gd(0.5), quad, quad.x0, 7)
    assert tr.params.shape == (8, 4) and tr.values.shape == (8,) and tr.grad_norms.shape == (8,)
    np.testing.assert_allclose(tr.params[0], quad.x0)
    np.testing.assert_allclose(tr.values, jax.vmap(quad.value)(tr.params), rtol=1e-12)
    np.testing.assert_allclose(tr.grad_norms, jnp.linalg.norm(jax.vmap(quad.grad)(tr.params), axis=1),
                               rtol=1e-12)


def test_sweep_equals_individual_runs(quad):
    etas = jnp.array([0.1, 0.7, 1.5, 2.2])
    sw = runner.sweep(lambda e: first_order.gd(e), etas, quad, quad.x0, 30)
    assert sw.params.shape == (4, 31, 4)
    for i, e in enumerate(etas):
        np.testing.assert_allclose(sw.params[i], runner.run(first_order.gd(float(e)), quad, quad.x0, 30).params,
                                   rtol=1e-12, atol=1e-14)


def test_sweep_over_pytree_hyperparameters(quad):
    hp = {"eta": jnp.array([0.1, 0.5]), "beta": jnp.array([0.0, 0.9])}
    sw = runner.sweep(lambda h: first_order.heavy_ball(h["eta"], h["beta"]), hp, quad, quad.x0, 10)
    ref = runner.run(first_order.heavy_ball(0.5, 0.9), quad, quad.x0, 10)
    np.testing.assert_allclose(sw.params[1], ref.params, atol=1e-12)


def test_thousand_step_sizes_in_one_call(quad):
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.linspace(0.01, 2.5, 1000), quad, quad.x0, 50)
    assert sw.values.shape == (1000, 51)


def test_stochastic_runs_are_deterministic_and_seed_dependent():
    A = jax.random.normal(jax.random.key(0), (64, 3))
    p = problems.least_squares(A, A @ jnp.ones(3) + 0.1)
    a = runner.run(first_order.gd(0.05), p, p.x0, 20, key=jax.random.key(5), batch_size=4)
    b = runner.run(first_order.gd(0.05), p, p.x0, 20, key=jax.random.key(5), batch_size=4)
    c = runner.run(first_order.gd(0.05), p, p.x0, 20, key=jax.random.key(6), batch_size=4)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.allclose(a.params, c.params)
    keys = jax.random.split(jax.random.key(0), 3)
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.array([0.01, 0.05]), p, p.x0, 20,
                      keys=keys, batch_size=4)
    assert sw.params.shape == (2, 3, 21, 3)
    np.testing.assert_allclose(
        sw.params[1, 2], runner.run(first_order.gd(0.05), p, p.x0, 20, key=keys[2], batch_size=4).params,
        atol=1e-12)


def test_full_batch_minibatch_equals_gd_in_expectation():
    """With batch_size = n drawn with replacement the mean of many runs tracks GD."""
    A = jax.random.normal(jax.random.key(0), (40, 2))
    p = problems.least_squares(A, A @ jnp.array([1.0, -1.0]))
    keys = jax.random.split(jax.random.key(1), 400)
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.array([0.1]), p, p.x0, 1, keys=keys, batch_size=1)
    mean_step = sw.params[0, :, 1].mean(axis=0)
    gd_step = runner.run(first_order.gd(0.1), p, p.x0, 1).params[1]
    np.testing.assert_allclose(mean_step, gd_step, atol=0.05)


def test_run_is_jittable_and_vmappable_over_starts(quad):
    starts = jax.random.normal(jax.random.key(2), (5, 4))
    out = jax.jit(jax.vmap(lambda x0: runner.run(first_order.gd(0.5), quad, x0, 10).values[-1]))(starts)
    assert out.shape == (5,) and np.all(np.isfinite(out))


@pytest.mark.parametrize("kwargs,match", [
    ({"x0": jnp.ones(3)}, r"x0 must have shape \(4\)"),
    ({"x0": jnp.array([1.0, jnp.nan, 0.0, 0.0])}, "x0 contains 1 NaN"),
    ({"num_steps": 0}, "num_steps must be at least 1"),
    ({"num_steps": 2.5}, "num_steps must be an integer"),
    ({"batch_size": 2}, "not a finite sum"),
])
def test_bad_input_raises(quad, kwargs, match):
    args = {"x0": quad.x0, "num_steps": 5, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        runner.run(first_order.gd(0.1), quad, **args)


def test_stochastic_run_needs_key_and_valid_batch():
    A = jnp.ones((10, 2))
    p = problems.least_squares(A, jnp.ones(10))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        runner.run(first_order.gd(0.1), p, p.x0, 5, batch_size=2)
    with pytest.raises(ValueError, match="exceeds the number of samples"):
        runner.run(first_order.gd(0.1), p, p.x0, 5, key=jax.random.key(0), batch_size=11)


def test_sweep_validates_hyperparameters(quad):
    with pytest.raises(ValueError, match="leading axis"):
        runner.sweep(lambda e: first_order.gd(e), 0.1, quad, quad.x0, 5)
    with pytest.raises(ValueError, match="hyperparams contains"):
        runner.sweep(lambda e: first_order.gd(e), jnp.array([0.1, jnp.nan]), quad, quad.x0, 5)
