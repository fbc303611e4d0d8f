"""Figures for the Lipschitz chapters (``book/07_lipschitz``, ``book/08_certified_robustness``).

Built on :mod:`optlab.viz.core`; most figures are client-side sliders over
precomputed sweeps. :func:`power_gram_explorer` is a :class:`~optlab.viz.Explorer`:
in a kernel every change of the spectrum re-runs power and Gram iteration.
LOWER bounds are drawn dashed, UPPER bounds solid.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go

from .. import lipschitz as lp
from .core import COLORS, convergence_slider, stepped_figure, style_figure
from .explorer import Explorer, Frame, slider

__all__ = [
    "power_gram_explorer",
    "spectral_bounds_figure",
    "bound_ladder_figure",
    "local_bounds_figure",
    "certified_accuracy_figure",
    "radius_scatter",
]


def spectral_bounds_figure(
    gaps: Sequence[float], power_iterates: Any, gram_iterates: Any, exact: Any, *, title: str | None = None
) -> go.Figure:
    """Relative error ``|σ̂_k − σ₁|/σ₁`` of power iteration (LOWER) and Gram iteration
    (UPPER) per iteration, with a slider over the spectral gap σ₂/σ₁.

    ``power_iterates``, ``gram_iterates``: (P, T) estimates; ``exact``: (P,) values σ₁.
    """
    exact = np.asarray(exact, dtype=float)[:, None]
    p = np.abs(np.asarray(power_iterates, dtype=float) / exact - 1.0)
    g = np.abs(np.asarray(gram_iterates, dtype=float) / exact - 1.0)
    floor = 1e-16
    return convergence_slider(
        {"power iteration (LOWER)": np.maximum(p, floor), "Gram iteration (UPPER)": np.maximum(g, floor)},
        list(gaps),
        "σ₂/σ₁",
        title=title,
        xaxis_title="iteration k",
        yaxis_title="relative error |σ̂ₖ − σ₁| / σ₁",
        references={"1e-6": np.full(p.shape[1], 1e-6)},
    )


def bound_ladder_figure(
    widths: Sequence[int],
    depths: Sequence[int],
    bounds: Mapping[str, Any],
    kinds: Mapping[str, str],
    *,
    title: str | None = None,
) -> go.Figure:
    """The ladder of Lipschitz bounds against width, one slider step per depth.

    ``bounds[name]``: array (len(depths), len(widths)) (NaN = not computed);
    ``kinds[name]``: "LOWER", "UPPER" or "EXACT" (LOWER dashed)."""
    groups = []
    D = len(depths)
    for j in range(D):
        group = []
        for i, (name, vals) in enumerate(bounds.items()):
            vals = np.asarray(vals, dtype=float)
            if vals.shape != (D, len(widths)):
                raise ValueError(f"bounds[{name!r}] must have shape {(D, len(widths))}, got {vals.shape}")
            dash = "dash" if kinds[name] == "LOWER" else "solid"
            group.append(
                go.Scatter(
                    x=list(widths),
                    y=vals[j],
                    mode="lines+markers",
                    name=f"{name} ({kinds[name]})",
                    legendgroup=name,
                    line=dict(color=COLORS[i % len(COLORS)], dash=dash, width=2),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(depths),
        prefix="hidden layers = ",
        title=title,
        xaxis_title="hidden width h",
        yaxis_title="bound on the ℓ2 Lipschitz constant",
    )
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def local_bounds_figure(
    eps: Sequence[float],
    curves: Mapping[str, Any],
    kinds: Mapping[str, str],
    *,
    title: str | None = None,
    xaxis_title: str = "box half-width ε",
) -> go.Figure:
    """Local ℓ∞ Lipschitz bounds on the box B_ε(x₀) against ε (log–log), LOWER dashed."""
    fig = go.Figure()
    for i, (name, y) in enumerate(curves.items()):
        dash = "dash" if kinds[name] == "LOWER" else "solid"
        fig.add_trace(
            go.Scatter(
                x=list(eps),
                y=np.asarray(y, dtype=float),
                mode="lines+markers",
                name=f"{name} ({kinds[name]})",
                line=dict(color=COLORS[i % len(COLORS)], dash=dash, width=2),
            )
        )
    style_figure(fig, title, xaxis_title, "local ℓ∞ Lipschitz bound")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def certified_accuracy_figure(
    radius_grid: Any,
    static_curves: Mapping[str, Any],
    sweep_curves: Mapping[str, Any],
    sweep_values: Sequence[Any],
    sweep_label: str,
    *,
    title: str | None = None,
) -> go.Figure:
    """Certified accuracy against ℓ2 radius. ``static_curves[name]`` (R,) are always
    shown (Lipschitz certificates, the attack); ``sweep_curves[name]`` (P, R) follow a
    slider over ``sweep_values`` (e.g. the smoothing level σ)."""
    r = np.asarray(radius_grid, dtype=float)
    static = []
    for i, (name, y) in enumerate(static_curves.items()):
        dash = "dot" if "attack" in name else "solid"
        static.append(
            go.Scatter(
                x=r,
                y=np.asarray(y, dtype=float),
                mode="lines",
                name=name,
                line=dict(color=COLORS[i % len(COLORS)], dash=dash, width=2),
            )
        )
    groups = []
    off = len(static_curves)
    for j in range(len(sweep_values)):
        group = []
        for i, (name, y) in enumerate(sweep_curves.items()):
            y = np.asarray(y, dtype=float)
            group.append(
                go.Scatter(
                    x=r,
                    y=y[j],
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    line=dict(color=COLORS[(off + i) % len(COLORS)], width=2, dash="dashdot"),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        list(sweep_values),
        prefix=f"{sweep_label} = ",
        static=static,
        title=title,
        xaxis_title="ℓ2 radius r",
        yaxis_title="certified accuracy at radius r",
    )
    fig.update_yaxes(range=[0, 1.02])
    return fig


def radius_scatter(certified: Mapping[str, Any], attack: Any, *, title: str | None = None) -> go.Figure:
    """Certified radius against the radius an attack needs, per point; a sound
    deterministic certificate lies on or below the diagonal."""
    a = np.asarray(attack, dtype=float)
    fig = go.Figure()
    top = float(np.nanmax(np.where(np.isfinite(a), a, np.nan)))
    fig.add_trace(
        go.Scatter(
            x=[0, top],
            y=[0, top],
            mode="lines",
            name="certified = attack",
            line=dict(color="#555555", dash="dash", width=1.5),
        )
    )
    for i, (name, c) in enumerate(certified.items()):
        fig.add_trace(
            go.Scatter(
                x=a,
                y=np.asarray(c, dtype=float),
                mode="markers",
                name=name,
                marker=dict(color=COLORS[i % len(COLORS)], size=6, opacity=0.7),
            )
        )
    style_figure(
        fig, title, "radius found by the attack (upper bound on the robust radius)", "certified radius"
    )
    return fig


@partial(jax.jit, static_argnames=("power", "gram", "num_power", "num_gram"))
def _power_gram_run(gap, tail, U, V, v0, *, power, gram, num_power, num_gram):
    """σ = (1, gap, tail·gap … 0.01), W = U diag(σ) Vᵀ; both iterations and σ₁ by SVD."""
    n = U.shape[0]
    s = jnp.concatenate([jnp.stack([jnp.ones_like(gap), gap]), jnp.linspace(tail * gap, 0.01, n - 2)])
    W = jnp.matmul(U * s, V.T, precision=jax.lax.Precision.HIGHEST)
    exact = lp.spectral_norm_exact(W)
    p = power(W, num_steps=num_power, v0=v0).iterates
    g = gram(W, num_steps=num_gram).iterates
    c2 = jnp.matmul(V.T, v0, precision=jax.lax.Precision.HIGHEST) ** 2
    tan2 = jnp.sum(c2[1:]) / c2[0]
    bound = tan2 * gap ** (4.0 * jnp.arange(num_power + 1))
    return 1.0 - p / exact, g / exact - 1.0, bound


def power_gram_explorer(
    *,
    n: int = 128,
    gaps: Sequence[float] = (0.5, 0.9, 0.99, 0.999),
    tails: Sequence[float] = (0.2, 0.6, 0.95),
    gap: float = 0.99,
    tail: float = 0.95,
    num_power: int = 40,
    num_gram: int = 12,
    power: Callable = lp.power_iteration,
    gram: Callable = lp.gram_iteration,
    dtype: Any = jnp.float32,
    seed: int = 0,
    title: str | None = "Power (LOWER) and Gram (UPPER) iteration on a layer with a chosen spectrum",
) -> Explorer:
    """Power iteration against Gram iteration on an ``n × n`` layer whose spectrum the reader sets.

    The layer is ``W = U diag(σ) Vᵀ`` with ``U``, ``V`` the Q factors of two Gaussian
    matrices drawn from ``numpy.random.default_rng(seed)`` (``U`` first) and
    ``σ = (1, gap, linspace(tail·gap, 0.01, n − 2))``: ``gap`` is the spectral gap
    ``σ₂/σ₁`` that sets power iteration's rate ``(σ₂/σ₁)⁴``, ``tail`` how close the rest
    of the spectrum comes to ``σ₂`` (which Gram iteration's ``Σᵢ (σᵢ/σ₁)^{2^{t+1}}`` feels).
    Every change re-runs ``power(W, num_steps=num_power, v0=v0)`` and
    ``gram(W, num_steps=num_gram)`` under one compiled function (``v0`` is the next
    Gaussian draw of the same generator) and plots their relative errors
    ``1 − σ̂ₖ/σ₁`` and ``βₜ/σ₁ − 1`` against ``σ₁`` from an SVD, with the bound
    ``tan²θ₀ (σ₂/σ₁)^{4k}`` of power iteration dashed.

    Args:
      n: the size of the layer (≥ 3).
      gaps: the values of ``σ₂/σ₁`` in the static figure, in ``(0, 1)``.
      tails: the values of ``σ₃/σ₂`` in the static figure, in ``(0, 1)``.
      gap: the gap shown first (one of ``gaps``).
      tail: the tail shown first (one of ``tails``).
      num_power: power iteration steps (≥ 1).
      num_gram: Gram iteration steps (≥ 1).
      power: the power iteration, with :func:`optlab.lipschitz.power_iteration`'s
        signature and ``.iterates`` (a student's implementation in a lab).
      gram: the Gram iteration, with :func:`optlab.lipschitz.gram_iteration`'s
        signature and ``.iterates``.
      dtype: the floating dtype of the layer (float32: errors floor near 1e-7).
      seed: the seed of ``U``, ``V`` and the start vector.
      title: the figure title.

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``gap`` (σ₂/σ₁) and ``tail`` (σ₃/σ₂).

    Raises:
      ValueError: ``n < 3``, ``num_power`` or ``num_gram`` < 1, a gap or tail outside
        ``(0, 1)``, or ``gap``/``tail`` not among ``gaps``/``tails``.
      TypeError: ``power`` or ``gram`` not callable, a non-integer size or step count.
    """
    for name, v, low in (("n", n, 3), ("num_power", num_power, 1), ("num_gram", num_gram, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
        if v < low:
            raise ValueError(f"{name} must be >= {low}, got {v}")
    for name, fn in (("power", power), ("gram", gram)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    for name, vals in (("gaps", gaps), ("tails", tails)):
        if not vals or not all(0 < float(v) < 1 for v in vals):
            raise ValueError(f"{name} must be non-empty values in (0, 1), got {tuple(vals)}")
    rng = np.random.default_rng(seed)
    U_np, _ = np.linalg.qr(rng.normal(size=(n, n)))
    V_np, _ = np.linalg.qr(rng.normal(size=(n, n)))
    U, V, v0 = (jnp.asarray(a, dtype=dtype) for a in (U_np, V_np, rng.normal(size=n)))
    floor = float(jnp.finfo(dtype).eps) / 2
    statics = dict(power=power, gram=gram, num_power=num_power, num_gram=num_gram)

    fig = go.Figure(
        [
            go.Scatter(
                name="power iteration (LOWER)", mode="lines+markers", line=dict(color=COLORS[0], dash="dash")
            ),
            go.Scatter(name="Gram iteration (UPPER)", mode="lines+markers", line=dict(color=COLORS[1])),
            go.Scatter(
                name="bound tan²θ₀ (σ₂/σ₁)^{4k}", mode="lines", line=dict(color="#7f7f7f", dash="dot")
            ),
        ]
    )
    style_figure(fig, title, "iteration k", "relative error |σ̂ₖ − σ₁| / σ₁")
    fig.update_yaxes(type="log", exponentformat="power", range=[math.log10(floor) - 0.5, 0.5])

    def update(gap: float, tail: float) -> Frame:
        p, g, b = _power_gram_run(jnp.asarray(gap, dtype), jnp.asarray(tail, dtype), U, V, v0, **statics)
        p, g, b = (np.maximum(np.abs(np.asarray(a, dtype=float)), floor) for a in (p, g, b))
        return Frame(
            {
                0: {"x": np.arange(num_power + 1), "y": p},
                1: {"x": np.arange(num_gram + 1), "y": g},
                2: {"x": np.arange(num_power + 1), "y": np.minimum(b, 10.0)},
            },
            layout={
                "title.text": f"σ₂/σ₁ = {gap:.4g}: power error {p[-1]:.1e} after {num_power} steps, "
                f"Gram error {g[-1]:.1e} after {num_gram}"
            },
        )

    controls = {
        "gap": slider("σ₂/σ₁", [float(v) for v in gaps], value=gap, bounds=(0.3, 0.999), step=0.001),
        "tail": slider("σ₃/σ₂", [float(v) for v in tails], value=tail, bounds=(0.05, 0.99), step=0.01),
    }
    return Explorer(fig, update, controls)
