"""The explorers of chapters 1-6: each live widget re-runs the library, and the static frames agree.

For every builder: after a control change, the live figure's data equals an independent
call of the library for those values; a static slider step equals the widget's data for
the same values; bad arguments raise with the argument named.  Float32 throughout.
"""

import itertools

import jax.numpy as jnp
import numpy as np
import pytest

from optlab import first_order, problems, runner
from optlab.viz import first_order as viz_gd


def _static_step(fig, index):
    """The ``(data, layout, trace indices)`` of step ``index`` of the explorer's slider."""
    data, layout, indices = fig.layout.sliders[-1].steps[index]["args"]
    return data, layout, list(indices)


def _assert_step_matches_widget(fig, index, box, rtol=1e-4):
    data, layout, indices = _static_step(fig, index)
    for key, values in data.items():
        for i, v in zip(indices, values, strict=True):
            live = np.asarray(box.figure.data[i][key], dtype=float)
            np.testing.assert_allclose(np.asarray(v, dtype=float), live, rtol=rtol, atol=1e-30, err_msg=key)
    for key, v in layout.items():
        assert v == box.figure.layout[key]


# ------------------------------------------------------------------ chapter 1: GD on a quadratic
def test_gd_explorer_reruns_gd_and_matches_its_static_frames():
    ex = viz_gd.gd_explorer(num_steps=30)
    box = ex.widget()
    box.controls["step"].value = 1.5
    box.controls["kappa"].value = 50.0
    quad = problems.quadratic(kappa=50.0, dim=2)
    ref = runner.run(first_order.gd(1.5 / quad.L), quad, jnp.array([-1.3, 1.1], jnp.float32), num_steps=30)
    assert ref.values.dtype == jnp.float32
    np.testing.assert_allclose(box.figure.data[1].x, np.asarray(ref.iterates[:, 0]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(box.figure.data[1].y, np.asarray(ref.iterates[:, 1]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(box.figure.data[3].y, np.asarray(ref.values), rtol=1e-5)
    assert "ρ = max|1 − ηλᵢ| = 0.97" in box.figure.layout.title.text

    fig = ex.static_figure()
    combos = list(itertools.product(ex.controls["step"].values, ex.controls["kappa"].values))
    assert len(fig.layout.sliders[-1].steps) == len(combos)
    for index in (0, len(combos) // 2, len(combos) - 1):
        step, kappa = combos[index]
        box.controls["step"].value = step
        box.controls["kappa"].value = kappa
        _assert_step_matches_widget(fig, index, box)


def test_gd_explorer_every_static_step_changes_the_figure():
    fig = viz_gd.gd_explorer(
        steps=(0.5, 1.9, 2.05), kappas=(2.0, 10.0), step=1.9, num_steps=10
    ).static_figure()
    steps = [repr(s["args"][:2]) for s in fig.layout.sliders[-1].steps]
    assert len(set(steps)) == len(steps) == 6


def test_gd_explorer_takes_a_student_optimizer():
    def slow_gd(eta):
        return first_order.gd(0.5 * eta)

    _, gaps, _ = viz_gd.quadratic_gd_run(1.0, 10.0, num_steps=5, make_optimizer=slow_gd)
    _, ref_gaps, _ = viz_gd.quadratic_gd_run(0.5, 10.0, num_steps=5)
    np.testing.assert_allclose(gaps, ref_gaps, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"steps": (0.5, 3.0)}, ValueError, "steps"),
        ({"kappas": (0.5, 10.0)}, ValueError, "kappas"),
        ({"step": 0.7}, ValueError, "η·L"),
        ({"num_steps": 0}, ValueError, "num_steps"),
        ({"x0": (1.0, 2.0, 3.0)}, ValueError, "x0"),
        ({"make_optimizer": 0.1}, TypeError, "make_optimizer"),
    ],
)
def test_gd_explorer_bad_arguments_are_named(kwargs, error, name):
    with pytest.raises(error, match=name):
        viz_gd.gd_explorer(**kwargs)
