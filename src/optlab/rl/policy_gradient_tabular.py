r"""Policy gradients for a softmax policy on a finite MDP (chapter 21): the exact gradient from
the occupancy measure, sampled episodes, the score-function (REINFORCE) estimator with a
baseline, and exact softmax policy-gradient ascent.

Notation (chapter 21, on chapter 16's MDP ``(P, r, γ, ρ)``). Logits ``θ ∈ R^{S×A}`` give the
policy ``π_θ(a|s) = exp θ(s, a) / Σ_b exp θ(s, b)``; ``V^π(ρ) = Σ_s ρ(s) V^π(s)``.

* Policy gradient theorem (Sutton et al. 2000) for the softmax table:
  ``∂V^{π_θ}(ρ)/∂θ(s, a) = d_π(s, a) A^π(s, a)`` with the unnormalised occupancy
  ``d_π(s, a) = Σ_t γᵗ Pr(s_t = s, a_t = a)`` and ``A^π = Q^π − V^π``.
* Score function: ``∇_θ log π_θ(a|s) = e_s ⊗ (e_a − π_θ(·|s))``.
* REINFORCE (Williams 1992) on an episode of ``H`` steps, with the returns-to-go
  ``G_t = Σ_{h=t}^{H−1} γ^{h−t} r_h`` and a baseline ``b(s)``:
  ``g = Σ_t γᵗ (G_t − b(s_t)) ∇_θ log π_θ(a_t|s_t)``, an unbiased estimate of the gradient of
  the truncated return ``J_H(θ) = E Σ_{t<H} γᵗ r_t`` for every baseline.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_float_array, is_concrete, require_int, require_key, require_positive, require_shape
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import _HI, _as_scalar
from .advantage import _returns_to_go
from .tabular import MDP, _bellman_q, _check_policy, _occupancy, _policy_value, _require_mdp

__all__ = [
    "softmax_policy",
    "softmax_value",
    "softmax_policy_gradient",
    "Episodes",
    "sample_episodes",
    "score_function_gradient",
    "softmax_reinforce",
    "SoftmaxPGOutput",
    "softmax_policy_gradient_ascent",
]


def _logits(mdp: MDP, theta, name: str = "theta") -> jax.Array:
    theta = as_float_array(name, theta, ndim=2)
    require_shape(name, theta, (mdp.n_states, mdp.n_actions))
    return theta.astype(mdp.P.dtype)


def softmax_policy(theta: Float[Array, "S A"]) -> Float[Array, "S A"]:
    """``π_θ(a|s) = exp θ(s, a) / Σ_b exp θ(s, b)``, row by row.

    Args:
      theta: logits, shape ``(S, A)``, finite.

    Returns:
      ``π_θ``, shape ``(S, A)``.

    Raises:
      TypeError: ``theta`` is not numeric. ValueError: not 2-D, or a NaN/inf.
    """
    theta = as_float_array("theta", theta, ndim=2)
    return jax.nn.softmax(theta, axis=1)


@jax.jit
def _softmax_value(mdp, theta):
    return jnp.dot(mdp.rho, _policy_value(mdp, jax.nn.softmax(theta, axis=1)), precision=_HI)


def softmax_value(mdp: MDP, theta: Float[Array, "S A"]) -> Float[Array, ""]:
    """``V^{π_θ}(ρ) = ⟨ρ, (I − γ P_π)⁻¹ r_π⟩`` (differentiable in ``θ``).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      theta: logits, shape ``(S, A)``.

    Returns:
      The value, a scalar.

    Raises:
      TypeError: ``mdp`` not an MDP, ``theta`` not numeric.
      ValueError: ``theta`` of the wrong shape or not finite.
    """
    _require_mdp(mdp)
    return _softmax_value(mdp, _logits(mdp, theta))


@jax.jit
def _exact_gradient(mdp, theta):
    # region: rl-softmax-pg-theorem
    pi = jax.nn.softmax(theta, axis=1)
    V = _policy_value(mdp, pi)
    advantage = _bellman_q(mdp, V) - V[:, None]  # A^π = Q^π − V^π
    return _occupancy(mdp, pi) * advantage  # d_π(s, a) A^π(s, a)
    # endregion: rl-softmax-pg-theorem


def softmax_policy_gradient(mdp: MDP, theta: Float[Array, "S A"]) -> Float[Array, "S A"]:
    """The exact gradient ``∇_θ V^{π_θ}(ρ) = d_π ⊙ A^π`` (policy gradient theorem for the
    softmax table; Sutton et al. 2000, Agarwal et al. 2021, Lemma C.1).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      theta: logits, shape ``(S, A)``.

    Returns:
      The gradient, shape ``(S, A)``.

    Raises:
      TypeError, ValueError: as :func:`softmax_value`.
    """
    _require_mdp(mdp)
    return _exact_gradient(mdp, _logits(mdp, theta))


class Episodes(NamedTuple):
    """``n`` sampled episodes of ``H`` steps.

    Attributes:
      states: ``s_0, …, s_H`` (the state after the last step included), shape ``(n, H+1)``.
      actions: ``a_0, …, a_{H−1}``, shape ``(n, H)``.
      rewards: ``r(s_t, a_t)``, shape ``(n, H)``.
    """

    states: Int[Array, "n H+1"]
    actions: Int[Array, "n H"]
    rewards: Float[Array, "n H"]


def _episode(key, mdp, pi, horizon):
    k0, kt = jax.random.split(key)
    s0 = jax.random.categorical(k0, jnp.log(mdp.rho))
    log_pi, log_P = jnp.log(pi), jnp.log(mdp.P)

    # region: rl-episode-step
    def step(s, k):
        ka, ks = jax.random.split(k)
        a = jax.random.categorical(ka, log_pi[s])
        s_next = jax.random.categorical(ks, log_P[s, a])
        return s_next, (s, a, mdp.r[s, a])

    s_last, (states, actions, rewards) = jax.lax.scan(step, s0, jax.random.split(kt, horizon))
    # endregion: rl-episode-step
    return Episodes(jnp.append(states, s_last), actions, rewards)


@functools.partial(jax.jit, static_argnames=("num_episodes", "horizon"))
def _episodes(key, mdp, pi, *, num_episodes, horizon):
    keys = jax.random.split(key, num_episodes)
    return jax.vmap(lambda k: _episode(k, mdp, pi, horizon))(keys)


def sample_episodes(
    mdp: MDP, pi: Float[Array, "S A"], *, num_episodes: int, horizon: int, key: PRNGKeyArray
) -> Episodes:
    """``num_episodes`` independent episodes of ``horizon`` steps of ``π`` from ``s_0 ∼ ρ``
    (a ``lax.scan`` over time, ``vmap``-ed over episodes; one compilation per shape).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      pi: a stochastic policy, shape ``(S, A)``, rows on the simplex.
      num_episodes: ``n ≥ 1`` (static).
      horizon: ``H ≥ 1`` (static).
      key: a JAX PRNG key.

    Returns:
      :class:`Episodes`.

    Raises:
      TypeError: ``mdp`` not an MDP, an integer seed, non-integer sizes, non-numeric ``pi``.
      ValueError: ``pi`` not a policy of the MDP's shape, sizes below 1.
    """
    _require_mdp(mdp)
    pi = _check_policy(mdp, pi)
    require_int("num_episodes", num_episodes, minimum=1)
    require_int("horizon", horizon, minimum=1)
    require_key("key", key)
    return _episodes(key, mdp, pi, num_episodes=int(num_episodes), horizon=int(horizon))


def _check_episodes(mdp: MDP, episodes) -> Episodes:
    if not isinstance(episodes, Episodes):
        raise TypeError(
            f"episodes must be an optlab.rl.Episodes (see rl.sample_episodes), got {type(episodes).__name__}"
        )
    s, a = jnp.asarray(episodes.states), jnp.asarray(episodes.actions)
    r = as_float_array("episodes.rewards", episodes.rewards, ndim=2)
    if not (jnp.issubdtype(s.dtype, jnp.integer) and jnp.issubdtype(a.dtype, jnp.integer)):
        raise TypeError("episodes.states and episodes.actions must be integer arrays")
    n, H = r.shape
    if s.shape != (n, H + 1) or a.shape != (n, H) or H == 0:
        raise ValueError(
            f"episodes must hold states (n, H+1), actions (n, H), rewards (n, H) with H >= 1, got "
            f"{s.shape}, {a.shape}, {r.shape}"
        )
    return Episodes(s, a, r.astype(mdp.P.dtype))


@jax.jit
def _score_gradient(theta, states, actions, weights):
    # region: rl-score-function
    pi = jax.nn.softmax(theta, axis=-1)
    S, A = theta.shape
    e_s = jax.nn.one_hot(states, S, dtype=theta.dtype)  # (n, H, S)
    score = jax.nn.one_hot(actions, A, dtype=theta.dtype) - pi[states]  # e_a − π(·|s), (n, H, A)
    return jnp.einsum("nt,nts,nta->nsa", weights, e_s, score, precision=_HI)  # Σ_t w_t ∇log π(a_t|s_t)
    # endregion: rl-score-function


def score_function_gradient(
    theta: Float[Array, "S A"],
    states: Int[Array, "n H"],
    actions: Int[Array, "n H"],
    weights: Float[Array, "n H"],
) -> Float[Array, "n S A"]:
    """``Σ_t w_t ∇_θ log π_θ(a_t|s_t)`` for each of ``n`` episodes, with
    ``∇_θ log π_θ(a|s) = e_s ⊗ (e_a − π_θ(·|s))``.

    Args:
      theta: logits, shape ``(S, A)``.
      states: visited states, integers in ``[0, S)``, shape ``(n, H)``.
      actions: actions taken, integers in ``[0, A)``, shape ``(n, H)``.
      weights: ``w_t``, shape ``(n, H)`` (e.g. ``γᵗ (G_t − b(s_t))`` or ``γᵗ Â_t``).

    Returns:
      One estimate per episode, shape ``(n, S, A)``.

    Raises:
      TypeError: non-numeric or non-integer input.
      ValueError: shapes that disagree, indices out of range, NaN/inf weights.
    """
    theta = as_float_array("theta", theta, ndim=2)
    weights = as_float_array("weights", weights, ndim=2)
    S, A = theta.shape
    for name, idx, hi in (("states", states, S), ("actions", actions, A)):
        arr = jnp.asarray(idx)
        if not jnp.issubdtype(arr.dtype, jnp.integer):
            raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
        require_shape(name, arr, weights.shape)
        if is_concrete(arr) and arr.size and (int(arr.min()) < 0 or int(arr.max()) >= hi):
            lo_, hi_ = int(arr.min()), int(arr.max())
            raise ValueError(f"{name} must lie in [0, {hi}), got values in [{lo_}, {hi_}]")
    dt = jnp.result_type(theta, weights)
    return _score_gradient(theta.astype(dt), jnp.asarray(states), jnp.asarray(actions), weights.astype(dt))


@jax.jit
def _reinforce(theta, episodes, gamma, baseline):
    s, a, r = episodes.states[:, :-1], episodes.actions, episodes.rewards
    # region: rl-reinforce-weights
    discount = gamma ** jnp.arange(r.shape[1], dtype=r.dtype)
    weights = discount * (_returns_to_go(r, gamma) - baseline[s])  # γᵗ (G_t − b(s_t))
    # endregion: rl-reinforce-weights
    return _score_gradient(theta, s, a, weights)


def softmax_reinforce(
    mdp: MDP,
    theta: Float[Array, "S A"],
    episodes: Episodes,
    *,
    baseline: Float[Array, " S"] | float | None = None,
) -> Float[Array, "n S A"]:
    """REINFORCE with a baseline (Williams 1992), one estimate per episode:
    ``g = Σ_t γᵗ (G_t − b(s_t)) ∇_θ log π_θ(a_t|s_t)``; its mean over episodes of ``π_θ``
    is ``∇_θ J_H(θ)`` for every baseline ``b`` (``J_H → V^{π_θ}(ρ)`` as ``H → ∞``).

    Args:
      mdp: the :class:`~optlab.rl.MDP` (its ``γ``).
      theta: the logits the episodes were sampled with, shape ``(S, A)``.
      episodes: :class:`Episodes` from :func:`sample_episodes`.
      baseline: ``b``: ``None`` (zero), a constant, or one value per state, shape ``(S,)``.

    Returns:
      The estimates, shape ``(n, S, A)``.

    Raises:
      TypeError: ``mdp`` not an MDP, ``episodes`` not Episodes, non-numeric input.
      ValueError: wrong shapes, NaN/inf.
    """
    _require_mdp(mdp)
    theta = _logits(mdp, theta)
    episodes = _check_episodes(mdp, episodes)
    dt = theta.dtype
    if baseline is None:
        b = jnp.zeros(mdp.n_states, dt)
    else:
        b = as_float_array("baseline", baseline, ndim=(0, 1))
        if b.ndim == 1:
            require_shape("baseline", b, (mdp.n_states,))
        b = jnp.broadcast_to(b, (mdp.n_states,)).astype(dt)
    return _reinforce(theta, episodes, mdp.gamma, b)


class SoftmaxPGOutput(NamedTuple):
    """Result of :func:`softmax_policy_gradient_ascent`.

    Attributes:
      params: the final logits ``θ_T``, shape ``(S, A)``.
      values: ``V^{π_{θ_t}}(ρ)`` for ``t = 0..T``, shape ``(T+1,)``.
      grad_norms: ``‖∇_θ V^{π_{θ_t}}(ρ)‖`` for ``t = 0..T``, shape ``(T+1,)``.
    """

    params: Float[Array, "S A"]
    values: Float[Array, " T+1"]
    grad_norms: Float[Array, " T+1"]

    def policy(self) -> Float[Array, "S A"]:
        """``π = softmax(params)`` row by row."""
        return jax.nn.softmax(self.params, axis=-1)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _pg_ascent(mdp, theta0, lr, *, num_steps):
    def record(theta):
        return _softmax_value(mdp, theta), _exact_gradient(mdp, theta)

    def step(theta, _):
        v, g = record(theta)
        return theta + lr * g, (v, jnp.linalg.norm(g))

    theta, (vs, gs) = jax.lax.scan(step, theta0, None, length=num_steps)
    v, g = record(theta)
    return SoftmaxPGOutput(theta, jnp.append(vs, v), jnp.append(gs, jnp.linalg.norm(g)))


def softmax_policy_gradient_ascent(
    mdp: MDP,
    *,
    learning_rate: float | Float[Array, ""],
    num_steps: int,
    theta0: Float[Array, "S A"] | None = None,
) -> SoftmaxPGOutput:
    """Exact policy-gradient ascent ``θ ← θ + η ∇_θ V^{π_θ}(ρ)`` on the softmax table
    (Agarwal et al. 2021 prove ``V* − V^{π_t} = O(1/t)`` for ``η ≤ (1 − γ)³/8``; Mei et al. 2020
    show the rate is not faster in general).

    Args:
      mdp: an :class:`~optlab.rl.MDP`.
      learning_rate: ``η > 0``.
      num_steps: ``T ≥ 1`` (static).
      theta0: initial logits, shape ``(S, A)`` (default zeros: the uniform policy).

    Returns:
      :class:`SoftmaxPGOutput`.

    Raises:
      TypeError: ``mdp`` not an MDP, a non-integer ``num_steps``, non-numeric input.
      ValueError: ``η ≤ 0``, ``num_steps < 1``, ``theta0`` of the wrong shape.
    """
    _require_mdp(mdp)
    lr = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", lr)
    require_int("num_steps", num_steps, minimum=1)
    dt = mdp.P.dtype
    if theta0 is None:
        theta0 = jnp.zeros((mdp.n_states, mdp.n_actions), dt)
    else:
        theta0 = _logits(mdp, theta0, "theta0")
    return _pg_ascent(mdp, theta0, lr.astype(dt), num_steps=int(num_steps))
