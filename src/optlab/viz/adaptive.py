"""Figures for Chapter 4 (adaptive methods, signs and norms) built on :mod:`optlab.viz.core`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, contour_trajectories, style_figure

__all__ = ["norm_balls_figure", "box_trajectories"]


def _ball(norm: str, n: int = 200) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    c, s = np.cos(t), np.sin(t)
    if norm == "l2":
        return np.stack([c, s], 1)
    if norm == "linf":
        return np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [1, 1]], float)
    if norm == "l1":
        return np.array([[1, 0], [0, 1], [-1, 0], [0, -1], [1, 0]], float)
    raise ValueError(f"norm must be 'l2', 'linf' or 'l1', got {norm!r}")


def norm_balls_figure(
    g: Any, directions: Mapping[str, Any], *, title: str | None = None, height: int = 480
) -> go.Figure:
    """Unit balls of ℓ2, ℓ∞, ℓ1 in 2-D with the steepest-descent direction ``−lmo(g)`` of each.

    Args:
      g: the gradient (2-vector), drawn as a black arrow.
      directions: ``norm ↦ −lmo(g, norm)`` for norms among ``"l2"``, ``"linf"``, ``"l1"``.
    """
    g = np.asarray(g, float)
    fig = go.Figure()
    for i, (norm, d) in enumerate(directions.items()):
        col = COLORS[i % len(COLORS)]
        b = _ball(norm)
        fig.add_trace(
            go.Scatter(
                x=b[:, 0],
                y=b[:, 1],
                mode="lines",
                name=f"unit {norm} ball",
                line=dict(color=col, width=1.5, dash="dot"),
                legendgroup=norm,
            )
        )
        d = np.asarray(d, float)
        fig.add_trace(
            go.Scatter(
                x=[0, d[0]],
                y=[0, d[1]],
                mode="lines+markers",
                name=f"−lmo(g) in {norm}",
                legendgroup=norm,
                line=dict(color=col, width=3),
                marker=dict(size=[0, 10], color=col),
            )
        )
    gn = g / max(np.linalg.norm(g), 1e-300) * 1.4
    fig.add_trace(
        go.Scatter(
            x=[0, gn[0]],
            y=[0, gn[1]],
            mode="lines+markers",
            name="g (scaled)",
            line=dict(color="black", width=2),
            marker=dict(size=[0, 10], color="black"),
        )
    )
    style_figure(fig, title, "x₁", "x₂", height=height)
    fig.update_xaxes(range=[-1.6, 1.6])
    fig.update_yaxes(range=[-1.6, 1.6], scaleanchor="x", scaleratio=1)
    return fig


def box_trajectories(
    value_fn: Callable,
    trajectories: Mapping[str, Any],
    radius: float,
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    minimizer: Any = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Contours and paths (as :func:`optlab.viz.contour_trajectories`) plus the box ``‖x‖∞ ≤ radius``."""
    fig = contour_trajectories(
        value_fn, trajectories, xlim=xlim, ylim=ylim, minimizer=minimizer, title=title, height=height
    )
    r = float(radius)
    fig.add_trace(
        go.Scatter(
            x=[r, -r, -r, r, r],
            y=[r, r, -r, -r, r],
            mode="lines",
            name=f"box ‖x‖∞ ≤ {r:g}",
            line=dict(color="black", width=2, dash="dash"),
        )
    )
    return fig
