"""Tests for the topological-swaps search (optlab.constrained.structure_learning; Deng, Bello,
Aragam & Ravikumar 2023): the fit to an order against numpy least squares and scikit-learn's
lasso, the score against a numpy formula, the search against a brute force over all orders of
a small model, the candidate ranking against scipy's matrix exponential, and bad inputs.

Float32 by default; float64 tests request the ``x64`` fixture and build arrays inside.
"""

import itertools
import time

import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso

from optlab import constrained as cs
from optlab.constrained import structure_learning as sl


def simulate_sem(d, n, seed, degree=2.0):
    """Linear Gaussian SEM X = XW + Z on a random DAG (the chapter's generator)."""
    r = np.random.default_rng(seed)
    B = np.tril(r.random((d, d)) < degree / (d - 1), -1)
    W = B * r.uniform(0.5, 2.0, (d, d)) * r.choice([-1.0, 1.0], (d, d))
    p = r.permutation(d)
    W = W[np.ix_(p, p)]
    return W, r.normal(size=(n, d)) @ np.linalg.inv(np.eye(d) - W)


def fit_reference(X, order, lam=0.0):
    """W_π by numpy least squares (λ = 0) or scikit-learn's Lasso (same ½N⁻¹ scaling), node by node."""
    Xc = np.asarray(X, np.float64) - np.mean(X, axis=0)
    d = Xc.shape[1]
    W = np.zeros((d, d))
    for k in range(1, d):
        j, parents = order[k], list(order[:k])
        if lam == 0:
            W[parents, j] = np.linalg.lstsq(Xc[:, parents], Xc[:, j], rcond=None)[0]
        else:
            reg = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(Xc[:, parents], Xc[:, j])
            W[parents, j] = reg.coef_
    return W


def score_reference(X, W, lam=0.0):
    Xc = np.asarray(X, np.float64) - np.mean(X, axis=0)
    return 0.5 * np.sum((Xc - Xc @ W) ** 2) / Xc.shape[0] + lam * np.sum(np.abs(W))


def swap(order, i, j):
    o = list(order)
    a, b = o.index(i), o.index(j)
    o[a], o[b] = j, i
    return o


@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_fit_to_order_matches_least_squares_and_lasso_float64(lam, x64):
    _, X = simulate_sem(6, 500, 3)
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(6)
        W = np.asarray(cs.fit_to_order(X, order, l1_weight=lam))
        assert W.dtype == np.float64
        ref = fit_reference(X, list(order), lam)
        np.testing.assert_allclose(W, ref, atol=1e-8 if lam == 0 else 1e-6)
        # exact zeros off the allowed pattern: a DAG compatible with the order
        pos = np.argsort(order)
        assert np.all(W[pos[:, None] >= pos[None, :]] == 0.0)
        assert float(cs.acyclicity(W)) == 0.0
        assert float(cs.structure_score(X, W, l1_weight=lam)) == pytest.approx(score_reference(X, W, lam), rel=1e-12)


@pytest.mark.parametrize("lam", [0.0, 0.1])
def test_fit_to_order_float32(lam):
    _, X = simulate_sem(6, 500, 4)
    order = np.random.default_rng(1).permutation(6)
    W = np.asarray(cs.fit_to_order(X.astype(np.float32), order, l1_weight=lam))
    assert W.dtype == np.float32
    ref = fit_reference(X, list(order), lam)
    # float32 Gram solves: relative to the weights' size (≤ 3 here); measured ≤ 2e-5
    np.testing.assert_allclose(W, ref, atol=2e-4 * max(1.0, np.abs(ref).max()))
    F = float(cs.structure_score(X.astype(np.float32), W, l1_weight=lam))
    assert F == pytest.approx(score_reference(X, ref, lam), rel=1e-4)


def test_lasso_optimality_conditions(x64):
    """KKT of each column's lasso: |G_kj − (Gw)_k| ≤ λ off the support, = λ sign(w_k) on it."""
    _, X = simulate_sem(7, 400, 5)
    Xc = X - X.mean(0)
    G = Xc.T @ Xc / len(X)
    order = np.arange(7)
    for lam in (0.05, 0.3):
        W = np.asarray(cs.fit_to_order(X, order, l1_weight=lam))
        assert np.sum(W != 0) < 21  # the ℓ1 term sets some allowed weights exactly to 0
        for k in range(1, 7):
            j, par = order[k], order[:k]
            corr = G[par, j] - G[np.ix_(par, par)] @ W[par, j]
            on = W[par, j] != 0
            np.testing.assert_allclose(corr[on], lam * np.sign(W[par, j][on]), atol=1e-9)
            assert np.all(np.abs(corr[~on]) <= lam + 1e-9)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 0.05]))
def test_fit_is_the_best_dag_compatible_with_the_order(seed, lam):
    """Any DAG compatible with π scores at least F(W_π) (the inner problem is solved exactly)."""
    _, X = simulate_sem(5, 300, seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(5)
    W = np.asarray(cs.fit_to_order(X, order, l1_weight=lam))
    F = float(cs.structure_score(X, W, l1_weight=lam))
    pos = np.argsort(order)
    allowed = pos[:, None] < pos[None, :]
    for _ in range(5):
        V = W + allowed * rng.normal(scale=0.05, size=(5, 5))
        assert float(cs.structure_score(X, V, l1_weight=lam)) >= F - 1e-5 * abs(F)


def test_topological_order():
    rng = np.random.default_rng(7)
    for _ in range(20):
        W, _ = simulate_sem(9, 5, int(rng.integers(1 << 30)))
        o = cs.topological_order(W)
        assert sorted(o.tolist()) == list(range(9))
        pos = np.argsort(o)
        i, j = np.nonzero(W)
        assert np.all(pos[i] < pos[j])
    C = np.zeros((3, 3))
    C[0, 1] = C[1, 2] = C[2, 0] = 1.0
    with pytest.raises(ValueError, match="cycle"):
        cs.topological_order(C)


@pytest.mark.parametrize(("d", "seed", "lam"), [(4, 0, 0.0), (4, 1, 0.1), (5, 2, 0.0), (5, 3, 0.1)])
def test_search_against_brute_force_over_all_orders(d, seed, lam, x64):
    """Brute force: F(W_π) for every order π (numpy / scikit-learn fits). The search ends at an
    order that no pair swap improves (checked on the brute-force table), never below the global
    minimum, and from the best of several starts it reaches the global minimum."""
    _, X = simulate_sem(d, 300, seed)
    table = {p: score_reference(X, fit_reference(X, list(p), lam), lam) for p in itertools.permutations(range(d))}
    best = min(table.values())
    rng = np.random.default_rng(seed)
    finals = []
    for _ in range(4):
        start = rng.permutation(d)
        out = cs.topo_swaps(X, start, l1_weight=lam, tol=1e-9)
        o = tuple(int(v) for v in out.orders[-1])
        vals = np.asarray(out.values)
        assert bool(out.converged)
        assert vals[0] == pytest.approx(table[tuple(int(v) for v in start)], rel=1e-7)
        assert vals[-1] == pytest.approx(table[o], rel=1e-7)
        assert np.all(np.diff(vals) < 0)  # strictly decreasing
        assert vals[-1] >= best - 1e-9 * best
        # a local minimum over all pair swaps (the brute-force table, not the library)
        for i, j in itertools.combinations(range(d), 2):
            assert table[tuple(swap(o, i, j))] >= table[o] * (1 - 1e-7)
        # each iterate is the fit to its order, and each order differs from the last by the recorded swap
        K = int(out.n_iters)
        assert out.iterates.shape == (K + 1, d, d) and out.swaps.shape == (K, 2)
        for k in range(K):
            i, j = (int(v) for v in out.swaps[k])
            assert swap([int(v) for v in out.orders[k]], i, j) == [int(v) for v in out.orders[k + 1]]
            assert np.argsort(np.asarray(out.orders[k]))[i] > np.argsort(np.asarray(out.orders[k]))[j]
        np.testing.assert_allclose(out.params, fit_reference(X, list(o), lam), atol=1e-6)
        finals.append(vals[-1])
    assert min(finals) == pytest.approx(best, rel=1e-7)


def test_candidates_are_ranked_by_the_walks_that_the_edge_would_close(x64):
    """With one candidate, the first try is the forbidden pair (i, j) with the smallest
    (e^{W∘W})_ji (scipy's expm); accepted if it improves, otherwise every pair is tried."""
    _, X = simulate_sem(6, 400, 8)
    for start in (np.arange(6), np.arange(6)[::-1].copy(), np.array([2, 0, 5, 1, 4, 3])):
        W0 = np.asarray(cs.fit_to_order(X, start))
        E = scipy.linalg.expm(W0 * W0)
        pos = np.argsort(start)
        pairs = [(i, j) for i in range(6) for j in range(6) if pos[i] > pos[j]]
        i0, j0 = min(pairs, key=lambda p: (E[p[1], p[0]], p[0], p[1]))
        F0 = score_reference(X, W0)
        F_first = score_reference(X, fit_reference(X, swap(list(start), i0, j0)))
        out = cs.topo_swaps(X, start, num_candidates=1, num_steps=1)
        ev = int(out.evaluations[0])
        if F_first < F0 * (1 - 1e-6):
            assert ev == 1 and tuple(int(v) for v in out.swaps[0]) == (i0, j0)
        else:
            assert ev == 15  # the small set failed: all d(d−1)/2 pairs scored
    # a cap on the swaps: not converged
    out = cs.topo_swaps(X, np.arange(6)[::-1].copy(), num_steps=1)
    assert int(out.n_iters) == 1 and not bool(out.converged)


def test_search_recovers_the_chapter_model_from_notears():
    """On the chapter's 8-node model (λ = 0.1), NOTEARS' thresholded DAG scores no better than
    the fit to its order, and the search ends no higher, with the true graph (float32). Whether
    NOTEARS itself already has the true graph depends on float32 rounding near the threshold: one
    environment gave SHD 1 (score 5.057, which the swaps lowered to 4.842), the current one gives
    SHD 0 (4.842). Both branches are checked, and the start matters: from the reversed order the
    search stops at a worse local minimum (measured 5.48, SHD 4)."""
    W_true, X = simulate_sem(8, 1000, 13)
    nt = cs.notears(X, l1_weight=0.1, num_steps=40)
    B = np.abs(np.asarray(nt.params)) > 0.3
    F_nt = float(cs.structure_score(X, np.where(B, np.asarray(nt.params), 0.0), l1_weight=0.1))
    order = cs.topological_order(B)
    out = cs.topo_swaps(X, order, l1_weight=0.1)
    vals = np.asarray(out.values)
    assert out.params.dtype == jnp.float32
    assert vals[0] <= F_nt + 1e-5 * F_nt and vals[-1] <= vals[0]
    assert cs.structural_hamming_distance(np.abs(np.asarray(out.params)) > 0.3, W_true) == 0
    if cs.structural_hamming_distance(B, W_true) > 0:
        assert vals[-1] < F_nt - 0.1  # the swaps repair NOTEARS' graph
    else:
        assert vals[-1] >= F_nt * (1 - 1e-3)  # NOTEARS' graph was the best: nothing to repair
    reversed_start = cs.topo_swaps(X, np.asarray(order)[::-1].copy(), l1_weight=0.1)
    assert float(reversed_start.values[-1]) > vals[-1] + 0.1


def test_compiles_once_per_shape():
    _, X1 = simulate_sem(6, 200, 5)
    _, X2 = simulate_sem(6, 300, 6)
    cs.topo_swaps(X1, np.arange(6))
    size = sl._fit_orders._cache_size()
    t0 = time.perf_counter()
    cs.topo_swaps(X2, np.arange(6)[::-1].copy(), num_candidates=3)
    cs.fit_to_order(X2, np.arange(6))
    assert sl._fit_orders._cache_size() == size
    print(f"warm search {1e3 * (time.perf_counter() - t0):.0f} ms")


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: cs.fit_to_order(np.ones((5, 3)), [0, 1]), ValueError, "order must have shape"),
        (lambda: cs.fit_to_order(np.ones((5, 3)), [0, 1, 1]), ValueError, "order must be a permutation"),
        (lambda: cs.fit_to_order(np.ones((5, 3)), [0.0, 1.0, 2.0]), TypeError, "order"),
        (lambda: cs.fit_to_order(np.ones((5, 3)), "012"), TypeError, "order"),
        (lambda: cs.fit_to_order(np.ones((1, 3)), [0, 1, 2]), ValueError, "at least 2 samples"),
        (lambda: cs.fit_to_order(np.ones((5, 3)), [0, 1, 2], l1_weight=-1.0), ValueError, "l1_weight"),
        (lambda: cs.fit_to_order(np.ones((5, 3)), [0, 1, 2], lasso_num_steps=0), ValueError, "lasso_num_steps"),
        (lambda: cs.structure_score(np.ones((5, 3)), np.eye(2)), ValueError, "W must be"),
        (lambda: cs.structure_score(np.ones((5, 3)), np.eye(3), l1_weight=-0.1), ValueError, "l1_weight"),
        (lambda: cs.topological_order(np.ones((2, 3))), ValueError, "B must be a square"),
        (lambda: cs.topological_order(np.eye(2)), ValueError, "cycle"),
        (lambda: cs.topo_swaps(np.ones((5, 3)), [0, 1, 2], num_candidates=4), ValueError, "num_candidates"),
        (lambda: cs.topo_swaps(np.ones((5, 3)), [0, 1, 2], num_candidates=0), ValueError, "num_candidates"),
        (lambda: cs.topo_swaps(np.ones((5, 3)), [0, 1, 2], num_steps=0), ValueError, "num_steps"),
        (lambda: cs.topo_swaps(np.ones((5, 3)), [0, 1, 2], tol=-1.0), ValueError, "tol"),
        (lambda: cs.topo_swaps(np.ones((5, 3)), None), TypeError, "order"),
        (lambda: cs.topo_swaps("X", [0, 1, 2]), TypeError, "X"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_fit_to_order_batches_equal_single_fits(x64):
    """A (K, d) stack of orders (K above the d(d−1)/2 chunk, so two chunks) fits as one by one."""
    _, X = simulate_sem(4, 200, 9)
    orders = np.array(list(itertools.permutations(range(4)))[:9])  # 9 > 6 = d(d−1)/2
    Ws = np.asarray(cs.fit_to_order(X, orders, l1_weight=0.05))
    assert Ws.shape == (9, 4, 4)
    for o, W in zip(orders, Ws, strict=True):
        np.testing.assert_array_equal(W, np.asarray(cs.fit_to_order(X, o, l1_weight=0.05)))
        np.testing.assert_allclose(W, fit_reference(X, list(o), 0.05), atol=1e-6)
    with pytest.raises(ValueError, match="permutation"):
        cs.fit_to_order(X, np.array([[0, 1, 2, 3], [0, 0, 1, 2]]))
