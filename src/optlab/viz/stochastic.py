"""Figures for the stochastic and variance-reduced chapter (book/03_stochastic).

The static figures are built from precomputed (vmapped) sweeps and are interactive
client-side only (sliders restyle precomputed traces), so they work in the static
book.  Curves are downsampled to at most ``max_points`` points.
:func:`sgd_explorer` instead re-runs SGD (:func:`optlab.runner.compile_sweep`, the step
size and the schedule traced) whenever the reader moves a control.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import first_order, runner
from .core import (
    COLORS,
    as_float_array,
    convergence_figure,
    convergence_slider,
    format_number,
    mask_nonpositive,
    stepped_figure,
    style_figure,
)
from .explorer import Explorer, Frame, dropdown, log_slider

__all__ = [
    "variance_reduction_slider",
    "noise_floor_figure",
    "clipping_bias_slider",
    "tail_quantiles_figure",
    "schedules_figure",
    "sgd_explorer",
    "SCHEDULES",
]

SCHEDULES = ("constant", "1/k", "step decay")
"""The step-size schedules of :func:`sgd_explorer`: ``η``, ``η/(1 + k μ η/2)``, ``η/2^⌊4k/N⌋``."""


def _thin(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    if len(y) <= max_points:
        return x, y
    idx = np.unique(np.linspace(0, len(y) - 1, max_points).round().astype(int))
    return x[idx], y[idx]


def variance_reduction_slider(
    x: Mapping[str, Any],
    gaps: Mapping[str, Any],
    learning_rates: Sequence[float],
    *,
    floors: Any = None,
    param_label: str = "η·L_max",
    xaxis_title: str = "passes over the data (gradient evaluations / n)",
    yaxis_title: str = "f(x) − f*",
    title: str | None = None,
    max_points: int = 300,
    active: int = 0,
) -> go.Figure:
    """Convergence against gradient evaluations with a slider over the step size.

    Args:
      x: ``label ↦ array`` of x values (e.g. passes), shape ``(P, T_label)`` or
        ``(T_label,)`` when shared by every step size (tune-free methods).
      gaps: ``label ↦ array`` of ``f − f*`` with the same shape as ``x[label]``.
      learning_rates: the ``P`` step sizes, the slider values.
      floors: optional ``(P,)`` predicted SGD noise floor, drawn dashed.
    """
    P = len(learning_rates)
    if set(x) != set(gaps):
        raise ValueError("x and gaps must have the same labels")
    groups = []
    for j in range(P):
        group = []
        for i, label in enumerate(gaps):
            xs, ys = as_float_array(x[label]), as_float_array(gaps[label])
            if xs.shape != ys.shape:
                raise ValueError(
                    f"x[{label!r}] and gaps[{label!r}] differ in shape: {xs.shape} vs {ys.shape}"
                )
            if ys.ndim == 2:
                if ys.shape[0] != P:
                    raise ValueError(f"gaps[{label!r}] must have {P} rows, got {ys.shape[0]}")
                xs, ys = xs[j], ys[j]
            xs, ys = _thin(xs, mask_nonpositive(ys), max_points)
            group.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    line=dict(color=COLORS[i % len(COLORS)], width=2),
                )
            )
        if floors is not None:
            fl = float(as_float_array(floors)[j])
            xmax = max(float(np.nanmax(as_float_array(v))) for v in x.values())
            group.append(
                go.Scatter(
                    x=[0, xmax],
                    y=[fl, fl],
                    mode="lines",
                    name="SGD floor (theory)",
                    line=dict(color="#555555", dash="dash", width=1.5),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(learning_rates),
        prefix=f"{param_label} = ",
        active=active,
        title=title,
        xaxis_title=xaxis_title,
        yaxis_title=yaxis_title,
    )
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def noise_floor_figure(
    learning_rates: Any,
    measured: Mapping[str, Any],
    predicted: Mapping[str, Any],
    *,
    xaxis_title: str = "step size η",
    yaxis_title: str = "stationary E[f(x) − f*]",
    title: str | None = None,
) -> go.Figure:
    """Measured noise floors (markers) against predictions (dashed lines), log–log."""
    steps = as_float_array(learning_rates)
    fig = go.Figure()
    for i, (label, y) in enumerate(measured.items()):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=mask_nonpositive(as_float_array(y)),
                mode="markers+lines",
                name=label,
                marker=dict(size=9, color=COLORS[i % len(COLORS)]),
                line=dict(color=COLORS[i % len(COLORS)], width=1),
            )
        )
    for i, (label, y) in enumerate(predicted.items()):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=mask_nonpositive(as_float_array(y)),
                mode="lines",
                name=label,
                line=dict(color=COLORS[(i + 5) % len(COLORS)], dash="dash", width=2),
            )
        )
    style_figure(fig, title, xaxis_title, yaxis_title)
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def clipping_bias_slider(
    steps_axis: Any,
    running_means: Mapping[str, Any],
    learning_rates: Sequence[float],
    *,
    fixed_point: float,
    title: str | None = None,
    max_points: int = 300,
) -> go.Figure:
    """Running mean of the iterate for clipped and plain SGD, slider over ``η``.

    Args:
      steps_axis: ``(T,)`` x values (e.g. ``η k``, "time").
      running_means: ``label ↦ (P, T)``.
      fixed_point: the biased limit ``x_c``, drawn dashed, with ``x* = 0``.
    """
    xs = as_float_array(steps_axis)
    idx = np.unique(np.linspace(0, len(xs) - 1, min(max_points, len(xs))).round().astype(int))
    curves = {k: as_float_array(v)[:, idx] for k, v in running_means.items()}
    T = len(idx)
    refs = {f"x_c = {fixed_point:.4f}": np.full(T, fixed_point), "x* = 0": np.zeros(T)}
    fig = convergence_slider(
        curves,
        list(learning_rates),
        "η",
        x=xs[idx],
        log_y=False,
        references=refs,
        title=title,
        xaxis_title="step k",
        yaxis_title="running mean of x_k",
    )
    return fig


def tail_quantiles_figure(
    levels: Any,
    samples: Mapping[str, Any],
    *,
    title: str | None = None,
    yaxis_title: str = "quantile of f(x_T) − f*",
) -> go.Figure:
    """Empirical quantiles of a final error over seeds, one curve per method (log y)."""
    levels = as_float_array(levels)
    curves = {label: np.quantile(as_float_array(s), levels) for label, s in samples.items()}
    fig = convergence_figure(
        curves, x=levels, title=title, xaxis_title="quantile level", yaxis_title=yaxis_title
    )
    return fig


def schedules_figure(
    schedules: Mapping[str, Any],
    final_gaps: Mapping[str, Any],
    peaks: Any,
    *,
    title: str | None = None,
) -> go.Figure:
    """Two panels: schedule shapes ``η_t/η_peak`` (left) and final gap against the peak step (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("schedule η_t / η_peak", "final f(x_T) − f* vs peak"))
    peaks = as_float_array(peaks)
    for i, (label, s) in enumerate(schedules.items()):
        s = as_float_array(s)
        t, s = _thin(np.arange(len(s)), s, 300)
        color = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=t, y=s, mode="lines", name=label, legendgroup=label, line=dict(color=color, width=2)
            ),
            row=1,
            col=1,
        )
        if label in final_gaps:
            fig.add_trace(
                go.Scatter(
                    x=peaks,
                    y=mask_nonpositive(as_float_array(final_gaps[label])),
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=False,
                    line=dict(color=color, width=2),
                ),
                row=1,
                col=2,
            )
    style_figure(fig, title, None, None, height=430)
    fig.update_xaxes(title_text="step t", row=1, col=1)
    fig.update_xaxes(title_text="peak step η_peak", type="log", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    return fig


def _scheduled(h: Any, mu: float, num_steps: int) -> Callable[[Any], Any]:
    """``k ↦ η_k`` for ``h = (η, schedule index)``, traceable in both."""
    eta, which = h[0], h[1]

    def schedule(count):
        k = jnp.asarray(count, eta.dtype)
        inverse = eta / (1.0 + k * mu * eta / 2.0)  # decay time 2/(ημ), as in the chapter
        step = eta * 0.5 ** jnp.floor(4.0 * k / num_steps)
        return jnp.where(which == 0, eta, jnp.where(which == 1, inverse, step))

    return schedule


def sgd_explorer(
    problem: Any,
    x0: Any,
    *,
    keys: Any,
    learning_rates: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
    learning_rate: float = 0.2,
    batch_sizes: Sequence[int] = (1, 4, 16),
    step_unit: float = 1.0,
    step_label: str = "η",
    num_steps: int = 2000,
    make_optimizer: Callable[[Any], Any] | None = None,
    max_points: int = 200,
    title: str = "SGD",
    height: int = 440,
) -> Explorer:
    """SGD on a finite sum: the schedule, the batch size and the step size, live.

    The mean over ``keys`` of ``f(x_k) − f*`` on a log scale for the chosen schedule, and
    dashed the constant step with the same ``η`` and batch size, which stalls at its noise
    floor.  Every change calls the compiled, seed-vmapped SGD loop of
    :func:`optlab.runner.compile_sweep` once for both curves (one compilation per batch
    size; ``η`` and the schedule are traced).  The static figure sweeps the schedule and
    the batch size at ``learning_rate``.

    Args:
      problem: a finite sum with known ``f_star`` and ``mu`` (e.g. ``least_squares``).
      x0: the start, shape ``(problem.dim,)``.
      keys: a batch of PRNG keys (``jax.random.split(key, S)``): one run per key.
      learning_rates: the step sizes, in units of ``1/step_unit`` (log slider over their range).
      learning_rate: the step size shown first and in the static figure (one of ``learning_rates``).
      batch_sizes: the batch sizes of the menu.
      step_unit: the unit of the step sizes (e.g. ``L_max``: ``η = value / step_unit``).
      step_label: the slider's label (e.g. ``"η·L_max"``).
      num_steps: the number of steps ``N``.
      make_optimizer: ``schedule ↦ optax transformation`` (default
        :func:`optlab.first_order.gd`; a lab can pass its own).
      max_points: the most points of the curve (it is thinned evenly).
      title: the title; the schedule, batch size, step and the final gaps are appended.
      height: the figure height in pixels.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``schedule``, ``batch_size`` and ``learning_rate``.

    Raises:
      ValueError: a non-positive step size, ``step_unit`` or batch size, or the library's
        errors for ``problem``, ``x0``, ``keys`` and ``num_steps`` (named in the message).
      TypeError: ``make_optimizer`` is not callable.
    """
    make = first_order.gd if make_optimizer is None else make_optimizer
    if not callable(make):
        raise TypeError(f"make_optimizer must be callable (schedule ↦ transformation), got {make!r}")
    if not (isinstance(step_unit, (int, float)) and np.isfinite(step_unit) and step_unit > 0):
        raise ValueError(f"step_unit must be a positive finite number, got {step_unit!r}")
    bad = [e for e in learning_rates if not (isinstance(e, (int, float)) and np.isfinite(e) and e > 0)]
    if bad:
        raise ValueError(f"learning_rates must be positive finite numbers, got {bad}")
    bad = [b for b in batch_sizes if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1]
    if bad or not batch_sizes:
        raise ValueError(f"batch_sizes must be positive integers, got {list(batch_sizes)}")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")
    if getattr(problem, "f_star", None) is None or getattr(problem, "mu", None) is None:
        raise ValueError("problem must be a finite sum with known f_star and mu")
    n_samples = getattr(problem, "n_samples", None)
    if n_samples is None:
        raise ValueError(
            f"problem must be a finite sum (n_samples set), got {getattr(problem, 'name', problem)!r}"
        )
    too_large = [b for b in batch_sizes if b > n_samples]
    if too_large:
        raise ValueError(f"batch_sizes {too_large} exceed the number of samples n = {n_samples}")
    typed = (
        keys is not None and hasattr(keys, "dtype") and jax.dtypes.issubdtype(keys.dtype, jax.dtypes.prng_key)
    )
    raw = (
        keys is not None
        and hasattr(keys, "dtype")
        and not typed
        and np.ndim(keys) == 2
        and np.shape(keys)[-1] == 2
    )
    if not ((typed and np.ndim(keys) == 1) or raw) or len(keys) < 1:
        raise ValueError(
            f"keys must be a non-empty batch of PRNG keys (jax.random.split(key, S)), got {keys!r}"
        )
    mu, f_star = float(problem.mu), float(problem.f_star)
    x0 = jnp.asarray(x0, dtype=jnp.result_type(float))
    controls = {
        "schedule": dropdown("schedule", SCHEDULES),
        "batch_size": dropdown("batch size", [int(b) for b in batch_sizes]),
        "learning_rate": log_slider(step_label, learning_rates, value=learning_rate),
    }
    sweeps: dict[int, Callable[..., Any]] = {}

    def sweep(batch_size: int) -> Callable[..., Any]:
        if batch_size not in sweeps:
            sweeps[batch_size] = runner.compile_sweep(
                lambda h: make(_scheduled(h, mu, num_steps)),
                problem,
                num_steps=num_steps,
                batch_size=batch_size,
                with_keys=True,
            )
        return sweeps[batch_size]

    k = np.arange(num_steps + 1)
    if k.size > max_points:
        k = np.unique(np.linspace(0, num_steps, max_points).round().astype(int))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=k, mode="lines", name="f(x_k) − f*, mean over seeds", line=dict(color=COLORS[0]))
    )
    fig.add_trace(
        go.Scatter(
            x=k,
            mode="lines",
            name="constant step, same η and batch",
            line=dict(color="#555555", dash="dash"),
        )
    )
    style_figure(fig, title, "iteration k", "f(x_k) − f*", height=height)
    fig.update_yaxes(type="log", exponentformat="power")

    def update(schedule: str, batch_size: int, learning_rate: float) -> Frame:
        eta = learning_rate / step_unit
        h = jnp.asarray([[eta, SCHEDULES.index(schedule)], [eta, 0.0]], x0.dtype)
        values = np.asarray(jax.device_get(sweep(int(batch_size))(h, x0, keys).values))
        gap, constant = (mask_nonpositive(v.mean(axis=0)[k] - f_star) for v in values)
        return Frame(
            {0: {"y": gap, "name": f"{schedule}, mean over seeds"}, 1: {"y": constant}},
            layout={
                "title.text": f"{title}: {schedule}, batch {batch_size}, {step_label} = "
                f"{format_number(learning_rate)}: final gap {gap[-1]:.3g} (constant step {constant[-1]:.3g})"
            },
        )

    update(SCHEDULES[0], int(batch_sizes[0]), float(learning_rate))  # checks the arguments, compiles once
    return Explorer(fig, update, controls, static=["schedule", "batch_size"])
