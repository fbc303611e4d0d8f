"""Tests for optlab.second_order.layerwise_rates (LANTON, noise-adaptive layerwise rates).

References: a NumPy re-implementation of the rule (SVD-based nuclear norms, float64) on a
fixed gradient sequence, and ``optax.contrib.muon`` for the direction.  Each check runs
in float32 (the readers' dtype, tolerances measured) and in float64.
"""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab import second_order as so

SHAPES = [(4, 6), (5, 3), (6, 6)]
GROUPS = [0, 0, 1]


def _grad_sequence(num_steps, scales=(0.1, 1.0, 3.0), seed=0):
    """A fixed sequence of gradients: a slow drift plus per-layer noise of known size."""
    rng = np.random.default_rng(seed)
    means = [rng.standard_normal(s) for s in SHAPES]
    return [
        {
            f"W{i}": means[i] * (1 + 0.05 * t) + scales[i] * rng.standard_normal(s)
            for i, s in enumerate(SHAPES)
        }
        for t in range(num_steps)
    ]


def _reference_rates(grads, beta2, noise_floor, groups):
    """The rule in NumPy: H_t = β₂H + (1−β₂)·½‖G_t − G_{t−1}‖_*² (t ≥ 2), Ĥ = H/(1−β₂^{t−1}),
    r = √((α² + min_group Ĥ)/(α² + Ĥ)); returns the factors r_t and H_t for every step."""
    n = len(grads[0])
    H = np.zeros(n)
    prev = None
    rates, noises = [], []
    groups = np.asarray(groups)
    for t, g in enumerate(grads, start=1):
        leaves = [np.asarray(g[k], np.float64) for k in sorted(g)]
        if prev is None:
            h_hat = np.zeros(n)
        else:
            sample = np.array(
                [
                    0.5 * np.linalg.svd(a - b, compute_uv=False).sum() ** 2
                    for a, b in zip(leaves, prev, strict=True)
                ]
            )
            H = beta2 * H + (1 - beta2) * sample
            h_hat = H / (1 - beta2 ** (t - 1))
        quiet = np.array([h_hat[groups == groups[i]].min() for i in range(n)])
        rates.append(np.sqrt((noise_floor**2 + quiet) / (noise_floor**2 + h_hat)))
        noises.append(H.copy())
        prev = leaves
    return np.array(rates), np.array(noises)


def _dtype_context(dtype):
    return jax.enable_x64(True) if dtype == "float64" else contextlib.nullcontext()


TOL = {"float32": 2e-5, "float64": 1e-10}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nuclear_norm_matches_numpy(dtype):
    with _dtype_context(dtype):
        G = np.random.default_rng(1).standard_normal((7, 4))
        got = float(so.nuclear_norm(jnp.asarray(G, dtype)))
        want = np.linalg.svd(G, compute_uv=False).sum()
        assert abs(got - want) <= TOL[dtype] * want


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layerwise_rates_match_numpy_reference(dtype):
    """Identity direction: the output is r_t^ℓ·G_t^ℓ with the reference factors."""
    grads = _grad_sequence(8)
    ref_rates, ref_noise = _reference_rates(grads, 0.8, 0.05, GROUPS)
    assert ref_rates[-1][1] < 0.5 and ref_rates[-1][0] == 1.0  # the sequence really separates the layers
    with _dtype_context(dtype):
        opt = so.scale_by_layerwise_noise(optax.identity(), beta2=0.8, noise_floor=0.05, groups=GROUPS)
        cast = lambda g: {k: jnp.asarray(v, dtype) for k, v in g.items()}  # noqa: E731
        state = opt.init(cast(grads[0]))
        update = jax.jit(opt.update)
        for t, g in enumerate(grads):
            out, state = update(cast(g), state)
            assert state.rates.dtype == jnp.dtype(dtype)
            np.testing.assert_allclose(np.asarray(state.rates), ref_rates[t], rtol=TOL[dtype] * 10, atol=0)
            np.testing.assert_allclose(np.asarray(state.noise), ref_noise[t], rtol=TOL[dtype] * 10, atol=0)
            for i, k in enumerate(sorted(g)):
                np.testing.assert_allclose(
                    out[k], ref_rates[t][i] * g[k], rtol=TOL[dtype] * 10, atol=TOL[dtype]
                )
        assert int(state.count) == len(grads)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lanton_is_reference_rates_times_optax_muon(dtype):
    """LANTON's update is −η·r_t^ℓ·(optax.contrib.muon direction), leaf by leaf."""
    grads = _grad_sequence(6)
    ref_rates, _ = _reference_rates(grads, 0.9, 1e-3, [0, 0, 0])
    with _dtype_context(dtype):
        cast = lambda g: {k: jnp.asarray(v, dtype) for k, v in g.items()}  # noqa: E731
        params = cast({k: np.zeros(s) for k, s in zip(sorted(grads[0]), SHAPES, strict=True)})
        ours, ref = so.noise_adaptive_muon(0.02), optax.contrib.muon(0.02)
        s_ours, s_ref = ours.init(params), ref.init(params)
        for t, g in enumerate(grads):
            u_ours, s_ours = ours.update(cast(g), s_ours, params)
            u_ref, s_ref = ref.update(cast(g), s_ref, params)
            for i, k in enumerate(sorted(g)):
                np.testing.assert_allclose(
                    u_ours[k],
                    ref_rates[t][i] * np.asarray(u_ref[k]),
                    atol=1e-6 if dtype == "float32" else 1e-10,
                )


def test_lanton_equals_muon_for_one_layer():
    """A group of one layer keeps the base rate: LANTON is Muon."""
    rng = np.random.default_rng(3)
    params = {"W": jnp.zeros((8, 5))}
    ours, muon = so.noise_adaptive_muon(0.05), so.muon(0.05)
    s1, s2 = ours.init(params), muon.init(params)
    for _ in range(4):
        g = {"W": jnp.asarray(rng.standard_normal((8, 5)), jnp.float32)}
        u1, s1 = ours.update(g, s1, params)
        u2, s2 = muon.update(g, s2, params)
        np.testing.assert_allclose(u1["W"], u2["W"], atol=1e-7)
    assert float(s1[0].rates[0]) == 1.0


def test_noisiest_layer_gets_smallest_rate_and_groups_are_separate():
    grads = _grad_sequence(20, scales=(0.1, 1.0, 3.0))
    opt = so.scale_by_layerwise_noise(optax.identity(), groups=[0, 0, 0])
    state = opt.init(grads[0])
    for g in grads:
        _, state = opt.update(g, state)
    r = np.asarray(state.rates)
    assert r[0] == 1.0 and r[0] > r[1] > r[2]
    # in its own group, the noisiest layer is the quietest of its group and keeps the base rate
    opt = so.scale_by_layerwise_noise(optax.identity(), groups=[0, 0, 1])
    state = opt.init(grads[0])
    for g in grads:
        _, state = opt.update(g, state)
    assert float(state.rates[2]) == 1.0 and float(state.rates[1]) < 1.0


@settings(max_examples=10, deadline=None, derandomize=True)
@given(st.floats(0.05, 20.0), st.floats(0.05, 20.0))
def test_rates_follow_noise_ratio(s1, s2):
    """Pure noise (no drift) of sizes s1, s2 on equal shapes: the factor of the noisier layer
    approaches min(s1,s2)/max(s1,s2) (the square root of the variance ratio), and the quieter
    layer keeps 1."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((60, 2, 8, 8))
    grads = jnp.asarray(np.stack([s1 * z[:, 0], s2 * z[:, 1]], axis=1), jnp.float32)
    opt = so.scale_by_layerwise_noise(optax.identity(), beta2=0.9, noise_floor=1e-3)
    state = opt.init({"a": grads[0, 0], "b": grads[0, 1]})
    update = jax.jit(opt.update)
    for g in grads:
        _, state = update({"a": g[0], "b": g[1]}, state)
    r = np.asarray(state.rates)
    assert r.max() == 1.0  # the quieter layer (as measured) keeps the base rate
    ratio = min(s1, s2) / max(s1, s2)
    # the estimate averages ~10 samples of nuclear norms of 8×8 Gaussians: measured spread < 15 %
    assert abs(r.min() - ratio) <= 0.25 * ratio


def _lanton_scan(opt, params0, grads):
    def body(carry, g):
        p, s = carry
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), s[0].rates

    (p, _), rates = jax.lax.scan(body, (params0, opt.init(params0)), grads)
    return p, rates


def test_lanton_jit_and_vmap_agree_with_loop():
    """vmap over three gradient sequences equals running each one alone (and compiles once)."""
    rng = np.random.default_rng(5)
    seqs = {
        "W1": jnp.asarray(rng.standard_normal((3, 7, 4, 6)), jnp.float32),
        "W2": jnp.asarray(3 * rng.standard_normal((3, 7, 5, 4)), jnp.float32),
    }
    params0 = {"W1": jnp.zeros((4, 6)), "W2": jnp.zeros((5, 4))}
    opt = so.noise_adaptive_muon(0.1)
    traces = 0

    def run(g):
        nonlocal traces
        traces += 1
        return _lanton_scan(opt, params0, g)

    batched = jax.jit(jax.vmap(run))
    p_b, r_b = batched(seqs)
    p_b2, _ = batched(jax.tree.map(lambda x: -x, seqs))
    assert traces == 1 and np.all(np.isfinite(p_b2["W1"]))
    for i in range(3):
        p_i, r_i = _lanton_scan(opt, params0, jax.tree.map(lambda x, i=i: x[i], seqs))
        np.testing.assert_allclose(r_b[i], r_i, rtol=1e-5)
        np.testing.assert_allclose(p_b["W1"][i], p_i["W1"], atol=1e-5)
    assert np.all(np.asarray(r_b)[:, -1, 1] < np.asarray(r_b)[:, -1, 0])  # W2 is 3× noisier


def test_errors():
    with pytest.raises(ValueError, match="beta2"):
        so.scale_by_layerwise_noise(optax.identity(), beta2=1.0)
    with pytest.raises(ValueError, match="noise_floor"):
        so.scale_by_layerwise_noise(optax.identity(), noise_floor=0.0)
    with pytest.raises(TypeError, match="inner"):
        so.scale_by_layerwise_noise("muon")
    with pytest.raises(TypeError, match="groups"):
        so.scale_by_layerwise_noise(optax.identity(), groups=[0.5, 1.0])
    with pytest.raises(ValueError, match="groups"):
        so.scale_by_layerwise_noise(optax.identity(), groups=[0, -1])
    with pytest.raises(ValueError, match="one entry per leaf"):
        so.scale_by_layerwise_noise(optax.identity(), groups=[0, 1]).init({"W": jnp.zeros((2, 2))})
    with pytest.raises(ValueError, match="params"):
        so.noise_adaptive_muon(0.1).init({"b": jnp.zeros(3)})
    with pytest.raises(ValueError, match="learning_rate"):
        so.noise_adaptive_muon(0.0)
    with pytest.raises(ValueError, match="updates"):
        opt = so.noise_adaptive_muon(0.1)
        opt.update({"W": jnp.full((2, 2), jnp.nan)}, opt.init({"W": jnp.zeros((2, 2))}))
    with pytest.raises(ValueError, match="G"):
        so.nuclear_norm(jnp.ones(3))
