"""optlab.accel against optax, closed-form rates, exact ODE solutions and the LRP cycle.

float32 by default (the readers' dtype); optax parity also in float64 (``x64``) to 1e-6.
Schedule-Free's float32 iterates are bit-identical to optax's on CPU (measured); the
float32 tolerance 8 eps·max|x| leaves room for another reduction order on a GPU.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import accel, first_order, problems, runner

EPS32 = float(np.finfo(np.float32).eps)



@pytest.fixture(scope="module")
def quad():
    return problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0))


def _fitted_rate(dist, start, stop):
    k = np.arange(start, stop)
    slope = np.polyfit(k, np.log(np.asarray(dist[start:stop])), 1)[0]
    return float(np.exp(slope))


# --------------------------------------------------------------------------- schedule-free parity
@pytest.mark.parametrize("lr,b1,power", [(0.5, 0.9, 2.0), (1.0, 0.5, 1.0), (0.2, 0.95, 0.0)])
def test_schedule_free_parity_with_optax(quad, lr, b1, power):
    a = runner.run(accel.schedule_free_sgd(lr, b1, weight_lr_power=power), quad, quad.x0, num_steps=100)
    b = runner.run(optax.contrib.schedule_free_sgd(lr, b1=b1, weight_lr_power=power), quad, quad.x0, num_steps=100)
    assert a.iterates.dtype == jnp.float32
    scale = float(jnp.max(jnp.abs(b.iterates)))
    np.testing.assert_allclose(a.iterates, b.iterates, atol=8 * EPS32 * scale, rtol=0)


@pytest.mark.parametrize("lr,b1,power", [(0.5, 0.9, 2.0), (1.0, 0.5, 1.0), (0.2, 0.95, 0.0)])
def test_schedule_free_parity_with_optax_float64(x64, lr, b1, power):
    quad = problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0))
    a = runner.run(accel.schedule_free_sgd(lr, b1, weight_lr_power=power), quad, quad.x0, num_steps=100)
    b = runner.run(optax.contrib.schedule_free_sgd(lr, b1=b1, weight_lr_power=power), quad, quad.x0, num_steps=100)
    assert a.iterates.dtype == jnp.float64
    np.testing.assert_allclose(a.iterates, b.iterates, atol=1e-6, rtol=0)


def test_schedule_free_eval_params_match_optax(quad):
    mine, ref = accel.schedule_free_sgd(0.5), optax.contrib.schedule_free_sgd(0.5)
    x, sm, sr = quad.x0, mine.init(quad.x0), ref.init(quad.x0)
    y = quad.x0
    for _ in range(30):
        u, sm = mine.update(quad.grad(x), sm, x)
        v, sr = ref.update(quad.grad(y), sr, y)
        x, y = x + u, y + v
    np.testing.assert_allclose(accel.schedule_free_eval_params(sm, x),
                               optax.contrib.schedule_free_eval_params(sr, y), atol=8 * EPS32)


def test_schedule_free_with_schedule_parity(quad):
    sched = optax.linear_schedule(0.1, 0.8, 20)
    a = runner.run(accel.schedule_free_sgd(sched, 0.9), quad, quad.x0, num_steps=100)
    b = runner.run(optax.contrib.schedule_free_sgd(sched, b1=0.9), quad, quad.x0, num_steps=100)
    np.testing.assert_allclose(a.iterates, b.iterates, atol=8 * EPS32 * float(jnp.max(jnp.abs(b.iterates))), rtol=0)


def test_schedule_free_b1_zero_is_averaged_sgd():
    # b1 = 0: gradients at z (plain SGD), x is the uniform average of z_1..z_t and x_0.
    q = problems.quadratic(10.0, 3)
    opt = accel.schedule_free_sgd(0.3, 0.0)
    x, s = q.x0, opt.init(q.x0)
    zs = [q.x0]
    z = q.x0
    for _ in range(20):
        u, s = opt.update(q.grad(x), s, x)
        x = x + u
        z = z - 0.3 * q.grad(z)
        zs.append(z)
    # float32: measured 1.5e-8 on values of size ~0.01-0.6
    np.testing.assert_allclose(x, z, atol=1e-7)
    np.testing.assert_allclose(s.x, np.mean(np.stack(zs[1:]), axis=0), atol=1e-7)


# --------------------------------------------------------------------------- rates on quadratics
def test_accelerated_rates_on_kappa_100(quad):
    L, mu = quad.L, quad.mu
    sk = np.sqrt(L / mu)
    runs = {
        "gd": first_order.gd(1 / L),
        "nesterov": first_order.nesterov(1 / L, (sk - 1) / (sk + 1)),
        "triple": accel.triple_momentum(L, mu),
    }
    rates = {k: _fitted_rate(runner.run(o, quad, quad.x0, num_steps=400).distances(quad.x_star), 100, 300)
             for k, o in runs.items()}
    assert abs(rates["gd"] - (1 - mu / L)) < 2e-3
    assert rates["nesterov"] <= (1 - np.sqrt(mu / L)) + 1e-2
    assert abs(rates["triple"] - (1 - np.sqrt(mu / L))) < 5e-3
    assert rates["nesterov"] < rates["gd"] - 0.05


@given(kappa=st.floats(2.0, 1e4))
@settings(max_examples=25, deadline=None)
def test_triple_momentum_spectral_radius_is_one_minus_inv_sqrt_kappa(kappa):
    rate = accel.quadratic_rate("triple_momentum", 1.0, 1.0 / kappa)
    assert rate == pytest.approx(1 - 1 / np.sqrt(kappa), abs=1e-6)  # computed in float64


def test_quadratic_rate_closed_forms():
    L, mu = 1.0, 0.01
    assert accel.quadratic_rate("gd", L, mu, learning_rate=2 / (L + mu)) == pytest.approx(0.99 / 1.01)
    hb = accel.quadratic_rate("heavy_ball", L, mu, learning_rate=4 / (1.1) ** 2, momentum=(0.9 / 1.1) ** 2)
    assert hb == pytest.approx(0.9 / 1.1, abs=1e-6)
    nag = accel.quadratic_rate("nesterov", L, mu, learning_rate=1.0, momentum=0.9 / 1.1)
    assert nag == pytest.approx(0.9, abs=1e-9)
    with pytest.raises(ValueError, match="unknown method"):
        accel.quadratic_rate("adam", L, mu)


def test_triple_momentum_output_converges_at_rate(quad):
    opt = accel.triple_momentum(quad.L, quad.mu)
    x, s = quad.x0, opt.init(quad.x0)
    errs = []
    for _ in range(150):
        u, s = opt.update(quad.grad(x), s, x)
        x = x + u
        errs.append(float(jnp.linalg.norm(accel.triple_momentum_output(s, quad.L, quad.mu))))
    assert _fitted_rate(np.array(errs), 50, 150) < 0.905


def test_triple_momentum_kappa_one_is_exact_step():
    q = problems.quadratic(1.0, 1)
    tr = runner.run(accel.triple_momentum(1.0, 1.0), q, jnp.array([2.0]), num_steps=1)
    assert float(tr.iterates[-1, 0]) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------------- LRP counterexample
def test_heavy_ball_cycles_on_lrp_but_nesterov_and_tm_converge():
    p = accel.lrp_counterexample()
    # the gradient is the published piecewise-linear map
    xs = jnp.array([-1.0, 0.5, 1.5, 2.5])
    np.testing.assert_allclose(jax.vmap(lambda t: p.grad(jnp.array([t]))[0])(xs),
                               [-25.0, 12.5, 25.5, 38.5])
    hb = runner.run(first_order.heavy_ball(1 / 9, 4 / 9), p, p.x0, num_steps=300).iterates[:, 0]
    assert np.all(np.abs(np.asarray(hb[-100:])) > 0.6)
    np.testing.assert_allclose(np.sort(np.asarray(hb[-3:])), [-1.80244898, 0.64653061, 2.11591837],
                               atol=1e-6)
    nag = runner.run(first_order.nesterov(1 / 25, 4 / 6), p, p.x0, num_steps=300).iterates[:, 0]
    tm = runner.run(accel.triple_momentum(25.0, 1.0), p, p.x0, num_steps=300).iterates[:, 0]
    assert abs(float(nag[-1])) < 1e-8 and abs(float(tm[-1])) < 1e-8


# --------------------------------------------------------------------------- restarts, Polyak+momentum
def test_restart_beats_plain_nesterov(quad):
    plain = runner.run(accel.nesterov_restart(1 / quad.L, "none"), quad, quad.x0, num_steps=300)
    grad = runner.run(accel.nesterov_restart(1 / quad.L, "gradient"), quad, quad.x0, num_steps=300)
    func = runner.run(accel.nesterov_restart(1 / quad.L, "function"), quad, quad.x0, num_steps=300)
    assert float(grad.values[-1]) < 1e-6 * float(plain.values[-1])
    assert float(func.values[-1]) < 1e-6 * float(plain.values[-1])


def test_restart_none_matches_textbook_nesterov():
    q = problems.quadratic(20.0, 3, key=jax.random.key(1))
    tr = runner.run(accel.nesterov_restart(0.5, "none"), q, q.x0, num_steps=30)
    x_prev, y = q.x0, q.x0
    ys = [y]
    for k in range(30):
        x = y - 0.5 * q.grad(y)
        y = x + k / (k + 3) * (x - x_prev)
        x_prev = x
        ys.append(y)
    np.testing.assert_allclose(tr.iterates, np.stack(ys), atol=TOL_RESTART)


TOL_RESTART = 1e-7  # float32 textbook loop vs scan: measured 1.5e-8


def test_restart_counter_counts():
    q = problems.quadratic(100.0, 2)
    opt = accel.nesterov_restart(1.0, "gradient")
    x, s = q.x0, opt.init(q.x0)
    for _ in range(200):
        u, s = opt.update(q.grad(x), s, x)
        x = x + u
    assert int(s.restarts) >= 1


def test_polyak_heavy_ball_beta_zero_is_polyak_float64(x64):
    # Polyak's iteration amplifies rounding differences, so compare over 30 steps
    quad = problems.quadratic(kappa=100.0, dim=10, key=jax.random.key(0))
    a = runner.run(accel.polyak_heavy_ball(0.0, 0.0), quad, quad.x0, num_steps=30)
    b = runner.run(first_order.polyak(0.0), quad, quad.x0, num_steps=30)
    np.testing.assert_allclose(a.iterates, b.iterates, atol=1e-9, rtol=0)


def test_polyak_heavy_ball_beta_zero_is_polyak_step_by_step(quad):
    """In float32 the two trajectories drift apart by amplified rounding (measured 1.5e-3
    after 30 steps), so the maps are compared one step at a time along a trajectory."""
    tr = runner.run(first_order.polyak(0.0), quad, quad.x0, num_steps=30)
    a_opt, b_opt = accel.polyak_heavy_ball(0.0, 0.0), first_order.polyak(0.0)

    def steps(opt):
        def one(x):
            f, g = jax.value_and_grad(quad.value)(x)
            return opt.update(g, opt.init(x), x, value=f)[0]
        return jax.jit(jax.vmap(one))(tr.iterates[:-1])

    ua, ub = steps(a_opt), steps(b_opt)
    scale = np.abs(np.asarray(ub)).max(axis=1, keepdims=True)
    assert np.all(np.abs(np.asarray(ua - ub)) <= 8 * EPS32 * scale)


def test_polyak_heavy_ball_step_formula():
    q = problems.quadratic(10.0, 2)
    opt = accel.polyak_heavy_ball(0.0, 0.5)
    x_prev, x = q.x0, q.x0 * 0.7
    s = opt.init(q.x0)._replace(prev_params=x_prev)
    g = q.grad(x)
    u, s = opt.update(g, s, x, value=q.value(x))
    alpha = (q.value(x) + 0.5 * g @ (x - x_prev)) / (g @ g)
    np.testing.assert_allclose(u, -alpha * g + 0.5 * (x - x_prev), atol=8 * EPS32)


@pytest.mark.parametrize("beta", [0.5, 0.8, 0.9, 0.95])
def test_polyak_heavy_ball_converges_for_every_beta(quad, beta):
    tr = runner.run(accel.polyak_heavy_ball(0.0, beta), quad, quad.x0, num_steps=400)
    assert float(tr.values[-1]) < 1e-8 * float(tr.values[0])


# --------------------------------------------------------------------------- ODEs
def test_su_boyd_candes_ode_matches_bessel_solution():
    # f = x²/2: X(t) = x0 · 2 J1(t)/t
    ts, xs = accel.momentum_ode(lambda x: x, jnp.array([1.0]), 12.0, num_steps=2000)
    exact = 2 * scipy.special.j1(np.asarray(ts[1:])) / np.asarray(ts[1:])
    np.testing.assert_allclose(xs[1:, 0], exact, atol=1e-3)


def test_strong_damping_ode_is_critically_damped():
    mu = 0.25
    ts, xs = accel.momentum_ode(lambda x: mu * x, jnp.array([2.0]), 20.0, num_steps=2000, damping="strong", mu=mu, t0=0.0 + 1e-9)
    exact = 2.0 * (1 + np.sqrt(mu) * np.asarray(ts)) * np.exp(-np.sqrt(mu) * np.asarray(ts))
    np.testing.assert_allclose(xs[:, 0], exact, atol=1e-6)


def test_nesterov_tracks_ode():
    q = problems.quadratic(10.0, 2)
    s = 1e-3
    n = 3000
    tr = runner.run(accel.nesterov_restart(s, "none"), q, q.x0, num_steps=n)
    ts, xs = accel.momentum_ode(q.grad, q.x0, n * np.sqrt(s), num_steps=n)
    assert float(jnp.max(jnp.linalg.norm(tr.iterates - xs, axis=1))) < 0.05


# --------------------------------------------------------------------------- errors
def test_errors():
    with pytest.raises(ValueError, match="mu must not exceed L"):
        accel.triple_momentum(1.0, 2.0)
    with pytest.raises(ValueError, match="L must be positive"):
        accel.triple_momentum(-1.0, 0.1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        accel.nesterov_restart(0.0)
    with pytest.raises(ValueError, match="restart must be"):
        accel.nesterov_restart(0.1, "sometimes")
    with pytest.raises(ValueError, match="momentum must lie in"):
        accel.polyak_heavy_ball(0.0, 1.0)
    with pytest.raises(ValueError, match="f_star contains"):
        accel.polyak_heavy_ball(float("nan"))
    with pytest.raises(ValueError, match="b1 must lie in"):
        accel.schedule_free_sgd(0.1, 1.0)
    with pytest.raises(ValueError, match="learning_rate must be finite"):
        accel.schedule_free_sgd(float("nan"))
    with pytest.raises(ValueError, match="damping must be"):
        accel.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=10, damping="weird")
    with pytest.raises(ValueError, match="needs mu"):
        accel.momentum_ode(lambda x: x, jnp.ones(1), 1.0, num_steps=10, damping="strong")
    with pytest.raises(ValueError, match="x0 contains"):
        accel.momentum_ode(lambda x: x, jnp.array([jnp.nan]), 1.0, num_steps=10)
    with pytest.raises(ValueError, match="t_final must exceed"):
        accel.momentum_ode(lambda x: x, jnp.ones(1), 1e-7, num_steps=10)
    with pytest.raises(TypeError, match="L must be numeric"):
        accel.triple_momentum("1", 0.1)
    opt = accel.polyak_heavy_ball()
    with pytest.raises(ValueError, match="needs the objective value"):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)), jnp.ones(2))
    opt = accel.triple_momentum(1.0, 0.1)
    with pytest.raises(ValueError, match="needs params"):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)))


def test_methods_jit_and_chain_with_optax(quad):
    opt = optax.chain(optax.clip_by_global_norm(10.0), accel.triple_momentum(quad.L, quad.mu))
    tr = jax.jit(lambda x0: runner.run(opt, quad, x0, num_steps=50))(quad.x0)
    assert float(tr.values[-1]) < float(tr.values[0])
    sw = runner.sweep(lambda b: accel.polyak_heavy_ball(0.0, b), jnp.array([0.3, 0.6, 0.9]),
                      quad, quad.x0, num_steps=50)
    assert sw.values.shape == (3, 51)


def test_momentum_ode_is_traceable_and_compiled_once():
    """t_final may be traced (no float() on it); a second call with new data does not recompile."""
    f = jax.jit(lambda T: accel.momentum_ode(lambda x: x, jnp.array([1.0]), T, num_steps=100)[1][-1])
    np.testing.assert_allclose(f(5.0), accel.momentum_ode(lambda x: x, jnp.array([1.0]), 5.0, num_steps=100)[1][-1],
                               rtol=1e-5)
    grad = problems.quadratic(10.0, 2).grad
    accel.momentum_ode(grad, jnp.ones(2), 3.0, num_steps=50)
    n = accel.continuous_time._momentum_ode_compiled._cache_size()
    accel.momentum_ode(grad, jnp.array([0.5, -1.0]), 4.0, num_steps=50)
    assert accel.continuous_time._momentum_ode_compiled._cache_size() == n


def test_run_eval_params_compiles_once():
    q = problems.quadratic(10.0, 3)
    runner.run(accel.schedule_free_sgd(0.5), q, q.x0, eval_params=accel.schedule_free_eval_params, num_steps=20)
    n = runner._run_compiled._cache_size()
    tr = runner.run(accel.schedule_free_sgd(0.5), q, 2 * q.x0, eval_params=accel.schedule_free_eval_params, num_steps=20)
    assert runner._run_compiled._cache_size() == n
    assert float(tr.values[-1]) < float(tr.values[0])


def test_run_eval_params_returns_the_runner_protocol_at_the_evaluation_points():
    """A runner.Trace of the points x_t = eval_params(state_t, y_t): x_t is optax's
    schedule-free evaluation point, params is the last one, values and grad_norms are f there."""
    q = problems.quadratic(10.0, 3)
    tr = runner.run(accel.schedule_free_sgd(0.5), q, q.x0, eval_params=accel.schedule_free_eval_params, num_steps=20)
    assert isinstance(tr, runner.Trace)
    assert tr.iterates.shape == (21, 3) and tr.values.shape == (21,) and tr.grad_norms.shape == (21,)
    np.testing.assert_array_equal(tr.params, tr.iterates[-1])
    np.testing.assert_allclose(tr.iterates[0], q.x0)
    np.testing.assert_allclose(tr.values, jax.vmap(q.value)(tr.iterates), rtol=4 * EPS32)
    np.testing.assert_allclose(tr.grad_norms, jnp.linalg.norm(jax.vmap(q.grad)(tr.iterates), axis=1),
                               rtol=4 * EPS32)
    opt = optax.contrib.schedule_free_sgd(0.5)
    y, state = q.x0, opt.init(q.x0)
    for _ in range(20):
        u, state = opt.update(q.grad(y), state, y)
        y = optax.apply_updates(y, u)
    np.testing.assert_allclose(tr.params, optax.contrib.schedule_free_eval_params(state, y), atol=8 * EPS32)


def test_momentum_ode_returns_times_and_iterates():
    tr = accel.momentum_ode(lambda x: x, jnp.array([1.0, 2.0]), 3.0, num_steps=30)
    assert isinstance(tr, accel.ODETrace)
    assert tr.times.shape == (31,) and tr.iterates.shape == (31, 2)
    np.testing.assert_array_equal(tr.params, tr.iterates[-1])
    np.testing.assert_allclose(tr.iterates[0], [1.0, 2.0])


# --------------------------------------------------------------------------- OGM-G
def _ogm_g_numpy(grad, x0, L, N):
    """Kim and Fessler's OGM-G written out in NumPy float64 (the θ̃ recursion included)."""
    th = np.ones(N + 1)
    for i in range(N - 1, 0, -1):
        th[i] = (1 + np.sqrt(1 + 4 * th[i + 1] ** 2)) / 2
    th[0] = (1 + np.sqrt(1 + 8 * th[1] ** 2)) / 2
    x, y, xs = np.array(x0, float), np.array(x0, float), [np.array(x0, float)]
    for i in range(N):
        yn = x - grad(x) / L
        x = (yn + (th[i] - 1) * (2 * th[i + 1] - 1) / (th[i] * (2 * th[i] - 1)) * (yn - y)
             + (2 * th[i + 1] - 1) / (2 * th[i] - 1) * (yn - x))
        y = yn
        xs.append(x)
    return np.array(xs), th


@pytest.mark.parametrize("N", [1, 2, 7, 40])
def test_ogm_g_theta_recursion_and_growth(N):
    th = accel.ogm_g_theta(num_steps=N)
    assert th.shape == (N + 1,) and th[-1] == 1.0
    np.testing.assert_allclose(th[1:-1] ** 2 - th[1:-1], th[2:] ** 2, rtol=1e-13)
    np.testing.assert_allclose(th[0] ** 2 - th[0], 2 * th[1] ** 2, rtol=1e-13)
    assert th[0] ** 2 >= (N + 1) ** 2 / 2  # the closed-form rate 4L(f0 − f*)/(N+1)²


def test_ogm_g_matches_numpy_reference_float32(quad):
    N = 30
    tr = runner.run(accel.ogm_g(1.0 / quad.L, num_steps=N), quad, quad.x0, num_steps=N)
    A = np.asarray(jax.vmap(jax.grad(quad.value))(jnp.eye(quad.dim)), float)  # the Hessian
    ref, _ = _ogm_g_numpy(lambda x: A @ x, np.asarray(quad.x0, float), quad.L, N)
    assert tr.iterates.dtype == jnp.float32
    scale = np.max(np.abs(ref))
    # measured 2.5e-7 · max|x|: float32 round-off through 30 steps of momentum
    np.testing.assert_allclose(np.asarray(tr.iterates), ref, atol=2e-6 * scale)


def test_ogm_g_matches_numpy_reference_float64(x64):
    X = np.random.default_rng(0).normal(size=(40, 5))
    y = np.where(np.random.default_rng(1).normal(size=40) > 0, 1.0, -1.0)
    lr_prob = problems.logistic_regression(jnp.asarray(X), jnp.asarray(y), reg=1e-2)
    N = 25
    tr = runner.run(accel.ogm_g(1.0 / lr_prob.L, num_steps=N), lr_prob, lr_prob.x0, num_steps=N)
    ref, _ = _ogm_g_numpy(lambda x: np.asarray(lr_prob.grad(jnp.asarray(x))), np.asarray(lr_prob.x0), lr_prob.L, N)
    assert tr.iterates.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(tr.iterates), ref, rtol=1e-12, atol=1e-13)  # measured 6e-16


@pytest.mark.parametrize("N", [1, 5, 50])
def test_ogm_g_bound_is_attained_on_the_isotropic_quadratic(x64, N):
    L = 3.0
    q = problems.quadratic(kappa=1.0, dim=3, L=L)
    x0 = jnp.array([1.0, -2.0, 0.5])
    tr = runner.run(accel.ogm_g(1.0 / L, num_steps=N), q, x0, num_steps=N)
    bound = 2 * L * float(q.value(x0)) / accel.ogm_g_theta(num_steps=N)[0] ** 2
    np.testing.assert_allclose(float(tr.grad_norms[-1]) ** 2, bound, rtol=1e-10)  # measured 3e-14 at N = 50


def _half_quadratic(A, x):
    return 0.5 * x @ A @ x


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([3, 10, 30]))
def test_ogm_g_bound_holds_on_convex_quadratics(seed, N):
    # random spectra in [0, L], including zero eigenvalues (not strongly convex)
    rng = np.random.default_rng(seed)
    d = 6
    lam = rng.uniform(0, 1, d) ** rng.uniform(0.5, 6)
    lam[0], lam[1] = 1.0, 0.0
    U, _ = np.linalg.qr(rng.normal(size=(d, d)))
    A = U @ np.diag(lam) @ U.T
    x0 = rng.normal(size=d)
    xs, th = _ogm_g_numpy(lambda x: A @ x, x0, 1.0, N)
    with jax.enable_x64(True):
        q = problems.Problem(name="q", value=jax.tree_util.Partial(_half_quadratic, jnp.asarray(A)), dim=d, L=1.0, mu=0.0,
                             x_star=jnp.zeros(d), f_star=0.0, x0=jnp.asarray(x0))
        tr = runner.run(accel.ogm_g(1.0, num_steps=N), q, q.x0, num_steps=N)
        np.testing.assert_allclose(np.asarray(tr.iterates), xs, rtol=1e-10, atol=1e-12)
        g2 = float(tr.grad_norms[-1]) ** 2
    assert g2 <= 2 * 0.5 * x0 @ A @ x0 / th[0] ** 2 * (1 + 1e-9)


def test_ogm_g_second_run_reuses_the_compiled_loop(quad):
    runner.run(accel.ogm_g(1.0 / quad.L, num_steps=10), quad, quad.x0, num_steps=10)
    before = runner._run_compiled._cache_size()
    runner.run(accel.ogm_g(1.0 / quad.L, num_steps=10), quad, quad.x0 + 1.0, num_steps=10)  # rebuilt, new start
    assert runner._run_compiled._cache_size() == before


def test_ogm_g_refuses_bad_arguments():
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        accel.ogm_g(-1.0, num_steps=10)
    with pytest.raises(TypeError, match="num_steps"):
        accel.ogm_g(1.0, num_steps=2.5)
    with pytest.raises(ValueError, match="num_steps"):
        accel.ogm_g_theta(num_steps=0)
    opt = accel.ogm_g(1.0, num_steps=3)
    with pytest.raises(ValueError, match="needs params"):
        opt.update(jnp.ones(2), opt.init(jnp.ones(2)))
