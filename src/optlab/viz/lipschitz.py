"""Figures for the Lipschitz chapters (``book/07_lipschitz``, ``book/08_certified_robustness``).

Built on :mod:`optlab.viz.core`; interactivity is client-side sliders over
precomputed sweeps. LOWER bounds are drawn dashed, UPPER bounds solid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, convergence_slider, stepped_figure, style_figure

__all__ = [
    "spectral_bounds_figure",
    "bound_ladder_figure",
    "local_bounds_figure",
    "certified_accuracy_figure",
    "radius_scatter",
]


def spectral_bounds_figure(
    gaps: Sequence[float], power_iterates: Any, gram_iterates: Any, exact: Any, *, title: str | None = None
) -> go.Figure:
    """Relative error ``|σ̂_k − σ₁|/σ₁`` of power iteration (LOWER) and Gram iteration
    (UPPER) per iteration, with a slider over the spectral gap σ₂/σ₁.

    ``power_iterates``, ``gram_iterates``: (P, T) estimates; ``exact``: (P,) values σ₁.
    """
    exact = np.asarray(exact, dtype=float)[:, None]
    p = np.abs(np.asarray(power_iterates, dtype=float) / exact - 1.0)
    g = np.abs(np.asarray(gram_iterates, dtype=float) / exact - 1.0)
    floor = 1e-16
    return convergence_slider(
        {"power iteration (LOWER)": np.maximum(p, floor), "Gram iteration (UPPER)": np.maximum(g, floor)},
        list(gaps),
        "σ₂/σ₁",
        title=title,
        xaxis_title="iteration k",
        yaxis_title="relative error |σ̂ₖ − σ₁| / σ₁",
        references={"1e-6": np.full(p.shape[1], 1e-6)},
    )


def bound_ladder_figure(
    widths: Sequence[int],
    depths: Sequence[int],
    bounds: Mapping[str, Any],
    kinds: Mapping[str, str],
    *,
    title: str | None = None,
) -> go.Figure:
    """The ladder of Lipschitz bounds against width, one slider step per depth.

    ``bounds[name]``: array (len(depths), len(widths)) (NaN = not computed);
    ``kinds[name]``: "LOWER", "UPPER" or "EXACT" (LOWER dashed)."""
    groups = []
    D = len(depths)
    for j in range(D):
        group = []
        for i, (name, vals) in enumerate(bounds.items()):
            vals = np.asarray(vals, dtype=float)
            if vals.shape != (D, len(widths)):
                raise ValueError(f"bounds[{name!r}] must have shape {(D, len(widths))}, got {vals.shape}")
            dash = "dash" if kinds[name] == "LOWER" else "solid"
            group.append(
                go.Scatter(
                    x=list(widths),
                    y=vals[j],
                    mode="lines+markers",
                    name=f"{name} ({kinds[name]})",
                    legendgroup=name,
                    line=dict(color=COLORS[i % len(COLORS)], dash=dash, width=2),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(depths),
        prefix="hidden layers = ",
        title=title,
        xaxis_title="hidden width h",
        yaxis_title="bound on the ℓ2 Lipschitz constant",
    )
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def local_bounds_figure(
    eps: Sequence[float],
    curves: Mapping[str, Any],
    kinds: Mapping[str, str],
    *,
    title: str | None = None,
    xaxis_title: str = "box half-width ε",
) -> go.Figure:
    """Local ℓ∞ Lipschitz bounds on the box B_ε(x₀) against ε (log–log), LOWER dashed."""
    fig = go.Figure()
    for i, (name, y) in enumerate(curves.items()):
        dash = "dash" if kinds[name] == "LOWER" else "solid"
        fig.add_trace(
            go.Scatter(
                x=list(eps),
                y=np.asarray(y, dtype=float),
                mode="lines+markers",
                name=f"{name} ({kinds[name]})",
                line=dict(color=COLORS[i % len(COLORS)], dash=dash, width=2),
            )
        )
    style_figure(fig, title, xaxis_title, "local ℓ∞ Lipschitz bound")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def certified_accuracy_figure(
    radius_grid: Any,
    static_curves: Mapping[str, Any],
    sweep_curves: Mapping[str, Any],
    sweep_values: Sequence[Any],
    sweep_label: str,
    *,
    title: str | None = None,
) -> go.Figure:
    """Certified accuracy against ℓ2 radius. ``static_curves[name]`` (R,) are always
    shown (Lipschitz certificates, the attack); ``sweep_curves[name]`` (P, R) follow a
    slider over ``sweep_values`` (e.g. the smoothing level σ)."""
    r = np.asarray(radius_grid, dtype=float)
    static = []
    for i, (name, y) in enumerate(static_curves.items()):
        dash = "dot" if "attack" in name else "solid"
        static.append(
            go.Scatter(
                x=r,
                y=np.asarray(y, dtype=float),
                mode="lines",
                name=name,
                line=dict(color=COLORS[i % len(COLORS)], dash=dash, width=2),
            )
        )
    groups = []
    off = len(static_curves)
    for j in range(len(sweep_values)):
        group = []
        for i, (name, y) in enumerate(sweep_curves.items()):
            y = np.asarray(y, dtype=float)
            group.append(
                go.Scatter(
                    x=r,
                    y=y[j],
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    line=dict(color=COLORS[(off + i) % len(COLORS)], width=2, dash="dashdot"),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(sweep_values),
        prefix=f"{sweep_label} = ",
        static=static,
        title=title,
        xaxis_title="ℓ2 radius r",
        yaxis_title="certified accuracy at radius r",
    )
    fig.update_yaxes(range=[0, 1.02])
    return fig


def radius_scatter(certified: Mapping[str, Any], attack: Any, *, title: str | None = None) -> go.Figure:
    """Certified radius against the radius an attack needs, per point; a sound
    deterministic certificate lies on or below the diagonal."""
    a = np.asarray(attack, dtype=float)
    fig = go.Figure()
    top = float(np.nanmax(np.where(np.isfinite(a), a, np.nan)))
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name="certified = attack",
            line=dict(color="#555555", dash="dash", width=1.5),
        )
    )
    for i, (name, c) in enumerate(certified.items()):
        fig.add_trace(
            go.Scatter(
                x=a,
                y=np.asarray(c, dtype=float),
                mode="markers",
                name=name,
                marker=dict(color=COLORS[i % len(COLORS)], size=6, opacity=0.7),
            )
        )
    style_figure(
        fig, title, "radius found by the attack (upper bound on the robust radius)", "certified radius"
    )
    return fig
