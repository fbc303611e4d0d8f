"""optlab.first_order against optax (the reference implementation) and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import first_order, problems, runner

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="module")
def quad():
    return problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0))


@pytest.mark.parametrize(
    "mine,reference",
    [
        (first_order.gd(0.5), optax.sgd(0.5)),
        (first_order.heavy_ball(0.5, 0.8), optax.sgd(0.5, momentum=0.8)),
        (first_order.nesterov(0.5, 0.8), optax.sgd(0.5, momentum=0.8, nesterov=True)),
    ],
    ids=["gd", "heavy_ball", "nesterov"],
)
def test_parity_with_optax(quad, mine, reference):
    a = runner.run(mine, quad, quad.x0, 200)
    b = runner.run(reference, quad, quad.x0, 200)
    np.testing.assert_allclose(a.params, b.params, atol=1e-6, rtol=0)
    assert float(a.values[-1]) < 1e-3 * float(a.values[0])


def test_polyak_parity_with_optax_step_by_step(quad):
    """Polyak's map is sensitive to round-off (a different reduction order, e.g. on a GPU,
    changes late iterates), so parity is checked one step at a time along a trajectory."""
    mine = first_order.polyak(0.0, max_learning_rate=3.0, eps=1e-12)
    reference = optax.polyak_sgd(3.0, f_min=0.0, eps=1e-12)
    tr = runner.run(mine, quad, quad.x0, 200)
    assert float(tr.values[-1]) < 1e-3 * float(tr.values[0])
    for x in tr.params[:-1]:
        g, f = quad.grad(x), quad.value(x)
        u_mine, _ = mine.update(g, mine.init(x), x, value=f)
        u_ref, _ = reference.update(g, reference.init(x), x, value=f)
        np.testing.assert_allclose(u_mine, u_ref, rtol=1e-10, atol=1e-300)


def test_manual_optax_loop_matches_runner(quad):
    opt = first_order.nesterov(0.3, 0.9)
    x, state = quad.x0, opt.init(quad.x0)
    for _ in range(50):
        g = quad.grad(x)
        upd, state = opt.update(g, state, x)
        x = optax.apply_updates(x, upd)
    np.testing.assert_allclose(x, runner.run(opt, quad, quad.x0, 50).params[-1], atol=1e-12)


def test_chains_with_optax(quad):
    chained = optax.chain(optax.clip_by_global_norm(0.1), first_order.gd(1.0))
    reference = optax.chain(optax.clip_by_global_norm(0.1), optax.sgd(1.0))
    np.testing.assert_allclose(
        runner.run(chained, quad, quad.x0, 30).params,
        runner.run(reference, quad, quad.x0, 30).params, atol=1e-12)


def test_heavy_ball_is_the_two_step_recursion(quad):
    eta, beta = 0.4, 0.7
    tr = runner.run(first_order.heavy_ball(eta, beta), quad, quad.x0, 40)
    x_prev, x = quad.x0, quad.x0 - eta * quad.grad(quad.x0)
    for k in range(1, 40):
        x_prev, x = x, x - eta * quad.grad(x) + beta * (x - x_prev)
        np.testing.assert_allclose(tr.params[k + 1], x, atol=1e-12)


def test_nesterov_is_the_textbook_recursion_at_lookahead_points(quad):
    eta, beta = 0.4, 0.7
    tr = runner.run(first_order.nesterov(eta, beta), quad, quad.x0, 40)
    x_prev = quad.x0
    y = quad.x0
    for k in range(40):
        x = y - eta * quad.grad(y)
        y = x + beta * (x - x_prev)
        x_prev = x
        np.testing.assert_allclose(tr.params[k + 1], y, atol=1e-10)


def test_gd_rate_matches_closed_form_on_diagonal_quadratic():
    p = problems.quadratic(kappa=10.0, dim=3)
    eta = 0.7
    tr = runner.run(first_order.gd(eta), p, p.x0, 25)
    eigs = np.diag(np.asarray(jax.hessian(p.value)(p.x0)))
    expected = np.asarray(p.x0) * (1 - eta * eigs) ** 25
    np.testing.assert_allclose(tr.params[-1], expected, rtol=1e-10)


def test_schedules_are_followed():
    p = problems.quadratic(kappa=2.0, dim=2)
    sched = lambda k: 0.5 / (k + 1.0)
    tr = runner.run(first_order.gd(sched), p, p.x0, 5)
    x = p.x0
    for k in range(5):
        x = x - sched(k) * p.grad(x)
    np.testing.assert_allclose(tr.params[-1], x, atol=1e-12)


def test_polyak_solves_abs_in_one_step():
    p = problems.abs_1d()
    tr = runner.run(first_order.polyak(0.0), p, jnp.array([3.0]), 3)
    assert float(tr.params[1, 0]) == 0.0


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 5.0), st.integers(0, 10_000))
def test_polyak_is_fejer_monotone(scale, seed):
    """Polyak's step never increases the distance to the minimiser of a convex function."""
    A = jax.random.normal(jax.random.key(seed), (30, 5)) * scale
    b = A @ jax.random.normal(jax.random.key(seed + 1), (5,))
    p = problems.least_squares(A, b)
    tr = runner.run(first_order.polyak(p.f_star), p, p.x0, 40)
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
])
def test_bad_hyperparameters_raise(factory, kwargs, match):
    with pytest.raises(ValueError, match=match):
        factory(**kwargs)


def test_polyak_needs_the_value():
    opt = first_order.polyak(0.0)
    with pytest.raises(ValueError, match="needs the objective value"):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)), jnp.ones(2))
