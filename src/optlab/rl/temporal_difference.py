r"""Temporal-difference learning with linear function approximation (chapter 21).

Notation (chapters 16 and 21). A finite MDP ``(P, r, γ, ρ)`` with ``S`` states and ``A``
actions, a fixed policy ``π`` (``S × A``), ``P_π(s, s') = Σ_a π(a|s) P(s'|s, a)`` and
``r_π(s) = Σ_a π(a|s) r(s, a)``. Features ``Φ`` (``S × k``, one row ``φ(s)`` per state)
give the linear values ``V_θ = Φθ``.

* On-policy TD(0) (Sutton 1988; Tsitsiklis & Van Roy 1997): along one trajectory of ``π``,
  ``θ ← θ + α_t δ_t φ(s_t)`` with the TD error ``δ_t = r_t + γ φ(s_{t+1})ᵀθ − φ(s_t)ᵀθ``.
* With ``D = diag(μ)``, ``μ`` the stationary distribution of ``P_π``, the iterates converge
  to the solution of the projected Bellman equation ``Φθ = Π_D T^π Φθ``, i.e. of
  ``Aθ = b`` with ``A = Φᵀ D (I − γ P_π) Φ`` and ``b = Φᵀ D r_π``, and
  ``‖Φθ* − V^π‖_D ≤ ‖Π_D V^π − V^π‖_D / √(1 − γ²)``.
* Q-learning (Watkins 1989) with a generative model: every step samples one transition and a
  noisy reward ``r(s, a) + σ(s, a) ε`` for every pair and moves
  ``Q(s, a) ← Q(s, a) + α (r + γ max_b Q(s', b) − Q(s, a))``; the max of noisy estimates is
  biased upwards. Double Q-learning (van Hasselt 2010) keeps two tables and evaluates the
  maximiser of one with the other.
* SARSA with linear action values ``Q_θ(s, a) = φ(s, a)ᵀθ`` and an ε-greedy policy:
  ``θ ← θ + α (r_t + γ Q_θ(s_{t+1}, a_{t+1}) − Q_θ(s_t, a_t)) φ(s_t, a_t)``; its iterates need
  not converge but stay in a bounded region (Gordon 2000).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import (
    as_float_array,
    require_callable,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
    require_shape,
)
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import _HI, _as_scalar
from .tabular import MDP, _check_policy, _p_pi, _require_mdp

__all__ = [
    "stationary_distribution",
    "projected_bellman_solution",
    "TDOutput",
    "td0_linear",
    "SARSAOutput",
    "sarsa_linear",
    "QLearningOutput",
    "q_learning",
]


@jax.jit
def _stationary(P_pi):
    S = P_pi.shape[0]
    ones = jnp.ones((S, S), P_pi.dtype)
    # μᵀ(I − P_π) = 0 with Σμ = 1  ⇔  (I − P_πᵀ + 11ᵀ) μ = 1 for an irreducible chain
    return jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - P_pi.T + ones, jnp.ones(S, P_pi.dtype))


def stationary_distribution(mdp: MDP, pi: Float[Array, "S A"]) -> Float[Array, " S"]:
    """The stationary distribution ``μ`` of the chain ``P_π``: ``μᵀ P_π = μᵀ``, ``Σ_s μ(s) = 1``.

    Solves ``(I − P_πᵀ + 𝟙𝟙ᵀ) μ = 𝟙``, which has a unique solution when ``P_π`` is irreducible.

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      pi: a stochastic policy, shape ``(S, A)``.

    Returns:
      ``μ``, shape ``(S,)``.

    Raises:
      TypeError: ``mdp`` is not an MDP, ``pi`` not numeric.
      ValueError: ``pi`` has the wrong shape, a negative entry or a row not summing to 1.
    """
    _require_mdp(mdp)
    pi = _check_policy(mdp, pi)
    P_pi, _ = _p_pi(mdp, pi)
    return _stationary(P_pi)


def _features(mdp: MDP, features, name: str = "features") -> jax.Array:
    phi = as_float_array(name, features, ndim=2)
    if phi.shape[0] != mdp.n_states or phi.shape[1] < 1:
        raise ValueError(f"{name} must have shape (S, k) = ({mdp.n_states}, k >= 1), got {tuple(phi.shape)}")
    return phi.astype(mdp.P.dtype)


@jax.jit
def _pbe(mdp, pi, phi, mu):
    P_pi, r_pi = _p_pi(mdp, pi)
    S = P_pi.shape[0]
    # region: rl-projected-bellman
    DPhi = mu[:, None] * phi
    A = jnp.matmul(DPhi.T, phi - mdp.gamma * jnp.matmul(P_pi, phi, precision=_HI), precision=_HI)
    b = jnp.matmul(DPhi.T, r_pi, precision=_HI)
    # endregion: rl-projected-bellman
    del S
    return jnp.linalg.solve(A, b)


def projected_bellman_solution(
    mdp: MDP,
    pi: Float[Array, "S A"],
    features: Float[Array, "S k"],
    weights: Float[Array, " S"] | None = None,
) -> Float[Array, " k"]:
    """The TD fixed point ``θ*``: the solution of ``Aθ = b`` with ``A = Φᵀ D (I − γ P_π) Φ``,
    ``b = Φᵀ D r_π`` and ``D = diag(μ)``, so that ``Φθ* = Π_D T^π Φθ*`` (Tsitsiklis & Van Roy 1997).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      pi: a stochastic policy, shape ``(S, A)``.
      features: ``Φ``, shape ``(S, k)``, with linearly independent columns.
      weights: the state weights ``μ``, shape ``(S,)``, a probability vector; default the
        stationary distribution of ``P_π`` (on-policy TD).

    Returns:
      ``θ*``, shape ``(k,)``.

    Raises:
      TypeError: ``mdp`` not an MDP, non-numeric ``pi``/``features``/``weights``.
      ValueError: wrong shapes, ``pi`` or ``weights`` not stochastic.
    """
    _require_mdp(mdp)
    pi = _check_policy(mdp, pi)
    phi = _features(mdp, features)
    if weights is None:
        mu = _stationary(_p_pi(mdp, pi)[0])
    else:
        mu = as_float_array("weights", weights, ndim=1)
        require_shape("weights", mu, (mdp.n_states,))
        if bool(jnp.any(mu < 0)) or abs(float(jnp.sum(mu)) - 1.0) > 1e-4:
            raise ValueError(
                f"weights must be a probability vector, got entries summing to {float(jnp.sum(mu)):.6g}"
            )
        mu = mu.astype(mdp.P.dtype)
    return _pbe(mdp, pi, phi, mu)


class TDOutput(NamedTuple):
    """Result of :func:`td0_linear`.

    Attributes:
      params: the last iterate ``θ_K``, shape ``(k,)``.
      iterates: ``θ_0, …, θ_K``, shape ``(K + 1, k)``, or ``None`` when not recorded.
      average: the Polyak average ``(θ_1 + … + θ_K)/K``, shape ``(k,)``.
    """

    params: Float[Array, " k"]
    iterates: Float[Array, "K+1 k"] | None
    average: Float[Array, " k"]


def _step_sizes(learning_rate, name: str = "learning_rate"):
    """``(schedule or None, traced constant)`` for a float or a callable ``k ↦ α_k``."""
    if callable(learning_rate):
        require_callable(name, learning_rate)
        return learning_rate, 0.0
    _as_scalar(name, learning_rate)
    require_positive(name, learning_rate)
    return None, learning_rate


def _sample_next(key, mdp, s, a):
    return jax.random.categorical(key, jnp.log(mdp.P[s, a]))


@functools.partial(jax.jit, static_argnames=("schedule", "num_steps", "record"))
def _td0(mdp, pi, phi, theta0, key, lr, *, schedule, num_steps, record):
    P_pi, _ = _p_pi(mdp, pi)
    mu = _stationary(P_pi)
    k0, key = jax.random.split(key)
    s0 = jax.random.categorical(k0, jnp.log(jnp.maximum(mu, 0.0)))
    log_pi = jnp.log(pi)

    def body(carry, k):
        theta, s, total, key = carry
        key, ka, ks = jax.random.split(key, 3)
        a = jax.random.categorical(ka, log_pi[s])
        s_next = _sample_next(ks, mdp, s, a)
        alpha = schedule(k) if schedule is not None else lr
        # region: rl-td0-step
        delta = mdp.r[s, a] + mdp.gamma * jnp.dot(phi[s_next], theta) - jnp.dot(phi[s], theta)
        theta = theta + alpha * delta * phi[s]
        # endregion: rl-td0-step
        return (theta, s_next, total + theta, key), (theta if record else None)

    init = (theta0, s0, jnp.zeros_like(theta0), key)
    (theta, _, total, _), hist = jax.lax.scan(body, init, jnp.arange(num_steps))
    iterates = jnp.concatenate([theta0[None], hist]) if record else None
    return TDOutput(theta, iterates, total / num_steps)


def td0_linear(
    mdp: MDP,
    pi: Float[Array, "S A"],
    features: Float[Array, "S k"],
    *,
    key: PRNGKeyArray,
    learning_rate: float | Callable[[Array], Array],
    num_steps: int,
    theta0: Float[Array, " k"] | None = None,
    return_iterates: bool = True,
) -> TDOutput:
    """On-policy TD(0) with linear values ``V_θ = Φθ`` along one simulated trajectory of ``π``
    started from the stationary distribution: ``θ ← θ + α_t δ_t φ(s_t)``,
    ``δ_t = r(s_t, a_t) + γ φ(s_{t+1})ᵀθ − φ(s_t)ᵀθ`` (Sutton 1988; Tsitsiklis & Van Roy 1997).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      pi: the behaviour (and evaluated) policy, shape ``(S, A)``.
      features: ``Φ``, shape ``(S, k)``.
      key: a JAX PRNG key.
      learning_rate: a positive constant ``α`` or a schedule ``t ↦ α_t`` (a callable of the
        step index, static: one compilation per schedule).
      num_steps: the transitions ``K ≥ 1`` (static).
      theta0: the start, shape ``(k,)`` (default zeros).
      return_iterates: record ``θ_0, …, θ_K``.

    Returns:
      :class:`TDOutput`.

    Raises:
      TypeError: ``mdp`` not an MDP, an integer seed for ``key``, non-numeric arrays,
        a non-integer ``num_steps``.
      ValueError: wrong shapes, a non-positive ``learning_rate``, ``num_steps < 1``.
    """
    _require_mdp(mdp)
    pi = _check_policy(mdp, pi)
    phi = _features(mdp, features)
    require_key("key", key)
    schedule, lr = _step_sizes(learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    if not isinstance(return_iterates, bool):
        raise TypeError(f"return_iterates must be a bool, got {type(return_iterates).__name__}")
    dt = mdp.P.dtype
    if theta0 is None:
        theta0 = jnp.zeros(phi.shape[1], dt)
    theta0 = as_float_array("theta0", theta0, ndim=1)
    require_shape("theta0", theta0, (phi.shape[1],))
    return _td0(
        mdp, pi, phi, theta0.astype(dt), key, jnp.asarray(lr, dt),
        schedule=schedule, num_steps=num_steps, record=return_iterates,
    )  # fmt: skip


class SARSAOutput(NamedTuple):
    """Result of :func:`sarsa_linear`.

    Attributes:
      params: the last iterate ``θ_K``, shape ``(k,)``.
      iterates: ``θ_0, …, θ_K``, shape ``(K + 1, k)``.
      greedy_actions: the greedy action of ``Q_{θ_t}`` in every state after each step,
        shape ``(K + 1, S)`` (integers).
    """

    params: Float[Array, " k"]
    iterates: Float[Array, "K+1 k"]
    greedy_actions: Int[Array, "K+1 S"]


@functools.partial(jax.jit, static_argnames=("schedule", "num_steps"))
def _sarsa(mdp, phi, theta0, key, lr, epsilon, *, schedule, num_steps):
    S, A = mdp.r.shape

    def policy_logits(theta, s):
        q = jnp.einsum("ak,k->a", phi[s], theta, precision=_HI)
        p = (1 - epsilon) * jax.nn.one_hot(jnp.argmax(q), A, dtype=q.dtype) + epsilon / A
        return jnp.log(p)

    k0, k1, key = jax.random.split(key, 3)
    s0 = jax.random.categorical(k0, jnp.log(mdp.rho))
    a0 = jax.random.categorical(k1, policy_logits(theta0, s0))

    def greedy_all(theta):
        return jnp.argmax(jnp.einsum("sak,k->sa", phi, theta, precision=_HI), axis=1)

    def body(carry, k):
        theta, s, a, key = carry
        key, ks, ka = jax.random.split(key, 3)
        s_next = _sample_next(ks, mdp, s, a)
        a_next = jax.random.categorical(ka, policy_logits(theta, s_next))
        alpha = schedule(k) if schedule is not None else lr
        # region: rl-sarsa-step
        delta = mdp.r[s, a] + mdp.gamma * jnp.dot(phi[s_next, a_next], theta) - jnp.dot(phi[s, a], theta)
        theta = theta + alpha * delta * phi[s, a]
        # endregion: rl-sarsa-step
        return (theta, s_next, a_next, key), (theta, greedy_all(theta))

    (theta, _, _, _), (hist, acts) = jax.lax.scan(body, (theta0, s0, a0, key), jnp.arange(num_steps))
    return SARSAOutput(
        theta, jnp.concatenate([theta0[None], hist]), jnp.concatenate([greedy_all(theta0)[None], acts])
    )


def sarsa_linear(
    mdp: MDP,
    features: Float[Array, "S A k"],
    *,
    key: PRNGKeyArray,
    learning_rate: float | Callable[[Array], Array],
    num_steps: int,
    epsilon: float = 0.1,
    theta0: Float[Array, " k"] | None = None,
) -> SARSAOutput:
    """SARSA(0) with linear action values ``Q_θ(s, a) = φ(s, a)ᵀθ`` and the ε-greedy policy of
    ``Q_θ`` (ties to the first action), along one trajectory started from ``ρ``:
    ``θ ← θ + α_t (r_t + γ Q_θ(s_{t+1}, a_{t+1}) − Q_θ(s_t, a_t)) φ(s_t, a_t)``. The policy
    changes with ``θ``, so the iterates may chatter without converging (Gordon 2000).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      features: ``φ``, shape ``(S, A, k)``.
      key: a JAX PRNG key.
      learning_rate: a positive constant or a schedule ``t ↦ α_t`` (static callable).
      num_steps: the transitions ``K ≥ 1`` (static).
      epsilon: the exploration probability, in ``[0, 1]``.
      theta0: the start, shape ``(k,)`` (default zeros).

    Returns:
      :class:`SARSAOutput`.

    Raises:
      TypeError: ``mdp`` not an MDP, an integer seed for ``key``, non-numeric arrays,
        a non-integer ``num_steps``.
      ValueError: wrong shapes, a non-positive ``learning_rate``, ``epsilon`` outside
        ``[0, 1]``, ``num_steps < 1``.
    """
    _require_mdp(mdp)
    phi = as_float_array("features", features, ndim=3)
    if phi.shape[:2] != (mdp.n_states, mdp.n_actions) or phi.shape[2] < 1:
        raise ValueError(
            f"features must have shape (S, A, k) = ({mdp.n_states}, {mdp.n_actions}, k >= 1), "
            f"got {tuple(phi.shape)}"
        )
    require_key("key", key)
    schedule, lr = _step_sizes(learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    _as_scalar("epsilon", epsilon)
    require_in_range("epsilon", epsilon, 0.0, 1.0)
    dt = mdp.P.dtype
    if theta0 is None:
        theta0 = jnp.zeros(phi.shape[2], dt)
    theta0 = as_float_array("theta0", theta0, ndim=1)
    require_shape("theta0", theta0, (phi.shape[2],))
    return _sarsa(
        mdp, phi.astype(dt), theta0.astype(dt), key, jnp.asarray(lr, dt), jnp.asarray(epsilon, dt),
        schedule=schedule, num_steps=num_steps,
    )  # fmt: skip


class QLearningOutput(NamedTuple):
    """Result of :func:`q_learning`.

    Attributes:
      params: the final table ``Q_K`` (for double Q-learning, the mean of the two tables),
        shape ``(S, A)``.
      iterates: ``Q_0, …, Q_K``, shape ``(K + 1, S, A)`` (the mean of the two tables for
        double Q-learning).
    """

    params: Float[Array, "S A"]
    iterates: Float[Array, "K+1 S A"]


@functools.partial(jax.jit, static_argnames=("num_steps", "double"))
def _q_learning(mdp, noise, Q0, key, lr, *, num_steps, double):
    S, A = mdp.r.shape
    logP = jnp.log(mdp.P)

    def sample(key):
        ks, kr = jax.random.split(key)
        s_next = jax.random.categorical(ks, logP)  # (S, A)
        r = mdp.r + noise * jax.random.normal(kr, (S, A), mdp.r.dtype)
        return s_next, r

    def body(carry, key):
        QA, QB = carry
        kA, kB, kc = jax.random.split(key, 3)
        s_next, r = sample(kA)
        # region: rl-q-learning-targets
        if double:
            a_star = jnp.argmax(QA[s_next], axis=-1)  # maximiser of one table ...
            target_A = r + mdp.gamma * QB[s_next, a_star]  # ... evaluated with the other
            s_next_B, r_B = sample(kB)
            b_star = jnp.argmax(QB[s_next_B], axis=-1)
            target_B = r_B + mdp.gamma * QA[s_next_B, b_star]
            update_A = jax.random.bernoulli(kc)
            QA = jnp.where(update_A, QA + lr * (target_A - QA), QA)
            QB = jnp.where(update_A, QB, QB + lr * (target_B - QB))
        else:
            target = r + mdp.gamma * jnp.max(QA[s_next], axis=-1)
            QA = QA + lr * (target - QA)
            QB = QA
        # endregion: rl-q-learning-targets
        Q = 0.5 * (QA + QB)
        return (QA, QB), Q

    (QA, QB), hist = jax.lax.scan(body, (Q0, Q0), jax.random.split(key, num_steps))
    return QLearningOutput(0.5 * (QA + QB), jnp.concatenate([Q0[None], hist]))


def q_learning(
    mdp: MDP,
    *,
    key: PRNGKeyArray,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    reward_noise: float | Float[Array, "S A"] = 0.0,
    double: bool = False,
    Q0: Float[Array, "S A"] | None = None,
) -> QLearningOutput:
    """Synchronous Q-learning with a generative model (Watkins 1989; Even-Dar & Mansour 2003):
    each step samples ``s' ∼ P(·|s, a)`` and ``r = r(s, a) + σ(s, a) ε`` for every pair and
    moves every entry towards ``r + γ max_b Q(s', b)``. With ``double=True``, van Hasselt's (2010)
    double Q-learning: two tables, one of them (chosen by a fair coin) moved towards
    ``r + γ Q_B(s', argmax_b Q_A(s', b))`` (roles swapped for the other).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      key: a JAX PRNG key.
      learning_rate: the constant step ``α ∈ (0, 1]``.
      num_steps: the steps ``K ≥ 1`` (static).
      reward_noise: the standard deviations ``σ ≥ 0`` of the Gaussian reward noise, a scalar or
        an ``(S, A)`` table.
      double: double Q-learning (static).
      Q0: the start, shape ``(S, A)`` (default zeros).

    Returns:
      :class:`QLearningOutput`.

    Raises:
      TypeError: ``mdp`` not an MDP, an integer seed for ``key``, non-numeric arrays, a
        non-integer ``num_steps``, a non-bool ``double``.
      ValueError: ``learning_rate`` outside ``(0, 1]``, negative noise, wrong shapes,
        ``num_steps < 1``.
    """
    _require_mdp(mdp)
    require_key("key", key)
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    require_in_range("learning_rate", lr, 0.0, 1.0)
    require_int("num_steps", num_steps, minimum=1)
    noise = as_float_array("reward_noise", reward_noise, ndim=(0, 2))
    if noise.ndim == 2:
        require_shape("reward_noise", noise, (mdp.n_states, mdp.n_actions))
    require_nonnegative("reward_noise", noise)
    if not isinstance(double, bool):
        raise TypeError(f"double must be a bool, got {type(double).__name__}")
    dt = mdp.P.dtype
    Q0 = jnp.zeros((mdp.n_states, mdp.n_actions), dt) if Q0 is None else as_float_array("Q0", Q0, ndim=2)
    require_shape("Q0", Q0, (mdp.n_states, mdp.n_actions))
    noise = jnp.broadcast_to(noise.astype(dt), (mdp.n_states, mdp.n_actions))
    return _q_learning(mdp, noise, Q0.astype(dt), key, lr.astype(dt), num_steps=num_steps, double=double)
