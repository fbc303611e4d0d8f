"""Generic plotly figures shared by every chapter.

Interactivity in the book is client-side only: sliders and frames over sweeps
that were precomputed (usually with ``vmap``), so figures keep working in the
static HTML.  :func:`live` wraps a figure in ipywidgets controls for JupyterLab.

Importing :mod:`optlab.viz` registers the ``"optlab"`` plotly renderer but leaves
plotly's default renderer alone (no global state changes on import);
:func:`use_book_renderer` makes it the default, and every chapter calls it in its
first code cell.  It emits two representations of every figure:

- ``application/vnd.plotly.v1+json``, drawn by JupyterLab's plotly extension;
- ``text/html``: a ``<div>`` and a ``Plotly.newPlot`` call *without* plotly.js,
  which the book serves itself (``book/_ext/optlab_sphinx.py``), so the built
  HTML needs no CDN and works offline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

__all__ = [
    "COLORS",
    "use_book_renderer",
    "convergence_figure",
    "convergence_slider",
    "contour_trajectories",
    "trajectory_explorer",
    "heatmap_slider",
    "stepped_figure",
    "live",
    "grid_values",
    # building blocks of the figures, shared by the topic modules (optlab.viz.<topic>)
    "style_figure",
    "slider_menu",
    "level_set_contour",
    "path_trace",
    "clip_path",
    "format_number",
    "as_float_array",
    "mask_nonpositive",
]

COLORS = (
    "#1f77b4",  # blue
    "#d62728",  # red
    "#2ca02c",  # green
    "#9467bd",  # purple
    "#ff7f0e",  # orange
    "#8c564b",  # brown
    "#e377c2",  # pink
    "#17becf",  # cyan
    "#7f7f7f",  # grey
    "#bcbd22",  # olive
)

_CONFIG = {"displaylogo": False, "responsive": True}


class OptlabRenderer(MimetypeRenderer):
    """Plotly JSON for JupyterLab plus a CDN-free HTML snippet for the book."""

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(
            fig_dict,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            config=_CONFIG,
            validate=False,
        )
        payload = {"data": fig_dict.get("data", []), "layout": fig_dict.get("layout", {})}
        if fig_dict.get("frames"):
            payload["frames"] = fig_dict["frames"]
        payload["config"] = _CONFIG
        return {"application/vnd.plotly.v1+json": _jsonable(payload), "text/html": html}


def _jsonable(obj):
    import json

    from plotly.utils import PlotlyJSONEncoder

    return json.loads(json.dumps(obj, cls=PlotlyJSONEncoder))


# Registering a new name is harmless; making it the default is left to use_book_renderer().
pio.renderers["optlab"] = OptlabRenderer()


def use_book_renderer() -> str:
    """Make the ``"optlab"`` renderer plotly's default, for a chapter or lab notebook.

    The book needs every figure twice: as self-contained HTML that draws with the
    plotly.js the book serves itself (no CDN, works offline in the static site), and
    as plotly JSON (``application/vnd.plotly.v1+json``) that JupyterLab draws.
    Plotly's own default renderers give one or the other, or inline all of plotly.js
    (several MB) into every figure.  Importing :mod:`optlab.viz` does not change
    plotly's global state; a notebook opts in by calling this in its first code cell::

        from optlab import viz

        viz.use_book_renderer()

    In an IPython kernel it also shows NumPy scalars as plain numbers (``0.51``, not
    NumPy 2's ``np.float64(0.51)``), so that a number glued into the prose with
    ``myst_nb.glue`` can be formatted by ``{glue:text}`name:.2f```.

    Returns:
      The name of the default renderer before the call (a string such as
      ``"plotly_mimetype+notebook"``; empty if there was none), so that a caller
      can restore it with ``plotly.io.renderers.default = previous``.
    """
    previous = pio.renderers.default or ""
    pio.renderers.default = "optlab"
    _plain_numpy_scalars()
    return previous


def _plain_numpy_scalars() -> None:
    """Register plain text/plain formatters for NumPy scalars in the running IPython shell."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with every kernel
        return
    shell = get_ipython()
    if shell is None:
        return
    plain = shell.display_formatter.formatters["text/plain"]
    # IPython looks printers up by the exact class first (each NumPy scalar type defines its
    # own __repr__), so every concrete type is registered, not the abstract np.floating
    for scalar_type in set(np.sctypeDict.values()):
        if issubclass(scalar_type, np.floating):
            plain.for_type(scalar_type, lambda x, p, cycle: p.text(repr(float(x))))
        elif issubclass(scalar_type, np.integer):
            plain.for_type(scalar_type, lambda x, p, cycle: p.text(repr(int(x))))
        elif issubclass(scalar_type, np.bool_):
            plain.for_type(scalar_type, lambda x, p, cycle: p.text(repr(bool(x))))
    # a 0-d JAX array glued as a number, too (other arrays keep their repr)
    import jax.numpy as jnp

    plain.for_type(type(jnp.zeros(())), lambda x, p, cycle: p.text(repr(x.item() if x.ndim == 0 else x)))


def as_float_array(x: Any) -> np.ndarray:
    """A NumPy float array of ``x`` (a JAX array, list or scalar), ready for plotly.

    Args:
      x: anything ``np.asarray`` accepts.

    Returns:
      ``np.asarray(x, dtype=float)`` (no copy when ``x`` already is one).
    """
    return np.asarray(x, dtype=float)


def style_figure(
    fig: go.Figure,
    title: str | None,
    xaxis_title: str | None,
    yaxis_title: str | None,
    height: int = 460,
    **layout: Any,
) -> go.Figure:
    """Give a figure the book's style: white template, margins, a translucent legend.

    Args:
      fig: the figure, changed in place.
      title: the figure title (``None``: no title, and a smaller top margin).
      xaxis_title: the x axis title (``None``: none; subplots set theirs per axis).
      yaxis_title: the y axis title.
      height: the figure height in pixels.
      **layout: further ``fig.update_layout`` arguments, applied in the same call.

    Returns:
      ``fig`` itself, so that calls can be chained.
    """
    fig.update_layout(
        template="plotly_white",
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
        height=height,
        margin=dict(l=60, r=20, t=60 if title else 30, b=50),
        legend=dict(bgcolor="rgba(255,255,255,0.7)"),
        **layout,
    )
    return fig


def mask_nonpositive(y: np.ndarray, log: bool = True) -> np.ndarray:
    """Hide non-positive values (and NaN) on a log axis, where plotly would drop them silently.

    Args:
      y: a float array.
      log: whether the axis is logarithmic; ``False`` returns ``y`` unchanged.

    Returns:
      A copy of ``y`` with every value that is not ``> 0`` set to NaN (a gap in the line),
      or ``y`` itself when ``log`` is false.
    """
    if not log:
        return y
    y = y.copy()
    y[~(y > 0)] = np.nan
    return y


def convergence_figure(
    curves: Mapping[str, Any],
    *,
    x: Any = None,
    log_x: bool = False,
    log_y: bool = True,
    title: str | None = None,
    xaxis_title: str = "iteration k",
    yaxis_title: str = "f(x_k) − f*",
    references: Mapping[str, Any] | None = None,
    height: int = 460,
) -> go.Figure:
    """Log-scale convergence curves, one line per method.

    Args:
      curves: ``label ↦ y`` (1-D arrays, same length as ``x`` if given).
      x: shared x values (default ``0, 1, …``); may also be a mapping
        ``label ↦ x`` when the curves have different x (e.g. wall time).
      references: ``label ↦ y`` drawn dashed, e.g. a theoretical bound.
    """
    fig = go.Figure()
    for i, (label, y) in enumerate(curves.items()):
        y = mask_nonpositive(as_float_array(y), log_y)
        xi = x[label] if isinstance(x, Mapping) else x
        xi = np.arange(len(y)) if xi is None else as_float_array(xi)
        fig.add_trace(
            go.Scatter(x=xi, y=y, mode="lines", name=label, line=dict(color=COLORS[i % len(COLORS)], width=2))
        )
    for label, y in (references or {}).items():
        y = mask_nonpositive(as_float_array(y), log_y)
        xi = x[label] if isinstance(x, Mapping) and label in x else (None if isinstance(x, Mapping) else x)
        xi = np.arange(len(y)) if xi is None else as_float_array(xi)
        fig.add_trace(
            go.Scatter(
                x=xi, y=y, mode="lines", name=label, line=dict(color="#555555", dash="dash", width=1.5)
            )
        )
    style_figure(fig, title, xaxis_title, yaxis_title, height=height)
    fig.update_xaxes(type="log" if log_x else "linear")
    fig.update_yaxes(type="log" if log_y else "linear", exponentformat="power")
    return fig


def slider_menu(
    labels: Sequence[str],
    prefix: str,
    steps_args: Sequence[tuple[str, list]],
    active: int = 0,
    y: float = 0.0,
    pad_t: int = 50,
) -> dict:
    """A plotly slider (for ``fig.update_layout(sliders=[...])``), one step per label.

    Args:
      labels: the label shown under each step.
      prefix: text shown before the current label (e.g. ``"η = "``).
      steps_args: one ``(method, args)`` per step, e.g.
        ``("restyle", [{"visible": [...]}])``, as plotly's slider steps take them.
      active: the step selected at first.
      y: the slider's vertical position (paper coordinates; ``< 0`` below another slider).
      pad_t: the padding above the slider, in pixels.

    Returns:
      The slider as a ``dict``.
    """
    return dict(
        active=active,
        currentvalue=dict(prefix=prefix, font=dict(size=13)),
        pad=dict(t=pad_t),
        y=y,
        steps=[
            dict(label=lab, method=method, args=args)
            for lab, (method, args) in zip(labels, steps_args, strict=True)
        ],
    )


def format_number(v: Any) -> str:
    """A label for a slider step or a category axis.

    Args:
      v: a number or a string.

    Returns:
      ``v`` unchanged if it is a string; an integer (or an integral float) below 10⁶ in
      magnitude in full (``1000``, ``64``); any other number to 3 significant digits
      (``0.1``, ``3.14``, ``1e+06``).
    """
    if isinstance(v, str):
        return v
    x = float(v)
    if x.is_integer() and abs(x) < 1e6:
        return f"{int(x):d}"
    return f"{x:.3g}"


def stepped_figure(
    groups: Sequence[Sequence[Any]],
    labels: Sequence[Any],
    *,
    prefix: str = "",
    static: Sequence[Any] = (),
    active: int = 0,
    title: str | None = None,
    xaxis_title: str | None = None,
    yaxis_title: str | None = None,
    height: int = 500,
) -> go.Figure:
    """One slider that shows one group of traces at a time.

    Args:
      groups: ``groups[j]`` is the list of plotly traces shown at slider step ``j``.
      labels: the slider's label for each step (numbers are formatted).
      static: traces always shown (e.g. a contour plot or a reference line).
    """
    if len(groups) != len(labels):
        raise ValueError(f"got {len(groups)} groups but {len(labels)} labels")
    if not groups:
        raise ValueError("stepped_figure needs at least one group")
    fig = go.Figure()
    for tr in static:
        fig.add_trace(tr)
    owner = []
    for j, group in enumerate(groups):
        for tr in group:
            tr.visible = j == active
            fig.add_trace(tr)
            owner.append(j)
    n_static = len(static)
    steps = []
    for j in range(len(groups)):
        visible = [True] * n_static + [o == j for o in owner]
        steps.append(("restyle", [{"visible": visible}]))
    style_figure(fig, title, xaxis_title, yaxis_title, height=height)
    fig.update_layout(sliders=[slider_menu([format_number(v) for v in labels], prefix, steps, active)])
    return fig


def convergence_slider(
    curves: Mapping[str, Any],
    param_values: Sequence[Any],
    param_label: str,
    *,
    x: Any = None,
    log_x: bool = False,
    log_y: bool = True,
    title: str | None = None,
    xaxis_title: str = "iteration k",
    yaxis_title: str = "f(x_k) − f*",
    references: Mapping[str, Any] | None = None,
    active: int = 0,
    height: int = 500,
) -> go.Figure:
    """Convergence curves with a slider over a precomputed parameter sweep.

    Args:
      curves: ``label ↦ y`` with ``y`` of shape ``(P, T)``: one row per value in
        ``param_values``.
      references: ``label ↦ y`` of shape ``(P, T)`` or ``(T,)``, drawn dashed.
    """
    P = len(param_values)
    groups = []
    for j in range(P):
        group = []
        for i, (label, y) in enumerate(curves.items()):
            y = as_float_array(y)
            if y.ndim != 2 or y.shape[0] != P:
                raise ValueError(f"curve {label!r} must have shape (P={P}, T), got {y.shape}")
            yj = mask_nonpositive(y[j], log_y)
            xj = np.arange(len(yj)) if x is None else as_float_array(x)
            group.append(
                go.Scatter(
                    x=xj,
                    y=yj,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    line=dict(color=COLORS[i % len(COLORS)], width=2),
                )
            )
        for label, y in (references or {}).items():
            y = as_float_array(y)
            yj = mask_nonpositive(y[j] if y.ndim == 2 else y, log_y)
            xj = np.arange(len(yj)) if x is None else as_float_array(x)
            group.append(
                go.Scatter(
                    x=xj,
                    y=yj,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    line=dict(color="#555555", dash="dash", width=1.5),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(param_values),
        prefix=f"{param_label} = ",
        active=active,
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
        height=height,
    )
    fig.update_xaxes(type="log" if log_x else "linear")
    fig.update_yaxes(type="log" if log_y else "linear", exponentformat="power")
    return fig


def grid_values(
    value_fn: Callable, xlim: tuple[float, float], ylim: tuple[float, float], resolution: int = 80
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``value_fn`` (of a 2-vector, JAX-traceable) on a grid; returns ``(xs, ys, Z)``."""
    import jax
    import jax.numpy as jnp

    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    pts = jnp.stack([jnp.asarray(X).ravel(), jnp.asarray(Y).ravel()], axis=-1)
    Z = np.asarray(jax.vmap(value_fn)(pts)).reshape(X.shape)
    return xs, ys, Z


def level_set_contour(
    xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, log_levels: bool = False, showscale: bool = False
) -> go.Contour:
    """The book's level sets of a 2-D objective: 25 blue contour lines, no hover.

    Args:
      xs, ys, Z: the grid and the values on it, as :func:`grid_values` returns them.
      log_levels: space the levels logarithmically above the minimum (``log10(Z − min Z + 1e-3)``),
        for objectives with a narrow valley.
      showscale: show the colour bar.

    Returns:
      The contour trace.
    """
    z = np.log10(Z - np.nanmin(Z) + 1e-3) if log_levels else Z
    return go.Contour(
        x=xs,
        y=ys,
        z=z,
        colorscale="Blues",
        reversescale=True,
        showscale=showscale,
        ncontours=25,
        contours=dict(coloring="lines"),
        line=dict(width=1),
        hoverinfo="skip",
        name="level sets",
        showlegend=False,
    )


def path_trace(traj: np.ndarray, label: str, color: str, visible: bool = True) -> go.Scatter:
    """An optimizer path in the plane as lines and markers.

    Args:
      traj: ``(T, 2)`` iterates (see :func:`clip_path` for divergent ones).
      label: the legend entry.
      color: the line and marker colour.
      visible: whether the trace is shown at first (sliders toggle it).

    Returns:
      The scatter trace.
    """
    return go.Scatter(
        x=traj[:, 0],
        y=traj[:, 1],
        mode="lines+markers",
        name=label,
        marker=dict(size=5, color=color),
        line=dict(color=color, width=2),
        visible=visible,
    )


def clip_path(
    traj: Any, xlim: tuple[float, float], ylim: tuple[float, float], margin: float = 0.5
) -> np.ndarray:
    """Clip a (possibly divergent) 2-D path just outside the plotting box, so the JSON stays finite.

    Args:
      traj: ``(T, 2)`` iterates; NaN and ±inf are allowed.
      xlim, ylim: the plotting box.
      margin: how far outside the box points may go, as a fraction of its width and height.

    Returns:
      A float copy of ``traj`` with every coordinate in the enlarged box (NaN and +inf
      to its upper edge, -inf to its lower edge).
    """
    traj = as_float_array(traj).copy()
    (x0, x1), (y0, y1) = xlim, ylim
    wx, wy = (x1 - x0) * margin, (y1 - y0) * margin
    traj[:, 0] = np.clip(
        np.nan_to_num(traj[:, 0], nan=x1 + wx, posinf=x1 + wx, neginf=x0 - wx), x0 - wx, x1 + wx
    )
    traj[:, 1] = np.clip(
        np.nan_to_num(traj[:, 1], nan=y1 + wy, posinf=y1 + wy, neginf=y0 - wy), y0 - wy, y1 + wy
    )
    return traj


def contour_trajectories(
    value_fn: Callable,
    trajectories: Mapping[str, Any],
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    minimizer: Any = None,
    log_levels: bool = False,
    resolution: int = 80,
    title: str | None = None,
    height: int = 500,
) -> go.Figure:
    """Level sets of a 2-D objective with one or more optimizer paths on top."""
    xs, ys, Z = grid_values(value_fn, xlim, ylim, resolution)
    fig = go.Figure(level_set_contour(xs, ys, Z, log_levels))
    for i, (label, traj) in enumerate(trajectories.items()):
        fig.add_trace(path_trace(clip_path(traj, xlim, ylim), label, COLORS[i % len(COLORS)]))
    if minimizer is not None:
        m = as_float_array(minimizer)
        fig.add_trace(
            go.Scatter(
                x=[m[0]],
                y=[m[1]],
                mode="markers",
                name="minimiser",
                marker=dict(symbol="star", size=14, color="black"),
            )
        )
    style_figure(fig, title, "x₁", "x₂", height=height)
    fig.update_xaxes(range=list(xlim), constrain="domain")
    fig.update_yaxes(range=list(ylim), scaleanchor="x", scaleratio=1)
    return fig


def trajectory_explorer(
    value_fns: Sequence[Callable],
    trajectories: Any,
    param_values: Sequence[Any],
    param_label: str,
    *,
    option_values: Sequence[Any] = ("",),
    option_label: str = "",
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    minimizer: Any = None,
    log_levels: bool = False,
    resolution: int = 70,
    title: str | None = None,
    path_label: str = "iterates",
    height: int = 560,
) -> go.Figure:
    """Contours plus a path, with two independent sliders.

    One slider picks the *problem* (``option_values``, e.g. the condition number
    κ); the other the *method parameter* (``param_values``, e.g. the step size).
    Both work in the static HTML: the problem slider toggles visibility and the
    parameter slider swaps the path data (``restyle`` of ``x``/``y`` only).

    Args:
      value_fns: one objective (of a 2-vector) per option.
      trajectories: array of shape ``(n_options, n_params, T, 2)``.
    """
    traj = as_float_array(trajectories)
    n_opt, n_par = len(value_fns), len(param_values)
    if traj.ndim != 4 or traj.shape[:2] != (n_opt, n_par) or traj.shape[-1] != 2:
        raise ValueError(f"trajectories must have shape ({n_opt}, {n_par}, T, 2), got {traj.shape}")
    if len(option_values) != n_opt:
        raise ValueError(f"got {n_opt} value_fns but {len(option_values)} option_values")
    traj = np.stack([np.stack([clip_path(t, xlim, ylim) for t in row]) for row in traj])

    fig = go.Figure()
    contour_idx, path_idx = [], []
    for o, fn in enumerate(value_fns):
        xs, ys, Z = grid_values(fn, xlim, ylim, resolution)
        c = level_set_contour(xs, ys, Z, log_levels)
        c.visible = o == 0
        contour_idx.append(len(fig.data))
        fig.add_trace(c)
    for o in range(n_opt):
        path_idx.append(len(fig.data))
        fig.add_trace(path_trace(traj[o, 0], path_label, COLORS[1], visible=o == 0))
    if minimizer is not None:
        m = as_float_array(minimizer)
        fig.add_trace(
            go.Scatter(
                x=[m[0]],
                y=[m[1]],
                mode="markers",
                name="minimiser",
                marker=dict(symbol="star", size=14, color="black"),
            )
        )
    n_traces = len(fig.data)

    def _coords(a):
        return [float(f"{v:.5g}") for v in a]

    # The parameter slider restyles only the x/y data of the path traces and the
    # problem slider only their visibility, so the two never undo each other.
    param_steps = []
    for p in range(n_par):
        path_xs = [_coords(traj[o, p, :, 0]) for o in range(n_opt)]
        path_ys = [_coords(traj[o, p, :, 1]) for o in range(n_opt)]
        param_steps.append(("restyle", [{"x": path_xs, "y": path_ys}, path_idx]))
    sliders = [
        slider_menu(
            [format_number(v) for v in param_values], f"{param_label} = ", param_steps, y=0.0, pad_t=40
        )
    ]
    if n_opt > 1:
        opt_steps = []
        for o in range(n_opt):
            visible = [True] * n_traces
            for q in range(n_opt):
                visible[contour_idx[q]] = q == o
                visible[path_idx[q]] = q == o
            opt_steps.append(("restyle", [{"visible": visible}]))
        sliders.append(
            slider_menu(
                [format_number(v) for v in option_values], f"{option_label} = ", opt_steps, y=-0.22, pad_t=40
            )
        )
    style_figure(fig, title, "x₁", "x₂", height=height + (90 if n_opt > 1 else 0))
    fig.update_layout(sliders=sliders, margin=dict(b=140 if n_opt > 1 else 80))
    fig.update_xaxes(range=list(xlim), constrain="domain")
    fig.update_yaxes(range=list(ylim), scaleanchor="x", scaleratio=1)
    return fig


def heatmap_slider(
    matrices: Any,
    param_values: Sequence[Any],
    param_label: str,
    *,
    x: Any = None,
    y: Any = None,
    colorscale: str = "Viridis",
    log_color: bool = False,
    title: str | None = None,
    xaxis_title: str | None = None,
    yaxis_title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """A heatmap (e.g. a transport plan) with a slider over a parameter sweep.

    Args:
      matrices: array of shape ``(P, n, m)``; ``log_color`` shows ``log10``.
    """
    M = as_float_array(matrices)
    if M.ndim != 3 or M.shape[0] != len(param_values):
        raise ValueError(f"matrices must have shape (P={len(param_values)}, n, m), got {M.shape}")
    if log_color:
        M = np.log10(np.maximum(M, 1e-300))
    groups = [
        [
            go.Heatmap(
                z=M[j], x=x, y=y, colorscale=colorscale, colorbar=dict(title="log₁₀" if log_color else "")
            )
        ]
        for j in range(M.shape[0])
    ]
    fig = stepped_figure(
        groups,
        list(param_values),
        prefix=f"{param_label} = ",
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
        height=height,
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def live(update: Callable[..., None], figure: go.Figure, **controls: Any):
    """Wrap ``figure`` in ipywidgets controls for live use in JupyterLab.

    ``update(fig, **values)`` is called with the current control values each
    time one changes, inside ``fig.batch_update()``, and must modify ``fig``
    in place (e.g. ``fig.data[0].y = ...``).  Returns the ``VBox``; its
    ``.figure`` attribute is the live ``FigureWidget`` and ``.controls`` the
    dict of controls, so tests can drive the callbacks without a browser.

    Example::

        box = viz.live(redraw, fig, eta=ipywidgets.FloatSlider(0.1, min=0.01, max=2))
    """
    import ipywidgets

    if not controls:
        raise ValueError("live needs at least one control")
    fig = go.FigureWidget(figure)

    def _values():
        return {name: c.value for name, c in controls.items()}

    def _refresh(_change=None):
        with fig.batch_update():
            update(fig, **_values())

    for c in controls.values():
        c.observe(_refresh, names="value")
    _refresh()
    box = ipywidgets.VBox([*controls.values(), fig])
    box.figure = fig
    box.controls = controls
    box.refresh = _refresh
    return box
