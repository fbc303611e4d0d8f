"""optlab.linear_solvers against independent references: dense solves, eigenvalues of the
SOR iteration matrix (numpy), Young's closed forms for consistently ordered matrices."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import linear_solvers as ls

SETTINGS = settings(max_examples=20, deadline=None)


@pytest.fixture(params=["float32", "float64"])
def prec(request):
    """Run an exactness check in the readers' float32 and again in float64."""
    if request.param == "float64":
        with jax.enable_x64(True):
            yield "float64"
    else:
        yield "float32"


def tol(prec, f64, f32=5e-6):
    """float64 tolerance, or the float32 one (measured errors <= 1e-6 on O(1) values)."""
    return f64 if prec == "float64" else f32


# ---------------------------------------------------------------- SOR

def test_sor_solves_and_jacobi_radius_closed_form(prec):
    n = 12
    A = np.asarray(ls.laplacian_1d(n), np.float64) + 0.3 * np.eye(n)
    b = np.random.default_rng(14).normal(size=n)
    # float32: tolerance 1e-5 (above the ~1e-7 κ(A) residual floor); float64: 1e-12
    out = ls.sor(A, b, 1.4, tol=tol(prec, 1e-12, 1e-5), num_steps=2000)
    assert bool(out.converged)
    x = np.linalg.solve(A, b)
    np.testing.assert_allclose(out.params, x, atol=tol(prec, 1e-10, 1e-4) * np.abs(x).max())
    np.testing.assert_allclose(ls.jacobi_radius(A), 2 * np.cos(np.pi / (n + 1)) / 2.3,
                               atol=tol(prec, 1e-12, 1e-6))


def test_sor_compiles_once_and_stops_at_the_tolerance_in_float32():
    """The solver is jitted at module level (second call: no new trace) and, with full
    precision products, reaches tol = 1e-4 well before num_steps (TF32 would stall it)."""
    n = 30
    A = ls.laplacian_1d(n) + 0.05 * jnp.eye(n)
    b1, b2 = jax.random.normal(jax.random.key(0), (2, n))
    t0 = time.perf_counter()
    r1 = ls.sor(A, b1, 1.7, num_steps=300)
    r1.params.block_until_ready()
    cold = time.perf_counter() - t0
    size = ls._sor._cache_size()
    t0 = time.perf_counter()
    r2 = ls.sor(A, b2, 1.75, num_steps=300)
    r2.params.block_until_ready()
    warm = time.perf_counter() - t0
    assert ls._sor._cache_size() == size
    for r in (r1, r2):
        assert bool(r.converged) and int(r.n_iters) < 300 and float(r.residual) <= 1e-4


@SETTINGS
@given(omega=st.floats(0.05, 1.95), shift=st.floats(0.0, 1.0))
def test_young_formula_matches_eigenvalues(omega, shift):
    # An identity checked to 1e-6: in float64 (in float32 the Jacobi radius alone is off by
    # ~1e-7 and the square-root behaviour near omega* amplifies it past 1e-6).
    with jax.enable_x64(True):
        n = 10
        A = np.asarray(ls.laplacian_1d(n)) + shift * np.eye(n)
        D, Lo, Up = np.diag(np.diag(A)), np.tril(A, -1), np.triu(A, 1)
        M = np.linalg.solve(D + omega * Lo, (1 - omega) * D - omega * Up)
        rho_ref = np.max(np.abs(np.linalg.eigvals(M)))
        rho = float(ls.sor_spectral_radius(omega, float(ls.jacobi_radius(A))))
        near = abs(omega - float(ls.young_omega(ls.jacobi_radius(A)))) < 0.05
    # M is defective near omega*: its eigenvalues are computed to ~sqrt(machine eps)
    assert abs(rho - rho_ref) < 1e-6 + 1e-4 * near


def test_young_omega_minimises_the_sor_radius():
    mu = 0.97
    ws = np.linspace(0.05, 1.95, 2001)
    rho = np.asarray(ls.sor_spectral_radius(ws, mu))
    assert abs(ws[np.argmin(rho)] - float(ls.young_omega(mu))) < 1e-3
    np.testing.assert_allclose(ls.sor_spectral_radius(1.0, mu), mu ** 2, atol=1e-12)  # Gauss-Seidel


def test_sor_cost_table(prec):
    om = jnp.linspace(1.0, 1.9, 6)
    tl = tol(prec, 1e-8, 1e-4)
    seq = ls.sor_cost_table(16, 5, om, key=jax.random.key(6), tol=tl, num_steps=400)
    assert seq.n_iters.shape == (5, 6) and seq.costs.shape == (5, 6)
    assert np.all((np.asarray(seq.costs) >= 0) & (np.asarray(seq.costs) <= 1))
    for t in range(5):
        A = np.asarray(ls.laplacian_1d(16)) + float(seq.shifts[t]) * np.eye(16)
        np.testing.assert_allclose(seq.rho_jacobi[t], ls.jacobi_radius(A), atol=tol(prec, 1e-12, 1e-6))
        # Young's omega* needs no more iterations than the best grid value, up to a few
        assert int(seq.n_iters_star[t]) <= int(np.min(np.asarray(seq.n_iters[t]))) + 3
        # iterations roughly log(tol)/log(rho(M_omega)) at the grid's omegas
        pred = np.log(tl) / np.log(np.asarray(ls.sor_spectral_radius(om, seq.rho_jacobi[t])))
        ratio = np.asarray(seq.n_iters[t]) / pred
        assert np.all((ratio > 0.5) & (ratio < 2.0)), ratio


def test_sor_result_protocol():
    A = np.asarray(ls.laplacian_1d(6)) + np.eye(6)
    out = ls.sor(A, np.ones(6), 1.2, num_steps=3, tol=1e-12)
    assert out.params.shape == (6,)
    assert int(out.n_iters) == 3 and not bool(out.converged)


# ---------------------------------------------------------------- errors

def test_errors():
    with pytest.raises(ValueError, match="omega must lie in"):
        ls.sor(np.eye(3), np.ones(3), 2.0)
    with pytest.raises(ValueError, match="A must be a non-empty square"):
        ls.sor(np.ones((3, 2)), np.ones(3), 1.0)
    with pytest.raises(ValueError, match="num_steps must be at least 1"):
        ls.sor(np.eye(3), np.ones(3), 1.0, num_steps=0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        ls.sor_cost_table(4, 2, [1.0], key=0)
    with pytest.raises(ValueError, match="rho_jacobi must lie in"):
        ls.young_omega(1.0)
