"""Figures for the landscape / implicit-bias chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import landscape
from .core import COLORS, slider_menu, stepped_figure, style_figure
from .explorer import Explorer, Frame, log_slider

__all__ = ["collapse_3d", "hessian_histogram_slider", "sharpness_explorer", "sharpness_slider"]


def _basis3(M: np.ndarray) -> np.ndarray:
    """Orthonormal ``d × 3`` basis of the top-3 left singular subspace of ``M``
    (padded with further coordinate directions when ``rank M < 3``)."""
    U, _, _ = np.linalg.svd(M, full_matrices=True)
    return U[:, :3]


def collapse_3d(
    means: Any,
    classifiers: Any,
    steps: Sequence[Any],
    *,
    centre: bool = True,
    title: str | None = None,
    height: int = 560,
) -> go.Figure:
    """Class means (and classifier rows) in 3-D, with a slider over training steps.

    Args:
      means: ``(C, K, d)`` class means (one per row) at ``C`` recorded steps
        (:attr:`optlab.landscape.UFMOutput.means`).
      classifiers: ``(C, K, d)`` classifier rows, drawn as dashed segments.
      centre: subtract the global mean of the class means (the ETF view); ``False``
        shows uncentred means (the orthogonal-frame view).

    Every frame is projected on the top-3 singular subspace of the *final*
    (centred) means and rescaled to unit mean length, so the shape, not the
    scale, is compared; the edges between means are drawn to show the simplex.
    """
    M = np.asarray(means, dtype=float)
    Wt = np.asarray(classifiers, dtype=float)
    if M.ndim != 3 or Wt.shape != M.shape:
        raise ValueError(f"means and classifiers must both be (C, K, d), got {M.shape} and {Wt.shape}")
    if len(steps) != M.shape[0]:
        raise ValueError(f"got {len(steps)} steps for {M.shape[0]} recorded frames")
    if M.shape[2] < 3:
        raise ValueError(f"need feature dimension d ≥ 3 for a 3-D view, got {M.shape[2]}")
    K = M.shape[1]
    if centre:
        M = M - M.mean(axis=1, keepdims=True)
    B = _basis3(M[-1].T)
    groups = []
    for j in range(M.shape[0]):
        P = B.T @ M[j].T  # 3 × K
        P = P / max(np.linalg.norm(P, axis=0).mean(), 1e-300)
        Q = B.T @ Wt[j].T
        Q = Q / max(np.linalg.norm(Q, axis=0).mean(), 1e-300)
        ex: list[float | None] = []
        ey: list[float | None] = []
        ez: list[float | None] = []
        for a in range(K):
            for b in range(a + 1, K):
                for lst, c in ((ex, 0), (ey, 1), (ez, 2)):
                    lst.extend([P[c, a], P[c, b], None])
        group = [
            go.Scatter3d(
                x=ex,
                y=ey,
                z=ez,
                mode="lines",
                name="edges μ_j–μ_k",
                line=dict(color="#999999", width=3),
                hoverinfo="skip",
            )
        ]
        wx: list[float | None] = []
        wy: list[float | None] = []
        wz: list[float | None] = []
        for k in range(K):
            for lst, c in ((wx, 0), (wy, 1), (wz, 2)):
                lst.extend([0.0, Q[c, k], None])
        group.append(
            go.Scatter3d(
                x=wx,
                y=wy,
                z=wz,
                mode="lines",
                name="classifier rows w_k",
                line=dict(color=COLORS[1], width=4, dash="dash"),
            )
        )
        group.append(
            go.Scatter3d(
                x=P[0],
                y=P[1],
                z=P[2],
                mode="markers+text",
                text=[f"μ{k + 1}" for k in range(K)],
                name="class means",
                marker=dict(size=6, color=[COLORS[k % len(COLORS)] for k in range(K)]),
            )
        )
        groups.append(group)
    static = [
        go.Scatter3d(x=[0], y=[0], z=[0], mode="markers", name="origin", marker=dict(size=3, color="black"))
    ]
    fig = stepped_figure(
        groups,
        [str(int(s)) for s in steps],
        prefix="GD step = ",
        static=static,
        active=len(groups) - 1,
        title=title,
        height=height,
    )
    r = [-1.3, 1.3]
    fig.update_layout(
        scene=dict(
            xaxis=dict(range=r, title="e₁"),
            yaxis=dict(range=r, title="e₂"),
            zaxis=dict(range=r, title="e₃"),
            aspectmode="cube",
        )
    )
    return fig


def hessian_histogram_slider(
    eigenvalues: Any,
    labels: Sequence[Any],
    prefix: str,
    *,
    bins: int = 60,
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """Histograms of Hessian spectra (``(P, n)``, one spectrum per slider value) of
    ``λ/λ_max``, log-scale counts; the bulk sits at 0, outliers to the right."""
    E = np.asarray(eigenvalues, dtype=float)
    if E.ndim != 2 or E.shape[0] != len(labels):
        raise ValueError(f"eigenvalues must have shape (P={len(labels)}, n), got {E.shape}")
    R = E / np.abs(E).max(axis=1, keepdims=True)
    edges = np.linspace(min(-0.1, R.min()), 1.0 + 1e-9, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    groups = []
    for j in range(E.shape[0]):
        counts, _ = np.histogram(R[j], edges)
        y = np.where(counts > 0, counts, np.nan)
        groups.append(
            [
                go.Bar(
                    x=centres,
                    y=y,
                    width=np.diff(edges),
                    name="eigenvalue count",
                    marker=dict(color=COLORS[0]),
                    hovertemplate="λ/λ_max ≈ %{x:.3f}: %{y} eigenvalues<extra></extra>",
                )
            ]
        )
    fig = stepped_figure(
        groups,
        list(labels),
        prefix=prefix,
        title=title,
        xaxis_title="λ / λ_max",
        yaxis_title="count (log)",
        height=height,
    )
    fig.update_yaxes(type="log")
    return fig


def sharpness_slider(
    steps: Any,
    sharpness: Any,
    losses: Any,
    learning_rates: Sequence[float],
    *,
    reference: tuple[Any, Any] | None = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Sharpness (left, with the ``2/η`` line) and training loss (right, log) for a
    sweep over step sizes ``η`` (``learning_rates``), one slider step per ``η``.

    Args:
      steps: ``(C,)`` steps at which sharpness was measured.
      sharpness: ``(P, C)``; ``losses``: ``(P, T)``.
      reference: optional ``(sharpness (C,), losses (T,))`` of a small-step run
        (≈ gradient flow), always shown in grey.
    """
    S, Lo = np.asarray(sharpness, float), np.asarray(losses, float)
    st = np.asarray(steps, float)
    if S.shape[0] != len(learning_rates) or Lo.shape[0] != len(learning_rates) or S.shape[1] != st.shape[0]:
        raise ValueError(
            f"sharpness must be (P={len(learning_rates)}, {st.shape[0]}) and losses (P, T), "
            f"got {S.shape} and {Lo.shape}"
        )
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=("sharpness λ_max(∇²L)", "training loss")
    )
    n_static = 0
    if reference is not None:
        rs, rl = np.asarray(reference[0], float), np.asarray(reference[1], float)
        fig.add_trace(
            go.Scatter(
                x=st,
                y=rs,
                mode="lines",
                name="small step (≈ gradient flow)",
                line=dict(color="#888888", width=1.5),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(rl)),
                y=rl,
                mode="lines",
                showlegend=False,
                line=dict(color="#888888", width=1.5),
            ),
            row=1,
            col=2,
        )
        n_static = 2
    stride = max(1, Lo.shape[1] // 1500)
    for j, lr in enumerate(learning_rates):
        vis = j == 0
        fig.add_trace(
            go.Scatter(
                x=st,
                y=S[j],
                mode="lines",
                name="GD sharpness",
                visible=vis,
                line=dict(color=COLORS[0], width=2),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=[st[0], st[-1]],
                y=[2 / lr] * 2,
                mode="lines",
                name="2/η",
                visible=vis,
                line=dict(color=COLORS[1], dash="dash", width=1.5),
            ),
            row=1,
            col=1,
        )
        t = np.arange(0, Lo.shape[1], stride)
        fig.add_trace(
            go.Scatter(
                x=t,
                y=Lo[j, ::stride],
                mode="lines",
                name="GD loss",
                visible=vis,
                line=dict(color=COLORS[2], width=1.5),
            ),
            row=1,
            col=2,
        )
    steps_args = []
    for j in range(len(learning_rates)):
        visible = [True] * n_static + [k // 3 == j for k in range(3 * len(learning_rates))]
        steps_args.append(("restyle", [{"visible": visible}]))
    style_figure(fig, title, None, None, height=height)
    # legend above the panels: inside them it would hide the loss curves
    fig.update_layout(
        legend=dict(orientation="h", yanchor="bottom", y=1.12, x=0.0), margin=dict(t=125 if title else 90)
    )
    if title:
        fig.update_layout(title=dict(text=title, y=0.98, yanchor="top"))
    labels = [f"{float(e):.3g} (2/η = {2 / float(e):.3g})" for e in learning_rates]
    fig.update_layout(sliders=[slider_menu(labels, "η = ", steps_args)])
    fig.update_xaxes(title_text="GD step")
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    return fig


def sharpness_explorer(
    loss_fn: Callable,
    params: Any,
    *,
    key: Any,
    learning_rates: Sequence[float],
    learning_rate: float | None = None,
    num_steps: int = 3000,
    record_every: int = 20,
    power_num_steps: int = 10,
    reference: tuple[Any, Any] | None = None,
    run: Callable[..., Any] | None = None,
    title: str | None = "Edge of stability: the sharpness against 2/η",
    height: int = 480,
) -> Explorer:
    """Live figure: full-batch GD with step ``η``, its sharpness ``λ_max(∇²L)`` (left, with
    the line ``2/η``) and its training loss (right, log scale; every ``num_steps // 1500``-th
    step when there are more than 3000).

    Every change of ``η`` re-runs ``run`` (default :func:`optlab.landscape.gd_with_sharpness`,
    jitted: compiled once, ``η`` is traced). The title reports ``2/η`` and the sharpness
    over the second half of training in units of ``2/η``.

    Args:
      loss_fn: the training loss, a function of the parameters (keep the same object: the
        compiled loop is cached on it).
      params: the initial parameters (a pytree).
      key: a JAX PRNG key for the power iteration's first vector.
      learning_rates: the step sizes of the static figure's slider steps (positive).
      learning_rate: the step shown first (default: the middle of ``learning_rates``).
      num_steps: GD steps, a multiple of ``record_every``.
      record_every: steps between sharpness measurements.
      power_num_steps: power iterations per measurement.
      reference: optional ``(sharpness, losses)`` of a small-step run with the same
        ``record_every``, drawn in grey (not re-run).
      run: ``run(loss_fn, params, learning_rate=, num_steps=, key=, record_every=,
        power_num_steps=)`` returning an object with ``steps``, ``sharpness`` and ``losses``
        (a student's implementation); default the library's.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``learning_rate`` (log slider).

    Raises:
      TypeError: ``loss_fn`` or ``run`` not callable.
      ValueError: ``num_steps`` not a positive multiple of ``record_every``, a
        non-positive step, a default not among ``learning_rates``.
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {type(loss_fn).__name__}")
    run = landscape.gd_with_sharpness if run is None else run
    if not callable(run):
        raise TypeError(f"run must be callable, got {type(run).__name__}")
    for name, v in (
        ("num_steps", num_steps),
        ("record_every", record_every),
        ("power_num_steps", power_num_steps),
    ):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    controls = {
        "learning_rate": log_slider(
            "step η",
            learning_rates,
            value=learning_rate,
            bounds=(min(learning_rates) / 4, max(learning_rates) * 2),
        )
    }
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.1, subplot_titles=("sharpness λ_max(∇²L)", "training loss")
    )
    checkpoints = np.arange(0, num_steps, record_every, dtype=float)  # as gd_with_sharpness.steps
    stride = max(1, num_steps // 1500)  # the loss is drawn every stride-th step (a lighter HTML)
    shown = np.arange(0, num_steps, stride)
    fig.add_trace(
        go.Scatter(x=checkpoints, mode="lines", name="GD, step η", line=dict(color=COLORS[0], width=2)),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[0, checkpoints[-1]],
            mode="lines",
            name="2/η",
            line=dict(color=COLORS[1], dash="dash", width=1.5),
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=shown, mode="lines", showlegend=False, line=dict(color=COLORS[0], width=1.5)),
        row=1,
        col=2,
    )
    if reference is not None:
        rs, rl = np.asarray(reference[0], float), np.asarray(reference[1], float)
        grey = dict(color="#888888", width=1.5)
        fig.add_trace(
            go.Scatter(
                x=checkpoints[: len(rs)], y=rs, mode="lines", name="small step (≈ gradient flow)", line=grey
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(x=shown, y=rl[::stride], mode="lines", showlegend=False, line=grey), row=1, col=2
        )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="GD step t")
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)

    def update(learning_rate):
        out = run(
            loss_fn,
            params,
            learning_rate=learning_rate,
            num_steps=num_steps,
            key=key,
            record_every=record_every,
            power_num_steps=power_num_steps,
        )
        sharp = np.asarray(out.sharpness, float)
        losses = np.asarray(out.losses, float)
        edge = 2.0 / learning_rate
        late = sharp[len(sharp) // 2 :] / edge
        if np.isfinite(late).any():
            summary = f"sharpness over the second half {np.nanmin(late):.3f} to {np.nanmax(late):.3f} × 2/η"
        else:  # the run diverged: no finite sharpness to report
            summary = "the run diverged (no finite sharpness over the second half)"
        return Frame(
            {
                0: {"y": sharp},
                1: {"y": [edge, edge]},
                2: {"y": losses[::stride]},
            },
            layout={"title.text": f"η = {learning_rate:.3g}, 2/η = {edge:.3g}: {summary}"},
        )

    return Explorer(fig, update, controls)
