"""optlab.runner: scan-based runs, vmapped sweeps, stochastic runs, compile caching and input
validation.  float32 throughout (tolerances relative to the values), float64 where noted."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optlab import first_order, problems, runner

EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def quad():
    return problems.quadratic(kappa=20.0, dim=4, key=jax.random.key(1))


def test_trace_shapes_and_first_row(quad):
    tr = runner.run(first_order.gd(0.5), quad, quad.x0, num_steps=7)
    assert tr.iterates.shape == (8, 4) and tr.values.shape == (8,) and tr.grad_norms.shape == (8,)
    assert tr.iterates.dtype == jnp.float32
    np.testing.assert_allclose(tr.iterates[0], quad.x0)
    np.testing.assert_allclose(tr.values, jax.vmap(quad.value)(tr.iterates), rtol=4 * EPS32)
    np.testing.assert_allclose(tr.grad_norms, jnp.linalg.norm(jax.vmap(quad.grad)(tr.iterates), axis=1),
                               rtol=4 * EPS32)


def test_trace_protocol_params_is_the_final_iterate(quad):
    tr = runner.run(first_order.gd(0.5), quad, quad.x0, num_steps=7)
    assert tr.params.shape == (4,)
    np.testing.assert_array_equal(tr.params, tr.iterates[-1])
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.array([0.1, 0.5]), quad, quad.x0, num_steps=7)
    assert sw.params.shape == (2, 4)
    np.testing.assert_array_equal(sw.params, sw.iterates[:, -1])
    np.testing.assert_allclose(tr.distances(quad.x_star), jnp.linalg.norm(tr.iterates - quad.x_star, axis=1))


def test_num_steps_is_keyword_only(quad):
    with pytest.raises(TypeError):
        runner.run(first_order.gd(0.5), quad, quad.x0, 7)


def test_trace_float64(x64):
    q = problems.quadratic(kappa=20.0, dim=4, key=jax.random.key(1))
    tr = runner.run(first_order.gd(0.5), q, q.x0, num_steps=7)
    assert tr.iterates.dtype == jnp.float64
    np.testing.assert_allclose(tr.values, jax.vmap(q.value)(tr.iterates), rtol=1e-12)


def test_sweep_equals_individual_runs(quad):
    etas = jnp.array([0.1, 0.7, 1.5, 2.2])
    sw = runner.sweep(lambda e: first_order.gd(e), etas, quad, quad.x0, num_steps=30)
    assert sw.iterates.shape == (4, 31, 4)
    for i, e in enumerate(etas):
        ref = runner.run(first_order.gd(float(e)), quad, quad.x0, num_steps=30).iterates
        # η = 2.2 > 2/L diverges: compare relative to the size of the iterates
        scale = np.abs(np.asarray(ref)).max(axis=1, keepdims=True)
        err = np.abs(np.asarray(sw.iterates[i]) - np.asarray(ref))
        assert np.all(err <= 64 * EPS32 * scale), float((err / scale).max())


def test_sweep_over_pytree_hyperparameters(quad):
    hp = {"eta": jnp.array([0.1, 0.5]), "beta": jnp.array([0.0, 0.9])}
    sw = runner.sweep(lambda h: first_order.heavy_ball(h["eta"], h["beta"]), hp, quad, quad.x0, num_steps=10)
    ref = runner.run(first_order.heavy_ball(0.5, 0.9), quad, quad.x0, num_steps=10)
    np.testing.assert_allclose(sw.iterates[1], ref.iterates, rtol=0, atol=16 * EPS32)


def test_thousand_step_sizes_in_one_call(quad):
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.linspace(0.01, 2.5, 1000), quad, quad.x0, num_steps=50)
    assert sw.values.shape == (1000, 51)


def test_stochastic_runs_are_deterministic_and_seed_dependent():
    A = jax.random.normal(jax.random.key(0), (64, 3))
    p = problems.least_squares(A, A @ jnp.ones(3) + 0.1)
    a = runner.run(first_order.gd(0.05), p, p.x0, num_steps=20, key=jax.random.key(5), batch_size=4)
    b = runner.run(first_order.gd(0.05), p, p.x0, num_steps=20, key=jax.random.key(5), batch_size=4)
    c = runner.run(first_order.gd(0.05), p, p.x0, num_steps=20, key=jax.random.key(6), batch_size=4)
    np.testing.assert_array_equal(a.iterates, b.iterates)
    assert not np.allclose(a.iterates, c.iterates)
    legacy = runner.run(first_order.gd(0.05), p, p.x0, num_steps=20, key=jax.random.PRNGKey(5), batch_size=4)
    assert np.all(np.isfinite(legacy.iterates))
    keys = jax.random.split(jax.random.key(0), 3)
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.array([0.01, 0.05]), p, p.x0, num_steps=20,
                      keys=keys, batch_size=4)
    assert sw.iterates.shape == (2, 3, 21, 3)
    np.testing.assert_allclose(
        sw.iterates[1, 2], runner.run(first_order.gd(0.05), p, p.x0, num_steps=20, key=keys[2], batch_size=4).iterates,
        rtol=0, atol=16 * EPS32)


def test_full_batch_minibatch_equals_gd_in_expectation():
    """With batch_size = 1 drawn uniformly the mean of many one-step runs is the GD step."""
    A = jax.random.normal(jax.random.key(0), (40, 2))
    p = problems.least_squares(A, A @ jnp.array([1.0, -1.0]))
    keys = jax.random.split(jax.random.key(1), 400)
    sw = runner.sweep(lambda e: first_order.gd(e), jnp.array([0.1]), p, p.x0, num_steps=1, keys=keys, batch_size=1)
    steps = np.asarray(sw.iterates[0, :, 1])
    gd_step = np.asarray(runner.run(first_order.gd(0.1), p, p.x0, num_steps=1).iterates[1])
    # Monte-Carlo error: 4 standard errors of the mean
    se = steps.std(axis=0) / np.sqrt(len(steps))
    assert np.all(np.abs(steps.mean(axis=0) - gd_step) <= 4 * se)


def test_run_is_jittable_and_vmappable_over_starts(quad):
    starts = jax.random.normal(jax.random.key(2), (5, 4))
    out = jax.jit(jax.vmap(lambda x0: runner.run(first_order.gd(0.5), quad, x0, num_steps=10).values[-1]))(starts)
    assert out.shape == (5,) and np.all(np.isfinite(out))
    lrs = jnp.array([0.1, 0.5])
    out = jax.jit(jax.vmap(lambda e: runner.run(first_order.gd(e), quad, quad.x0, num_steps=10).values[-1]))(lrs)
    np.testing.assert_allclose(out[1], runner.run(first_order.gd(0.5), quad, quad.x0, num_steps=10).values[-1],
                               rtol=1e-5)


# --------------------------------------------------------------------------- no re-compilation
def test_second_run_with_new_data_does_not_retrace():
    A = jax.random.normal(jax.random.key(3), (30, 5))
    p = problems.least_squares(A, jnp.ones(30))
    runner.run(first_order.gd(0.1), p, p.x0, num_steps=37)  # cold: compiles
    before = dict(runner._TRACE_COUNT)
    t = time.perf_counter()
    # new x0, a rebuilt optimizer with the same hyper-parameters, a problem with new data
    p2 = problems.least_squares(2 * A, jnp.zeros(30))
    tr = runner.run(first_order.gd(0.1), p2, jnp.ones(5), num_steps=37)
    tr.values.block_until_ready()
    warm = time.perf_counter() - t
    assert runner._TRACE_COUNT == before
    # a new learning rate is a new (static) configuration, a new problem kind too
    runner.run(first_order.gd(0.2), p2, jnp.ones(5), num_steps=37)
    assert runner._TRACE_COUNT["run"] == before["run"] + 1


def test_foreign_optax_transformations_are_cached_on_the_object(quad):
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1))
    runner.run(opt, quad, quad.x0, num_steps=11)
    before = runner._TRACE_COUNT["run"]
    runner.run(opt, quad, 2 * quad.x0, num_steps=11)
    assert runner._TRACE_COUNT["run"] == before


def test_second_sweep_with_new_data_does_not_retrace(quad):
    def make(e):
        return first_order.gd(e)

    runner.sweep(make, jnp.array([0.1, 0.2, 0.3]), quad, quad.x0, num_steps=13)
    before = dict(runner._TRACE_COUNT)
    runner.sweep(make, jnp.array([0.4, 0.5, 0.6]), quad, 2 * quad.x0, num_steps=13)
    # the same lambda written in a loop is re-created on every pass: still one compile
    for scale in (1.0, 2.0):
        runner.sweep(lambda e: first_order.gd(e), scale * jnp.array([0.1, 0.2, 0.3]), quad, quad.x0, num_steps=13)
    assert runner._TRACE_COUNT["sweep"] == before["sweep"] + 1
    # a lambda whose closure changes is a different function: it must not reuse the loop
    outs = []
    for beta in (0.0, 0.9):
        outs.append(runner.sweep(lambda e: first_order.heavy_ball(e, beta), jnp.array([0.3]), quad,
                                 quad.x0, num_steps=13).iterates)
    assert not np.allclose(outs[0], outs[1])


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize("kwargs,match", [
    ({"x0": jnp.ones(3)}, r"x0 must have shape \(4\)"),
    ({"x0": jnp.array([1.0, jnp.nan, 0.0, 0.0])}, "x0 contains 1 NaN"),
    ({"num_steps": 0}, "num_steps must be at least 1"),
    ({"num_steps": 2.5}, "num_steps must be an integer"),
    ({"batch_size": 2}, "not a finite sum"),
    ({"x0": "abcd"}, "x0 must be numeric"),
])
def test_bad_input_raises(quad, kwargs, match):
    args = {"x0": quad.x0, "num_steps": 5, **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        runner.run(first_order.gd(0.1), quad, **args)


def test_stochastic_run_needs_key_and_valid_batch():
    A = jnp.ones((10, 2))
    p = problems.least_squares(A, jnp.ones(10))
    with pytest.raises(ValueError, match="needs a PRNG key"):
        runner.run(first_order.gd(0.1), p, p.x0, num_steps=5, batch_size=2)
    with pytest.raises(ValueError, match="exceeds the number of samples"):
        runner.run(first_order.gd(0.1), p, p.x0, num_steps=5, key=jax.random.key(0), batch_size=11)
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(0\)"):
        runner.run(first_order.gd(0.1), p, p.x0, num_steps=5, key=0, batch_size=2)


def test_sweep_validates_hyperparameters(quad):
    with pytest.raises(ValueError, match="leading axis"):
        runner.sweep(lambda e: first_order.gd(e), 0.1, quad, quad.x0, num_steps=5)
    with pytest.raises(ValueError, match="hyperparams contains"):
        runner.sweep(lambda e: first_order.gd(e), jnp.array([0.1, jnp.nan]), quad, quad.x0, num_steps=5)
    with pytest.raises(ValueError, match="hyperparams leaves must share"):
        runner.sweep(lambda h: first_order.heavy_ball(h[0], h[1]), (jnp.ones(2), jnp.ones(3)),
                     quad, quad.x0, num_steps=5)
    with pytest.raises(TypeError, match="make_optimizer must be callable"):
        runner.sweep(None, jnp.ones(2), quad, quad.x0, num_steps=5)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_run_loss_is_run_on_the_problems_objective(dtype, request):
    """One loop: ``run_loss`` on ``problem.value`` reproduces ``run`` on the problem (same
    iterates and values; the gradient norm is the same norm, summed over one leaf)."""
    if dtype == jnp.float64:
        request.getfixturevalue("x64")
    q = problems.quadratic(50.0, 4)
    x0 = jnp.asarray(q.x0, dtype)
    a = runner.run(first_order.gd(0.01), q, x0, num_steps=40)
    b = runner.run_loss(first_order.gd(0.01), q.value, x0, num_steps=40, return_iterates=True)
    assert b.iterates.dtype == dtype
    np.testing.assert_array_equal(a.iterates, b.iterates)
    np.testing.assert_array_equal(a.values, b.values)
    rtol = 4 * float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(a.grad_norms, b.grad_norms, rtol=rtol)
    assert runner.run_loss(first_order.gd(0.01), q.value, x0, num_steps=40).iterates is None


def test_run_passes_the_minibatch_objective_as_fun():
    """A transformation that reads ``fun`` sees the loss whose gradient it was given: in a
    stochastic run, the mini-batch loss.  The probe below is SGD plus ``(fun(x) − value)``
    times a large vector, so it retraces SGD's path only if ``fun(x)`` is the value passed."""
    X = jnp.asarray(np.random.default_rng(0).standard_normal((12, 3)))
    ls = problems.least_squares(X, X @ jnp.array([1.0, -1.0, 0.5]))

    def update(g, state, params=None, *, value, fun, **_):
        return -0.01 * g + 1e3 * (fun(params) - value) * jnp.ones_like(g), state

    probe = optax.GradientTransformationExtraArgs(lambda p: optax.EmptyState(), update)
    key = jax.random.key(0)
    tr = runner.run(probe, ls, ls.x0, num_steps=5, key=key, batch_size=3)
    ref = runner.run(optax.sgd(0.01), ls, ls.x0, num_steps=5, key=key, batch_size=3)
    np.testing.assert_allclose(tr.iterates, ref.iterates, rtol=1e-5, atol=1e-6)
    full = runner.run(probe, ls, ls.x0, num_steps=5)
    np.testing.assert_allclose(full.iterates, runner.run(optax.sgd(0.01), ls, ls.x0, num_steps=5).iterates,
                               rtol=1e-5, atol=1e-6)
