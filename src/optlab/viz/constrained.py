"""Figures for the constrained-optimisation chapter (built on :mod:`optlab.viz.core`).

:func:`pg_fw_explorer` is a live :class:`~optlab.viz.Explorer`: every change of the
feasible set, of Frank–Wolfe's step rule or of the projected-gradient step re-runs
:func:`optlab.constrained.frank_wolfe` and :func:`optlab.constrained.projected_gradient`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .. import constrained as cs
from .core import COLORS, grid_values, slider_menu, stepped_figure, style_figure
from .explorer import Explorer, Frame, dropdown, log_slider

__all__ = ["penalty_landscape", "simplex_trajectories", "load_balance_figure", "relu_fits", "pg_fw_explorer"]


def penalty_landscape(
    f: Callable,
    c: Callable,
    mus: Sequence[float],
    *,
    lams: Any = None,
    iterates: Any = None,
    x_star: Any = None,
    xlim=(-2.0, 2.0),
    ylim=(-2.0, 2.0),
    resolution: int = 70,
    title: str | None = None,
    height: int = 520,
):
    """Level sets of ``f + λ_kᵀc + (μ_k/2)‖c‖²`` on a 2-D grid, one slider step per ``k``
    (``lams=None``: the quadratic penalty, λ = 0), with the constraint curve ``c = 0``
    (static), the subproblem minimiser ``iterates[k + 1]`` (``iterates`` as in
    ``MultiplierOutput.iterates``: the start, then one minimiser per ``k``) and the
    solution ``x_star``.
    Log-spaced levels above the grid minimum make the narrowing valley visible."""
    import jax.numpy as jnp

    mus = list(mus)
    lam_arr = None if lams is None else np.asarray(lams, dtype=float)
    gx, gy, C0 = grid_values(lambda x: jnp.atleast_1d(c(x))[0], xlim, ylim, resolution)
    static = [
        go.Contour(
            x=gx,
            y=gy,
            z=C0.astype(np.float32),  # plotly ships numpy arrays as base64: float32 halves the page
            contours=dict(start=0, end=0, size=1, coloring="none"),
            line=dict(color="black", width=2.5),
            showscale=False,
            hoverinfo="skip",
            name="c(x) = 0",
            showlegend=True,
        )
    ]
    if x_star is not None:
        xs_ = np.asarray(x_star, dtype=float)
        static.append(
            go.Scatter(
                x=[xs_[0]],
                y=[xs_[1]],
                mode="markers",
                name="x*",
                marker=dict(symbol="star", size=14, color="black"),
            )
        )
    groups = []
    for k, mu in enumerate(mus):
        lam = 0.0 if lam_arr is None else lam_arr[k]

        def phi(x, mu=mu, lam=lam):
            cx = jnp.atleast_1d(c(x))
            return f(x) + jnp.sum(lam * cx) + 0.5 * mu * jnp.sum(cx**2)

        _, _, Z = grid_values(phi, xlim, ylim, resolution)
        z = np.log10(Z - Z.min() + 1e-2)
        group = [
            go.Contour(
                x=gx,
                y=gy,
                z=z.astype(np.float32),  # base64 in the page: float32 is half of float64
                colorscale="Blues",
                reversescale=True,
                ncontours=22,
                contours=dict(coloring="lines"),
                line=dict(width=1),
                showscale=False,
                hoverinfo="skip",
                showlegend=False,
            )
        ]
        if iterates is not None:
            p = np.asarray(iterates, dtype=float)[k + 1]
            group.append(
                go.Scatter(
                    x=[p[0]],
                    y=[p[1]],
                    mode="markers",
                    name="subproblem minimiser",
                    marker=dict(size=11, color=COLORS[1]),
                )
            )
        groups.append(group)
    fig = stepped_figure(
        groups,
        [f"{m:.3g}" for m in mus] if lam_arr is None else [f"k={k}, μ={m:.3g}" for k, m in enumerate(mus)],
        prefix="μ = " if lam_arr is None else "",
        static=static,
        title=title,
        xaxis_title="x₁",
        yaxis_title="x₂",
        height=height,
    )
    fig.update_xaxes(range=list(xlim), constrain="domain")
    fig.update_yaxes(range=list(ylim), scaleanchor="x", scaleratio=1)
    return fig


def _bary(P: np.ndarray) -> np.ndarray:
    """Points of the 2-simplex (rows summing to 1) to the plane (equilateral triangle)."""
    V = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    return np.asarray(P, dtype=float) @ V


def simplex_trajectories(
    trajectories: Mapping[str, Any],
    *,
    f: Callable | None = None,
    x_star: Any = None,
    resolution: int = 60,
    title: str | None = None,
    height: int = 500,
):
    """Iterates on the probability simplex of ℝ³ drawn in barycentric coordinates,
    with the level sets of ``f`` (optional) and the solution ``x_star``."""
    fig = go.Figure()
    if f is not None:
        import jax
        import jax.numpy as jnp

        u = np.linspace(0, 1, resolution)
        A, B = np.meshgrid(u, u)
        P = np.stack([1 - A - B, A, B], -1).reshape(-1, 3)
        inside = np.all(P >= -1e-12, axis=1)
        vals = np.full(P.shape[0], np.nan)
        vals[inside] = np.asarray(jax.vmap(f)(jnp.asarray(np.clip(P[inside], 1e-9, None))))
        xy = _bary(P)
        fig.add_trace(
            go.Scatter(
                x=xy[inside, 0],
                y=xy[inside, 1],
                mode="markers",
                marker=dict(
                    color=np.round(vals[inside], 5), colorscale="Blues", size=4, opacity=0.5, showscale=False
                ),
                hoverinfo="skip",
                showlegend=False,
            )
        )
    tri = _bary(np.eye(3)[[0, 1, 2, 0]])
    fig.add_trace(
        go.Scatter(
            x=tri[:, 0], y=tri[:, 1], mode="lines", line=dict(color="black"), name="simplex", hoverinfo="skip"
        )
    )
    for i, (lab, traj) in enumerate(trajectories.items()):
        xy = _bary(np.asarray(traj)[:, :3])
        fig.add_trace(
            go.Scatter(
                x=xy[:, 0],
                y=xy[:, 1],
                mode="lines+markers",
                name=lab,
                marker=dict(size=4, color=COLORS[i % len(COLORS)]),
                line=dict(width=1.5, color=COLORS[i % len(COLORS)]),
            )
        )
    if x_star is not None:
        p = _bary(np.asarray(x_star, dtype=float)[None, :3])[0]
        fig.add_trace(
            go.Scatter(
                x=[p[0]],
                y=[p[1]],
                mode="markers",
                name="x*",
                marker=dict(symbol="star", size=14, color="black"),
            )
        )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1)
    return fig


def load_balance_figure(
    loads: Any,
    duals: Any,
    learning_rates: Sequence[float],
    *,
    lp_value: float,
    title: str | None = None,
    height: int = 460,
):
    """Left: max/mean expert load against the step; right: the dual gap
    ``D(b_t) − LP*`` (log scale). One slider step per bias step size ``u`` (``learning_rates``).
    ``loads``: ``(U, T, E)``, ``duals``: ``(U, T)``."""
    L = np.asarray(loads, dtype=float)
    Dv = np.asarray(duals, dtype=float)
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.12,
        subplot_titles=("max load / mean load", "dual gap D(b_t) − LP*"),
    )
    T = L.shape[1]
    t = np.arange(T)
    for j in range(L.shape[0]):
        imb = L[j].max(1) / L[j].mean(1)
        gap = Dv[j] - lp_value
        gap = np.where(gap > 0, gap, np.nan)
        fig.add_trace(
            go.Scatter(
                x=t,
                y=np.round(imb, 4),
                mode="lines",
                name="max/mean",
                visible=j == 0,
                line=dict(color=COLORS[0], width=2),
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=t, y=gap, mode="lines", name="dual gap", visible=j == 0, line=dict(color=COLORS[1], width=2)
            ),
            row=1,
            col=2,
        )
    steps = [
        ("restyle", [{"visible": [k // 2 == j for k in range(2 * L.shape[0])]}]) for j in range(L.shape[0])
    ]
    style_figure(fig, title, None, None, height=height)
    fig.update_layout(sliders=[slider_menu([f"{u:.0e}" for u in learning_rates], "bias step u = ", steps)])
    fig.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    fig.update_xaxes(title_text="routing step t", row=1, col=1)
    fig.update_xaxes(title_text="routing step t", row=1, col=2)
    return fig


def relu_fits(
    t_data: Any,
    y_data: Any,
    t_grid: Any,
    convex_fit: Any,
    nonconvex_fits: Any,
    nonconvex_values: Sequence[float],
    convex_value: float,
    *,
    title: str | None = None,
    height: int = 460,
):
    """Data, the network rebuilt from the convex solution (static) and one
    nonconvex GD fit per slider step (labelled with its final objective)."""
    static = [
        go.Scatter(
            x=np.asarray(t_data),
            y=np.asarray(y_data),
            mode="markers",
            name="data",
            marker=dict(color="black", size=7),
        ),
        go.Scatter(
            x=np.asarray(t_grid),
            y=np.asarray(convex_fit),
            mode="lines",
            name=f"convex (ADMM), objective {convex_value:.4f}",
            line=dict(color=COLORS[0], width=3),
        ),
    ]
    groups = [
        [
            go.Scatter(
                x=np.asarray(t_grid),
                y=np.asarray(fit),
                mode="lines",
                name=f"GD, objective {v:.4f}",
                line=dict(color=COLORS[1], dash="dash", width=2),
            )
        ]
        for fit, v in zip(nonconvex_fits, nonconvex_values, strict=False)
    ]
    return stepped_figure(
        groups,
        [str(i) for i in range(len(groups))],
        prefix="GD seed ",
        static=static,
        title=title,
        xaxis_title="input t",
        yaxis_title="prediction",
        height=height,
    )


_PG_FW_CENTRE = (1.2, 0.9)
_PG_FW_CURVATURE = (1.0, 4.0)


def _pg_fw_objective(x):
    """½ (x − c)ᵀ diag(1, 4) (x − c) with c = (1.2, 0.9): its minimiser lies outside every set."""
    c = jnp.asarray(_PG_FW_CENTRE, x.dtype)
    a = jnp.asarray(_PG_FW_CURVATURE, x.dtype)
    return 0.5 * jnp.sum(a * (x - c) ** 2)


_PG_FW_SETS: dict[str, Callable[[], Any]] = {
    "ℓ2 ball": lambda: cs.l2_ball(1.0),
    "ℓ1 ball": lambda: cs.l1_ball(1.0),
    "box [−1, 1]²": lambda: cs.box(-1.0, 1.0),
}
_PG_FW_RULES = {"open loop 2/(t+2)": "open_loop", "short step (uses L)": "short"}


def _set_outline(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name.startswith("ℓ2"):
        t = np.linspace(0, 2 * np.pi, 121)
        return np.cos(t), np.sin(t)
    if name.startswith("ℓ1"):
        return np.array([1.0, 0.0, -1.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0, -1.0, 0.0])
    return np.array([1.0, -1.0, -1.0, 1.0, 1.0]), np.array([1.0, 1.0, -1.0, -1.0, 1.0])


@partial(jax.jit, static_argnames=("f", "rule", "num_steps"))
def _pg_fw_run(cset, x0, learning_rate, L, *, f, rule, num_steps):
    """Frank–Wolfe (``rule``) and projected gradient (step ``learning_rate``) from ``x0``."""
    fw = cs.frank_wolfe(f, cset, x0, num_steps=num_steps, learning_rate=rule, L=L)
    pg = cs.projected_gradient(f, cset, x0, learning_rate=learning_rate, num_steps=num_steps)
    return fw.iterates, fw.gaps, pg.iterates, pg.grad_maps


def pg_fw_explorer(
    *,
    f: Callable = _pg_fw_objective,
    L: float = 4.0,
    x0: Sequence[float] = (-0.6, -0.6),
    learning_rates: Sequence[float] = (0.05, 0.2, 0.45),
    learning_rate: float = 0.2,
    num_steps: int = 50,
    lim: float = 1.4,
    dtype: Any = jnp.float32,
    title: str | None = None,
) -> Explorer:
    """Projected gradient against Frank–Wolfe in the plane, over a feasible set chosen from a menu.

    The sets are the unit ℓ2 ball, the unit ℓ1 ball and the box ``[−1, 1]²``
    (:mod:`optlab.constrained`); both methods start from the projection of ``x0`` onto the
    set.  Every change runs ``frank_wolfe(f, set, x0, learning_rate=rule, L=L)`` (rule
    ``"open_loop"``, ``γ_t = 2/(t+2)``, or ``"short"``) and
    ``projected_gradient(f, set, x0, learning_rate=η)`` for ``num_steps`` steps under one
    compiled function (one compilation per set type and rule) and draws both paths over
    the level sets of ``f``; the title reports the final Frank–Wolfe gap and gradient
    mapping (both certificates of optimality).  The static figure sweeps the set and the
    rule (``η`` at its value).

    Args:
      f: the objective on ℝ², a hashable JAX-traceable callable (default
        ``½ (x − c)ᵀ diag(1, 4)(x − c)``, ``c = (1.2, 0.9)``, whose minimiser is infeasible).
      L: the smoothness constant of ``f`` (used by the short step), positive.
      x0: the start before projection.
      learning_rates: the projected-gradient steps ``η`` offered (positive).
      learning_rate: the first ``η`` shown (one of ``learning_rates``).
      num_steps: steps of each method (≥ 1).
      lim: half-width of the plotted box.
      dtype: the floating dtype of the runs.
      title: the figure title (default: the set, the rule and both certificates).

    Returns:
      A :class:`~optlab.viz.Explorer` with controls ``cset`` (the set), ``rule`` (Frank–Wolfe's
      step) and ``learning_rate`` (projected gradient's ``η``).

    Raises:
      ValueError: ``num_steps < 1``, ``L`` or ``lim`` not positive, ``x0`` not a finite
        point of ℝ², or ``learning_rate`` not among ``learning_rates``.
      TypeError: ``f`` not callable.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    for name, v in (("L", L), ("lim", lim)):
        if not float(v) > 0:
            raise ValueError(f"{name} must be positive, got {v!r}")
    x0_np = np.asarray(x0, dtype=float)
    if x0_np.shape != (2,) or not np.all(np.isfinite(x0_np)):
        raise ValueError(f"x0 must be a finite point of the plane, got {x0!r}")
    sets = {name: make() for name, make in _PG_FW_SETS.items()}
    starts = {name: S.project(jnp.asarray(x0_np, dtype)) for name, S in sets.items()}
    L_arr = jnp.asarray(L, dtype)

    gx = np.linspace(-lim, lim, 60)
    Z = np.asarray(jax.vmap(jax.vmap(f))(jnp.asarray(np.stack(np.meshgrid(gx, gx), -1), dtype)), dtype=float)
    fig = go.Figure(
        [
            go.Contour(
                x=gx,
                y=gx,
                z=np.round(Z, 4),
                showscale=False,
                contours=dict(coloring="lines"),
                colorscale="Greys",
                ncontours=18,
                hoverinfo="skip",
                name="level sets of f",
            ),
            go.Scatter(
                name="feasible set",
                mode="lines",
                line=dict(color="black", width=2),
                fill="toself",
                fillcolor="rgba(0,0,0,0.05)",
            ),
            go.Scatter(
                name="projected gradient",
                mode="lines+markers",
                marker=dict(size=4, color=COLORS[0]),
                line=dict(color=COLORS[0], width=1.8),
            ),
            go.Scatter(
                name="Frank–Wolfe",
                mode="lines+markers",
                marker=dict(size=4, color=COLORS[1]),
                line=dict(color=COLORS[1], width=1.2),
            ),
        ]
    )
    style_figure(fig, title, "x₁", "x₂", height=560)
    fig.update_xaxes(range=[-lim, lim], constrain="domain")
    fig.update_yaxes(range=[-lim, lim], scaleanchor="x", scaleratio=1)

    def update(cset: str, rule: str, learning_rate: float) -> Frame:
        S = sets[cset]
        fw_x, fw_gaps, pg_x, pg_maps = _pg_fw_run(
            S,
            starts[cset],
            jnp.asarray(learning_rate, dtype),
            L_arr,
            f=f,
            rule=_PG_FW_RULES[rule],
            num_steps=num_steps,
        )
        fw_x, pg_x = np.asarray(fw_x, dtype=float), np.asarray(pg_x, dtype=float)
        ox, oy = _set_outline(cset)
        return Frame(
            {
                1: {"x": ox, "y": oy},
                2: {"x": pg_x[:, 0], "y": pg_x[:, 1]},
                3: {"x": fw_x[:, 0], "y": fw_x[:, 1]},
            },
            layout={
                "title.text": title
                or f"{cset}, {rule}, η = {learning_rate:.3g}: after {num_steps} steps "
                f"FW gap {float(fw_gaps[-1]):.1e}, PG gradient mapping {float(pg_maps[-1]):.1e}"
            },
        )

    controls = {
        "cset": dropdown("set", list(_PG_FW_SETS)),
        "rule": dropdown("FW step", list(_PG_FW_RULES)),
        "learning_rate": log_slider(
            "PG η", [float(v) for v in learning_rates], value=learning_rate, bounds=(0.01, 1.0)
        ),
    }
    return Explorer(fig, update, controls, static=["cset", "rule"])
