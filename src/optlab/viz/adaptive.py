"""Figures for Chapter 4 (adaptive methods, signs and norms) built on :mod:`optlab.viz.core`.

:func:`adaptive_explorer` re-runs an adaptive method of :mod:`optlab.adaptive` (and
gradient descent at the same step, for reference) whenever the reader picks the method or
moves the learning rate: each method's loop is compiled once by
:func:`optlab.runner.compile_sweep`, with the learning rate a traced argument.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go

from .. import adaptive, first_order, problems, runner
from .core import COLORS, contour_trajectories, format_number, mask_nonpositive, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider

__all__ = ["norm_balls_figure", "box_trajectories", "adaptive_explorer"]

_DEFAULT_METHODS: dict[str, Callable[[Any], Any]] = {
    "AdaGrad-norm": adaptive.adagrad_norm,
    "AdaGrad": adaptive.adagrad,
    "RMSProp": adaptive.rmsprop,
    "Adam": adaptive.adam,
}


def _ball(norm: str, n: int = 200) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, n)
    c, s = np.cos(t), np.sin(t)
    if norm == "l2":
        return np.stack([c, s], 1)
    if norm == "linf":
        return np.array([[1, 1], [-1, 1], [-1, -1], [1, -1], [1, 1]], float)
    if norm == "l1":
        return np.array([[1, 0], [0, 1], [-1, 0], [0, -1], [1, 0]], float)
    raise ValueError(f"norm must be 'l2', 'linf' or 'l1', got {norm!r}")


def norm_balls_figure(
    g: Any, directions: Mapping[str, Any], *, title: str | None = None, height: int = 480
) -> go.Figure:
    """Unit balls of ℓ2, ℓ∞, ℓ1 in 2-D with the steepest-descent direction ``−lmo(g)`` of each.

    Args:
      g: the gradient (2-vector), drawn as a black arrow.
      directions: ``norm ↦ −lmo(g, norm)`` for norms among ``"l2"``, ``"linf"``, ``"l1"``.
    """
    g = np.asarray(g, float)
    fig = go.Figure()
    for i, (norm, d) in enumerate(directions.items()):
        col = COLORS[i % len(COLORS)]
        b = _ball(norm)
        fig.add_trace(
            go.Scatter(
                x=b[:, 0],
                y=b[:, 1],
                mode="lines",
                name=f"unit {norm} ball",
                line=dict(color=col, width=1.5, dash="dot"),
                legendgroup=norm,
            )
        )
        d = np.asarray(d, float)
        fig.add_trace(
            go.Scatter(
                x=[0, d[0]],
                y=[0, d[1]],
                mode="lines+markers",
                name=f"−lmo(g) in {norm}",
                legendgroup=norm,
                line=dict(color=col, width=3),
                marker=dict(size=[0, 10], color=col),
            )
        )
    gn = g / max(np.linalg.norm(g), 1e-300) * 1.4
    fig.add_trace(
        go.Scatter(
            x=[0, gn[0]],
            y=[0, gn[1]],
            mode="lines+markers",
            name="g (scaled)",
            line=dict(color="black", width=2),
            marker=dict(size=[0, 10], color="black"),
        )
    )
    style_figure(fig, title, "x₁", "x₂", height=height)
    fig.update_xaxes(range=[-1.6, 1.6])
    fig.update_yaxes(range=[-1.6, 1.6], scaleanchor="x", scaleratio=1)
    return fig


def box_trajectories(
    value_fn: Callable,
    trajectories: Mapping[str, Any],
    radius: float,
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    minimizer: Any = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Contours and paths (as :func:`optlab.viz.contour_trajectories`) plus the box ``‖x‖∞ ≤ radius``."""
    fig = contour_trajectories(
        value_fn, trajectories, xlim=xlim, ylim=ylim, minimizer=minimizer, title=title, height=height
    )
    r = float(radius)
    fig.add_trace(
        go.Scatter(
            x=[r, -r, -r, r, r],
            y=[r, r, -r, -r, r],
            mode="lines",
            name=f"box ‖x‖∞ ≤ {r:g}",
            line=dict(color="black", width=2, dash="dash"),
        )
    )
    return fig


def _gap_curve(values: Any, f_star: float, cap: float = 1e30) -> np.ndarray:
    """``f(x_k) − f*`` for a log axis: non-finite values (a divergent run) drawn at ``cap``."""
    gap = np.asarray(values, dtype=float) - f_star
    gap = np.where(np.isfinite(gap), np.minimum(gap, cap), cap)
    return mask_nonpositive(gap)


def _final(gap: np.ndarray) -> str:
    return "diverged" if gap[-1] >= 1e30 else f"{gap[-1]:.2g}"


def adaptive_explorer(
    problem: problems.Problem,
    x0: Any,
    *,
    methods: Mapping[str, Callable[[Any], Any]] | None = None,
    reference: Callable[[Any], Any] | None = first_order.gd,
    learning_rates: Sequence[float] = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0),
    learning_rate: float = 10.0,
    num_steps: int = 400,
    every: int = 2,
    title: str = "f(x_k) − f*",
    height: int = 440,
) -> Explorer:
    """An adaptive method and its learning rate: the convergence curve, live.

    One curve per run of the chosen method, and (dashed) gradient descent with the same
    step ``η`` for comparison; a divergent run is drawn at ``10³⁰``.  Every change calls
    the method's compiled sweep (:func:`optlab.runner.compile_sweep`, one compilation
    per method) with the new ``η``.

    Args:
      problem: the objective (with a known ``f_star``).
      x0: the start, shape ``(problem.dim,)``.
      methods: ``name ↦ (η ↦ optax transformation)`` (default AdaGrad-norm, AdaGrad,
        RMSProp and Adam from :mod:`optlab.adaptive`; a lab can pass its own).
      reference: ``η ↦`` the reference transformation (default gradient descent), or ``None``.
      learning_rates: the ``η`` of the static figure (log slider; the live range spans them).
      learning_rate: the first ``η`` shown (one of ``learning_rates``).
      num_steps: the number of steps ``N ≥ 1``.
      every: plot every that many iterates (a lighter static figure).
      title: the title; the method, ``η`` and the final gaps are appended.
      height: the figure height in pixels.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``method`` and ``learning_rate``.

    Raises:
      ValueError: no method, a non-positive ``η``, ``problem`` without ``f_star``, or an
        invalid ``x0`` or ``num_steps``.
      TypeError: a method or ``reference`` that is not callable, ``problem`` not a Problem.
    """
    methods = dict(_DEFAULT_METHODS if methods is None else methods)
    if not methods:
        raise ValueError("methods must name at least one method")
    for name, make in methods.items():
        if not callable(make):
            raise TypeError(f"methods[{name!r}] must be callable (η ↦ transformation), got {make!r}")
    if reference is not None and not callable(reference):
        raise TypeError(f"reference must be callable (η ↦ transformation) or None, got {reference!r}")
    if not isinstance(problem, problems.Problem):
        raise TypeError(f"problem must be an optlab.problems.Problem, got {type(problem).__name__}")
    if problem.f_star is None:
        raise ValueError(f"problem {problem.name!r} must have a known f_star")
    bad = [e for e in learning_rates if not (isinstance(e, (int, float)) and np.isfinite(e) and e > 0)]
    if bad:
        raise ValueError(f"learning_rates must be positive finite numbers, got {bad}")
    x0 = jnp.asarray(x0, dtype=jnp.result_type(float))
    if x0.shape != (problem.dim,):
        raise ValueError(f"x0 must have shape ({problem.dim},), got {x0.shape}")
    sweeps = {
        name: runner.compile_sweep(make, problem, num_steps=num_steps) for name, make in methods.items()
    }
    ref_sweep = runner.compile_sweep(reference, problem, num_steps=num_steps) if reference else None
    f_star = float(problem.f_star)

    def values(sweep: Callable[..., Any], eta: float) -> np.ndarray:
        return np.asarray(sweep(jnp.full((1,), eta, x0.dtype), x0).values[0])[::every]

    controls = {
        "method": dropdown("method", list(methods)),
        "learning_rate": log_slider("η", learning_rates, value=learning_rate),
    }
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an integer >= 1, got {every!r}")
    k = np.arange(0, num_steps + 1, every)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=k, mode="lines", name="adaptive method", line=dict(color=COLORS[0], width=2)))
    if ref_sweep is not None:
        fig.add_trace(
            go.Scatter(
                x=k, mode="lines", name="gradient descent, same η", line=dict(color="#555555", dash="dash")
            )
        )
    style_figure(fig, title, "iteration k", "f(x_k) − f*", height=height)
    fig.update_yaxes(type="log", exponentformat="power")

    def update(method: str, learning_rate: float) -> Frame:
        gap = _gap_curve(values(sweeps[method], learning_rate), f_star)
        traces: dict[int, dict[str, Any]] = {0: {"y": gap, "name": method}}
        text = f"{title}: {method}, η = {format_number(learning_rate)}, final gap {_final(gap)}"
        if ref_sweep is not None:
            ref = _gap_curve(values(ref_sweep, learning_rate), f_star)
            traces[1] = {"y": ref}
            text += f" (gradient descent: {_final(ref)})"
        return Frame(traces, layout={"title.text": text})

    # checks x0 and num_steps now, and compiles what the widget shows first (the other
    # methods compile when picked)
    update(next(iter(methods)), float(learning_rate))
    return Explorer(fig, update, controls)
