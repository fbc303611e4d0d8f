r"""Actor–critic on the scalar linear-quadratic regulator of chapter 16 (chapter 21).

Notation (chapters 16 and 21). Scalar LQR ``x' = a x + b u + w``, ``w ~ N(0, σ_w²)``, reward
``r = −(q x² + R u²)``, discount ``γ``, Gaussian linear policy ``u = k x + σ ξ``, ``ξ ~ N(0, 1)``.

* Value of the gain ``k`` (infinite horizon): ``V_k(x) = −(p x² + c)`` with
  ``p = (q + R k²)/(1 − γ(a + bk)²)`` and ``c = (Rσ² + γ p (b²σ² + σ_w²))/(1 − γ)``, so the
  critic ``V_v(x) = v₁ x² + v₂`` (features ``φ(x) = (x², 1)``) can be exact.
* Critic: TD(0) on a batch of ``N`` on-policy chains, ``δ = r + γ V_v(x') − V_v(x)``,
  ``v ← v + β mean(δ φ(x))`` (Sutton 1988).
* Score (compatible feature): ``ψ = ∂_k log π_k(u|x) = (u − kx) x/σ²``.
* Actor, vanilla: ``k ← k + α mean(δ ψ)``; natural (Peters & Schaal 2008; Bhatnagar, Sutton,
  Ghavamzadeh & Lee 2009): the compatible critic ``A_w = w ψ`` is fitted to ``δ`` by
  ``w ← w + β_w mean((δ − w ψ) ψ)`` and ``k ← k + α w``. By the compatible function approximation
  theorem (Sutton, McAllester, Singh & Mansour 2000) the fitted ``w`` is the natural gradient
  ``F⁻¹ ∇J``; on the LQR it equals ``−2σ²(Rk + γ p b (a + bk))`` for every state distribution.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_float_array, require_int, require_key, require_positive, require_shape
from .._types import Array, Float, PRNGKeyArray
from ._common import _as_scalar
from .policy_gradient import LQR, Rollouts, _need_horizon, _require_lqr, _rollouts

__all__ = [
    "ActorCriticOutput",
    "actor_critic",
    "lqr_td_critic",
    "actor_critic_gradient",
]

_METHODS = ("natural", "vanilla")


class ActorCriticOutput(NamedTuple):
    """Result of :func:`actor_critic` and :func:`lqr_td_critic`.

    Attributes:
      params: the final gain ``k_T`` (for :func:`lqr_td_critic`, the fixed gain ``k``).
      iterates: the gains ``k_0, …, k_T``, shape ``(T+1,)``.
      critic_params: the final critic weights ``v_T = (v₁, v₂)``, ``V_v(x) = v₁x² + v₂``.
      critic_iterates: ``v_0, …, v_T``, shape ``(T+1, 2)``.
      values: the critic's estimate of the return ``J(k_t) = E V(x_0) ≈ v₁σ₀² + v₂``, shape ``(T+1,)``.
      gradients: the actor's step directions (``mean(δψ)`` or the compatible weight ``w``), shape ``(T,)``.
    """

    params: Float[Array, ""]
    iterates: Float[Array, " T+1"]
    critic_params: Float[Array, " 2"]
    critic_iterates: Float[Array, "T+1 2"]
    values: Float[Array, " T+1"]
    gradients: Float[Array, " T"]


def _features(x):
    return jnp.stack([x * x, jnp.ones_like(x)], axis=-1)


def _transition(z, k, x, sys: LQR):
    """One on-policy step of every chain, ``(u, r, x')``, from the standard normals ``z = (ξ, ε)``."""
    u = k * x + sys.sigma * z[0]
    r = -(sys.q * x * x + sys.R * u * u)
    x_next = sys.a * x + sys.b * u + sys.noise * z[1]
    return u, r, x_next


def _td_error(v, x, r, x_next, sys: LQR):
    # region: rl-ac-td-error
    delta = r + sys.gamma * jnp.dot(_features(x_next), v) - jnp.dot(_features(x), v)
    # endregion: rl-ac-td-error
    return delta


def _score(k, x, u, sys: LQR):
    """``ψ = ∂_k log N(u; kx, σ²) = (u − kx) x/σ²``."""
    return (u - k * x) * x / sys.sigma**2


@functools.partial(jax.jit, static_argnames=("sys", "num_steps", "num_chains", "method"))
def _ac_run(key, k0, v0, learning_rate, critic_learning_rate, sys, num_steps, num_chains, method):
    dt = k0.dtype
    k_init, k_loop = jax.random.split(key)
    x0 = sys.x0_std * jax.random.normal(k_init, (num_chains,), dt)

    def step(carry, z):
        k, v, w, x = carry
        u, r, x_next = _transition(z, k, x, sys)
        # region: rl-ac-step
        delta = _td_error(v, x, r, x_next, sys)  # TD error: a sampled advantage
        psi = _score(k, x, u, sys)  # compatible feature ∂_k log π_k(u|x)
        v = v + critic_learning_rate * jnp.mean(delta[:, None] * _features(x), axis=0)  # critic: TD(0)
        if method == "natural":
            w = w + critic_learning_rate * jnp.mean((delta - w * psi) * psi)  # A_w = wψ fitted to δ
            direction = w  # = F⁻¹∇J at the fixed point (compatible features)
        else:
            direction = jnp.mean(delta * psi)  # δψ: the one-step policy gradient estimate
        k = k + learning_rate * direction
        # endregion: rl-ac-step
        return (k, v, w, x_next), (k, v, direction)

    noise = jax.random.normal(k_loop, (num_steps, 2, num_chains), dt)  # (ξ, ε) of every step
    init = (k0, v0, jnp.zeros((), dt), x0)
    (kT, vT, _, _), (ks, vs, dirs) = jax.lax.scan(step, init, noise)
    iterates = jnp.concatenate([k0[None], ks])
    critic_iterates = jnp.concatenate([v0[None], vs], axis=0)
    values = critic_iterates[:, 0] * sys.x0_std**2 + critic_iterates[:, 1]
    return ActorCriticOutput(kT, iterates, vT, critic_iterates, values, dirs)


def _critic0(critic0: Any, dt) -> jax.Array:
    if critic0 is None:
        return jnp.zeros((2,), dt)
    v0 = as_float_array("critic0", critic0, ndim=1)
    require_shape("critic0", v0, (2,))
    return v0.astype(dt)


def actor_critic(
    sys: LQR,
    k0: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    num_steps: int,
    learning_rate: float | Float[Array, ""],
    critic_learning_rate: float | Float[Array, ""],
    num_chains: int = 64,
    method: str = "natural",
    critic0: Float[Array, " 2"] | None = None,
) -> ActorCriticOutput:
    """Actor–critic on the scalar LQR: ``N`` on-policy chains take one transition per step; a TD(0)
    critic ``V_v(x) = v₁x² + v₂`` learns the value of the current gain and the actor moves ``k``
    along the TD error times the score ``ψ = (u − kx)x/σ²`` (``method="vanilla"``, Sutton et al.
    2000) or along the weight ``w`` of the compatible critic ``A_w = wψ`` (``method="natural"``:
    the natural actor–critic of Peters & Schaal 2008 and Bhatnagar et al. 2009, for which ``w`` is
    the natural gradient). One ``lax.scan``, compiled once per ``sys``, ``num_steps``,
    ``num_chains`` and ``method``; the learning rates are traced.

    Args:
      sys: an :class:`~optlab.rl.LQR` (its ``horizon`` is ignored: the critic is the discounted
        infinite-horizon value; ``x0_std`` sets the chains' initial states and ``values``).
      k0: the initial gain, a finite scalar (a stabilising one, ``γ(a + bk₀)² < 1``).
      key: a JAX PRNG key.
      num_steps: ``T ≥ 1`` actor–critic steps (static).
      learning_rate: the actor's step ``α > 0``.
      critic_learning_rate: the critics' step ``β > 0`` (TD(0) and the compatible critic).
      num_chains: ``N ≥ 1`` parallel chains, one transition each per step (static).
      method: ``"natural"`` or ``"vanilla"`` (static).
      critic0: initial critic weights ``(v₁, v₂)`` (default zeros).

    Returns:
      :class:`ActorCriticOutput`.

    Raises:
      TypeError: ``sys`` not an LQR, an integer seed, non-numeric arguments.
      ValueError: non-positive learning rates, ``num_steps < 1``, ``num_chains < 1``, an unknown
        method, ``critic0`` not of shape ``(2,)``, NaN/inf.
    """
    _require_lqr(sys)
    require_key("key", key)
    require_int("num_steps", num_steps, minimum=1)
    require_int("num_chains", num_chains, minimum=1)
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    k0 = as_float_array("k0", k0, ndim=0)
    dt = k0.dtype
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    clr = _as_scalar("critic_learning_rate", critic_learning_rate)
    require_positive("critic_learning_rate", clr)
    v0 = _critic0(critic0, dt)
    return _ac_run(key, k0, v0, lr.astype(dt), clr.astype(dt), sys, int(num_steps), int(num_chains), method)


def lqr_td_critic(
    sys: LQR,
    k: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    num_steps: int,
    learning_rate: float | Float[Array, ""],
    num_chains: int = 64,
    critic0: Float[Array, " 2"] | None = None,
) -> ActorCriticOutput:
    """The critic of :func:`actor_critic` alone: TD(0) with features ``(x², 1)`` for the fixed gain
    ``k``, on ``N`` on-policy chains (batch TD(0), Sutton 1988). The exact value
    ``V_k(x) = −(p x² + c)`` lies in the span of the features, so it is the TD fixed point.

    Args:
      sys: an :class:`~optlab.rl.LQR`.
      k: the gain, a finite scalar.
      key: a JAX PRNG key.
      num_steps: ``T ≥ 1`` TD steps (static).
      learning_rate: the TD step ``β > 0``.
      num_chains: ``N ≥ 1`` parallel chains (static).
      critic0: initial weights ``(v₁, v₂)`` (default zeros).

    Returns:
      :class:`ActorCriticOutput` with the gain held at ``k`` (``gradients`` are the
      compatible-critic weights ``w`` it also fits).

    Raises:
      TypeError, ValueError: as :func:`actor_critic`.
    """
    _require_lqr(sys)
    require_key("key", key)
    require_int("num_steps", num_steps, minimum=1)
    require_int("num_chains", num_chains, minimum=1)
    k = as_float_array("k", k, ndim=0)
    dt = k.dtype
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    v0 = _critic0(critic0, dt)
    zero = jnp.zeros((), dt)
    return _ac_run(key, k, v0, zero, lr.astype(dt), sys, int(num_steps), int(num_chains), "natural")  # α = 0


@functools.partial(jax.jit, static_argnames=("sys", "n"))
def _ac_gradient(key, k, v, sys, n):
    traj: Rollouts = _rollouts(key, k, sys, n)
    x_next = jnp.concatenate([traj.x[:, 1:], sys.a * traj.x[:, -1:] + sys.b * traj.u[:, -1:]], axis=1)
    # the last step's successor without its noise: V_v is quadratic, the missing E w² term is
    # added back below, so that every δ_t has the conditional mean of the exact TD error
    delta = _td_error(v, traj.x, traj.r, x_next, sys)
    last = sys.gamma * v[0] * sys.noise**2
    delta = delta.at[:, -1].add(last)
    disc = sys.gamma ** jnp.arange(traj.r.shape[1], dtype=traj.r.dtype)
    return jnp.sum(disc * delta * _score(k, traj.x, traj.u, sys), axis=1)


def actor_critic_gradient(
    k: float | Float[Array, ""],
    sys: LQR,
    n: int,
    *,
    key: PRNGKeyArray,
    critic: Float[Array, " 2"],
) -> Float[Array, " n"]:
    """Per-trajectory actor–critic estimates of ``dJ/dk``, ``Σ_{t<H} γᵗ δ_t ψ_t`` with the TD errors
    ``δ_t = r_t + γV_v(x_{t+1}) − V_v(x_t)`` of the critic ``V_v(x) = v₁x² + v₂`` and the scores
    ``ψ_t = (u_t − kx_t)x_t/σ²``, on the trajectories :func:`~optlab.rl.lqr_rollouts` draws with
    the same key (so they compare with :func:`~optlab.rl.reinforce` on the same samples). With the
    exact critic the estimate is unbiased for the infinite-horizon gradient up to ``O(γᴴ)``
    (the policy gradient theorem with the advantage's sample ``δ``).

    Args:
      k: the gain, a finite scalar.
      sys: an :class:`~optlab.rl.LQR` with a finite ``horizon`` ``H``.
      n: number of trajectories, ``≥ 1`` (static).
      key: a JAX PRNG key.
      critic: the critic's weights ``(v₁, v₂)``.

    Returns:
      ``(n,)`` gradient estimates.

    Raises:
      TypeError: ``sys`` not an LQR, an integer seed, non-numeric arguments.
      ValueError: infinite horizon, ``n < 1``, ``critic`` not of shape ``(2,)``, NaN/inf.
    """
    require_key("key", key)
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    k = as_float_array("k", k, ndim=0)
    v = as_float_array("critic", critic, ndim=1)
    require_shape("critic", v, (2,))
    return _ac_gradient(key, k, v.astype(k.dtype), sys, int(n))
