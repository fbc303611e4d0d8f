"""optlab.dynamics: SAM against its definition (a NumPy reference), its safety at a zero
gradient, and the warmup–stable–decay schedule against its piecewise formula."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import dynamics as dy
from optlab import runner

A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.3]])


def loss(w):
    return 0.5 * w @ (jnp.asarray(A, w.dtype) @ w) + 0.25 * jnp.sum(w**4)


def grad_np(w):
    return A @ w + w**3


def sam_reference(w0, learning_rate, rho, num_steps):
    """SAM by its definition, in NumPy float64."""
    w = np.array(w0, float)
    out = [w.copy()]
    for _ in range(num_steps):
        g = grad_np(w)
        n = np.linalg.norm(g)
        eps = rho * g / n if n > 0 else np.zeros_like(g)
        w = w - learning_rate * grad_np(w + eps)
        out.append(w.copy())
    return np.array(out)


@pytest.mark.parametrize("dtype, rtol", [(jnp.float32, 2e-5), (jnp.float64, 1e-12)])
def test_sam_equals_its_definition(dtype, rtol):
    with jax.enable_x64(dtype == jnp.float64):
        w0 = jnp.array([1.0, -0.5, 2.0], dtype)
        trace = runner.run_loss(dy.sam(0.1, 0.05), loss, w0, num_steps=30, return_iterates=True)
        ref = sam_reference(np.asarray(w0, float), 0.1, 0.05, 30)
        assert trace.params.dtype == dtype
        np.testing.assert_allclose(np.asarray(trace.iterates, float), ref, rtol=rtol, atol=rtol)


def test_sam_is_not_gradient_descent_and_rho_zero_is():
    w0 = jnp.array([1.0, -0.5, 2.0])
    gd = runner.run_loss(optax.sgd(0.1), loss, w0, num_steps=10)
    sam0 = runner.run_loss(dy.sam(0.1, 0.0), loss, w0, num_steps=10)
    sam = runner.run_loss(dy.sam(0.1, 0.05), loss, w0, num_steps=10)
    np.testing.assert_allclose(sam0.params, gd.params, rtol=1e-6)
    assert float(jnp.max(jnp.abs(sam.params - gd.params))) > 1e-3


def test_ascent_direction_has_length_rho_and_is_zero_at_zero():
    g = {"a": jnp.array([3.0, 0.0]), "b": jnp.array([[4.0]])}
    eps = dy.ascent_direction(g, 0.5)
    np.testing.assert_allclose(eps["a"], [0.3, 0.0], rtol=1e-6)
    np.testing.assert_allclose(eps["b"], [[0.4]], rtol=1e-6)
    z = dy.ascent_direction(jnp.zeros(3), 0.5)
    np.testing.assert_array_equal(z, np.zeros(3))
    dz = jax.grad(lambda v: jnp.sum(dy.ascent_direction(v, 0.5)))(jnp.zeros(3))
    assert np.all(np.isfinite(dz))


def test_sam_at_a_zero_gradient_is_a_fixed_point_without_nan():
    w0 = jnp.zeros(3)  # a stationary point of loss
    trace = runner.run_loss(dy.sam(0.1, 0.5), loss, w0, num_steps=5, return_iterates=True)
    assert np.all(np.isfinite(np.asarray(trace.iterates)))
    np.testing.assert_array_equal(trace.params, np.zeros(3))


def test_scale_by_sam_chains_with_adam_on_a_pytree():
    params = {"w": jnp.array([1.0, -0.5]), "b": jnp.array(0.3)}

    def f(p):
        return jnp.sum((p["w"] - 1.0) ** 2) + p["b"] ** 2

    opt = optax.chain(dy.scale_by_sam(0.01), optax.adam(0.05))
    trace = runner.run_loss(opt, f, params, num_steps=300)
    assert float(trace.values[-1]) < 1e-3


def test_scale_by_sam_needs_fun_and_params():
    opt = dy.scale_by_sam(0.1)
    state = opt.init(jnp.zeros(2))
    with pytest.raises(TypeError, match="fun"):
        opt.update(jnp.ones(2), state, jnp.zeros(2))
    with pytest.raises(ValueError, match="params"):
        opt.update(jnp.ones(2), state, fun=lambda w: jnp.sum(w**2))


def test_sam_compiles_once_and_vmaps_over_starts():
    opt = dy.sam(0.05, 0.1)
    starts = jnp.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, -1.0]])
    finals = jax.vmap(lambda w: runner.run_loss(opt, loss, w, num_steps=20).params)(starts)
    for i in range(3):
        ref = sam_reference(np.asarray(starts[i], float), 0.05, 0.1, 20)[-1]
        np.testing.assert_allclose(finals[i], ref, rtol=1e-5, atol=1e-6)


def wsd_reference(k, peak, T, Tw, Td, end, decay):
    if k < T - Td:
        return peak * min((k + 1) / max(Tw, 1), 1.0)
    s = min((k - T + Td) / Td, 1.0)
    shape = 1 - s if decay == "linear" else 0.5 * (1 + np.cos(np.pi * s))
    return end + (peak - end) * shape


@pytest.mark.parametrize("decay", ["linear", "cosine"])
def test_wsd_equals_its_piecewise_formula(decay):
    T, Tw, Td = 100, 10, 20
    s = dy.warmup_stable_decay(0.5, num_steps=T, warmup_steps=Tw, decay_steps=Td, end_value=0.01, decay=decay)
    k = np.arange(T + 5)
    got = np.asarray(jax.vmap(s)(jnp.asarray(k)))
    want = [wsd_reference(i, 0.5, T, Tw, Td, 0.01, decay) for i in k]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert got[Tw] == got[T - Td - 1] == pytest.approx(0.5)  # the stable phase


def test_wsd_decay_matches_optax_linear_and_cosine_schedules(x64):
    T, Td = 50, 20
    k = jnp.arange(T - Td, T + 1)
    lin = dy.warmup_stable_decay(1.0, num_steps=T, decay_steps=Td, end_value=0.1)
    cos = dy.warmup_stable_decay(1.0, num_steps=T, decay_steps=Td, end_value=0.1, decay="cosine")
    ref_lin = optax.linear_schedule(1.0, 0.1, Td)
    ref_cos = optax.cosine_decay_schedule(1.0, Td, alpha=0.1)
    np.testing.assert_allclose(jax.vmap(lin)(k), jax.vmap(ref_lin)(k - (T - Td)), rtol=1e-12)
    np.testing.assert_allclose(jax.vmap(cos)(k), jax.vmap(ref_cos)(k - (T - Td)), rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    T=st.integers(2, 200),
    frac_w=st.floats(0.0, 0.5),
    frac_d=st.floats(0.01, 0.5),
    peak=st.floats(1e-3, 10.0),
)
def test_wsd_is_bounded_and_monotone_after_the_warmup(T, frac_w, frac_d, peak):
    Tw = int(frac_w * T)
    Td = max(1, min(int(frac_d * T), T - Tw))
    s = dy.warmup_stable_decay(peak, num_steps=T, warmup_steps=Tw, decay_steps=Td)
    v = np.asarray(jax.vmap(s)(jnp.arange(T + 1)))
    assert np.all(v >= 0) and np.all(v <= peak * (1 + 1e-6))
    assert np.all(np.diff(v[: max(Tw, 1)]) >= -1e-6 * peak)  # warm-up rises
    assert np.all(np.diff(v[max(Tw, 1) - 1 :]) <= 1e-6 * peak)  # then never rises
    assert v[T] == 0.0


def test_wsd_refuses_bad_arguments():
    with pytest.raises(ValueError, match="warmup_steps \\+ decay_steps"):
        dy.warmup_stable_decay(1.0, num_steps=10, warmup_steps=6, decay_steps=5)
    with pytest.raises(ValueError, match="end_value"):
        dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=5, end_value=2.0)
    with pytest.raises(ValueError, match="decay"):
        dy.warmup_stable_decay(1.0, num_steps=10, decay_steps=5, decay="exp")


# ---------------------------------------------------------------- the SDE of SGD on a quadratic
H3, S3, X3 = np.array([1.0, 0.5, 3.0]), np.array([1.0, 2.0, 0.0]), np.array([2.0, -1.0, 0.5])


def test_sgd_quadratic_moments_equal_the_recursion(x64):
    m = dy.sgd_quadratic_moments(H3, S3, X3, learning_rate=0.1, batch_size=4, num_steps=50)
    mean, var = X3.copy(), np.zeros(3)
    for k in range(51):
        np.testing.assert_allclose(m.mean[k], mean, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(m.variance[k], var, rtol=1e-12, atol=1e-15)
        mean = (1 - 0.1 * H3) * mean
        var = (1 - 0.1 * H3) ** 2 * var + 0.1**2 * S3 / 4


def test_sgd_sde_moments_solve_the_moment_odes(x64):
    from scipy.integrate import solve_ivp

    t = np.linspace(0.0, 3.0, 7)
    m = dy.sgd_sde_moments(H3, S3, X3, learning_rate=0.05, batch_size=2, times=t)

    def rhs(_, y):
        mean, var = y[:3], y[3:]
        return np.concatenate([-H3 * mean, -2 * H3 * var + 0.05 * S3 / 2])

    sol = solve_ivp(rhs, (0, 3), np.concatenate([X3, np.zeros(3)]), t_eval=t, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(m.mean, sol.y[:3].T, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(m.variance, sol.y[3:].T, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(jnp.float32, 1e-5), (jnp.float64, 1e-12)])
def test_sde_depends_on_learning_rate_over_batch_size_only(dtype, rtol):
    with jax.enable_x64(dtype == jnp.float64):
        h, s, x = (jnp.asarray(v, dtype) for v in (H3, S3, X3))
        t = jnp.linspace(0.0, 5.0, 11, dtype=dtype)
        a = dy.sgd_sde_moments(h, s, x, learning_rate=0.01, batch_size=1, times=t)
        b = dy.sgd_sde_moments(h, s, x, learning_rate=0.16, batch_size=16, times=t)
        assert a.variance.dtype == dtype
        np.testing.assert_allclose(a.variance, b.variance, rtol=rtol)
        np.testing.assert_allclose(a.mean, b.mean, rtol=rtol)


def test_sgd_and_its_sde_agree_to_first_order(x64):
    errs = []
    for eta in (0.04, 0.02, 0.01):
        K = int(round(2.0 / eta))
        d = dy.sgd_quadratic_moments(H3, S3, X3, learning_rate=eta, num_steps=K)
        c = dy.sgd_sde_moments(H3, S3, X3, learning_rate=eta, times=eta * np.arange(K + 1))
        errs.append(float(jnp.max(jnp.abs(d.mean - c.mean)) + jnp.max(jnp.abs(d.variance - c.variance)) / eta))
    assert 1.8 < errs[0] / errs[1] < 2.2 and 1.8 < errs[1] / errs[2] < 2.2  # weak order one


def test_sde_moments_refuse_bad_arguments():
    with pytest.raises(ValueError, match="same shape"):
        dy.sgd_sde_moments(H3, S3[:2], X3, learning_rate=0.1, times=[1.0])
    with pytest.raises(ValueError, match="learning_rate must satisfy"):
        dy.sgd_quadratic_moments(H3, S3, X3, learning_rate=1.0, num_steps=3)
