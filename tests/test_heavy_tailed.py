"""optlab.dynamics.heavy_tailed and the heavy-tailed option of neighbour_divergence: the draws against
SciPy (normal, Cauchy, levy_stable) and the characteristic function exp(−|t|^a); the noisy coupled runs
against a NumPy loop on the same draws; the noise cancels in w − w' on a quadratic; σ = 0 changes
nothing; one compilation per shape."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from optlab import dynamics as dy
from optlab.dynamics import heavy_tailed, stability


def _draws(a, n=20000, seed=0):
    return np.asarray(dy.symmetric_stable(a, (n,), key=jax.random.key(seed)), float)


def test_tail_index_two_is_normal_with_variance_two():
    x = _draws(2.0, seed=1)
    assert st.kstest(x, st.norm(scale=np.sqrt(2.0)).cdf).pvalue > 1e-3
    assert x.var() == pytest.approx(2.0, rel=0.05)


def test_tail_index_one_is_standard_cauchy():
    x = _draws(1.0, seed=1)
    assert st.kstest(x, st.cauchy.cdf).pvalue > 1e-3
    assert np.median(np.abs(x)) == pytest.approx(1.0, rel=0.05)  # the median of |Cauchy| is 1


@pytest.mark.parametrize("a", [0.8, 1.5])
def test_cdf_matches_levy_stable(a):
    x = _draws(a, n=40000)
    points = np.array([-2.0, -0.5, 0.3, 1.0, 3.0])
    ref = st.levy_stable.cdf(points, a, 0.0)
    emp = np.array([np.mean(x <= c) for c in points])
    se = np.sqrt(ref * (1 - ref) / len(x))
    assert np.all(np.abs(emp - ref) < 5 * se)
    assert dy.symmetric_stable(a, (3,), key=jax.random.key(0)).dtype == jnp.float32


@pytest.mark.parametrize("a", [0.5, 1.2, 1.7, 2.0])
def test_characteristic_function(a):
    x = _draws(a, n=100000)
    for t in (0.2, 1.0, 2.5):
        c = np.cos(t * x)
        assert abs(c.mean() - np.exp(-(t**a))) < 5 * c.std() / np.sqrt(len(x))


def test_draws_are_finite_and_shaped():
    for a in (0.3, 1.0, 2.0):
        x = dy.symmetric_stable(a, (200, 50), key=jax.random.key(3))
        assert x.shape == (200, 50) and bool(jnp.all(jnp.isfinite(x)))
    assert dy.symmetric_stable(1.5, key=jax.random.key(0)).shape == ()


def test_one_compilation_for_every_tail_index():
    dy.symmetric_stable(1.5, (7,), key=jax.random.key(0))
    size = heavy_tailed._stable._cache_size()
    dy.symmetric_stable(1.1, (7,), key=jax.random.key(1))
    assert heavy_tailed._stable._cache_size() == size


def logistic_loss(w, z):
    return jnp.logaddexp(0.0, -z[-1] * (z[:-1] @ w))


def square_loss(w, z):
    return 0.5 * (z[:-1] @ w - z[-1]) ** 2


def data(n=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1).max()
    y = np.sign(X @ rng.normal(size=d) + 0.3 * rng.normal(size=n))
    return np.c_[X, y].astype(np.float32)


def test_noisy_runs_follow_a_numpy_loop():
    S = data()
    rep = np.r_[S[2, :-1], -S[2, -1]].astype(np.float32)
    key, T, lr, sigma, a = jax.random.key(5), 30, 0.4, 0.2, 1.3
    out = dy.neighbour_divergence(logistic_loss, S, rep, np.zeros(3), learning_rate=lr, num_steps=T, key=key,
                                  num_paths=2, index=2, noise_scale=sigma, tail_index=a)
    grad = jax.grad(logistic_loss)
    other = S.copy()
    other[2] = rep
    for p, k in enumerate(jax.random.split(key, 2)):
        picks = np.asarray(jax.random.randint(k, (T,), 0, len(S)))
        noise = sigma * lr ** (1 / a) * np.asarray(dy.symmetric_stable(a, (T, 3), key=jax.random.fold_in(k, 1)))
        w = v = np.zeros(3, np.float32)
        for t, j in enumerate(picks):
            w = w - lr * np.asarray(grad(jnp.asarray(w), S[j])) + noise[t]
            v = v - lr * np.asarray(grad(jnp.asarray(v), other[j])) + noise[t]
        np.testing.assert_allclose(out.params[p], w, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(out.neighbour_params[p], v, rtol=1e-4, atol=1e-5)
        assert int(out.picks[p]) == int(np.sum(picks == 2))


def test_noise_cancels_on_a_quadratic():
    """With ℓ quadratic in w the gradient is affine, so w_t − w_t' obeys the noiseless recursion."""
    S = data()
    rep = np.r_[S[0, :-1], -S[0, -1]].astype(np.float32)
    kw = dict(learning_rate=0.5, num_steps=200, key=jax.random.key(2), num_paths=50)
    clean = dy.neighbour_divergence(square_loss, S, rep, np.zeros(3), **kw)
    for a in (1.2, 2.0):
        noisy = dy.neighbour_divergence(square_loss, S, rep, np.zeros(3), noise_scale=0.3, tail_index=a, **kw)
        np.testing.assert_allclose(noisy.divergences, clean.divergences, rtol=1e-3, atol=1e-4)
        assert float(jnp.max(jnp.abs(noisy.params - clean.params))) > 0.1  # the noise did move the iterates


def test_zero_noise_changes_nothing():
    S = data()
    rep = S[1]
    kw = dict(learning_rate=0.5, num_steps=40, key=jax.random.key(2), num_paths=5, index=1)
    a = dy.neighbour_divergence(logistic_loss, S, rep, np.zeros(3), **kw)
    b = dy.neighbour_divergence(logistic_loss, S, rep, np.zeros(3), noise_scale=0.0, tail_index=1.1, **kw)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_heavy_tailed_runs_still_obey_the_pathwise_bound():
    """The shared noise is a translation of both runs: δ_T ≤ 2Lα·picks still holds for convex ℓ."""
    S = data()
    L = float(np.linalg.norm(S[:, :-1], axis=1).max())
    rep = np.r_[S[0, :-1], -S[0, -1]].astype(np.float32)
    out = dy.neighbour_divergence(logistic_loss, S, rep, np.zeros(3), learning_rate=1.0, num_steps=300,
                                  key=jax.random.key(4), num_paths=200, noise_scale=0.5, tail_index=1.2)
    assert np.all(np.asarray(out.divergences[:, -1]) <= 2 * L * np.asarray(out.picks) * (1 + 1e-3) + 1e-5)


def test_noisy_runs_compile_once_per_shape():
    S = data()
    rep = np.r_[S[0, :-1], -S[0, -1]].astype(np.float32)
    kw = dict(num_steps=20, num_paths=5, noise_scale=0.3)
    dy.neighbour_divergence(logistic_loss, S, rep, np.zeros(3), learning_rate=0.5, key=jax.random.key(0),
                            tail_index=1.5, **kw)
    size = stability._runs._cache_size()
    dy.neighbour_divergence(logistic_loss, data(seed=1), rep + 1, np.ones(3), learning_rate=0.7,
                            key=jax.random.key(3), tail_index=1.2, index=4, **kw)
    assert stability._runs._cache_size() == size


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="tail_index"):
        dy.symmetric_stable(2.5, (3,), key=jax.random.key(0))
    with pytest.raises(ValueError, match="tail_index"):
        dy.symmetric_stable(0.0, (3,), key=jax.random.key(0))
    with pytest.raises(TypeError, match="key"):
        dy.symmetric_stable(1.5, (3,), key=0)
    with pytest.raises(ValueError, match="shape"):
        dy.symmetric_stable(1.5, (3, -1), key=jax.random.key(0))
    S = data()
    kw = dict(learning_rate=0.5, num_steps=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="noise_scale"):
        dy.neighbour_divergence(logistic_loss, S, S[0], np.zeros(3), noise_scale=-1.0, **kw)
    with pytest.raises(ValueError, match="tail_index"):
        dy.neighbour_divergence(logistic_loss, S, S[0], np.zeros(3), noise_scale=1.0, tail_index=2.1, **kw)
