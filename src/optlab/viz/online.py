"""Figures for the online-learning chapter (built on :mod:`optlab.viz.core`).

:func:`hedge_exp3_explorer` is a live :class:`~optlab.viz.Explorer`: every change of the
learning rate or of the exploration re-runs :func:`optlab.online.hedge` and
:func:`optlab.online.exp3`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import online
from .core import COLORS, convergence_slider, format_number, slider_menu, style_figure
from .explorer import Explorer, Frame, log_slider, slider

__all__ = ["regret_heatmap", "regret_curves", "step_size_sweep", "sor_bandit", "hedge_exp3_explorer"]


def regret_heatmap(
    regret: Any,
    methods: Sequence[str],
    horizons: Sequence[int],
    noises: Sequence[float],
    drifts: Sequence[float],
    *,
    normalize: bool = True,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """Regret over a (noise σ, drift) grid, one panel per method, slider over the horizon T.

    Args:
      regret: array ``(M, H, S, D)``: methods × horizons × noise levels × drifts.
      normalize: show ``R_T/√T`` (a flat colour across the slider means ``√T`` growth,
        fading to 0 means bounded regret).  The colour scale is diverging around 0 and
        shared by every panel and every T.
    """
    R = np.asarray(regret, dtype=float)
    M, H, S, D = len(methods), len(horizons), len(noises), len(drifts)
    if R.shape != (M, H, S, D):
        raise ValueError(f"regret must have shape (M={M}, H={H}, S={S}, D={D}), got {R.shape}")
    if normalize:
        R = R / np.sqrt(np.asarray(horizons, dtype=float))[None, :, None, None]
    lim = float(np.nanmax(np.abs(R))) or 1.0
    fig = make_subplots(rows=1, cols=M, subplot_titles=list(methods), horizontal_spacing=0.08)
    xs = [format_number(v) for v in drifts]
    ys = [format_number(v) for v in noises]
    for h in range(H):
        for m in range(M):
            z = np.round(R[m, h], 3)
            fig.add_trace(
                go.Heatmap(
                    z=z,
                    x=xs,
                    y=ys,
                    zmin=-lim,
                    zmax=lim,
                    zmid=0.0,
                    colorscale="RdBu_r",
                    showscale=m == M - 1,
                    text=np.round(R[m, h], 2),
                    texttemplate="%{text}",
                    colorbar=dict(title="R_T/√T" if normalize else "R_T"),
                    visible=h == H - 1,
                    hovertemplate="drift %{x}, σ %{y}: %{z}<extra></extra>",
                ),
                row=1,
                col=m + 1,
            )
    steps = []
    for h in range(H):
        steps.append(("restyle", [{"visible": [k // M == h for k in range(H * M)]}]))
    style_figure(fig, title, None, None, height=height)
    fig.update_layout(
        sliders=[slider_menu([str(int(t)) for t in horizons], "horizon T = ", steps, active=H - 1)]
    )
    for m in range(M):
        fig.update_xaxes(title_text="adversarial drift", type="category", row=1, col=m + 1)
        fig.update_yaxes(
            title_text="noise σ" if m == 0 else None, type="category", autorange="reversed", row=1, col=m + 1
        )  # σ = 0 on top
    return fig


def regret_curves(
    regret: Mapping[str, Any],
    horizons: Sequence[int],
    regimes: Sequence[str],
    *,
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """Regret against T on log-log axes, one slider step per regime, with a ``c√T`` guide.

    Args:
      regret: ``label ↦ (P, H)`` array, one row per regime (non-positive values are hidden
        on the log axis).
    """
    H = np.asarray(horizons, dtype=float)
    first = np.asarray(next(iter(regret.values())), dtype=float)
    if first.ndim != 2 or first.shape != (len(regimes), len(H)):
        raise ValueError(
            f"each regret curve must have shape (P={len(regimes)}, H={len(H)}), got {first.shape}"
        )
    scale = np.nanmax(np.abs(first[:, 0])) / np.sqrt(H[0])
    ref = {"√T (guide)": np.tile(scale * np.sqrt(H), (len(regimes), 1))}
    return convergence_slider(
        regret,
        list(regimes),
        "regime",
        x=H,
        log_x=True,
        log_y=True,
        references=ref,
        title=title,
        xaxis_title="horizon T",
        yaxis_title="regret R_T",
        height=height,
    )


def step_size_sweep(
    learning_rates: Any,
    regret_ogd: Any,
    regret_free: Any,
    labels: Sequence[Any],
    *,
    free_label: str = "coin betting (no step size)",
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """OGD's regret against its step scale η (log-log), one slider step per environment,
    with a parameter-free learner's regret as a horizontal line.

    Args:
      learning_rates: ``(E,)``, the step scales η of the sweep.
      regret_ogd: ``(P, E)``: environments × step sizes.
      regret_free: ``(P,)``.
    """
    etas = np.asarray(learning_rates, dtype=float)
    R = np.asarray(regret_ogd, dtype=float)
    F = np.asarray(regret_free, dtype=float)
    if R.shape != (len(labels), len(etas)) or F.shape != (len(labels),):
        raise ValueError(
            f"regret_ogd must be (P={len(labels)}, E={len(etas)}) and regret_free "
            f"(P,), got {R.shape} and {F.shape}"
        )
    fig = go.Figure()
    for j in range(len(labels)):
        fig.add_trace(
            go.Scatter(
                x=etas,
                y=R[j],
                mode="lines+markers",
                name="OGD, η/√t",
                line=dict(color=COLORS[0], width=2),
                visible=j == 0,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=[etas[0], etas[-1]],
                y=[F[j], F[j]],
                mode="lines",
                name=free_label,
                line=dict(color=COLORS[1], width=2, dash="dash"),
                visible=j == 0,
            )
        )
    steps = [
        ("restyle", [{"visible": [k // 2 == j for k in range(2 * len(labels))]}]) for j in range(len(labels))
    ]
    style_figure(fig, title, "step scale η", "regret R_T", height=height)
    fig.update_layout(
        sliders=[slider_menu([format_number(v) for v in labels], "comparator distance ‖u‖ = ", steps)]
    )
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def sor_bandit(
    avg_costs: Mapping[str, Any],
    probs: Any,
    n_iters: Any,
    omegas: Any,
    omega_star: Any,
    rounds: Sequence[int],
    *,
    title: str | None = None,
    height: int = 500,
) -> go.Figure:
    """EXP3 choosing SOR's ω: running average cost (left) and, with a slider over the
    round t, EXP3's sampling distribution p_t next to the cost curve of system t (right).

    Args:
      avg_costs: ``label ↦ (T,)`` running averages of iterations per system.
      probs: ``(T, K)`` EXP3 distributions (e.g. averaged over seeds).
      n_iters: ``(T, K)`` SOR iterations of each system at each ω
        (:attr:`optlab.linear_solvers.SORSequence.n_iters`).
      omega_star: ``(T,)`` Young's ω*_t, drawn as a vertical line.
      rounds: the rounds offered by the slider (0-based).
    """
    P = np.asarray(probs, dtype=float)
    It = np.asarray(n_iters, dtype=float)
    om = np.asarray(omegas, dtype=float)
    ws = np.asarray(omega_star, dtype=float)
    if P.shape != It.shape or P.shape[1] != om.size:
        raise ValueError(f"probs and n_iters must both be (T, K={om.size}), got {P.shape}, {It.shape}")
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("average SOR iterations per system", "round t"),
        specs=[[{}, {"secondary_y": True}]],
    )
    for i, (label, y) in enumerate(avg_costs.items()):
        y = np.asarray(y, dtype=float)
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, y.size + 1),
                y=y,
                mode="lines",
                name=label,
                line=dict(color=COLORS[i % len(COLORS)], width=2),
            ),
            row=1,
            col=1,
        )
    n_static = len(fig.data)
    bar_w = 0.8 * float(np.min(np.diff(om))) if om.size > 1 else 0.05
    for j, t in enumerate(rounds):
        vis = j == 0
        fig.add_trace(
            go.Bar(
                x=om,
                y=P[t],
                width=bar_w,
                name="EXP3 p_t",
                marker_color=COLORS[4],
                opacity=0.6,
                visible=vis,
                showlegend=False,
            ),
            row=1,
            col=2,
        )
        fig.add_trace(
            go.Scatter(
                x=om,
                y=It[t],
                mode="lines+markers",
                name="iterations of system t",
                line=dict(color=COLORS[0]),
                visible=vis,
                showlegend=False,
            ),
            row=1,
            col=2,
            secondary_y=True,
        )
        fig.add_trace(
            go.Scatter(
                x=[ws[t], ws[t]],
                y=[0, float(np.nanmax(It[t]))],
                mode="lines",
                name="Young's ω*_t",
                line=dict(color="black", dash="dot"),
                visible=vis,
                showlegend=False,
            ),
            row=1,
            col=2,
            secondary_y=True,
        )
    steps = [
        ("restyle", [{"visible": [True] * n_static + [k // 3 == j for k in range(3 * len(rounds))]}])
        for j in range(len(rounds))
    ]
    style_figure(fig, title, None, None, height=height)
    fig.update_layout(sliders=[slider_menu([str(int(t) + 1) for t in rounds], "round t = ", steps)])
    fig.update_xaxes(title_text="system t", row=1, col=1)
    fig.update_yaxes(title_text="iterations", type="log", row=1, col=1)
    fig.update_xaxes(title_text="ω  (bars: EXP3 p_t; line: iterations; dotted: ω*_t)", row=1, col=2)
    fig.update_yaxes(title_text="p_t", range=[0, 1], row=1, col=2)
    fig.update_yaxes(title_text="iterations", secondary_y=True, row=1, col=2)
    return fig


@partial(jax.jit, static_argnames=("hedge", "exp3"))
def _hedge_exp3_run(losses, learning_rate, gamma, keys, *, hedge, exp3):
    """Hedge's regret and EXP3's pseudo-regret for each key (full and bandit feedback)."""
    h = hedge(losses, learning_rate=learning_rate).regret
    b = jax.vmap(lambda k: exp3(losses, learning_rate=learning_rate, key=k, gamma=gamma).pseudo_regret)(keys)
    return h, b


def hedge_exp3_explorer(
    losses: Any,
    *,
    learning_rates: Sequence[float] = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0),
    gammas: Sequence[float] = (0.0, 0.05, 0.2),
    learning_rate: float = 0.03,
    gamma: float = 0.0,
    num_seeds: int = 20,
    key: Any = None,
    stride: int = 1,
    hedge: Callable = online.hedge,
    exp3: Callable = online.exp3,
    title: str | None = None,
) -> Explorer:
    """Regret of Hedge (full information) and EXP3 (bandit feedback) on one loss matrix, live in η and γ.

    Every change runs ``hedge(losses, learning_rate=η)`` and, for ``num_seeds`` keys split
    from ``key``, ``exp3(losses, learning_rate=η, key=k, gamma=γ)`` under one compiled
    function, and plots Hedge's regret and the mean of EXP3's pseudo-regret against the
    round ``t``, with the bounds ``log(n)/η + ηt/8`` (Hedge) and ``log(K)/η + ηtK/2``
    (EXP3 with ``γ = 0``) dashed.  The static figure sweeps ``η`` (``γ`` at its value).

    Args:
      losses: ``(T, K)`` losses in ``[0, 1]``.
      learning_rates: the values of ``η`` in the static figure (positive).
      gammas: the values of the exploration ``γ`` offered live, in ``[0, 1)``.
      learning_rate: the first ``η`` shown (one of ``learning_rates``).
      gamma: the first ``γ`` shown (one of ``gammas``).
      num_seeds: EXP3 runs averaged (≥ 1).
      key: the PRNG key of EXP3 (default ``jax.random.key(0)``).
      stride: plot every ``stride``-th round (a lighter static figure).
      hedge: the experts algorithm, with :func:`optlab.online.hedge`'s signature and ``.regret``.
      exp3: the bandit algorithm, with :func:`optlab.online.exp3`'s signature and ``.pseudo_regret``.
      title: the figure title (default: ``η``, ``γ`` and both final regrets).

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``learning_rate`` (η) and ``gamma`` (γ).

    Raises:
      ValueError: ``losses`` not a finite ``(T, K)`` matrix in ``[0, 1]``, ``num_seeds`` or
        ``stride`` below 1, a ``γ`` outside ``[0, 1)``, or a first value not among the values.
      TypeError: ``hedge`` or ``exp3`` not callable.
    """
    for name, fn in (("hedge", hedge), ("exp3", exp3)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    L = np.asarray(losses, dtype=float)
    if L.ndim != 2 or 0 in L.shape or not np.all(np.isfinite(L)) or L.min() < 0 or L.max() > 1:
        raise ValueError(f"losses must be a finite (T, K) matrix with entries in [0, 1], got shape {L.shape}")
    for name, v in (("num_seeds", num_seeds), ("stride", stride)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not all(0.0 <= float(g) < 1.0 for g in gammas):
        raise ValueError(f"gammas must lie in [0, 1), got {tuple(gammas)}")
    T, K = L.shape
    losses_j = jnp.asarray(losses)
    dt = losses_j.dtype if jnp.issubdtype(losses_j.dtype, jnp.floating) else jnp.float32
    losses_j = losses_j.astype(dt)
    keys = jax.random.split(jax.random.key(0) if key is None else key, num_seeds)
    t = np.arange(1, T + 1)[stride - 1 :: stride]

    fig = go.Figure(
        [
            go.Scatter(name="Hedge (full information)", mode="lines", line=dict(color=COLORS[0], width=2.5)),
            go.Scatter(name="bound log(K)/η + ηt/8", mode="lines", line=dict(color=COLORS[0], dash="dash")),
            go.Scatter(
                name=f"EXP3 (bandit), pseudo-regret, mean of {num_seeds} seeds",
                mode="lines",
                line=dict(color=COLORS[1], width=2.5),
            ),
            go.Scatter(
                name="bound log(K)/η + ηtK/2 (γ = 0)", mode="lines", line=dict(color=COLORS[1], dash="dash")
            ),
        ]
    )
    style_figure(fig, title, "round t", "regret against the best fixed arm", height=480)

    def update(learning_rate: float, gamma: float) -> Frame:
        eta = float(learning_rate)
        h, b = _hedge_exp3_run(
            losses_j, jnp.asarray(eta, dt), jnp.asarray(gamma, dt), keys, hedge=hedge, exp3=exp3
        )
        h = np.asarray(h, dtype=float)[stride - 1 :: stride]
        b = np.asarray(b, dtype=float).mean(0)[stride - 1 :: stride]
        hb = math.log(K) / eta + eta * t / 8
        eb = math.log(K) / eta + eta * t * K / 2
        top = 1.3 * max(float(np.max(h)), float(np.max(b)), 1e-3)
        low = min(0.0, float(np.min(h)), float(np.min(b)))
        return Frame(
            {0: {"x": t, "y": h}, 1: {"x": t, "y": hb}, 2: {"x": t, "y": b}, 3: {"x": t, "y": eb}},
            layout={
                "yaxis.range": [low - 0.05 * (top - low), top],
                "title.text": title
                or f"η = {eta:.3g}, γ = {float(gamma):.3g}: regret at T = {T}: Hedge {h[-1]:.3g}, "
                f"EXP3 {b[-1]:.3g}",
            },
        )

    controls = {
        "learning_rate": log_slider(
            "η", [float(v) for v in learning_rates], value=learning_rate, bounds=(1e-3, 3.0)
        ),
        "gamma": slider("γ", [float(v) for v in gammas], value=gamma, bounds=(0.0, 0.5), step=0.01),
    }
    return Explorer(fig, update, controls, static=["learning_rate"])
