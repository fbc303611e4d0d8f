r"""The natural policy gradient for a softmax policy on a finite MDP (chapter 21).

Notation (chapter 21, on chapter 16's MDP ``(P, r, γ, ρ)``). Logits ``θ`` give
``π_θ(a|s) ∝ exp θ(s, a)``; ``A^π = Q^π − V^π``.

* Natural gradient (Kakade 2001): ``θ ← θ + η F(θ)^† ∇_θ V^{π_θ}(ρ)`` with the Fisher matrix
  ``F(θ) = E_{s∼d_π, a∼π} ∇log π ∇log πᵀ``. For the softmax table the step is
  ``θ ← θ + η A^{π_θ}/(1 − γ)`` (up to a per-state constant), i.e. the multiplicative update
  ``π_{t+1}(a|s) ∝ π_t(a|s) exp(η A^{π_t}(s, a)/(1 − γ))`` (Agarwal, Kakade, Lee, Mahajan 2021,
  Lemma 15), which does not depend on ``ρ``.
* With ``π_0`` uniform and rewards in ``[0, 1]``, for every ``ρ`` and ``T ≥ 1``
  (Agarwal et al. 2021, Theorem 16): ``V*(ρ) − V^{π_T}(ρ) ≤ 1/((1 − γ)² T) + log A/(η T)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_float_array, require_int, require_positive, require_shape
from .._types import Array, Float
from ._common import _as_scalar
from .tabular import MDP, _bellman_q, _policy_value, _require_mdp

__all__ = ["NPGOutput", "natural_policy_gradient"]


class NPGOutput(NamedTuple):
    """Result of :func:`natural_policy_gradient`.

    Attributes:
      params: the final logits ``θ_T``, shape ``(S, A)``.
      values: ``V^{π_t}(s)`` for ``t = 0..T`` and every state, shape ``(T+1, S)``.
    """

    params: Float[Array, "S A"]
    values: Float[Array, "T+1 S"]

    def policy(self) -> Float[Array, "S A"]:
        """``π_T = softmax(params)`` row by row."""
        return jax.nn.softmax(self.params, axis=-1)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _npg(mdp, theta0, lr, *, num_steps):
    scale = lr / (1 - mdp.gamma)

    def step(theta, _):
        # region: rl-npg-step
        pi = jax.nn.softmax(theta, axis=1)
        V = _policy_value(mdp, pi)
        advantage = _bellman_q(mdp, V) - V[:, None]
        theta = theta + scale * advantage  # π ← π exp(η A^π/(1 − γ)), normalised
        # endregion: rl-npg-step
        return theta - jnp.max(theta, axis=1, keepdims=True), V

    theta, Vs = jax.lax.scan(step, theta0, None, length=num_steps)
    V_last = _policy_value(mdp, jax.nn.softmax(theta, axis=1))
    return NPGOutput(theta, jnp.concatenate([Vs, V_last[None]], axis=0))


def natural_policy_gradient(
    mdp: MDP,
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    theta0: Float[Array, "S A"] | None = None,
) -> NPGOutput:
    """Exact natural policy gradient for the softmax table (Kakade 2001; Agarwal et al. 2021):
    ``θ_{t+1} = θ_t + η A^{π_t}/(1 − γ)``, i.e. ``π_{t+1} ∝ π_t exp(η A^{π_t}/(1 − γ))``
    (soft policy iteration). The logits are shifted to a row maximum of 0 at every step
    (the policy is unchanged), so they stay bounded in floating point.

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      learning_rate: ``η > 0``.
      num_steps: ``T ≥ 1`` (static).
      theta0: initial logits, shape ``(S, A)`` (default zeros: the uniform policy, the start
        Theorem 16 of Agarwal et al. assumes).

    Returns:
      :class:`NPGOutput`; ``.values @ mdp.rho`` is ``V^{π_t}(ρ)``.

    Raises:
      TypeError: ``mdp`` not an MDP, a non-integer ``num_steps``, non-numeric input.
      ValueError: ``η ≤ 0``, ``num_steps < 1``, ``theta0`` of the wrong shape or not finite.
    """
    _require_mdp(mdp)
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    require_int("num_steps", num_steps, minimum=1)
    dt = mdp.P.dtype
    if theta0 is None:
        theta0 = jnp.zeros((mdp.n_states, mdp.n_actions), dt)
    else:
        theta0 = as_float_array("theta0", theta0, ndim=2)
        require_shape("theta0", theta0, (mdp.n_states, mdp.n_actions))
    return _npg(mdp, theta0.astype(dt), lr.astype(dt), num_steps=int(num_steps))
