"""Figures for the differential-privacy chapter (``book/17_privacy``).

Built on :mod:`optlab.viz.core`; interactivity is client-side sliders over sweeps
precomputed with ``vmap``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, convergence_slider, stepped_figure, style_figure

__all__ = [
    "epsilon_figure",
    "clip_sweep_figure",
    "privacy_utility_figure",
    "norm_bound_figure",
    "diff2_figure",
]


def epsilon_figure(
    steps: Sequence[int],
    curves: Mapping[str, Any],
    reference: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """ε against the number of steps (log–log): optlab's accountant as lines, the
    reference accountant (``dp_accounting``) as markers on top."""
    fig = go.Figure()
    x = np.asarray(steps, dtype=float)
    for i, (name, y) in enumerate(curves.items()):
        c = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.asarray(y, dtype=float),
                mode="lines",
                name=f"{name} (optlab)",
                legendgroup=name,
                line=dict(color=c, width=2),
            )
        )
        if reference is not None and name in reference:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=np.asarray(reference[name], dtype=float),
                    mode="markers",
                    name=f"{name} (dp_accounting)",
                    legendgroup=name,
                    marker=dict(color=c, symbol="circle-open", size=9),
                )
            )
    style_figure(fig, title, "steps T", "ε at the target δ")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def clip_sweep_figure(
    clip_norms: Sequence[float],
    epsilons: Sequence[float],
    accuracy: Any,
    *,
    min_lipschitz: float,
    max_lipschitz: float,
    norms: Any = None,
    title: str | None = None,
    yaxis_title: str = "test accuracy",
) -> go.Figure:
    """Utility against the clip norm C (log x), one slider step per privacy level ε, with
    vertical lines at min_i L_i and max_i L_i; ``norms`` (optional) adds a histogram of the
    per-sample Lipschitz constants L_i on a secondary axis."""
    C = np.asarray(clip_norms, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    if acc.shape != (len(epsilons), len(C)):
        raise ValueError(f"accuracy must have shape {(len(epsilons), len(C))}, got {acc.shape}")
    lo, hi = float(np.nanmin(acc)), float(np.nanmax(acc))
    pad = 0.05 * (hi - lo + 1e-12)
    static = [
        go.Scatter(
            x=[v, v],
            y=[lo - pad, hi + pad],
            mode="lines",
            name=name,
            line=dict(color="#555555", dash=dash, width=1.5),
        )
        for v, name, dash in ((min_lipschitz, "min_i L_i", "dash"), (max_lipschitz, "max_i L_i", "dot"))
    ]
    if norms is not None:
        logn = np.log10(np.asarray(norms, dtype=float))
        counts, edges = np.histogram(logn, bins=30)
        static.append(
            go.Bar(
                x=10 ** (0.5 * (edges[1:] + edges[:-1])),
                y=counts,
                width=np.diff(10**edges),
                name="histogram of L_i",
                yaxis="y2",
                marker=dict(color="rgba(127,127,127,0.25)"),
            )
        )
    groups = []
    for j in range(len(epsilons)):
        best = int(np.nanargmax(acc[j]))
        groups.append(
            [
                go.Scatter(
                    x=C, y=acc[j], mode="lines+markers", name="DP-GD", line=dict(color=COLORS[0], width=2)
                ),
                go.Scatter(
                    x=[C[best]],
                    y=[acc[j, best]],
                    mode="markers",
                    name="best C",
                    marker=dict(color=COLORS[1], size=12, symbol="star"),
                ),
            ]
        )
    fig = stepped_figure(
        groups,
        list(epsilons),
        prefix="ε = ",
        static=static,
        title=title,
        xaxis_title="clip norm C",
        yaxis_title=yaxis_title,
    )
    fig.update_xaxes(type="log")
    if norms is not None:
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False, title="count"))
    return fig


def privacy_utility_figure(
    epsilons: Sequence[float],
    curves: Mapping[str, Any],
    *,
    title: str | None = None,
    yaxis_title: str = "test accuracy",
) -> go.Figure:
    """Utility against ε (log x), one line per method."""
    fig = go.Figure()
    for i, (name, y) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=np.asarray(epsilons, dtype=float),
                y=np.asarray(y, dtype=float),
                mode="lines+markers",
                name=name,
                line=dict(color=COLORS[i % len(COLORS)], width=2),
            )
        )
    style_figure(fig, title, "ε (δ fixed)", yaxis_title)
    fig.update_xaxes(type="log")
    return fig


def norm_bound_figure(steps: Sequence[int], norms: Any, bound: Any, *, title: str | None = None) -> go.Figure:
    """Observed per-sample gradient norm against the analytic bound, one point per example,
    with a slider over training steps; points must stay below the diagonal."""
    norms = np.asarray(norms, dtype=float)
    bound = np.asarray(bound, dtype=float)
    if norms.ndim != 2 or norms.shape[0] != len(steps) or norms.shape[1] != bound.shape[-1]:
        raise ValueError(f"norms must have shape {(len(steps), bound.shape[-1])}, got {norms.shape}")
    b2 = np.broadcast_to(bound, norms.shape)
    top = float(b2.max()) * 1.05
    diag = go.Scatter(
        x=[0, top],
        y=[0, top],
        mode="lines",
        name="observed = bound",
        line=dict(color="#555555", dash="dash", width=1.5),
    )
    groups = [
        [
            go.Scatter(
                x=b2[j],
                y=norms[j],
                mode="markers",
                name="examples",
                marker=dict(color=COLORS[0], size=5, opacity=0.6),
            )
        ]
        for j in range(len(steps))
    ]
    fig = stepped_figure(
        groups,
        list(steps),
        prefix="training step ",
        static=[diag],
        title=title,
        xaxis_title="analytic bound on ‖∇θ ℓ(θ; zᵢ)‖",
        yaxis_title="observed ‖∇θ ℓ(θ; zᵢ)‖",
    )
    fig.update_xaxes(range=[0, top])
    fig.update_yaxes(range=[0, top])
    return fig


def diff2_figure(ns: Sequence[int], curves: Mapping[str, Any], *, title: str | None = None) -> go.Figure:
    """‖∇F(θ_t)‖² along the rounds for DP-GD and DIFF2, one slider step per dataset size n."""
    return convergence_slider(
        curves, list(ns), "n", title=title, xaxis_title="round t", yaxis_title="‖∇F(θₜ)‖² (mean over seeds)"
    )
