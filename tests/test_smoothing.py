"""Tests for optlab.smoothing against scipy.stats quantiles, closed forms and the exact
distance to a linear classifier's decision boundary; all in float32 (the readers' dtype)
except the NumPy/SciPy bounds, which are float64 by construction."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from optlab import smoothing as sm


def _linear(W):
    W = jnp.asarray(W, jnp.float32)
    return lambda x: W @ x  # noqa: E731


def _boundary_distance(W, X):
    """Exact ℓ2 distance from each row of X to the decision boundary of argmax(W x)."""
    W, X = np.asarray(W, float), np.asarray(X, float)
    z = X @ W.T
    y = z.argmax(1)
    out = np.full(len(X), np.inf)
    for c in range(W.shape[0]):
        diff = W[y] - W[c]  # (B, d)
        nrm = np.linalg.norm(diff, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.where(nrm > 0, np.einsum("bd,bd->b", diff, X) / nrm, np.inf)
        out = np.where(y != c, np.minimum(out, dist), out)
    return out, y


def test_clopper_pearson_against_scipy_and_closed_forms():
    k, n, a = np.array([0, 3, 50, 100]), 100, 0.01
    got = sm.clopper_pearson_lower(k, n, a)
    assert got[0] == 0.0
    np.testing.assert_allclose(got[1:], stats.beta.ppf(a, k[1:], n - k[1:] + 1), rtol=1e-12)
    np.testing.assert_allclose(got[3], a ** (1 / n), rtol=1e-12)  # Beta(n, 1) quantile is α^{1/n}
    # coverage: P(p̲ > p) ≤ α, by the exact binomial sum
    p = 0.7
    ks = np.arange(n + 1)
    low = sm.clopper_pearson_lower(ks, n, 0.05)
    assert stats.binom.pmf(ks, n, p)[low > p].sum() <= 0.05
    # lists, integer and float32 arrays give the same answer
    np.testing.assert_array_equal(sm.clopper_pearson_lower([3, 50], [100, 100], a),
                                  sm.clopper_pearson_lower(jnp.array([3.0, 50.0]), 100, a))


def test_hoeffding_and_bernstein_closed_forms_and_coverage():
    np.testing.assert_allclose(sm.hoeffding_lower(0.9, 200, 0.05), 0.9 - np.sqrt(np.log(20) / 400),
                               rtol=1e-12)
    lg = np.log(2 / 0.05)
    np.testing.assert_allclose(sm.empirical_bernstein_lower(0.9, 0.01, 200, 0.05),
                               0.9 - np.sqrt(0.02 * lg / 200) - 7 * lg / (3 * 199), rtol=1e-12)
    rng = np.random.default_rng(0)
    X = rng.beta(8, 2, size=(4000, 300))  # mean 0.8, variance 0.0145
    m, v = X.mean(1), X.var(1, ddof=1)
    for low in (sm.hoeffding_lower(m, 300, 0.05), sm.empirical_bernstein_lower(m, v, 300, 0.05)):
        assert np.mean(low > 0.8) <= 0.05
    assert np.mean(sm.empirical_bernstein_lower(m, v, 300, 0.05) > sm.hoeffding_lower(m, 300, 0.05)) > 0.99


def test_smoothed_radius_closed_form():
    np.testing.assert_allclose(sm.smoothed_radius(0.975, 0.5), 0.5 * stats.norm.ppf(0.975), rtol=1e-12)
    assert sm.smoothed_radius(0.4, 1.0) == 0.0
    assert sm.smoothed_radius(0.5, 1.0) == 0.0  # abstain at exactly 1/2
    assert np.isinf(sm.smoothed_radius(1.0, 1.0))


def test_certify_on_a_linear_classifier_float32():
    # logits (w·x, 0): P(class 0) = Φ(w·x/(σ‖w‖)), so the smoothed radius is the distance w·x/‖w‖
    fn = _linear([[1.0, 0.0], [0.0, 0.0]])
    X = jnp.array([[1.0, 0.0], [0.3, 2.0]], jnp.float32)
    c = sm.certify(fn, X, 0.5, key=jax.random.key(0), n=20000, alpha=0.001)
    assert np.all(c.prediction == 0)
    assert np.all(c.radius <= np.array([1.0, 0.3]))  # never above the true distance
    # with n = 20000 and α = 1e-3 the bound sits ~3.1 σ_p̂ below p̂: radius loss ≲ 0.07 here
    np.testing.assert_allclose(c.radius, [1.0, 0.3], atol=0.08)
    for method in ("hoeffding", "bernstein"):
        s = sm.certify(fn, X, 0.5, key=jax.random.key(0), n=2000, method=method, temperature=0.1)
        assert np.all(s.prediction == 0) and np.all(s.radius > 0)
        assert np.all(s.radius <= np.array([1.0, 0.3]))


def test_certify_abstains_at_the_boundary():
    fn = _linear([[1.0, 0.0], [-1.0, 0.0]])
    c = sm.certify(fn, jnp.zeros((3, 2)), 1.0, key=jax.random.key(1), n=500)
    assert np.all(c.prediction == -1) and np.all(c.radius == 0.0)


def test_certify_compiles_once_per_shape(capsys):
    calls = {"n": 0}
    W = jnp.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]])

    def fn(x):
        calls["n"] += 1  # runs only while JAX traces fn
        return W @ x

    rng = np.random.default_rng(0)
    X1 = jnp.asarray(rng.normal(size=(5, 2)), jnp.float32)
    X2 = jnp.asarray(rng.normal(size=(5, 2)), jnp.float32)
    t0 = time.perf_counter()
    jax.block_until_ready(sm.certify(fn, X1, 0.25, key=jax.random.key(0), n=300).p_hat)
    cold = time.perf_counter() - t0
    traced = calls["n"]
    assert traced > 0
    t0 = time.perf_counter()
    for method in sm.METHODS:  # new data, new σ, new key, every method: no new trace
        sm.certify(fn, X2, 0.5, key=jax.random.key(1), n=300, method=method)
    warm = (time.perf_counter() - t0) / len(sm.METHODS)
    assert calls["n"] == traced
    with capsys.disabled():
        print(f"\ncertify cold {cold:.3f} s, warm {warm:.3f} s")


def test_attack_radius_is_an_upper_bound_close_to_the_exact_distance():
    W = np.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]])
    X = np.random.default_rng(0).normal(size=(20, 2))
    dist, y = _boundary_distance(W, X)
    att = sm.min_adversarial_radius(_linear(W), jnp.asarray(X, jnp.float32), y, r_max=5.0,
                                    key=jax.random.key(0))
    # a float32 margin of ~1e-7 at the boundary may count as misclassified: 1e-5 relative slack
    assert np.all(att >= dist * (1 - 1e-5))
    # bisection resolution r_max / 2^12 ≈ 1.2e-3, PGD on a linear model finds the boundary
    np.testing.assert_allclose(att, dist, atol=5.0 / 2**12 * 1.5)


def test_attack_compiles_once_per_shape():
    calls = {"n": 0}
    W = jnp.array([[1.0, 0.5], [-0.5, 1.0], [0.0, -1.0]])

    def fn(x):
        calls["n"] += 1
        return W @ x

    rng = np.random.default_rng(1)
    X1, X2 = (jnp.asarray(rng.normal(size=(4, 2)), jnp.float32) for _ in range(2))
    y1, y2 = (jnp.argmax(X @ W.T, 1) for X in (X1, X2))
    sm.min_adversarial_radius(fn, X1, y1, r_max=3.0, num_bisect=2, pgd_num_steps=5, key=jax.random.key(0))
    traced = calls["n"]
    sm.min_adversarial_radius(fn, X2, y2, r_max=2.0, num_bisect=3, pgd_num_steps=5, key=jax.random.key(3))
    assert calls["n"] == traced


def test_certified_accuracy_counts_radius_ties():
    radii = np.array([0.0, 0.5, 1.0, 2.0])
    correct = np.array([True, True, False, True])
    acc = sm.certified_accuracy(radii, correct, [0.0, 0.5, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(acc, [0.75, 0.5, 0.25, 0.25, 0.0])
    np.testing.assert_array_equal(sm.certified_accuracy(radii, [1, 1, 0, 1], 0.5), [0.5])


def test_errors_name_the_argument():
    fn = _linear(np.eye(2))
    with pytest.raises(ValueError, match="alpha must lie in"):
        sm.clopper_pearson_lower(3, 10, 1.5)
    with pytest.raises(ValueError, match="0 <= k <= n"):
        sm.clopper_pearson_lower(11, 10, 0.05)
    with pytest.raises(ValueError, match="sigma must be positive"):
        sm.smoothed_radius(0.9, -1.0)
    with pytest.raises(ValueError, match="n must be at least 2"):
        sm.empirical_bernstein_lower(0.5, 0.1, 1, 0.05)
    with pytest.raises(ValueError, match="grid \\(radius\\) must be non-negative"):
        sm.certified_accuracy([0.1], [True], [-0.5])
    with pytest.raises(ValueError, match="method must be one of"):
        sm.certify(fn, jnp.ones((2, 2)), 0.5, key=jax.random.key(0), method="chernoff")
    with pytest.raises(TypeError, match=r"key must be a JAX PRNG key such as jax.random.key\(0\)"):
        sm.certify(fn, jnp.ones((2, 2)), 0.5, key=0)
    with pytest.raises(TypeError, match="key must be a JAX PRNG key"):
        sm.min_adversarial_radius(fn, jnp.ones((2, 2)), [0, 1], r_max=1.0, key=3)
    with pytest.raises(ValueError, match="logits_fn must return a 1-D vector"):
        sm.certify(lambda x: jnp.sum(x), jnp.ones((2, 2)), 0.5, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 2\)"):
        sm.min_adversarial_radius(fn, jnp.ones((2, 2)), [0, 2], r_max=1.0, key=jax.random.key(0))
