"""Adversarial bandits: EXP3 (chapter 10)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._checks import (
    require_in_range,
    require_key,
    require_positive,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import HIGHEST, _check_losses, _check_scalar
from .results import BanditResult

# ---------------------------------------------------------------------------
# bandits: EXP3
# ---------------------------------------------------------------------------


def exp3(
    losses: Float[Array, "T K"],
    *,
    learning_rate: float | Float[Array, ""],
    key: PRNGKeyArray,
    gamma: float | Float[Array, ""] = 0.0,
) -> BanditResult:
    """EXP3 for adversarial bandits with losses in ``[0, 1]`` (Auer et al. 2002).

    ``p_t = (1 − γ) softmax(−η L̂_{t−1}) + γ/K``; draw ``I_t ~ p_t``, observe only
    ``ℓ_{t,I_t}`` and update the importance-weighted estimate
    ``L̂_t = L̂_{t−1} + ℓ_{t,I_t}/p_{t,I_t} · e_{I_t}`` (unbiased:
    ``E[ℓ̂_t] = ℓ_t``).  With ``γ = 0``, ``E[R_T] ≤ log(K)/η + ηTK/2``, minimised
    by ``η = √(2 log(K)/(TK))`` to ``√(2TK log K)``.

    Args:
      key: a JAX PRNG key (an integer seed is refused with a TypeError).
      losses: ``(T, K)`` losses in ``[0, 1]``.
      learning_rate: ``η > 0`` (scalar, may be traced).
      gamma: exploration ``γ ∈ [0, 1)``.

    Returns:
      :class:`BanditResult`.

    Raises:
      TypeError / ValueError: invalid key, losses outside ``[0, 1]``, ``η ≤ 0``, ``γ ∉ [0, 1)``.
    """
    require_key("key", key)
    losses = _check_losses("losses", losses, unit=True)
    _check_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    _check_scalar("gamma", gamma)
    require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
    dt = losses.dtype
    return _exp3(key, losses, jnp.asarray(learning_rate, dt), jnp.asarray(gamma, dt))


@jax.jit
def _exp3(key, losses, learning_rate, gamma):
    T, K = losses.shape
    keys = jax.random.split(key, T)

    def body(L_hat, inp):
        k, ell = inp
        p = (1.0 - gamma) * jax.nn.softmax(-learning_rate * L_hat) + gamma / K
        i = jax.random.categorical(k, jnp.log(p))
        obs = ell[i]
        L_hat = L_hat.at[i].add(obs / p[i])
        return L_hat, (p, i, obs, jnp.dot(p, ell, precision=HIGHEST))

    _, (ps, arms, obs, exp_l) = jax.lax.scan(body, jnp.zeros((K,), losses.dtype), (keys, losses))
    best = jnp.min(jnp.cumsum(losses, axis=0), axis=1)
    return BanditResult(ps, arms, obs, exp_l, jnp.cumsum(obs) - best, jnp.cumsum(exp_l) - best)
