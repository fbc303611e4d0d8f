"""Figures for the chapter on policy optimization and preference alignment
(``book/21_policy_optimization``): the KL-regularised trade-off explorer (the closed-form optimum
``π*_β ∝ π_ref exp(r/β)`` and, optionally, the DPO policy fitted on preference pairs, for a KL
weight ``β`` of the reader's choice), the iterative-DPO explorer (online against offline DPO
rounds, their gap to the KL-regularised optimum round by round), and the actor–critic explorer on
the scalar LQR (the gains of the natural and the vanilla actor–critic against the Riccati gain
``k*``, for actor and critic steps of the reader's choice).
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

from .. import rl
from .core import COLORS, style_figure
from .explorer import Explorer, Frame, log_slider

__all__ = ["kl_tradeoff_explorer", "iterative_dpo_explorer", "actor_critic_explorer"]


def _reward_tables(reward, ref_policy, context):
    """``reward`` and ``ref_policy`` as ``X × Y`` arrays of one dtype, checked (shapes, the
    context index ``0 ≤ x < X``, and the tables themselves by :func:`optlab.rl.kl_regularized_policy`)."""
    reward = jnp.asarray(reward)
    ref_policy = jnp.asarray(ref_policy, reward.dtype)
    if reward.ndim != 2 or ref_policy.shape != reward.shape:
        raise ValueError(
            f"reward and ref_policy must both be X × Y, got {reward.shape} and {ref_policy.shape}"
        )
    X = reward.shape[0]
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or not 0 <= context < X:
        raise ValueError(f"context must be an integer in 0..{X - 1}, got {context!r}")
    rl.kl_regularized_policy(reward, ref_policy, 1.0)  # validates the two tables
    return reward, ref_policy


def _positive_ints(**counts):
    """Raise ``ValueError`` naming the first of ``counts`` that is not an integer ``>= 1``."""
    for name, v in counts.items():
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")


def _reward_and_kl(pi, reward, ref_policy):
    """Mean reward ``E_x E_π r`` and mean ``KL(π ‖ π_ref)`` over uniform contexts (``0 log 0 = 0``:
    at small β the optimal policy underflows to exact zeros)."""
    kl = jnp.sum(jax.scipy.special.xlogy(pi, pi) - jax.scipy.special.xlogy(pi, ref_policy), axis=1)
    return jnp.mean(jnp.sum(pi * reward, axis=1)), jnp.mean(kl)


@jax.jit
def _frontier(reward, ref_policy, betas):
    def one(beta):
        pi = rl.kl_regularized_policy(reward, ref_policy, beta)
        return _reward_and_kl(pi, reward, ref_policy)

    return jax.vmap(one)(betas)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _update(reward, ref_policy, counts, beta, learning_rate, *, num_steps):
    star = rl.kl_regularized_policy(reward, ref_policy, beta)
    r_star, kl_star = _reward_and_kl(star, reward, ref_policy)
    if counts is None:
        return star, r_star, kl_star, None, None, None
    fit = rl.dpo(counts, ref_policy, beta=beta, learning_rate=learning_rate, num_steps=num_steps).policy()
    r_fit, kl_fit = _reward_and_kl(fit, reward, ref_policy)
    return star, r_star, kl_star, fit, r_fit, kl_fit


def kl_tradeoff_explorer(
    reward: Any,
    ref_policy: Any,
    *,
    betas: Sequence[float],
    beta: float | None = None,
    counts: Any = None,
    learning_rate: float = 10.0,
    num_steps: int = 2000,
    context: int = 0,
    title: str | None = "Reward against KL: the KL-regularised optimum",
    height: int = 440,
) -> Explorer:
    """Live figure of the KL-regularised problem ``max_π E r − β KL(π ‖ π_ref)`` for a weight ``β`` of
    the reader's choice. Left: the frontier of mean reward against mean ``KL(π*_β ‖ π_ref)`` traced
    by the closed-form optimum ``π*_β ∝ π_ref exp(r/β)`` (:func:`optlab.rl.kl_regularized_policy`)
    over ``β``, with the current ``β`` marked, and, when ``counts`` is given, the DPO policy
    fitted on those preference pairs (:func:`optlab.rl.dpo`) with the same ``β``. Right: ``π_ref``,
    ``π*_β`` (and the DPO policy) in one context.  Each change runs the library in one compiled
    call (``β`` is traced: no recompilation).

    Args:
      reward: the true reward ``r``, ``X × Y``.
      ref_policy: ``π_ref``, ``X × Y``, positive rows summing to 1.
      betas: the weights ``β`` of the static figure (positive).
      beta: the weight shown first (default: the middle one).
      counts: win counts ``W`` (``X × Y × Y``, :func:`optlab.rl.preference_counts`) for the DPO
        policy, or ``None``.
      learning_rate: DPO's gradient step at ``β = 1``; the step used is ``learning_rate / β²``
        (the curvature of the DPO loss grows like ``β²``).
      num_steps: DPO's gradient steps.
      context: the context ``x`` drawn on the right.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``beta`` (a log slider).

    Raises:
      ValueError: ``reward`` and ``ref_policy`` of different shapes, ``context`` out of range,
        ``num_steps < 1``, a non-positive ``β``.
    """
    reward, ref_policy = _reward_tables(reward, ref_policy, context)
    X, Y = reward.shape
    _positive_ints(num_steps=num_steps)
    if counts is not None:
        counts = jnp.asarray(counts, reward.dtype)
        rl.dpo_loss(jnp.log(ref_policy), ref_policy, counts, beta=1.0)  # validates the counts
    controls = {"beta": log_slider("β", betas, value=beta, bounds=(min(betas) / 10, max(betas) * 10))}
    grid = np.logspace(np.log10(min(betas) / 10), np.log10(max(betas) * 10), 80)
    r_grid, kl_grid = (
        np.asarray(v, float) for v in _frontier(reward, ref_policy, jnp.asarray(grid, reward.dtype))
    )

    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12)
    fig.add_trace(
        go.Scatter(x=kl_grid, y=r_grid, mode="lines", name="π*_β over β", line=dict(color="#555555")),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(mode="markers", name="π*_β", marker=dict(color=COLORS[0], size=12, symbol="circle")),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(mode="markers", name="DPO", marker=dict(color=COLORS[1], size=12, symbol="x")),
        row=1,
        col=1,
    )
    responses = np.arange(Y)
    fig.add_trace(
        go.Bar(x=responses, y=np.asarray(ref_policy[context], float), name="π_ref", marker_color="#999999"),
        row=1,
        col=2,
    )
    fig.add_trace(go.Bar(x=responses, name="π*_β", marker_color=COLORS[0]), row=1, col=2)
    fig.add_trace(go.Bar(x=responses, name="DPO", marker_color=COLORS[1]), row=1, col=2)
    style_figure(fig, title, None, None, height=height)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="mean KL(π ‖ π_ref)", type="log", row=1, col=1)
    fig.update_yaxes(title_text="mean reward E r", row=1, col=1)
    fig.update_xaxes(title_text=f"response y (context x = {context})", row=1, col=2)
    fig.update_yaxes(title_text="π(y|x)", row=1, col=2)

    def update(beta):
        b = jnp.asarray(beta, reward.dtype)
        lr = jnp.asarray(learning_rate / beta**2, reward.dtype)
        star, r_star, kl_star, fit, r_fit, kl_fit = _update(
            reward, ref_policy, counts, b, lr, num_steps=num_steps
        )
        data: dict[int, dict] = {
            1: {"x": [float(kl_star)], "y": [float(r_star)]},
            4: {"y": np.asarray(star[context], float)},
        }
        text = f"β = {beta:.3g}: π*_β earns {float(r_star):.3f} at KL {float(kl_star):.3f}"
        if fit is not None:
            data[2] = {"x": [float(kl_fit)], "y": [float(r_fit)]}
            data[5] = {"y": np.asarray(fit[context], float)}
            gap = float(jnp.max(jnp.abs(fit - star)))
            text += f"; DPO {float(r_fit):.3f} at KL {float(kl_fit):.3f} (max |π_DPO − π*| = {gap:.3f})"
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)


@functools.partial(jax.jit, static_argnames=("num_rounds", "pairs_per_round", "num_steps"))
def _idpo_update(reward, ref_policy, keys, beta, learning_rate, *, num_rounds, pairs_per_round, num_steps):
    def run(online, k):
        return rl.iterative_dpo(
            reward,
            ref_policy,
            beta=beta,
            key=k,
            num_rounds=num_rounds,
            pairs_per_round=pairs_per_round,
            learning_rate=learning_rate,
            num_steps=num_steps,
            online=online,
        )

    star = rl.kl_regularized_policy(reward, ref_policy, beta)
    j_star = jnp.mean(rl.kl_regularized_objective(star, reward, ref_policy, beta))
    # one batch of (mode, seed): online and offline share the compiled loop
    out = jax.vmap(lambda m: jax.vmap(lambda k: run(m, k))(keys))(jnp.array([True, False]))
    gaps = j_star - jnp.mean(out.values, axis=1)
    pols = jnp.mean(out.policy(), axis=1)
    return star, gaps[0], gaps[1], pols[0], pols[1]


def iterative_dpo_explorer(
    reward: Any,
    ref_policy: Any,
    *,
    betas: Sequence[float],
    key: Any,
    beta: float | None = None,
    num_rounds: int = 8,
    pairs_per_round: int = 1000,
    learning_rate: float = 40.0,
    num_steps: int = 100,
    num_seeds: int = 4,
    context: int = 0,
    title: str | None = "Iterative DPO: online against offline pairs",
    height: int = 440,
) -> Explorer:
    """Live figure of iterative (online) DPO against offline DPO (:func:`optlab.rl.iterative_dpo`)
    for a KL weight ``β`` of the reader's choice. Left: the gap ``J_β(π*) − J_β(π_t)`` to the
    KL-regularised optimum after each round, online (pairs from the current policy) and offline
    (pairs from ``π_ref``), averaged over ``num_seeds`` seeds with the same keys for both. Right:
    ``π_ref``, ``π*_β`` and the two final policies (seed average) in one context. Each change
    re-runs both loops on every seed in one compiled call (``β`` is traced: no recompilation).

    Args:
      reward: the true reward ``r``, ``X × Y``.
      ref_policy: ``π_ref``, ``X × Y``, positive rows summing to 1.
      betas: the weights ``β`` of the static figure (positive).
      key: a JAX PRNG key (split into the seeds).
      beta: the weight shown first (default: the middle one).
      num_rounds: the rounds ``T``.
      pairs_per_round: the pairs ``n`` labelled per round.
      learning_rate: the DPO step at ``β = 1``; the step used is ``learning_rate / β²``.
      num_steps: DPO's gradient steps per round.
      num_seeds: the seeds averaged.
      context: the context ``x`` drawn on the right.
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the control ``beta`` (a log slider).

    Raises:
      ValueError: ``reward`` and ``ref_policy`` of different shapes, ``context`` out of range,
        a count below 1, a non-positive ``β``.
    """
    reward, ref_policy = _reward_tables(reward, ref_policy, context)
    X, Y = reward.shape
    _positive_ints(
        num_rounds=num_rounds, pairs_per_round=pairs_per_round, num_steps=num_steps, num_seeds=num_seeds
    )
    keys = jax.random.split(key, num_seeds)
    controls = {"beta": log_slider("β", betas, value=beta, bounds=(min(betas) / 10, max(betas) * 10))}
    rounds = np.arange(num_rounds + 1)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12)
    for name, color in (("online (pairs from π_t)", COLORS[0]), ("offline (pairs from π_ref)", COLORS[1])):
        fig.add_trace(
            go.Scatter(x=rounds, mode="lines+markers", name=name, line=dict(color=color)), row=1, col=1
        )
    responses = np.arange(Y)
    fig.add_trace(
        go.Bar(x=responses, y=np.asarray(ref_policy[context], float), name="π_ref", marker_color="#999999"),
        row=1,
        col=2,
    )
    fig.add_trace(go.Bar(x=responses, name="π*_β", marker_color="#555555"), row=1, col=2)
    fig.add_trace(go.Bar(x=responses, name="online π_T", marker_color=COLORS[0]), row=1, col=2)
    fig.add_trace(go.Bar(x=responses, name="offline π_T", marker_color=COLORS[1]), row=1, col=2)
    style_figure(fig, title, None, None, height=height)
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="round t", row=1, col=1)
    fig.update_yaxes(title_text="J_β(π*) − J_β(π_t)", row=1, col=1)
    fig.update_xaxes(title_text=f"response y (context x = {context})", row=1, col=2)
    fig.update_yaxes(title_text="π(y|x)", row=1, col=2)

    def update(beta):
        b = jnp.asarray(beta, reward.dtype)
        lr = jnp.asarray(learning_rate / beta**2, reward.dtype)
        star, gap_on, gap_off, pol_on, pol_off = _idpo_update(
            reward,
            ref_policy,
            keys,
            b,
            lr,
            num_rounds=num_rounds,
            pairs_per_round=pairs_per_round,
            num_steps=num_steps,
        )
        data: dict[int, dict] = {
            0: {"y": np.asarray(gap_on, float)},
            1: {"y": np.asarray(gap_off, float)},
            3: {"y": np.asarray(star[context], float)},
            4: {"y": np.asarray(pol_on[context], float)},
            5: {"y": np.asarray(pol_off[context], float)},
        }
        text = (
            f"β = {beta:.3g}: final gap online {float(gap_on[-1]):.3f}, offline {float(gap_off[-1]):.3f}"
            f" ({num_rounds} × {pairs_per_round} pairs)"
        )
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)


@functools.partial(jax.jit, static_argnames=("sys", "num_steps", "num_chains", "every"))
def _ac_update(key, k0, learning_rate, critic_learning_rate, *, sys, num_steps, num_chains, every):
    runs = [
        rl.actor_critic(
            sys,
            k0,
            key=key,
            num_steps=num_steps,
            learning_rate=learning_rate,
            critic_learning_rate=critic_learning_rate,
            num_chains=num_chains,
            method=method,
        )
        for method in ("natural", "vanilla")
    ]
    nat, van = runs
    exact = rl.lqr_return(nat.iterates[::every], sys)
    return nat.iterates[::every], van.iterates[::every], exact, nat.values[::every]


def actor_critic_explorer(
    sys: rl.LQR,
    k0: float,
    *,
    key: Any,
    learning_rates: Sequence[float],
    critic_learning_rates: Sequence[float],
    learning_rate: float | None = None,
    critic_learning_rate: float | None = None,
    num_steps: int = 1000,
    num_chains: int = 256,
    every: int = 5,
    title: str | None = "Actor–critic on the LQR: the gain k_t against the Riccati gain k*",
    height: int = 440,
) -> Explorer:
    """Live figure of actor–critic on the scalar LQR (:func:`optlab.rl.actor_critic`). Left: the
    gains ``k_t`` of the natural and of the vanilla actor–critic, from ``k0`` with the same samples,
    against the optimal gain ``k*`` (:func:`optlab.rl.lqr_optimal_gain`). Right: the natural run's
    critic estimate of the return ``J(k_t)`` against the exact ``J(k_t)``
    (:func:`optlab.rl.lqr_return`). Each change re-runs both methods in one compiled call (the two
    step sizes are traced: no recompilation).

    Args:
      sys: an :class:`optlab.rl.LQR` (its horizon is ignored: the infinite-horizon return is drawn).
      k0: the initial gain (a stabilising one).
      key: a JAX PRNG key (the same samples for every setting).
      learning_rates: the actor steps ``α`` of the static figure (positive).
      critic_learning_rates: the critic steps ``β`` of the static figure (positive).
      learning_rate: the ``α`` shown first (default: the middle one).
      critic_learning_rate: the ``β`` shown first (default: the middle one).
      num_steps: actor–critic steps per run.
      num_chains: parallel chains (transitions per step).
      every: draw every ``every``-th iterate (keeps the figure small).
      title: the figure title before the first update.
      height: the figure height in pixels.

    Returns:
      A :class:`optlab.viz.Explorer` with the controls ``learning_rate`` and
      ``critic_learning_rate`` (log sliders).

    Raises:
      TypeError: ``sys`` not an LQR.
      ValueError: non-positive integers ``num_steps``, ``num_chains`` or ``every``; a
        non-positive step; a default not among the static values.
    """
    if not isinstance(sys, rl.LQR):
        raise TypeError(f"sys must be an optlab.rl.LQR, got {type(sys).__name__}")
    for name, v in (("num_steps", num_steps), ("num_chains", num_chains), ("every", every)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    sys = sys._replace(horizon=None)
    k_star, j_star = rl.lqr_optimal_gain(sys)
    k0_arr = jnp.asarray(k0, jnp.result_type(float))
    controls = {
        "learning_rate": log_slider(
            "α",
            learning_rates,
            value=learning_rate,
            bounds=(min(learning_rates) / 4, max(learning_rates) * 2),
        ),
        "critic_learning_rate": log_slider(
            "β",
            critic_learning_rates,
            value=critic_learning_rate,
            bounds=(min(critic_learning_rates) / 4, max(critic_learning_rates) * 2),
        ),
    }
    steps = np.arange(0, num_steps + 1, every)

    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.12)
    fig.add_trace(
        go.Scatter(
            x=[0, num_steps],
            y=[k_star, k_star],
            mode="lines",
            name="k* (Riccati)",
            line=dict(color="#555555", dash="dash"),
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=steps, mode="lines", name="natural actor–critic", line=dict(color=COLORS[0])),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=steps, mode="lines", name="vanilla actor–critic", line=dict(color=COLORS[1])),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=steps, mode="lines", name="exact J(k_t) (natural)", line=dict(color="#555555")),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(x=steps, mode="lines", name="critic's estimate of J(k_t)", line=dict(color=COLORS[2])),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(
            x=[0, num_steps],
            y=[j_star, j_star],
            mode="lines",
            name="J(k*)",
            line=dict(color="#999999", dash="dot"),
        ),
        row=1,
        col=2,
    )
    style_figure(fig, title, None, None, height=height)
    fig.update_xaxes(title_text="step t", row=1, col=1)
    fig.update_yaxes(title_text="gain k_t", row=1, col=1)
    fig.update_xaxes(title_text="step t", row=1, col=2)
    fig.update_yaxes(title_text="return J", row=1, col=2)

    def update(learning_rate, critic_learning_rate):
        dt = k0_arr.dtype
        nat, van, exact, est = (
            np.asarray(v, float)
            for v in _ac_update(
                key,
                k0_arr,
                jnp.asarray(learning_rate, dt),
                jnp.asarray(critic_learning_rate, dt),
                sys=sys,
                num_steps=int(num_steps),
                num_chains=int(num_chains),
                every=int(every),
            )
        )

        def err(ks):
            return f"{abs(ks[-1] - k_star):.3g}" if np.all(np.isfinite(ks)) else "diverged"

        text = (
            f"α = {learning_rate:.3g}, β = {critic_learning_rate:.3g}: |k_T − k*| natural "
            f"{err(nat)}, vanilla {err(van)}"
        )
        data = {1: {"y": nat}, 2: {"y": van}, 3: {"y": exact}, 4: {"y": est}}
        return Frame(data, layout={"title.text": text})

    return Explorer(fig, update, controls)
