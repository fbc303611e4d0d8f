"""Figures for the optimal-transport chapter (built on :mod:`optlab.viz.core`).

:func:`sinkhorn_explorer` re-runs :func:`optlab.ot.sinkhorn` every time the reader moves
``ε`` or picks the method: ``ε`` is a traced argument of one module-level ``jax.jit``
function (one compilation per method and problem shape).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import ot
from .core import (
    COLORS,
    as_float_array,
    format_number,
    heatmap_slider,
    mask_nonpositive,
    stepped_figure,
    style_figure,
)
from .explorer import Explorer, Frame, dropdown, log_slider

__all__ = [
    "plan_slider",
    "sns_comparison",
    "sparse_plan_slider",
    "point_plan_slider",
    "sinkhorn_explorer",
    "sinkhorn_run",
]


def plan_slider(
    plans: Any,
    eps_values: Sequence[float],
    *,
    log_color: bool = True,
    title: str = "Entropic plan P_ε (rows: source points, columns: targets)",
    height: int = 520,
):
    """Heatmaps of transport plans with a slider over ε (``plans``: ``(P, n, m)``)."""
    P = np.asarray(plans, dtype=float)
    if log_color:
        # floor at 1e-12 of the largest entry so the colour scale stays readable
        P = np.maximum(P, 1e-12 * P.max(axis=(1, 2), keepdims=True))
    return heatmap_slider(
        P,
        list(eps_values),
        "ε",
        log_color=log_color,
        title=title,
        xaxis_title="target j",
        yaxis_title="source i",
        height=height,
    )


def sparse_plan_slider(plans: Any, ks: Sequence[int], *, title: str | None = None, height: int = 520):
    """Heatmaps of k-sparse plans with a slider over ``k`` (zeros drawn white)."""
    P = np.asarray(plans, dtype=float)
    Z = np.where(P > 0, P, np.nan)
    fig = heatmap_slider(
        Z,
        [str(k) for k in ks],
        "k",
        colorscale="Viridis",
        title=title or "Sparsity-constrained plan (white = exact zero)",
        xaxis_title="target j (column: ≤ k nonzeros)",
        yaxis_title="source i",
        height=height,
    )
    return fig


def point_plan_slider(
    x: Any,
    y: Any,
    plans: Any,
    labels: Sequence[Any],
    prefix: str,
    *,
    max_lines: int = 400,
    title: str | None = None,
    height: int = 520,
):
    """Two point clouds joined by segments whose opacity is the plan's mass, one
    group per slider value (the ``max_lines`` heaviest entries of each plan)."""
    x, y, P = np.asarray(x), np.asarray(y), np.asarray(plans, dtype=float)
    static = [
        go.Scatter(
            x=x[:, 0], y=x[:, 1], mode="markers", name="source x", marker=dict(color=COLORS[0], size=7)
        ),
        go.Scatter(
            x=y[:, 0],
            y=y[:, 1],
            mode="markers",
            name="target y",
            marker=dict(color=COLORS[1], size=7, symbol="diamond"),
        ),
    ]
    groups = []
    for j in range(P.shape[0]):
        group = []
        flat = P[j].ravel()
        top = np.argsort(flat)[::-1][:max_lines]
        w = flat[top] / flat[top].max()
        keep = w > 1e-3
        ii, jj = np.unravel_index(top[keep], P[j].shape)
        # one trace per opacity bin keeps the JSON small
        bins = np.digitize(w[keep], [0.05, 0.25, 0.6])
        for bidx, alpha in enumerate((0.08, 0.25, 0.5, 0.9)):
            sel = bins == bidx
            xs = np.stack([x[ii[sel], 0], y[jj[sel], 0], np.full(sel.sum(), np.nan)], 1).ravel()
            ys = np.stack([x[ii[sel], 1], y[jj[sel], 1], np.full(sel.sum(), np.nan)], 1).ravel()
            group.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    showlegend=False,
                    hoverinfo="skip",
                    line=dict(color=f"rgba(60,60,60,{alpha})", width=1.5),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(labels),
        prefix=prefix,
        static=static,
        title=title,
        xaxis_title="x₁",
        yaxis_title="x₂",
        height=height,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def sns_comparison(
    sinkhorn: Mapping[str, Any],
    sns_runs: Sequence[Mapping[str, Any]],
    thresholds: Sequence[float],
    *,
    tol: float | None = None,
    title: str | None = None,
    height: int = 480,
):
    """Marginal error against iteration (left) and wall time (right).

    Args:
      sinkhorn: ``{"errors": (T,), "time": (T,)}`` for plain Sinkhorn (always shown).
      sns_runs: one mapping per threshold δ with ``"errors"``, ``"time"`` (same
        length) and optionally ``"density"`` (mean kept fraction, for the legend).
      thresholds: the δ of each run (slider labels).
      tol: optional horizontal reference line.
    """
    # the two panels: traces of the left one on axes (x, y), of the right one on (x2, y2)
    axes = {1: dict(xaxis="x", yaxis="y"), 2: dict(xaxis="x2", yaxis="y2")}

    e, t = mask_nonpositive(as_float_array(sinkhorn["errors"])), np.asarray(sinkhorn["time"], dtype=float)
    static = [
        go.Scatter(
            x=xs,
            y=e,
            mode="lines",
            name="Sinkhorn",
            legendgroup="sk",
            showlegend=col == 1,
            line=dict(color=COLORS[0], width=2),
            **axes[col],
        )
        for col, xs in ((1, np.arange(len(e))), (2, t))
    ]
    groups = []
    for run in sns_runs:
        e, t = mask_nonpositive(as_float_array(run["errors"])), np.asarray(run["time"], dtype=float)
        dens = run.get("density")
        name = "SNS" + (f" (density {float(dens):.2f})" if dens is not None else "")
        groups.append(
            [
                go.Scatter(
                    x=xs,
                    y=e,
                    mode="lines+markers",
                    name=name,
                    legendgroup="sns",
                    showlegend=col == 1,
                    marker=dict(size=4),
                    line=dict(color=COLORS[1], width=2),
                    **axes[col],
                )
                for col, xs in ((1, np.arange(len(e))), (2, t))
            ]
        )
    fig = stepped_figure(
        groups,
        [f"{float(d):.0e}" for d in thresholds],
        prefix="sparsification threshold δ = ",
        static=static,
        title=title,
        height=height,
    )
    fig.set_subplots(
        rows=1, cols=2, subplot_titles=("against iteration", "against time [s]"), horizontal_spacing=0.1
    )
    if tol is not None:
        for col in (1, 2):
            fig.add_hline(y=tol, line=dict(color="#555555", dash="dash", width=1), row=1, col=col)
    fig.update_yaxes(type="log", exponentformat="power", title_text="‖P1 − a‖₁ + ‖Pᵀ1 − b‖₁", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_xaxes(title_text="iteration (Sinkhorn steps / warm-up + Newton steps)", row=1, col=1)
    fig.update_xaxes(title_text="seconds", row=1, col=2)
    return fig


@functools.partial(jax.jit, static_argnames=("solver", "method", "tol", "num_steps"))
def _sinkhorn_run(geom, a, b, eps, *, solver, method, tol, num_steps):
    out = solver(geom, a, b, eps, tol=tol, num_steps=num_steps, method=method)
    return out.plan(), out.errors, out.n_iters, out.transport_cost


def sinkhorn_run(
    geom: Any,
    a: Any,
    b: Any,
    eps: float,
    *,
    method: str = "log",
    tol: float = 1e-5,
    num_steps: int = 5000,
    solver: Callable[..., Any] = ot.sinkhorn,
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Solve entropic OT with ``solver`` for one ``ε``: the data of :func:`sinkhorn_explorer`.

    One module-level ``jax.jit`` function with ``ε`` traced (one compilation per
    solver, method, tolerance, iteration cap and problem shape).

    Args:
      geom: a :class:`optlab.ot.Geometry`, :class:`optlab.ot.PointCloud` or a cost matrix.
      a, b: the marginals.
      eps: the entropic regularisation ``ε > 0``.
      method: ``"log"`` or ``"stabilized"`` (see :func:`optlab.ot.sinkhorn`).
      tol: the L1 marginal error at which the solver stops.
      num_steps: the cap on the iterations.
      solver: ``(geom, a, b, eps, *, tol, num_steps, method) ↦`` a result with ``plan()``,
        ``errors``, ``n_iters`` and ``transport_cost`` (default :func:`optlab.ot.sinkhorn`).

    Returns:
      ``(plan, errors, n_iters, transport_cost)``: the plan, the marginal errors of the
      ``n_iters`` iterations performed, their number and ``⟨C, P⟩``.

    Raises:
      ValueError: ``eps`` not a positive finite number; and the solver's errors
        (checked eagerly, named in the message).
      TypeError: ``solver`` is not callable.
    """
    if not callable(solver):
        raise TypeError(f"solver must be callable, got {solver!r}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    geom = geom if hasattr(geom, "cost_matrix") else ot.Geometry(jax.numpy.asarray(geom))
    a, b = ot.check_marginals(geom, a, b)
    dtype = a.dtype
    plan, errors, n_iters, cost = _sinkhorn_run(
        geom,
        a,
        b,
        jax.numpy.asarray(eps, dtype),
        solver=solver,
        method=method,
        tol=float(tol),
        num_steps=int(num_steps),
    )
    n = int(n_iters)
    return np.asarray(plan), np.asarray(errors)[:n], n, float(cost)


def sinkhorn_explorer(
    geom: Any,
    a: Any = None,
    b: Any = None,
    *,
    eps_values: Sequence[float] = (1.0, 0.3, 0.1, 0.03, 0.01, 5e-3, 2e-3),
    eps: float = 0.03,
    methods: Sequence[str] = ("log", "stabilized"),
    tol: float = 1e-5,
    num_steps: int = 5000,
    solver: Callable[..., Any] = ot.sinkhorn,
    max_points: int = 150,
    title: str = "Sinkhorn",
    height: int = 460,
) -> Explorer:
    """Sinkhorn's plan and marginal error as ``ε`` and the method change.

    Left, ``log10 P_ij`` as a heatmap (floored at ``10⁻¹²`` of the largest entry);
    right, the L1 marginal error ``‖P1 − a‖₁`` at each iteration until ``tol``, on a log
    scale; the title reports the iterations and ``⟨C, P⟩``.  Every change re-runs
    :func:`sinkhorn_run`.  The static figure sweeps ``ε`` only (the methods perform the
    same iterations in exact arithmetic, so their frames would coincide).

    Args:
      geom: a :class:`optlab.ot.Geometry`, :class:`optlab.ot.PointCloud` or a cost matrix.
      a, b: the marginals (default uniform).
      eps_values: the ``ε`` of the static figure (log slider; the live range spans them).
      eps: the first ``ε`` shown (one of ``eps_values``).
      methods: the methods of the menu (values of ``method`` of :func:`optlab.ot.sinkhorn`).
      tol: the marginal error at which the solver stops.
      num_steps: the cap on the iterations.
      solver: the solver (default :func:`optlab.ot.sinkhorn`; a lab can pass its own).
      max_points: the most points of the error curve (it is thinned evenly).
      title: the title; ``ε``, the method, the iterations and ``⟨C, P⟩`` are appended.
      height: the figure height in pixels.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``eps`` and ``method``.

    Raises:
      ValueError: a non-positive ``ε``, an unknown method, or invalid marginals, ``tol``
        or ``num_steps`` (checked by one solve at the first ``ε``, named in the message).
      TypeError: ``solver`` is not callable.
    """
    methods = tuple(methods)
    bad = [m for m in methods if m not in ("log", "stabilized")]
    if bad or not methods:
        raise ValueError(f"methods must be some of ('log', 'stabilized'), got {methods}")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")
    eps_values = tuple(eps_values)
    bad_eps = [e for e in eps_values if not (isinstance(e, (int, float)) and np.isfinite(e) and e > 0)]
    if bad_eps:
        raise ValueError(f"eps_values must be positive finite numbers, got {bad_eps}")
    controls = {
        "eps": log_slider("ε", eps_values, value=eps, bounds=(min(eps_values), max(eps_values))),
        "method": dropdown("method", methods),
    }
    geom = geom if hasattr(geom, "cost_matrix") else ot.Geometry(jax.numpy.asarray(geom))
    a, b = ot.check_marginals(geom, a, b)
    run = functools.partial(sinkhorn_run, geom, a, b, tol=tol, num_steps=num_steps, solver=solver)
    # checks the arguments now, and compiles what the widget shows first (the other
    # method compiles when picked)
    run(float(eps), method=methods[0])

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        horizontal_spacing=0.12,
        subplot_titles=("log₁₀ P_ij", "marginal error ‖P1 − a‖₁"),
    )
    fig.add_trace(
        go.Heatmap(colorscale="Viridis", colorbar=dict(x=0.4, len=0.9), name="log₁₀ P", hoverinfo="skip"),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(mode="lines", name="marginal error", line=dict(color=COLORS[0], width=2)), row=1, col=2
    )
    style_figure(fig, title, None, None, height=height, showlegend=False)
    fig.update_xaxes(title_text="target j", row=1, col=1)
    fig.update_yaxes(title_text="source i", autorange="reversed", row=1, col=1)
    fig.update_xaxes(title_text="iteration", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)

    def update(eps: float, method: str) -> Frame:
        plan, errors, n_iters, cost = run(float(eps), method=method)
        z = np.log10(np.maximum(plan, 1e-12 * plan.max()))
        k = np.arange(errors.size)
        if k.size > max_points:
            k = np.unique(np.linspace(0, k.size - 1, max_points).round().astype(int))
        return Frame(
            {0: {"z": z}, 1: {"x": k, "y": mask_nonpositive(errors[k].astype(float))}},
            layout={
                "title.text": f"{title}: ε = {format_number(eps)}, {method}, {n_iters} iterations, "
                f"⟨C, P⟩ = {cost:.5g}"
            },
        )

    return Explorer(fig, update, controls, static=["eps"])
