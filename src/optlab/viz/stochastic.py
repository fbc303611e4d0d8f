"""Figures for the stochastic and variance-reduced chapter (book/03_stochastic).

All figures are built from precomputed (vmapped) sweeps and are interactive
client-side only (sliders restyle precomputed traces), so they work in the
static book.  Curves are downsampled to at most ``max_points`` points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .core import (
    COLORS,
    as_float_array,
    convergence_figure,
    convergence_slider,
    mask_nonpositive,
    stepped_figure,
    style_figure,
)

__all__ = [
    "variance_reduction_slider",
    "noise_floor_figure",
    "clipping_bias_slider",
    "tail_quantiles_figure",
    "schedules_figure",
]


def _thin(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, len(y) - 1, max_points).round().astype(int))
    return x[idx], y[idx]


def variance_reduction_slider(
    x: Mapping[str, Any],
    gaps: Mapping[str, Any],
    learning_rates: Sequence[float],
    *,
    floors: Any = None,
    param_label: str = "η·L_max",
    xaxis_title: str = "passes over the data (gradient evaluations / n)",
    yaxis_title: str = "f(x) − f*",
    title: str | None = None,
    max_points: int = 300,
    active: int = 0,
) -> go.Figure:
    """Convergence against gradient evaluations with a slider over the step size.

    Args:
      x: ``label ↦ array`` of x values (e.g. passes), shape ``(P, T_label)`` or
        ``(T_label,)`` when shared by every step size (tune-free methods).
      gaps: ``label ↦ array`` of ``f − f*`` with the same shape as ``x[label]``.
      learning_rates: the ``P`` step sizes, the slider values.
      floors: optional ``(P,)`` predicted SGD noise floor, drawn dashed.
    """
    P = len(learning_rates)
    if set(x) != set(gaps):
        raise ValueError("x and gaps must have the same labels")
    groups = []
    for j in range(P):
        group = []
        for i, label in enumerate(gaps):
            xs, ys = as_float_array(x[label]), as_float_array(gaps[label])
            if xs.shape != ys.shape:
                raise ValueError(
                    f"x[{label!r}] and gaps[{label!r}] differ in shape: {xs.shape} vs {ys.shape}"
                )
            if ys.ndim == 2:
                if ys.shape[0] != P:
                    raise ValueError(f"gaps[{label!r}] must have {P} rows, got {ys.shape[0]}")
                xs, ys = xs[j], ys[j]
            xs, ys = _thin(xs, mask_nonpositive(ys), max_points)
            group.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    line=dict(color=COLORS[i % len(COLORS)], width=2),
                )
            )
        if floors is not None:
            fl = float(as_float_array(floors)[j])
            xmax = max(float(np.nanmax(as_float_array(v))) for v in x.values())
            group.append(
                go.Scatter(
                    x=[0, xmax],
                    y=[fl, fl],
                    mode="lines",
                    name="SGD floor (theory)",
                    line=dict(color="#555555", dash="dash", width=1.5),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(learning_rates),
        prefix=f"{param_label} = ",
        active=active,
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
    )
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def noise_floor_figure(
    learning_rates: Any,
    measured: Mapping[str, Any],
    predicted: Mapping[str, Any],
    *,
    xaxis_title: str = "step size η",
    yaxis_title: str = "stationary E[f(x) − f*]",
    title: str | None = None,
) -> go.Figure:
    """Measured noise floors (markers) against predictions (dashed lines), log–log."""
    steps = as_float_array(learning_rates)
    fig = go.Figure()
    for i, (label, y) in enumerate(measured.items()):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=mask_nonpositive(as_float_array(y)),
                mode="markers+lines",
                name=label,
                marker=dict(size=9, color=COLORS[i % len(COLORS)]),
                line=dict(color=COLORS[i % len(COLORS)], width=1),
            )
        )
    for i, (label, y) in enumerate(predicted.items()):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=mask_nonpositive(as_float_array(y)),
                mode="lines",
                name=label,
                line=dict(color=COLORS[(i + 5) % len(COLORS)], dash="dash", width=2),
            )
        )
    style_figure(fig, title, xaxis_title, yaxis_title)
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def clipping_bias_slider(
    steps_axis: Any,
    running_means: Mapping[str, Any],
    learning_rates: Sequence[float],
    *,
    fixed_point: float,
    title: str | None = None,
    max_points: int = 300,
) -> go.Figure:
    """Running mean of the iterate for clipped and plain SGD, slider over ``η``.

    Args:
      steps_axis: ``(T,)`` x values (e.g. ``η k``, "time").
      running_means: ``label ↦ (P, T)``.
      fixed_point: the biased limit ``x_c``, drawn dashed, with ``x* = 0``.
    """
    xs = as_float_array(steps_axis)
    idx = np.unique(np.linspace(0, len(xs) - 1, min(max_points, len(xs))).round().astype(int))
    curves = {k: as_float_array(v)[:, idx] for k, v in running_means.items()}
    T = len(idx)
    refs = {f"x_c = {fixed_point:.4f}": np.full(T, fixed_point), "x* = 0": np.zeros(T)}
    fig = convergence_slider(
        curves,
        list(learning_rates),
        "η",
        x=xs[idx],
        log_y=False,
        references=refs,
        title=title,
        xaxis_title="step k",
        yaxis_title="running mean of x_k",
    )
    return fig


def tail_quantiles_figure(
    levels: Any,
    samples: Mapping[str, Any],
    *,
    title: str | None = None,
    yaxis_title: str = "quantile of f(x_T) − f*",
) -> go.Figure:
    """Empirical quantiles of a final error over seeds, one curve per method (log y)."""
    levels = as_float_array(levels)
    curves = {label: np.quantile(as_float_array(s), levels) for label, s in samples.items()}
    fig = convergence_figure(
        curves, x=levels, title=title, xaxis_title="quantile level", yaxis_title=yaxis_title
    )
    return fig


def schedules_figure(
    schedules: Mapping[str, Any],
    final_gaps: Mapping[str, Any],
    peaks: Any,
    *,
    title: str | None = None,
) -> go.Figure:
    """Two panels: schedule shapes ``η_t/η_peak`` (left) and final gap against the peak step (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("schedule η_t / η_peak", "final f(x_T) − f* vs peak"))
    peaks = as_float_array(peaks)
    for i, (label, s) in enumerate(schedules.items()):
        s = as_float_array(s)
        t, s = _thin(np.arange(len(s)), s, 300)
        color = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=t, y=s, mode="lines", name=label, legendgroup=label, line=dict(color=color, width=2)
            ),
            row=1,
            col=1,
        )
        if label in final_gaps:
            fig.add_trace(
                go.Scatter(
                    x=peaks,
                    y=mask_nonpositive(as_float_array(final_gaps[label])),
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=False,
                    line=dict(color=color, width=2),
                ),
                row=1,
                col=2,
            )
    style_figure(fig, title, None, None, height=430)
    fig.update_xaxes(title_text="step t", row=1, col=1)
    fig.update_xaxes(title_text="peak step η_peak", type="log", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    return fig
