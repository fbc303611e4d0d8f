"""Figures for the zeroth-order chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import zeroth_order as zo
from .core import (
    COLORS,
    as_float_array,
    convergence_slider,
    grid_values,
    level_set_contour,
    mask_nonpositive,
    stepped_figure,
    style_figure,
)
from .explorer import Explorer, Frame, dropdown, log_slider

__all__ = [
    "cbo_particles_figure",
    "second_moment_figure",
    "discrete_estimators_figure",
    "zo_descent_explorer",
]


def cbo_particles_figure(
    value_fn: Callable,
    iterates: Any,
    consensus: Any,
    steps: Sequence[int],
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    minimizer: Any = None,
    gd_final: Any = None,
    resolution: int = 80,
    title: str | None = None,
    height: int = 600,
) -> go.Figure:
    """CBO particles over the level sets of a 2-D objective, one slider step per recorded cloud.

    Args:
      iterates: ``(S, N, 2)`` particle clouds (:attr:`CBOResult.iterates`); ``steps``: their
        iteration numbers.
      consensus: ``(T + 1, 2)`` consensus path; the part up to each snapshot is drawn.
      gd_final: optional ``(N, 2)`` end points of gradient descent from the same starts
        (drawn as grey crosses in every step).
    """
    S = np.asarray(iterates, dtype=float)
    V = np.asarray(consensus, dtype=float)
    if S.ndim != 3 or S.shape[-1] != 2:
        raise ValueError(f"iterates must have shape (S, N, 2), got {S.shape}")
    if len(steps) != S.shape[0]:
        raise ValueError(f"got {S.shape[0]} iterates but {len(steps)} steps")
    if V.ndim != 2 or V.shape[1] != 2:
        raise ValueError(f"consensus must have shape (T + 1, 2), got {V.shape}")
    xs, ys, Z = grid_values(value_fn, xlim, ylim, resolution)
    static = [level_set_contour(xs, ys, Z, log_levels=False)]
    if gd_final is not None:
        G = np.asarray(gd_final, dtype=float)
        static.append(
            go.Scatter(
                x=G[:, 0],
                y=G[:, 1],
                mode="markers",
                name="GD end points",
                marker=dict(symbol="x", size=6, color="#7f7f7f"),
            )
        )
    if minimizer is not None:
        m = np.asarray(minimizer, dtype=float)
        static.append(
            go.Scatter(
                x=[m[0]],
                y=[m[1]],
                mode="markers",
                name="global minimiser",
                marker=dict(symbol="star", size=15, color="black"),
            )
        )
    lo = np.array([xlim[0], ylim[0]])
    hi = np.array([xlim[1], ylim[1]])
    groups = []
    for j, t in enumerate(steps):
        P = np.clip(S[j], lo - 1, hi + 1).round(4)
        path = V[: int(t) + 1].round(4)
        groups.append(
            [
                go.Scatter(
                    x=P[:, 0],
                    y=P[:, 1],
                    mode="markers",
                    name="particles",
                    marker=dict(size=5, color=COLORS[0], opacity=0.6),
                ),
                go.Scatter(
                    x=path[:, 0],
                    y=path[:, 1],
                    mode="lines",
                    name="consensus v_α path",
                    line=dict(color=COLORS[1], width=2),
                ),
                go.Scatter(
                    x=[path[-1, 0]],
                    y=[path[-1, 1]],
                    mode="markers",
                    name="consensus v_α",
                    marker=dict(size=12, color=COLORS[1], symbol="diamond"),
                ),
            ]
        )
    fig = stepped_figure(
        groups,
        [int(t) for t in steps],
        prefix="iteration k = ",
        static=static,
        title=title,
        xaxis_title="x₁",
        yaxis_title="x₂",
        height=height,
    )
    fig.update_xaxes(range=list(xlim), constrain="domain")
    fig.update_yaxes(range=list(ylim), scaleanchor="x", scaleratio=1)
    return fig


def second_moment_figure(
    dims: Sequence[int],
    measured: Mapping[str, Any],
    num_directions: Sequence[int],
    theory: Mapping[str, Any],
    *,
    title: str | None = None,
    height: int = 500,
) -> go.Figure:
    """Measured ``E‖ĝ‖²/‖∇f‖²`` against the dimension ``d`` (log-log), with a slider over
    the number of directions ``m``.

    Args:
      measured: ``label ↦ (M, D)`` ratios, one row per ``m`` in ``num_directions``.
      theory: ``label ↦ (M, D)`` predicted ratios, drawn dashed.
    """
    for label, y in list(measured.items()) + list(theory.items()):
        shape = np.shape(y)
        if shape != (len(num_directions), len(dims)):
            raise ValueError(f"{label!r} must have shape ({len(num_directions)}, {len(dims)}), got {shape}")
    fig = convergence_slider(
        measured,
        list(num_directions),
        "directions m",
        x=list(dims),
        log_x=True,
        log_y=True,
        references=theory,
        title=title,
        xaxis_title="dimension d",
        yaxis_title="E‖ĝ‖² / ‖∇f‖²",
        height=height,
    )
    for tr in fig.data:
        if tr.line.dash is None:
            tr.mode = "lines+markers"
    return fig


def discrete_estimators_figure(
    scales: Sequence[float],
    bias: Mapping[str, Any],
    std: Mapping[str, Any],
    *,
    title: str | None = None,
    height: int = 440,
) -> go.Figure:
    """Bias ``‖E ĝ − ∇‖`` (left) and per-sample standard deviation (right) of discrete
    gradient estimators against the scale of the logits.

    Args:
      bias, std: ``label ↦ (P,)`` arrays over ``scales``.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("bias ‖E ĝ − ∇J‖ (relative)", "std of one sample (relative)"),
    )
    for i, label in enumerate(bias):
        c = COLORS[i % len(COLORS)]
        for col, data in ((1, bias[label]), (2, std[label])):
            y = mask_nonpositive(as_float_array(data))
            fig.add_trace(
                go.Scatter(
                    x=list(scales),
                    y=y,
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=col == 1,
                    line=dict(color=c, width=2),
                ),
                row=1,
                col=col,
            )
    style_figure(fig, title, None, None, height=height)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text="logit scale s (θ = s·θ₀)")
    return fig


def zo_descent_explorer(
    f: Callable,
    x0: Any,
    *,
    key: Any,
    budget: int,
    learning_rates: Sequence[float],
    learning_rate: float | None = None,
    f_star: float = 0.0,
    estimators: Sequence[str] = ("gaussian", "sphere"),
    smoothings: Sequence[float] = (1e-5, 1e-2, 1.0),
    smoothing: float | None = None,
    directions: Sequence[int] = (1, 4, 16),
    num_directions: int | None = None,
    step_scales: Mapping[str, float] | None = None,
    references: Mapping[str, tuple[Any, Any]] | None = None,
    descent: Callable[..., Any] | None = None,
    title: str | None = None,
    height: int = 480,
) -> Explorer:
    """Live figure: zeroth-order descent with a fixed budget of oracle calls, ``f − f*``
    against the calls, for a chosen smoothing ``μ``, number of directions ``m`` and step.

    Every change re-runs ``descent`` (default :func:`optlab.zeroth_order.zo_descent`,
    jitted: compiled once per estimator and ``m``; ``μ`` and the step are traced) for each
    estimator, with ``budget // evaluations_per_step`` steps, so that every curve spends
    the same number of function values. The static figure sweeps ``μ`` and ``m``; the step
    is a live control only.

    Args:
      f: scalar function of a ``(d,)`` array (keep the same object between calls: the
        compiled loop is cached on it).
      x0: ``(d,)`` start.
      key: a JAX PRNG key (the same for every run, so that changes are the controls').
      budget: oracle calls per run (positive integer).
      learning_rates: the step sizes the step slider offers (positive).
      learning_rate: the step shown first (default: the middle of ``learning_rates``).
      f_star: the optimal value subtracted from ``f``.
      estimators: keys of :data:`optlab.zeroth_order.ESTIMATORS`, one curve each.
      smoothings: the values of ``μ`` of the static figure (positive).
      smoothing: the ``μ`` shown first (default: the first of ``smoothings``).
      directions: the numbers of directions ``m`` the menu offers (positive integers).
      num_directions: the ``m`` shown first (default: the first of ``directions``).
      step_scales: ``estimator ↦ factor`` on the step (default 1), e.g. ``(d + 4)/d`` for
        ``"sphere"``, whose second moment is ``d`` rather than the Gaussian's ``d + 2``.
      references: fixed curves ``label ↦ (calls, f − f*)`` drawn in grey (e.g. gradient
        descent), not re-run.
      descent: ``descent(f, x0, key=, learning_rate=, num_steps=, estimator=,
        num_directions=, smoothing=)`` returning an object with ``values`` and
        ``evaluations`` (a student's implementation); default the library's.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with controls ``smoothing`` (log slider),
      ``num_directions`` (menu) and ``learning_rate`` (log slider).

    Raises:
      TypeError: ``f`` or ``descent`` not callable.
      ValueError: an unknown estimator (in ``estimators`` or ``step_scales``), a
        non-positive step factor, a non-positive ``budget`` or one too small for a
        single step, non-positive ``directions``, a default not among the values offered.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    descent = zo.zo_descent if descent is None else descent
    if not callable(descent):
        raise TypeError(f"descent must be callable, got {type(descent).__name__}")
    estimators = tuple(estimators)
    if not estimators or any(e not in zo.ESTIMATORS for e in estimators):
        raise ValueError(f"estimators must be keys of ESTIMATORS {sorted(zo.ESTIMATORS)}, got {estimators}")
    scales = dict(step_scales or {})
    if any(e not in estimators for e in scales) or any(not float(v) > 0 for v in scales.values()):
        raise ValueError(f"step_scales must map some of {estimators} to positive factors, got {scales}")
    directions = tuple(directions)
    if not directions or any(
        isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1 for m in directions
    ):
        raise ValueError(f"directions must be positive integers, got {directions}")
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise ValueError(f"budget must be a positive integer, got {budget!r}")
    d = int(np.shape(x0)[0])
    most = max(zo.evaluations_per_step(e, d, int(m)) for e in estimators for m in directions)
    if budget < most:
        raise ValueError(
            f"budget {budget} is smaller than one step of the costliest estimator ({most} calls)"
        )
    controls = {
        "smoothing": log_slider(
            "μ", smoothings, value=smoothings[0] if smoothing is None else smoothing, bounds=(1e-6, 10.0)
        ),
        "num_directions": dropdown(
            "directions m",
            [int(m) for m in directions],
            value=None if num_directions is None else int(num_directions),
        ),
        "learning_rate": log_slider(
            "step η",
            learning_rates,
            value=learning_rate,
            bounds=(min(learning_rates) / 10, max(learning_rates) * 10),
        ),
    }
    names = {
        "gaussian": "Gaussian one-sided",
        "central": "Gaussian central",
        "sphere": "sphere two-point",
        "forward": "forward gradient",
        "coordinate": "coordinate differences",
        "exact": "gradient descent",
    }
    fig = go.Figure()
    for i, e in enumerate(estimators):
        fig.add_trace(
            go.Scatter(mode="lines", name=names[e], line=dict(color=COLORS[i % len(COLORS)], width=2))
        )
    greys = ("#555555", "#999999", "#bbbbbb")
    for j, (label, (calls, gap)) in enumerate((references or {}).items()):
        fig.add_trace(
            go.Scatter(
                x=as_float_array(calls),
                y=mask_nonpositive(as_float_array(gap)),
                mode="lines",
                name=label,
                line=dict(color=greys[j % len(greys)], dash="dash", width=1.5),
            )
        )
    style_figure(
        fig, title, "oracle calls (function values / jvps / gradients)", "f(x_k) − f*", height=height
    )
    fig.update_yaxes(type="log", exponentformat="power")

    def update(smoothing, num_directions, learning_rate):
        traces, finals = {}, []
        for i, e in enumerate(estimators):
            m = int(num_directions)
            steps = budget // zo.evaluations_per_step(e, d, m)
            res = descent(
                f,
                x0,
                key=key,
                learning_rate=learning_rate * scales.get(e, 1.0),
                num_steps=steps,
                estimator=e,
                num_directions=m,
                smoothing=smoothing,
            )
            gap = np.asarray(res.values, dtype=float) - f_star
            traces[i] = {"x": np.asarray(res.evaluations, dtype=float), "y": mask_nonpositive(gap)}
            finals.append(f"{names[e]} {gap[-1]:.2e}")
        head = f"μ = {smoothing:.3g}, m = {int(num_directions)}, η = {learning_rate:.3g}"
        return Frame(traces, layout={"title.text": f"{head}. Final gap: " + ", ".join(finals)})

    return Explorer(fig, update, controls, static=["smoothing", "num_directions"])
