"""Figures for the chapter on sampling as optimization (``book/19_sampling``): the Langevin
explorer (ULA against MALA on a 2-D Gaussian target, for a step size of the reader's choice),
and the score-based diffusion figures (target against reverse-SDE and probability-flow samples,
and the explorer over the number of steps and the sampler), the mirrored SVGD explorer (particles
on the simplex against exact Dirichlet draws, for a step size of the reader's choice) and the
explorer of a Light Schrödinger bridge over its time.
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

from .. import sampling as sp
from .core import COLORS, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider, slider

__all__ = [
    "diffusion_explorer",
    "diffusion_samples_figure",
    "langevin_explorer",
    "mirrored_svgd_explorer",
    "schrodinger_bridge_explorer",
]


@functools.partial(jax.jit, static_argnames=("num_chains", "num_steps"))
def _langevin_runs(mean, precision, h, key, num_chains, num_steps):
    """The explorer's computation in one compiled call: ULA and MALA from the same start
    (``C`` chains at the target's mean), with ``h``, the target and the key traced."""

    def potential(x):
        z = x - mean
        return 0.5 * z @ precision @ z

    x0 = jnp.broadcast_to(mean, (num_chains, mean.shape[0]))
    ula = sp.unadjusted_langevin(
        potential, x0, learning_rate=h, num_steps=num_steps, key=key, return_iterates=False
    )
    mala = sp.mala(potential, x0, learning_rate=h, num_steps=num_steps, key=key, return_iterates=False)
    return ula.params, mala.params, jnp.mean(mala.acceptance_rates[num_steps // 2 :])


def _ellipse(mean: np.ndarray, cov: np.ndarray, radius: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    lam, V = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, 121)
    pts = mean[:, None] + V @ (
        radius * np.sqrt(np.maximum(lam, 0))[:, None] * np.stack([np.cos(t), np.sin(t)])
    )
    return pts[0], pts[1]


def langevin_explorer(
    mean: Any,
    precision: Any,
    *,
    learning_rates: Sequence[float],
    learning_rate: float | None = None,
    num_chains: int = 1000,
    num_steps: int = 150,
    num_shown: int = 300,
    key: Any = None,
    title: str | None = "ULA and MALA on a Gaussian target",
    height: int = 460,
) -> Explorer:
    """Live figure: ``C`` chains of ULA and of MALA (:func:`optlab.sampling.unadjusted_langevin`,
    :func:`optlab.sampling.mala`) on the target ``N(m, A^{-1})`` for a step ``h`` of the
    reader's choice.  Left: the last states of ``num_shown`` chains of each, with the target's
    2-standard-deviation ellipse and that of ULA's stationary law ``N(m, Σ_h)``; right: the
    total variance ``tr Σ`` against ``h``, for the target, ULA's closed form
    (:func:`optlab.sampling.ula_gaussian_stationary`) and the two samplers' measured values at
    the chosen ``h``.  Each change runs the library in one compiled call (no recompilation).

    Args:
      mean: the target mean ``m``, a vector of length 2.
      precision: ``A``, ``2 × 2`` symmetric positive definite.
      learning_rates: the steps ``h`` of the static figure (in ``(0, 2/λ_max(A))``).
      learning_rate: the step shown first (default: the middle one).
      num_chains: the chains ``C`` of each sampler.
      num_steps: the steps ``K`` of each chain.
      num_shown: the chains drawn in the scatter plot.
      key: a PRNG key (default ``jax.random.key(0)``).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``learning_rate`` (a log slider).

    Raises:
      ValueError: ``mean``/``precision`` not of shapes ``(2,)``/``2 × 2``, a non-positive count,
        or a step outside ``(0, 2/λ_max(A))``.
    """
    m = np.asarray(mean, float)
    A = np.asarray(precision, float)
    if m.shape != (2,) or A.shape != (2, 2):
        raise ValueError(f"mean must have shape (2,) and precision 2 × 2, got {m.shape} and {A.shape}")
    for name, v in (("num_chains", num_chains), ("num_steps", num_steps), ("num_shown", num_shown)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise ValueError(f"{name} must be an integer at least 2, got {v!r}")
    lam_max = float(np.linalg.eigvalsh(A)[-1])
    h_max = 2.0 / lam_max
    if not all(0 < h < h_max for h in learning_rates):
        raise ValueError(
            f"learning_rates must lie in (0, 2/λ_max(A)) = (0, {h_max:.3g}), got {list(learning_rates)}"
        )
    key = jax.random.key(0) if key is None else key
    controls = {
        "learning_rate": log_slider("h", learning_rates, value=learning_rate, bounds=(1e-3, 0.95 * h_max))
    }
    target = np.linalg.inv(A)
    dtype = jnp.asarray(0.0).dtype
    m_j, A_j = jnp.asarray(m, dtype), jnp.asarray(A, dtype)
    shown = min(num_shown, num_chains)

    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1)
    fig.add_trace(
        go.Scatter(mode="markers", name="ULA", marker=dict(color=COLORS[0], size=4, opacity=0.5)), 1, 1
    )
    fig.add_trace(
        go.Scatter(mode="markers", name="MALA", marker=dict(color=COLORS[1], size=4, opacity=0.5)), 1, 1
    )
    ex, ey = _ellipse(m, target)
    fig.add_trace(
        go.Scatter(x=ex, y=ey, mode="lines", name="target, 2 sd", line=dict(color="black", width=2)), 1, 1
    )
    fig.add_trace(
        go.Scatter(mode="lines", name="ULA's π_h, 2 sd", line=dict(color=COLORS[0], dash="dash")), 1, 1
    )
    hs = np.geomspace(1e-3, 0.95 * h_max, 60)
    tr_h = [float(np.trace(np.asarray(sp.ula_gaussian_stationary(A, learning_rate=float(h))))) for h in hs]
    fig.add_trace(
        go.Scatter(
            x=hs,
            y=tr_h,
            mode="lines",
            name="tr Σ_h (ULA, closed form)",
            line=dict(color=COLORS[0], dash="dash"),
        ),
        1,
        2,
    )
    fig.add_trace(
        go.Scatter(
            x=hs,
            y=np.full_like(hs, np.trace(target)),
            mode="lines",
            name="tr A⁻¹ (target)",
            line=dict(color="black"),
        ),
        1,
        2,
    )
    fig.add_trace(
        go.Scatter(mode="markers", name="ULA measured", marker=dict(color=COLORS[0], size=11)), 1, 2
    )
    fig.add_trace(
        go.Scatter(
            mode="markers", name="MALA measured", marker=dict(color=COLORS[1], size=11, symbol="diamond")
        ),
        1,
        2,
    )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="x₁", row=1, col=1)
    fig.update_yaxes(title_text="x₂", row=1, col=1)
    fig.update_xaxes(title_text="step h", type="log", row=1, col=2)
    fig.update_yaxes(title_text="total variance tr Σ", row=1, col=2)

    def update(learning_rate):
        h = float(learning_rate)
        ula, mala, acc = _langevin_runs(m_j, A_j, jnp.asarray(h, dtype), key, num_chains, num_steps)
        ula, mala = np.asarray(ula, float), np.asarray(mala, float)
        S_h = np.asarray(sp.ula_gaussian_stationary(A, learning_rate=h), float)
        tr_ula, tr_mala = float(np.trace(np.cov(ula.T))), float(np.trace(np.cov(mala.T)))
        hx, hy = _ellipse(m, S_h)
        data = {
            0: {"x": ula[:shown, 0], "y": ula[:shown, 1]},
            1: {"x": mala[:shown, 0], "y": mala[:shown, 1]},
            3: {"x": hx, "y": hy},
            6: {"x": [h], "y": [tr_ula]},
            7: {"x": [h], "y": [tr_mala]},
        }
        return Frame(
            data,
            layout={
                "title.text": f"h = {h:.3g}: tr Σ ULA {tr_ula:.3f} (closed form {np.trace(S_h):.3f}), "
                f"MALA {tr_mala:.3f}, target {np.trace(target):.3f}; MALA accepts {float(acc):.0%}"
            },
        )

    return Explorer(fig, update, controls)


def diffusion_samples_figure(
    target: Any,
    samples: dict[str, Any],
    *,
    num_shown: int = 400,
    title: str | None = "Target samples and diffusion samples",
    height: int = 380,
) -> go.Figure:
    """Side-by-side scatter plots: samples of the target, then one panel per sampler (e.g. the
    reverse-time SDE and the probability-flow ODE of :mod:`optlab.sampling.diffusion`), on
    shared axes.

    Args:
      target: target samples, ``N × 2``.
      samples: panel title ↦ samples (``N × 2``).
      num_shown: the points drawn per panel.
      title: the figure title.
      height: the figure height in pixels.

    Returns:
      A plotly figure with ``1 + len(samples)`` panels.

    Raises:
      ValueError: an array that is not ``N × 2``.
    """
    panels = {"target": np.asarray(target, float)} | {k: np.asarray(v, float) for k, v in samples.items()}
    for name, pts in panels.items():
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"samples must be N × 2 arrays, got shape {pts.shape} for {name!r}")
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels), shared_yaxes=True)
    for i, (name, pts) in enumerate(panels.items()):
        pts = pts[:num_shown]
        fig.add_trace(
            go.Scatter(
                x=pts[:, 0],
                y=pts[:, 1],
                mode="markers",
                name=name,
                marker=dict(color="black" if i == 0 else COLORS[(i - 1) % len(COLORS)], size=3, opacity=0.6),
            ),
            1,
            i + 1,
        )
        fig.update_xaxes(range=[-3.2, 3.2], title_text="x₁", row=1, col=i + 1)
    fig.update_yaxes(range=[-3.2, 3.2], title_text="x₂", row=1, col=1)
    style_figure(fig, title, None, None, height=height)
    return fig


@functools.partial(jax.jit, static_argnames=("sampler", "num_steps"))
def _diffusion_run(params, x_T, grid, key, sampler, num_steps):
    """One sampler on a padded grid (traced): the step count changes without recompiling."""
    if sampler == "reverse SDE":
        out = sp.reverse_sde(sp.gaussian_mixture_score, params, x_T, num_steps=num_steps, times=grid, key=key)
    else:
        out = sp.probability_flow(sp.gaussian_mixture_score, params, x_T, num_steps=num_steps, times=grid)
    return out.params


def diffusion_explorer(
    weights: Any,
    means: Any,
    covariances: Any,
    *,
    step_counts: Sequence[int],
    num_steps: int | None = None,
    sampler: str = "PF-ODE (Heun)",
    num_samples: int = 800,
    t_max: float = 3.0,
    t_min: float = 1e-3,
    key: Any = None,
    title: str | None = "Diffusion sampling with the exact score",
    height: int = 440,
) -> Explorer:
    """Live figure: samples of the reverse-time SDE (:func:`optlab.sampling.reverse_sde`) or
    the probability-flow ODE (:func:`optlab.sampling.probability_flow`, Heun) driven by the exact
    score of a 2-D Gaussian mixture (:func:`optlab.sampling.gaussian_mixture_score`), for a number
    of steps and a sampler of the reader's choice, over samples of the target.  Each change runs
    one compiled call per sampler: the geometric grid of ``K`` steps is padded to
    ``max(step_counts)`` steps with steps of length zero, so ``K`` is traced.

    Args:
      weights, means, covariances: the mixture, ``(K,)``, ``K × 2``, ``K × 2 × 2``.
      step_counts: the numbers of steps offered (integers ≥ 1).
      num_steps: the number shown first (default: the smallest).
      sampler: ``"PF-ODE (Heun)"`` or ``"reverse SDE"``, shown first.
      num_samples: the samples drawn by each sampler.
      t_max, t_min: the time range of the grid.
      key: a PRNG key (default ``jax.random.key(0)``).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the controls ``num_steps`` (a slider) and ``sampler``
      (a dropdown).

    Raises:
      ValueError: a mixture not in two dimensions, a step count below 1, an unknown sampler.
    """
    mu = np.asarray(means, float)
    if mu.ndim != 2 or mu.shape[1] != 2:
        raise ValueError(f"means must be K × 2, got shape {mu.shape}")
    counts = [int(k) for k in step_counts]
    if not counts or any(k < 1 for k in counts):
        raise ValueError(f"step_counts must be integers at least 1, got {list(step_counts)}")
    samplers = ["PF-ODE (Heun)", "reverse SDE"]
    if sampler not in samplers:
        raise ValueError(f"sampler must be one of {samplers}, got {sampler!r}")
    key = jax.random.key(0) if key is None else key
    dtype = jnp.asarray(0.0).dtype
    params = tuple(jnp.asarray(a, dtype) for a in (weights, means, covariances))
    k_max = max(counts)
    k_x, k_noise, k_target = jax.random.split(key, 3)
    x_T = jax.random.normal(k_x, (num_samples, 2), dtype)
    w = np.asarray(weights, float)
    chol = np.linalg.cholesky(np.asarray(covariances, float))
    rng = np.random.default_rng(0)
    comp = rng.choice(len(w), num_samples, p=w / w.sum())
    target = mu[comp] + np.einsum("nij,nj->ni", chol[comp], rng.standard_normal((num_samples, 2)))
    controls = {
        "num_steps": slider(
            "steps K", counts, value=num_steps if num_steps is not None else min(counts), step=1.0
        ),
        "sampler": dropdown("sampler", samplers, value=sampler),
    }
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=target[:, 0],
            y=target[:, 1],
            mode="markers",
            name="target",
            marker=dict(color="black", size=3, opacity=0.35),
        )
    )
    fig.add_trace(
        go.Scatter(mode="markers", name="samples", marker=dict(color=COLORS[0], size=4, opacity=0.6))
    )
    style_figure(fig, title, "x₁", "x₂", height=height)
    fig.update_xaxes(range=[-3.5, 3.5])
    fig.update_yaxes(range=[-3.5, 3.5])

    def update(num_steps, sampler):
        k = int(num_steps)
        grid = np.concatenate([np.geomspace(t_max, t_min, k + 1), np.full(k_max - k, t_min)])
        x = _diffusion_run(params, x_T, jnp.asarray(grid, dtype), k_noise, sampler, k_max)
        x = np.asarray(x, float)
        inside = float(np.mean(np.all(np.abs(x) < 3.5, axis=1)))
        err = float(np.linalg.norm(x.mean(0) - w @ mu))
        return Frame(
            {1: {"x": x[:, 0], "y": x[:, 1], "name": sampler}},
            layout={
                "title.text": f"{sampler}, K = {k} steps: |mean error| {err:.3f}, "
                f"{inside:.0%} of the samples in the window"
            },
        )

    return Explorer(fig, update, controls)


def schrodinger_bridge_explorer(
    params: Any,
    x0: Any,
    eps: float,
    *,
    times: Sequence[float],
    target: Any = None,
    t: float | None = None,
    key: Any = None,
    title: str | None = "Light Schrödinger bridge",
    height: int = 440,
) -> Explorer:
    """Live figure: the marginal at time ``t`` of a Light Schrödinger bridge
    (:func:`optlab.sampling.light_sb_init` parameters): each change draws ``x_1 ~ π_θ(· | x_0)``
    with :func:`optlab.sampling.light_sb_sample` and the Brownian bridge between ``x_0`` and
    ``x_1`` at ``t`` with :func:`optlab.sampling.brownian_bridge` (both compiled, ``t`` traced),
    over the starting points and, if given, target samples.

    Args:
      params: the Light SB parameter dict, in two dimensions.
      x0: the starting points, ``N × 2``.
      eps: the regularisation ``ε > 0`` the parameters were trained for.
      times: the times offered, in ``[0, 1]``.
      target: optional target samples, ``M × 2``, drawn in grey.
      t: the time shown first (default: the middle one of ``times``).
      key: a PRNG key (default ``jax.random.key(0)``).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``t`` (a slider).

    Raises:
      ValueError: ``x0`` not ``N × 2``, a time outside ``[0, 1]``.
    """
    x0 = jnp.asarray(x0)
    if x0.ndim != 2 or x0.shape[1] != 2:
        raise ValueError(f"x0 must be N × 2, got shape {tuple(x0.shape)}")
    ts = [float(v) for v in times]
    if not ts or any(not 0.0 <= v <= 1.0 for v in ts):
        raise ValueError(f"times must lie in [0, 1], got {list(times)}")
    key = jax.random.key(0) if key is None else key
    k_x1, k_bridge = jax.random.split(key)
    x0_np = np.asarray(x0, float)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x0_np[:, 0],
            y=x0_np[:, 1],
            mode="markers",
            name="x₀ ~ p₀",
            marker=dict(color=COLORS[1], size=3, opacity=0.3),
        )
    )
    if target is not None:
        tg = np.asarray(target, float)
        fig.add_trace(
            go.Scatter(
                x=tg[:, 0],
                y=tg[:, 1],
                mode="markers",
                name="target p₁",
                marker=dict(color="black", size=3, opacity=0.3),
            )
        )
    idx = len(fig.data)
    fig.add_trace(go.Scatter(mode="markers", name="x_t", marker=dict(color=COLORS[0], size=4, opacity=0.7)))
    style_figure(fig, title, "x₁", "x₂", height=height)
    fig.update_xaxes(range=[-3.5, 3.5])
    fig.update_yaxes(range=[-3.5, 3.5])
    controls = {"t": slider("time t", ts, value=t if t is not None else ts[len(ts) // 2])}

    def update(t):
        x1 = sp.light_sb_sample(params, x0, eps, key=k_x1)
        xt = np.asarray(sp.brownian_bridge(x0, x1, jnp.asarray(t, x0.dtype), eps, key=k_bridge), float)
        return Frame(
            {idx: {"x": xt[:, 0], "y": xt[:, 1], "name": f"x_t, t = {float(t):.2f}"}},
            layout={
                "title.text": f"Bridge marginal at t = {float(t):.2f} (ε = {float(eps):g}): "
                f"mean radius {float(np.mean(np.hypot(xt[:, 0], xt[:, 1]))):.2f}"
            },
        )

    return Explorer(fig, update, controls)


def _triangle(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric coordinates on the 2-simplex to the plane: vertices (0, 0), (1, 0), (1/2, √3/2)."""
    return theta[:, 1] + 0.5 * theta[:, 2], (np.sqrt(3.0) / 2.0) * theta[:, 2]


class _DirichletPotential:
    """``f(θ) = −Σ_i (α_i − 1) log θ_i``, hashable by ``α`` (one compilation per ``α``)."""

    def __init__(self, alpha: np.ndarray):
        self.alpha = tuple(float(a) for a in alpha)

    def __call__(self, theta):
        return -jnp.sum((jnp.asarray(self.alpha, theta.dtype) - 1.0) * jnp.log(theta))

    def __eq__(self, other):
        return isinstance(other, _DirichletPotential) and other.alpha == self.alpha

    def __hash__(self):
        return hash(("dirichlet", self.alpha))


def mirrored_svgd_explorer(
    alpha: Any,
    *,
    learning_rates: Sequence[float],
    learning_rate: float | None = None,
    num_particles: int = 100,
    num_steps: int = 100,
    bandwidth: float = 10.0,
    key: Any = None,
    title: str | None = "Mirrored SVGD on the simplex",
    height: int = 460,
) -> Explorer:
    """Live figure: ``n`` particles of mirrored SVGD (:func:`optlab.sampling.mirrored_svgd`) on a
    Dirichlet(``α``) target on the 2-simplex after ``K`` steps of size ``h``, drawn on the
    triangle over exact Dirichlet draws, with the particle mean and variances against the closed
    form in the title.  Each change runs the library in one compiled call (no recompilation).

    Args:
      alpha: the concentration ``α``, three positive numbers.
      learning_rates: the steps ``h`` of the static figure (positive).
      learning_rate: the step shown first (default: the middle one).
      num_particles: ``n``.
      num_steps: ``K``.
      bandwidth: the kernel bandwidth ``ℓ`` in the dual space.
      key: a PRNG key for the initial particles and the exact draws (default ``jax.random.key(0)``).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``learning_rate`` (a log slider).

    Raises:
      ValueError: ``alpha`` not three positive numbers, a count below 2 or a non-positive step.
    """
    a = np.asarray(alpha, float)
    if a.shape != (3,) or not np.all(a > 0):
        raise ValueError(f"alpha must be three positive numbers, got {alpha!r}")
    for name, v in (("num_particles", num_particles), ("num_steps", num_steps)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 2:
            raise ValueError(f"{name} must be an integer at least 2, got {v!r}")
    if not all(h > 0 for h in learning_rates):
        raise ValueError(f"learning_rates must be positive, got {list(learning_rates)}")
    key = jax.random.key(0) if key is None else key
    k_init, k_exact = jax.random.split(key)
    dtype = jnp.asarray(0.0).dtype
    f = _DirichletPotential(a)
    z0 = jax.random.normal(k_init, (num_particles, 2), dtype)
    x0 = sp.entropic_primal(z0)
    seed = int(jax.random.randint(k_exact, (), 0, 2**31 - 1))
    exact = np.random.default_rng(seed).dirichlet(a, size=1000)  # numpy: no compilation for the backdrop
    mean = a / a.sum()
    var = mean * (1 - mean) / (a.sum() + 1)
    controls = {
        "learning_rate": log_slider(
            "h",
            learning_rates,
            value=learning_rate,
            bounds=(min(learning_rates) / 2, 2 * max(learning_rates)),
        )
    }
    fig = go.Figure()
    ex_x, ex_y = _triangle(exact)
    fig.add_trace(
        go.Scatter(
            x=ex_x,
            y=ex_y,
            mode="markers",
            name="exact Dirichlet draws",
            marker=dict(color="lightgray", size=4),
        )
    )
    fig.add_trace(
        go.Scatter(mode="markers", name="mirrored SVGD particles", marker=dict(color=COLORS[0], size=6))
    )
    fig.add_trace(
        go.Scatter(
            x=[0, 1, 0.5, 0],
            y=[0, 0, np.sqrt(3) / 2, 0],
            mode="lines",
            name="simplex",
            line=dict(color="black", width=1),
        )
    )
    style_figure(fig, title, None, None, height=height)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)

    def update(learning_rate):
        h = float(learning_rate)
        out = sp.mirrored_svgd(
            f,
            x0,
            learning_rate=jnp.asarray(h, dtype),
            num_steps=num_steps,
            bandwidth=bandwidth,
            return_iterates=False,
        )
        th = np.asarray(out.params, float)
        px, py = _triangle(th)
        m_err = float(np.abs(th.mean(0) - mean).max())
        v_err = float(np.abs(th.var(0, ddof=1) - var).max())
        return Frame(
            {1: {"x": px, "y": py}},
            layout={
                "title.text": f"h = {h:.3g}, K = {num_steps}: max |mean error| {m_err:.4f}, "
                f"max |variance error| {v_err:.4f}"
            },
        )

    return Explorer(fig, update, controls)
