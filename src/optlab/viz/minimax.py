"""Figures for the min-max chapter (built on :mod:`optlab.viz.core`).

:func:`game_paths_explorer` is a live :class:`~optlab.viz.Explorer`: every change of the
game or of the step size re-runs GDA, extragradient, optimistic gradient, proximal point
and competitive gradient from :mod:`optlab.minimax`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go

from .. import minimax as mm
from .core import COLORS, clip_path, stepped_figure, style_figure
from .explorer import Explorer, Frame, log_slider, slider

__all__ = ["field_segments", "game_explorer", "game_paths_explorer", "phase_diagram", "sgn_band_figure"]


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


def _run_gda(F, f, z0, learning_rate, num_steps):
    return mm.gda(F, z0, learning_rate=learning_rate, num_steps=num_steps, return_iterates=True)


def _run_alternating_gda(F, f, z0, learning_rate, num_steps):
    return mm.gda(
        F, z0, learning_rate=learning_rate, num_steps=num_steps, alternating=True, return_iterates=True
    )


def _run_extragradient(F, f, z0, learning_rate, num_steps):
    return mm.extragradient(F, z0, learning_rate=learning_rate, num_steps=num_steps, return_iterates=True)


def _run_optimistic(F, f, z0, learning_rate, num_steps):
    return mm.optimistic_gradient(
        F, z0, learning_rate=learning_rate, num_steps=num_steps, return_iterates=True
    )


def _run_proximal_point(F, f, z0, learning_rate, num_steps):
    return mm.proximal_point(F, z0, learning_rate=learning_rate, num_steps=num_steps, return_iterates=True)


def _run_competitive(F, f, z0, learning_rate, num_steps):
    return mm.competitive_gradient(
        f, z0, learning_rate=learning_rate, num_steps=num_steps, n_x=1, return_iterates=True
    )


GAME_METHODS: dict[str, Callable] = {
    "GDA": _run_gda,
    "alternating GDA": _run_alternating_gda,
    "extragradient": _run_extragradient,
    "optimistic (past EG)": _run_optimistic,
    "proximal point": _run_proximal_point,
    "competitive (CGO)": _run_competitive,
}
"""The methods of :func:`game_paths_explorer`: ``name ↦ run(F, f, z0, learning_rate, num_steps)``,
each returning an :class:`optlab.minimax.MinimaxOutput` with iterates."""


@partial(jax.jit, static_argnames=("methods", "num_steps"))
def _game_paths(a, coupling, learning_rate, z0, *, methods, num_steps):
    """Every method's iterates and residuals on f(x, y) = a/2 x² + b xy − a/2 y²."""
    F = mm.quadratic_game(a[None, None], coupling[None, None], a[None, None])

    def f(x, y):
        return 0.5 * a * x @ x + coupling * x @ y - 0.5 * a * y @ y

    outs = [run(F, f, z0, learning_rate, num_steps) for _, run in methods]
    return [o.iterates for o in outs], [o.residuals for o in outs]


def game_paths_explorer(
    *,
    methods: Mapping[str, Callable] | None = None,
    a_values: Sequence[float] = (-0.1, 0.0, 0.3),
    couplings: Sequence[float] = (0.5, 1.0, 2.0),
    learning_rates: Sequence[float] = (0.1, 0.4, 0.8),
    a: float = 0.0,
    coupling: float = 1.0,
    learning_rate: float = 0.4,
    z0: Sequence[float] = (1.5, 1.0),
    num_steps: int = 60,
    lim: float = 2.5,
    resolution: int = 13,
    dtype: Any = jnp.float32,
    title: str | None = None,
) -> Explorer:
    """Paths of GDA, extragradient, optimistic gradient, ... in the (x, y) plane of a 2-D game.

    The game is ``f(x, y) = a/2 x² + b xy − a/2 y²``, i.e. ``F(z) = Mz`` with
    ``M = [[a, b], [−b, a]]`` (:func:`optlab.minimax.quadratic_game`): ``b`` is the coupling
    of the two players, ``a > 0`` makes the game strongly monotone, ``a < 0`` negatively
    comonotone (``ρ = a/(a² + b²)``).  Every change runs each method for ``num_steps``
    steps from ``z0`` under one compiled function of ``(a, b, η)`` and draws the paths
    (clipped to the box ``[−lim, lim]²``) over the field ``−F``; the legend reports each
    method's ``‖F(z_K)‖/‖F(z₀)‖``.  The static figure sweeps ``a`` and ``η`` (``b`` at its
    value).

    Args:
      methods: ``name ↦ run(F, f, z0, learning_rate, num_steps)`` returning a
        :class:`~optlab.minimax.MinimaxOutput` with iterates (default
        :data:`GAME_METHODS`; a lab passes a student's method).  Must be traceable.
      a_values: the values of ``a`` in the static figure.
      couplings: the values of the coupling ``b`` offered live (non-zero).
      learning_rates: the step sizes ``η`` in the static figure (positive).
      a: the first ``a`` shown (one of ``a_values``).
      coupling: the first ``b`` shown (one of ``couplings``).
      learning_rate: the first ``η`` shown (one of ``learning_rates``).
      z0: the start ``(x₀, y₀)``.
      num_steps: steps per method (≥ 1).
      lim: half-width of the plotted box.
      resolution: arrows per side of the field.
      dtype: the floating dtype of the runs.
      title: the figure title (default: the game and the step size).

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``a``, ``coupling`` (b) and ``learning_rate`` (η).

    Raises:
      ValueError: an empty ``methods``, ``num_steps < 1``, ``z0`` not of length 2, a zero
        coupling, a non-positive step size or box, or a first value not among its values.
      TypeError: a method that is not callable.
    """
    methods = dict(GAME_METHODS if methods is None else methods)
    if not methods:
        raise ValueError("methods must name at least one method")
    for name, run in methods.items():
        if not callable(run):
            raise TypeError(f"methods[{name!r}] must be callable, got {type(run).__name__}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    z0_arr = np.asarray(z0, dtype=float)
    if z0_arr.shape != (2,) or not np.all(np.isfinite(z0_arr)):
        raise ValueError(f"z0 must be a finite point (x0, y0), got {z0!r}")
    if any(float(b) == 0.0 for b in couplings):
        raise ValueError(f"couplings must be non-zero, got {tuple(couplings)}")
    if not lim > 0:
        raise ValueError(f"lim must be positive, got {lim!r}")
    items = tuple(methods.items())
    z0_j = jnp.asarray(z0_arr, dtype)
    box = (-lim, lim)

    fig = go.Figure(
        [
            go.Scatter(
                name="−F(z)",
                mode="lines",
                hoverinfo="skip",
                line=dict(color="rgba(120,120,120,0.6)", width=1),
            )
        ]
        + [
            go.Scatter(
                name=name,
                mode="lines+markers",
                marker=dict(size=3, color=COLORS[i % len(COLORS)]),
                line=dict(color=COLORS[i % len(COLORS)], width=1.8),
            )
            for i, name in enumerate(methods)
        ]
        + [
            go.Scatter(
                x=[0.0],
                y=[0.0],
                mode="markers",
                name="equilibrium z*",
                marker=dict(symbol="star", size=14, color="black"),
            )
        ]
    )
    style_figure(fig, title, "x (minimising player)", "y (maximising player)", height=580)
    fig.update_xaxes(range=list(box), constrain="domain")
    fig.update_yaxes(range=list(box), scaleanchor="x", scaleratio=1)

    def update(a: float, coupling: float, learning_rate: float) -> Frame:
        a_, b_, eta = (jnp.asarray(v, dtype) for v in (a, coupling, learning_rate))
        paths, residuals = _game_paths(a_, b_, eta, z0_j, methods=items, num_steps=num_steps)
        M = np.array([[a, coupling], [-coupling, a]])
        Mj = jnp.asarray(M)
        ax, ay = field_segments(lambda z: Mj @ z, box, box, resolution=resolution)
        traces: dict[int, dict[str, Any]] = {0: {"x": ax, "y": ay}}
        for i, (name, path, res) in enumerate(zip(methods, paths, residuals, strict=True), start=1):
            t = clip_path(np.asarray(path, dtype=float), box, box, margin=0.05)
            r = np.asarray(res, dtype=float)
            ratio = r[-1] / r[0] if np.isfinite(r[-1]) else np.inf
            traces[i] = {"x": t[:, 0], "y": t[:, 1], "name": f"{name}: ‖F(z_K)‖/‖F(z₀)‖ = {ratio:.1e}"}
        rho = a / (a * a + coupling * coupling)
        return Frame(
            traces,
            layout={
                "title.text": title
                or f"f = {a:.3g}/2·x² + {coupling:.3g}·xy − {a:.3g}/2·y² (ρ = {rho:.3g}), "
                f"η = {learning_rate:.3g}, {num_steps} steps"
            },
        )

    controls = {
        "a": slider("a", [float(v) for v in a_values], value=a, bounds=(-0.5, 0.5), step=0.01),
        "coupling": slider("b (coupling)", [float(v) for v in couplings], value=coupling, bounds=(0.1, 3.0)),
        "learning_rate": log_slider(
            "η", [float(v) for v in learning_rates], value=learning_rate, bounds=(0.01, 2.0)
        ),
    }
    return Explorer(fig, update, controls, static=["a", "learning_rate"])
