"""Figures for the chapter on nonsmooth, proximal and composite optimization
(``book/18_proximal``): the lasso explorer (ISTA, FISTA and restart for a regularisation
strength of the reader's choice), the regularisation-path figure, and the model-based explorer
(stochastic subgradient, prox-linear and proximal point steps on robust phase retrieval, for a
step size of the reader's choice).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import prox as px
from .core import COLORS, mask_nonpositive, style_figure
from .explorer import Explorer, Frame, log_slider

__all__ = ["lasso_explorer", "lasso_path_figure", "model_based_explorer"]

_METHODS = (("ISTA", "none"), ("FISTA", "fista"), ("FISTA + restart", "restart"))


@functools.partial(jax.jit, static_argnames="num_steps")
def _lasso_runs(A, b, reg, num_steps):
    """The explorer's computation in one compiled call: the three methods, the reference
    (restart continued for ``num_steps`` more steps) and its duality gap."""
    runs = [
        px.lasso(A, b, reg=reg, num_steps=num_steps, acceleration=acc, return_iterates=False)
        for _, acc in _METHODS
    ]
    ref = px.lasso(
        A, b, reg=reg, num_steps=num_steps, acceleration="restart", x0=runs[2].params, return_iterates=False
    )
    gap = px.lasso_duality_gap(A, b, ref.params, reg=reg)
    values = jnp.stack([r.values for r in runs])
    return values, runs[2].params, ref.values[-1], gap, jnp.sum(ref.params**2)


def lasso_explorer(
    A: Any,
    b: Any,
    *,
    regs: Sequence[float],
    reg: float | None = None,
    num_steps: int = 300,
    x_true: Any = None,
    title: str | None = "The lasso: ISTA, FISTA and restart",
    height: int = 460,
) -> Explorer:
    """Live figure: the lasso ``‖Ax − b‖²/(2N) + λ‖x‖₁`` solved by ISTA, FISTA and FISTA with
    restart (:func:`optlab.prox.lasso`, step ``1/L``) for a strength ``λ`` of the reader's
    choice.  Left: ``F(x_k) − F*`` against ``k`` with the two bounds ``L‖x*‖²/(2k)`` and
    ``2L‖x*‖²/(k+1)²`` (``x_0 = 0``); right: the coefficients found, against the true ones.
    ``F*`` is the value of the restarted run continued for another ``K`` steps (its duality
    gap is in the title).  Each change runs the library's solvers in one compiled call (``A``, ``b`` and
    ``λ`` are traced: no recompilation).

    Args:
      A: the design, ``N × d``.
      b: the targets, ``(N,)``.
      regs: the strengths ``λ`` of the static figure (positive).
      reg: the strength shown first (default: the middle one).
      num_steps: the steps ``K`` of each method.
      x_true: the coefficients that generated ``b`` (drawn as markers), or ``None``.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``reg`` (a log slider).

    Raises:
      ValueError: ``A``/``b`` mismatched, ``num_steps < 1``, a non-positive ``λ``.
    """
    A = jnp.asarray(A)
    b = jnp.asarray(b)
    if A.ndim != 2 or b.shape != (A.shape[0],):
        raise ValueError(f"A must be N × d and b of shape (N,), got {A.shape} and {b.shape}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    lam_max = float(px.lasso_reg_max(A, b))
    controls = {"reg": log_slider("λ", regs, value=reg, bounds=(lam_max * 1e-4, lam_max * 1.5))}
    n, d = A.shape
    L = float(jnp.linalg.norm(A, 2) ** 2 / n)
    k = np.arange(1, num_steps + 1)

    fig = make_subplots(rows=1, cols=2, column_widths=[0.58, 0.42], horizontal_spacing=0.1)
    for i, (name, _) in enumerate(_METHODS):
        fig.add_trace(go.Scatter(mode="lines", name=name, line=dict(color=COLORS[i], width=2)), row=1, col=1)
    for name, dash in (("ISTA bound", "dash"), ("FISTA bound", "dot")):
        fig.add_trace(
            go.Scatter(mode="lines", name=name, line=dict(color="#555555", dash=dash, width=1.5)),
            row=1,
            col=1,
        )
    fig.add_trace(go.Bar(name="x_K (restart)", marker_color=COLORS[2], opacity=0.8), row=1, col=2)
    if x_true is not None:
        xt = np.asarray(x_true, float)
        nz = np.flatnonzero(xt)
        fig.add_trace(
            go.Scatter(
                x=nz, y=xt[nz], mode="markers", name="true x", marker=dict(color="black", symbol="x", size=8)
            ),
            row=1,
            col=2,
        )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="iteration k", row=1, col=1)
    fig.update_yaxes(title_text="F(x_k) − F*", type="log", exponentformat="power", row=1, col=1)
    fig.update_xaxes(title_text="coordinate j", row=1, col=2)
    fig.update_yaxes(title_text="x_j", row=1, col=2)

    def update(reg):
        values, x_restart, f_ref, gap_ref, r2_ref = _lasso_runs(A, b, jnp.asarray(reg, A.dtype), num_steps)
        f_star, gap, r2 = float(f_ref), float(gap_ref), float(r2_ref)
        data: dict[int, dict] = {}
        for i, v in enumerate(np.asarray(values, float)):
            data[i] = {"x": np.arange(num_steps + 1), "y": mask_nonpositive(np.maximum(v - f_star, 0.0))}
        data[3] = {"x": k, "y": L * r2 / (2 * k)}
        data[4] = {"x": k, "y": 2 * L * r2 / (k + 1) ** 2}
        x_final = np.asarray(x_restart, float)
        data[5] = {"x": np.arange(d), "y": x_final}
        nnz = int(np.sum(np.abs(x_final) > 1e-8))
        return Frame(
            data,
            layout={
                "title.text": f"λ = {reg:.3g} (λ/λ_max = {reg / lam_max:.2g}): {nnz} of {d} coefficients "
                f"non-zero; duality gap of F* {gap:.1e}"
            },
        )

    return Explorer(fig, update, controls)


def lasso_path_figure(
    regs: Any,
    coefs: Any,
    *,
    support: Any = None,
    reg_max: float | None = None,
    title: str | None = "The lasso path",
    height: int = 460,
) -> go.Figure:
    """The regularisation path: every coefficient against ``λ`` (log axis, decreasing to the
    right), the true support drawn in colour and the other coordinates in grey; coordinates
    that stay at zero along the whole path are not drawn (the figure stays small).

    Args:
      regs: ``(m,)`` strengths ``λ``.
      coefs: ``(m, d)`` solutions, one row per ``λ``.
      support: indices of the true support (coloured), or ``None`` (all coloured).
      reg_max: ``λ_max`` drawn as a vertical line, or ``None``.
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure.
    """
    regs = np.asarray(regs, float)
    coefs = np.asarray(coefs, float)
    on = set(range(coefs.shape[1])) if support is None else {int(j) for j in np.asarray(support)}
    fig = go.Figure()
    first_off = True
    for j in range(coefs.shape[1]):
        if j not in on and not np.any(coefs[:, j] != 0):
            continue
        if j in on:
            c = COLORS[len([i for i in on if i < j]) % len(COLORS)]
            fig.add_trace(
                go.Scatter(x=regs, y=coefs[:, j], mode="lines", name=f"x_{j}", line=dict(color=c, width=2))
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=regs,
                    y=coefs[:, j],
                    mode="lines",
                    name="off-support",
                    legendgroup="off",
                    showlegend=first_off,
                    line=dict(color="#aaaaaa", width=1),
                )
            )
            first_off = False
    if reg_max is not None:
        fig.add_vline(x=float(reg_max), line_dash="dot", line_color="#555555", annotation_text="λ_max")
    style_figure(fig, title, "λ", "coefficient", height=height)
    fig.update_xaxes(type="log", autorange="reversed")
    return fig


_MODELS = (
    ("subgradient", "subgradient"),
    ("prox-linear", "prox_linear"),
    ("proximal point", "proximal_point"),
)


def model_based_explorer(
    A: Any,
    b: Any,
    x0: Any,
    *,
    learning_rates: Sequence[float],
    learning_rate: float | None = None,
    num_passes: int = 30,
    seed: int = 0,
    title: str | None = "Robust phase retrieval: three models, one step size",
    height: int = 440,
) -> Explorer:
    """Live figure: robust phase retrieval ``F(x) = (1/N) Σ_i |⟨a_i, x⟩² − b_i|`` minimised by
    the stochastic subgradient, prox-linear and proximal point methods
    (:func:`optlab.prox.stochastic_model_based`) at a step size ``α`` of the reader's choice,
    from the same start and the same samples: ``F`` after each pass over the ``N``
    measurements (``F* = 0``).  A run that diverges stops being drawn.  Each change runs the
    three compiled methods (``α`` is traced: no recompilation).

    Args:
      A: the measurement vectors, ``N × d``.
      b: the measurements, ``(N,)``.
      x0: the start, ``(d,)``.
      learning_rates: the steps ``α`` of the static figure (positive).
      learning_rate: the step shown first (default: the middle one).
      num_passes: passes over the data (``K = num_passes · N`` steps).
      seed: the seed of the samples.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``learning_rate`` (a log slider).

    Raises:
      ValueError: ``A``/``b``/``x0`` mismatched, ``num_passes < 1``, a non-positive ``α``.
    """
    A = jnp.asarray(A)
    b = jnp.asarray(b)
    x0 = jnp.asarray(x0)
    if A.ndim != 2 or b.shape != (A.shape[0],) or x0.shape != (A.shape[1],):
        raise ValueError(
            f"A must be N × d, b of shape (N,) and x0 of shape (d,), got {A.shape}, {b.shape}, {x0.shape}"
        )
    if isinstance(num_passes, bool) or not isinstance(num_passes, (int, np.integer)) or num_passes < 1:
        raise ValueError(f"num_passes must be a positive integer, got {num_passes!r}")
    n = A.shape[0]
    key = jax.random.key(seed)
    lo, hi = min(learning_rates), max(learning_rates)
    controls = {
        "learning_rate": log_slider("α", learning_rates, value=learning_rate, bounds=(lo / 3, hi * 3))
    }
    passes = np.arange(num_passes + 1)

    fig = go.Figure()
    for i, (name, _) in enumerate(_MODELS):
        fig.add_trace(
            go.Scatter(
                mode="lines+markers", name=name, line=dict(color=COLORS[i], width=2), marker=dict(size=4)
            )
        )
    style_figure(fig, title, "pass over the data", "F(x) (F* = 0)", height=height)
    fig.update_yaxes(type="log", exponentformat="power")

    def update(learning_rate):
        data: dict[int, dict] = {}
        finals = []
        for i, (_, model) in enumerate(_MODELS):
            out = px.stochastic_model_based(
                px.phase_retrieval_residual,
                A,
                b,
                x0,
                model=model,
                learning_rate=learning_rate,
                num_steps=num_passes * n,
                key=key,
                sample_prox=px.phase_retrieval_sample_prox,
            )
            v = np.asarray(out.values, float)[::n]
            v = np.where(np.isfinite(v) & (v < 1e6), v, np.nan)  # a diverged run stops being drawn
            data[i] = {"x": passes, "y": mask_nonpositive(v)}
            finals.append("diverged" if np.isnan(v[-1]) else f"{v[-1]:.1e}")
        text = ", ".join(f"{name} {f}" for (name, _), f in zip(_MODELS, finals, strict=True))
        return Frame(
            data, layout={"title.text": f"α = {learning_rate:.3g}: F after {num_passes} passes: {text}"}
        )

    return Explorer(fig, update, controls)
