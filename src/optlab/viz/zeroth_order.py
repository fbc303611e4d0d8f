"""Figures for the zeroth-order chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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

__all__ = ["cbo_particles_figure", "second_moment_figure", "discrete_estimators_figure"]


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
