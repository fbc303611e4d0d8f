"""Figures for the min-max chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .core import COLORS, clip_path, stepped_figure, style_figure

__all__ = ["field_segments", "game_explorer", "phase_diagram", "sgn_band_figure"]


def field_segments(
    F: Callable,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    *,
    resolution: int = 15,
    length: float | None = None,
) -> tuple[list, list]:
    """Arrows of the *descent* direction ``−F(z)`` on a grid, as one polyline with
    ``None`` breaks (shaft plus a two-stroke head), normalised to a common length so
    the rotation is visible where ``‖F‖`` is small.  ``F`` maps a 2-vector to a 2-vector
    (a JAX-traceable function is evaluated with ``vmap``)."""
    import jax
    import jax.numpy as jnp

    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    X, Y = np.meshgrid(xs, ys)
    P = np.stack([X.ravel(), Y.ravel()], 1)
    V = -np.asarray(jax.vmap(F)(jnp.asarray(P)), dtype=float)
    if V.shape != P.shape:
        raise ValueError(f"F must map 2-vectors to 2-vectors, got output shape {V.shape[1:]}")
    nrm = np.linalg.norm(V, axis=1, keepdims=True)
    U = np.where(nrm > 1e-12, V / np.maximum(nrm, 1e-300), 0.0)
    h = length if length is not None else 0.8 * min(xs[1] - xs[0], ys[1] - ys[0])
    tip = P + h * U
    left = tip - 0.35 * h * (U + 0.6 * U[:, ::-1] * np.array([-1, 1]))
    right = tip - 0.35 * h * (U - 0.6 * U[:, ::-1] * np.array([-1, 1]))
    ax, ay = [], []
    for p, t, l_, r_ in zip(P, tip, left, right, strict=True):
        ax += [p[0], t[0], None, l_[0], t[0], r_[0], None]
        ay += [p[1], t[1], None, l_[1], t[1], r_[1], None]
    return [None if v is None else round(float(v), 4) for v in ax], [
        None if v is None else round(float(v), 4) for v in ay
    ]


def game_explorer(
    fields: Sequence[Callable],
    trajectories: Mapping[str, Any],
    game_labels: Sequence[str],
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    equilibria: Any = None,
    resolution: int = 15,
    title: str | None = None,
    height: int = 580,
) -> go.Figure:
    """Vector field ``−F`` of 2-D games with method trajectories, one slider step per game.

    Args:
      fields: one game vector field ``F`` (2-vector → 2-vector) per game.
      trajectories: ``method ↦ array (n_games, T, 2)`` of iterates (clipped to the box).
      game_labels: slider labels.
      equilibria: optional ``(n_games, 2)`` array, drawn as stars.
    """
    n = len(fields)
    if len(game_labels) != n:
        raise ValueError(f"got {n} fields but {len(game_labels)} game_labels")
    groups = []
    for g in range(n):
        ax, ay = field_segments(fields[g], xlim, ylim, resolution=resolution)
        group = [
            go.Scatter(
                x=ax,
                y=ay,
                mode="lines",
                name="−F(z)",
                hoverinfo="skip",
                line=dict(color="rgba(120,120,120,0.6)", width=1),
            )
        ]
        for i, (label, traj) in enumerate(trajectories.items()):
            t = np.asarray(traj, dtype=float)
            if t.ndim != 3 or t.shape[0] != n or t.shape[2] != 2:
                raise ValueError(f"trajectories[{label!r}] must have shape ({n}, T, 2), got {t.shape}")
            t = np.round(clip_path(t[g], xlim, ylim, margin=0.05), 4)
            group.append(
                go.Scatter(
                    x=t[:, 0],
                    y=t[:, 1],
                    mode="lines+markers",
                    name=label,
                    marker=dict(size=3, color=COLORS[i % len(COLORS)]),
                    line=dict(color=COLORS[i % len(COLORS)], width=1.8),
                )
            )
        if equilibria is not None:
            e = np.asarray(equilibria, dtype=float)[g]
            group.append(
                go.Scatter(
                    x=[e[0]],
                    y=[e[1]],
                    mode="markers",
                    name="equilibrium z*",
                    marker=dict(symbol="star", size=14, color="black"),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(game_labels),
        prefix="game: ",
        title=title,
        xaxis_title="x (minimising player)",
        yaxis_title="y (maximising player)",
        height=height,
    )
    fig.update_xaxes(range=list(xlim), constrain="domain")
    fig.update_yaxes(range=list(ylim), scaleanchor="x", scaleratio=1)
    return fig


def phase_diagram(
    values: Any,
    rhos: Sequence[float],
    learning_rates: Sequence[float],
    methods: Sequence[str],
    *,
    boundary: Mapping[str, Any] | None = None,
    title: str | None = None,
    zlabel: str = "log₁₀ ‖F(z_K)‖/‖F(z₀)‖",
    zmax: float = 2.0,
    height: int = 520,
) -> go.Figure:
    """Convergence phase diagrams over (comonotonicity ρ, step size η), one heatmap per
    method with a slider.

    Args:
      values: ``(n_methods, n_learning_rates, n_rhos)`` array (e.g. log₁₀ of the final relative
        residual; clipped to ``[−zmax·8, zmax]`` for the colour scale, non-finite → zmax).
      boundary: ``label ↦ (ρ values, η values)`` curves drawn on every panel
        (e.g. the proximal-point boundary ρ = −η/2).
    """
    V = np.asarray(values, dtype=float)
    if V.shape != (len(methods), len(learning_rates), len(rhos)):
        raise ValueError(
            f"values must have shape ({len(methods)}, {len(learning_rates)}, {len(rhos)}), got {V.shape}"
        )
    V = np.where(np.isfinite(V), V, zmax)
    V = np.round(np.clip(V, -8 * zmax, zmax), 3)
    # diverging colour scale with white pinned at 0 (zmin = −8·zmax, zmax): blue converges, red diverges
    p0 = 8.0 / 9.0
    scale = [
        [0.0, "#08306b"],
        [0.5 * p0, "#2171b5"],
        [0.97 * p0, "#c6dbef"],
        [p0, "#f7f7f7"],
        [p0 + 0.3 * (1 - p0), "#fcae91"],
        [1.0, "#a50f15"],
    ]
    groups = [
        [
            go.Heatmap(
                z=V[j],
                x=np.round(np.asarray(rhos, float), 4),
                y=np.round(np.asarray(learning_rates, float), 4),
                zmin=-8 * zmax,
                zmax=zmax,
                colorscale=scale,
                colorbar=dict(title=zlabel, x=1.02, len=0.8),
            )
        ]
        for j in range(len(methods))
    ]
    fig = stepped_figure(
        groups,
        list(methods),
        prefix="method: ",
        title=title,
        xaxis_title="comonotonicity ρ",
        yaxis_title="step size η",
        height=height,
    )
    # boundary curves go on top of the heatmaps and stay visible at every slider step
    for i, (label, (bx, by)) in enumerate((boundary or {}).items()):
        fig.add_trace(
            go.Scatter(
                x=np.asarray(bx, float),
                y=np.asarray(by, float),
                mode="lines",
                name=label,
                line=dict(color="black" if i == 0 else "#555555", width=3, dash="dash" if i == 0 else "dot"),
            )
        )
    r_ = np.asarray(rhos, float)
    half = 0.5 * (r_[1] - r_[0]) if r_.size > 1 else 0.5
    fig.update_xaxes(range=[float(r_.min() - half), float(r_.max() + half)])
    n_extra = len(boundary or {})
    for s in fig.layout.sliders[0].steps:
        s.args[0]["visible"] = list(s.args[0]["visible"]) + [True] * n_extra
    fig.update_layout(legend=dict(x=0.01, y=0.99))
    return fig


def sgn_band_figure(
    ratios: Any,
    margins: Mapping[str, Any],
    bands: Mapping[str, tuple],
    *,
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """The Small-Gain Nash certificate against the weight ratio ``r = w₂/w₁``.

    Args:
      ratios: the ``r`` grid (log axis).
      margins: ``label ↦ margin(r)`` curves (positive = certified).
      bands: ``label ↦ (r_lo, r_hi)`` intervals, shaded.
    """
    r = np.asarray(ratios, dtype=float)
    fig = go.Figure()
    shades = ("rgba(44,160,44,0.18)", "rgba(148,103,189,0.22)", "rgba(255,127,14,0.18)")
    finite = np.concatenate([np.asarray(m, float).ravel() for m in margins.values()] or [np.zeros(1)])
    finite = finite[np.isfinite(finite)]
    y0, y1 = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    for i, (label, (lo, hi)) in enumerate(bands.items()):
        # a filled polygon in data coordinates (shapes on log axes are error-prone)
        fig.add_trace(
            go.Scatter(
                x=[lo, hi, hi, lo, lo],
                y=[y0, y0, y1, y1, y0],
                fill="toself",
                mode="lines",
                line=dict(width=0),
                fillcolor=shades[i % len(shades)],
                name=f"{label}: ({lo:.3g}, {hi:.3g})",
                hoverinfo="name",
            )
        )
    for i, (label, m) in enumerate(margins.items()):
        m = np.asarray(m, dtype=float)
        if m.shape != r.shape:
            raise ValueError(f"margins[{label!r}] must have shape {r.shape}, got {m.shape}")
        fig.add_trace(
            go.Scatter(
                x=r,
                y=np.round(m, 5),
                mode="lines",
                name=label,
                line=dict(color=COLORS[i % len(COLORS)], width=2),
            )
        )
    fig.add_hline(y=0.0, line=dict(color="#555555", width=1))
    style_figure(fig, title, "weight ratio r = w₂/w₁", "margin", height=height)
    fig.update_xaxes(type="log", range=[float(np.log10(r.min())), float(np.log10(r.max()))])
    return fig
