"""Figures for the optimal-transport chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, as_float_array, heatmap_slider, mask_nonpositive, stepped_figure

__all__ = ["plan_slider", "sns_comparison", "sparse_plan_slider", "point_plan_slider"]


def plan_slider(
    plans: Any,
    eps_values: Sequence[float],
    *,
    log_color: bool = True,
    title: str = "Entropic plan P_ε (rows: source points, columns: targets)",
    height: int = 520,
):
    """Heatmaps of transport plans with a slider over ε (``plans``: ``(P, n, m)``)."""
    P = np.asarray(plans, dtype=float)
    if log_color:
        # floor at 1e-12 of the largest entry so the colour scale stays readable
        P = np.maximum(P, 1e-12 * P.max(axis=(1, 2), keepdims=True))
    return heatmap_slider(
        P,
        list(eps_values),
        "ε",
        log_color=log_color,
        title=title,
        xaxis_title="target j",
        yaxis_title="source i",
        height=height,
    )


def sparse_plan_slider(plans: Any, ks: Sequence[int], *, title: str | None = None, height: int = 520):
    """Heatmaps of k-sparse plans with a slider over ``k`` (zeros drawn white)."""
    P = np.asarray(plans, dtype=float)
    Z = np.where(P > 0, P, np.nan)
    fig = heatmap_slider(
        Z,
        [str(k) for k in ks],
        "k",
        colorscale="Viridis",
        title=title or "Sparsity-constrained plan (white = exact zero)",
        xaxis_title="target j (column: ≤ k nonzeros)",
        yaxis_title="source i",
        height=height,
    )
    return fig


def point_plan_slider(
    x: Any,
    y: Any,
    plans: Any,
    labels: Sequence[Any],
    prefix: str,
    *,
    max_lines: int = 400,
    title: str | None = None,
    height: int = 520,
):
    """Two point clouds joined by segments whose opacity is the plan's mass, one
    group per slider value (the ``max_lines`` heaviest entries of each plan)."""
    x, y, P = np.asarray(x), np.asarray(y), np.asarray(plans, dtype=float)
    static = [
        go.Scatter(
            x=x[:, 0], y=x[:, 1], mode="markers", name="source x", marker=dict(color=COLORS[0], size=7)
        ),
        go.Scatter(
            x=y[:, 0],
            y=y[:, 1],
            mode="markers",
            name="target y",
            marker=dict(color=COLORS[1], size=7, symbol="diamond"),
        ),
    ]
    groups = []
    for j in range(P.shape[0]):
        group = []
        flat = P[j].ravel()
        top = np.argsort(flat)[::-1][:max_lines]
        w = flat[top] / flat[top].max()
        keep = w > 1e-3
        ii, jj = np.unravel_index(top[keep], P[j].shape)
        # one trace per opacity bin keeps the JSON small
        bins = np.digitize(w[keep], [0.05, 0.25, 0.6])
        for bidx, alpha in enumerate((0.08, 0.25, 0.5, 0.9)):
            sel = bins == bidx
            xs = np.stack([x[ii[sel], 0], y[jj[sel], 0], np.full(sel.sum(), np.nan)], 1).ravel()
            ys = np.stack([x[ii[sel], 1], y[jj[sel], 1], np.full(sel.sum(), np.nan)], 1).ravel()
            group.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    showlegend=False,
                    hoverinfo="skip",
                    line=dict(color=f"rgba(60,60,60,{alpha})", width=1.5),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(labels),
        prefix=prefix,
        static=static,
        title=title,
        xaxis_title="x₁",
        yaxis_title="x₂",
        height=height,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def sns_comparison(
    sinkhorn: Mapping[str, Any],
    sns_runs: Sequence[Mapping[str, Any]],
    thresholds: Sequence[float],
    *,
    tol: float | None = None,
    title: str | None = None,
    height: int = 480,
):
    """Marginal error against iteration (left) and wall time (right).

    Args:
      sinkhorn: ``{"errors": (T,), "time": (T,)}`` for plain Sinkhorn (always shown).
      sns_runs: one mapping per threshold δ with ``"errors"``, ``"time"`` (same
        length) and optionally ``"density"`` (mean kept fraction, for the legend).
      thresholds: the δ of each run (slider labels).
      tol: optional horizontal reference line.
    """
    # the two panels: traces of the left one on axes (x, y), of the right one on (x2, y2)
    axes = {1: dict(xaxis="x", yaxis="y"), 2: dict(xaxis="x2", yaxis="y2")}

    e, t = mask_nonpositive(as_float_array(sinkhorn["errors"])), np.asarray(sinkhorn["time"], dtype=float)
    static = [
        go.Scatter(
            x=xs,
            y=e,
            mode="lines",
            name="Sinkhorn",
            legendgroup="sk",
            showlegend=col == 1,
            line=dict(color=COLORS[0], width=2),
            **axes[col],
        )
        for col, xs in ((1, np.arange(len(e))), (2, t))
    ]
    groups = []
    for run in sns_runs:
        e, t = mask_nonpositive(as_float_array(run["errors"])), np.asarray(run["time"], dtype=float)
        dens = run.get("density")
        name = "SNS" + (f" (density {float(dens):.2f})" if dens is not None else "")
        groups.append(
            [
                go.Scatter(
                    x=xs,
                    y=e,
                    mode="lines+markers",
                    name=name,
                    legendgroup="sns",
                    showlegend=col == 1,
                    marker=dict(size=4),
                    line=dict(color=COLORS[1], width=2),
                    **axes[col],
                )
                for col, xs in ((1, np.arange(len(e))), (2, t))
            ]
        )
    fig = stepped_figure(
        groups,
        [f"{float(d):.0e}" for d in thresholds],
        prefix="sparsification threshold δ = ",
        static=static,
        title=title,
        height=height,
    )
    fig.set_subplots(
        rows=1, cols=2, subplot_titles=("against iteration", "against time [s]"), horizontal_spacing=0.1
    )
    if tol is not None:
        for col in (1, 2):
            fig.add_hline(y=tol, line=dict(color="#555555", dash="dash", width=1), row=1, col=col)
    fig.update_yaxes(type="log", exponentformat="power", title_text="‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_xaxes(title_text="iteration (Sinkhorn steps / warm-up + Newton steps)", row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=1, col=2)
    return fig
