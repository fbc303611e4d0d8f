"""optlab.dynamics scaling rules and gradient subspaces: the rules against hand values, the
regression problem against its closed form, the gradient fraction against a NumPy eigendecomposition."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree

from optlab import dynamics as dy
from optlab import runner
from optlab.dynamics import gradient_subspace as gs_mod

BASE = dict(learning_rate=0.01, b1=0.99, b2=0.999, eps=1e-6)


def test_adam_square_root_rule_hand_values():
    hp = dy.adam_scaling_rule(4, **BASE)
    np.testing.assert_allclose([float(v) for v in hp], [0.02, 0.96, 0.996, 5e-7], rtol=1e-6)
    hp16 = dy.adam_scaling_rule(16, **BASE)
    np.testing.assert_allclose([float(v) for v in hp16], [0.04, 0.84, 0.984, 2.5e-7], rtol=1e-5)


def test_adam_linear_rule_differs_in_the_step_only():
    sq = dy.adam_scaling_rule(9, **BASE)
    lin = dy.adam_scaling_rule(9, **BASE, rule="linear")
    assert float(lin.learning_rate) == pytest.approx(0.09, rel=1e-6)
    assert float(sq.learning_rate) == pytest.approx(0.03, rel=1e-6)
    np.testing.assert_allclose([float(lin.b1), float(lin.b2), float(lin.eps)],
                               [float(sq.b1), float(sq.b2), float(sq.eps)], rtol=1e-7)


def test_kappa_one_is_the_identity_and_the_sde_constants_are_kept():
    hp = dy.adam_scaling_rule(1, **BASE)
    np.testing.assert_allclose([float(v) for v in hp], list(BASE.values()), rtol=1e-6)
    for kappa in (2.0, 5.0, 30.0):
        h = dy.adam_scaling_rule(kappa, **BASE)
        eta = float(h.learning_rate)
        # σ₀ = ση with σ ∝ 1/√B, c_i = (1 − β_i)/η², ε₀ = εη unchanged
        assert eta / np.sqrt(kappa) == pytest.approx(BASE["learning_rate"], rel=1e-6)
        eta0 = BASE["learning_rate"]
        assert (1 - float(h.b1)) / eta**2 == pytest.approx((1 - BASE["b1"]) / eta0**2, rel=1e-4)
        assert (1 - float(h.b2)) / eta**2 == pytest.approx((1 - BASE["b2"]) / eta0**2, rel=1e-3)
        assert float(h.eps) * eta == pytest.approx(BASE["eps"] * BASE["learning_rate"], rel=1e-6)


def test_sgd_linear_rule():
    assert float(dy.sgd_scaling_rule(16, learning_rate=0.02)) == pytest.approx(0.32, rel=1e-6)
    assert float(dy.sgd_scaling_rule(1, learning_rate=0.5)) == pytest.approx(0.5, rel=1e-7)


def test_rules_are_traceable():
    f = jax.jit(lambda k: dy.adam_scaling_rule(k, **BASE).learning_rate)
    assert float(f(4.0)) == pytest.approx(0.02, rel=1e-6)
    g = jax.jit(lambda k: dy.sgd_scaling_rule(k, learning_rate=0.1))
    assert float(g(3.0)) == pytest.approx(0.3, rel=1e-6)


def test_hyperparameters_build_adam():
    hp = dy.adam_scaling_rule(4, **BASE)
    opt = hp.optimizer()
    x = jnp.array([1.0, -2.0])
    upd, _ = opt.update(jnp.array([0.5, 0.5]), opt.init(x), x)
    # first Adam step with bias correction: −η g/(|g| + ε)
    np.testing.assert_allclose(np.asarray(upd), -0.02 * 0.5 / (0.5 + 5e-7) * np.ones(2), rtol=1e-5)


def test_noisy_regression_closed_form():
    h = jnp.array([2.0, 0.5, 0.125])
    xs = jnp.array([1.0, -1.0, 0.5])
    prob = dy.noisy_regression(h, noise_std=3.0, n_samples=512, key=jax.random.key(0), x_star=xs)
    rng = np.random.default_rng(0)
    idx = jnp.arange(512)
    for _ in range(3):
        x = jnp.asarray(rng.standard_normal(3), jnp.float32)
        full = float(prob.sample_value(x, idx))
        assert full == pytest.approx(float(prob.value(x)), rel=1e-4)
        np.testing.assert_allclose(np.asarray(jax.grad(prob.sample_value)(x, idx)),
                                   np.asarray(h * (x - xs)), atol=2e-4)
    assert prob.f_star == pytest.approx(4.5)
    np.testing.assert_allclose(np.asarray(jax.grad(prob.sample_value)(xs, idx)), 0.0, atol=2e-4)
    # one example's gradient at x*: covariance close to σ² diag(h) (a sample of 512)
    per = np.asarray(jax.vmap(lambda i: jax.grad(prob.sample_value)(xs, i[None]))(idx))
    np.testing.assert_allclose(per.var(axis=0) / (9.0 * np.asarray(h)), 1.0, atol=0.25)


def test_noisy_regression_data_is_an_argument_of_the_compiled_loop():
    h = jnp.array([1.0, 0.5])
    make = dy.AdamHyperparameters.optimizer
    hps = dy.AdamHyperparameters(*(jnp.asarray([v], jnp.float32) for v in (0.01, 0.99, 0.999, 1e-3)))
    keys = jax.random.split(jax.random.key(0), 4)
    p1 = dy.noisy_regression(h, noise_std=1.0, n_samples=64, key=jax.random.key(1))
    runner.sweep(make, hps, p1, jnp.zeros(2), num_steps=5, keys=keys, batch_size=2)
    before = runner._TRACE_COUNT["sweep"]
    p2 = dy.noisy_regression(h, noise_std=2.0, n_samples=64, key=jax.random.key(2))
    runner.sweep(make, hps, p2, jnp.zeros(2), num_steps=5, keys=keys, batch_size=2)
    assert runner._TRACE_COUNT["sweep"] == before


# -------------------------------------------------------------------------------- subspaces
M = np.array([[4.0, 1.0, 0.0, 0.2], [1.0, 3.0, 0.5, 0.0], [0.0, 0.5, 1.0, 0.1], [0.2, 0.0, 0.1, 0.5]])
C = np.array([0.3, -1.0, 0.7, 0.2])


def quad(p):
    w = jnp.concatenate([p["a"], p["b"]])
    return 0.5 * w @ (jnp.asarray(M, w.dtype) @ w) + jnp.asarray(C, w.dtype) @ w


def numpy_fraction(H, g, k):
    lam, U = np.linalg.eigh(H)
    V = U[:, ::-1][:, :k]
    return float(np.sum((V.T @ g) ** 2) / np.sum(g**2)), lam[::-1][:k], V


@pytest.mark.parametrize("k", [1, 2, 3])
def test_fraction_against_numpy_on_a_quadratic(k):
    p = {"a": jnp.array([1.0, -0.5]), "b": jnp.array([0.25, 2.0])}
    out = dy.gradient_subspace_fraction(quad, p, k=k)
    w = np.array([1.0, -0.5, 0.25, 2.0])
    frac, lam, V = numpy_fraction(M, M @ w + C, k)
    assert float(out.fraction) == pytest.approx(frac, rel=1e-5, abs=1e-6)
    np.testing.assert_allclose(np.asarray(out.eigenvalues), lam, rtol=1e-5)
    assert float(dy.subspace_overlap(out.basis, jnp.asarray(V, jnp.float32))) == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(np.asarray(out.gradient), M @ w + C, rtol=1e-5)


def mlp_loss(p):
    x = jnp.asarray(np.random.default_rng(1).standard_normal((12, 3)), jnp.float32)
    h = jnp.tanh(x @ p["W1"].T + p["b1"])
    return 0.5 * jnp.mean((h @ p["W2"].T)[:, 0] - jnp.sin(x[:, 0])) ** 2 + 0.01 * jnp.sum(p["W1"] ** 2)


def test_fraction_against_numpy_on_a_small_network(x64):
    rng = np.random.default_rng(2)
    p = {"W1": jnp.asarray(rng.standard_normal((4, 3))), "b1": jnp.asarray(rng.standard_normal(4)),
         "W2": jnp.asarray(rng.standard_normal((1, 4)))}
    out = dy.gradient_subspace_fraction(mlp_loss, p, k=3)
    flat, unravel = ravel_pytree(p)
    H = np.asarray(jax.hessian(lambda w: mlp_loss(unravel(w)))(flat))
    g = np.asarray(jax.grad(lambda w: mlp_loss(unravel(w)))(flat))
    frac, lam, V = numpy_fraction(0.5 * (H + H.T), g, 3)
    assert float(out.fraction) == pytest.approx(frac, rel=1e-8)
    np.testing.assert_allclose(np.asarray(out.eigenvalues), lam, rtol=1e-8)


def test_full_space_holds_the_whole_gradient_and_zero_gradient_is_safe():
    p = {"a": jnp.array([1.0, -0.5]), "b": jnp.array([0.25, 2.0])}
    assert float(dy.gradient_subspace_fraction(quad, p, k=4).fraction) == pytest.approx(1.0, rel=1e-5)
    w_star = -np.linalg.solve(M, C)
    out = dy.gradient_subspace_fraction(lambda q: 0.5 * jnp.sum(q**2), jnp.zeros(3), k=1)
    assert float(out.fraction) == 0.0 and np.isfinite(w_star).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(0, 10_000))
def test_random_subspace_fraction_is_k_over_p_on_average(k, seed):
    P = 12
    key = jax.random.key(seed)
    g = jax.random.normal(key, (P,))
    Qs = jax.vmap(lambda kk: jnp.linalg.qr(jax.random.normal(kk, (P, k)))[0])(jax.random.split(key, 400))
    fr = np.asarray(jax.vmap(dy.gradient_fraction, (None, 0))(g, Qs))
    assert np.all((fr >= -1e-6) & (fr <= 1 + 1e-6))
    assert abs(fr.mean() - k / P) < 5 * fr.std() / np.sqrt(len(fr)) + 1e-3


def test_overlap_identities():
    rng = np.random.default_rng(0)
    Q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    A, B = jnp.asarray(Q[:, :2]), jnp.asarray(Q[:, 2:4])
    assert float(dy.subspace_overlap(A, A)) == pytest.approx(1.0, abs=1e-5)
    assert float(dy.subspace_overlap(A, B)) == pytest.approx(0.0, abs=1e-6)
    c, s = np.cos(0.3), np.sin(0.3)
    R = jnp.asarray([[c, -s], [s, c]], jnp.float32)
    # a change of basis within the span
    assert float(dy.subspace_overlap(A, A @ R)) == pytest.approx(1.0, abs=1e-5)
    half = jnp.asarray(np.stack([Q[:, 0], (Q[:, 1] + Q[:, 2]) / np.sqrt(2)], 1))
    assert float(dy.subspace_overlap(A, half)) == pytest.approx(0.75, abs=1e-5)


def test_subspace_compiles_once_per_shape():
    p = {"a": jnp.array([1.0, -0.5]), "b": jnp.array([0.25, 2.0])}
    dy.gradient_subspace_fraction(quad, p, k=2)
    size = gs_mod._subspace._cache_size()
    for s in (0.5, -3.0):
        dy.gradient_subspace_fraction(quad, {"a": s * p["a"], "b": p["b"] + s}, k=2)
    assert gs_mod._subspace._cache_size() == size
