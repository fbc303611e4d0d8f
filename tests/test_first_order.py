"""optlab.first_order against optax (the reference implementation) and closed forms.

float32 by default (the readers' dtype); parity with optax is checked to 1e-6 in
float64 (``x64``) and in float32 with a measured tolerance (the iterates are
bit-identical on CPU; 8 eps·max|x| leaves room for another reduction order on a GPU).
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import first_order, problems, runner

EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def quad():
    return problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0))


PAIRS = [
    (lambda: first_order.gd(0.5), lambda: optax.sgd(0.5)),
    (lambda: first_order.heavy_ball(0.5, 0.8), lambda: optax.sgd(0.5, momentum=0.8)),
    (lambda: first_order.nesterov(0.5, 0.8), lambda: optax.sgd(0.5, momentum=0.8, nesterov=True)),
]


@pytest.mark.parametrize("mine,reference", PAIRS, ids=["gd", "heavy_ball", "nesterov"])
def test_parity_with_optax_float64(x64, mine, reference):
    quad = problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0))
    a = runner.run(mine(), quad, quad.x0, num_steps=200)
    b = runner.run(reference(), quad, quad.x0, num_steps=200)
    assert a.iterates.dtype == jnp.float64
    np.testing.assert_allclose(a.iterates, b.iterates, atol=1e-6, rtol=0)
    assert float(a.values[-1]) < 1e-3 * float(a.values[0])


@pytest.mark.parametrize("mine,reference", PAIRS, ids=["gd", "heavy_ball", "nesterov"])
def test_parity_with_optax_float32(quad, mine, reference):
    a = runner.run(mine(), quad, quad.x0, num_steps=200)
    b = runner.run(reference(), quad, quad.x0, num_steps=200)
    assert a.iterates.dtype == jnp.float32
    scale = float(jnp.max(jnp.abs(b.iterates)))
    np.testing.assert_allclose(a.iterates, b.iterates, atol=8 * EPS32 * scale, rtol=0)
    assert float(a.values[-1]) < 1e-3 * float(a.values[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_polyak_parity_with_optax_step_by_step(dtype):
    """Polyak's map is sensitive to round-off (a different reduction order, e.g. on a GPU,
    changes late iterates), so parity is checked one step at a time along a trajectory."""
    with jax.enable_x64(dtype == "float64"):
        _polyak_parity(problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0)),
                       1e-10 if dtype == "float64" else 4 * EPS32)


def _polyak_parity(quad, rtol):
    mine = first_order.polyak(0.0, max_learning_rate=3.0, eps=1e-12)
    reference = optax.polyak_sgd(3.0, f_min=0.0, eps=1e-12)
    tr = runner.run(mine, quad, quad.x0, num_steps=200)
    assert float(tr.values[-1]) < 1e-3 * float(tr.values[0])

    def one_step(opt, x):
        f, g = jax.value_and_grad(quad.value)(x)
        return opt.update(g, opt.init(x), x, value=f)[0]

    xs = tr.iterates[:-1]
    u_mine = jax.jit(jax.vmap(lambda x: one_step(mine, x)))(xs)
    u_ref = jax.jit(jax.vmap(lambda x: one_step(reference, x)))(xs)
    scale = jnp.max(jnp.abs(u_ref), axis=1, keepdims=True)
    assert np.all(np.abs(np.asarray(u_mine - u_ref)) <= rtol * np.asarray(scale))


def test_manual_optax_loop_matches_runner(quad):
    opt = first_order.nesterov(0.3, 0.9)
    x, state = quad.x0, opt.init(quad.x0)
    for _ in range(50):
        g = quad.grad(x)
        upd, state = opt.update(g, state, x)
        x = optax.apply_updates(x, upd)
    np.testing.assert_allclose(x, runner.run(opt, quad, quad.x0, num_steps=50).iterates[-1], atol=8 * EPS32)


def test_chains_with_optax(quad):
    chained = optax.chain(optax.clip_by_global_norm(0.1), first_order.gd(1.0))
    reference = optax.chain(optax.clip_by_global_norm(0.1), optax.sgd(1.0))
    np.testing.assert_allclose(
        runner.run(chained, quad, quad.x0, num_steps=30).iterates,
        runner.run(reference, quad, quad.x0, num_steps=30).iterates, atol=8 * EPS32)


def test_heavy_ball_is_the_two_step_recursion(quad):
    eta, beta = 0.4, 0.7
    tr = runner.run(first_order.heavy_ball(eta, beta), quad, quad.x0, num_steps=40)
    x_prev, x = quad.x0, quad.x0 - eta * quad.grad(quad.x0)
    for k in range(1, 40):
        x_prev, x = x, x - eta * quad.grad(x) + beta * (x - x_prev)
        np.testing.assert_allclose(tr.iterates[k + 1], x, atol=16 * EPS32)


def test_nesterov_is_the_textbook_recursion_at_lookahead_points(quad):
    eta, beta = 0.4, 0.7
    tr = runner.run(first_order.nesterov(eta, beta), quad, quad.x0, num_steps=40)
    x_prev = quad.x0
    y = quad.x0
    for k in range(40):
        x = y - eta * quad.grad(y)
        y = x + beta * (x - x_prev)
        x_prev = x
        np.testing.assert_allclose(tr.iterates[k + 1], y, atol=16 * EPS32)


def test_gd_rate_matches_closed_form_on_diagonal_quadratic():
    p = problems.quadratic(kappa=10.0, dim=3)
    eta = 0.7
    tr = runner.run(first_order.gd(eta), p, p.x0, num_steps=25)
    eigs = np.diag(np.asarray(jax.hessian(p.value)(p.x0)))
    expected = np.asarray(p.x0) * (1 - eta * eigs) ** 25
    # 25 steps of a float32 recursion: measured 3e-7 relative
    np.testing.assert_allclose(tr.iterates[-1], expected, rtol=64 * EPS32)


def test_schedules_are_followed():
    p = problems.quadratic(kappa=2.0, dim=2)
    sched = lambda k: 0.5 / (k + 1.0)
    tr = runner.run(first_order.gd(sched), p, p.x0, num_steps=5)
    x = p.x0
    for k in range(5):
        x = x - sched(k) * p.grad(x)
    np.testing.assert_allclose(tr.iterates[-1], x, atol=4 * EPS32)


def test_polyak_solves_abs_in_one_step():
    p = problems.abs_1d()
    tr = runner.run(first_order.polyak(0.0), p, jnp.array([3.0]), num_steps=3)
    assert float(tr.iterates[1, 0]) == 0.0


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 5.0), st.integers(0, 10_000))
def test_polyak_is_fejer_monotone(scale, seed):
    """Polyak's step never increases the distance to the minimiser of a convex function.

    In float32 the distance is resolved to about eps·‖x*‖; an increase below that
    is rounding (measured: no increase at all in 200 draws; 2 eps·‖x*‖ allows another
    reduction order).  ``b`` is in the range of ``A``, so ``f* = 0``."""
    A = jax.random.normal(jax.random.key(seed), (30, 5)) * scale
    b = A @ jax.random.normal(jax.random.key(seed + 1), (5,))
    p = problems.least_squares(A, b)
    tr = runner.run(first_order.polyak(0.0), p, p.x0, num_steps=40)
    d = np.asarray(tr.distances(p.x_star))
    gap = np.asarray(tr.values - p.f_star)[:-1]
    resolved = gap > 1e-5 * max(float(tr.values[0] - p.f_star), 1e-30)
    assert np.all(np.diff(d)[resolved] <= 2 * EPS32 * float(jnp.linalg.norm(p.x_star)))


def test_polyak_is_fejer_monotone_float64(x64):
    for seed in range(5):
        A = jax.random.normal(jax.random.key(seed), (30, 5))
        b = A @ jax.random.normal(jax.random.key(seed + 1), (5,))
        p = problems.least_squares(A, b)
        tr = runner.run(first_order.polyak(p.f_star), p, p.x0, num_steps=40)
        d = np.asarray(tr.distances(p.x_star))
        resolved = np.asarray(tr.values - p.f_star)[:-1] > 1e-14
        assert np.all(np.diff(d)[resolved] <= 1e-12)


@pytest.mark.parametrize("factory,kwargs,match", [
    (first_order.gd, {"learning_rate": -0.1}, "learning_rate must be positive"),
    (first_order.gd, {"learning_rate": 0.0}, "learning_rate must be positive"),
    (first_order.gd, {"learning_rate": float("nan")}, "learning_rate must be finite"),
    (first_order.heavy_ball, {"learning_rate": 0.1, "momentum": 1.0}, r"momentum must lie in \[0.0, 1.0\)"),
    (first_order.nesterov, {"learning_rate": 0.1, "momentum": -0.1}, "momentum must lie"),
    (first_order.polyak, {"max_learning_rate": 0.0}, "max_learning_rate must be positive"),
    (first_order.polyak, {"eps": -1.0}, "eps must be non-negative"),
    (first_order.polyak, {"f_star": float("nan")}, "f_star contains"),
    (first_order.polyak, {"f_star": None}, "f_star must be numeric"),
    (first_order.gd, {"learning_rate": "0.1"}, "learning_rate must be numeric"),
    (first_order.gd, {"learning_rate": jnp.ones(2)}, "learning_rate must be a scalar"),
])
def test_bad_hyperparameters_raise(factory, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        factory(**kwargs)


def test_polyak_needs_the_value():
    opt = first_order.polyak(0.0)
    with pytest.raises(ValueError, match="needs the objective value"):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)), jnp.ones(2))


def test_same_hyperparameters_share_a_compiled_loop(quad):
    runner.run(first_order.nesterov(0.31, 0.5), quad, quad.x0, num_steps=17)
    before = runner._TRACE_COUNT["run"]
    runner.run(first_order.nesterov(0.31, 0.5), quad, 2 * quad.x0, num_steps=17)
    assert runner._TRACE_COUNT["run"] == before
    # a schedule is keyed by identity: the same schedule object hits, a new one compiles
    sched = optax.linear_schedule(0.1, 0.3, 5)
    runner.run(first_order.gd(sched), quad, quad.x0, num_steps=17)
    n = runner._TRACE_COUNT["run"]
    runner.run(first_order.gd(sched), quad, quad.x0, num_steps=17)
    assert runner._TRACE_COUNT["run"] == n


def test_constructors_are_traceable(quad):
    out = jax.jit(lambda e, b: runner.run(first_order.heavy_ball(e, b), quad, quad.x0, num_steps=5).values[-1])(0.3, 0.5)
    ref = runner.run(first_order.heavy_ball(0.3, 0.5), quad, quad.x0, num_steps=5).values[-1]
    np.testing.assert_allclose(out, ref, rtol=1e-5)
