"""Explorer of chapter 19: the live widget re-runs the library, the static steps show the same data."""

import jax
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
