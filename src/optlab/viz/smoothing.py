"""Live figures for randomized smoothing (``book/08_certified_robustness``).

:func:`smoothing_explorer` is a :class:`~optlab.viz.Explorer`: every change of the noise
level ``σ`` or of the number of Monte-Carlo samples ``n`` re-runs
:func:`optlab.smoothing.certify` with the three confidence bounds and redraws the
certified accuracy against the radius, next to fixed reference curves (Lipschitz
certificates, attacks) drawn once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
import plotly.graph_objects as go
from scipy import stats

from .. import smoothing as sm
from .core import COLORS, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider

__all__ = ["smoothing_explorer"]

_METHOD_LABELS = {
    "clopper_pearson": "RS, hard votes + Clopper–Pearson",
    "hoeffding": "RS, soft score + Hoeffding",
    "bernstein": "RS, soft score + empirical Bernstein",
}


def smoothing_explorer(
    logits_fn: Callable,
    X: Any,
    y: Any,
    *,
    sigmas: Sequence[float] = (0.12, 0.25, 0.5, 1.0),
    sample_sizes: Sequence[int] = (100, 300, 1000),
    sigma: float = 0.25,
    n: int = 1000,
    n0: int = 64,
    alpha: float = 0.001,
    temperature: float = 0.25,
    grid: Any = None,
    references: Mapping[str, Any] | None = None,
    key: Any = None,
    certify: Callable = sm.certify,
    title: str | None = None,
) -> Explorer:
    """Certified accuracy of the smoothed classifier against the ℓ2 radius, live in ``σ`` and ``n``.

    Every change calls ``certify(logits_fn, X, σ, key=key, n0=n0, n=n, alpha=alpha,
    method=m, temperature=temperature)`` for the three methods ``m`` of
    :data:`optlab.smoothing.METHODS` (the same ``key`` for all, so only ``σ`` and ``n``
    change between frames) and plots :func:`optlab.smoothing.certified_accuracy` of the
    radii of the correct predictions over ``grid``.  A vertical line marks the cap
    ``σΦ⁻¹(α^{1/n})`` that no certificate with ``n`` samples can pass.  The sampling is
    compiled once per ``n`` (a static shape); ``σ`` is traced.

    Args:
      logits_fn: the base classifier, one input ``(d,)`` to class logits.
      X: test inputs ``(B, d)``.
      y: their integer labels ``(B,)``.
      sigmas: the noise levels of the static figure (positive).
      sample_sizes: the sample sizes ``n`` offered (integers ≥ 2).
      sigma: the first ``σ`` shown (one of ``sigmas``).
      n: the first ``n`` shown (one of ``sample_sizes``).
      n0: samples that pick the candidate class.
      alpha: the failure probability of each certificate.
      temperature: the softmax temperature of the soft methods.
      grid: the radii of the x axis (default 81 points in ``[0, 2]``).
      references: ``label ↦ (len(grid),)`` curves drawn unchanged in every frame
        (e.g. Lipschitz certificates and attacks; a label containing "attack" is dotted).
      key: the PRNG key of the sampling (default ``jax.random.key(0)``).
      certify: the certification routine, with :func:`optlab.smoothing.certify`'s
        signature (a student's implementation in a lab).
      title: the figure title (default: ``σ``, ``n``, the cap and the clean accuracy).

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``sigma`` (σ) and ``n`` (a menu of the
      sample sizes, as strings).

    Raises:
      ValueError: ``X`` not ``(B, d)``, ``y`` of another length, a reference of another
        length than ``grid``, a non-positive ``σ`` or a sample size below 2, or a first
        value not among the values.
      TypeError: ``logits_fn`` or ``certify`` not callable.
    """
    for name, fn in (("logits_fn", logits_fn), ("certify", certify)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    X_np = np.asarray(X)
    y_np = np.asarray(y)
    if X_np.ndim != 2 or X_np.shape[0] == 0:
        raise ValueError(f"X must be a non-empty (B, d) batch, got shape {X_np.shape}")
    if y_np.shape != (X_np.shape[0],):
        raise ValueError(f"y must have shape ({X_np.shape[0]},) to match X, got {y_np.shape}")
    for size in sample_sizes:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
            raise ValueError(f"sample_sizes must be integers >= 2, got {tuple(sample_sizes)}")
    grid = np.linspace(0.0, 2.0, 81) if grid is None else np.asarray(grid, dtype=float)
    references = dict(references or {})
    for label, curve in references.items():
        if np.shape(curve) != grid.shape:
            raise ValueError(
                f"references[{label!r}] must have shape {grid.shape} (the grid), got {np.shape(curve)}"
            )
    key = jax.random.key(0) if key is None else key

    fig = go.Figure()
    for i, (label, curve) in enumerate(references.items()):
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=np.asarray(curve, dtype=float),
                mode="lines",
                name=label,
                line=dict(
                    color=COLORS[i % len(COLORS)], dash="dot" if "attack" in label else "solid", width=2
                ),
            )
        )
    off = len(references)
    for j, m in enumerate(sm.METHODS):
        fig.add_trace(
            go.Scatter(
                x=grid,
                mode="lines",
                name=_METHOD_LABELS.get(m, m),
                line=dict(color=COLORS[(off + j) % len(COLORS)], width=2.5, dash="dashdot"),
            )
        )
    fig.add_trace(
        go.Scatter(
            y=[0.0, 1.02],
            mode="lines",
            name="cap σΦ⁻¹(α^{1/n})",
            line=dict(color="#555555", dash="dash", width=1),
        )
    )
    style_figure(fig, title, "ℓ2 radius r", "certified accuracy at radius r", height=500)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(range=[float(grid[0]), float(grid[-1])])

    def update(sigma: float, n: str) -> Frame:
        traces: dict[int, dict[str, Any]] = {}
        clean = 0.0
        for j, m in enumerate(sm.METHODS):
            c = certify(
                logits_fn,
                X,
                float(sigma),
                key=key,
                n0=n0,
                n=int(n),
                alpha=alpha,
                method=m,
                temperature=temperature,
            )
            ok = np.asarray(c.prediction) == y_np
            curve = sm.certified_accuracy(np.where(ok, np.asarray(c.radius), 0.0), ok, grid)
            traces[off + j] = {"y": curve}
            if m == "clopper_pearson":
                clean = float(np.mean(ok))
        cap = float(sigma * stats.norm.ppf(alpha ** (1.0 / int(n))))
        traces[off + len(sm.METHODS)] = {"x": [cap, cap]}
        return Frame(
            traces,
            layout={
                "title.text": title
                or f"σ = {sigma:.3g}, n = {int(n)}: radius cap {cap:.3f}, "
                f"smoothed accuracy (hard votes, abstentions wrong) {clean:.2f}"
            },
        )

    controls = {
        "sigma": log_slider("σ", [float(s) for s in sigmas], value=sigma, bounds=(0.02, 2.0)),
        "n": dropdown("n", [str(int(m)) for m in sample_sizes], value=str(int(n))),  # "1000", not "1e+03"
    }
    return Explorer(fig, update, controls)
