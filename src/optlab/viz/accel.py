"""Interactive figures for the momentum chapter (book/02_acceleration).

:func:`momentum_explorer` re-runs heavy ball or Nesterov (:mod:`optlab.first_order`,
through :func:`optlab.runner.run`) on a 2-D quadratic every time the reader moves the
step size or the momentum, after Goh's *Why momentum really works* (Distill, 2017):
the path on the level sets, the distance to the minimiser, and in the title the exact
rate of the method on that quadratic (:func:`optlab.accel.quadratic_rate`).  The
hyper-parameters are traced arguments of one module-level ``jax.jit`` function, so a
new value does not compile again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import accel, first_order, problems, runner
from .core import COLORS, clip_path, format_number, mask_nonpositive, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider, slider

__all__ = ["momentum_explorer", "quadratic_momentum_run"]

_DEFAULT_METHODS: dict[str, Callable[[Any, Any], Any]] = {
    "heavy ball": first_order.heavy_ball,
    "Nesterov": first_order.nesterov,
}
# the names quadratic_rate knows, for the library's own methods
_RATE_NAMES: dict[Any, str] = {first_order.heavy_ball: "heavy_ball", first_order.nesterov: "nesterov"}


@functools.partial(jax.jit, static_argnames=("make_optimizer", "num_steps"))
def _momentum_run(learning_rate, momentum, kappa, x0, *, make_optimizer, num_steps):
    quad = problems.quadratic(kappa=kappa, dim=2)
    trace = runner.run(make_optimizer(learning_rate / quad.L, momentum), quad, x0, num_steps=num_steps)
    return trace.iterates, trace.distances(quad.x_star)


def _check_number(name: str, value: Any, low: float, high: float, high_inclusive: bool = True) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = ok and np.isfinite(value) and low <= value and (value <= high if high_inclusive else value < high)
    if not ok:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, got {value!r}")


def quadratic_momentum_run(
    learning_rate: float,
    momentum: float,
    *,
    kappa: float = 100.0,
    x0: Any = (-1.5, 3.0),
    num_steps: int = 80,
    make_optimizer: Callable[[Any, Any], Any] = first_order.heavy_ball,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``make_optimizer(η, β)`` on ``problems.quadratic(kappa, dim=2)``: the explorer's data.

    One module-level ``jax.jit`` function with ``η``, ``β`` and ``κ`` as traced
    arguments (one compilation per optimizer factory, ``num_steps`` and dtype).

    Args:
      learning_rate: the step size in units of ``1/L``, ``η·L > 0``.
      momentum: ``β ∈ [0, 1)``.
      kappa: the condition number ``κ ≥ 1`` (``L = 1``, ``μ = 1/κ``).
      x0: the start, a 2-vector (converted to JAX's default float dtype).
      num_steps: number of steps ``N ≥ 1``.
      make_optimizer: ``(η, β) ↦ optax transformation``, traceable in both (default
        :func:`optlab.first_order.heavy_ball`; a lab can pass its own).

    Returns:
      ``(iterates, distances)``: the ``(N + 1, 2)`` iterates and ``‖x_k − x*‖``, NumPy arrays.

    Raises:
      ValueError: ``learning_rate``, ``momentum``, ``kappa``, ``num_steps`` or ``x0`` out of range.
      TypeError: ``make_optimizer`` is not callable.
    """
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be callable ((η, β) ↦ transformation), got {make_optimizer!r}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    _check_number("learning_rate", learning_rate, 0.0, np.inf)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    _check_number("momentum", momentum, 0.0, 1.0, high_inclusive=False)
    _check_number("kappa", kappa, 1.0, np.inf)
    dtype = jax.numpy.result_type(float)
    x0 = jax.numpy.asarray(x0, dtype=dtype)
    if x0.shape != (2,):
        raise ValueError(f"x0 must be a 2-vector, got shape {x0.shape}")
    its, dists = _momentum_run(
        jax.numpy.asarray(learning_rate, dtype),
        jax.numpy.asarray(momentum, dtype),
        jax.numpy.asarray(kappa, dtype),
        x0,
        make_optimizer=make_optimizer,
        num_steps=int(num_steps),
    )
    return np.asarray(its), np.asarray(dists)


def _ellipses(L: float, mu: float, levels: np.ndarray, n: int = 73) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 2 * np.pi, n)
    xs, ys = [], []
    for c in levels:
        xs += [np.sqrt(2 * c / L) * np.cos(t), [np.nan]]
        ys += [np.sqrt(2 * c / mu) * np.sin(t), [np.nan]]
    return np.concatenate(xs), np.concatenate(ys)


def momentum_explorer(
    *,
    methods: Mapping[str, Callable[[Any, Any], Any]] | None = None,
    learning_rates: Sequence[float] = (0.3, 1.0, 3.3),
    momenta: Sequence[float] = (0.0, 0.67, 0.82, 0.95),
    learning_rate: float = 1.0,
    momentum: float = 0.82,
    kappa: float = 100.0,
    x0: Any = (-1.5, 3.0),
    num_steps: int = 80,
    xlim: tuple[float, float] = (-2.0, 2.0),
    ylim: tuple[float, float] = (-3.5, 3.5),
    title: str | None = None,
    height: int = 500,
) -> Explorer:
    """Heavy ball and Nesterov on a 2-D quadratic: method, step size and momentum.

    Left, the level sets of ``½(L x₁² + μ x₂²)`` (``L = 1``, ``μ = 1/κ``) and the path;
    right, ``‖x_k − x*‖`` on a log scale with the line ``ρᵏ ‖x₀ − x*‖``, where ``ρ`` is
    the method's exact rate on this quadratic (for the library's methods).  Each
    control change re-runs :func:`quadratic_momentum_run`.

    Args:
      methods: ``name ↦ (η, β) ↦ optax transformation`` (default heavy ball and
        Nesterov from :mod:`optlab.first_order`); the first is shown first.
      learning_rates: the step sizes ``η·L`` of the static figure (log slider, live range 0.01 to 4).
      momenta: the momenta ``β`` of the static figure (slider, live range 0 to 0.99).
      learning_rate: the first step size shown (one of ``learning_rates``).
      momentum: the first momentum shown (one of ``momenta``).
      kappa: the condition number ``κ ≥ 1`` of the quadratic.
      x0: the start, a 2-vector.
      num_steps: number of steps ``N ≥ 1``.
      xlim, ylim: the plotting box of the path (divergent paths are clipped just outside it).
      title: the title (default names ``κ``); the rate is appended.
      height: the figure height in pixels.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``method``, ``learning_rate`` and ``momentum``.

    Raises:
      ValueError: a step size outside ``[0.01, 4]``, a momentum outside ``[0, 0.99]``, an
        invalid ``kappa``, ``num_steps`` or ``x0``, no method, or a default not among its values.
      TypeError: a method is not callable.
    """
    methods = dict(_DEFAULT_METHODS if methods is None else methods)
    if not methods:
        raise ValueError("methods must name at least one method")
    for name, make in methods.items():
        if not callable(make):
            raise TypeError(f"methods[{name!r}] must be callable ((η, β) ↦ transformation), got {make!r}")
    bad = [s for s in learning_rates if not 0.01 <= s <= 4.0]
    if bad:
        raise ValueError(f"learning_rates must lie in [0.01, 4] (η·L), got {bad}")
    bad = [b for b in momenta if not 0.0 <= b <= 0.99]
    if bad:
        raise ValueError(f"momenta must lie in [0, 0.99], got {bad}")
    _check_number("kappa", kappa, 1.0, np.inf)
    controls = {
        "method": dropdown("method", list(methods)),
        "learning_rate": log_slider("η·L", learning_rates, value=learning_rate, bounds=(0.01, 4.0)),
        "momentum": slider("β", momenta, value=momentum, bounds=(0.0, 0.99), step=0.01),
    }
    run = functools.partial(quadratic_momentum_run, kappa=kappa, x0=x0, num_steps=num_steps)
    # checks x0 and num_steps now, and compiles what the widget shows first (the other
    # methods compile when picked)
    run(learning_rate, momentum, make_optimizer=next(iter(methods.values())))
    L, mu = 1.0, 1.0 / float(kappa)  # quadratic(kappa): L = 1, μ = L/κ
    k = np.arange(num_steps + 1)
    title = title or f"Momentum on ½(L x₁² + μ x₂²), κ = {format_number(kappa)}"

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        horizontal_spacing=0.1,
        subplot_titles=("path", "‖x_k − x*‖"),
    )
    x_start = np.asarray(x0, dtype=float)
    f0 = 0.5 * (L * x_start[0] ** 2 + mu * x_start[1] ** 2)
    ex, ey = _ellipses(L, mu, f0 * np.geomspace(1.0, 1e-4, 8))
    fig.add_trace(
        go.Scatter(
            x=ex,
            y=ey,
            mode="lines",
            name="level sets",
            line=dict(color="#9ecae1", width=1),
            hoverinfo="skip",
            showlegend=False,
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            mode="lines+markers",
            name="iterates",
            marker=dict(size=4, color=COLORS[1]),
            line=dict(color=COLORS[1], width=1.5),
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=[0.0],
            y=[0.0],
            mode="markers",
            name="minimiser",
            marker=dict(symbol="star", size=14, color="black"),
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=k, mode="lines", name="‖x_k − x*‖", line=dict(color=COLORS[0], width=2)), row=1, col=2
    )
    fig.add_trace(
        go.Scatter(
            x=k, mode="lines", name="ρᵏ ‖x₀ − x*‖", line=dict(color="#555555", dash="dash", width=1.5)
        ),
        row=1,
        col=2,
    )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(range=list(xlim), title_text="x₁", constrain="domain", row=1, col=1)
    fig.update_yaxes(range=list(ylim), title_text="x₂", scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_xaxes(title_text="iteration k", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)

    def update(method: str, learning_rate: float, momentum: float) -> Frame:
        make = methods[method]
        its, dists = run(learning_rate, momentum, make_optimizer=make)
        path = clip_path(its, xlim, ylim)
        # Nesterov at η = 1/L zeroes the stiff component up to round-off (1e-305 in float64),
        # which the static figure's 5-digit rounding cannot scale: draw it as 0
        path[np.abs(path) < 1e-200] = 0.0
        traces: dict[int, dict[str, Any]] = {
            1: {"x": path[:, 0], "y": path[:, 1], "name": f"{method} iterates"},
            3: {"y": mask_nonpositive(dists.astype(float))},
        }
        text = f"{title}: {method}, η·L = {format_number(learning_rate)}, β = {format_number(momentum)}"
        rate_name = _RATE_NAMES.get(make)
        if rate_name is not None:
            rho = accel.quadratic_rate(
                rate_name, L, mu, eigenvalues=[mu, L], learning_rate=learning_rate / L, momentum=momentum
            )
            with np.errstate(over="ignore", under="ignore"):
                traces[4] = {"y": mask_nonpositive(float(dists[0]) * rho ** k.astype(float))}
            text += f", rate ρ = {rho:.3g}"
        return Frame(traces, layout={"title.text": text})

    return Explorer(fig, update, controls)
