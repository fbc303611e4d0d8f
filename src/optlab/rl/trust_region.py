r"""Trust-region policy steps on a tabular policy: the exact KL-constrained step and PPO's
clipped surrogate (chapter 21).

Notation (chapter 21). Contexts ``x ∈ {0..X−1}`` (uniform), actions ``y ∈ {0..Y−1}``, the current
policy ``π_old`` and advantages ``A(x, y)``, both ``X × Y``.

* The exact step ``max_π E_{y∼π} A(x, y)`` subject to ``KL(π(·|x) ‖ π_old(·|x)) ≤ δ`` is
  ``π ∝ π_old exp(A/λ)`` with the temperature ``λ(x) > 0`` for which the constraint is active
  (the relative-entropy step of Peters et al. 2010; TRPO, Schulman et al. 2015, constrains
  ``KL(π_old ‖ π)`` instead and solves a quadratic model).
* PPO (Schulman et al. 2017) maximises the clipped surrogate
  ``E_{y∼π_old}[min(ρ A, clip(ρ, 1 − ε, 1 + ε) A)]`` with ``ρ = π(y|x)/π_old(y|x)``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_float_array, require_in_range, require_int, require_positive, require_shape
from .._types import Array, Float
from ._common import _as_scalar, _kl_rows
from .preference import _logit_steps, _policy_table, _table

__all__ = ["KLStepOutput", "kl_constrained_step", "ppo_clip_objective", "PPOOutput", "ppo"]


class KLStepOutput(NamedTuple):
    """Result of :func:`kl_constrained_step`.

    Attributes:
      params: the new policy ``π ∝ π_old exp(A/λ)``, shape ``(X, Y)``.
      temperatures: ``λ(x)``, shape ``(X,)``.
      kls: ``KL(π(·|x) ‖ π_old(·|x))``, shape ``(X,)``.
    """

    params: Float[Array, "X Y"]
    temperatures: Float[Array, " X"]
    kls: Float[Array, " X"]


def _tilt(policy_old, advantages, lam):
    return jax.nn.softmax(jnp.log(policy_old) + advantages / lam[:, None], axis=1)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _kl_step(policy_old, advantages, max_kl, *, num_steps):
    X = policy_old.shape[0]
    scale = jnp.max(jnp.abs(advantages), axis=1) + 1e-30
    lo = jnp.log(scale * 1e-4)  # small temperature: nearly greedy, large KL
    hi = jnp.log(scale * 1e6)  # large temperature: nearly π_old, KL ≈ 0

    # region: rl-kl-step-bisection
    def body(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        too_far = _kl_rows(_tilt(policy_old, advantages, jnp.exp(mid)), policy_old) > max_kl
        return jnp.where(too_far, mid, lo), jnp.where(too_far, hi, mid)  # KL decreases with λ

    lo, hi = jax.lax.fori_loop(0, num_steps, body, (jnp.broadcast_to(lo, (X,)), jnp.broadcast_to(hi, (X,))))
    # endregion: rl-kl-step-bisection
    lam = jnp.exp(hi)
    pi = _tilt(policy_old, advantages, lam)
    return KLStepOutput(pi, lam, _kl_rows(pi, policy_old))


def kl_constrained_step(
    policy_old: Float[Array, "X Y"],
    advantages: Float[Array, "X Y"],
    max_kl: float | Float[Array, ""],
    *,
    num_steps: int = 100,
) -> KLStepOutput:
    """The exact trust-region step ``argmax_π E_π A`` subject to ``KL(π(·|x) ‖ π_old(·|x)) ≤ δ`` in
    every context: ``π ∝ π_old exp(A/λ)``, with ``λ(x)`` found by bisection on ``log λ`` so that the
    KL is at most ``δ`` and within the bisection's resolution of it (when ``δ`` exceeds the KL
    of the nearly greedy policy the step stops there).

    Args:
      policy_old: ``π_old``, shape ``(X, Y)``, positive rows summing to 1.
      advantages: ``A``, shape ``(X, Y)``, finite.
      max_kl: the radius ``δ > 0``.
      num_steps: bisection steps (static).

    Returns:
      :class:`KLStepOutput`.

    Raises:
      TypeError: non-numeric arrays, a non-integer ``num_steps``.
      ValueError: wrong shapes, ``policy_old`` not stochastic and positive, ``δ ≤ 0``,
        ``num_steps < 1``.
    """
    pi = _policy_table("policy_old", policy_old)
    adv = _table("advantages", advantages, pi.shape)
    delta = _as_scalar("max_kl", max_kl)
    require_positive("max_kl", delta)
    require_int("num_steps", num_steps, minimum=1)
    dt = jnp.result_type(pi, adv)
    return _kl_step(pi.astype(dt), adv.astype(dt), delta.astype(dt), num_steps=num_steps)


@jax.jit
def _clip_objective(logits, policy_old, advantages, clip):
    # region: rl-ppo-clip
    ratio = jnp.exp(jax.nn.log_softmax(logits, axis=1) - jnp.log(policy_old))
    clipped = jnp.clip(ratio, 1.0 - clip, 1.0 + clip)
    per_action = jnp.minimum(ratio * advantages, clipped * advantages)
    return jnp.mean(jnp.sum(policy_old * per_action, axis=1))
    # endregion: rl-ppo-clip


def _clip(clip) -> jax.Array:
    c = _as_scalar("clip", clip)
    require_positive("clip", c)
    require_in_range("clip", c, 0.0, 1.0, high_inclusive=False)
    return c


def ppo_clip_objective(
    logits: Float[Array, "X Y"],
    policy_old: Float[Array, "X Y"],
    advantages: Float[Array, "X Y"],
    *,
    clip: float | Float[Array, ""],
) -> Float[Array, ""]:
    """PPO's clipped surrogate in exact expectation over ``y ∼ π_old(·|x)`` and uniform ``x``:
    ``E_x Σ_y π_old(y|x) min(ρ A, clip(ρ, 1 − ε, 1 + ε) A)`` with ``ρ = π/π_old`` and
    ``π = softmax(logits)`` (Schulman et al. 2017).

    Args:
      logits: the new policy's logits, shape ``(X, Y)``.
      policy_old: ``π_old``, shape ``(X, Y)``, positive rows summing to 1.
      advantages: ``A``, shape ``(X, Y)``.
      clip: ``ε ∈ (0, 1)``.

    Returns:
      The surrogate, a scalar.

    Raises:
      TypeError: non-numeric arrays.
      ValueError: wrong shapes, ``policy_old`` not stochastic and positive, ``ε`` outside ``(0, 1)``.
    """
    logits = _table("logits", logits)
    pi = _policy_table("policy_old", policy_old, logits.shape)
    adv = as_float_array("advantages", advantages, ndim=2)
    require_shape("advantages", adv, logits.shape)
    c = _clip(clip)
    dt = jnp.result_type(logits, pi, adv)
    return _clip_objective(logits.astype(dt), pi.astype(dt), adv.astype(dt), c.astype(dt))


class PPOOutput(NamedTuple):
    """Result of :func:`ppo`.

    Attributes:
      params: the final logits, shape ``(X, Y)``.
      values: the surrogate at every iterate, shape ``(K + 1,)``.
      grad_norms: the gradient norm at every iterate, shape ``(K + 1,)``.
    """

    params: Float[Array, "X Y"]
    values: Float[Array, " K+1"]
    grad_norms: Float[Array, " K+1"]

    def policy(self) -> Float[Array, "X Y"]:
        """``π = softmax(params)`` row by row."""
        return jax.nn.softmax(self.params, axis=-1)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _ppo_run(policy_old, advantages, clip, lr, *, num_steps):
    args = (policy_old, advantages, clip)
    return PPOOutput(*_logit_steps(_clip_objective, jnp.log(policy_old), args, lr, num_steps))


def ppo(
    policy_old: Float[Array, "X Y"],
    advantages: Float[Array, "X Y"],
    *,
    clip: float | Float[Array, ""],
    learning_rate: float | Float[Array, ""],
    num_steps: int,
) -> PPOOutput:
    """PPO's policy update with exact expectations: gradient ascent on
    :func:`ppo_clip_objective` over the logits, started at ``log π_old``.

    Args:
      policy_old: ``π_old``, shape ``(X, Y)``, positive rows summing to 1.
      advantages: ``A``, shape ``(X, Y)``.
      clip: ``ε ∈ (0, 1)``.
      learning_rate: the constant ascent step ``> 0``.
      num_steps: the gradient steps ``K ≥ 1`` (static).

    Returns:
      :class:`PPOOutput`; ``.policy()`` is the updated policy.

    Raises:
      TypeError: non-numeric arrays, a non-integer ``num_steps``.
      ValueError: wrong shapes, ``policy_old`` not stochastic and positive, ``ε`` outside
        ``(0, 1)``, a non-positive ``learning_rate``, ``num_steps < 1``.
    """
    pi = _policy_table("policy_old", policy_old)
    adv = _table("advantages", advantages, pi.shape)
    c = _clip(clip)
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    require_int("num_steps", num_steps, minimum=1)
    dt = jnp.result_type(pi, adv)
    return _ppo_run(pi.astype(dt), adv.astype(dt), c.astype(dt), lr.astype(dt), num_steps=num_steps)
