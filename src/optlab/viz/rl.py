"""Figures for the reinforcement-learning chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import rl
from .core import COLORS, mask_nonpositive, stepped_figure, style_figure
from .explorer import Explorer, Frame, log_slider, slider

__all__ = ["gridworld_policy_slider", "noise_error_figure", "pg_learning_curves", "soft_vi_explorer"]

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


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _soft_vi_path(mdp, kappa, num_steps):
    """Soft value iteration (MDVI with τ = 0): the policies' values ``V^{π_k}``, ``k = 0..K``."""
    out = rl.kl_value_iteration(mdp, 0.0, kappa, num_steps=num_steps)
    pols = out.policies()
    return pols[-1], jax.vmap(lambda p: rl.policy_evaluation(mdp, p))(pols)


def soft_vi_explorer(
    *,
    n: int = 5,
    slip: float = 0.1,
    kappas: Sequence[float] = (1.0, 0.2, 0.05, 0.005),
    kappa: float | None = None,
    gammas: Sequence[float] = (0.5, 0.9, 0.97),
    gamma: float = 0.9,
    num_steps: int = 300,
    goal: tuple[int, int] | None = None,
    trap: tuple[int, int] | None = (1, 3),
    title: str | None = "Soft value iteration on the gridworld",
    height: int = 520,
) -> Explorer:
    """Live figure: soft value iteration (:func:`optlab.rl.kl_value_iteration` with ``τ = 0``)
    on :func:`optlab.rl.gridworld` for a temperature ``κ`` and a discount ``γ``: the final
    policy's value ``V^π`` as a heatmap with the policy's arrows (left), and the
    suboptimality ``‖V* − V^{π_k}‖∞`` of every iterate (right, log scale).

    Every change builds the MDP for ``γ`` and re-runs the jitted iteration (compiled once:
    ``κ`` and ``γ`` are traced). ``V*`` comes from :func:`optlab.rl.value_iteration`.

    Args:
      n: the grid's side.
      slip: the gridworld's slip probability.
      kappas: the temperatures of the static figure (positive).
      kappa: the temperature shown first (default: the middle of ``kappas``).
      gammas: the discounts of the static figure (in ``(0, 1)``).
      gamma: the discount shown first (one of ``gammas``).
      num_steps: iterations of soft value iteration.
      goal, trap: the gridworld's goal and trap cells (see :func:`optlab.rl.gridworld`;
        ``goal=None`` is the bottom-right corner).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with controls ``kappa`` (log slider) and ``gamma``
      (slider).

    Raises:
      ValueError: a discount outside ``(0, 1)``, a non-positive temperature, a
        non-positive ``num_steps``, or a default not among the values offered (the
        gridworld's own checks apply to ``n``, ``slip``, ``goal`` and ``trap``).
    """
    if any(not 0.0 < float(g) < 1.0 for g in gammas):
        raise ValueError(f"gammas must lie in (0, 1), got {tuple(gammas)}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    goal_cell = (n - 1, n - 1) if goal is None else goal
    rl.gridworld(n, slip=slip, gamma=float(gamma), goal=goal, trap=trap)  # checks n, slip, goal, trap
    controls = {
        "kappa": log_slider("temperature κ", kappas, value=kappa, bounds=(1e-3, 10.0)),
        "gamma": slider("discount γ", gammas, value=gamma, bounds=(0.3, 0.99), step=0.01),
    }
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.5, 0.5],
        horizontal_spacing=0.14,
        subplot_titles=("V^π and π(a|s) of the last iterate", "‖V* − V^{π_k}‖∞"),
    )
    fig.add_trace(
        go.Heatmap(
            x=list(range(n)),
            y=list(range(n)),
            colorscale="Viridis",
            colorbar=dict(title="V^π", x=0.43),
            hovertemplate="V=%{z:.3f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            mode="lines+markers",
            line=dict(color="white", width=3),
            marker=dict(symbol="arrow", angleref="previous", color="white"),
            name="π(a|s)",
            hoverinfo="skip",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(mode="lines", name="soft VI", line=dict(color=COLORS[0], width=2), showlegend=False),
        row=1,
        col=2,
    )
    for cell, sym, label in ((goal_cell, "star", "goal"), (trap, "x", "trap")):
        if cell is not None:
            fig.add_trace(
                go.Scatter(
                    x=[cell[1]],
                    y=[cell[0]],
                    mode="markers",
                    name=label,
                    marker=dict(symbol=sym, size=16, color=COLORS[1], line=dict(color="black", width=1)),
                ),
                row=1,
                col=1,
            )
    style_figure(fig, title, None, None, height=height)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", scaleratio=1, dtick=1, row=1, col=1)
    fig.update_xaxes(dtick=1, constrain="domain", row=1, col=1)
    fig.update_xaxes(title_text="iteration k", type="log", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_layout(legend=dict(orientation="h", y=1.08, x=0))

    def update(kappa, gamma):
        mdp = rl.gridworld(n, slip=slip, gamma=float(gamma), goal=goal, trap=trap)
        v_star = np.asarray(rl.value_iteration(mdp, tol=1e-10).V, float)
        pi, values = _soft_vi_path(mdp, kappa, num_steps)
        values = np.asarray(values, float)
        gap = np.max(v_star - values, axis=1)
        xs, ys, sizes = _policy_segments(np.asarray(pi, float), n)
        ret, opt = float(np.asarray(mdp.rho) @ values[-1]), float(np.asarray(mdp.rho) @ v_star)
        return Frame(
            {
                0: {"z": values[-1].reshape(n, n)},
                1: {"x": xs, "y": ys, "marker.size": sizes},
                2: {"x": np.arange(1, num_steps + 1), "y": mask_nonpositive(gap[1:])},
            },
            layout={
                "title.text": f"κ = {kappa:.3g}, γ = {gamma:.3g}: "
                f"return ⟨ρ, V^π⟩ = {ret:.4f} (optimum {opt:.4f})"
            },
        )

    return Explorer(fig, update, controls)


def noise_error_figure(
    noise_scales: Sequence[float],
    errors: Mapping[str, Any],
    *,
    title: str | None = None,
    height: int = 460,
    yaxis_title: str = "‖q* − q^{π_K}‖∞",
) -> go.Figure:
    """Final-policy error against the noise level: the mean over seeds (line) with
    error bars of one standard error, one trace per method (``rl.noisy_value_iteration``).

    Args:
      noise_scales: the noise levels ``σ``, shape ``(N,)``.
      errors: ``method ↦ (N, seeds)`` final errors.
    """
    x = np.asarray(noise_scales, dtype=float)
    fig = go.Figure()
    for i, (name, e) in enumerate(errors.items()):
        e = np.asarray(e, dtype=float)
        if e.ndim != 2 or e.shape[0] != x.size:
            raise ValueError(f"errors[{name!r}] must have shape (N={x.size}, seeds), got {e.shape}")
        se = e.std(axis=1) / np.sqrt(e.shape[1])
        fig.add_trace(
            go.Scatter(
                x=x,
                y=e.mean(axis=1),
                name=name,
                mode="lines+markers",
                line=dict(color=COLORS[i % len(COLORS)]),
                error_y=dict(type="data", array=se, visible=True),
            )
        )
    return style_figure(fig, title, "noise level σ", yaxis_title, height=height)
