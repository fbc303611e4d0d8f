"""Explorer of chapter 18: the live widget re-runs the library, the static steps show the same data."""

import numpy as np
import pytest

from optlab import prox as px
from optlab.viz import prox as viz_px

RNG = np.random.default_rng(0)
A18 = RNG.normal(size=(30, 40)).astype(np.float32)
X18 = np.zeros(40, np.float32)
X18[[3, 17, 29]] = [1.5, -2.0, 1.0]
B18 = (A18 @ X18 + 0.1 * RNG.normal(size=30)).astype(np.float32)
LAM_MAX = float(px.lasso_reg_max(A18, B18))
REGS = [0.05 * LAM_MAX, 0.2 * LAM_MAX, 0.5 * LAM_MAX]


def _explorer(**kw):
    args = dict(regs=REGS, reg=REGS[1], num_steps=60, x_true=X18)
    return viz_px.lasso_explorer(A18, B18, **(args | kw))


def _static_step(ex, index):
    steps = ex.static_figure().layout.sliders[-1].steps
    payloads = [repr(s["args"]) for s in steps]
    assert len(set(payloads)) == len(payloads), "two static steps show the same figure"
    data, layout, indices = steps[index]["args"]
    return data, layout, list(indices)


def test_lasso_explorer_live_change_equals_the_library_run():
    ex = _explorer()
    box = ex.widget()
    box.controls["reg"].value = REGS[0]
    reg = box.controls["reg"].value
    runs = [px.lasso(A18, B18, reg=reg, num_steps=60, acceleration=a) for a in ("none", "fista", "restart")]
    ref = px.lasso(A18, B18, reg=reg, num_steps=60, acceleration="restart", x0=runs[2].params)
    for i, run in enumerate(runs):
        want = np.asarray(run.values, float) - float(ref.values[-1])
        got = np.asarray(box.figure.data[i].y, float)
        ok = want > 0
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-3)
    np.testing.assert_allclose(box.figure.data[5].y, np.asarray(runs[2].params), atol=1e-6)
    nnz = int(np.sum(np.abs(np.asarray(runs[2].params)) > 1e-8))
    assert f"{nnz} of 40 coefficients" in box.figure.layout.title.text


def test_lasso_explorer_bounds_lie_above_the_curves():
    ex = _explorer()
    for reg in REGS:
        frame = ex.frame(reg=reg)
        k = np.asarray(frame.traces[3]["x"])
        for i, bound in ((0, 3), (1, 4)):
            y = np.asarray(frame.traces[i]["y"], float)[1:]
            b = np.asarray(frame.traces[bound]["y"], float)
            ok = np.isfinite(y)
            assert np.all(y[ok] <= b[ok] * (1 + 1e-3) + 1e-5), (reg, i)
        assert len(k) == 60


def test_lasso_explorer_static_step_equals_the_widget():
    ex = _explorer()
    data, layout, _ = _static_step(ex, 2)  # λ = 0.5 λ_max
    box = ex.widget()
    box.controls["reg"].value = REGS[2]
    np.testing.assert_allclose(np.asarray(data["y"][5], float), np.asarray(box.figure.data[5].y, float), atol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_lasso_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        _explorer(num_steps=0)
    with pytest.raises(ValueError, match="A must be"):
        viz_px.lasso_explorer(A18[0], B18, regs=REGS)
    with pytest.raises(ValueError):
        _explorer(reg=0.123)  # not among the static values


def test_lasso_path_figure_draws_every_coefficient():
    regs = LAM_MAX * np.logspace(0, -2, 5)
    path = np.stack([np.asarray(px.lasso(A18, B18, reg=r, num_steps=50).params) for r in regs])
    fig = viz_px.lasso_path_figure(regs, path, support=[3, 17, 29], reg_max=LAM_MAX)
    off = int(np.sum(np.any(np.delete(path, [3, 17, 29], axis=1) != 0, axis=0)))
    assert 0 < off < 37  # some off-support coordinates enter the path, not all
    assert len(fig.data) == 3 + off  # coordinates that stay at zero are left out
    assert sum(tr.showlegend is not False for tr in fig.data) == 4  # 3 support lines + one legend entry for the rest


# ------------------------------------------------------------------ the model-based explorer
RP = np.random.default_rng(18)
A_PR = RP.normal(size=(40, 6)).astype(np.float32)
X_NAT = RP.normal(size=6).astype(np.float32)
X_NAT /= np.linalg.norm(X_NAT)
B_PR = (A_PR @ X_NAT) ** 2
X0_PR = (0.5 * RP.normal(size=6)).astype(np.float32)
ALPHAS = [1e-3, 1e-2, 0.3]


def _mb_explorer(**kw):
    return viz_px.model_based_explorer(A_PR, B_PR, X0_PR, **({"learning_rates": ALPHAS, "num_passes": 10} | kw))


def test_model_based_explorer_live_change_equals_the_library_run():
    import jax

    box = _mb_explorer().widget()
    box.controls["learning_rate"].value = ALPHAS[2]
    alpha = box.controls["learning_rate"].value
    for i, model in enumerate(("subgradient", "prox_linear", "proximal_point")):
        out = px.stochastic_model_based(px.phase_retrieval_residual, A_PR, B_PR, X0_PR, model=model,
                                        learning_rate=alpha, num_steps=400, key=jax.random.key(0),
                                        sample_prox=px.phase_retrieval_sample_prox)
        want = np.asarray(out.values, float)[::40]
        got = np.asarray(box.figure.data[i].y, float)
        ok = np.isfinite(want) & (want > 0) & (want < 1e6)
        np.testing.assert_allclose(got[ok], want[ok], rtol=1e-5)
        assert np.all(np.isnan(got[~ok]))
    # at a large step the subgradient method diverges and the two models do not
    assert "subgradient diverged" in box.figure.layout.title.text
    assert np.nanmax(np.asarray(box.figure.data[1].y, float)[-1:]) < 1e-3


def test_model_based_explorer_static_step_equals_the_widget():
    ex = _mb_explorer()
    steps = ex.static_figure().layout.sliders[-1].steps
    assert len(steps) == len(ALPHAS)
    data, layout, _ = steps[0]["args"]
    box = ex.widget()
    box.controls["learning_rate"].value = ALPHAS[0]
    np.testing.assert_allclose(np.asarray(data["y"][1], float), np.asarray(box.figure.data[1].y, float), rtol=1e-4)
    assert layout["title.text"] == box.figure.layout.title.text


def test_model_based_explorer_refuses_bad_arguments():
    with pytest.raises(ValueError, match="num_passes"):
        _mb_explorer(num_passes=0)
    with pytest.raises(ValueError, match="x0 of shape"):
        viz_px.model_based_explorer(A_PR, B_PR, X0_PR[:3], learning_rates=ALPHAS)
    with pytest.raises(ValueError):
        _mb_explorer(learning_rate=0.123)  # not among the static values
