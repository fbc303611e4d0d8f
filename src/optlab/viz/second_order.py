"""Figures for the second-order chapter (``book/05_second_order``).

Built on the generic primitives of :mod:`optlab.viz.core`.  The static figures are
interactive through client-side sliders over precomputed data; :func:`newton_explorer`
re-runs damped or regularised Newton (:mod:`optlab.second_order`, whose compiled loops
take the constants as traced arguments) whenever the reader moves a control.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import second_order
from .core import COLORS, convergence_figure, format_number, mask_nonpositive, stepped_figure, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider, slider

__all__ = [
    "basins_figure",
    "singular_values_figure",
    "timing_figure",
    "damped_newton_figure",
    "newton_explorer",
    "NEWTON_METHODS",
]


def _aicn(fun: Callable, x0: Any, constant: float, num_steps: int) -> Any:
    return second_order.newton(fun, x0, num_steps=num_steps, learning_rate="aicn", smoothness=constant)


def _regularized(fun: Callable, x0: Any, constant: float, num_steps: int) -> Any:
    return second_order.gradient_regularized_newton(fun, x0, num_steps=num_steps, hess_lipschitz=constant)


NEWTON_METHODS: dict[str, tuple[Callable[..., Any], str]] = {
    "AICN damped Newton (constant L)": (_aicn, "step α_k"),
    "gradient-regularised Newton (constant H)": (_regularized, "regulariser λ_k"),
}
"""The methods of :func:`newton_explorer`: ``name ↦ (run(fun, x0, constant, num_steps), what it records)``."""


def basins_figure(
    xs: Any,
    ys: Any,
    outcomes: Mapping[str, Any],
    categories: Sequence[str],
    *,
    colors: Sequence[str] | None = None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """Basins of attraction, one method per slider step.

    Args:
      xs, ys: grid coordinates (lengths ``nx``, ``ny``).
      outcomes: ``method ↦`` integer array ``(ny, nx)``; entry ``c`` means the
        run started at that grid point ended in ``categories[c]``.
      categories: names of the outcomes (e.g. "minimum", "saddle", "diverged").
    """
    K = len(categories)
    colors = list(colors or COLORS[:K])
    if len(colors) < K:
        raise ValueError(f"need {K} colors, got {len(colors)}")
    # discrete colorscale: integer category c occupies [c − ½, c + ½] of [−½, K − ½]
    scale = []
    for c, col in enumerate(colors[:K]):
        scale += [[c / K, col], [(c + 1) / K, col]]
    groups = []
    for method, Z in outcomes.items():
        Z = np.asarray(Z)
        if Z.shape != (len(ys), len(xs)):
            raise ValueError(f"outcomes[{method!r}] must have shape ({len(ys)}, {len(xs)}), got {Z.shape}")
        groups.append(
            [
                go.Heatmap(
                    x=np.round(np.asarray(xs, float), 4),
                    y=np.round(np.asarray(ys, float), 4),
                    z=Z.astype(np.int8),
                    zmin=-0.5,
                    zmax=K - 0.5,
                    colorscale=scale,
                    colorbar=dict(tickvals=np.arange(K), ticktext=list(categories)),
                    hovertemplate="x₀=(%{x:.2f}, %{y:.2f})<extra></extra>",
                    name=method,
                )
            ]
        )
    fig = stepped_figure(
        groups,
        list(outcomes),
        prefix="method: ",
        title=title,
        xaxis_title="x₁ (start)",
        yaxis_title="x₂ (start)",
        height=height,
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def singular_values_figure(
    spectra: Mapping[str, Any],
    step_counts: Sequence[int],
    *,
    static: Mapping[str, Any] | None = None,
    band: tuple[float, float] | None = None,
    title: str | None = None,
    height: int = 480,
) -> go.Figure:
    """Singular values (sorted, by index) of several orthogonalised updates, with a
    slider over the number of iterations.

    Args:
      spectra: ``label ↦`` array ``(len(step_counts), k)``: the spectrum after each number of steps.
      static: ``label ↦`` array ``(k,)`` shown at every slider position (input, SVD, AuON).
      band: draw a shaded horizontal band ``[low, high]`` (e.g. the quintic's band).
    """
    static = dict(static or {})
    static_traces = []
    for i, (label, s) in enumerate(static.items()):
        s = np.asarray(s, float)
        static_traces.append(
            go.Scatter(
                x=np.arange(1, len(s) + 1),
                y=s,
                mode="lines",
                name=label,
                line=dict(color=COLORS[(i + 5) % len(COLORS)], dash="dot", width=2),
            )
        )
    groups = []
    for j in range(len(step_counts)):
        group = []
        for i, (label, S) in enumerate(spectra.items()):
            S = np.asarray(S, float)
            if S.ndim != 2 or S.shape[0] != len(step_counts):
                raise ValueError(f"spectra[{label!r}] must have shape ({len(step_counts)}, k), got {S.shape}")
            group.append(
                go.Scatter(
                    x=np.arange(1, S.shape[1] + 1),
                    y=S[j],
                    mode="lines+markers",
                    name=label,
                    marker=dict(size=4),
                    line=dict(color=COLORS[i % len(COLORS)], width=2),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        [str(s) for s in step_counts],
        prefix="iterations: ",
        static=static_traces,
        title=title,
        xaxis_title="index i (largest first)",
        yaxis_title="σᵢ",
        height=height,
    )
    if band is not None:
        fig.add_hrect(y0=band[0], y1=band[1], fillcolor="#2ca02c", opacity=0.12, line_width=0)
    return fig


def timing_figure(
    dims: Any,
    times: Mapping[str, Any],
    *,
    slopes: Sequence[float] = (1.0, 3.0),
    title: str | None = None,
    yaxis_title: str = "seconds per call",
) -> go.Figure:
    """Log–log time against dimension with dashed reference slopes anchored at the
    first point of the first curve."""
    dims = np.asarray(dims, float)
    first = np.asarray(next(iter(times.values())), float)
    refs = {f"∝ d^{s:g}": first[0] * (dims / dims[0]) ** s for s in slopes}
    fig = convergence_figure(
        dict(times),
        x=dims,
        log_x=True,
        log_y=True,
        title=title,
        xaxis_title="dimension d",
        yaxis_title=yaxis_title,
        references=refs,
    )
    fig.update_traces(mode="lines+markers", selector=dict(type="scatter"))
    return fig


def damped_newton_figure(
    gaps: Mapping[str, Any],
    learning_rates: Mapping[str, Any],
    *,
    powers: Sequence[float] = (2.0, 3.0),
    title: str | None = None,
    height: int = 440,
) -> go.Figure:
    """Damped Newton's global and local phases, side by side.

    Left, ``f(x_k) − f*`` against ``k ≥ 1`` on log–log axes with dashed guides
    ``C k^{−p}`` (one per ``p`` in ``powers``, each through the largest ``k^p (f(x_k) − f*)``
    of the first run, so the first run lies under it); right, the step ``α_k`` of each run
    (``α_k → 1`` marks the local, quadratic phase).

    Args:
      gaps: ``label ↦ f(x_k) − f*`` for ``k = 0..N`` (non-positive entries are not drawn).
      learning_rates: ``label ↦ α_k`` for ``k = 0..N−1`` (the same labels as ``gaps``).
      powers: the exponents ``p`` of the guides.
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure with two panels.

    Raises:
      ValueError: no runs, or ``learning_rates`` not labelled like ``gaps``.
    """
    if not gaps:
        raise ValueError("gaps must hold at least one run")
    if set(gaps) != set(learning_rates):
        raise ValueError(
            f"learning_rates must have the labels of gaps {sorted(gaps)}, got {sorted(learning_rates)}"
        )
    fig = make_subplots(rows=1, cols=2, subplot_titles=("f(x_k) − f*", "step α_k"), horizontal_spacing=0.12)
    for i, label in enumerate(gaps):
        y = np.asarray(gaps[label], float)
        k = np.arange(len(y), dtype=float)
        keep = (k >= 1) & (y > 0)
        color = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=k[keep],
                y=y[keep],
                mode="lines+markers",
                name=label,
                line=dict(color=color, width=2),
                legendgroup=label,
            ),
            row=1,
            col=1,
        )
        a = np.asarray(learning_rates[label], float)
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(a)),
                y=a,
                mode="lines",
                name=label,
                showlegend=False,
                line=dict(color=color, width=2),
                legendgroup=label,
            ),
            row=1,
            col=2,
        )
    first = np.asarray(next(iter(gaps.values())), float)
    k = np.arange(len(first), dtype=float)
    keep = (k >= 1) & (first > 0)
    for p in powers:
        c = np.max(k[keep] ** p * first[keep])
        kk = k[k >= 1]
        fig.add_trace(
            go.Scatter(
                x=kk,
                y=c * kk ** (-p),
                mode="lines",
                name=f"C·k^−{p:g}",
                line=dict(color="#555555", dash="dash" if p == powers[-1] else "dot", width=1.5),
            ),
            row=1,
            col=1,
        )
    style_figure(fig, title, "iteration k", "f(x_k) − f*", height=height)
    fig.update_xaxes(type="log", title_text="iteration k", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1)
    fig.update_xaxes(title_text="iteration k", row=1, col=2)
    fig.update_yaxes(title_text="α_k", row=1, col=2)
    return fig


def newton_explorer(
    fun: Callable[[Any], Any],
    *,
    minimizer: float = 0.0,
    starts: Sequence[float] = (2.0, 10.0),
    start: float = 2.0,
    constants: Sequence[float] = (0.25, 1.0, 4.0, 16.0, 64.0),
    constant: float = 4.0,
    methods: Mapping[str, tuple[Callable[..., Any], str]] | None = None,
    num_steps: int = 40,
    title: str = "Newton with damping",
    height: int = 440,
) -> Explorer:
    """Damped or regularised Newton on a 1-D function: the method, its constant and the start.

    Left, ``|x_k − x*|`` on a log scale (a run that blows up is drawn at ``10³⁰``);
    right, what the method records per step (AICN's step ``α_k``, the regulariser
    ``λ_k``).  The constant is a traced argument of the library's compiled Newton loop,
    so a change re-runs it without compiling.

    Args:
      fun: a scalar function of a 1-vector, JAX-traceable.
      minimizer: ``x*``, for the error ``|x_k − x*|``.
      starts: the starts ``x₀`` of the static figure (a linear slider over their range).
      start: the first start shown (one of ``starts``).
      constants: the constants (``L`` or ``H``) of the static figure (log slider).
      constant: the first constant shown (one of ``constants``).
      methods: ``name ↦ (run(fun, x0, constant, num_steps) ↦ NewtonTrace, label of its
        learning_rates)`` (default :data:`NEWTON_METHODS`).
      num_steps: the number of Newton steps ``N ≥ 1``.
      title: the title; the method, the constant, the start and the outcome are appended.
      height: the figure height in pixels.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``method``, ``constant`` and ``start``.

    Raises:
      ValueError: no method, a non-positive constant, a non-finite start, or the
        library's errors for ``fun`` and ``num_steps`` (named in the message).
      TypeError: ``fun`` or a method's run is not callable.
    """
    methods = dict(NEWTON_METHODS if methods is None else methods)
    if not methods:
        raise ValueError("methods must name at least one method")
    for name, entry in methods.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0])):
            raise TypeError(
                f"methods[{name!r}] must be a pair (run, label) with a callable run, got {entry!r}"
            )
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {fun!r}")
    bad = [c for c in constants if not (isinstance(c, (int, float)) and np.isfinite(c) and c > 0)]
    if bad:
        raise ValueError(f"constants must be positive finite numbers, got {bad}")
    bad = [x for x in starts if not (isinstance(x, (int, float)) and np.isfinite(x))]
    if bad:
        raise ValueError(f"starts must be finite numbers, got {bad}")
    low, high = min(starts), max(starts)
    controls = {
        "method": dropdown("method", list(methods)),
        "constant": log_slider("L or H", constants, value=constant),
        "start": slider(
            "x₀", starts, value=start, bounds=(low, high) if low < high else (low - 1.0, high + 1.0)
        ),
    }
    k = np.arange(num_steps + 1)

    def run(method: str, constant: float, start: float) -> Any:
        fn = methods[method][0]
        return fn(fun, jnp.asarray([start], dtype=jnp.result_type(float)), float(constant), num_steps)

    # checks fun and num_steps now, and compiles what the widget shows first (the other
    # methods compile when picked)
    run(next(iter(methods)), float(constant), float(start))

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=("|x_k − x*|", "per step"))
    fig.add_trace(
        go.Scatter(
            x=k,
            mode="lines+markers",
            name="|x_k − x*|",
            marker=dict(size=4),
            line=dict(color=COLORS[0], width=2),
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=k[1:] - 1,
            mode="lines+markers",
            name="per step",
            marker=dict(size=4),
            line=dict(color=COLORS[1], width=2),
        ),
        row=1,
        col=2,
    )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="iteration k", row=1, col=1)
    fig.update_xaxes(title_text="iteration k", row=1, col=2)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=1)
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)

    def update(method: str, constant: float, start: float) -> Frame:
        tr = run(method, constant, start)
        err = np.abs(np.asarray(tr.iterates, dtype=float)[:, 0] - minimizer)
        err = np.where(np.isfinite(err), np.minimum(err, 1e30), 1e30)
        per_step = np.asarray(tr.learning_rates, dtype=float)
        per_step = np.where(np.isfinite(per_step), per_step, np.nan)
        outcome = (
            f"converged in {int(tr.n_iters)} steps"
            if bool(tr.converged)
            else f"not converged in {num_steps} steps"
        )
        return Frame(
            {
                0: {"y": mask_nonpositive(err)},
                1: {"y": mask_nonpositive(per_step), "name": methods[method][1]},
            },
            layout={
                "title.text": f"{title}: {method}, constant = {format_number(constant)}, "
                f"x₀ = {format_number(start)}: {outcome}",
                "annotations[1].text": methods[method][1],
            },
        )

    return Explorer(fig, update, controls)
