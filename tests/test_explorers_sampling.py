"""Explorer of chapter 19: the live widget re-runs the library, the static steps show the same data."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab import sampling as sp
from optlab.viz import sampling as viz_sp

M = np.array([1.0, -1.0])
A = np.array([[1.0, 0.3], [0.3, 3.0]])
HS = [0.02, 0.1, 0.4]


def _explorer(**kw):
    return viz_sp.langevin_explorer(M, A, **({"learning_rates": HS, "num_chains": 400, "num_steps": 60} | kw))


def _potential(x):
    z = x - M
    return 0.5 * z @ A @ z


def test_langevin_explorer_live_change_equals_the_library_run():
    box = _explorer().widget()
    box.controls["learning_rate"].value = HS[2]
    h = box.controls["learning_rate"].value
    x0 = np.tile(M, (400, 1)).astype(np.float32)
    ula = sp.unadjusted_langevin(_potential, x0, learning_rate=h, num_steps=60, key=jax.random.key(0))
    mala = sp.mala(_potential, x0, learning_rate=h, num_steps=60, key=jax.random.key(0))
    np.testing.assert_allclose(np.asarray(box.figure.data[0].x, float), np.asarray(ula.params[:300, 0]), atol=1e-4)
    np.testing.assert_allclose(np.asarray(box.figure.data[1].y, float), np.asarray(mala.params[:300, 1]), atol=1e-4)
    tr_ula = float(np.trace(np.cov(np.asarray(ula.params, float).T)))
    np.testing.assert_allclose(box.figure.data[6].y[0], tr_ula, rtol=1e-4)
    S_h = np.asarray(sp.ula_gaussian_stationary(A, learning_rate=h))
    assert f"closed form {np.trace(S_h):.3f}" in box.figure.layout.title.text


def test_langevin_explorer_ula_is_biased_and_mala_is_not_at_a_large_step():
    frame = _explorer(num_chains=4000).frame(learning_rate=HS[2])
    tr_ula, tr_mala = frame.traces[6]["y"][0], frame.traces[7]["y"][0]
    target = np.trace(np.linalg.inv(A))
    closed = np.trace(np.asarray(sp.ula_gaussian_stationary(A, learning_rate=HS[2])))
    sd = np.sqrt(2 * np.sum(np.linalg.eigvalsh(np.linalg.inv(A)) ** 2) / 4000)  # sd of tr of a sample covariance
    assert abs(tr_mala - target) < 5 * sd
    assert abs(tr_ula - closed) < 5 * sd * closed / target
    assert tr_ula - target > 10 * sd


def test_langevin_explorer_static_step_equals_the_widget():
    ex = _explorer()
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(steps) == len(HS) and len(set(payloads)) == len(payloads)
    data, layout, _ = steps[0]["args"]
    box = ex.widget()
    box.controls["learning_rate"].value = HS[0]
    np.testing.assert_allclose(np.asarray(data["x"][0], float), np.asarray(box.figure.data[0].x, float), atol=1e-3)
    assert layout["title.text"] == box.figure.layout.title.text


def test_langevin_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        _explorer(num_steps=0)
    with pytest.raises(ValueError, match="mean must have shape"):
        viz_sp.langevin_explorer(M[:1], A, learning_rates=HS)
    with pytest.raises(ValueError, match="learning_rates must lie"):
        _explorer(learning_rates=[0.1, 0.9])
    with pytest.raises(ValueError):
        _explorer(learning_rate=0.123)  # not among the static values


# --------------------------------------------------------------------------- diffusion explorer
ANG = 2 * np.pi * np.arange(4) / 4
W_D = np.full(4, 0.25)
MU_D = 2.0 * np.stack([np.cos(ANG), np.sin(ANG)], 1)
SIG_D = np.stack([0.1 * np.eye(2)] * 4)
COUNTS = [2, 4, 16]


def _diffusion_explorer(**kw):
    return viz_sp.diffusion_explorer(W_D, MU_D, SIG_D, **({"step_counts": COUNTS, "num_samples": 300} | kw))


def test_diffusion_explorer_live_change_equals_the_library_run():
    ex = _diffusion_explorer()
    box = ex.widget()
    mix = tuple(jnp.asarray(a, jnp.float32) for a in (W_D, MU_D, SIG_D))
    k_x, k_noise, _ = jax.random.split(jax.random.key(0), 3)
    x_T = jax.random.normal(k_x, (300, 2), jnp.float32)
    box.controls["num_steps"].value = 4
    ode = sp.probability_flow(sp.gaussian_mixture_score, mix, x_T, num_steps=4)
    np.testing.assert_allclose(np.asarray(box.figure.data[1].x, float), np.asarray(ode.params[:, 0]), atol=1e-4)
    box.controls["sampler"].value = "reverse SDE"
    box.controls["num_steps"].value = 16
    # the explorer pads the 16-step grid to max(step_counts) = 16: the library's own grid and noise
    sde = sp.reverse_sde(sp.gaussian_mixture_score, mix, x_T, num_steps=16, key=k_noise)
    np.testing.assert_allclose(np.asarray(box.figure.data[1].y, float), np.asarray(sde.params[:, 1]), atol=1e-3)
    assert "reverse SDE, K = 16" in box.figure.layout.title.text
    # warm: both samplers compiled; a change re-runs them without recompiling
    box.controls["num_steps"].value = 2
    box.controls["sampler"].value = "PF-ODE (Heun)"
    assert ex.last_latency_s is not None and ex.last_latency_s < 1.0


def test_diffusion_explorer_static_steps_differ_and_equal_the_widget():
    ex = _diffusion_explorer()
    sliders = ex.static_figure().layout.sliders
    payloads = [repr(s["args"]) for sl in sliders for s in sl.steps]
    assert len(set(payloads)) == len(payloads)
    box = ex.widget()
    frame = ex.frame(num_steps=16, sampler="PF-ODE (Heun)")
    box.controls["num_steps"].value = 16
    np.testing.assert_allclose(np.asarray(frame.traces[1]["x"], float), np.asarray(box.figure.data[1].x, float), atol=1e-5)


def test_diffusion_explorer_more_steps_bring_the_sde_closer_to_the_target_mean():
    ex = _diffusion_explorer(num_samples=2000)
    few = ex.frame(num_steps=2, sampler="reverse SDE")
    many = ex.frame(num_steps=16, sampler="reverse SDE")
    spread = lambda f: np.mean(np.hypot(np.asarray(f.traces[1]["x"]), np.asarray(f.traces[1]["y"])))  # noqa: E731
    assert abs(spread(many) - 2.0) < abs(spread(few) - 2.0)  # the samples' mean radius approaches the circle's


def test_diffusion_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="step_counts"):
        _diffusion_explorer(step_counts=[0, 4])
    with pytest.raises(ValueError, match="sampler"):
        _diffusion_explorer(sampler="DDIM")
    with pytest.raises(ValueError, match="means"):
        viz_sp.diffusion_explorer(W_D, MU_D[:, :1], SIG_D, step_counts=COUNTS)


def test_diffusion_samples_figure_has_one_panel_per_sampler():
    fig = viz_sp.diffusion_samples_figure(MU_D, {"a": MU_D, "b": MU_D + 1})
    assert len(fig.data) == 3
    with pytest.raises(ValueError, match="N × 2"):
        viz_sp.diffusion_samples_figure(MU_D, {"a": np.zeros(3)})


# --------------------------------------------------------------------------- Schrödinger bridge explorer
PSB = {
    "log_alpha": jnp.zeros(2, jnp.float32),
    "r": jnp.asarray([[2.0, 0.0], [-2.0, 0.0]], jnp.float32),
    "log_s": jnp.full((2, 2), -1.0, jnp.float32),
}
X0_SB = jax.random.normal(jax.random.key(5), (300, 2), jnp.float32)
TIMES_SB = [0.0, 0.5, 1.0]


def _bridge_explorer(**kw):
    return viz_sp.schrodinger_bridge_explorer(PSB, X0_SB, 0.1, **({"times": TIMES_SB} | kw))


def test_schrodinger_bridge_explorer_live_change_equals_the_library_run():
    ex = _bridge_explorer()
    box = ex.widget()
    k_x1, k_bridge = jax.random.split(jax.random.key(0))
    x1 = sp.light_sb_sample(PSB, X0_SB, 0.1, key=k_x1)
    box.controls["t"].value = 1.0
    np.testing.assert_allclose(np.asarray(box.figure.data[-1].x, float), np.asarray(x1[:, 0]), atol=1e-5)
    box.controls["t"].value = 0.5
    want = sp.brownian_bridge(X0_SB, x1, 0.5, 0.1, key=k_bridge)
    np.testing.assert_allclose(np.asarray(box.figure.data[-1].y, float), np.asarray(want[:, 1]), atol=1e-5)
    box.controls["t"].value = 0.0
    np.testing.assert_allclose(np.asarray(box.figure.data[-1].x, float), np.asarray(X0_SB[:, 0]), atol=1e-5)
    assert "t = 0.00" in box.figure.layout.title.text
    box.controls["t"].value = 0.5  # warm: compiled, re-runs without recompiling
    assert ex.last_latency_s is not None and ex.last_latency_s < 1.0


def test_schrodinger_bridge_explorer_static_steps_differ_and_equal_the_widget():
    ex = _bridge_explorer(target=np.zeros((10, 2)))
    sliders = ex.static_figure().layout.sliders
    payloads = [repr(s["args"]) for sl in sliders for s in sl.steps]
    assert len(set(payloads)) == len(payloads) == len(TIMES_SB)
    box = ex.widget()
    frame = ex.frame(t=1.0)
    box.controls["t"].value = 1.0
    np.testing.assert_allclose(np.asarray(frame.traces[2]["x"], float), np.asarray(box.figure.data[2].x, float), atol=1e-6)


def test_schrodinger_bridge_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="times"):
        _bridge_explorer(times=[0.0, 1.5])
    with pytest.raises(ValueError, match="x0"):
        viz_sp.schrodinger_bridge_explorer(PSB, X0_SB[:, :1], 0.1, times=TIMES_SB)
# --------------------------------------------------------------------------- mirrored SVGD explorer
ALPHA_MS = np.array([2.0, 3.0, 5.0])
HS_MS = [0.01, 0.1, 1.0]


def _ms_explorer(**kw):
    return viz_sp.mirrored_svgd_explorer(ALPHA_MS, **({"learning_rates": HS_MS, "num_particles": 40,
                                                       "num_steps": 50} | kw))


def _dirichlet_f(th):
    return -jnp.sum((jnp.asarray(ALPHA_MS, th.dtype) - 1.0) * jnp.log(th))


def test_mirrored_svgd_explorer_live_change_equals_the_library_run():
    ex = _ms_explorer()
    box = ex.widget()
    box.controls["learning_rate"].value = HS_MS[1]
    h = box.controls["learning_rate"].value
    k_init, _ = jax.random.split(jax.random.key(0))
    x0 = sp.entropic_primal(jax.random.normal(k_init, (40, 2)))
    out = sp.mirrored_svgd(_dirichlet_f, x0, learning_rate=h, num_steps=50, bandwidth=10.0)
    th = np.asarray(out.params, float)
    np.testing.assert_allclose(np.asarray(box.figure.data[1].x, float), th[:, 1] + 0.5 * th[:, 2], atol=1e-4)
    np.testing.assert_allclose(np.asarray(box.figure.data[1].y, float), np.sqrt(3) / 2 * th[:, 2], atol=1e-4)
    # warm: compiled; a change re-runs the library without recompiling
    box.controls["learning_rate"].value = HS_MS[2]
    assert ex.last_latency_s is not None and ex.last_latency_s < 1.0


def test_mirrored_svgd_explorer_static_steps_differ_and_converge():
    ex = _ms_explorer()
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(steps) == len(HS_MS) and len(set(payloads)) == len(payloads)
    errs = [float(s["args"][1]["title.text"].split("max |mean error| ")[1].split(",")[0]) for s in steps]
    assert errs[-1] < errs[0]  # a larger step has converged further in the same number of steps


def test_mirrored_svgd_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        viz_sp.mirrored_svgd_explorer([1.0, -1.0, 2.0], learning_rates=HS_MS)
    with pytest.raises(ValueError, match="num_steps"):
        _ms_explorer(num_steps=1)
    with pytest.raises(ValueError, match="learning_rates"):
        _ms_explorer(learning_rates=[0.1, -0.1])
