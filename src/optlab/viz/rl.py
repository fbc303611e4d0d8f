"""Figures for the reinforcement-learning chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, stepped_figure

__all__ = ["gridworld_policy_slider", "pg_learning_curves"]

# action order of optlab.rl.gridworld: up, right, down, left, as (dx, dy) on screen
# (rows grow downwards, the y axis is reversed)
_ARROWS = np.array([[0.0, -1.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])


def _policy_segments(pi: np.ndarray, n: int, scale: float = 0.45):
    xs, ys, sizes = [], [], []
    for s in range(n * n):
        i, j = divmod(s, n)
        for a in range(pi.shape[1]):
            p = float(pi[s, a])
            if p < 0.02:
                continue
            dx, dy = _ARROWS[a] * scale * p
            xs += [j, round(j + dx, 4), None]
            ys += [i, round(i + dy, 4), None]
            sizes += [0, round(4 + 10 * p, 1), 0]  # an arrowhead at the tip only
    return xs, ys, sizes


def gridworld_policy_slider(
    values: Any,
    policies: Any,
    labels: Sequence[Any],
    prefix: str,
    *,
    n: int,
    goal: tuple[int, int] | None = None,
    trap: tuple[int, int] | None = None,
    title: str | None = None,
    value_label: str = "V",
    height: int = 560,
) -> go.Figure:
    """Value heatmap with policy arrows on an ``n × n`` gridworld, one slider step per
    entry of ``labels`` (e.g. the temperature).

    Args:
      values: ``(P, n·n)`` state values; policies: ``(P, n·n, 4)`` action probabilities
        in the order up, right, down, left. Each arrow's length is ``π(a|s)``.
    """
    V = np.asarray(values, dtype=float)
    pis = np.asarray(policies, dtype=float)
    P = len(labels)
    if V.shape != (P, n * n) or pis.shape[:2] != (P, n * n) or pis.shape[2] != 4:
        raise ValueError(
            f"values must have shape ({P}, {n * n}) and policies ({P}, {n * n}, 4), "
            f"got {V.shape} and {pis.shape}"
        )
    zmin, zmax = float(np.nanmin(V)), float(np.nanmax(V))
    groups = []
    for p in range(P):
        hm = go.Heatmap(
            z=np.round(V[p].reshape(n, n), 4),
            x=list(range(n)),
            y=list(range(n)),
            colorscale="Viridis",
            zmin=zmin,
            zmax=zmax,
            colorbar=dict(title=value_label),
            hovertemplate="V=%{z:.3f}<extra></extra>",
        )
        xs, ys, sizes = _policy_segments(pis[p], n)
        arrows = go.Scatter(
            x=xs,
            y=ys,
            mode="lines+markers",
            line=dict(color="white", width=3),
            marker=dict(symbol="arrow", angleref="previous", size=sizes, color="white"),
            name="π(a|s)",
            hoverinfo="skip",
            showlegend=False,
        )
        groups.append([hm, arrows])
    static = []
    for cell, sym, label in ((goal, "star", "goal"), (trap, "x", "trap")):
        if cell is not None:
            static.append(
                go.Scatter(
                    x=[cell[1]],
                    y=[cell[0]],
                    mode="markers",
                    name=label,
                    marker=dict(symbol=sym, size=16, color=COLORS[1], line=dict(color="black", width=1)),
                )
            )
    fig = stepped_figure(
        groups,
        list(labels),
        prefix=prefix,
        static=static,
        title=title,
        xaxis_title="column",
        yaxis_title="row",
        height=height,
    )
    # static traces first; keep them drawn above the heatmaps by ordering them last
    fig.data = fig.data[len(static) :] + fig.data[: len(static)]
    for sl in fig.layout.sliders:
        for st in sl.steps:
            vis = list(st.args[0]["visible"])
            st.args[0]["visible"] = vis[len(static) :] + vis[: len(static)]
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, dtick=1)
    fig.update_xaxes(dtick=1, constrain="domain")
    fig.update_layout(legend=dict(orientation="h", y=1.02, x=0))
    return fig


def pg_learning_curves(
    trajectories: Mapping[str, Any],
    gaps: Mapping[str, Any],
    param_values: Sequence[Any],
    param_label: str,
    *,
    title: str | None = None,
    height: int = 500,
    yaxis_title: str = "J* − J(k_t)",
) -> go.Figure:
    """Median (line) and inter-quartile band (shaded) of ``J* − J`` against the number
    of sampled trajectories, one slider step per entry of ``param_values``. NaN gaps
    (diverged runs) count as infinite; a quantile that is infinite is not drawn.

    Args:
      trajectories: ``method ↦ (T,)`` cumulative trajectory counts.
      gaps: ``method ↦ (P, seeds, T)`` optimality gaps.
    """
    P = len(param_values)
    groups = []
    for p in range(P):
        group = []
        for i, (name, g) in enumerate(gaps.items()):
            g = np.asarray(g, dtype=float)
            if g.ndim != 3 or g.shape[0] != P:
                raise ValueError(f"gaps[{name!r}] must have shape (P={P}, seeds, T), got {g.shape}")
            x = np.asarray(trajectories[name], dtype=float)
            g = np.where(np.isnan(g), np.inf, g)  # a diverged run counts as an infinite gap
            q25, med, q75 = np.percentile(g[p], [25, 50, 75], axis=0, method="nearest")
            q25, med, q75 = (np.where(np.isfinite(v), v, np.nan) for v in (q25, med, q75))
            lo = np.maximum(q25, 1e-12)
            color = COLORS[i % len(COLORS)]
            xr = [_sig3(v) for v in x]
            group.append(
                go.Scatter(
                    x=xr,
                    y=[_sig3(v) for v in lo],
                    mode="lines",
                    line=dict(width=0),
                    showlegend=False,
                    hoverinfo="skip",
                    legendgroup=name,
                )
            )
            group.append(
                go.Scatter(
                    x=xr,
                    y=[_sig3(v) for v in q75],
                    mode="lines",
                    line=dict(width=0),
                    fill="tonexty",
                    showlegend=False,
                    fillcolor=_rgba(color, 0.18),
                    hoverinfo="skip",
                    legendgroup=name,
                )
            )
            group.append(
                go.Scatter(
                    x=xr,
                    y=[_sig3(v) for v in med],
                    mode="lines",
                    name=f"{name} (median)",
                    legendgroup=name,
                    line=dict(color=color, width=2),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(param_values),
        prefix=f"{param_label} = ",
        title=title,
        xaxis_title="sampled trajectories",
        yaxis_title=yaxis_title,
        height=height,
    )
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def _sig3(v) -> float:
    """``v`` rounded to 3 significant digits (keeps the figure's JSON small)."""
    return float(f"{float(v):.3g}")


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
