"""Figures for the chapter on training dynamics (``book/20_dynamics``): the SAM explorer
(gradient descent and sharpness-aware minimisation from a fan of starts on a two-dimensional
landscape with a sharp and a flat valley, for a radius ``ρ`` of the reader's choice), Adam's
batch-size scaling rules (a figure and an explorer), and the gradient's share of the top Hessian
eigenspace along training.
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
from .explorer import Explorer, Frame, dropdown, slider

__all__ = [
    "sam_explorer",
    "scaling_rule_figure",
    "scaling_rule_explorer",
    "gradient_subspace_figure",
    "heavy_tail_stability_figure",
    "heavy_tail_explorer",
]


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


def _band(x, mean, se, color, name):
    """A shaded ``mean ± 2 se`` band (one closed trace)."""
    xx = np.concatenate([x, x[::-1]])
    yy = np.concatenate([mean + 2 * se, (mean - 2 * se)[::-1]])
    return go.Scatter(
        x=xx,
        y=yy,
        fill="toself",
        mode="lines",
        line=dict(width=0),
        fillcolor=color,
        opacity=0.25,
        name=name,
        showlegend=False,
        hoverinfo="skip",
    )


def scaling_rule_figure(
    examples: Any,
    curves: dict[str, tuple[Any, Any]],
    *,
    title: str | None = "Adam at three batch sizes: the square-root and the linear rule",
    height: int = 440,
) -> go.Figure:
    """Mean loss curves against the number of examples seen, each with a band of two standard
    errors over seeds.  Labels that contain ``"linear"`` are dashed.

    Args:
      examples: the common horizontal grid (examples seen ``kB``), shape ``(T,)``.
      curves: ``label ↦ (mean, standard_error)``, each of shape ``(T,)``.
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure (log vertical axis).

    Raises:
      ValueError: an empty ``curves`` or a curve whose length is not that of ``examples``.
    """
    x = np.asarray(examples, float)
    if not curves:
        raise ValueError("curves must hold at least one curve")
    fig = go.Figure()
    for i, (label, (mean, se)) in enumerate(curves.items()):
        m, e = np.asarray(mean, float), np.asarray(se, float)
        if m.shape != x.shape or e.shape != x.shape:
            raise ValueError(
                f"curve {label!r} must have the shape {x.shape} of examples, got {m.shape}, {e.shape}"
            )
        color = COLORS[i % len(COLORS)]
        fig.add_trace(_band(x, m, e, color, label))
        dash = "dash" if "linear" in label else "solid"
        fig.add_trace(go.Scatter(x=x, y=m, mode="lines", name=label, line=dict(color=color, dash=dash)))
    style_figure(fig, title, "examples seen", "E f(x) − f*", height=height)
    fig.update_yaxes(type="log")
    return fig


def _mean_se(values):
    v = np.asarray(values, float)
    return v.mean(axis=0), v.std(axis=0) / np.sqrt(v.shape[0])


def scaling_rule_explorer(
    problem: Any,
    x0: Any,
    *,
    learning_rate: float,
    b1: float,
    b2: float,
    eps: float,
    batch_size: int,
    num_steps: int,
    keys: Any,
    kappas: Sequence[float],
    kappa: float | None = None,
    rule: str = "square_root",
    scaling_rule: Callable[..., Any] = dy.adam_scaling_rule,
    points: int = 16,
    title: str | None = "Adam with a κ times larger batch",
    height: int = 440,
) -> Explorer:
    """Live figure: Adam on ``problem`` at batch ``batch_size`` for ``num_steps`` steps (the
    reference, black, with a band of two standard errors over the seeds ``keys``) against Adam at
    batch ``κ·batch_size`` for ``num_steps/κ`` steps with the hyper-parameters that
    ``scaling_rule(κ, …, rule=rule)`` (by default :func:`optlab.dynamics.adam_scaling_rule`)
    gives, both against the number of examples seen.  The title reports the largest gap between the
    two mean curves in standard errors.  Each change runs both rules in one compiled
    :func:`optlab.runner.sweep` (the hyper-parameters are traced; one compilation per ``κ``).

    Args:
      problem: a finite-sum :class:`optlab.problems.Problem` (e.g. :func:`optlab.dynamics.noisy_regression`).
      x0: the start, shape ``(d,)``.
      learning_rate, b1, b2, eps: Adam's hyper-parameters at the reference batch.
      batch_size: the reference batch ``B ≥ 1``.
      num_steps: the reference run's steps, divisible by every ``κ`` and by ``points``.
      keys: a batch of PRNG keys (one run per key).
      kappas: the factors of the static figure (integers ``≥ 2``).
      kappa: the factor shown first (default: the last one).
      rule: the rule shown first, ``"square_root"`` or ``"linear"``.
      scaling_rule: ``(κ, *, learning_rate, b1, b2, eps, rule) ↦ AdamHyperparameters`` (a lab passes its own).
      points: the number of comparison points along the run.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the controls ``kappa`` and ``rule`` (two menus).

    Raises:
      ValueError: ``num_steps`` not divisible by a ``κ`` or by ``points``, a ``κ`` that is not an
        integer ``≥ 2``, an unknown ``rule``.
      TypeError: ``scaling_rule`` not callable.
    """
    if not callable(scaling_rule):
        raise TypeError("scaling_rule must be callable")
    for k in kappas:
        if int(k) != k or k < 2 or num_steps % (int(k) * points):
            raise ValueError(
                f"kappas must be integers >= 2 dividing num_steps / points = {num_steps}/{points}, got {k!r}"
            )
    rules = ("square_root", "linear")
    if rule not in rules:
        raise ValueError(f"rule must be one of {rules}, got {rule!r}")
    base = dict(learning_rate=learning_rate, b1=b1, b2=b2, eps=eps)
    controls = {
        "kappa": dropdown("κ", [int(k) for k in kappas], value=int(kappas[-1] if kappa is None else kappa)),
        "rule": dropdown("rule", rules, value=rule),
    }
    keys = jnp.asarray(keys) if not isinstance(keys, jax.Array) else keys

    def runs(k):
        hps = [scaling_rule(k, **base, rule=r) for r in rules]
        stacked = jax.tree.map(lambda *a: jnp.stack([jnp.asarray(v, jnp.float32) for v in a]), *hps)
        trace = runner.sweep(
            type(hps[0]).optimizer,
            stacked,
            problem,
            x0,
            num_steps=num_steps // k,
            keys=keys,
            batch_size=batch_size * k,
        )
        every = num_steps // k // points
        return np.asarray(trace.values, float)[:, :, ::every] - float(problem.f_star)

    ref_mean, ref_se = _mean_se(runs(1)[0])
    examples = batch_size * np.arange(points + 1) * (num_steps // points)
    fig = go.Figure(
        [
            _band(examples, ref_mean, ref_se, "black", "κ = 1"),
            go.Scatter(
                x=examples,
                y=ref_mean,
                mode="lines+markers",
                name="κ = 1 (reference)",
                line=dict(color="black"),
            ),
            go.Scatter(
                x=examples,
                mode="lines",
                fill="toself",
                line=dict(width=0),
                fillcolor=COLORS[0],
                opacity=0.25,
                showlegend=False,
                hoverinfo="skip",
            ),
            go.Scatter(x=examples, mode="lines+markers", name="κ·B, scaled", line=dict(color=COLORS[0])),
        ]
    )
    style_figure(fig, title, "examples seen", "E f(x) − f*", height=height)
    fig.update_yaxes(type="log")

    def update(kappa, rule):
        v = runs(int(kappa))[rules.index(rule)]
        mean, se = _mean_se(v)
        gap = float(np.max(np.abs(mean - ref_mean)[1:] / np.sqrt(se**2 + ref_se**2)[1:]))
        band_x = np.concatenate([examples, examples[::-1]])
        band_y = np.concatenate([mean + 2 * se, (mean - 2 * se)[::-1]])
        name = "square-root" if rule == "square_root" else "linear"
        data = {2: {"x": band_x, "y": band_y}, 3: {"y": mean, "name": f"κ = {int(kappa)}, {name} rule"}}
        text = f"κ = {int(kappa)}, {name} rule: largest gap {gap:.1f} standard errors"
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)


def gradient_subspace_figure(
    steps: Any,
    fractions: dict[str, Any],
    overlaps: dict[str, Any],
    *,
    baseline: float,
    title: str | None = "The gradient in the top Hessian eigenspace",
    height: int = 420,
) -> go.Figure:
    """Two panels against the training step: the fraction ``‖P_k g‖²/‖g‖²`` of the gradient in the
    top-``k`` Hessian eigenspace for each run (a random subspace's ``k/P`` dotted), and the overlap
    of the top-``k`` eigenspace with the one at the previous checkpoint.

    Args:
      steps: the checkpoints, shape ``(C,)``.
      fractions: ``label ↦`` fractions, shape ``(C,)`` each.
      overlaps: ``label ↦`` overlaps between consecutive checkpoints, shape ``(C − 1,)`` each.
      baseline: the random-subspace value ``k/P``.
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure with two panels.

    Raises:
      ValueError: a curve of the wrong length.
    """
    from plotly.subplots import make_subplots

    s = np.asarray(steps, float)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("fraction of ‖g‖² in the top-k eigenspace", "overlap with the previous checkpoint"),
    )
    for i, (label, f) in enumerate(fractions.items()):
        f = np.asarray(f, float)
        if f.shape != s.shape:
            raise ValueError(f"fractions[{label!r}] must have shape {s.shape}, got {f.shape}")
        fig.add_trace(
            go.Scatter(x=s, y=f, mode="lines+markers", name=label, line=dict(color=COLORS[i % len(COLORS)])),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=[s[0], s[-1]],
            y=[baseline, baseline],
            mode="lines",
            name="random subspace, k/P",
            line=dict(color="black", dash="dot"),
        ),
        row=1,
        col=1,
    )
    for i, (label, o) in enumerate(overlaps.items()):
        o = np.asarray(o, float)
        if o.shape != (s.shape[0] - 1,):
            raise ValueError(f"overlaps[{label!r}] must have shape {(s.shape[0] - 1,)}, got {o.shape}")
        fig.add_trace(
            go.Scatter(
                x=s[1:],
                y=o,
                mode="lines+markers",
                name=label,
                showlegend=False,
                line=dict(color=COLORS[i % len(COLORS)]),
            ),
            row=1,
            col=2,
        )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="GD step")
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def central_flow_explorer(
    loss_fn: Callable[[Any], Any],
    params: Any,
    *,
    etas: Sequence[float],
    eta: float | None = None,
    num_steps: int,
    key: Any,
    record_every: int = 5,
    substeps: int = 2,
    power_num_steps: int = 2,
    central_flow: Callable[..., Any] = dy.central_flow,
    title: str | None = "Gradient descent, its central flow and gradient flow",
    height: int = 440,
) -> Explorer:
    """Live figure: full-batch gradient descent with step ``η`` (sharpness every ``record_every``
    steps, :func:`optlab.landscape.gd_with_sharpness`), the central flow (by default
    :func:`optlab.dynamics.central_flow`) and gradient flow (:func:`optlab.dynamics.gradient_flow`)
    from the same start.  Left: the sharpness of the three against ``2/η``; right: the loss of
    gradient descent, the central flow's predicted time-averaged loss ``L + ½σ²S`` and gradient
    flow's loss.  Each change re-runs the three compiled loops (``η`` is traced: no recompilation).

    Args:
      loss_fn: the scalar loss of a parameter pytree.
      params: the start, a pytree of floating arrays.
      etas: the step sizes of the static figure (``> 0``).
      eta: the step shown first (default: the middle one).
      num_steps: the horizon in steps of gradient descent, a multiple of ``record_every``.
      key: a JAX PRNG key for the power iterations.
      record_every: steps between sharpness measurements of gradient descent.
      substeps, power_num_steps: Euler steps per unit of time and power iterations per Euler step
        of both flows (coarser than the library's defaults, so that a change answers quickly).
      central_flow: ``(loss_fn, params, *, learning_rate, num_steps, key, substeps, power_num_steps) ↦`` a
        :class:`optlab.dynamics.CentralFlow` (a lab passes its own).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``eta`` (a slider).

    Raises:
      ValueError: a step ``<= 0``, ``eta`` not among ``etas``, ``num_steps`` not a positive
        multiple of ``record_every``.
      TypeError: ``loss_fn`` or ``central_flow`` not callable.
    """
    from plotly.subplots import make_subplots

    from .. import landscape

    if not callable(loss_fn) or not callable(central_flow):
        raise TypeError("loss_fn and central_flow must be callable")
    if not etas or any(not (np.isfinite(e) and e > 0) for e in etas):
        raise ValueError(f"etas must be positive step sizes, got {list(etas)!r}")
    if (
        isinstance(num_steps, bool)
        or not isinstance(num_steps, (int, np.integer))
        or num_steps < 1
        or num_steps % record_every
    ):
        raise ValueError(
            f"num_steps must be a positive multiple of record_every = {record_every}, got {num_steps!r}"
        )
    values = [float(e) for e in etas]
    controls = {"eta": slider("η", values, value=values[len(values) // 2] if eta is None else float(eta))}
    t = np.arange(num_steps + 1)
    every = max(1, num_steps // 200)  # at most ~200 points per flow curve
    fig = make_subplots(rows=1, cols=2, subplot_titles=("sharpness S(w)", "loss"))
    names = ("gradient descent", "central flow", "gradient flow", "2/η")
    colors = (COLORS[0], COLORS[1], COLORS[2], "black")
    for col in (1, 2):
        for i, (name, color) in enumerate(zip(names, colors, strict=True)):
            if col == 2 and i == 3:
                continue
            dash = "dot" if i == 3 else None
            fig.add_trace(
                go.Scatter(mode="lines", name=name, showlegend=col == 1, line=dict(color=color, dash=dash)),
                row=1,
                col=col,
            )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="step (time)")
    fig.update_yaxes(type="log", row=1, col=2)

    def update(eta):
        lr = float(eta)
        gd = landscape.gd_with_sharpness(
            loss_fn, params, learning_rate=lr, num_steps=num_steps, key=key, record_every=record_every
        )
        flow = dict(
            learning_rate=lr, num_steps=num_steps, key=key, substeps=substeps, power_num_steps=power_num_steps
        )
        cf = central_flow(loss_fn, params, **flow)
        gf = dy.gradient_flow(loss_fn, params, **flow)
        tf = t[::every]
        data = {
            0: {"x": np.asarray(gd.steps), "y": np.asarray(gd.sharpness, float)},
            1: {"x": tf, "y": np.asarray(cf.sharpness, float)[::every]},
            2: {"x": tf, "y": np.asarray(gf.sharpness, float)[::every]},
            3: {"x": [0, num_steps], "y": [2 / lr, 2 / lr]},
            4: {"x": t[:-1], "y": np.asarray(gd.losses, float)},
            5: {
                "x": tf,
                "y": np.asarray(cf.mean_losses(), float)[::every],
                "name": "central flow, L + σ²S/2",
            },
            6: {"x": tf, "y": np.asarray(gf.losses, float)[::every]},
        }
        late = np.asarray(gd.steps) >= num_steps // 2
        s_late = float(np.mean(np.asarray(gd.sharpness, float)[late])) * lr / 2
        s_gf = float(gf.sharpness[-1]) * lr / 2
        text = (
            f"η = {lr:g}: GD's sharpness over the second half {s_late:.3f} × 2/η; "
            f"gradient flow ends at {s_gf:.2f} × 2/η"
        )
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)


def heavy_tail_stability_figure(
    tail_indices: Any,
    curves: dict[str, tuple[Any, Any]],
    *,
    noiseless: float | None = None,
    title: str | None = "Heavy-tailed noise and the distance between coupled runs",
    height: int = 400,
) -> go.Figure:
    """``E‖w_T − w_T'‖`` against the tail index ``a`` of the shared noise, one curve per setting,
    with error bars of two standard errors (the runs of :func:`optlab.dynamics.neighbour_divergence`
    with ``noise_scale`` and ``tail_index``).

    Args:
      tail_indices: the tail indices ``a``, shape ``(K,)``.
      curves: ``label ↦ (means, standard errors)``, each of shape ``(K,)``.
      noiseless: the value without noise, drawn as a dotted line (omitted if ``None``).
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure.

    Raises:
      ValueError: a curve of the wrong length.
    """
    a = np.asarray(tail_indices, float)
    fig = go.Figure()
    for i, (label, (mean, se)) in enumerate(curves.items()):
        mean, se = np.asarray(mean, float), np.asarray(se, float)
        if mean.shape != a.shape or se.shape != a.shape:
            raise ValueError(f"curves[{label!r}] must hold two arrays of shape {a.shape}")
        fig.add_trace(
            go.Scatter(
                x=a,
                y=mean,
                mode="lines+markers",
                name=label,
                error_y=dict(type="data", array=2 * se, visible=True),
                line=dict(color=COLORS[i % len(COLORS)]),
            )
        )
    if noiseless is not None:
        fig.add_trace(
            go.Scatter(
                x=[a.min(), a.max()],
                y=[float(noiseless)] * 2,
                mode="lines",
                name="no noise",
                line=dict(color="gray", dash="dot"),
            )
        )
    style_figure(fig, title, "tail index a of the noise", "E ‖w_T − w'_T‖", height=height)
    return fig


def heavy_tail_explorer(
    loss: Callable[[Any, Any], Any],
    data: Any,
    replacement: Any,
    w0: Any,
    *,
    tails: Sequence[float],
    sigmas: Sequence[float],
    learning_rate: float,
    num_steps: int,
    key: Any,
    tail_index: float | None = None,
    noise_scale: float | None = None,
    num_paths: int = 100,
    index: int = 0,
    title: str | None = "Coupled SGD with shared heavy-tailed noise",
    height: int = 420,
) -> Explorer:
    """Live figure: ``E‖w_t − w_t'‖`` (two standard errors shaded) of SGD on ``S`` and its neighbour
    with the same indices and the same noise ``σ α^{1/a} S_t``
    (:func:`optlab.dynamics.neighbour_divergence` with ``noise_scale`` and ``tail_index``), against
    the noiseless runs (dotted).  Each change re-runs the compiled loop (``a`` and ``σ`` are traced:
    no recompilation).

    Args:
      loss, data, replacement, w0, learning_rate, num_steps, key, num_paths, index: as for
        :func:`optlab.dynamics.neighbour_divergence`.
      tails: the tail indices ``a ∈ (0, 2]`` of the static figure.
      sigmas: the noise scales ``σ > 0`` of the static figure.
      tail_index, noise_scale: the values shown first (default: the middle ones).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the controls ``tail_index`` and ``noise_scale`` (sliders).

    Raises:
      ValueError: a tail index outside ``(0, 2]``, a noise scale ``<= 0``, an empty list, and whatever
        :func:`optlab.dynamics.neighbour_divergence` refuses.
    """
    a_values = [float(a) for a in tails]
    s_values = [float(s) for s in sigmas]
    if not a_values or any(not (np.isfinite(a) and 0 < a <= 2) for a in a_values):
        raise ValueError(f"tails must be tail indices in (0, 2], got {list(tails)!r}")
    if not s_values or any(not (np.isfinite(s) and s > 0) for s in s_values):
        raise ValueError(f"sigmas must be positive noise scales, got {list(sigmas)!r}")
    run = functools.partial(
        dy.neighbour_divergence,
        loss,
        data,
        replacement,
        w0,
        learning_rate=learning_rate,
        num_steps=num_steps,
        key=key,
        num_paths=num_paths,
        index=index,
    )
    clean = np.asarray(run().divergences, float)
    every = max(1, num_steps // 200)
    t = np.arange(num_steps + 1)[::every]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t, mode="lines", name="E δ_t", line=dict(color=COLORS[0])))
    fig.add_trace(_band(t, np.zeros_like(t, float), np.zeros_like(t, float), COLORS[0], "± 2 se"))
    fig.add_trace(
        go.Scatter(
            x=t, y=clean.mean(0)[::every], mode="lines", name="no noise", line=dict(color="gray", dash="dot")
        )
    )
    style_figure(fig, title, "step t", "E ‖w_t − w'_t‖", height=height)
    controls = {
        "tail_index": slider(
            "a", a_values, value=a_values[len(a_values) // 2] if tail_index is None else float(tail_index)
        ),
        "noise_scale": slider(
            "σ", s_values, value=s_values[len(s_values) // 2] if noise_scale is None else float(noise_scale)
        ),
    }

    def update(tail_index, noise_scale):
        d = np.asarray(run(noise_scale=float(noise_scale), tail_index=float(tail_index)).divergences, float)
        mean, se = d.mean(0)[::every], d.std(0)[::every] / np.sqrt(d.shape[0])
        band = _band(t, mean, se, COLORS[0], "± 2 se")
        data = {0: {"y": mean}, 1: {"x": band.x, "y": band.y}}
        text = (
            f"a = {float(tail_index):g}, σ = {float(noise_scale):g}: E δ_T = {mean[-1]:.3f} ± {se[-1]:.3f} "
            f"(no noise: {clean.mean(0)[-1]:.3f})"
        )
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)
