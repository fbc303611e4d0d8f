"""Figures for the differential-privacy chapter (``book/17_privacy``).

Built on :mod:`optlab.viz.core`; interactivity is client-side sliders over sweeps
precomputed with ``vmap``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import privacy as pv
from .core import COLORS, convergence_slider, stepped_figure, style_figure
from .explorer import Explorer, Frame, log_slider

__all__ = [
    "epsilon_figure",
    "clip_sweep_figure",
    "privacy_utility_figure",
    "norm_bound_figure",
    "diff2_figure",
    "ghost_memory_figure",
    "dp_sgd_explorer",
]


def epsilon_figure(
    steps: Sequence[int],
    curves: Mapping[str, Any],
    reference: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
) -> go.Figure:
    """ε against the number of steps (log–log): optlab's accountant as lines, the
    reference accountant (``dp_accounting``) as markers on top."""
    fig = go.Figure()
    x = np.asarray(steps, dtype=float)
    for i, (name, y) in enumerate(curves.items()):
        c = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=np.asarray(y, dtype=float),
                mode="lines",
                name=f"{name} (optlab)",
                legendgroup=name,
                line=dict(color=c, width=2),
            )
        )
        if reference is not None and name in reference:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=np.asarray(reference[name], dtype=float),
                    mode="markers",
                    name=f"{name} (dp_accounting)",
                    legendgroup=name,
                    marker=dict(color=c, symbol="circle-open", size=9),
                )
            )
    style_figure(fig, title, "steps T", "ε at the target δ")
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def clip_sweep_figure(
    clip_norms: Sequence[float],
    epsilons: Sequence[float],
    accuracy: Any,
    *,
    min_lipschitz: float,
    max_lipschitz: float,
    norms: Any = None,
    title: str | None = None,
    yaxis_title: str = "test accuracy",
) -> go.Figure:
    """Utility against the clip norm C (log x), one slider step per privacy level ε, with
    vertical lines at min_i L_i and max_i L_i; ``norms`` (optional) adds a histogram of the
    per-sample Lipschitz constants L_i on a secondary axis."""
    C = np.asarray(clip_norms, dtype=float)
    acc = np.asarray(accuracy, dtype=float)
    if acc.shape != (len(epsilons), len(C)):
        raise ValueError(f"accuracy must have shape {(len(epsilons), len(C))}, got {acc.shape}")
    lo, hi = float(np.nanmin(acc)), float(np.nanmax(acc))
    pad = 0.05 * (hi - lo + 1e-12)
    static = [
        go.Scatter(
            x=[v, v],
            y=[lo - pad, hi + pad],
            mode="lines",
            name=name,
            line=dict(color="#555555", dash=dash, width=1.5),
        )
        for v, name, dash in ((min_lipschitz, "min_i L_i", "dash"), (max_lipschitz, "max_i L_i", "dot"))
    ]
    if norms is not None:
        logn = np.log10(np.asarray(norms, dtype=float))
        counts, edges = np.histogram(logn, bins=30)
        static.append(
            go.Bar(
                x=10 ** (0.5 * (edges[1:] + edges[:-1])),
                y=counts,
                width=np.diff(10**edges),
                name="histogram of L_i",
                yaxis="y2",
                marker=dict(color="rgba(127,127,127,0.25)"),
            )
        )
    groups = []
    for j in range(len(epsilons)):
        best = int(np.nanargmax(acc[j]))
        groups.append(
            [
                go.Scatter(
                    x=C, y=acc[j], mode="lines+markers", name="DP-GD", line=dict(color=COLORS[0], width=2)
                ),
                go.Scatter(
                    x=[C[best]],
                    y=[acc[j, best]],
                    mode="markers",
                    name="best C",
                    marker=dict(color=COLORS[1], size=12, symbol="star"),
                ),
            ]
        )
    fig = stepped_figure(
        groups,
        list(epsilons),
        prefix="ε = ",
        static=static,
        title=title,
        xaxis_title="clip norm C",
        yaxis_title=yaxis_title,
    )
    fig.update_xaxes(type="log")
    if norms is not None:
        fig.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False, title="count"))
    return fig


def privacy_utility_figure(
    epsilons: Sequence[float],
    curves: Mapping[str, Any],
    *,
    title: str | None = None,
    yaxis_title: str = "test accuracy",
) -> go.Figure:
    """Utility against ε (log x), one line per method."""
    fig = go.Figure()
    for i, (name, y) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=np.asarray(epsilons, dtype=float),
                y=np.asarray(y, dtype=float),
                mode="lines+markers",
                name=name,
                line=dict(color=COLORS[i % len(COLORS)], width=2),
            )
        )
    style_figure(fig, title, "ε (δ fixed)", yaxis_title)
    fig.update_xaxes(type="log")
    return fig


def norm_bound_figure(steps: Sequence[int], norms: Any, bound: Any, *, title: str | None = None) -> go.Figure:
    """Observed per-sample gradient norm against the analytic bound, one point per example,
    with a slider over training steps; points must stay below the diagonal."""
    norms = np.asarray(norms, dtype=float)
    bound = np.asarray(bound, dtype=float)
    if norms.ndim != 2 or norms.shape[0] != len(steps) or norms.shape[1] != bound.shape[-1]:
        raise ValueError(f"norms must have shape {(len(steps), bound.shape[-1])}, got {norms.shape}")
    b2 = np.broadcast_to(bound, norms.shape)
    top = float(b2.max()) * 1.05
    diag = go.Scatter(
        x=[0, top],
        y=[0, top],
        mode="lines",
        name="observed = bound",
        line=dict(color="#555555", dash="dash", width=1.5),
    )
    groups = [
        [
            go.Scatter(
                x=b2[j],
                y=norms[j],
                mode="markers",
                name="examples",
                marker=dict(color=COLORS[0], size=5, opacity=0.6),
            )
        ]
        for j in range(len(steps))
    ]
    fig = stepped_figure(
        groups,
        list(steps),
        prefix="training step ",
        static=[diag],
        title=title,
        xaxis_title="analytic bound on ‖∇θ ℓ(θ; zᵢ)‖",
        yaxis_title="observed ‖∇θ ℓ(θ; zᵢ)‖",
    )
    fig.update_xaxes(range=[0, top])
    fig.update_yaxes(range=[0, top])
    return fig


def diff2_figure(ns: Sequence[int], curves: Mapping[str, Any], *, title: str | None = None) -> go.Figure:
    """‖∇F(θ_t)‖² along the rounds for DP-GD and DIFF2, one slider step per dataset size n."""
    return convergence_slider(
        curves, list(ns), "n", title=title, xaxis_title="round t", yaxis_title="‖∇F(θₜ)‖² (mean over seeds)"
    )


def ghost_memory_figure(
    widths: Sequence[int],
    width_bytes: Mapping[str, Any],
    batch_sizes: Sequence[int],
    batch_bytes: Mapping[str, Any],
    *,
    title: str | None = None,
) -> go.Figure:
    """Memory of the clipped gradient sum, per method (log–log): against the hidden width at
    a fixed batch size (left) and against the batch size at a fixed width (right).  Each
    curve is a sequence of byte counts (e.g. XLA's temporary buffers, or the analytic count
    of the arrays a method materialises); a name ending in ``"(count)"`` is drawn dashed.

    Args:
      widths: the hidden widths of the left panel.
      width_bytes: curve name -> bytes at each width.
      batch_sizes: the batch sizes of the right panel.
      batch_bytes: curve name -> bytes at each batch size.
      title: the figure title.

    Returns:
      A plotly figure (MiB on a log axis).

    Raises:
      ValueError: a curve whose length differs from its x values.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("against the width", "against the batch size"))
    for col, (xs, curves) in enumerate(((widths, width_bytes), (batch_sizes, batch_bytes)), start=1):
        for i, (name, y) in enumerate(curves.items()):
            y = np.asarray(y, dtype=float)
            if y.shape != (len(xs),):
                raise ValueError(f"curve {name!r} must have {len(xs)} values, got shape {y.shape}")
            fig.add_trace(
                go.Scatter(
                    x=np.asarray(xs, dtype=float),
                    y=y / 2**20,
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    line=dict(
                        color=COLORS[i % len(COLORS)],
                        width=2,
                        dash="dash" if name.endswith("(count)") else None,
                    ),
                ),
                row=1,
                col=col,
            )
    style_figure(fig, title, None, None)
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text="hidden width H", row=1, col=1)
    fig.update_xaxes(title_text="batch size B", row=1, col=2)
    fig.update_yaxes(title_text="MiB", row=1, col=1)
    return fig


def dp_sgd_explorer(
    loss: Callable,
    params: Any,
    data: Any,
    *,
    key: Any,
    sampling_rate: float,
    num_steps: int,
    learning_rate: float,
    delta: float,
    clip_norms: Sequence[float],
    noise_multipliers: Sequence[float],
    clip_norm: float | None = None,
    noise_multiplier: float | None = None,
    reference: float | None = None,
    title: str | None = "DP-SGD: training loss",
    height: int = 460,
) -> Explorer:
    """Live figure: DP-SGD (:func:`optlab.privacy.dp_sgd`) with Poisson sampling, the mean
    training loss after every step, for a clip norm ``C`` and a noise multiplier ``σ``;
    the title reports the privacy spent, ``ε`` at ``δ`` (:func:`optlab.privacy.dp_sgd_privacy`).

    Every change re-runs one jitted function of ``(C, σ)`` (the optax transformation is
    built inside it from the traced values: compiled once). The batches and the noise come
    from ``key`` and are the same for every ``(C, σ)``. As in the book, the sum of the
    clipped gradients of a batch is divided by the expected batch size ``q n``: the step
    passed to ``dp_sgd`` is ``learning_rate / q``.

    Args:
      loss: ``loss(params, example) -> scalar`` on one example.
      params: the initial parameters (a pytree).
      data: the training set, a pytree of arrays with the examples on axis 0.
      key: a JAX PRNG key (batches and noise).
      sampling_rate: Poisson sampling rate ``q ∈ (0, 1]``.
      num_steps: DP-SGD steps ``T``.
      learning_rate: ``η > 0`` (per expected example, see above).
      delta: the ``δ`` at which ``ε`` is reported.
      clip_norms: the clip norms of the static figure (positive).
      noise_multipliers: the noise multipliers of the static figure (positive).
      clip_norm, noise_multiplier: the values shown first (default: the middle ones).
      reference: an optional loss level drawn dashed (e.g. the non-private optimum).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with controls ``clip_norm`` and
      ``noise_multiplier`` (log sliders).

    Raises:
      TypeError: ``loss`` not callable.
      ValueError: ``sampling_rate`` outside ``(0, 1]``, ``delta`` outside ``(0, 1)``, a
        non-positive ``num_steps`` or ``learning_rate``, or a default not among the values.
    """
    if not callable(loss):
        raise TypeError(f"loss must be callable, got {type(loss).__name__}")
    if not 0.0 < float(sampling_rate) <= 1.0:
        raise ValueError(f"sampling_rate must lie in (0, 1], got {sampling_rate!r}")
    if not 0.0 < float(delta) < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    if not float(learning_rate) > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
    controls = {
        "clip_norm": log_slider("clip norm C", clip_norms, value=clip_norm, bounds=(1e-3, 1e3)),
        "noise_multiplier": log_slider(
            "noise σ", noise_multipliers, value=noise_multiplier, bounds=(0.3, 30.0)
        ),
    }
    q = float(sampling_rate)
    n = jax.tree_util.tree_leaves(data)[0].shape[0]
    k_batches, k_noise = jax.random.split(key)

    def mean_loss(p):
        return jnp.mean(jax.vmap(loss, in_axes=(None, 0))(p, data))

    @jax.jit
    def run(clip_norm, noise_multiplier):
        opt = pv.dp_sgd(learning_rate / q, clip_norm, noise_multiplier, key=k_noise)

        def step(carry, k):
            p, s = carry
            mask = jax.random.bernoulli(k, q, (n,))
            g = pv.per_example_grads(loss, p, data)
            g = jax.tree_util.tree_map(
                lambda a: a * mask.reshape((n,) + (1,) * (a.ndim - 1)).astype(a.dtype), g
            )
            u, s = opt.update(g, s, p)
            p = jax.tree_util.tree_map(jnp.add, p, u)
            return (p, s), mean_loss(p)

        _, losses = jax.lax.scan(step, (params, opt.init(params)), jax.random.split(k_batches, num_steps))
        return jnp.concatenate([mean_loss(params)[None], losses])

    fig = go.Figure([go.Scatter(mode="lines", name="DP-SGD", line=dict(color=COLORS[0], width=2))])
    if reference is not None:
        fig.add_trace(
            go.Scatter(
                x=[0, num_steps],
                y=[float(reference)] * 2,
                mode="lines",
                name="reference",
                line=dict(color="#555555", dash="dot", width=1.5),
            )
        )
    style_figure(fig, title, "step t", "training loss", height=height)

    def update(clip_norm, noise_multiplier):
        losses = np.asarray(run(clip_norm, noise_multiplier), float)
        eps = pv.dp_sgd_privacy(noise_multiplier, q, num_steps=num_steps, delta=delta).epsilon
        return Frame(
            {0: {"x": np.arange(num_steps + 1), "y": losses}},
            layout={
                "title.text": f"C = {clip_norm:.3g}, σ = {noise_multiplier:.3g}: ε = {eps:.3g} "
                f"(δ = {delta:.0e}, q = {q:.3g}, T = {num_steps}); final loss {losses[-1]:.4f}"
            },
        )

    return Explorer(fig, update, controls)
