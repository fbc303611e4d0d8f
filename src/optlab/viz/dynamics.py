"""Figures for the chapter on training dynamics (``book/20_dynamics``): the SAM explorer
(gradient descent and sharpness-aware minimisation from a fan of starts on a two-dimensional
landscape with a sharp and a flat valley, for a radius ``ρ`` of the reader's choice).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go

from .. import dynamics as dy
from .. import runner
from .core import COLORS, grid_values, level_set_contour, style_figure
from .explorer import Explorer, Frame, slider

__all__ = ["sam_explorer"]


@functools.partial(jax.jit, static_argnames=("fun", "make", "num_steps", "every"))
def _sam_runs(fun, make, starts, learning_rate, rho, num_steps, every):
    """Every start run by ``make(learning_rate, rho)`` in one compiled call (``ρ`` traced)."""
    opt = make(learning_rate, rho)

    def one(w0):
        return runner.run_loss(opt, fun, w0, num_steps=num_steps, return_iterates=True).iterates[::every]

    return jax.vmap(one)(starts)


def sam_explorer(
    fun: Callable[[Any], Any],
    starts: Any,
    *,
    rhos: Sequence[float],
    rho: float | None = None,
    learning_rate: float,
    num_steps: int,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    threshold: float = 0.0,
    sam: Callable[[Any, Any], Any] = dy.sam,
    title: str | None = "SAM from a fan of starts",
    height: int = 480,
) -> Explorer:
    """Live figure: SAM (``sam(learning_rate, ρ)``, by default :func:`optlab.dynamics.sam`) run
    for ``num_steps`` steps from every start on a loss ``fun`` of two parameters, drawn over its
    level sets, for a radius ``ρ`` of the reader's choice (``ρ = 0`` is gradient descent).  The
    title counts the runs that end with ``w₁ > threshold`` (the flat valley of the chapter's
    landscape).  Each change runs every start in one compiled call (``ρ`` is traced).

    Args:
      fun: the loss, a scalar function of a 2-vector (JAX-traceable).
      starts: the starting points, ``n × 2``.
      rhos: the radii of the static figure (``≥ 0``).
      rho: the radius shown first (default: the middle one).
      learning_rate: the step ``η > 0``.
      num_steps: the steps of each run, ``≥ 1``.
      xlim, ylim: the plotting box.
      threshold: the value of ``w₁`` that separates the two valleys, for the title.
      sam: the optimizer factory ``(η, ρ) ↦ optax transformation`` (a lab passes its own).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``rho`` (a slider).

    Raises:
      ValueError: ``starts`` not ``n × 2``, ``num_steps < 1``, ``learning_rate <= 0``, a negative
        radius, ``rho`` not among ``rhos``.
      TypeError: ``fun`` or ``sam`` not callable.
    """
    if not callable(fun) or not callable(sam):
        raise TypeError("fun and sam must be callable")
    w0 = jnp.asarray(starts)
    if w0.ndim != 2 or w0.shape[1] != 2:
        raise ValueError(f"starts must be n × 2, got shape {w0.shape}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    if min(rhos) < 0:
        raise ValueError(f"rhos must be non-negative, got {list(rhos)}")
    controls = {"rho": slider("ρ", rhos, value=rho, bounds=(0.0, max(max(rhos), 1e-3)))}
    every = max(1, num_steps // 100)
    n = w0.shape[0]

    xs, ys, Z = grid_values(fun, xlim, ylim, resolution=70)
    fig = go.Figure([level_set_contour(xs, ys, Z, log_levels=True)])
    for i in range(n):
        fig.add_trace(
            go.Scatter(
                mode="lines",
                line=dict(color=COLORS[i % len(COLORS)], width=1.5),
                name=f"start {i}",
                showlegend=False,
            )
        )
    fig.add_trace(go.Scatter(mode="markers", name="w_K", marker=dict(color="black", symbol="x", size=9)))
    style_figure(fig, title, "w₁", "w₂", height=height)
    fig.update_xaxes(range=list(xlim))
    fig.update_yaxes(range=list(ylim))

    def update(rho):
        rho_j = jnp.asarray(rho, w0.dtype)
        paths = np.asarray(_sam_runs(fun, sam, w0, learning_rate, rho_j, num_steps, every))
        data: dict[int, dict] = {}
        for i in range(n):
            p = np.clip(paths[i], [xlim[0] - 1, ylim[0] - 1], [xlim[1] + 1, ylim[1] + 1])
            data[1 + i] = {"x": p[:, 0], "y": p[:, 1]}
        final = paths[:, -1]
        data[1 + n] = {"x": final[:, 0], "y": final[:, 1]}
        flat = int(np.sum(final[:, 0] > threshold))
        text = f"ρ = {rho:.3g}: {flat} of {n} runs end with w₁ > {threshold:g}"
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)
