"""Figures for the bilevel chapter (built on :mod:`optlab.viz.core`).

:func:`hypergradient_explorer` is a live :class:`~optlab.viz.Explorer`: every change of
the regularisation or of the inner step re-runs the Neumann, truncated and unrolled
hypergradient estimators of :mod:`optlab.bilevel` against the closed form.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go

from .. import bilevel as bl
from .core import COLORS, convergence_slider, format_number, heatmap_slider, stepped_figure, style_figure
from .explorer import Explorer, Frame, log_slider, slider

__all__ = [
    "estimator_error_slider",
    "penalty_bias_figure",
    "weights_slider",
    "robustness_heatmaps",
    "hypergradient_explorer",
]


def estimator_error_slider(
    errors: Mapping[str, Any],
    Ks: Sequence[int],
    lams: Sequence[float],
    *,
    references: Mapping[str, Any] | None = None,
    title: str | None = None,
    height: int = 480,
):
    """Hypergradient error against the number of terms / steps ``K``, one curve per
    estimator, with a slider over the regularisation ``λ`` (``errors[label]``:
    shape ``(len(lams), len(Ks))``)."""
    return convergence_slider(
        errors,
        list(lams),
        "λ",
        x=np.asarray(Ks),
        references=references,
        title=title or "Hypergradient error |ĝ_K − ∇F(λ)|",
        xaxis_title="K (Neumann terms / back-propagated steps / unrolled steps)",
        yaxis_title="absolute error",
        height=height,
    )


def penalty_bias_figure(
    sigmas: Any, errors: Any, *, slope: float | None = None, title: str | None = None, height: int = 440
):
    """Log-log bias of the penalty hypergradient against ``σ`` (= 1/λ for F2SA), with
    the fitted line of the given ``slope`` through the geometric mean."""
    s, e = np.asarray(sigmas, float), np.asarray(errors, float)
    fig = go.Figure(
        go.Scatter(x=s, y=e, mode="lines+markers", name="|∇ψ_σ − ∇F|", line=dict(color=COLORS[0], width=2))
    )
    if slope is not None:
        c = np.exp(np.mean(np.log(e)) - slope * np.mean(np.log(s)))
        fig.add_trace(
            go.Scatter(
                x=s,
                y=c * s**slope,
                mode="lines",
                name=f"fitted slope {slope:.2f}",
                line=dict(color="#555555", dash="dash", width=1.5),
            )
        )
    style_figure(
        fig,
        title or "Bias of the fully first-order hypergradient",
        "σ = 1/λ",
        "absolute error",
        height=height,
    )
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def weights_slider(
    weights: Any, flipped: Any, iterations: Sequence[int], *, title: str | None = None, height: int = 460
):
    """Learned per-example weights (one row of ``weights`` per snapshot) as two
    overlaid histograms, clean against flipped labels, with a slider over iterations."""
    W = np.asarray(weights, float)
    fl = np.asarray(flipped, bool)
    if W.ndim != 2 or W.shape[1] != fl.shape[0] or W.shape[0] != len(iterations):
        raise ValueError(f"weights must have shape ({len(iterations)}, {fl.shape[0]}), got {W.shape}")
    bins = dict(start=0.0, end=1.0, size=0.05)
    groups = []
    for j in range(W.shape[0]):
        groups.append(
            [
                go.Histogram(
                    x=np.round(W[j, ~fl], 3),
                    xbins=bins,
                    name="clean labels",
                    opacity=0.6,
                    marker_color=COLORS[0],
                ),
                go.Histogram(
                    x=np.round(W[j, fl], 3),
                    xbins=bins,
                    name="flipped labels",
                    opacity=0.6,
                    marker_color=COLORS[1],
                ),
            ]
        )
    fig = stepped_figure(
        groups,
        [str(int(i)) for i in iterations],
        prefix="outer iteration ",
        title=title or "Learned example weights sigmoid(θ_i)",
        xaxis_title="weight",
        yaxis_title="number of examples",
        height=height,
    )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(range=[0, 1])
    return fig


def robustness_heatmaps(
    finals: Mapping[str, Any],
    learning_rates: Sequence[float],
    accuracies: Sequence[float],
    *,
    title: str | None = None,
    height: int = 460,
):
    """``log10`` of the final suboptimality over a grid (rows: initial accuracy,
    columns: initial step size, ``learning_rates``), one heatmap per method behind a slider."""
    mats = np.stack([np.asarray(v, float) for v in finals.values()])
    fig = heatmap_slider(
        np.log10(np.maximum(mats, 1e-16)),
        list(finals.keys()),
        "method",
        x=[format_number(s) for s in learning_rates],
        y=[format_number(a) for a in accuracies],
        colorscale="Viridis",
        title=title or "log₁₀ (F(θ_final) − F*) over initial step size × accuracy",
        xaxis_title="initial step size",
        yaxis_title="initial accuracy ε₀",
        height=height,
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


@partial(jax.jit, static_argnames=("inner", "outer", "max_k", "neumann", "unrolled"))
def _hypergradient_run(lam, alpha, X, y, Xv, yv, *, inner, outer, max_k, neumann, unrolled):
    """|estimate − closed form| of the three estimators for K = 1..max_k at one (λ, α)."""
    ref = bl.ridge_hypergradient(X, y, Xv, yv, lam)
    w_star = bl.ridge_solution(X, y, lam)
    ks = jnp.arange(1, max_k + 1)
    nm = jax.vmap(lambda k: neumann(inner, outer, w_star, lam, k, alpha))(ks)
    tr = jax.vmap(
        lambda k: unrolled(inner, outer, lam, w_star, num_steps=max_k, learning_rate=alpha, truncate=k)
    )(ks)
    un = jax.vmap(
        lambda k: unrolled(
            inner, outer, lam, jnp.zeros_like(w_star), max_num_steps=max_k, learning_rate=alpha, num_steps=k
        )
    )(ks)
    v_norm = jnp.linalg.norm(jax.grad(outer)(w_star, lam))
    return jnp.abs(nm - ref), jnp.abs(tr - ref), jnp.abs(un - ref), jnp.linalg.norm(w_star) * v_norm


def hypergradient_explorer(
    X_train: Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    *,
    lams: Sequence[float] = (0.3, 1.0, 3.0, 10.0),
    step_factors: Sequence[float] = (0.5, 1.0, 1.9),
    lam: float = 1.0,
    step_factor: float = 1.0,
    max_k: int = 80,
    neumann: Callable = bl.neumann_hypergradient,
    unrolled: Callable = bl.unrolled_hypergradient,
    title: str | None = None,
) -> Explorer:
    """Error of the Neumann, truncated and unrolled hypergradients of ridge regression, live in λ and α.

    The problem is :func:`optlab.bilevel.ridge_losses` of the data (inner loss
    ``½‖Xw − y‖² + ½λ‖w‖²``, outer loss the validation error).  Every change computes,
    under one compiled function of ``(λ, α)``, the closed form
    :func:`~optlab.bilevel.ridge_hypergradient` and, for ``K = 1..max_k``, the errors of
    ``neumann(inner, outer, w*, λ, K, α)`` (``K`` Neumann terms),
    ``unrolled(..., w*, num_steps=max_k, truncate=K)`` (back-propagation through the last
    ``K`` of ``max_k`` steps from ``w*``) and ``unrolled(..., 0, num_steps=K)`` (full
    unrolling from 0).  The inner step is ``α = step_factor / L`` with
    ``L = λ_max(XᵀX) + λ``; the dashed bound is ``‖w*‖‖∇_w f‖ ρ^K/μ`` with
    ``ρ = max(|1 − αμ|, |1 − αL|)``, ``μ = λ_min(XᵀX) + λ``.

    Args:
      X_train, y_train, X_val, y_val: the ridge data (as :func:`optlab.bilevel.ridge_losses`).
      lams: the regularisations ``λ`` of the static figure (positive).
      step_factors: the values of ``αL`` offered, in ``(0, 2)``.
      lam: the first ``λ`` shown (one of ``lams``).
      step_factor: the first ``αL`` shown (one of ``step_factors``).
      max_k: the largest ``K`` (≥ 1).
      neumann: the Neumann estimator, with :func:`optlab.bilevel.neumann_hypergradient`'s
        signature (a student's implementation in a lab).
      unrolled: the unrolled estimator, with :func:`optlab.bilevel.unrolled_hypergradient`'s
        signature.
      title: the figure title (default: ``λ``, ``αL`` and the rate ``ρ``).

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``lam`` (λ) and ``step_factor`` (αL).

    Raises:
      ValueError: bad data (from :func:`optlab.bilevel.ridge_losses`), ``max_k < 1``, a step
        factor outside ``(0, 2)``, or a first value not among the values.
      TypeError: ``neumann`` or ``unrolled`` not callable.
    """
    for name, fn in (("neumann", neumann), ("unrolled", unrolled)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    if isinstance(max_k, bool) or not isinstance(max_k, (int, np.integer)) or max_k < 1:
        raise ValueError(f"max_k must be an integer >= 1, got {max_k!r}")
    if not all(0.0 < float(a) < 2.0 for a in step_factors):
        raise ValueError(f"step_factors (alpha L) must lie in (0, 2), got {tuple(step_factors)}")
    inner, outer = bl.ridge_losses(X_train, y_train, X_val, y_val)
    X, y, Xv, yv = (jnp.asarray(a) for a in (X_train, y_train, X_val, y_val))
    dt = X.dtype if jnp.issubdtype(X.dtype, jnp.floating) else jnp.float32
    X, y, Xv, yv = (a.astype(dt) for a in (X, y, Xv, yv))
    ev = np.linalg.eigvalsh(np.asarray(X, dtype=float).T @ np.asarray(X, dtype=float))
    ks = np.arange(1, max_k + 1)
    floor = float(jnp.finfo(dt).eps) ** 2

    fig = go.Figure(
        [
            go.Scatter(name="Neumann series", mode="lines", line=dict(color=COLORS[0], width=2.5)),
            go.Scatter(
                name="truncated back-prop (from w*)",
                mode="lines",
                line=dict(color=COLORS[1], width=1.5, dash="dot"),
            ),
            go.Scatter(name="full unrolling (from 0)", mode="lines", line=dict(color=COLORS[2], width=2)),
            go.Scatter(name="bound ‖B‖‖v‖ρ^K/μ", mode="lines", line=dict(color="#555555", dash="dash")),
        ]
    )
    style_figure(fig, title, "K (Neumann terms / back-propagated steps / unrolled steps)", "absolute error")
    fig.update_yaxes(type="log", exponentformat="power")

    def update(lam: float, step_factor: float) -> Frame:
        mu, L = float(ev[0]) + lam, float(ev[-1]) + lam
        alpha = step_factor / L
        nm, tr, un, scale = _hypergradient_run(
            jnp.asarray(lam, dt),
            jnp.asarray(alpha, dt),
            X,
            y,
            Xv,
            yv,
            inner=inner,
            outer=outer,
            max_k=max_k,
            neumann=neumann,
            unrolled=unrolled,
        )
        rho = max(abs(1 - alpha * mu), abs(1 - alpha * L))
        bound = float(scale) * rho ** ks.astype(float) / mu
        clean = [np.maximum(np.asarray(e, dtype=float), floor) for e in (nm, tr, un)]
        return Frame(
            {i: {"x": ks, "y": e} for i, e in enumerate([*clean, np.maximum(bound, floor)])},
            layout={
                "title.text": title
                or f"λ = {lam:.3g}, α = {step_factor:.3g}/L: ρ = max(|1 − αμ|, |1 − αL|) = {rho:.4f}"
            },
        )

    controls = {
        "lam": log_slider("λ", [float(v) for v in lams], value=lam, bounds=(0.01, 100.0)),
        "step_factor": slider("αL", [float(v) for v in step_factors], value=step_factor, bounds=(0.05, 1.99)),
    }
    return Explorer(fig, update, controls)
