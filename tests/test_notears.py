"""Tests for NOTEARS (optlab.constrained.structure_learning; Zheng et al. 2018): the
acyclicity function against scipy's matrix exponential and the power series, its gradient
against jax.grad of an independent implementation and finite differences, exact zeros on
DAGs, recovery of a random linear SEM, the dual step, and the SHD against a plain loop.

Float32 by default; float64 tests request the ``x64`` fixture and build arrays inside.
"""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import constrained as cs
from optlab.constrained import structure_learning as sl


def random_dag(d, rng, density=0.5, scale=(0.5, 2.0)):
    """A random weighted DAG: strictly lower triangular, then the nodes permuted."""
    B = np.tril(rng.random((d, d)) < density, -1)
    W = B * rng.uniform(*scale, (d, d)) * rng.choice([-1.0, 1.0], (d, d))
    p = rng.permutation(d)
    return W[np.ix_(p, p)]


def simulate_sem(d, n, seed, degree=2.0):
    """Linear Gaussian SEM X = XW + Z, Z ~ N(0, I), on a random DAG with ~degree·d/2 edges."""
    rng = np.random.default_rng(seed)
    W = random_dag(d, rng, density=degree / (d - 1))
    X = rng.normal(size=(n, d)) @ np.linalg.inv(np.eye(d) - W)
    return W, X


def h_scipy(W):
    W = np.asarray(W, dtype=np.float64)
    return float(np.trace(scipy.linalg.expm(W * W)) - W.shape[0])


def h_series(W, terms=80):
    """Σ_{k≥1} tr(Aᵏ)/k!, A = W∘W (closed walks of length k, weighted)."""
    A = np.asarray(W, dtype=np.float64) ** 2
    total, P = 0.0, np.eye(A.shape[0])
    for k in range(1, terms):
        P = P @ A / k
        total += np.trace(P)
    return total


@pytest.mark.parametrize("d", [2, 5, 10, 20])
def test_h_is_exactly_zero_on_dags(d, x64):
    rng = np.random.default_rng(d)
    for _ in range(5):
        W = random_dag(d, rng, density=0.7, scale=(0.5, 3.0))
        assert float(cs.acyclicity(jnp.asarray(W))) == 0.0
        assert float(cs.acyclicity(jnp.asarray(W, jnp.float32))) == 0.0
        # the gradient of h at a DAG has the reversed pattern only: no gradient on existing edges
        G = np.asarray(cs.acyclicity_grad(jnp.asarray(W)))
        assert np.all(G[W != 0] == 0.0)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([4, 9]), st.integers(0, 10_000), st.floats(0.05, 2.0))
def test_h_positive_iff_cycle(d, seed, w):
    rng = np.random.default_rng(seed)
    p = rng.permutation(d)
    W = np.zeros((d, d))
    for i in range(d - 1):  # a path p0 → p1 → … → p_{d-1}: a DAG
        W[p[i], p[i + 1]] = w
    assert float(cs.acyclicity(jnp.asarray(W, jnp.float32))) == 0.0
    k = int(rng.integers(1, d))
    W[p[k], p[0]] = w  # close a cycle of length k + 1: h ≥ (k+1) w^{2(k+1)}/(k+1)! > 0
    h = float(cs.acyclicity(jnp.asarray(W, jnp.float32)))
    lower = (k + 1) * w ** (2 * (k + 1)) / math.factorial(k + 1)
    assert h >= 0.99 * lower > 0 or (lower < 1e-30 and h >= 0.0)
    assert h == pytest.approx(h_series(W), rel=1e-5, abs=1e-37)


def test_h_matches_scipy_expm_and_power_series(x64):
    rng = np.random.default_rng(0)
    for d, s in [(3, 0.1), (5, 0.5), (8, 1.0), (10, 2.0), (6, 5.0)]:
        W = rng.normal(size=(d, d)) * s
        ref = h_scipy(W)
        assert float(cs.acyclicity(jnp.asarray(W))) == pytest.approx(ref, rel=1e-12)
        if s <= 1.0:
            assert h_series(W) == pytest.approx(ref, rel=1e-12)
        # float32 (where it does not overflow): relative to the size of h
        if ref < 1e30:
            assert float(cs.acyclicity(jnp.asarray(W, jnp.float32))) == pytest.approx(ref, rel=2e-5)
    # a nearly acyclic W: h ~ 1e-9 is resolved in float32, not lost in tr exp(A) − d ≈ d
    W = np.zeros((6, 6))
    W[0, 1] = W[1, 2] = 1.0
    W[2, 0] = 1e-3
    ref = h_series(W)
    assert 1e-7 < ref < 1e-5
    assert float(cs.acyclicity(jnp.asarray(W, jnp.float32))) == pytest.approx(ref, rel=1e-5)


def test_gradient_matches_jax_grad_and_finite_differences(x64):
    rng = np.random.default_rng(1)
    h_ref = jax.grad(lambda W: jnp.trace(jax.scipy.linalg.expm(W * W)) - W.shape[0])
    for d in (3, 6):
        W = jnp.asarray(rng.normal(size=(d, d)) * 0.7)
        G = np.asarray(cs.acyclicity_grad(W))
        np.testing.assert_allclose(G, np.asarray(h_ref(W)), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(np.asarray(jax.grad(cs.acyclicity)(W)), G, rtol=1e-12, atol=1e-14)
        # closed form, written out: exp(W∘W)ᵀ ∘ 2W
        np.testing.assert_allclose(G, scipy.linalg.expm(np.asarray(W) ** 2).T * 2 * np.asarray(W), rtol=1e-12)
        eps, Wn = 1e-6, np.asarray(W)
        fd = np.zeros((d, d))
        for i in range(d):
            for j in range(d):
                E = np.zeros((d, d))
                E[i, j] = eps
                fd[i, j] = (h_scipy(Wn + E) - h_scipy(Wn - E)) / (2 * eps)
        np.testing.assert_allclose(G, fd, rtol=1e-6, atol=1e-7)
        # the Hessian (used by the Newton subproblem solver) is symmetric and matches
        # finite differences of the closed-form gradient
        H = np.asarray(jax.hessian(cs.acyclicity)(W)).reshape(d * d, d * d)
        np.testing.assert_allclose(H, H.T, atol=1e-9 * np.abs(H).max())
        E = np.zeros((d, d))
        E[0, 1] = eps
        col = (np.asarray(cs.acyclicity_grad(W + E)) - np.asarray(cs.acyclicity_grad(W - E))) / (2 * eps)
        np.testing.assert_allclose(H[:, 1], col.ravel(), rtol=1e-5, atol=1e-6)


def test_gradient_float32():
    rng = np.random.default_rng(2)
    W = rng.normal(size=(7, 7)) * 0.6
    G32 = np.asarray(cs.acyclicity_grad(jnp.asarray(W, jnp.float32)))
    assert G32.dtype == np.float32
    ref = scipy.linalg.expm(W**2).T * 2 * W
    np.testing.assert_allclose(G32, ref, rtol=2e-5, atol=2e-6)
    # the gradient at W = 0 is zero and finite (no NaN from the norm-based scaling)
    assert np.all(np.asarray(jax.grad(cs.acyclicity)(jnp.zeros((4, 4)))) == 0.0)
    assert np.all(np.isfinite(np.asarray(jax.hessian(cs.acyclicity)(jnp.zeros((3, 3))))))


def shd_reference(A, B):
    """SHD written as a loop over node pairs: missing, extra and reversed edges count once."""
    A, B = np.asarray(A) != 0, np.asarray(B) != 0
    d, total = A.shape[0], 0
    for i in range(d):
        if A[i, i] != B[i, i]:
            total += 1
        for j in range(i + 1, d):
            if (A[i, j], A[j, i]) != (B[i, j], B[j, i]):
                total += 1
    return total


def test_structural_hamming_distance():
    T = np.zeros((4, 4))
    T[0, 1] = T[1, 2] = T[2, 3] = 1.0
    assert cs.structural_hamming_distance(T, T) == 0
    R = T.copy()
    R[0, 1], R[1, 0] = 0.0, 1.0  # reversed edge: 1
    assert cs.structural_hamming_distance(R, T) == 1
    M = T.copy()
    M[2, 3] = 0.0  # missing edge: 1
    M[0, 3] = 2.0  # extra edge: 1
    assert cs.structural_hamming_distance(M, T) == 2
    rng = np.random.default_rng(3)
    for _ in range(50):
        A, B = rng.random((6, 6)) < 0.3, rng.random((6, 6)) < 0.3
        assert cs.structural_hamming_distance(A, B) == shd_reference(A, B)


@pytest.mark.parametrize(("d", "seed"), [(5, 0), (8, 1), (10, 1)])
def test_notears_recovers_a_random_linear_sem(d, seed):
    W_true, X = simulate_sem(d, 1000, seed)
    out = cs.notears(X, num_steps=40)
    W = np.asarray(out.params)
    assert W.dtype == np.float32
    assert bool(out.converged) and float(out.violations[-1]) <= 1e-8
    assert float(cs.acyclicity(out.params)) <= 1e-8
    assert np.all(np.diag(W) == 0.0)
    assert cs.structural_hamming_distance(np.abs(W) > 0.3, W_true) == 0
    # the weights: ordinary least squares on the true parents has error ~ 1/√N; measured ≤ 0.2
    assert np.max(np.abs(np.where(np.abs(W) > 0.3, W, 0.0) - W_true)) < 0.25
    # h decreases along the accepted iterates; ρ never decreases
    hs, rhos = np.asarray(out.violations), np.asarray(out.rhos)
    assert np.all(np.diff(hs) <= 0.0) and np.all(np.diff(rhos) >= 0.0)


def test_notears_float64_and_the_augmented_lagrangian_steps(x64):
    W_true, X = simulate_sem(8, 1000, 1)
    out = cs.notears(X, num_steps=40)
    W = np.asarray(out.params)
    assert W.dtype == np.float64
    assert bool(out.converged) and cs.structural_hamming_distance(np.abs(W) > 0.3, W_true) == 0
    hs, rhos, alphas, ok = (np.asarray(a) for a in (out.violations, out.rhos, out.alphas, out.accepted))
    k = int(out.n_iters)
    assert 5 < k < 40 and np.all(~ok[k:])
    # dual ascent: α_k = α_{k-1} + ρ_k h(W_k) on accepted steps, unchanged otherwise
    prev_alpha = np.concatenate([[0.0], alphas[:-1]])
    np.testing.assert_allclose(alphas[:k][ok[:k]], (prev_alpha + rhos * hs)[:k][ok[:k]], rtol=1e-12)
    np.testing.assert_array_equal(alphas[:k][~ok[:k]], prev_alpha[:k][~ok[:k]])
    # progress rule: accepted steps shrink h to a quarter of the last accepted value; ρ × 10 otherwise
    last_h = np.inf
    for j in range(k):
        if ok[j]:
            assert hs[j] <= 0.25 * last_h
            last_h = hs[j]
        else:
            assert rhos[j] == pytest.approx(10 * (rhos[j - 1] if j else 1.0))
    # the estimate fits at least as well as least squares on the true parents (the maximum
    # likelihood of the true graph; NOTEARS keeps small extra weights below the threshold),
    # and worse than regressing each variable on all others (a cyclic fit)
    Xc = X - X.mean(0)
    ols_parents = ols_all = 0.0
    for j in range(8):
        for cols, acc in (([i for i in range(8) if W_true[i, j] != 0], "p"), ([i for i in range(8) if i != j], "a")):
            coef = np.linalg.lstsq(Xc[:, cols], Xc[:, j], rcond=None)[0] if cols else np.zeros(0)
            r = 0.5 * np.mean((Xc[:, j] - Xc[:, cols] @ coef) ** 2)
            ols_parents, ols_all = (ols_parents + r, ols_all) if acc == "p" else (ols_parents, ols_all + r)
    loss = float(out.losses[k - 1])
    assert ols_parents - 0.05 < loss <= ols_parents
    assert ols_all < loss


def test_l1_weight_sparsifies(x64):
    W_true, X = simulate_sem(8, 1000, 2)  # the shape of the float64 test above: compiled once
    dense = cs.notears(X, num_steps=40)
    sparse = cs.notears(X, l1_weight=0.1, num_steps=40)
    assert bool(sparse.converged)
    small = lambda W: np.sum(np.abs(np.asarray(W)) < 0.05)  # noqa: E731
    assert small(sparse.params) > small(dense.params)
    assert np.sum(np.abs(np.asarray(sparse.params))) < np.sum(np.abs(np.asarray(dense.params)))
    assert cs.structural_hamming_distance(np.abs(np.asarray(sparse.params)) > 0.3, W_true) == 0


def test_notears_compiles_once_per_shape():
    _, X1 = simulate_sem(5, 200, 5)
    _, X2 = simulate_sem(5, 300, 6)  # another N: the data enter through the d × d Gram matrix
    cs.notears(X1, num_steps=10)
    size = sl._notears_path._cache_size()
    t0 = time.perf_counter()
    cs.notears(X2, num_steps=10, l1_weight=0.05, tol=1e-6).params.block_until_ready()
    assert sl._notears_path._cache_size() == size
    print(f"warm call {1e3 * (time.perf_counter() - t0):.0f} ms")


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: cs.acyclicity(jnp.ones((2, 3))), ValueError, "W must be a square"),
        (lambda: cs.acyclicity(jnp.ones(3)), ValueError, "W"),
        (lambda: cs.acyclicity("W"), TypeError, "W"),
        (lambda: cs.acyclicity_grad(jnp.array([[0.0, np.nan], [0.0, 0.0]])), ValueError, "W"),
        (lambda: cs.notears(np.ones((1, 3))), ValueError, "at least 2 samples"),
        (lambda: cs.notears(np.ones((5, 1))), ValueError, "at least 2 variables"),
        (lambda: cs.notears(np.ones((5, 3)), l1_weight=-0.1), ValueError, "l1_weight"),
        (lambda: cs.notears(np.ones((5, 3)), num_steps=0), ValueError, "num_steps"),
        (lambda: cs.notears(np.ones((5, 3)), rho_max=0.0), ValueError, "rho_max"),
        (lambda: cs.structural_hamming_distance(np.eye(3), np.eye(4)), ValueError, "same shape"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
