r"""Reinforcement learning as optimization: tabular MDPs as linear programs,
KL-regularized value iteration as mirror descent, and policy gradient on a
scalar linear-quadratic regulator.

Notation (chapter 16). A finite MDP has states ``s ∈ {0..S−1}``, actions
``a ∈ {0..A−1}``, transitions ``P[s, a, s'] = Pr(s' | s, a)``, rewards
``r[s, a]``, a discount ``γ ∈ [0, 1)`` and an initial distribution ``ρ``.
A (stochastic) policy is an ``S × A`` matrix ``π`` with rows on the simplex.

* Bellman optimality: ``V*(s) = max_a r(s, a) + γ Σ_s' P(s'|s, a) V*(s')``.
* Occupancy measure of ``π`` (unnormalised): ``d_π(s, a) = Σ_t γᵗ Pr(s_t = s, a_t = a)``.
  The primal LP maximises ``⟨d, r⟩`` over ``d ≥ 0`` subject to the Bellman-flow
  constraints ``Σ_a d(s, a) = ρ(s) + γ Σ_{s', a'} P(s | s', a') d(s', a')``; its
  dual minimises ``⟨ρ, V⟩`` subject to ``V(s) ≥ r(s, a) + γ (P V)(s, a)``.
  Both equal ``⟨ρ, V*⟩`` (Sikchi, Zheng, Zhang, Niekum 2023, "Dual RL").
* KL-regularized (mirror-descent) value iteration, MDVI (Geist et al. 2019;
  Vieillard et al. 2020; Kozuno et al. 2022), with KL weight ``τ`` and entropy
  weight ``κ``: ``π_{k+1} ∝ π_k^α exp(β Q_k)`` with ``β = 1/(τ + κ)``,
  ``α = τ/(τ + κ)``, and ``Q_{k+1} = r + γ P V_k`` with the soft value
  ``V_k(s) = (τ + κ) log Σ_a exp((Q_k(s, a) + τ log π_k(a|s))/(τ + κ))``.
  For ``κ = 0``: ``π_k ∝ π_0 exp(Σ_{j<k} Q_j / τ)`` (Q-averaging).
  Munchausen VI (Vieillard et al. 2020; Zhu et al. 2023 with ``q = 1``) is the
  same algorithm with ``τ_KL = ατ``, ``κ = (1 − α)τ``.
* Scalar LQR: ``x_{t+1} = a x_t + b u_t + w_t``, ``w_t ~ N(0, σ_w²)``,
  ``x_0 ~ N(0, σ_0²)``, reward ``−(q x_t² + R u_t²)``, linear-Gaussian policy
  ``u_t ~ N(k x_t, σ²)``. The return ``J(k) = E Σ_{t<H} γᵗ r_t`` and its
  gradient are closed form; REINFORCE / GPOMDP, N-PG-IGT and N-HARPG
  (Fatkhullin, Barakat, Kireeva, He 2023) estimate it from sampled
  trajectories, and the Polyak step ``(J* − J)/|∇J|²`` (Li et al. 2024) sets
  the step size of exact policy gradient ascent.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Optional

import jax
import jax.numpy as jnp
import numpy as np

from ._checks import (
    is_concrete,
    require_finite,
    require_in_range,
    require_int,
    require_ndim,
    require_nonnegative,
    require_positive,
    require_probability_vector,
    require_shape,
)

__all__ = [
    "MDP",
    "gridworld",
    "random_mdp",
    "bellman_q",
    "greedy",
    "policy_evaluation",
    "occupancy_measure",
    "ValueIterationOutput",
    "value_iteration",
    "PolicyIterationOutput",
    "policy_iteration",
    "LPOutput",
    "lp_matrices",
    "solve_lp",
    "RegularizedVIOutput",
    "kl_value_iteration",
    "munchausen_value_iteration",
    "LQR",
    "lqr_return",
    "lqr_gradient",
    "lqr_optimal_gain",
    "Rollouts",
    "lqr_rollouts",
    "gaussian_log_prob",
    "reinforce",
    "surrogate",
    "hessian_vector_product",
    "PGRun",
    "policy_gradient_run",
    "PolyakRun",
    "polyak_policy_gradient",
]


# ---------------------------------------------------------------------------
# tabular MDPs
# ---------------------------------------------------------------------------

def _plain(x) -> bool:
    """True for values we can validate (arrays, numbers, tracers), False for
    the placeholder objects JAX sometimes puts in pytrees."""
    return isinstance(x, (np.ndarray, jax.Array, float, int, np.floating, np.integer, list, tuple))


class _MDPFields(NamedTuple):
    P: Any
    r: Any
    gamma: Any
    rho: Any


class MDP(_MDPFields):
    """A finite discounted MDP ``(P, r, γ, ρ)``, validated at construction.

    Args:
      P: transitions, shape ``(S, A, S)``; ``P[s, a]`` must be a probability vector.
      r: rewards, shape ``(S, A)``, finite (any sign).
      gamma: discount in ``[0, 1)``.
      rho: initial distribution, shape ``(S,)``; default uniform.
    """

    __slots__ = ()

    def __new__(cls, P, r, gamma, rho=None):
        if not all(_plain(v) for v in (P, r, gamma)) or not (rho is None or _plain(rho)):
            return super().__new__(cls, P, r, gamma, rho)  # pytree plumbing: no checks
        if is_concrete((P, r, rho)):
            P = jnp.asarray(P)
            r = jnp.asarray(r)
        require_ndim("P", P, 3)
        S, A, S2 = jnp.shape(P)
        if S2 != S:
            raise ValueError(f"P must have shape (S, A, S), got {tuple(jnp.shape(P))}")
        require_shape("r", r, (S, A))
        require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
        if is_concrete(P):
            Pn = np.asarray(P)
            if not np.all(np.isfinite(Pn)):
                raise ValueError("P contains NaN or infinite entries")
            if np.any(Pn < 0):
                raise ValueError(f"P must be non-negative, got a minimum entry of {Pn.min()!r}")
            sums = Pn.sum(axis=2)
            bad = np.argwhere(np.abs(sums - 1.0) > 1e-6)
            if bad.size:
                s, a = bad[0]
                raise ValueError(
                    f"each row P[s, a, :] must sum to 1; P[{s}, {a}, :] sums to {float(sums[s, a]):.6g}"
                    f" ({len(bad)} bad row(s))")
        require_finite("r", r)
        if rho is None:
            rho = jnp.full((S,), 1.0 / S, dtype=jnp.result_type(P))
        else:
            if is_concrete(rho):
                rho = jnp.asarray(rho)
            require_shape("rho", rho, (S,))
            require_probability_vector("rho", rho)
        return super().__new__(cls, P, r, gamma, rho)

    @property
    def n_states(self) -> int:
        return int(jnp.shape(self.P)[0])

    @property
    def n_actions(self) -> int:
        return int(jnp.shape(self.P)[1])


_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # up, right, down, left


def gridworld(n: int = 5, *, slip: float = 0.1, gamma: float = 0.9,
              goal: tuple[int, int] | None = None, trap: tuple[int, int] | None = (1, 3),
              goal_reward: float = 1.0, trap_reward: float = -1.0, step_reward: float = 0.0,
              dtype=None) -> MDP:
    """An ``n × n`` gridworld with actions up/right/down/left (in that order).

    With probability ``1 − slip`` the agent moves as asked, otherwise in a
    uniformly random direction; moves into a wall leave it in place. Taking any
    action in the goal (default: bottom-right corner) pays ``goal_reward`` and
    keeps it there; any action in the trap pays ``trap_reward``. State
    ``s = row · n + col``; ``ρ`` is uniform.
    """
    require_int("n", n, minimum=2)
    require_in_range("slip", slip, 0.0, 1.0)
    goal = (n - 1, n - 1) if goal is None else goal
    S, A = n * n, 4
    P = np.zeros((S, A, S))
    r = np.full((S, A), float(step_reward))
    for i in range(n):
        for j in range(n):
            s = i * n + j
            if (i, j) == tuple(goal):
                P[s, :, s] = 1.0
                r[s, :] = goal_reward
                continue
            if trap is not None and (i, j) == tuple(trap):
                r[s, :] = trap_reward
            for a in range(A):
                for m in range(A):
                    prob = (1 - slip) * (m == a) + slip / A
                    ii, jj = i + _MOVES[m, 0], j + _MOVES[m, 1]
                    if not (0 <= ii < n and 0 <= jj < n):
                        ii, jj = i, j
                    P[s, a, ii * n + jj] += prob
    dtype = dtype or jnp.result_type(float)
    return MDP(jnp.asarray(P, dtype), jnp.asarray(r, dtype), gamma)


def random_mdp(key, n_states: int, n_actions: int, *, gamma: float = 0.9,
               sparsity: float = 0.0) -> MDP:
    """A random MDP: Dirichlet-like transitions (a fraction ``sparsity`` of the
    entries of each row set to zero, at least one kept), uniform rewards in [0, 1)."""
    require_int("n_states", n_states, minimum=1)
    require_int("n_actions", n_actions, minimum=1)
    require_in_range("sparsity", sparsity, 0.0, 1.0, high_inclusive=False)
    kP, kr, km = jax.random.split(key, 3)
    P = jax.random.exponential(kP, (n_states, n_actions, n_states))
    mask = jax.random.uniform(km, P.shape) >= sparsity
    mask = mask | (P == P.max(axis=2, keepdims=True))
    P = jnp.where(mask, P, 0.0)
    P = P / P.sum(axis=2, keepdims=True)
    r = jax.random.uniform(kr, (n_states, n_actions))
    return MDP(P, r, gamma)


def bellman_q(mdp: MDP, V) -> jax.Array:
    """``Q(s, a) = r(s, a) + γ Σ_s' P(s'|s, a) V(s')``."""
    return mdp.r + mdp.gamma * jnp.einsum("sat,t->sa", mdp.P, V)


def greedy(Q) -> jax.Array:
    """The deterministic greedy policy of ``Q`` as a one-hot ``S × A`` matrix
    (ties broken towards the first action)."""
    return jax.nn.one_hot(jnp.argmax(Q, axis=1), jnp.shape(Q)[1], dtype=jnp.result_type(Q))


def _check_policy(mdp: MDP, pi) -> None:
    require_shape("pi", pi, (mdp.n_states, mdp.n_actions))
    if is_concrete(pi):
        arr = np.asarray(pi)
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("pi must have finite, non-negative entries")
        if np.any(np.abs(arr.sum(axis=1) - 1) > 1e-6):
            raise ValueError("each row of pi must sum to 1")


def _p_pi(mdp: MDP, pi):
    return jnp.einsum("sa,sat->st", pi, mdp.P), jnp.sum(pi * mdp.r, axis=1)


def policy_evaluation(mdp: MDP, pi) -> jax.Array:
    """``V^π`` by one dense solve of ``(I − γ P_π) V = r_π``."""
    _check_policy(mdp, pi)
    P_pi, r_pi = _p_pi(mdp, pi)
    S = P_pi.shape[0]
    return jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - mdp.gamma * P_pi, r_pi)


def occupancy_measure(mdp: MDP, pi) -> jax.Array:
    """``d_π(s, a) = Σ_t γᵗ Pr(s_t = s, a_t = a)``: solves ``(I − γ P_πᵀ) d_S = ρ``,
    then ``d(s, a) = d_S(s) π(a|s)``. Total mass ``1/(1 − γ)``; ``⟨d_π, r⟩ = ⟨ρ, V^π⟩``."""
    _check_policy(mdp, pi)
    P_pi, _ = _p_pi(mdp, pi)
    S = P_pi.shape[0]
    dS = jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - mdp.gamma * P_pi.T, mdp.rho)
    return dS[:, None] * pi


class ValueIterationOutput(NamedTuple):
    """``V``, ``Q = r + γPV``, greedy ``policy`` (one-hot), ``errors[k] = ‖V_{k+1} − V_k‖∞``
    (NaN after the last iteration), ``n_iters`` and ``converged``
    (``γ/(1 − γ) · ‖V_{k+1} − V_k‖∞ ≤ tol``, which bounds ``‖V − V*‖∞``)."""

    V: jax.Array
    Q: jax.Array
    policy: jax.Array
    errors: jax.Array
    n_iters: jax.Array
    converged: jax.Array


@functools.partial(jax.jit, static_argnames=("max_iter",))
def _vi(mdp, V0, tol, max_iter):
    g = mdp.gamma
    thresh = tol * (1 - g) / jnp.maximum(g, 1e-30)
    errs0 = jnp.full((max_iter,), jnp.nan, dtype=V0.dtype)

    def cond(c):
        k, _, err, _ = c
        return (k < max_iter) & (err > thresh)

    def body(c):
        k, V, _, errs = c
        Vn = jnp.max(bellman_q(mdp, V), axis=1)
        err = jnp.max(jnp.abs(Vn - V))
        return k + 1, Vn, err, errs.at[k].set(err)

    k, V, err, errs = jax.lax.while_loop(cond, body, (0, V0, jnp.asarray(jnp.inf, V0.dtype), errs0))
    Q = bellman_q(mdp, V)
    return ValueIterationOutput(V, Q, greedy(Q), errs, k, err <= thresh)


def value_iteration(mdp: MDP, *, tol: float = 1e-10, max_iter: int = 10_000,
                    V0=None) -> ValueIterationOutput:
    """Value iteration ``V ← max_a r + γ P V`` until ``‖V − V*‖∞ ≤ tol`` is guaranteed."""
    require_positive("tol", tol)
    require_int("max_iter", max_iter, minimum=1)
    V0 = jnp.zeros(mdp.n_states, dtype=jnp.result_type(mdp.r)) if V0 is None else jnp.asarray(V0)
    require_shape("V0", V0, (mdp.n_states,))
    require_finite("V0", V0)
    return _vi(mdp, V0, tol, max_iter)


class PolicyIterationOutput(NamedTuple):
    V: jax.Array
    policy: jax.Array
    n_iters: jax.Array
    converged: jax.Array


def policy_iteration(mdp: MDP, *, max_iter: int = 100) -> PolicyIterationOutput:
    """Howard's policy iteration: exact evaluation (dense solve), greedy improvement,
    stop when the policy no longer changes (at most ``A^S`` rounds; far fewer in practice)."""
    require_int("max_iter", max_iter, minimum=1)
    return _pi_run(mdp, max_iter)


@functools.partial(jax.jit, static_argnames=("max_iter",))
def _pi_run(mdp, max_iter):
    S, A = mdp.r.shape

    def evaluate(pi):
        P_pi, r_pi = _p_pi(mdp, pi)
        return jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - mdp.gamma * P_pi, r_pi)

    def cond(c):
        k, _, _, done = c
        return (k < max_iter) & ~done

    def body(c):
        k, a_old, _, _ = c
        V = evaluate(jax.nn.one_hot(a_old, A, dtype=mdp.r.dtype))
        Q = bellman_q(mdp, V)
        # keep the old action on ties so the loop terminates
        keep = Q[jnp.arange(S), a_old] >= jnp.max(Q, axis=1) - 1e-12 * (1 + jnp.abs(V))
        a_new = jnp.where(keep, a_old, jnp.argmax(Q, axis=1).astype(a_old.dtype))
        return k + 1, a_new, V, jnp.all(a_new == a_old)

    init = (0, jnp.zeros(S, jnp.int32), jnp.zeros(S, mdp.r.dtype), jnp.asarray(False))
    k, a, V, done = jax.lax.while_loop(cond, body, init)
    return PolicyIterationOutput(V, jax.nn.one_hot(a, A, dtype=mdp.r.dtype), k, done)


# ---------------------------------------------------------------------------
# the two linear programs
# ---------------------------------------------------------------------------

class LPOutput(NamedTuple):
    """Solutions of the occupancy LP (primal) and the value LP (dual), as NumPy arrays."""

    occupancy: np.ndarray      # d*(s, a), shape (S, A)
    V: np.ndarray              # dual solution, shape (S,)
    primal_value: float        # max ⟨d, r⟩
    dual_value: float          # min ⟨ρ, V⟩
    policy: np.ndarray         # d*(s, a) / Σ_a d*(s, a) (uniform where a state has no mass)


def lp_matrices(mdp: MDP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(c, M, ρ)`` with ``c = vec(r)`` and the flow matrix ``M ∈ ℝ^{S × SA}``,
    ``M[s, (s', a')] = 1{s = s'} − γ P(s | s', a')``:
    primal ``max cᵀd, M d = ρ, d ≥ 0``; dual ``min ρᵀV, Mᵀ V ≥ c``."""
    P = np.asarray(mdp.P, dtype=float)
    S, A, _ = P.shape
    E = np.repeat(np.eye(S), A, axis=1)              # E[s, (s', a')] = 1{s = s'}
    M = E - float(mdp.gamma) * P.reshape(S * A, S).T
    return np.asarray(mdp.r, dtype=float).ravel(), M, np.asarray(mdp.rho, dtype=float)


def solve_lp(mdp: MDP) -> LPOutput:
    """Solve both LPs with HiGHS (``scipy.optimize.linprog``) and return them.

    ``primal_value`` and ``dual_value`` both equal ``⟨ρ, V*⟩`` (strong duality);
    ``V`` equals ``V*`` on every state with ``ρ(s) > 0``."""
    from scipy.optimize import linprog

    c, M, rho = lp_matrices(mdp)
    S, A = mdp.n_states, mdp.n_actions
    opts = dict(method="highs", options=dict(primal_feasibility_tolerance=1e-10,
                                             dual_feasibility_tolerance=1e-10))
    primal = linprog(-c, A_eq=M, b_eq=rho, bounds=(0, None), **opts)
    dual = linprog(rho, A_ub=-M.T, b_ub=-c, bounds=(None, None), **opts)
    if primal.status != 0 or dual.status != 0:
        raise RuntimeError(f"linprog failed: primal {primal.message!r}, dual {dual.message!r}")
    d = primal.x.reshape(S, A)
    mass = d.sum(axis=1, keepdims=True)
    pol = np.where(mass > 1e-12, d / np.where(mass > 0, mass, 1.0), 1.0 / A)
    return LPOutput(d, dual.x, float(c @ primal.x), float(rho @ dual.x), pol)


# ---------------------------------------------------------------------------
# KL-regularized value iteration (mirror descent on policies)
# ---------------------------------------------------------------------------

class RegularizedVIOutput(NamedTuple):
    """``q[k]`` for ``k = 0..K`` and ``log_policies[k] = log π_k`` (``π_0`` the prior)."""

    q: jax.Array
    log_policies: jax.Array

    @property
    def policies(self) -> jax.Array:
        return jnp.exp(self.log_policies)


@functools.partial(jax.jit, static_argnames=("num_iters",))
def _mdvi(mdp, tau, kappa, logpi0, q0, num_iters):
    lam = tau + kappa
    alpha, beta = tau / lam, 1.0 / lam

    def step(carry, _):
        q, logpi = carry
        logits = alpha * logpi + beta * q
        logpi_new = jax.nn.log_softmax(logits, axis=1)
        V = lam * jax.nn.logsumexp(logits, axis=1)   # = ⟨π_{k+1}, q − τ log(π_{k+1}/π_k) − κ log π_{k+1}⟩
        q_new = bellman_q(mdp, V)
        return (q_new, logpi_new), (q_new, logpi_new)

    _, (qs, lps) = jax.lax.scan(step, (q0, logpi0), None, length=num_iters)
    return RegularizedVIOutput(jnp.concatenate([q0[None], qs]), jnp.concatenate([logpi0[None], lps]))


def _reg_inputs(mdp, pi0, q0):
    S, A = mdp.n_states, mdp.n_actions
    dt = jnp.result_type(mdp.r)
    if pi0 is None:
        pi0 = jnp.full((S, A), 1.0 / A, dtype=dt)
    pi0 = jnp.asarray(pi0)
    _check_policy(mdp, pi0)
    if is_concrete(pi0) and np.any(np.asarray(pi0) <= 0):
        raise ValueError("pi0 must have full support (all entries > 0) for the KL term")
    q0 = jnp.zeros((S, A), dtype=dt) if q0 is None else jnp.asarray(q0)
    require_shape("q0", q0, (S, A))
    require_finite("q0", q0)
    return jnp.log(pi0), q0


def kl_value_iteration(mdp: MDP, tau: float, kappa: float = 0.0, *, num_iters: int = 100,
                       pi0=None, q0=None) -> RegularizedVIOutput:
    """Mirror-descent value iteration (MDVI) with KL weight ``τ`` and entropy weight ``κ``:

    ``π_{k+1} = argmax_π ⟨π, Q_k⟩ − τ KL(π ‖ π_k) + κ H(π)  ∝ π_k^{τ/(τ+κ)} exp(Q_k/(τ+κ))``,
    ``Q_{k+1} = r + γ P ⟨π_{k+1}, Q_k − τ log(π_{k+1}/π_k) − κ log π_{k+1}⟩``.

    With ``κ = 0`` the policy is the softmax of the *sum* of past Q's:
    ``π_k ∝ π_0 exp(Σ_{j<k} Q_j / τ)``. (Geist et al. 2019; Vieillard et al. 2020;
    Kozuno et al. 2022.)
    """
    require_nonnegative("tau", tau)
    require_nonnegative("kappa", kappa)
    if is_concrete((tau, kappa)) and not float(tau) + float(kappa) > 0:
        raise ValueError("tau + kappa must be positive (tau = kappa = 0 is plain value iteration)")
    require_int("num_iters", num_iters, minimum=1)
    logpi0, q0 = _reg_inputs(mdp, pi0, q0)
    dt = q0.dtype
    return _mdvi(mdp, jnp.asarray(tau, dt), jnp.asarray(kappa, dt), logpi0, q0, num_iters)


@functools.partial(jax.jit, static_argnames=("num_iters",))
def _mvi(mdp, tau, alpha, q0, num_iters):
    def step(q, _):
        logpi = jax.nn.log_softmax(q / tau, axis=1)
        pi = jnp.exp(logpi)
        V = jnp.sum(pi * (q - tau * logpi), axis=1)
        q_new = mdp.r + alpha * tau * logpi + mdp.gamma * jnp.einsum("sat,t->sa", mdp.P, V)
        return q_new, (q_new, logpi)

    _, (qs, lps) = jax.lax.scan(step, q0, None, length=num_iters)
    # log_policies[k] = π_k = softmax(q_{k-1}/τ); π_0 := softmax(q_0/τ) (it is never used)
    lp0 = jax.nn.log_softmax(q0 / tau, axis=1)
    return RegularizedVIOutput(jnp.concatenate([q0[None], qs]), jnp.concatenate([lp0[None], lps]))


def munchausen_value_iteration(mdp: MDP, tau: float, alpha: float, *, num_iters: int = 100,
                               q0=None) -> RegularizedVIOutput:
    """Munchausen value iteration, MVI(α, τ) (the ``q = 1`` case of MVI(q), Zhu et al. 2023):

    ``π_{k+1} = softmax(q_k / τ)``,
    ``q_{k+1} = r + ατ log π_{k+1} + γ P ⟨π_{k+1}, q_k − τ log π_{k+1}⟩``.

    Its policies are those of MDVI with KL weight ``ατ`` and entropy weight
    ``(1 − α)τ`` (from ``π_0`` uniform, ``Q_0 = 0``)."""
    require_positive("tau", tau)
    require_in_range("alpha", alpha, 0.0, 1.0)
    require_int("num_iters", num_iters, minimum=1)
    _, q0 = _reg_inputs(mdp, None, q0)
    dt = q0.dtype
    return _mvi(mdp, jnp.asarray(tau, dt), jnp.asarray(alpha, dt), q0, num_iters)


# ---------------------------------------------------------------------------
# scalar LQR with a linear-Gaussian policy
# ---------------------------------------------------------------------------

class _LQRFields(NamedTuple):
    a: float
    b: float
    q: float
    R: float
    sigma: float
    noise: float
    x0_std: float
    gamma: float
    horizon: Optional[int]


class LQR(_LQRFields):
    """Scalar LQR ``x' = a x + b u + w`` with policy ``u ~ N(k x, σ²)``.

    Fields: ``a, b`` dynamics; ``q ≥ 0, R ≥ 0`` state/action costs (reward
    ``−(q x² + R u²)``); ``sigma > 0`` policy std; ``noise ≥ 0`` std of ``w``;
    ``x0_std ≥ 0`` std of ``x_0``; ``gamma ∈ [0, 1)``; ``horizon`` ``H`` (an int)
    or ``None`` for the infinite-horizon discounted return. Python floats, validated.
    """

    __slots__ = ()

    def __new__(cls, a=0.8, b=0.5, q=1.0, R=0.1, sigma=0.5, noise=0.1, x0_std=1.0,
                gamma=0.9, horizon: Optional[int] = 20):
        for name, v in (("a", a), ("b", b)):
            require_finite(name, jnp.asarray(v, float))
        require_nonnegative("q", q)
        require_nonnegative("R", R)
        require_positive("sigma", sigma)
        require_nonnegative("noise", noise)
        require_nonnegative("x0_std", x0_std)
        require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
        if horizon is not None:
            require_int("horizon", horizon, minimum=1)
        return super().__new__(cls, float(a), float(b), float(q), float(R), float(sigma),
                               float(noise), float(x0_std), float(gamma), horizon)


def _moments(k, sys: LQR):
    """``c = (a + bk)²`` and the per-step additive variance ``s = b²σ² + σ_w²``."""
    c = (sys.a + sys.b * k) ** 2
    s = sys.b ** 2 * sys.sigma ** 2 + sys.noise ** 2
    return c, s


def lqr_return(k, sys: LQR):
    """Exact ``J(k) = E Σ_{t<H} γᵗ (−q x_t² − R u_t²)`` (``H = ∞`` when ``horizon`` is None).

    With ``m_t = E x_t²``: ``m_{t+1} = c m_t + s`` and ``E u_t² = k² m_t + σ²``, so
    ``J = −Σ_t γᵗ [(q + R k²) m_t + R σ²]``. Infinite horizon:
    ``J = −(q + Rk²)(m_0 + γ s/(1 − γ))/(1 − γ c) − Rσ²/(1 − γ)`` for ``γ c < 1``
    (``−inf`` otherwise). Differentiable in ``k``; vectorises over ``k``.
    """
    require_finite("k", k)
    k = jnp.asarray(k)
    c, s = _moments(k, sys)
    g, m0 = sys.gamma, sys.x0_std ** 2
    w = sys.q + sys.R * k ** 2
    if sys.horizon is None:
        M = (m0 + g * s / (1 - g)) / (1 - g * c)
        J = -(w * M) - sys.R * sys.sigma ** 2 / (1 - g)
        return jnp.where(g * c < 1, J, -jnp.inf)

    def step(carry, _):
        m, disc, acc = carry
        acc = acc + disc * (w * m + sys.R * sys.sigma ** 2)
        return (c * m + s, disc * g, acc), None

    zero = jnp.zeros_like(w)
    (_, _, acc), _ = jax.lax.scan(step, (zero + m0, zero + 1.0, zero), None, length=sys.horizon)
    return -acc


def lqr_gradient(k, sys: LQR):
    """Exact ``dJ/dk``. Infinite horizon, by hand: with ``M(k) = (m_0 + γs/(1−γ))/(1 − γc)``,
    ``dM/dk = M · 2γb(a + bk)/(1 − γc)`` and ``dJ/dk = −2Rk M − (q + Rk²) dM/dk``.
    Finite horizon: differentiation of the exact moment recursion."""
    require_finite("k", k)
    k = jnp.asarray(k)
    if sys.horizon is None:
        c, s = _moments(k, sys)
        g, m0 = sys.gamma, sys.x0_std ** 2
        M = (m0 + g * s / (1 - g)) / (1 - g * c)
        dM = M * 2 * g * sys.b * (sys.a + sys.b * k) / (1 - g * c)
        return -2 * sys.R * k * M - (sys.q + sys.R * k ** 2) * dM
    f = lambda kk: lqr_return(kk, sys)  # noqa: E731
    return jnp.vectorize(jax.grad(f))(k)


def lqr_optimal_gain(sys: LQR) -> tuple[float, float]:
    """``(k*, J(k*))``: the best linear gain for the Gaussian policy class.

    Infinite horizon: ``J(k) ∝ −(q + Rk²)/(1 − γ(a + bk)²)`` up to constants, whose
    maximiser is the discounted Riccati gain ``k* = −γabP/(R + γb²P)`` with ``P`` the
    positive root of ``γb²P² + ((1 − γa²)R − γ q b²)P − qR = 0``. Finite horizon:
    Newton's method on the exact ``J`` started from the Riccati gain."""
    g, a, b, q, R = sys.gamma, sys.a, sys.b, sys.q, sys.R
    B2, A2 = g * b * b, g * a * a
    if B2 == 0 or R == 0:
        raise ValueError("lqr_optimal_gain needs b != 0, gamma > 0 and R > 0")
    lin = (1 - A2) * R - q * B2
    P = (-lin + np.sqrt(lin * lin + 4 * B2 * q * R)) / (2 * B2)
    k = -g * a * b * P / (R + B2 * P)
    if sys.horizon is not None:
        d1 = jax.jit(jax.grad(lambda kk: lqr_return(kk, sys)))
        d2 = jax.jit(jax.grad(jax.grad(lambda kk: lqr_return(kk, sys))))
        for _ in range(50):
            step = float(d1(k)) / float(d2(k))
            k = k - step
            if abs(step) < 1e-14 * (1 + abs(k)):
                break
    return float(k), float(lqr_return(k, sys))


class Rollouts(NamedTuple):
    """Sampled trajectories, each array of shape ``(n, H)``."""

    x: jax.Array
    u: jax.Array
    r: jax.Array


def _rollout_one(key, k, sys: LQR):
    kx, kt = jax.random.split(key)
    dt = jnp.result_type(k, float)
    x0 = sys.x0_std * jax.random.normal(kx, (), dt)
    keys = jax.random.split(kt, sys.horizon)

    def step(x, key_t):
        ku, kw = jax.random.split(key_t)
        u = k * x + sys.sigma * jax.random.normal(ku, (), dt)
        rew = -(sys.q * x * x + sys.R * u * u)
        x_new = sys.a * x + sys.b * u + sys.noise * jax.random.normal(kw, (), dt)
        return x_new, (x, u, rew)

    _, (xs, us, rs) = jax.lax.scan(step, x0, keys)
    return Rollouts(xs, us, rs)


def _need_horizon(sys: LQR):
    if sys.horizon is None:
        raise ValueError("sampling needs a finite horizon: build the LQR with horizon=H")


@functools.partial(jax.jit, static_argnames=("sys", "n"))
def _rollouts(key, k, sys, n):
    return jax.vmap(lambda kk: _rollout_one(kk, k, sys))(jax.random.split(key, n))


def lqr_rollouts(key, k, sys: LQR, n: int) -> Rollouts:
    """``n`` independent trajectories of length ``H`` under ``u ~ N(k x, σ²)``
    (a ``lax.scan`` over time, ``vmap``-ed over trajectories)."""
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    require_finite("k", k)
    k = jnp.asarray(k, jnp.result_type(k, float))
    return _rollouts(key, k, sys, n)


def gaussian_log_prob(k, x, u, sigma):
    """``log π_k(u | x)`` for ``u ~ N(k x, σ²)``; its ``k``-derivative is ``(u − kx) x / σ²``."""
    return -0.5 * ((u - k * x) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi)


def _discounts(sys, H, dt):
    return sys.gamma ** jnp.arange(H, dtype=dt)


def surrogate(k, traj: Rollouts, sys: LQR):
    """GPOMDP surrogate of one trajectory, ``Φ(k) = Σ_t (Σ_{h≥t} γʰ r_h) log π_k(u_t|x_t)``
    (the samples held fixed): ``∇Φ`` is the GPOMDP gradient estimate, and
    ``∇²Φ + ∇Φ (∇ log p)ᵀ`` the Hessian estimate of HARPG."""
    H = traj.r.shape[-1]
    disc = _discounts(sys, H, traj.r.dtype)
    togo = jnp.cumsum((disc * traj.r)[::-1])[::-1]
    return jnp.sum(togo * gaussian_log_prob(k, traj.x, traj.u, sys.sigma))


def _score_sum(k, traj, sys):
    return jnp.sum(gaussian_log_prob(k, traj.x, traj.u, sys.sigma))


def reinforce(key, k, sys: LQR, n: int, *, baseline: Any = None,
              reward_to_go: bool = False) -> jax.Array:
    """Per-trajectory REINFORCE estimates of ``dJ/dk`` (shape ``(n,)``); their mean is
    unbiased (Williams 1992).

    * ``reward_to_go=False``: ``(Σ_t ∇log π(u_t|x_t)) · (G − b)``, ``G = Σ_t γᵗ r_t``;
    * ``reward_to_go=True`` (GPOMDP): ``Σ_t ∇log π(u_t|x_t) (Σ_{h≥t} γʰ r_h − γᵗ b)``.

    ``baseline``: None (``b = 0``), a number, or ``"loo"`` (leave-one-out mean of the
    other trajectories' returns: still unbiased, needs ``n ≥ 2``)."""
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    if isinstance(baseline, str):
        if baseline != "loo":
            raise ValueError(f"baseline must be None, a number or 'loo', got {baseline!r}")
        if n < 2:
            raise ValueError("baseline='loo' needs n >= 2 trajectories")
    elif baseline is not None:
        require_finite("baseline", jnp.asarray(baseline, float))
    kind = "none" if baseline is None else ("loo" if isinstance(baseline, str) else "const")
    b = 0.0 if kind != "const" else baseline
    require_finite("k", k)
    k = jnp.asarray(k, jnp.result_type(k, float))
    return _reinforce(key, k, jnp.asarray(b, k.dtype), sys, n, kind, bool(reward_to_go))


@functools.partial(jax.jit, static_argnames=("sys", "n", "kind", "reward_to_go"))
def _reinforce(key, k, b_const, sys, n, kind, reward_to_go):
    traj = _rollouts(key, k, sys, n)
    H = traj.r.shape[1]
    disc = _discounts(sys, H, traj.r.dtype)
    G = jnp.sum(disc * traj.r, axis=1)
    if kind == "none":
        b = jnp.zeros_like(G)
    elif kind == "loo":
        b = (jnp.sum(G) - G) / (n - 1)
    else:
        b = jnp.full_like(G, b_const)
    scores = (traj.u - k * traj.x) * traj.x / sys.sigma ** 2        # (n, H)
    if reward_to_go:
        togo = jnp.cumsum((disc * traj.r)[:, ::-1], axis=1)[:, ::-1]
        return jnp.sum(scores * (togo - disc * b[:, None]), axis=1)
    return jnp.sum(scores, axis=1) * (G - b)


def hessian_vector_product(k, v, traj: Rollouts, sys: LQR):
    """HARPG's Hessian estimate times ``v``:
    ``B v = ∇Φ · (∇ log p(τ|k) · v) + ∇²Φ v`` with ``Φ`` the GPOMDP surrogate, the
    second term by ``jax.jvp`` of ``jax.grad(Φ)`` (Fatkhullin et al. 2023, eq. for
    ``B(τ, θ)``)."""
    phi = lambda kk: surrogate(kk, traj, sys)  # noqa: E731
    g, hv = jax.jvp(jax.grad(phi), (k,), (v,))
    _, dlogp_v = jax.jvp(lambda kk: _score_sum(kk, traj, sys), (k,), (v,))
    return g * dlogp_v + hv


class PGRun(NamedTuple):
    """Iterates ``k[t]`` (``t = 0..T``) and the cumulative number of sampled trajectories."""

    k: jax.Array
    trajectories: jax.Array


@functools.partial(jax.jit, static_argnames=("sys", "method", "num_iters"))
def _pg_run(key, k0, sys, method, num_iters, step_size, eta_power, step_power):
    dt = jnp.result_type(k0, float)
    k0 = jnp.asarray(k0, dt)

    def grad_est(key, k):
        traj = _rollout_one(key, k, sys)
        return jax.grad(surrogate)(k, traj, sys)

    def sched(t):
        base = 2.0 / (t + 2.0)
        return step_size * base ** step_power, base ** eta_power

    keys = jax.random.split(key, num_iters + 1)
    d0 = grad_est(keys[0], k0)

    def normalized(d):
        return d / jnp.maximum(jnp.abs(d), 1e-30)

    if method == "reinforce":
        def step(c, xs):
            k, _ = c
            t, kt = xs
            lr, _ = sched(t)
            k_new = k + lr * grad_est(kt, k)
            return (k_new, None), k_new
        init = (k0, None)
    elif method == "n-pg-igt":
        def step(c, xs):
            k, d = c
            t, kt = xs
            lr, eta = sched(t)
            k_new = k + lr * normalized(d)
            k_tilde = k_new + (1 - eta) / eta * (k_new - k)
            d_new = (1 - eta) * d + eta * grad_est(kt, k_tilde)
            return (k_new, d_new), k_new
        init = (k0, d0)
    elif method == "n-harpg":
        def step(c, xs):
            k, d = c
            t, kt = xs
            lr, eta = sched(t)
            k_new = k + lr * normalized(d)
            kq, k1, k2 = jax.random.split(kt, 3)
            qq = jax.random.uniform(kq, (), dt)
            k_hat = qq * k_new + (1 - qq) * k
            traj_hat = _rollout_one(k2, k_hat, sys)
            v = hessian_vector_product(k_hat, k_new - k, traj_hat, sys)
            d_new = (1 - eta) * (d + v) + eta * grad_est(k1, k_new)
            return (k_new, d_new), k_new
        init = (k0, d0)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(method)

    ts = jnp.arange(num_iters, dtype=dt)
    _, ks = jax.lax.scan(step, init, (ts, keys[1:]))
    per_iter = 2 if method == "n-harpg" else 1
    first = 0 if method == "reinforce" else 1
    n_traj = first + per_iter * jnp.arange(num_iters + 1)
    return PGRun(jnp.concatenate([k0[None], ks]), n_traj)


_PG_DEFAULTS = {"reinforce": (0.0, 1.0), "n-pg-igt": (0.8, 0.6), "n-harpg": (0.5, 0.5)}


def policy_gradient_run(key, sys: LQR, method: str, k0, num_iters: int, step_size: float, *,
                        eta_power: float | None = None,
                        step_power: float | None = None) -> PGRun:
    """Stochastic policy-gradient ascent on ``J(k)`` from one trajectory per gradient.

    ``method``:

    * ``"reinforce"``: ``k ← k + γ_t g(τ_t, k)`` (GPOMDP estimate ``g = ∇Φ``, 1 trajectory/step);
    * ``"n-pg-igt"`` (normalized PG with implicit gradient transport):
      ``k_{t+1} = k_t + γ_t d_t/|d_t|``, ``k̃ = k_{t+1} + (1 − η_t)/η_t (k_{t+1} − k_t)``,
      ``d_{t+1} = (1 − η_t) d_t + η_t g(τ, k̃)`` (1 trajectory/step);
    * ``"n-harpg"`` (normalized Hessian-aided recursive PG): ``k̂ = q k_{t+1} + (1 − q) k_t``,
      ``q ~ U[0, 1]``, ``d_{t+1} = (1 − η_t)(d_t + B(τ̂, k̂)(k_{t+1} − k_t)) + η_t g(τ, k_{t+1})``
      (2 trajectories/step; ``B v`` by :func:`hessian_vector_product`).

    Schedules ``γ_t = step_size · (2/(t + 2))^step_power``, ``η_t = (2/(t + 2))^eta_power``.
    Defaults (``step_power``, ``eta_power``): REINFORCE ``(1, –)``, IGT ``(3/5, 4/5)``,
    HARPG ``(1/2, 1/2)``: polynomially decaying schedules in the spirit of the analysis of
    Fatkhullin et al. (2023), with exponents chosen by us on the chapter's LQR (not the
    paper's constants).
    """
    if method not in _PG_DEFAULTS:
        raise ValueError(f"method must be one of {sorted(_PG_DEFAULTS)}, got {method!r}")
    _need_horizon(sys)
    require_int("num_iters", num_iters, minimum=1)
    require_positive("step_size", step_size)
    require_finite("k0", k0)
    ep, sp = _PG_DEFAULTS[method]
    ep = ep if eta_power is None else eta_power
    sp = sp if step_power is None else step_power
    require_nonnegative("eta_power", ep)
    require_nonnegative("step_power", sp)
    return _pg_run(key, k0, sys, method, num_iters, step_size, ep, sp)


class PolyakRun(NamedTuple):
    k: jax.Array        # iterates, (T+1,)
    steps: jax.Array    # step sizes used, (T,)
    values: jax.Array   # J(k_t), (T+1,)


def polyak_policy_gradient(k0, sys: LQR, num_iters: int, *, j_star: float,
                           max_step: float = np.inf, step_size: float | None = None) -> PolyakRun:
    """Exact policy-gradient ascent ``k ← k + η_t ∇J(k)`` with the Polyak step
    ``η_t = min((J* − J(k_t))/|∇J(k_t)|², max_step)`` (Polyak 1987; for policy
    gradient, Li et al. 2024), or a constant ``step_size`` when given (for comparison).
    ``j_star`` may be an estimate; an overestimate makes the steps larger."""
    require_int("num_iters", num_iters, minimum=1)
    require_finite("k0", k0)
    require_finite("j_star", jnp.asarray(j_star, float))
    require_positive("max_step", max_step) if np.isfinite(max_step) else None
    if step_size is not None:
        require_positive("step_size", step_size)
    dt = jnp.result_type(k0, float)
    use_polyak = step_size is None
    return _polyak(jnp.asarray(k0, dt), sys, num_iters, jnp.asarray(j_star, dt),
                   jnp.asarray(max_step, dt), jnp.asarray(0.0 if use_polyak else step_size, dt),
                   use_polyak)


@functools.partial(jax.jit, static_argnames=("sys", "num_iters", "use_polyak"))
def _polyak(k0, sys, num_iters, j_star, max_step, step_size, use_polyak):
    f = lambda kk: lqr_return(kk, sys)  # noqa: E731
    vg = jax.value_and_grad(f)

    def step(k, _):
        J, g = vg(k)
        if use_polyak:
            eta = jnp.minimum((j_star - J) / jnp.maximum(g * g, 1e-300), max_step)
            eta = jnp.maximum(eta, 0.0)
        else:
            eta = step_size
        k_new = k + eta * g
        return k_new, (k_new, eta, J)

    kT, (ks, etas, Js) = jax.lax.scan(step, k0, None, length=num_iters)
    return PolyakRun(jnp.concatenate([k0[None], ks]), etas, jnp.concatenate([Js, f(kT)[None]]))
