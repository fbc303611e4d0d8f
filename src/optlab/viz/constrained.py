"""Figures for the constrained-optimisation chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .core import COLORS, grid_values, slider_menu, stepped_figure, style_figure

__all__ = ["penalty_landscape", "simplex_trajectories", "load_balance_figure", "relu_fits"]


def penalty_landscape(
    f: Callable,
    c: Callable,
    mus: Sequence[float],
    *,
    lams: Any = None,
    iterates: Any = None,
    x_star: Any = None,
    xlim=(-2.0, 2.0),
    ylim=(-2.0, 2.0),
    resolution: int = 70,
    title: str | None = None,
    height: int = 520,
):
    """Level sets of ``f + λ_kᵀc + (μ_k/2)‖c‖²`` on a 2-D grid, one slider step per ``k``
    (``lams=None``: the quadratic penalty, λ = 0), with the constraint curve ``c = 0``
    (static), the subproblem minimiser ``iterates[k + 1]`` (``iterates`` as in
    ``MultiplierOutput.iterates``: the start, then one minimiser per ``k``) and the
    solution ``x_star``.
    Log-spaced levels above the grid minimum make the narrowing valley visible."""
    import jax.numpy as jnp

    mus = list(mus)
    lam_arr = None if lams is None else np.asarray(lams, dtype=float)
    gx, gy, C0 = grid_values(lambda x: jnp.atleast_1d(c(x))[0], xlim, ylim, resolution)
    static = [
        go.Contour(
            x=gx,
            y=gy,
            z=C0,
            contours=dict(start=0, end=0, size=1, coloring="none"),
            line=dict(color="black", width=2.5),
            showscale=False,
            hoverinfo="skip",
            name="c(x) = 0",
            showlegend=True,
        )
    ]
    if x_star is not None:
        xs_ = np.asarray(x_star, dtype=float)
        static.append(
            go.Scatter(
                x=[xs_[0]],
                y=[xs_[1]],
                mode="markers",
                name="x*",
                marker=dict(symbol="star", size=14, color="black"),
            )
        )
    groups = []
    for k, mu in enumerate(mus):
        lam = 0.0 if lam_arr is None else lam_arr[k]

        def phi(x, mu=mu, lam=lam):
            cx = jnp.atleast_1d(c(x))
            return f(x) + jnp.sum(lam * cx) + 0.5 * mu * jnp.sum(cx**2)

        _, _, Z = grid_values(phi, xlim, ylim, resolution)
        z = np.log10(Z - Z.min() + 1e-2)
        group = [
            go.Contour(
                x=gx,
                y=gy,
                z=np.round(z, 3),
                colorscale="Blues",
                reversescale=True,
                ncontours=22,
                contours=dict(coloring="lines"),
                line=dict(width=1),
                showscale=False,
                hoverinfo="skip",
                showlegend=False,
            )
        ]
        if iterates is not None:
            p = np.asarray(iterates, dtype=float)[k + 1]
            group.append(
                go.Scatter(
                    x=[p[0]],
                    y=[p[1]],
                    mode="markers",
                    name="subproblem minimiser",
                    marker=dict(size=11, color=COLORS[1]),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        [f"{m:.3g}" for m in mus] if lam_arr is None else [f"k={k}, μ={m:.3g}" for k, m in enumerate(mus)],
        prefix="μ = " if lam_arr is None else "",
        static=static,
        title=title,
        xaxis_title="x₁",
        yaxis_title="x₂",
        height=height,
    )
    fig.update_xaxes(range=list(xlim), constrain="domain")
    fig.update_yaxes(range=list(ylim), scaleanchor="x", scaleratio=1)
    return fig


def _bary(P: np.ndarray) -> np.ndarray:
    """Points of the 2-simplex (rows summing to 1) to the plane (equilateral triangle)."""
    V = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    return np.asarray(P, dtype=float) @ V


def simplex_trajectories(
    trajectories: Mapping[str, Any],
    *,
    f: Callable | None = None,
    x_star: Any = None,
    resolution: int = 60,
    title: str | None = None,
    height: int = 500,
):
    """Iterates on the probability simplex of ℝ³ drawn in barycentric coordinates,
    with the level sets of ``f`` (optional) and the solution ``x_star``."""
    fig = go.Figure()
    if f is not None:
        import jax
        import jax.numpy as jnp

        u = np.linspace(0, 1, resolution)
        A, B = np.meshgrid(u, u)
        P = np.stack([1 - A - B, A, B], -1).reshape(-1, 3)
        inside = np.all(P >= -1e-12, axis=1)
        vals = np.full(P.shape[0], np.nan)
        vals[inside] = np.asarray(jax.vmap(f)(jnp.asarray(np.clip(P[inside], 1e-9, None))))
        xy = _bary(P)
        fig.add_trace(
            go.Scatter(
                x=xy[inside, 0],
                y=xy[inside, 1],
                mode="markers",
                marker=dict(
                    color=np.round(vals[inside], 5), colorscale="Blues", size=4, opacity=0.5, showscale=False
                ),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    tri = _bary(np.eye(3)[[0, 1, 2, 0]])
    fig.add_trace(
        go.Scatter(
            x=tri[:, 0], y=tri[:, 1], mode="lines", line=dict(color="black"), name="simplex", hoverinfo="skip"
        )
    )
    for i, (lab, traj) in enumerate(trajectories.items()):
        xy = _bary(np.asarray(traj)[:, :3])
        fig.add_trace(
            go.Scatter(
                x=xy[:, 0],
                y=xy[:, 1],
                mode="lines+markers",
                name=lab,
                marker=dict(size=4, color=COLORS[i % len(COLORS)]),
                line=dict(width=1.5, color=COLORS[i % len(COLORS)]),
            )
        )
    if x_star is not None:
        p = _bary(np.asarray(x_star, dtype=float)[None, :3])[0]
        fig.add_trace(
            go.Scatter(
                x=[p[0]],
                y=[p[1]],
                mode="markers",
                name="x*",
                marker=dict(symbol="star", size=14, color="black"),
            )
        )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    return fig


def load_balance_figure(
    loads: Any,
    duals: Any,
    learning_rates: Sequence[float],
    *,
    lp_value: float,
    title: str | None = None,
    height: int = 460,
):
    """Left: max/mean expert load against the step; right: the dual gap
    ``D(b_t) − LP*`` (log scale). One slider step per bias step size ``u`` (``learning_rates``).
    ``loads``: ``(U, T, E)``, ``duals``: ``(U, T)``."""
    L = np.asarray(loads, dtype=float)
    Dv = np.asarray(duals, dtype=float)
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("max load / mean load", "dual gap D(b_t) − LP*"),
    )
    T = L.shape[1]
    t = np.arange(T)
    for j in range(L.shape[0]):
        imb = L[j].max(1) / L[j].mean(1)
        gap = Dv[j] - lp_value
        gap = np.where(gap > 0, gap, np.nan)
        fig.add_trace(
            go.Scatter(
                x=t,
                y=np.round(imb, 4),
                mode="lines",
                name="max/mean",
                visible=j == 0,
                line=dict(color=COLORS[0], width=2),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=t, y=gap, mode="lines", name="dual gap", visible=j == 0, line=dict(color=COLORS[1], width=2)
            ),
            row=1,
            col=2,
        )
    steps = [
        ("restyle", [{"visible": [k // 2 == j for k in range(2 * L.shape[0])]}]) for j in range(L.shape[0])
    ]
    style_figure(fig, title, None, None, height=height)
    fig.update_layout(sliders=[slider_menu([f"{u:.0e}" for u in learning_rates], "bias step u = ", steps)])
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_xaxes(title_text="routing step t", row=1, col=1)
    fig.update_xaxes(title_text="routing step t", row=1, col=2)
    return fig


def relu_fits(
    t_data: Any,
    y_data: Any,
    t_grid: Any,
    convex_fit: Any,
    nonconvex_fits: Any,
    nonconvex_values: Sequence[float],
    convex_value: float,
    *,
    title: str | None = None,
    height: int = 460,
):
    """Data, the network rebuilt from the convex solution (static) and one
    nonconvex GD fit per slider step (labelled with its final objective)."""
    static = [
        go.Scatter(
            x=np.asarray(t_data),
            y=np.asarray(y_data),
            mode="markers",
            name="data",
            marker=dict(color="black", size=7),
        ),
        go.Scatter(
            x=np.asarray(t_grid),
            y=np.asarray(convex_fit),
            mode="lines",
            name=f"convex (ADMM), objective {convex_value:.4f}",
            line=dict(color=COLORS[0], width=3),
        ),
    ]
    groups = [
        [
            go.Scatter(
                x=np.asarray(t_grid),
                y=np.asarray(fit),
                mode="lines",
                name=f"GD, objective {v:.4f}",
                line=dict(color=COLORS[1], dash="dash", width=2),
            )
        ]
        for fit, v in zip(nonconvex_fits, nonconvex_values, strict=False)
    ]
    return stepped_figure(
        groups,
        [str(i) for i in range(len(groups))],
        prefix="GD seed ",
        static=static,
        title=title,
        xaxis_title="input t",
        yaxis_title="prediction",
        height=height,
    )
