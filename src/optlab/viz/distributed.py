"""Figures for the distributed / compressed-communication chapter (built on :mod:`optlab.viz.core`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
import plotly.graph_objects as go

from .. import distributed as D
from .core import COLORS, as_float_array, mask_nonpositive, slider_menu, stepped_figure, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider, slider

__all__ = ["rounds_or_floats", "compressor_slider", "ef21_explorer", "fedavg_drift", "fedavg_explorer"]


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


def ef21_explorer(
    problem: Any,
    *,
    ks: Sequence[int] = (1, 2, 5, 20),
    k: int = 5,
    learning_rates: Sequence[float] = (0.2, 0.5, 1.0),
    learning_rate: float = 0.5,
    num_steps: int = 400,
    tol: float = 1e-8,
    methods: Sequence[str] = ("ef21",),
    run: Callable[..., Any] | None = None,
    title: str | None = None,
    height: int = 480,
) -> Explorer:
    """Live figure: compressed methods with Top-``k`` against uncompressed GD at the same
    step, ``f − f*`` against the floats sent, for a chosen ``k`` (the compression ratio
    ``k/d``) and step size ``γ``.

    Every change re-runs ``run`` (default :func:`optlab.distributed.run_compressed` with
    all workers on one device, the fastest layout for a live figure: compiled once per
    ``k``, the step size is traced). Each curve stops at the first round with
    ``f − f* < tol``; the title reports the floats each method needed (``—``: not within
    ``num_steps`` rounds).

    Args:
      problem: a :class:`optlab.distributed.LinearProblem` (e.g. ``heterogeneous_quadratics``).
      ks: the ``k`` of Top-``k`` the menu offers (integers in ``1..problem.dim``).
      k: the ``k`` shown first (one of ``ks``).
      learning_rates: the step sizes of the static figure's slider steps (positive).
      learning_rate: the step size shown first (one of ``learning_rates``).
      num_steps: communication rounds per run.
      tol: the threshold of ``f − f*`` at which a curve stops and is counted.
      methods: the compressed methods drawn, among ``"ef21"``, ``"naive"``, ``"ef14"``
        and ``"econtrol"`` (those that take a contractive compressor).
      run: ``run(method, problem, compressor, learning_rate=, num_steps=)`` returning a
        ``CompressedTrace`` (e.g. a student's implementation); default the library's.
      title: the figure title before the first update (default: the problem's size).
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with controls ``k`` (menu) and ``learning_rate``
      (log slider); the last trace is GD.

    Raises:
      TypeError: ``problem`` is not a ``LinearProblem``, ``run`` is not callable.
      ValueError: a ``k`` outside ``1..problem.dim``, an unknown method, a non-positive
        ``num_steps`` or ``tol``, or a default not among the values offered.
    """
    if not isinstance(problem, D.LinearProblem):
        raise TypeError(f"problem must be a LinearProblem, got {type(problem).__name__}")
    if run is None:
        run = functools.partial(D.run_compressed, mesh=D.worker_mesh(problem.num_workers, jax.devices()[:1]))
    if not callable(run):
        raise TypeError(f"run must be callable, got {type(run).__name__}")
    ks = tuple(ks)
    if not ks or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in ks):
        raise ValueError(f"ks must be positive integers, got {ks}")
    if any(not 1 <= v <= problem.dim for v in ks):
        raise ValueError(f"ks must lie in 1..{problem.dim} (the dimension), got {ks}")
    allowed = ("ef21", "naive", "ef14", "econtrol")
    methods = tuple(methods)
    if not methods or any(m not in allowed for m in methods):
        raise ValueError(f"methods must be some of {allowed}, got {methods}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not tol > 0:
        raise ValueError(f"tol must be positive, got {tol!r}")
    controls = {
        "k": dropdown("k (Top-k)", [int(v) for v in ks], value=int(k)),
        "learning_rate": log_slider(
            "step γ",
            learning_rates,
            value=learning_rate,
            bounds=(min(min(learning_rates), 0.05), max(max(learning_rates), 2.0)),
        ),
    }
    labels = {"ef21": "EF21", "naive": "naive", "ef14": "EF14", "econtrol": "EControl"}
    fig = go.Figure()
    for i, m in enumerate(methods):
        fig.add_trace(
            go.Scatter(mode="lines", name=f"{labels[m]}, Top-k", line=dict(color=COLORS[i], width=2))
        )
    fig.add_trace(
        go.Scatter(mode="lines", name="GD (uncompressed)", line=dict(color="#555555", dash="dash", width=2))
    )
    d, M = problem.dim, problem.num_workers
    style_figure(
        fig,
        title or f"{M} workers, d = {d}",
        "floats sent to the server (all workers)",
        "f(x_t) − f*",
        height=height,
    )
    fig.update_yaxes(type="log", exponentformat="power")

    def curve(trace):
        sub = np.minimum(np.asarray(trace.suboptimalities, dtype=float), 1e6)
        floats = np.asarray(trace.floats, dtype=float)
        hit = np.flatnonzero(sub < tol)
        end = hit[0] + 1 if hit.size else len(sub)
        return floats[:end], mask_nonpositive(sub[:end]), (floats[hit[0]] if hit.size else np.inf)

    def update(k, learning_rate):
        traces, reached = {}, []
        runs = [(m, labels[m], D.TopK(int(k))) for m in methods] + [("naive", "GD", D.Identity())]
        for i, (m, label, C) in enumerate(runs):
            x, y, n = curve(run(m, problem, C, learning_rate=learning_rate, num_steps=num_steps))
            traces[i] = {"x": x, "y": y}
            reached.append(f"{label} {n:,.0f}" if np.isfinite(n) else f"{label} —")
        head = f"Top-{int(k)} of {d} (k/d = {int(k) / d:.2g}), γ = {learning_rate:.3g}"
        return Frame(
            traces, layout={"title.text": f"{head}. Floats to f − f* < {tol:.0e}: " + ", ".join(reached)}
        )

    return Explorer(fig, update, controls)


def fedavg_drift(
    traces: Mapping[int, Any],
    drifts: Mapping[int, float],
    *,
    title: str | None = None,
    height: int = 460,
) -> go.Figure:
    """FedAvg's distance to the global optimum ``‖x_t − x*‖`` against communication rounds,
    one curve per number ``K`` of local steps, each with a dashed line at its predicted
    plateau ``‖x̄_K − x*‖`` (the closed-form fixed point).

    Args:
      traces: ``K ↦ FedAvgTrace`` (anything with a ``distances`` field, ``‖x_t − x*‖²``).
      drifts: ``K ↦ ‖x̄_K − x*‖``, the same keys as ``traces``.
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure with a log y axis.

    Raises:
      ValueError: no traces, or ``drifts`` missing a ``K`` of ``traces``.
    """
    if not traces:
        raise ValueError("fedavg_drift needs at least one trace")
    missing = [K for K in traces if K not in drifts]
    if missing:
        raise ValueError(f"drifts must give the plateau of every K in traces, missing {missing}")
    fig = go.Figure()
    for i, (K, tr) in enumerate(traces.items()):
        dist = np.sqrt(np.asarray(tr.distances, dtype=float))
        color = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(dist)),
                y=mask_nonpositive(dist),
                mode="lines",
                name=f"K = {K}",
                legendgroup=str(K),
                line=dict(color=color, width=2),
            )
        )
        if drifts[K] > 0:
            fig.add_trace(
                go.Scatter(
                    x=[0, len(dist) - 1],
                    y=[drifts[K], drifts[K]],
                    mode="lines",
                    name=f"‖x̄_K − x*‖, K = {K}",
                    legendgroup=str(K),
                    showlegend=False,
                    line=dict(color=color, width=1, dash="dash"),
                )
            )
    style_figure(fig, title, "communication round t", "‖x_t − x*‖", height=height)
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def fedavg_explorer(
    make_problem: Callable[[float], Any],
    *,
    local_num_steps: Sequence[int] = (1, 2, 5, 10, 20),
    local_num_step: int = 5,
    heterogeneities: Sequence[float] = (0.0, 0.5, 1.0, 2.0),
    heterogeneity: float = 1.0,
    learning_rate: float = 0.1,
    num_steps: int = 60,
    height: int = 460,
) -> Explorer:
    """Live figure: FedAvg's ``‖x_t − x*‖`` over rounds for a chosen number ``K`` of local
    steps and heterogeneity ``ζ``, with GD (``K = 1``) and the closed-form plateau
    ``‖x̄_K − x*‖`` (dashed). Each change rebuilds the problem with ``make_problem(ζ)`` and
    re-runs :func:`optlab.distributed.fedavg` (``K`` and the step are traced: one compilation).

    Args:
      make_problem: ``ζ ↦ LinearProblem`` (e.g. ``heterogeneous_least_squares`` with a fixed key).
      local_num_steps: the ``K`` the static figure offers (positive integers).
      local_num_step: the ``K`` shown first (one of ``local_num_steps``).
      heterogeneities: the ``ζ`` the static figure offers (non-negative).
      heterogeneity: the ``ζ`` shown first (one of ``heterogeneities``).
      learning_rate: the clients' step ``γ``.
      num_steps: communication rounds per run.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with sliders ``K`` and ``ζ``.

    Raises:
      TypeError: ``make_problem`` not callable.
      ValueError: a non-positive or non-integer ``K``, a negative ``ζ``, a default not
        among the values offered.
    """
    if not callable(make_problem):
        raise TypeError(f"make_problem must be callable, got {type(make_problem).__name__}")
    Ks = tuple(local_num_steps)
    if not Ks or any(isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1 for K in Ks):
        raise ValueError(f"local_num_steps must be positive integers, got {Ks}")
    zetas = tuple(float(z) for z in heterogeneities)
    if not zetas or any(not z >= 0 for z in zetas):
        raise ValueError(f"heterogeneities must be non-negative, got {zetas}")
    controls = {
        "local_num_steps": slider("local steps K", [int(K) for K in Ks], value=int(local_num_step), step=1),
        "heterogeneity": slider("heterogeneity ζ", zetas, value=float(heterogeneity)),
    }
    fig = go.Figure()
    fig.add_trace(go.Scatter(mode="lines", name="FedAvg, K local steps", line=dict(color=COLORS[0], width=2)))
    fig.add_trace(
        go.Scatter(
            mode="lines", name="closed-form plateau ‖x̄_K − x*‖", line=dict(color=COLORS[0], dash="dash")
        )
    )
    fig.add_trace(
        go.Scatter(mode="lines", name="GD (K = 1)", line=dict(color="#555555", dash="dot", width=2))
    )
    style_figure(fig, "FedAvg", "communication round t", "‖x_t − x*‖", height=height)
    fig.update_yaxes(type="log", exponentformat="power", range=[-9, 1])
    rounds = np.arange(num_steps + 1)

    def update(local_num_steps, heterogeneity):
        K = int(round(local_num_steps))
        pb = make_problem(float(heterogeneity))
        tr = D.fedavg(pb, learning_rate=learning_rate, local_num_steps=K, num_steps=num_steps)
        gd = D.fedavg(pb, learning_rate=learning_rate, local_num_steps=1, num_steps=num_steps)
        xbar = D.fedavg_fixed_point(pb, learning_rate=learning_rate, local_num_steps=K)
        drift = float(np.linalg.norm(np.asarray(xbar) - np.asarray(pb.z_star)))
        dist = np.sqrt(np.asarray(tr.distances, dtype=float))
        return Frame(
            {
                0: {"x": rounds, "y": mask_nonpositive(dist)},
                1: {"x": [0, num_steps], "y": mask_nonpositive(np.array([drift, drift]))},
                2: {"x": rounds, "y": mask_nonpositive(np.sqrt(np.asarray(gd.distances, dtype=float)))},
            },
            layout={
                "title.text": f"K = {K}, ζ = {float(heterogeneity):.2g}: plateau ‖x̄_K − x*‖ = {drift:.3g}"
            },
        )

    return Explorer(fig, update, controls)
