"""optlab.viz: figure structure, the CDN-free renderer, and the live widget wrapper."""

import subprocess
import sys

import ipywidgets
import jax
import numpy as np
import plotly.io as pio
import pytest

from optlab import first_order, problems, runner, viz


def test_renderer_emits_plotly_json_and_cdn_free_html():
    fig = viz.convergence_figure({"a": np.geomspace(1, 1e-6, 20)})
    bundle = pio.renderers["optlab"].to_mimebundle(fig.to_dict())
    assert set(bundle) == {"application/vnd.plotly.v1+json", "text/html"}
    html = bundle["text/html"]
    assert "Plotly.newPlot" in html and "cdn.plot.ly" not in html and "<script src=" not in html


def test_use_book_renderer_sets_the_default_and_returns_the_previous_one():
    before = pio.renderers.default
    try:
        pio.renderers.default = "json"
        assert viz.use_book_renderer() == "json"
        assert pio.renderers.default == "optlab"
        assert viz.use_book_renderer() == "optlab"
    finally:
        pio.renderers.default = before


def test_importing_viz_leaves_plotly_default_renderer_alone():
    """A library import must not change global state: the default is the notebook's choice."""
    code = (
        "import plotly.io as pio\n"
        "before = pio.renderers.default\n"
        "import optlab.viz, optlab.viz.ot, optlab.viz.privacy\n"
        "assert 'optlab' in pio.renderers, 'the named renderer is registered'\n"
        "assert pio.renderers.default == before, (before, pio.renderers.default)\n"
        "pio.renderers.default = 'json'\n"
        "import importlib; importlib.reload(optlab.viz.core)\n"
        "assert pio.renderers.default == 'json', pio.renderers.default\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


def test_log_axes_mask_nonpositive_values():
    fig = viz.convergence_figure({"a": np.array([1.0, 0.0, -1.0, 0.5])})
    y = np.asarray(fig.data[0].y, dtype=float)
    assert np.isnan(y[1]) and np.isnan(y[2]) and y[3] == 0.5


def test_convergence_slider_has_one_step_per_parameter():
    curves = {"gd": np.ones((3, 10)), "hb": np.ones((3, 10))}
    fig = viz.convergence_slider(curves, [0.1, 0.2, 0.3], "η")
    steps = fig.layout.sliders[0].steps
    assert len(steps) == 3 and len(fig.data) == 6
    assert [d.visible for d in fig.data] == [True, True, False, False, False, False]
    assert steps[2].args[0]["visible"] == [False, False, False, False, True, True]
    with pytest.raises(ValueError, match="must have shape"):
        viz.convergence_slider({"gd": np.ones((2, 10))}, [0.1, 0.2, 0.3], "η")


def test_trajectory_explorer_has_two_independent_sliders():
    quads = [problems.quadratic(k, 2) for k in (2.0, 10.0)]
    etas = np.array([0.5, 1.0, 1.9])
    paths = np.stack([np.asarray(runner.sweep(lambda e: first_order.gd(e), etas, q, q.x0, num_steps=5).iterates)
                      for q in quads])
    fig = viz.trajectory_explorer([q.value for q in quads], paths, etas, "η", option_values=[2, 10],
                                  option_label="κ", xlim=(-1, 1), ylim=(-1, 1))
    assert len(fig.layout.sliders) == 2
    step = fig.layout.sliders[0].steps[1]
    assert step.method == "restyle" and list(step.args[1]) == [2, 3]
    np.testing.assert_allclose(step.args[0]["x"][1], paths[1, 1, :, 0], rtol=1e-4)
    assert "visible" not in step.args[0]
    vis = fig.layout.sliders[1].steps[1].args[0]["visible"]
    assert vis == [False, True, False, True]
    with pytest.raises(ValueError, match="trajectories must have shape"):
        viz.trajectory_explorer([quads[0].value], paths, etas, "η", xlim=(-1, 1), ylim=(-1, 1))


def test_divergent_paths_are_clipped_to_finite_values():
    q = problems.quadratic(10.0, 2)
    traj = np.asarray(runner.run(first_order.gd(5.0), q, q.x0, num_steps=80).iterates)
    assert not np.all(np.isfinite(traj)) or np.abs(traj).max() > 1e6
    fig = viz.contour_trajectories(q.value, {"gd": traj}, xlim=(-1, 1), ylim=(-1, 1))
    assert np.all(np.isfinite(np.asarray(fig.data[1].x, dtype=float)))


SHARED_HELPERS = ("style_figure", "slider_menu", "level_set_contour", "path_trace", "clip_path",
                  "format_number", "as_float_array", "mask_nonpositive")


def test_shared_helpers_are_public_and_documented():
    """One home per helper (issue 19): topic modules import these from core instead of copying."""
    from optlab.viz import core

    assert set(core.__all__) <= set(viz.__all__)
    for name in SHARED_HELPERS:
        assert name in core.__all__ and getattr(viz, name) is getattr(core, name)
        doc = getattr(core, name).__doc__ or ""
        assert "Args:" in doc and "Returns:" in doc, name
    assert viz.format_number(0.123456) == "0.123" and viz.format_number("κ = 1") == "κ = 1"
    assert [viz.format_number(v) for v in (1000, 1000.0, np.int64(64), -3.0, 1e6, 2.5e-4, 12345.6)] == [
        "1000", "1000", "64", "-3", "1e+06", "0.00025", "1.23e+04"]
    y = np.array([1.0, 0.0, -1.0, np.nan])
    masked = viz.mask_nonpositive(y)
    assert masked[0] == 1.0 and np.isnan(masked[1:]).all() and y[1] == 0.0  # a copy
    assert viz.mask_nonpositive(y, log=False) is y
    clipped = viz.clip_path([[0.0, np.nan], [np.inf, -np.inf]], (-1, 1), (0, 2), margin=0.5)
    np.testing.assert_array_equal(clipped, [[0.0, 3.0], [2.0, -1.0]])
    fig = viz.style_figure(viz.convergence_figure({"a": np.ones(3)}), "t", "x", "y", height=300)
    assert fig.layout.height == 300 and fig.layout.margin.t == 60
    slider = viz.slider_menu(["a", "b"], "p = ", [("restyle", [{}])] * 2, active=1)
    assert slider["active"] == 1 and [s["label"] for s in slider["steps"]] == ["a", "b"]


def test_heatmap_slider_shapes():
    fig = viz.heatmap_slider(np.random.default_rng(0).random((4, 5, 6)), [1, 2, 3, 4], "ε")
    assert len(fig.data) == 4 and len(fig.layout.sliders[0].steps) == 4


def test_live_widget_callbacks_update_the_figure():
    q = problems.quadratic(10.0, 2)
    base = viz.convergence_figure({"gd": np.ones(31)})

    def redraw(fig, eta):
        tr = runner.run(first_order.gd(eta), q, q.x0, num_steps=30)
        fig.data[0].y = np.asarray(tr.values)

    slider = ipywidgets.FloatSlider(value=0.5, min=0.05, max=1.9)
    box = viz.live(redraw, base, eta=slider)
    first = np.array(box.figure.data[0].y)
    slider.value = 1.5
    second = np.array(box.figure.data[0].y)
    assert not np.allclose(first, second)
    expected = runner.run(first_order.gd(1.5), q, q.x0, num_steps=30).values
    np.testing.assert_allclose(second, expected, rtol=1e-6)
    with pytest.raises(ValueError, match="at least one control"):
        viz.live(redraw, base)


def test_book_renderer_shows_numpy_and_jax_scalars_as_plain_numbers():
    """myst_nb.glue formats the text/plain of a glued value: np.float64(0.5) would not parse."""
    import jax.numpy as jnp
    import numpy as np
    import plotly.io as pio
    from IPython.core.interactiveshell import InteractiveShell

    from optlab import viz

    shell = InteractiveShell.instance()
    previous = viz.use_book_renderer()
    try:
        def text(x):
            return shell.display_formatter.format(x)[0]["text/plain"]

        assert text(np.float64(0.5107)) == "0.5107"
        assert text(np.float32(0.25)) == "0.25"
        assert text(np.int64(3)) == "3" and text(np.bool_(True)) == "True"
        assert text(jnp.float32(2.5)) == "2.5"
        assert text(jnp.ones(2)).startswith("Array(")
    finally:
        pio.renderers.default = previous
        InteractiveShell.clear_instance()
