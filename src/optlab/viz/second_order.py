"""Figures for the second-order chapter (``book/05_second_order``).

Built on the generic primitives of :mod:`optlab.viz.core`; every figure is
interactive through client-side sliders over precomputed data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, convergence_figure, stepped_figure

__all__ = ["basins_figure", "singular_values_figure", "timing_figure"]


def basins_figure(
    xs: Any,
    ys: Any,
    outcomes: Mapping[str, Any],
    categories: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Basins of attraction, one method per slider step.

    Args:
      xs, ys: grid coordinates (lengths ``nx``, ``ny``).
      outcomes: ``method ↦`` integer array ``(ny, nx)``; entry ``c`` means the
        run started at that grid point ended in ``categories[c]``.
      categories: names of the outcomes (e.g. "minimum", "saddle", "diverged").
    """
    K = len(categories)
    colors = list(colors or COLORS[:K])
    if len(colors) < K:
        raise ValueError(f"need {K} colors, got {len(colors)}")
    # discrete colorscale: integer category c occupies [c − ½, c + ½] of [−½, K − ½]
    scale = []
    for c, col in enumerate(colors[:K]):
        scale += [[c / K, col], [(c + 1) / K, col]]
    groups = []
    for method, Z in outcomes.items():
        Z = np.asarray(Z)
        if Z.shape != (len(ys), len(xs)):
            raise ValueError(f"outcomes[{method!r}] must have shape ({len(ys)}, {len(xs)}), got {Z.shape}")
        groups.append(
            [
                go.Heatmap(
                    x=np.round(np.asarray(xs, float), 4),
                    y=np.round(np.asarray(ys, float), 4),
                    z=Z.astype(np.int8),
                    zmin=-0.5,
                    zmax=K - 0.5,
                    colorscale=scale,
                    colorbar=dict(tickvals=np.arange(K), ticktext=list(categories)),
                    hovertemplate="x₀=(%{x:.2f}, %{y:.2f})<extra></extra>",
                    name=method,
                )
            ]
        )
    fig = stepped_figure(
        groups,
        list(outcomes),
        prefix="method: ",
        title=title,
        xaxis_title="x₁ (start)",
        yaxis_title="x₂ (start)",
        height=height,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def singular_values_figure(
    spectra: Mapping[str, Any],
    step_counts: Sequence[int],
    *,
    static: Mapping[str, Any] | None = None,
    band: tuple[float, float] | None = None,
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """Singular values (sorted, by index) of several orthogonalised updates, with a
    slider over the number of iterations.

    Args:
      spectra: ``label ↦`` array ``(len(step_counts), k)``: the spectrum after each number of steps.
      static: ``label ↦`` array ``(k,)`` shown at every slider position (input, SVD, AuON).
      band: draw a shaded horizontal band ``[low, high]`` (e.g. the quintic's band).
    """
    static = dict(static or {})
    static_traces = []
    for i, (label, s) in enumerate(static.items()):
        s = np.asarray(s, float)
        static_traces.append(
            go.Scatter(
                x=np.arange(1, len(s) + 1),
                y=s,
                mode="lines",
                name=label,
                line=dict(color=COLORS[(i + 5) % len(COLORS)], dash="dot", width=2),
            )
        )
    groups = []
    for j in range(len(step_counts)):
        group = []
        for i, (label, S) in enumerate(spectra.items()):
            S = np.asarray(S, float)
            if S.ndim != 2 or S.shape[0] != len(step_counts):
                raise ValueError(f"spectra[{label!r}] must have shape ({len(step_counts)}, k), got {S.shape}")
            group.append(
                go.Scatter(
                    x=np.arange(1, S.shape[1] + 1),
                    y=S[j],
                    mode="lines+markers",
                    name=label,
                    marker=dict(size=4),
                    line=dict(color=COLORS[i % len(COLORS)], width=2),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        [str(s) for s in step_counts],
        prefix="iterations: ",
        static=static_traces,
        title=title,
        xaxis_title="index i (largest first)",
        yaxis_title="σᵢ",
        height=height,
    )
    if band is not None:
        fig.add_hrect(y0=band[0], y1=band[1], fillcolor="#2ca02c", opacity=0.12, line_width=0)
    return fig


def timing_figure(
    dims: Any,
    times: Mapping[str, Any],
    *,
    slopes: Sequence[float] = (1.0, 3.0),
    title: str | None = None,
    yaxis_title: str = "seconds per call",
) -> go.Figure:
    """Log–log time against dimension with dashed reference slopes anchored at the
    first point of the first curve."""
    dims = np.asarray(dims, float)
    first = np.asarray(next(iter(times.values())), float)
    refs = {f"∝ d^{s:g}": first[0] * (dims / dims[0]) ** s for s in slopes}
    fig = convergence_figure(
        dict(times),
        x=dims,
        log_x=True,
        log_y=True,
        title=title,
        xaxis_title="dimension d",
        yaxis_title=yaxis_title,
        references=refs,
    )
    fig.update_traces(mode="lines+markers", selector=dict(type="scatter"))
    return fig
