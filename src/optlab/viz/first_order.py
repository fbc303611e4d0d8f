"""Interactive figures for the gradient-descent chapter (book/01_gradient_descent).

:func:`gd_explorer` re-runs gradient descent (:func:`optlab.first_order.gd` through
:func:`optlab.runner.run`) on the 2-D quadratic ``½(L x₁² + μ x₂²)`` every time the
reader moves the step size or the condition number: the path on the level sets and
the curve ``f(x_k) − f*`` come from one jitted function whose hyper-parameters are
traced arguments, so the live figure answers in milliseconds after its first call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import first_order, problems, runner
from .core import COLORS, clip_path, format_number, mask_nonpositive, style_figure
from .explorer import Explorer, Frame, log_slider

__all__ = ["gd_explorer", "quadratic_gd_run"]


@functools.partial(jax.jit, static_argnames=("make_optimizer", "num_steps"))
def _quadratic_run(step, kappa, x0, *, make_optimizer, num_steps):
    quad = problems.quadratic(kappa=kappa, dim=2)
    trace = runner.run(make_optimizer(step / quad.L), quad, x0, num_steps=num_steps)
    return trace.iterates, trace.values - quad.f_star, jnp.stack([quad.L, quad.mu])


def quadratic_gd_run(
    step: float,
    kappa: float,
    *,
    x0: Any = (-1.3, 1.1),
    num_steps: int = 40,
    make_optimizer: Callable[[Any], Any] = first_order.gd,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``make_optimizer(step / L)`` on ``problems.quadratic(kappa, dim=2)``: the explorer's data.

    One module-level ``jax.jit`` function with ``step`` and ``kappa`` as traced
    arguments: a new value does not compile again (one compilation per optimizer
    factory, ``num_steps`` and dtype of ``x0``).

    Args:
      step: the step size in units of ``1/L``, ``η·L > 0``.
      kappa: the condition number ``κ ≥ 1`` (``L = 1``, ``μ = 1/κ``).
      x0: the start, a 2-vector (converted to JAX's default float dtype).
      num_steps: number of steps ``N ≥ 1``.
      make_optimizer: ``η ↦ optax transformation``, traceable in ``η`` (default
        :func:`optlab.first_order.gd`; a lab can pass its own).

    Returns:
      ``(iterates, gaps, eigenvalues)``: the ``(N + 1, 2)`` iterates, the ``N + 1`` values
      ``f(x_k) − f*`` and ``(L, μ)``, as NumPy arrays.

    Raises:
      ValueError: if ``step`` or ``kappa`` is out of range, ``num_steps < 1`` or ``x0`` is not a 2-vector.
      TypeError: if ``make_optimizer`` is not callable.
    """
    if not callable(make_optimizer):
        raise TypeError(f"make_optimizer must be callable (η ↦ transformation), got {make_optimizer!r}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    if not np.isfinite(step) or not step > 0:
        raise ValueError(f"step must be a positive finite number (η·L), got {step!r}")
    if not np.isfinite(kappa) or not kappa >= 1:
        raise ValueError(f"kappa must be a finite number >= 1, got {kappa!r}")
    x0 = jnp.asarray(x0, dtype=jnp.result_type(float))
    if x0.shape != (2,):
        raise ValueError(f"x0 must be a 2-vector, got shape {x0.shape}")
    its, gaps, eigs = _quadratic_run(
        jnp.asarray(step, x0.dtype),
        jnp.asarray(kappa, x0.dtype),
        x0,
        make_optimizer=make_optimizer,
        num_steps=int(num_steps),
    )
    return np.asarray(its), np.asarray(gaps), np.asarray(eigs)


def _ellipses(L: float, mu: float, levels: np.ndarray, n: int = 49) -> tuple[np.ndarray, np.ndarray]:
    """Level sets ``½(L x₁² + μ x₂²) = c`` as one polyline, ``NaN`` between ellipses."""
    t = np.linspace(0.0, 2 * np.pi, n)
    xs, ys = [], []
    for c in levels:
        xs += [np.sqrt(2 * c / L) * np.cos(t), [np.nan]]
        ys += [np.sqrt(2 * c / mu) * np.sin(t), [np.nan]]
    return np.concatenate(xs), np.concatenate(ys)


def gd_explorer(
    *,
    steps: Sequence[float] = (0.1, 0.5, 1.0, 1.5, 1.8, 1.95, 2.05),
    kappas: Sequence[float] = (2.0, 10.0, 50.0),
    step: float = 1.0,
    kappa: float = 10.0,
    x0: Any = (-1.3, 1.1),
    num_steps: int = 40,
    make_optimizer: Callable[[Any], Any] = first_order.gd,
    xlim: tuple[float, float] = (-1.6, 1.6),
    ylim: tuple[float, float] = (-1.6, 1.6),
    title: str = "Gradient descent on ½(L x₁² + μ x₂²)",
    height: int = 480,
) -> Explorer:
    """Gradient descent on a 2-D quadratic: step size and condition number, path and gap.

    Left, the level sets of ``½(L x₁² + μ x₂²)`` (``L = 1``, ``μ = 1/κ``) and the
    path of :func:`quadratic_gd_run`; right, ``f(x_k) − f*`` on a log scale with the
    quadratic's bound ``ρ^{2k} (f(x₀) − f*)``, ``ρ = max(|1 − ηL|, |1 − ημ|)``.  Each
    control change re-runs the jitted library loop.

    Args:
      steps: the step sizes ``η·L`` of the static figure (log slider, live range 0.01 to 2.2).
      kappas: the condition numbers of the static figure (log slider, live range 1 to 100).
      step: the first step size shown (one of ``steps``).
      kappa: the first condition number shown (one of ``kappas``).
      x0: the start, a 2-vector.
      num_steps: number of steps ``N ≥ 1``.
      make_optimizer: ``η ↦ optax transformation`` (default :func:`optlab.first_order.gd`).
      xlim, ylim: the plotting box of the path (divergent paths are clipped just outside it).
      title: the title; the rate ``ρ`` is appended.
      height: the figure height in pixels.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``step`` and ``kappa``.

    Raises:
      ValueError: if a step is not in ``(0, 2.2]``, a ``κ`` not in ``[1, 100]``, ``step``/``kappa``
        not among the static values, or ``num_steps``/``x0`` invalid.
      TypeError: if ``make_optimizer`` is not callable.
    """
    bad_steps = [s for s in steps if not 0.01 <= s <= 2.2]
    if bad_steps:
        raise ValueError(f"steps must lie in [0.01, 2.2] (η·L), got {bad_steps}")
    bad_kappas = [k for k in kappas if not 1 <= k <= 100]
    if bad_kappas:
        raise ValueError(f"kappas must lie in [1, 100], got {bad_kappas}")
    controls = {
        "step": log_slider("η·L", steps, value=step, bounds=(0.01, 2.2)),
        "kappa": log_slider("κ", kappas, value=kappa, bounds=(1.0, 100.0)),
    }
    run = functools.partial(quadratic_gd_run, x0=x0, num_steps=num_steps, make_optimizer=make_optimizer)
    run(steps[0], kappas[0])  # checks x0, num_steps and make_optimizer now, and compiles once
    k = np.arange(num_steps + 1)

    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.5, 0.5],
        horizontal_spacing=0.1,
        subplot_titles=("path", "f(x_k) − f*"),
    )
    fig.add_trace(
        go.Scatter(
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
            name="GD iterates",
            marker=dict(size=5, color=COLORS[1]),
            line=dict(color=COLORS[1], width=2),
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
        go.Scatter(x=k, mode="lines", name="f(x_k) − f*", line=dict(color=COLORS[0], width=2)), row=1, col=2
    )
    fig.add_trace(
        go.Scatter(
            x=k, mode="lines", name="ρ²ᵏ (f(x₀) − f*)", line=dict(color="#555555", dash="dash", width=1.5)
        ),
        row=1,
        col=2,
    )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(range=list(xlim), title_text="x₁", constrain="domain", row=1, col=1)
    fig.update_yaxes(range=list(ylim), title_text="x₂", scaleanchor="x", scaleratio=1, row=1, col=1)
    fig.update_xaxes(title_text="iteration k", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)

    def update(step: float, kappa: float) -> Frame:
        its, gaps, (L, mu) = run(step, kappa)
        path = clip_path(its, xlim, ylim)
        rho = max(abs(1 - step), abs(1 - step * mu / L))
        f0 = float(gaps[0])
        ex, ey = _ellipses(float(L), float(mu), f0 * np.geomspace(1.0, 1e-4, 8))
        with np.errstate(over="ignore", under="ignore"):
            bound = f0 * rho ** (2.0 * k)
        return Frame(
            {
                0: {"x": ex, "y": ey},
                1: {"x": path[:, 0], "y": path[:, 1]},
                3: {"y": mask_nonpositive(gaps.astype(float))},
                4: {"y": mask_nonpositive(bound)},
            },
            layout={
                "title.text": f"{title}: η·L = {format_number(step)}, κ = {format_number(kappa)}, "
                f"ρ = max|1 − ηλᵢ| = {rho:.3g}"
            },
        )

    return Explorer(fig, update, controls)
