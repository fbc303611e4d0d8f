"""Tests for optlab.prox.model_based (Davis & Drusvyatskiy 2019): the three model steps against
brute-force minimisation of their models, the Moreau-envelope gradient against a
derivative-free solver (scipy's Nelder–Mead), the runs in float32 and float64, and bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import prox as px

RES = px.phase_retrieval_residual


def _problem(m=40, d=5, seed=0, dtype=np.float64):
    r = np.random.default_rng(seed)
    A = r.normal(size=(m, d))
    x_nat = r.normal(size=d)
    x_nat /= np.linalg.norm(x_nat)
    return A.astype(dtype), ((A @ x_nat) ** 2).astype(dtype), x_nat.astype(dtype), (0.5 * r.normal(size=d)).astype(dtype)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    log_alpha=st.floats(-3.0, 1.0),
    b_scale=st.sampled_from([0.0, 0.3, 1.0, 3.0]),
)
def test_sample_prox_is_the_global_minimiser_of_the_term(seed, log_alpha, b_scale):
    with jax.enable_x64(True):
        _check_sample_prox(seed, log_alpha, b_scale)


def _check_sample_prox(seed, log_alpha, b_scale):
    r = np.random.default_rng(seed)
    a, x = r.normal(size=3), r.normal(size=3)
    b, alpha = b_scale * abs(r.normal()), 10.0**log_alpha
    y = np.asarray(px.phase_retrieval_sample_prox(jnp.asarray(x), jnp.asarray(a), b, alpha))
    # the minimiser moves x along a only; brute force over v = <a, y> on a fine grid
    aa, v0 = a @ a, a @ x
    vs = v0 + np.linspace(-15, 15, 300_001)
    vals = np.abs(vs**2 - b) + (vs - v0) ** 2 / (2 * alpha * aa)
    value = abs((a @ y) ** 2 - b) + np.sum((y - x) ** 2) / (2 * alpha)
    assert value <= vals.min() + 1e-7 * max(1.0, vals.min())
    assert np.allclose(y - x, ((a @ y) - v0) / aa * a, atol=1e-10)  # a move along a


def test_sample_prox_in_float32_matches_float64():
    A, b, _, x0 = _problem(dtype=np.float32)
    for i in range(5):
        for alpha in (1e-3, 0.1, 2.0):
            y32 = px.phase_retrieval_sample_prox(x0, A[i], b[i], alpha)
            assert y32.dtype == jnp.float32
            with jax.enable_x64(True):
                y64 = px.phase_retrieval_sample_prox(x0.astype(np.float64), A[i].astype(np.float64), float(b[i]), alpha)
            assert np.allclose(y32, y64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("alpha", [1e-3, 0.05, 1.0])
def test_prox_linear_step_minimises_its_model(alpha, x64):
    A, b, _, x0 = _problem()
    for i in range(6):
        out = px.stochastic_model_based(
            RES, A[i : i + 1], b[i : i + 1], x0, model="prox_linear", learning_rate=alpha, num_steps=1,
            key=jax.random.key(0),
        )
        c, g = float(RES(x0, A[i], b[i])), np.asarray(jax.grad(RES)(x0, A[i], b[i]))
        ts = np.linspace(-3, 3, 600_001) * alpha  # the minimiser is x − t g
        best = np.min(np.abs(c - ts * (g @ g)) + ts**2 * (g @ g) / (2 * alpha))
        step = np.asarray(out.params) - x0
        value = abs(c + g @ step) + step @ step / (2 * alpha)
        assert value <= best + 1e-9
        # the subgradient step on the same sample
        sub = px.stochastic_model_based(
            RES, A[i : i + 1], b[i : i + 1], x0, model="subgradient", learning_rate=alpha, num_steps=1,
            key=jax.random.key(0),
        )
        assert np.allclose(sub.params, x0 - alpha * np.sign(c) * g, atol=1e-12)


def test_moreau_gradient_matches_a_derivative_free_solver(x64):
    r = np.random.default_rng(3)
    A, b, _, _ = _problem(m=30, d=2, seed=1)
    rho = 2 * np.linalg.eigvalsh(A.T @ A / len(A)).max()
    lam = 1 / (2 * rho)
    for _ in range(3):
        x = 1.5 * r.normal(size=2)
        g = np.asarray(px.composite_moreau_gradient(RES, A, b, x, scale=lam))

        def G(y, x=x):
            return np.mean(np.abs((A @ y) ** 2 - b)) + np.sum((y - x) ** 2) / (2 * lam)

        ref = min(
            (scipy.optimize.minimize(G, x + 0.3 * r.normal(size=2), method="Nelder-Mead",
                                     options=dict(xatol=1e-12, fatol=1e-15, maxiter=20_000)) for _ in range(10)),
            key=lambda res: res.fun,
        )
        g_ref = (x - ref.x) / lam
        assert np.linalg.norm(g - g_ref) <= 1e-6 * np.linalg.norm(g_ref)
        assert G(x - lam * g) <= ref.fun + 1e-12


def test_moreau_gradient_vanishes_at_the_signal_and_batches(x64):
    A, b, x_nat, x0 = _problem()
    lam = 1 / (4 * np.linalg.eigvalsh(A.T @ A / len(A)).max())
    pts = np.stack([x_nat, -x_nat, x0])
    g = np.asarray(px.composite_moreau_gradient(RES, A, b, pts, scale=lam))
    assert np.abs(g[:2]).max() < 1e-10
    assert np.allclose(g[2], px.composite_moreau_gradient(RES, A, b, x0, scale=lam), atol=1e-12)
    assert np.linalg.norm(g[2]) > 0.1


def test_moreau_gradient_in_float32():
    A, b, _, x0 = _problem()
    lam = 1 / (4 * np.linalg.eigvalsh(A.T @ A / len(A)).max())
    with jax.enable_x64(True):
        g64 = np.asarray(px.composite_moreau_gradient(RES, A, b, x0, scale=lam))
    g32 = px.composite_moreau_gradient(RES, A.astype(np.float32), b.astype(np.float32), x0.astype(np.float32),
                                       scale=lam, smoothing=1e-5, num_stages=5)
    assert g32.dtype == jnp.float32
    assert np.linalg.norm(np.asarray(g32) - g64) <= 1e-3 * np.linalg.norm(g64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("model", ["prox_linear", "proximal_point"])
def test_model_based_methods_recover_the_signal(model, dtype):
    with jax.enable_x64(dtype == np.float64):
        _check_recovery(model, dtype)


def _check_recovery(model, dtype):
    A, b, x_nat, x0 = _problem(m=60, d=5, seed=2, dtype=dtype)
    out = px.stochastic_model_based(RES, A, b, x0, model=model, learning_rate=0.3, num_steps=60 * 60,
                                    key=jax.random.key(1), sample_prox=px.phase_retrieval_sample_prox)
    assert out.params.dtype == dtype and out.values.shape == (60 * 60 + 1,) and out.iterates.shape == (3601, 5)
    dist = min(np.linalg.norm(out.params - x_nat), np.linalg.norm(out.params + x_nat))
    assert dist < (1e-4 if dtype == np.float32 else 1e-10)
    assert np.isclose(out.values[-1], px.absolute_residual_loss(RES, A, b, out.params), rtol=1e-5, atol=1e-6)


def test_subgradient_diverges_where_prox_linear_does_not(x64):
    A, b, x_nat, x0 = _problem(m=60, d=5, seed=2)
    kw = dict(learning_rate=0.3, num_steps=600, key=jax.random.key(1))
    sub = px.stochastic_model_based(RES, A, b, x0, model="subgradient", **kw)
    pl = px.stochastic_model_based(RES, A, b, x0, model="prox_linear", **kw)
    assert not np.all(np.isfinite(sub.values)) or sub.values[-1] > 1e3 * sub.values[0]
    assert pl.values[-1] < 1e-3 * pl.values[0]


def test_runs_are_deterministic_and_vmap_over_steps_and_keys(x64):
    A, b, _, x0 = _problem()

    def run(alpha, key):
        return px.stochastic_model_based(RES, A, b, x0, model="prox_linear", learning_rate=alpha, num_steps=50, key=key)

    out = jax.vmap(run, in_axes=(0, None))(jnp.array([0.01, 0.1]), jax.random.key(4))
    single = run(0.1, jax.random.key(4))
    assert np.allclose(out.params[1], single.params, atol=1e-12)
    assert np.array_equal(out.samples[0], single.samples)
    again = run(0.1, jax.random.key(4))
    assert np.array_equal(again.params, single.params)


def test_schedule_is_used():
    A, b, _, x0 = _problem()
    out = px.stochastic_model_based(RES, A, b, x0, model="subgradient", learning_rate=lambda k: 0.01 / (k + 1.0),
                                    num_steps=5, key=jax.random.key(0))
    assert np.allclose(out.learning_rates, 0.01 / np.arange(1, 6))


def test_bad_input_is_named():
    A, b, _, x0 = _problem()
    kw = dict(model="prox_linear", learning_rate=0.1, num_steps=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="model"):
        px.stochastic_model_based(RES, A, b, x0, **{**kw, "model": "newton"})
    with pytest.raises(ValueError, match="sample_prox"):
        px.stochastic_model_based(RES, A, b, x0, **{**kw, "model": "proximal_point"})
    with pytest.raises(ValueError, match="learning_rate"):
        px.stochastic_model_based(RES, A, b, x0, **{**kw, "learning_rate": 0.0})
    with pytest.raises(ValueError, match="b must have one entry"):
        px.stochastic_model_based(RES, A, b[:-1], x0, **kw)
    with pytest.raises(ValueError, match="scale"):
        px.composite_moreau_gradient(RES, A, b, x0, scale=-1.0)
    with pytest.raises(ValueError, match="alpha"):
        px.phase_retrieval_sample_prox(x0, A[0], b[0], 0.0)
    with pytest.raises(ValueError, match="a must have the shape"):
        px.phase_retrieval_residual(x0, A[0, :2], b[0])
