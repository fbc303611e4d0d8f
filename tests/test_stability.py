"""optlab.dynamics.stability: the bound against hand values; coupled SGD against a NumPy loop on
the same sample path; the tight instance (a linear loss, where δ_T = 2Lα·picks exactly); the
pathwise growth bound on logistic regression; one compilation per shape."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import dynamics as dy
from optlab.dynamics import stability


def linear_loss(w, z):
    return -z[-1] * (z[:-1] @ w)


def logistic_loss(w, z):
    return jnp.logaddexp(0.0, -z[-1] * (z[:-1] @ w))


def logistic_data(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X /= np.linalg.norm(X, axis=1).max()
    y = np.sign(X @ rng.normal(size=d) + 0.3 * rng.normal(size=n))
    return np.c_[X, y].astype(np.float32)


def test_bound_hand_values():
    np.testing.assert_allclose(dy.sgd_stability_bound(2.0, [0.1, 0.2, 0.3], 10), [0, 0.04, 0.12, 0.24])
    assert dy.sgd_stability_bound(1.0, np.full(100, 0.5), 50)[-1] == pytest.approx(2.0)


def test_coupled_runs_follow_one_sample_path():
    data = logistic_data()
    rep = np.r_[data[3, :-1], -data[3, -1]].astype(np.float32)
    key = jax.random.key(7)
    out = dy.neighbour_divergence(logistic_loss, data, rep, np.zeros(4), learning_rate=1.5, num_steps=40,
                                  key=key, num_paths=3, index=3)
    grad = jax.grad(logistic_loss)
    for p, k in enumerate(jax.random.split(key, 3)):
        picks = np.asarray(jax.random.randint(k, (40,), 0, len(data)))
        w = v = np.zeros(4, np.float32)
        gaps = [0.0]
        other = data.copy()
        other[3] = rep
        for j in picks:
            w = w - 1.5 * np.asarray(grad(jnp.asarray(w), data[j]))
            v = v - 1.5 * np.asarray(grad(jnp.asarray(v), other[j]))
            gaps.append(np.linalg.norm(w - v))
        np.testing.assert_allclose(out.params[p], w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.neighbour_params[p], v, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out.divergences[p], gaps, rtol=1e-4, atol=1e-6)
        assert int(out.picks[p]) == int(np.sum(picks == 3))


def test_linear_loss_attains_the_bound():
    """ℓ(w, z) = −y x·w with x = 1, y = ±1 flipped on the differing example: each pick adds exactly
    2αL, so δ_T = 2αL·picks pathwise and E δ_T equals the bound."""
    n, T, alpha = 25, 300, 0.1
    data = np.tile([[1.0, 1.0]], (n, 1))
    out = dy.neighbour_divergence(linear_loss, data, [1.0, -1.0], [0.0], learning_rate=alpha, num_steps=T,
                                  key=jax.random.key(0), num_paths=4000)
    np.testing.assert_allclose(out.divergences[:, -1], 2 * alpha * np.asarray(out.picks), rtol=1e-5)
    bound = dy.sgd_stability_bound(1.0, np.full(T, alpha), n)[-1]
    se = 2 * alpha * np.sqrt(T * (1 / n) * (1 - 1 / n)) / np.sqrt(4000)
    assert abs(float(np.mean(out.divergences[:, -1])) - bound) < 4 * se


def test_logistic_divergence_stays_below_the_pathwise_bound():
    """For α ≤ 2/β a shared step does not expand δ and the differing step adds at most 2αL."""
    data = logistic_data()
    L = float(np.linalg.norm(data[:, :-1], axis=1).max())
    beta = L**2 / 4
    rep = np.r_[data[0, :-1], -data[0, -1]].astype(np.float32)
    for alpha in (0.5, 1.9 / beta):
        out = dy.neighbour_divergence(logistic_loss, data, rep, np.zeros(4), learning_rate=alpha, num_steps=300,
                                      key=jax.random.key(1), num_paths=200)
        assert np.all(np.asarray(out.divergences[:, -1]) <= 2 * L * alpha * np.asarray(out.picks) * (1 + 1e-4) + 1e-6)
        assert np.all(np.diff(np.asarray(out.divergences), axis=1)[np.asarray(out.picks) == 0] <= 1e-6)


def test_compiles_once_per_shape():
    data = logistic_data()
    rep = np.r_[data[0, :-1], -data[0, -1]].astype(np.float32)
    dy.neighbour_divergence(logistic_loss, data, rep, np.zeros(4), learning_rate=0.5, num_steps=20,
                            key=jax.random.key(0), num_paths=5)
    size = stability._runs._cache_size()
    dy.neighbour_divergence(logistic_loss, logistic_data(seed=1), rep + 1, np.ones(4), learning_rate=0.7,
                            num_steps=20, key=jax.random.key(3), num_paths=5, index=4)
    assert stability._runs._cache_size() == size


def test_errors_name_the_argument():
    data = logistic_data()
    rep = data[0]
    kw = dict(learning_rate=0.5, num_steps=5, key=jax.random.key(0))
    with pytest.raises(ValueError, match="index"):
        dy.neighbour_divergence(logistic_loss, data, rep, np.zeros(4), index=len(data), **kw)
    with pytest.raises(ValueError, match="replacement"):
        dy.neighbour_divergence(logistic_loss, data, rep[:-1], np.zeros(4), **kw)
    with pytest.raises(ValueError, match="learning_rate"):
        dy.neighbour_divergence(logistic_loss, data, rep, np.zeros(4), learning_rate=[0.1, 0.2], num_steps=5,
                                key=jax.random.key(0))
    with pytest.raises(TypeError, match="key"):
        dy.neighbour_divergence(logistic_loss, data, rep, np.zeros(4), learning_rate=0.1, num_steps=5, key=0)
    with pytest.raises(ValueError, match="lipschitz"):
        dy.sgd_stability_bound(-1.0, [0.1], 10)
    with pytest.raises(ValueError, match="learning_rates"):
        dy.sgd_stability_bound(1.0, [0.1, 0.0], 10)
