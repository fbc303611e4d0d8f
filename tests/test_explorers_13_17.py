"""Explorers of chapters 13-17: the live widget re-runs the library, the static steps show the same data."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import distributed as D
from optlab import landscape, rl
from optlab import privacy as pv
from optlab import zeroth_order as zo
from optlab.viz import distributed as viz_d
from optlab.viz import landscape as viz_land
from optlab.viz import privacy as viz_pv
from optlab.viz import rl as viz_rl
from optlab.viz import zeroth_order as viz_zo


def _static_step(ex, index):
    """The data, layout and traces of the static figure's slider step ``index``; checks that
    every step of the static slider shows something different."""
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(set(payloads)) == len(payloads), "two static steps show the same figure"
    data, layout, indices = steps[index]["args"]
    return data, layout, list(indices)


# ---------------------------------------------------------------- chapter 14: zeroth-order descent

A14 = jnp.asarray(np.random.default_rng(0).normal(size=(30, 6)) / 3, dtype=jnp.float32)


def _quad14(x):
    return 0.5 * jnp.sum((A14 @ x - 1.0) ** 2)


def _zo_explorer(**kw):
    args = dict(
        key=jax.random.key(0),
        budget=120,
        learning_rates=[0.005, 0.02],
        learning_rate=0.005,
        smoothings=[1e-2, 1.0],
        directions=[1, 3],
        step_scales={"sphere": 0.5},
    )
    return viz_zo.zo_descent_explorer(_quad14, jnp.ones(6), **(args | kw))


def test_zo_explorer_live_change_equals_the_library_run():
    ex = _zo_explorer()
    box = ex.widget()
    box.controls["num_directions"].value = 3
    box.controls["smoothing"].value = 1.0
    box.controls["learning_rate"].value = 0.02
    for i, (est, scale) in enumerate([("gaussian", 1.0), ("sphere", 0.5)]):
        steps = 120 // zo.evaluations_per_step(est, 6, 3)
        res = zo.zo_descent(_quad14, jnp.ones(6), key=jax.random.key(0), learning_rate=0.02 * scale,
                            num_steps=steps, estimator=est, num_directions=3, smoothing=1.0)
        np.testing.assert_allclose(box.figure.data[i].y, np.asarray(res.values, float), rtol=1e-5)
        np.testing.assert_array_equal(box.figure.data[i].x, np.asarray(res.evaluations, float))
    assert "m = 3" in box.figure.layout.title.text
    assert ex.last_latency_s is not None


def test_zo_explorer_static_step_equals_the_widget():
    ex = _zo_explorer()
    # static steps: every (smoothing, m), smoothing outer; step 3 is (1.0, 3)
    data, layout, indices = _static_step(ex, 3)
    assert indices == [0, 1]
    box = ex.widget()
    box.controls["smoothing"].value = 1.0
    box.controls["num_directions"].value = 3
    for i in indices:
        np.testing.assert_allclose(data["y"][i], box.figure.data[i].y, rtol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_zo_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="estimators"):
        _zo_explorer(estimators=["nope"])
    with pytest.raises(ValueError, match="directions"):
        _zo_explorer(directions=[0, 1])
    with pytest.raises(ValueError, match="budget"):
        _zo_explorer(budget=3, directions=[1, 3])
    with pytest.raises(ValueError, match="step_scales"):
        _zo_explorer(step_scales={"forward": 2.0})
    with pytest.raises(TypeError, match="f must be callable"):
        viz_zo.zo_descent_explorer(1.0, jnp.ones(6), key=jax.random.key(0), budget=10, learning_rates=[0.1])
    with pytest.raises(TypeError, match="descent"):
        _zo_explorer(descent="zo")


# ---------------------------------------------------------------- chapter 15: EF21 with Top-k

PB15 = D.heterogeneous_quadratics(key=jax.random.key(0), num_workers=2, dim=12)


def _ef21_explorer(**kw):
    return viz_d.ef21_explorer(PB15, **(dict(ks=[2, 6], k=2, learning_rates=[0.3, 0.9], learning_rate=0.3,
                                              num_steps=60, tol=1e-30) | kw))


def test_ef21_explorer_live_change_equals_the_library_run():
    ex = _ef21_explorer()
    box = ex.widget()
    box.controls["k"].value = 6
    box.controls["learning_rate"].value = 0.9
    for i, (method, C) in enumerate([("ef21", D.TopK(6)), ("naive", D.Identity())]):
        tr = D.run_compressed(method, PB15, C, learning_rate=0.9, num_steps=60)
        np.testing.assert_allclose(box.figure.data[i].y, np.asarray(tr.suboptimalities, float), rtol=1e-5)
        np.testing.assert_array_equal(box.figure.data[i].x, np.asarray(tr.floats, float))
    assert "Top-6 of 12" in box.figure.layout.title.text


def test_ef21_explorer_stops_a_curve_at_the_tolerance():
    ex = _ef21_explorer(tol=1e-2)
    y = np.asarray(ex.frame(k=6, learning_rate=0.9).traces[0]["y"])
    assert y[-1] < 1e-2 and np.all(y[:-1] >= 1e-2)


def test_ef21_explorer_static_step_equals_the_widget():
    ex = _ef21_explorer()
    data, layout, indices = _static_step(ex, 3)  # (k, step) = (6, 0.9)
    box = ex.widget()
    box.controls["k"].value = 6
    box.controls["learning_rate"].value = 0.9
    for i in indices:
        np.testing.assert_allclose(data["y"][i], box.figure.data[i].y, rtol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_ef21_explorer_refuses_bad_arguments():
    with pytest.raises(TypeError, match="problem"):
        viz_d.ef21_explorer("pb")
    with pytest.raises(ValueError, match="ks"):
        _ef21_explorer(ks=[0, 2])
    with pytest.raises(ValueError, match="ks"):
        _ef21_explorer(ks=[2, 13])
    with pytest.raises(ValueError, match="methods"):
        _ef21_explorer(methods=["masha1"])
    with pytest.raises(ValueError, match="num_steps"):
        _ef21_explorer(num_steps=0)
    with pytest.raises(TypeError, match="run"):
        _ef21_explorer(run=3)


# ---------------------------------------------------------------- chapter 13: edge of stability

X13 = jnp.asarray(np.random.default_rng(1).normal(size=(8, 2)), dtype=jnp.float32)
Y13 = jnp.sin(X13[:, 0])
P13 = landscape.mlp_init([2, 6, 1], key=jax.random.key(0), scale=0.5)


def _mse13(p):
    return 0.5 * jnp.mean((landscape.mlp_batch_apply(p, X13)[:, 0] - Y13) ** 2)


def _eos_explorer(**kw):
    args = dict(key=jax.random.key(1), learning_rates=[0.2, 1.0], learning_rate=0.2, num_steps=40,
                record_every=10, power_num_steps=3)
    return viz_land.sharpness_explorer(_mse13, P13, **(args | kw))


def test_sharpness_explorer_live_change_equals_the_library_run():
    ex = _eos_explorer(reference=(np.ones(4), np.ones(40)))
    box = ex.widget()
    box.controls["learning_rate"].value = 0.7
    out = landscape.gd_with_sharpness(_mse13, P13, learning_rate=0.7, num_steps=40, key=jax.random.key(1),
                                      record_every=10, power_num_steps=3)
    np.testing.assert_allclose(box.figure.data[0].y, np.asarray(out.sharpness, float), rtol=1e-5)
    np.testing.assert_allclose(box.figure.data[2].y, np.asarray(out.losses, float), rtol=1e-5)
    np.testing.assert_allclose(box.figure.data[1].y, [2 / 0.7, 2 / 0.7])
    np.testing.assert_array_equal(box.figure.data[3].x, np.asarray(out.steps, float))  # reference steps


def test_sharpness_explorer_static_step_equals_the_widget():
    ex = _eos_explorer()
    data, layout, indices = _static_step(ex, 1)
    box = ex.widget()
    box.controls["learning_rate"].value = 1.0
    for i in indices:
        np.testing.assert_allclose(data["y"][i], box.figure.data[i].y, rtol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_sharpness_explorer_reports_a_divergent_run_without_warnings():
    ex = _eos_explorer(learning_rates=[0.2, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        frame = ex.frame(learning_rate=1e4)
    assert "diverged" in frame.layout["title.text"]


def test_sharpness_explorer_refuses_bad_arguments():
    with pytest.raises(TypeError, match="loss_fn"):
        viz_land.sharpness_explorer(None, P13, key=jax.random.key(1), learning_rates=[0.1])
    with pytest.raises(ValueError, match="multiple of record_every"):
        _eos_explorer(num_steps=45)
    with pytest.raises(ValueError, match="power_num_steps"):
        _eos_explorer(power_num_steps=0)
    with pytest.raises(TypeError, match="run"):
        _eos_explorer(run=1)


# ---------------------------------------------------------------- chapter 16: soft value iteration


def _soft_vi_explorer(**kw):
    args = dict(n=3, kappas=[0.5, 0.05], kappa=0.5, gammas=[0.6, 0.9], gamma=0.6, num_steps=30, trap=(0, 2))
    return viz_rl.soft_vi_explorer(**(args | kw))


def test_soft_vi_explorer_live_change_equals_the_library_run():
    ex = _soft_vi_explorer()
    box = ex.widget()
    box.controls["kappa"].value = 0.05
    box.controls["gamma"].value = 0.9
    mdp = rl.gridworld(3, slip=0.1, gamma=0.9, trap=(0, 2))
    pols = rl.kl_value_iteration(mdp, 0.0, 0.05, num_steps=30).policies()
    values = np.stack([np.asarray(rl.policy_evaluation(mdp, p), float) for p in pols])
    v_star = np.asarray(rl.value_iteration(mdp, tol=1e-10).V, float)
    np.testing.assert_allclose(np.asarray(box.figure.data[0].z, float), values[-1].reshape(3, 3), rtol=1e-5)
    np.testing.assert_allclose(box.figure.data[2].y, np.max(v_star - values, 1)[1:], rtol=1e-3, atol=1e-6)
    assert "γ = 0.9" in box.figure.layout.title.text


def test_soft_vi_explorer_static_step_equals_the_widget():
    ex = _soft_vi_explorer()
    data, layout, indices = _static_step(ex, 3)  # (κ, γ) = (0.05, 0.9)
    box = ex.widget()
    box.controls["kappa"].value = 0.05
    box.controls["gamma"].value = 0.9
    np.testing.assert_allclose(np.asarray(data["z"][indices.index(0)], float),
                               np.asarray(box.figure.data[0].z, float), rtol=1e-4)
    np.testing.assert_allclose(data["y"][indices.index(2)], box.figure.data[2].y, rtol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_soft_vi_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="gammas"):
        _soft_vi_explorer(gammas=[0.6, 1.0])
    with pytest.raises(ValueError, match="num_steps"):
        _soft_vi_explorer(num_steps=0)
    with pytest.raises(ValueError, match="value 0.3"):
        _soft_vi_explorer(kappa=0.3)


# ---------------------------------------------------------------- chapter 17: DP-SGD

_R17 = np.random.default_rng(2)
X17 = jnp.asarray(_R17.normal(size=(40, 3)), dtype=jnp.float32)
Y17 = jnp.sign(X17[:, 0] + 0.1)


def _logistic17(w, z):
    return jnp.logaddexp(0.0, -z[1] * (z[0] @ w))


def _dp_explorer(**kw):
    args = dict(key=jax.random.key(0), sampling_rate=0.25, num_steps=20, learning_rate=0.5, delta=1e-5,
                clip_norms=[0.1, 1.0], clip_norm=1.0, noise_multipliers=[1.0, 4.0], noise_multiplier=1.0)
    return viz_pv.dp_sgd_explorer(_logistic17, jnp.zeros(3), (X17, Y17), **(args | kw))


def _dp_sgd_losses(C, sigma):
    """The same DP-SGD run, written out with the library's transformation (independent of the explorer)."""
    k_batches, k_noise = jax.random.split(jax.random.key(0))
    opt = pv.dp_sgd(0.5 / 0.25, C, sigma, key=k_noise)
    w, s = jnp.zeros(3), opt.init(jnp.zeros(3))
    mean_loss = lambda w: float(jnp.mean(jax.vmap(_logistic17, (None, 0))(w, (X17, Y17))))  # noqa: E731
    losses = [mean_loss(w)]
    for k in jax.random.split(k_batches, 20):
        mask = jax.random.bernoulli(k, 0.25, (40,))
        g = pv.per_example_grads(_logistic17, w, (X17, Y17)) * mask[:, None]
        u, s = opt.update(g, s, w)
        w = w + u
        losses.append(mean_loss(w))
    return np.array(losses)


def test_dp_sgd_explorer_live_change_equals_the_library_run():
    ex = _dp_explorer()
    box = ex.widget()
    box.controls["clip_norm"].value = 0.1
    box.controls["noise_multiplier"].value = 4.0
    np.testing.assert_allclose(box.figure.data[0].y, _dp_sgd_losses(0.1, 4.0), rtol=1e-4)
    eps = pv.dp_sgd_privacy(4.0, 0.25, num_steps=20, delta=1e-5).epsilon
    assert f"ε = {eps:.3g}" in box.figure.layout.title.text


def test_dp_sgd_explorer_static_step_equals_the_widget():
    ex = _dp_explorer()
    data, layout, indices = _static_step(ex, 1)  # (C, σ) = (0.1, 4.0)
    box = ex.widget()
    box.controls["clip_norm"].value = 0.1
    box.controls["noise_multiplier"].value = 4.0
    np.testing.assert_allclose(data["y"][0], box.figure.data[0].y, rtol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_dp_sgd_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="sampling_rate"):
        _dp_explorer(sampling_rate=0.0)
    with pytest.raises(ValueError, match="delta"):
        _dp_explorer(delta=1.0)
    with pytest.raises(ValueError, match="num_steps"):
        _dp_explorer(num_steps=0)
    with pytest.raises(TypeError, match="loss"):
        viz_pv.dp_sgd_explorer(3, jnp.zeros(3), (X17, Y17), key=jax.random.key(0), sampling_rate=0.1,
                               num_steps=2, learning_rate=0.1, delta=1e-5, clip_norms=[1.0],
                               noise_multipliers=[1.0])
