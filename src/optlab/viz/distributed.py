"""Figures for the distributed / compressed-communication chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, as_float_array, mask_nonpositive, slider_menu, stepped_figure, style_figure

__all__ = ["rounds_or_floats", "compressor_slider"]


def rounds_or_floats(
    traces: Mapping[str, Any],
    *,
    metric: str = "suboptimalities",
    yaxis_title: str = "f(x_t) − f*",
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """Convergence of several compressed methods, with a slider switching the x axis between
    communication rounds and floats sent to the server (all workers together).

    ``traces``: ``label ↦ CompressedTrace`` (anything with ``.floats`` and the ``metric`` field).
    """
    if not traces:
        raise ValueError("rounds_or_floats needs at least one trace")
    fig = go.Figure()
    n = len(traces)
    for view in ("rounds", "floats"):
        for i, (label, tr) in enumerate(traces.items()):
            y = mask_nonpositive(as_float_array(getattr(tr, metric)))  # log axis
            x = np.arange(len(y)) if view == "rounds" else np.asarray(tr.floats, dtype=float)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    showlegend=True,
                    visible=view == "rounds",
                    line=dict(color=COLORS[i % len(COLORS)], width=2),
                )
            )
    titles = {"rounds": "communication round t", "floats": "floats sent to the server (all workers)"}
    steps = []
    for j, view in enumerate(("rounds", "floats")):
        visible = [k // n == j for k in range(2 * n)]
        steps.append(("update", [{"visible": visible}, {"xaxis.title.text": titles[view]}]))
    style_figure(fig, title, titles["rounds"], yaxis_title, height=height)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(sliders=[slider_menu(["rounds", "floats sent"], "x axis: ", steps)])
    return fig


def compressor_slider(
    v: Any,
    compressed: Mapping[str, Any],
    ks: Sequence[int],
    *,
    title: str | None = "What a worker sends: the vector v and its compressions",
    height: int = 460,
) -> go.Figure:
    """Bar charts of a vector ``v`` and its compressions, with a slider over ``k``.

    ``compressed``: ``label ↦ array of shape (len(ks), d)`` (row ``j`` compresses with ``ks[j]``).
    """
    v = np.asarray(v, dtype=float)
    idx = np.arange(len(v))
    static = [go.Bar(x=idx, y=v, name="v", marker_color="#bbbbbb")]
    groups = []
    for j, _ in enumerate(ks):
        group = []
        for i, (label, arr) in enumerate(compressed.items()):
            arr = np.asarray(arr, dtype=float)
            if arr.shape != (len(ks), len(v)):
                raise ValueError(f"{label!r} must have shape ({len(ks)}, {len(v)}), got {arr.shape}")
            group.append(
                go.Bar(x=idx, y=arr[j], name=label, legendgroup=label, marker_color=COLORS[i % len(COLORS)])
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        [str(k) for k in ks],
        prefix="k = ",
        static=static,
        title=title,
        xaxis_title="coordinate i",
        yaxis_title="value",
        height=height,
    )
    fig.update_layout(barmode="overlay")
    return fig
