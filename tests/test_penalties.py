"""Tests for optlab.prox.penalties: the SCAD and MCP proxes against brute-force minimisation
on a fine 1-D grid (float32 and float64), their thresholding and continuity properties
(hypothesis, derandomised under the ``ci`` profile), the prox condition, and penalised least
squares by proximal gradient and the nonconvex accelerated gradient method against an
independent coordinate-descent reference written here in NumPy.
"""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import prox as px

DTYPES = [jnp.float32, jnp.float64]
pen_module = importlib.import_module("optlab.prox.penalties")
PROX = {"scad": px.prox_scad, "mcp": px.prox_mcp}
PEN = {"scad": px.scad_penalty, "mcp": px.mcp_penalty}
A_PAR = {"scad": 3.7, "mcp": 3.0}


def _ctx(dtype):
    return jax.enable_x64(dtype == jnp.float64)


def _np_penalty(kind, x, lam, a):
    """An independent NumPy transcription of the two definitions."""
    u = np.abs(x)
    if kind == "scad":
        return np.where(
            u <= lam,
            lam * u,
            np.where(u <= a * lam, (2 * a * lam * u - u**2 - lam**2) / (2 * (a - 1)), (a + 1) * lam**2 / 2),
        )
    return np.where(u <= a * lam, lam * u - u**2 / (2 * a), a * lam**2 / 2)


# ------------------------------------------------------------------ proxes against brute force


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_prox_matches_grid_minimisation(kind, dtype):
    lam, a = 0.8, A_PAR[kind]
    top = a - 1 if kind == "scad" else a
    grid = np.linspace(-10, 10, 200_001)  # spacing 1e-4
    pg = _np_penalty(kind, grid, lam, a)
    v = np.linspace(-6, 6, 121)
    with _ctx(dtype):
        for gam in (0.2, 1.0, 0.5 * top, 0.97 * top):
            bf = grid[np.argmin(0.5 * (grid[None, :] - v[:, None]) ** 2 + gam * pg[None, :], axis=1)]
            ours = np.asarray(PROX[kind](jnp.asarray(v, dtype), gam, reg=lam, a=a))
            assert ours.dtype == dtype
            # the grid's resolution (1e-4, amplified by the conditioning 1/(1 − γ/top) of the
            # prox objective) and float32 rounding of magnitudes up to 6
            assert np.max(np.abs(ours - bf)) <= 1e-4 / (1 - gam / top) + _TOL[dtype]


_TOL = {jnp.float32: 2e-6, jnp.float64: 1e-12}


@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_penalty_values_match_definition(kind):
    x = np.linspace(-5, 5, 1001)
    for lam in (0.0, 0.5, 1.3):
        ours = np.asarray(PEN[kind](jnp.asarray(x, jnp.float32), reg=lam, a=A_PAR[kind]))
        np.testing.assert_allclose(ours, _np_penalty(kind, x, lam, A_PAR[kind]), rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_penalty_is_continuous_and_flat_beyond_a_lambda(kind, x64):
    lam, a = 0.7, A_PAR[kind]
    knots = [lam, a * lam] if kind == "scad" else [a * lam]
    for k in knots:  # left and right limits agree at every knot
        left, right = PEN[kind](jnp.array([k - 1e-9, k + 1e-9]), reg=lam, a=a)
        assert abs(float(left) - float(right)) < 1e-8
    far = np.asarray(PEN[kind](jnp.array([a * lam, 2 * a * lam, 100.0]), reg=lam, a=a))
    flat = (a + 1) * lam**2 / 2 if kind == "scad" else a * lam**2 / 2
    np.testing.assert_allclose(far, flat, rtol=1e-12)
    # near zero the penalty is λ|x|, like the ℓ1 norm
    assert float(PEN[kind](jnp.array(1e-3), reg=lam, a=a)) == pytest.approx(lam * 1e-3, rel=1e-3)


@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_prox_thresholds_and_keeps_large_entries(kind, x64):
    lam, a, gam = 1.0, A_PAR[kind], 0.9
    v = jnp.array([-0.9 * gam * lam, 0.0, 0.99 * gam * lam, 1.01 * a * lam, -5.0 * a * lam])
    out = np.asarray(PROX[kind](v, gam, reg=lam, a=a))
    assert np.all(out[:3] == 0.0)  # |v| ≤ γλ is set to zero, as by soft thresholding
    np.testing.assert_array_equal(out[3:], np.asarray(v)[3:])  # |v| > aλ is left unbiased
    # the ℓ1 prox shrinks the same large entries by γλ
    l1 = np.asarray(px.prox_l1(v[3:], gam * lam))
    np.testing.assert_allclose(np.abs(np.asarray(v)[3:]) - np.abs(l1), gam * lam)


vals = st.floats(-20, 20, allow_nan=False, allow_infinity=False)


@settings(max_examples=40)
@given(
    v=vals, w=vals, lam=st.floats(0.0, 3.0), frac=st.floats(0.0, 0.95), kind=st.sampled_from(["scad", "mcp"])
)
def test_prox_properties(v, w, lam, frac, kind):
    a = A_PAR[kind]
    top = a - 1 if kind == "scad" else a
    gam = frac * top
    pv, pw, pmv = (float(PROX[kind](jnp.array(t), gam, reg=lam, a=a)) for t in (v, w, -v))
    assert pmv == pytest.approx(-pv, abs=1e-6)  # odd
    assert abs(pv) <= abs(v) * (1 + 1e-6) + 1e-6  # never expands
    assert (pv - pw) * (v - w) >= -1e-5 * (1 + abs(v) + abs(w))  # monotone
    # Lipschitz with the constant 1/(1 − γ/top) of the strongly convex prox objective: continuity
    assert abs(pv - pw) <= abs(v - w) / (1 - gam / top) * (1 + 1e-5) + 1e-4
    assert (pv == 0.0) == (abs(v) <= gam * lam * (1 + 1e-7)) or abs(abs(v) - gam * lam) < 1e-4
    # a global minimiser of the prox objective: no better point among a few candidates
    obj = lambda x: 0.5 * (x - v) ** 2 + gam * float(_np_penalty(kind, np.array(x), lam, a))  # noqa: E731
    for cand in (0.0, v, w, pv + 1e-2, pv - 1e-2, 0.5 * (v + pv)):
        assert obj(pv) <= obj(cand) + 1e-4 * (1 + abs(v))


@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_prox_condition_violated_raises(kind):
    a = A_PAR[kind]
    top = a - 1 if kind == "scad" else a
    with pytest.raises(ValueError, match="scale must be below"):
        PROX[kind](jnp.ones(3), top, reg=1.0, a=a)
    with pytest.raises(ValueError, match="scale must be below"):
        PROX[kind](jnp.ones(3), 2 * top, reg=1.0, a=a)
    PROX[kind](jnp.ones(3), 0.999 * top, reg=1.0, a=a)  # just below is fine
    with pytest.raises(ValueError, match="learning_rate must be below"):
        px.nonconvex_regression(
            jnp.eye(3),
            jnp.ones(3),
            reg=0.1,
            num_steps=3,
            penalty=kind,
            acceleration="none",
            learning_rate=top,
        )


def test_scad_needs_a_above_one():
    with pytest.raises(ValueError, match="a must be greater than 1"):
        px.prox_scad(jnp.ones(2), 0.1, reg=1.0, a=1.0)
    with pytest.raises(ValueError, match="a must be positive"):
        px.prox_mcp(jnp.ones(2), 0.1, reg=1.0, a=0.0)


# ------------------------------------------------------------------ penalised least squares


def _cd_reference(kind, A, b, lam, a, sweeps=3000):
    """Cyclic coordinate descent with the univariate closed forms (Breheny & Huang 2011), for
    columns with ‖A_j‖²/N = 1: each coordinate update is the prox with γ = 1."""
    n, d = A.shape
    x, r = np.zeros(d), b.copy()
    for _ in range(sweeps):
        for j in range(d):
            z = A[:, j] @ r / n + x[j]
            u = abs(z)
            if kind == "scad":
                new = (
                    max(u - lam, 0)
                    if u <= 2 * lam
                    else ((a - 1) * u - a * lam) / (a - 2)
                    if u <= a * lam
                    else u
                )
            else:
                new = max(u - lam, 0) * a / (a - 1) if u <= a * lam else u
            new *= np.sign(z)
            r -= A[:, j] * (new - x[j])
            x[j] = new
    return x


def _strongly_convex_problem(rng, n=400, d=12):
    A = rng.normal(size=(n, d))
    A = (A - A.mean(0)) / A.std(0)  # ‖A_j‖²/N = 1
    x_nat = np.zeros(d)
    x_nat[:4] = [3.0, -2.5, 2.0, 1.5]
    b = A @ x_nat + 0.5 * rng.normal(size=n)
    return A, b, x_nat


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_regression_matches_coordinate_descent(kind, dtype):
    rng = np.random.default_rng(3)
    A, b, _ = _strongly_convex_problem(rng)
    lam, a = 0.3, A_PAR[kind]
    # λ_min(AᵀA/N) exceeds the penalty's concavity: F is strongly convex, one stationary point
    assert np.linalg.eigvalsh(A.T @ A / len(b))[0] > (1 / (a - 1) if kind == "scad" else 1 / a)
    ref = _cd_reference(kind, A, b, lam, a, sweeps=300)
    with _ctx(dtype):
        for acc in ("none", "nonconvex_ag"):
            out = px.nonconvex_regression(
                jnp.asarray(A, dtype),
                jnp.asarray(b, dtype),
                reg=lam,
                num_steps=400,
                penalty=kind,
                acceleration=acc,
            )
            assert out.params.dtype == dtype
            err = np.max(np.abs(np.asarray(out.params, float) - ref))
            assert err < _tol(dtype, 2e-5, 1e-10), (acc, err)
            assert np.array_equal(np.asarray(out.params) != 0, ref != 0)  # the same support


def _tol(dtype, f32, f64):
    return f32 if dtype == jnp.float32 else f64


def _sparse_problem(seed=0, n=100, d=300, s=8):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, d))
    x_nat = np.zeros(d)
    sup = rng.choice(d, s, replace=False)
    x_nat[sup] = rng.choice([-1, 1], s) * rng.uniform(1.0, 2.0, s)
    b = A @ x_nat + 0.5 * rng.normal(size=n)
    return A, b, x_nat


@pytest.mark.parametrize("kind", ["scad", "mcp"])
def test_ista_decreases_monotonically_and_ag_reaches_stationarity_faster(kind, x64):
    A, b, x_nat = _sparse_problem()
    lam = 0.1 * float(px.lasso_reg_max(A, b))
    K = 1500
    ista = px.nonconvex_regression(A, b, reg=lam, num_steps=K, penalty=kind, acceleration="none")
    ag = px.nonconvex_regression(A, b, reg=lam, num_steps=K, penalty=kind, acceleration="nonconvex_ag")
    # exact prox steps with γ ≤ 1/L: sufficient decrease, whatever the penalty's nonconvexity
    assert np.all(np.diff(np.asarray(ista.values)) <= 1e-12)
    for r in (ista, ag):  # both reach a stationary point (gradient mapping zero)
        assert float(r.grad_maps[-1]) < 1e-9
    np.testing.assert_allclose(np.asarray(ag.params), np.asarray(ista.params), atol=1e-8)
    F_star = min(float(ista.values[-1]), float(ag.values[-1]))

    def first_below(r, level):
        return int(np.argmax(np.asarray(r.values) - F_star <= level * abs(F_star)))

    # measured (ISTA, AG) steps to 1e-3 relative: SCAD (58, 32), MCP (51, 26); to 1e-6: SCAD
    # (137, 68), MCP (96, 67).  Near the solution both converge linearly (the support is
    # identified and F is locally strongly convex), and to 1e-10 they take about as long.
    assert 0 < first_below(ag, 1e-3) < 0.6 * first_below(ista, 1e-3)
    assert 0 < first_below(ag, 1e-6) < 0.8 * first_below(ista, 1e-6)
    assert np.array_equal(np.asarray(ag.params) != 0, x_nat != 0)  # the true support


def test_regression_float32_runs_and_decreases():
    A, b, _ = _sparse_problem(1, n=60, d=120, s=5)
    A32, b32 = jnp.asarray(A, jnp.float32), jnp.asarray(b, jnp.float32)
    lam = 0.1 * float(px.lasso_reg_max(A32, b32))
    out = px.nonconvex_regression(
        A32, b32, reg=lam, num_steps=600, penalty="mcp", acceleration="nonconvex_ag"
    )
    assert out.params.dtype == jnp.float32 and out.values.dtype == jnp.float32
    assert float(out.grad_maps[-1]) < 1e-4
    ista = px.nonconvex_regression(A32, b32, reg=lam, num_steps=600, penalty="mcp", acceleration="none")
    v = np.asarray(ista.values)
    assert np.all(np.diff(v) <= 1e-6 * abs(v[0]))


def test_nonconvex_ag_in_proximal_gradient_solves_the_lasso(x64):
    A, b, _ = _sparse_problem(2, n=80, d=40, s=5)
    lam = 0.1 * float(px.lasso_reg_max(A, b))
    ref = px.lasso(A, b, reg=lam, num_steps=3000, acceleration="restart")
    ag = px.lasso(A, b, reg=lam, num_steps=3000, acceleration="nonconvex_ag")
    assert float(px.lasso_duality_gap(A, b, ag.params, reg=lam)) < 1e-10
    np.testing.assert_allclose(np.asarray(ag.params), np.asarray(ref.params), atol=1e-7)


def test_sparse_regression_is_less_biased_than_lasso(x64):
    A, b, x_nat = _sparse_problem()
    lam = 0.1 * float(px.lasso_reg_max(A, b))
    sup = x_nat != 0
    lasso = np.asarray(px.lasso(A, b, reg=lam, num_steps=2000, acceleration="restart").params)
    for kind in ("scad", "mcp"):
        ours = np.asarray(px.nonconvex_regression(A, b, reg=lam, num_steps=2000, penalty=kind).params)
        shrink_l1 = np.mean(np.abs(x_nat[sup]) - np.abs(lasso[sup]))
        shrink_nc = np.mean(np.abs(x_nat[sup]) - np.abs(ours[sup]))
        assert shrink_l1 > 0.15 and abs(shrink_nc) < 0.5 * shrink_l1, (kind, shrink_l1, shrink_nc)


def test_compiles_once_per_shape():
    A, b, _ = _sparse_problem(4, n=30, d=50, s=3)
    A, b = jnp.asarray(A, jnp.float32), jnp.asarray(b, jnp.float32)
    px.nonconvex_regression(A, b, reg=0.1, num_steps=20)
    size = pen_module._nonconvex._cache_size()
    px.nonconvex_regression(2.0 * A, b + 1.0, reg=0.3, num_steps=20, a=4.0)
    assert pen_module._nonconvex._cache_size() == size
