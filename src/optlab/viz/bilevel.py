"""Figures for the bilevel chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, convergence_slider, format_number, heatmap_slider, stepped_figure, style_figure

__all__ = ["estimator_error_slider", "penalty_bias_figure", "weights_slider", "robustness_heatmaps"]


def estimator_error_slider(
    errors: Mapping[str, Any],
    Ks: Sequence[int],
    lams: Sequence[float],
    *,
    references: Mapping[str, Any] | None = None,
    title: str | None = None,
    height: int = 480,
):
    """Hypergradient error against the number of terms / steps ``K``, one curve per
    estimator, with a slider over the regularisation ``λ`` (``errors[label]``:
    shape ``(len(lams), len(Ks))``)."""
    return convergence_slider(
        errors,
        list(lams),
        "λ",
        x=np.asarray(Ks),
        references=references,
        title=title or "Hypergradient error |ĝ_K − ∇F(λ)|",
        xaxis_title="K (Neumann terms / back-propagated steps / unrolled steps)",
        yaxis_title="absolute error",
        height=height,
    )


def penalty_bias_figure(
    sigmas: Any, errors: Any, *, slope: float | None = None, title: str | None = None, height: int = 440
):
    """Log-log bias of the penalty hypergradient against ``σ`` (= 1/λ for F2SA), with
    the fitted line of the given ``slope`` through the geometric mean."""
    s, e = np.asarray(sigmas, float), np.asarray(errors, float)
    fig = go.Figure(
        go.Scatter(x=s, y=e, mode="lines+markers", name="|∇ψ_σ − ∇F|", line=dict(color=COLORS[0], width=2))
    )
    if slope is not None:
        c = np.exp(np.mean(np.log(e)) - slope * np.mean(np.log(s)))
        fig.add_trace(
            go.Scatter(
                x=s,
                y=c * s**slope,
                mode="lines",
                name=f"fitted slope {slope:.2f}",
                line=dict(color="#555555", dash="dash", width=1.5),
            )
        )
    style_figure(
        fig,
        title or "Bias of the fully first-order hypergradient",
        "σ = 1/λ",
        "absolute error",
        height=height,
    )
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def weights_slider(
    weights: Any, flipped: Any, iterations: Sequence[int], *, title: str | None = None, height: int = 460
):
    """Learned per-example weights (one row of ``weights`` per snapshot) as two
    overlaid histograms, clean against flipped labels, with a slider over iterations."""
    W = np.asarray(weights, float)
    fl = np.asarray(flipped, bool)
    if W.ndim != 2 or W.shape[1] != fl.shape[0] or W.shape[0] != len(iterations):
        raise ValueError(f"weights must have shape ({len(iterations)}, {fl.shape[0]}), got {W.shape}")
    bins = dict(start=0.0, end=1.0, size=0.05)
    groups = []
    for j in range(W.shape[0]):
        groups.append(
            [
                go.Histogram(
                    x=np.round(W[j, ~fl], 3),
                    xbins=bins,
                    name="clean labels",
                    opacity=0.6,
                    marker_color=COLORS[0],
                ),
                go.Histogram(
                    x=np.round(W[j, fl], 3),
                    xbins=bins,
                    name="flipped labels",
                    opacity=0.6,
                    marker_color=COLORS[1],
                ),
            ]
        )
    fig = stepped_figure(
        groups,
        [str(int(i)) for i in iterations],
        prefix="outer iteration ",
        title=title or "Learned example weights sigmoid(θ_i)",
        xaxis_title="weight",
        yaxis_title="number of examples",
        height=height,
    )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(range=[0, 1])
    return fig


def robustness_heatmaps(
    finals: Mapping[str, Any],
    learning_rates: Sequence[float],
    accuracies: Sequence[float],
    *,
    title: str | None = None,
    height: int = 460,
):
    """``log10`` of the final suboptimality over a grid (rows: initial accuracy,
    columns: initial step size, ``learning_rates``), one heatmap per method behind a slider."""
    mats = np.stack([np.asarray(v, float) for v in finals.values()])
    fig = heatmap_slider(
        np.log10(np.maximum(mats, 1e-16)),
        list(finals.keys()),
        "method",
        x=[format_number(s) for s in learning_rates],
        y=[format_number(a) for a in accuracies],
        colorscale="Viridis",
        title=title or "log₁₀ (F(θ_final) − F*) over initial step size × accuracy",
        xaxis_title="initial step size",
        yaxis_title="initial accuracy ε₀",
        height=height,
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig
