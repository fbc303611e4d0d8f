r"""KL-regularized value iteration as mirror descent on policies (chapter 16).

* KL-regularized (mirror-descent) value iteration, MDVI (Geist et al. 2019;
  Vieillard et al. 2020; Kozuno et al. 2022), with KL weight ``τ`` and entropy
  weight ``κ``: ``π_{k+1} ∝ π_k^α exp(Q_k/λ)`` with ``λ = τ + κ``,
  ``α = τ/(τ + κ)``, and ``Q_{k+1} = r + γ P V_k`` with the soft value
  ``V_k(s) = (τ + κ) log Σ_a exp((Q_k(s, a) + τ log π_k(a|s))/(τ + κ))``.
  For ``κ = 0``: ``π_k ∝ π_0 exp(Σ_{j<k} Q_j / τ)`` (Q-averaging).
  Munchausen VI (Vieillard et al. 2020; Zhu et al. 2023 with ``q = 1``) is the
  same algorithm with ``τ_KL = ατ``, ``κ = (1 − α)τ``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
    require_shape,
)
from .._types import Array, Float, PRNGKeyArray
from ._common import _HI, _as_scalar
from .tabular import MDP, _bellman_q, _check_policy, _greedy, _pi_run, _require_mdp

__all__ = [
    "RegularizedVIOutput",
    "kl_value_iteration",
    "munchausen_value_iteration",
    "approximate_value_iteration",
    "NoisyVIOutput",
    "noisy_value_iteration",
]


class RegularizedVIOutput(NamedTuple):
    """Result of :func:`kl_value_iteration` and :func:`munchausen_value_iteration`;
    ``params`` is ``Q_K`` and ``policies()`` the policies ``π_k``.

    Attributes:
      iterates: ``iterates[k] = Q_k``, the recorded Q iterates, ``k = 0..K`` (``K + 1`` rows,
        each ``(S, A)``).
      log_policies: ``log_policies[k] = log π_k`` (``π_0`` the prior).
    """

    iterates: Float[Array, "K+1 S A"]
    log_policies: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the last Q iterate ``Q_K`` (shape ``(S, A)``)."""
        return self.iterates[..., -1, :, :]

    def policies(self) -> Float[Array, "K+1 S A"]:
        """The policies ``π_k = exp(log_policies[k])``, shape ``(K + 1, S, A)``."""
        return jnp.exp(self.log_policies)


@jax.jit
def _mdvi(mdp, tau, kappa, logpi0, q0, q_errors):
    # region: rl-mdvi-step
    lam = tau + kappa  # λ = τ + κ
    alpha = tau / lam  # α = τ/(τ + κ)

    def step(carry, eps):
        q, logpi = carry
        logits = alpha * logpi + q / lam  # log π_{k+1} = α log π_k + Q_k/λ + const
        logpi_new = jax.nn.log_softmax(logits, axis=1)
        V = lam * jax.nn.logsumexp(logits, axis=1)  # = ⟨π_{k+1}, q − τ log(π_{k+1}/π_k) − κ log π_{k+1}⟩
        q_new = _bellman_q(mdp, V) + eps  # Q_{k+1} = r + γ P V_k + ε_{k+1}
        return (q_new, logpi_new), (q_new, logpi_new)

    _, (qs, lps) = jax.lax.scan(step, (q0, logpi0), q_errors)
    # endregion: rl-mdvi-step
    return RegularizedVIOutput(jnp.concatenate([q0[None], qs]), jnp.concatenate([logpi0[None], lps]))


def _reg_inputs(mdp, pi0, q0):
    S, A = mdp.n_states, mdp.n_actions
    dt = jnp.result_type(mdp.r)
    if pi0 is None:
        pi0 = jnp.full((S, A), 1.0 / A, dtype=dt)
    pi0 = _check_policy(mdp, pi0, "pi0")
    if is_concrete(pi0) and np.any(np.asarray(pi0) <= 0):
        raise ValueError("pi0 must have full support (all entries > 0) for the KL term")
    q0 = jnp.zeros((S, A), dtype=dt) if q0 is None else as_float_array("q0", q0, ndim=2)
    require_shape("q0", q0, (S, A))
    return jnp.log(pi0), q0.astype(dt)


def kl_value_iteration(
    mdp: MDP,
    tau: float,
    kappa: float = 0.0,
    *,
    num_steps: int = 100,
    pi0: Float[Array, "S A"] | None = None,
    q0: Float[Array, "S A"] | None = None,
    q_errors: Float[Array, "num_steps S A"] | None = None,
) -> RegularizedVIOutput:
    """Mirror-descent value iteration (MDVI) with KL weight ``τ`` and entropy weight ``κ``:

    ``π_{k+1} = argmax_π ⟨π, Q_k⟩ − τ KL(π ‖ π_k) + κ H(π)  ∝ π_k^{τ/(τ+κ)} exp(Q_k/(τ+κ))``,
    ``Q_{k+1} = r + γ P ⟨π_{k+1}, Q_k − τ log(π_{k+1}/π_k) − κ log π_{k+1}⟩ + ε_{k+1}``.

    With ``κ = 0`` the policy is the softmax of the *sum* of past Q's:
    ``π_k ∝ π_0 exp(Σ_{j<k} Q_j / τ)``, so evaluation errors ``ε_j`` enter it through their
    sum (they are averaged, not accumulated). (Geist et al. 2019; Vieillard et al. 2020;
    Kozuno et al. 2022.)

    Args:
      mdp: an :class:`MDP`.
      tau: KL weight ``τ ≥ 0``.
      kappa: entropy weight ``κ ≥ 0``; ``τ + κ > 0``.
      num_steps: positive number of iterations (static).
      pi0: prior policy ``(S, A)`` with full support (default uniform).
      q0: initial ``Q`` ``(S, A)`` (default zeros).
      q_errors: evaluation errors ``ε_1, …, ε_K`` added to the Q iterates, shape
        ``(num_steps, S, A)``, finite (default none: exact evaluation). Approximate MDVI
        (Vieillard et al. 2020): e.g. seeded noise standing for sampled evaluations.

    Returns:
      :class:`RegularizedVIOutput` with ``num_steps + 1`` entries.

    Raises:
      TypeError: ``mdp`` not an MDP, non-numeric weights or arrays, non-integer ``num_steps``.
      ValueError: negative weights, ``τ = κ = 0``, bad shapes, a policy off the simplex,
        non-finite ``q_errors``.
    """
    _require_mdp(mdp)
    _as_scalar("tau", tau)
    _as_scalar("kappa", kappa)
    require_nonnegative("tau", tau)
    require_nonnegative("kappa", kappa)
    if is_concrete((tau, kappa)) and not float(tau) + float(kappa) > 0:
        raise ValueError("tau + kappa must be positive (tau = kappa = 0 is plain value iteration)")
    require_int("num_steps", num_steps, minimum=1)
    logpi0, q0 = _reg_inputs(mdp, pi0, q0)
    dt = q0.dtype
    if q_errors is None:
        q_errors = jnp.zeros((num_steps,) + q0.shape, dtype=dt)
    else:
        q_errors = as_float_array("q_errors", q_errors, ndim=3)
        require_shape("q_errors", q_errors, (num_steps,) + q0.shape)
    return _mdvi(mdp, jnp.asarray(tau, dt), jnp.asarray(kappa, dt), logpi0, q0, q_errors.astype(dt))


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _mvi(mdp, tau, alpha, q0, num_steps):
    def step(q, _):
        logpi = jax.nn.log_softmax(q / tau, axis=1)
        pi = jnp.exp(logpi)
        V = jnp.sum(pi * (q - tau * logpi), axis=1)
        q_new = mdp.r + alpha * tau * logpi + mdp.gamma * jnp.einsum("sat,t->sa", mdp.P, V, precision=_HI)
        return q_new, (q_new, logpi)

    _, (qs, lps) = jax.lax.scan(step, q0, None, length=num_steps)
    # log_policies[k] = π_k = softmax(q_{k-1}/τ); π_0 := softmax(q_0/τ) (it is never used)
    lp0 = jax.nn.log_softmax(q0 / tau, axis=1)
    return RegularizedVIOutput(jnp.concatenate([q0[None], qs]), jnp.concatenate([lp0[None], lps]))


def munchausen_value_iteration(
    mdp: MDP, tau: float, alpha: float, *, num_steps: int = 100, q0: Float[Array, "S A"] | None = None
) -> RegularizedVIOutput:
    """Munchausen value iteration, MVI(α, τ) (the ``q = 1`` case of MVI(q), Zhu et al. 2023):

    ``π_{k+1} = softmax(q_k / τ)``,
    ``q_{k+1} = r + ατ log π_{k+1} + γ P ⟨π_{k+1}, q_k − τ log π_{k+1}⟩``.

    Its policies are those of MDVI with KL weight ``ατ`` and entropy weight
    ``(1 − α)τ`` (from ``π_0`` uniform, ``Q_0 = 0``).

    Args:
      mdp: an :class:`MDP`.
      tau: temperature ``τ > 0``.
      alpha: Munchausen coefficient in ``[0, 1]``.
      num_steps: positive number of iterations (static).
      q0: initial ``q`` ``(S, A)`` (default zeros).

    Returns:
      :class:`RegularizedVIOutput`.

    Raises:
      TypeError, ValueError: as :func:`kl_value_iteration`.
    """
    _require_mdp(mdp)
    _as_scalar("tau", tau)
    _as_scalar("alpha", alpha)
    require_positive("tau", tau)
    require_in_range("alpha", alpha, 0.0, 1.0)
    require_int("num_steps", num_steps, minimum=1)
    _, q0 = _reg_inputs(mdp, None, q0)
    dt = q0.dtype
    return _mvi(mdp, jnp.asarray(tau, dt), jnp.asarray(alpha, dt), q0, num_steps)


@jax.jit
def _avi(mdp, logpi0, q0, q_errors):
    # region: rl-avi-step
    def step(q, eps):
        q_new = _bellman_q(mdp, jnp.max(q, axis=1)) + eps  # Q_{k+1} = r + γ P max_a Q_k + ε_{k+1}
        return q_new, (q_new, jnp.log(_greedy(q)))  # π_{k+1} = greedy(Q_k)

    _, (qs, lps) = jax.lax.scan(step, q0, q_errors)
    # endregion: rl-avi-step
    return RegularizedVIOutput(jnp.concatenate([q0[None], qs]), jnp.concatenate([logpi0[None], lps]))


def approximate_value_iteration(
    mdp: MDP,
    *,
    num_steps: int = 100,
    q0: Float[Array, "S A"] | None = None,
    q_errors: Float[Array, "num_steps S A"] | None = None,
) -> RegularizedVIOutput:
    """Approximate value iteration (AVI): ``π_{k+1} = greedy(Q_k)``,
    ``Q_{k+1} = r + γ P max_a Q_k + ε_{k+1}``, the limit ``τ, κ → 0`` of
    :func:`kl_value_iteration`. Its errors are propagated through ``γ P`` and accumulate,
    ``‖q* − q^{π_k}‖∞ ≲ 2/(1 − γ) Σ_{j≤k} γ^{k−j} ‖ε_j‖∞`` (Vieillard et al. 2020, "Leverage
    the Average", the bound they compare with).

    Args:
      mdp: an :class:`MDP`.
      num_steps: positive number of iterations ``K`` (static).
      q0: initial ``Q`` ``(S, A)`` (default zeros).
      q_errors: evaluation errors ``ε_1, …, ε_K``, shape ``(num_steps, S, A)``, finite
        (default none: exact value iteration on ``Q``).

    Returns:
      :class:`RegularizedVIOutput` with ``num_steps + 1`` entries; ``log_policies[0]`` is the
      uniform policy and ``log_policies[k]`` (``k ≥ 1``) the log of the one-hot greedy policy
      (``−inf`` off the greedy action).

    Raises:
      TypeError: ``mdp`` not an MDP, non-integer ``num_steps``, non-numeric arrays.
      ValueError: ``num_steps < 1``, bad shapes, non-finite ``q0`` or ``q_errors``.
    """
    _require_mdp(mdp)
    require_int("num_steps", num_steps, minimum=1)
    logpi0, q0 = _reg_inputs(mdp, None, q0)
    if q_errors is None:
        q_errors = jnp.zeros((num_steps,) + q0.shape, dtype=q0.dtype)
    else:
        q_errors = as_float_array("q_errors", q_errors, ndim=3)
        require_shape("q_errors", q_errors, (num_steps,) + q0.shape)
    return _avi(mdp, logpi0, q0, q_errors.astype(q0.dtype))


class NoisyVIOutput(NamedTuple):
    """Result of :func:`noisy_value_iteration`: MDVI(τ, κ) and approximate VI run on the
    *same* noisy evaluations; ``params`` is MDVI's final policy ``π_K``.

    Attributes:
      errors: ``errors[k] = ‖q* − q^{π_k}‖∞`` for MDVI's policies, ``k = 0..K``.
      avi_errors: the same for approximate value iteration's policies.
      noise_averages: ``noise_averages[k] = ‖(1/k) Σ_{j=1}^k ε_j‖∞`` (``0`` at ``k = 0``),
        the averaged error of Vieillard et al.'s bound.
      policy: MDVI's final policy ``π_K``, ``(S, A)``.
      avi_policy: approximate VI's final (greedy) policy, ``(S, A)``.
    """

    errors: jax.Array
    avi_errors: jax.Array
    noise_averages: jax.Array
    policy: Float[Array, "S A"]
    avi_policy: Float[Array, "S A"]

    @property
    def params(self) -> jax.Array:
        """The final point: MDVI's final policy ``π_K``."""
        return self.policy


def _q_gaps(mdp, q_star, log_policies):
    # q^π = r + γ P v^π for every π_k at once, with v^π solving (I − γ P_π) v = r_π
    pis = jnp.exp(log_policies)
    P_pi = jnp.einsum("ksa,sat->kst", pis, mdp.P, precision=_HI)
    r_pi = jnp.sum(pis * mdp.r, axis=-1)

    # v^π = Σ_t (γP_π)^t r_π = Π_{i<24} (I + (γP_π)^{2^i}) r_π up to a remainder of order
    # γ^{2^24} r_max/(1 − γ) (below 1e-7 relative for γ ≤ 0.999999): matrix products only (a
    # batched LU over many small matrices stalls the CPU backend under vmap)
    def square(c, _):
        M, v = c
        return (jnp.matmul(M, M, precision=_HI), v + jnp.einsum("kst,kt->ks", M, v, precision=_HI)), None

    (_, v), _ = jax.lax.scan(square, (mdp.gamma * P_pi, r_pi), None, length=24)
    q_pi = mdp.r + mdp.gamma * jnp.einsum("sat,kt->ksa", mdp.P, v, precision=_HI)
    return jnp.max(jnp.abs(q_star - q_pi), axis=(1, 2))


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _noisy_vi(mdp, q_star, tau, kappa, noise_scale, key, num_steps):
    # region: rl-noisy-vi
    S, A = mdp.r.shape
    dt = mdp.r.dtype
    eps = noise_scale * jax.random.normal(key, (num_steps, S, A), dtype=dt)  # ε_k i.i.d. N(0, σ²)
    q0 = jnp.zeros((S, A), dt)
    logpi0 = jnp.full((S, A), -jnp.log(jnp.asarray(A, dt)))
    reg = _mdvi(mdp, tau, kappa, logpi0, q0, eps)
    avi = _avi(mdp, logpi0, q0, eps)
    ks = jnp.arange(1, num_steps + 1, dtype=dt)
    averages = jnp.max(jnp.abs(jnp.cumsum(eps, axis=0) / ks[:, None, None]), axis=(1, 2))  # ‖E_k / k‖∞
    # endregion: rl-noisy-vi
    return NoisyVIOutput(
        _q_gaps(mdp, q_star, reg.log_policies),
        _q_gaps(mdp, q_star, avi.log_policies),
        jnp.concatenate([jnp.zeros((1,), dt), averages]),
        jnp.exp(reg.log_policies[-1]),
        jnp.exp(avi.log_policies[-1]),
    )


def noisy_value_iteration(
    mdp: MDP, tau: float, kappa: float = 0.0, *, noise_scale: float, num_steps: int = 100, key: PRNGKeyArray
) -> NoisyVIOutput:
    """KL-regularised VI against approximate VI with the same noisy Q backups
    (Vieillard et al. 2020, "Leverage the Average"; Munchausen VI with coefficient ``α`` and
    temperature ``τ_M`` is ``tau = α τ_M, kappa = (1 − α) τ_M``, Vieillard et al. 2020b).

    Draws ``ε_1, …, ε_K`` i.i.d. ``N(0, σ²)`` per state–action from ``key``, runs
    :func:`kl_value_iteration` (``π_0`` uniform, ``Q_0 = 0``) and
    :func:`approximate_value_iteration` with these errors, and measures every policy against
    the exact ``q*`` (policy iteration): ``‖q* − q^{π_k}‖∞`` with ``q^π = r + γ P v^π``
    (``v^π`` by repeated squaring of ``γ P_π``). For ``κ = 0`` Vieillard et al. bound MDVI's error by
    ``2/(1 − γ) ‖E_k/k‖∞ + 4/(1 − γ)² (r_max + γ τ ln|A|)/k`` with ``E_k = −Σ_{j≤k} ε_j``:
    the noise enters through its average (``noise_averages``). Traced in ``tau``, ``kappa``,
    ``noise_scale`` and ``key``, so ``jax.vmap`` maps it over seeds and noise levels.

    Args:
      mdp: an :class:`MDP`.
      tau: KL weight ``τ ≥ 0``.
      kappa: entropy weight ``κ ≥ 0``; ``τ + κ > 0``.
      noise_scale: standard deviation ``σ ≥ 0`` of each evaluation error.
      num_steps: positive number of iterations ``K`` (static).
      key: a ``jax.random.key`` for the errors.

    Returns:
      :class:`NoisyVIOutput` (per-step errors of both methods, ``K + 1`` entries each).

    Raises:
      TypeError: ``mdp`` not an MDP, non-numeric weights, a key that is not a PRNG key,
        non-integer ``num_steps``.
      ValueError: negative ``tau``, ``kappa`` or ``noise_scale``, ``τ = κ = 0``,
        ``num_steps < 1``.
    """
    _require_mdp(mdp)
    for name, v in (("tau", tau), ("kappa", kappa), ("noise_scale", noise_scale)):
        _as_scalar(name, v)
        require_nonnegative(name, v)
    if is_concrete((tau, kappa)) and not float(tau) + float(kappa) > 0:
        raise ValueError("tau + kappa must be positive (tau = kappa = 0 is approximate_value_iteration)")
    require_int("num_steps", num_steps, minimum=1)
    require_key("key", key)
    dt = jnp.result_type(mdp.r)
    with jax.ensure_compile_time_eval():  # once, outside a caller's vmap over keys / noise levels
        q_star = _bellman_q(mdp, _pi_run(mdp, 1000).V)  # exact q* (policy iteration)
    return _noisy_vi(
        mdp,
        q_star,
        jnp.asarray(tau, dt),
        jnp.asarray(kappa, dt),
        jnp.asarray(noise_scale, dt),
        key,
        num_steps,
    )
