r"""Finite MDPs and dynamic programming (chapter 16): the MDP type, a gridworld and random
MDPs, Bellman operators, policy evaluation, occupancy measures, value and policy iteration.

Notation (chapter 16). A finite MDP has states ``s ∈ {0..S−1}``, actions
``a ∈ {0..A−1}``, transitions ``P[s, a, s'] = Pr(s' | s, a)``, rewards
``r[s, a]``, a discount ``γ ∈ [0, 1)`` and an initial distribution ``ρ``.
A (stochastic) policy is an ``S × A`` matrix ``π`` with rows on the simplex.

* Bellman optimality: ``V*(s) = max_a r(s, a) + γ Σ_s' P(s'|s, a) V*(s')``.
* Occupancy measure of ``π`` (unnormalised): ``d_π(s, a) = Σ_t γᵗ Pr(s_t = s, a_t = a)``.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import (
    as_float_array,
    is_concrete,
    require_in_range,
    require_int,
    require_key,
    require_positive,
    require_probability_vector,
    require_shape,
)
from .._types import Array, Bool, Float, Int, PRNGKeyArray
from ._common import _HI, _as_scalar

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
]


def _row_tol(dtype, n: int) -> float:
    """Tolerance on a sum of ``n`` probabilities in ``dtype`` (rounding grows with ``n``)."""
    return max(1e-6, 4.0 * float(jnp.finfo(dtype).eps) * n)


class _MDPFields(NamedTuple):
    P: Any
    r: Any
    gamma: Any
    rho: Any


class MDP(_MDPFields):
    """A finite discounted MDP ``(P, r, γ, ρ)``, validated at construction.

    Every field goes through the library's one conversion policy
    (:func:`optlab._checks.as_float_array`): lists, integer and NumPy arrays become
    floating JAX arrays (one common dtype), strings/``None``/complex values are refused.
    Value checks are skipped on JAX tracers, so an ``MDP`` can be built inside
    ``jit``/``vmap`` (e.g. ``vmap`` over ``gamma``).

    Args:
      P: transitions, shape ``(S, A, S)``; each row ``P[s, a, :]`` must be a probability vector.
      r: rewards, shape ``(S, A)``, finite (any sign).
      gamma: discount in ``[0, 1)`` (stored as a 0-d array of the MDP's dtype).
      rho: initial distribution, shape ``(S,)``; default uniform.

    Raises:
      TypeError: a field is not real-numeric (string, ``None``, complex, ragged).
      ValueError: a wrong shape, a NaN/inf, a row of ``P`` or ``rho`` that is not a
        probability vector, or ``gamma`` outside ``[0, 1)``.
    """

    __slots__ = ()

    def __new__(cls, P, r, gamma, rho=None):
        P = as_float_array("P", P, ndim=3)
        S, A, S2 = jnp.shape(P)
        if S == 0 or A == 0 or S2 != S:
            raise ValueError(f"P must have shape (S, A, S) with S, A >= 1, got {tuple(jnp.shape(P))}")
        r = as_float_array("r", r, ndim=2)
        require_shape("r", r, (S, A))
        gamma = _as_scalar("gamma", gamma)
        require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
        dt = jnp.result_type(P, r)
        P, r, gamma = P.astype(dt), r.astype(dt), gamma.astype(dt)
        if is_concrete(P):
            Pn = np.asarray(P)
            if np.any(Pn < 0):
                raise ValueError(f"P must be non-negative, got a minimum entry of {Pn.min()!r}")
            sums = Pn.astype(np.float64).sum(axis=2)
            bad = np.argwhere(np.abs(sums - 1.0) > _row_tol(dt, S))
            if bad.size:
                s, a = bad[0]
                raise ValueError(
                    f"each row P[s, a, :] must sum to 1; P[{s}, {a}, :] sums to {float(sums[s, a]):.6g}"
                    f" ({len(bad)} bad row(s))"
                )
        if rho is None:
            rho = jnp.full((S,), 1.0 / S, dtype=dt)
        else:
            rho = as_float_array("rho", rho, ndim=1)
            require_shape("rho", rho, (S,))
            require_probability_vector("rho", rho, atol=_row_tol(rho.dtype, S))
            rho = rho.astype(dt)
        return super().__new__(cls, P, r, gamma, rho)

    def _replace(self, **kwargs) -> MDP:
        """A copy with some fields replaced, validated again."""
        fields = self._asdict()
        unknown = set(kwargs) - set(fields)
        if unknown:
            raise ValueError(f"MDP has no field(s) {sorted(unknown)}")
        fields.update(kwargs)
        return MDP(**fields)

    @property
    def n_states(self) -> int:
        return int(jnp.shape(self.P)[0])

    @property
    def n_actions(self) -> int:
        return int(jnp.shape(self.P)[1])


# pytree plumbing (jit, vmap, tree_map) rebuilds an MDP from its leaves, which may be
# tracers or placeholders: it bypasses the validating constructor.
jax.tree_util.register_pytree_node(
    MDP, lambda m: (tuple(m), None), lambda _, leaves: tuple.__new__(MDP, tuple(leaves))
)


def _require_mdp(mdp: Any) -> None:
    if not isinstance(mdp, MDP):
        raise TypeError(f"mdp must be an optlab.rl.MDP (see rl.MDP, rl.gridworld), got {type(mdp).__name__}")


_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])  # up, right, down, left
_DEFAULT_TRAP = (1, 3)


def _cell(name: str, cell: Any, n: int) -> tuple[int, int]:
    """``cell`` as a pair of integers inside the ``n × n`` grid."""
    if isinstance(cell, (str, bytes)) or not hasattr(cell, "__len__") or len(cell) != 2:
        raise TypeError(f"{name} must be a (row, col) pair of integers, got {cell!r}")
    for c in cell:
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, (int, np.integer)):
            raise TypeError(f"{name} must be a (row, col) pair of integers, got {cell!r}")
    i, j = int(cell[0]), int(cell[1])
    if not (0 <= i < n and 0 <= j < n):
        raise ValueError(f"{name} must lie inside the {n} x {n} grid (0 <= row, col < {n}), got {cell!r}")
    return i, j


def gridworld(
    n: int = 5,
    *,
    slip: float = 0.1,
    gamma: float = 0.9,
    goal: tuple[int, int] | None = None,
    trap: tuple[int, int] | None = _DEFAULT_TRAP,
    goal_reward: float = 1.0,
    trap_reward: float = -1.0,
    step_reward: float = 0.0,
    dtype=None,
) -> MDP:
    """An ``n × n`` gridworld with actions up/right/down/left (in that order).

    With probability ``1 − slip`` the agent moves as asked, otherwise in a
    uniformly random direction; moves into a wall leave it in place. Taking any
    action in the goal (default: bottom-right corner) pays ``goal_reward`` and
    keeps it there; any action in the trap pays ``trap_reward``. State
    ``s = row · n + col``; ``ρ`` is uniform.

    Args:
      n: side of the grid, at least 2.
      slip: probability of a uniformly random move, in ``[0, 1]``.
      gamma: discount in ``[0, 1)``.
      goal: ``(row, col)`` inside the grid; default ``(n − 1, n − 1)``.
      trap: ``(row, col)`` inside the grid, different from the goal, or ``None``. The
        default ``(1, 3)`` is dropped on grids too small to hold it (``n < 4``).
      goal_reward, trap_reward, step_reward: finite rewards.
      dtype: floating dtype of ``P`` and ``r`` (default: the default float dtype).

    Returns:
      The validated :class:`MDP`.

    Raises:
      TypeError: a non-integer ``n`` or cell, a non-numeric reward.
      ValueError: ``n < 2``, ``slip`` outside ``[0, 1]``, a cell outside the grid,
        ``trap == goal``, a non-finite reward, ``gamma`` outside ``[0, 1)``.
    """
    require_int("n", n, minimum=2)
    _as_scalar("slip", slip)
    require_in_range("slip", slip, 0.0, 1.0)
    _as_scalar("gamma", gamma)
    require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
    rewards = {
        name: float(_as_scalar(name, v))
        for name, v in (
            ("goal_reward", goal_reward),
            ("trap_reward", trap_reward),
            ("step_reward", step_reward),
        )
    }
    goal = (n - 1, n - 1) if goal is None else _cell("goal", goal, n)
    if trap is _DEFAULT_TRAP and not (trap[0] < n and trap[1] < n):
        trap = None
    if trap is not None:
        trap = _cell("trap", trap, n)
        if trap == goal:
            raise ValueError(f"trap must differ from goal, got trap = goal = {goal}")
    if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a floating dtype, got {dtype!r}")
    slip = float(slip)
    S, A = n * n, 4
    P = np.zeros((S, A, S))
    r = np.full((S, A), rewards["step_reward"])
    for i in range(n):
        for j in range(n):
            s = i * n + j
            if (i, j) == goal:
                P[s, :, s] = 1.0
                r[s, :] = rewards["goal_reward"]
                continue
            if trap is not None and (i, j) == trap:
                r[s, :] = rewards["trap_reward"]
            for a in range(A):
                for m in range(A):
                    prob = (1 - slip) * (m == a) + slip / A
                    ii, jj = i + _MOVES[m, 0], j + _MOVES[m, 1]
                    if not (0 <= ii < n and 0 <= jj < n):
                        ii, jj = i, j
                    P[s, a, ii * n + jj] += prob
    dtype = dtype or jnp.result_type(float)
    return MDP(jnp.asarray(P, dtype), jnp.asarray(r, dtype), gamma)


def random_mdp(
    n_states: int, n_actions: int, *, key: PRNGKeyArray, gamma: float = 0.9, sparsity: float = 0.0
) -> MDP:
    """A random MDP: Dirichlet-like transitions (a fraction ``sparsity`` of the
    entries of each row set to zero, at least one kept), uniform rewards in [0, 1).

    Args:
      n_states, n_actions: positive integers.
      key: a JAX PRNG key (``jax.random.key(seed)``).
      gamma: discount in ``[0, 1)``.
      sparsity: fraction of zeroed transition entries, in ``[0, 1)``.

    Returns:
      The validated :class:`MDP` (default float dtype).

    Raises:
      TypeError: an integer seed instead of a key, non-integer sizes.
      ValueError: sizes below 1, ``sparsity`` or ``gamma`` out of range.
    """
    require_key("key", key)
    require_int("n_states", n_states, minimum=1)
    require_int("n_actions", n_actions, minimum=1)
    _as_scalar("sparsity", sparsity)
    require_in_range("sparsity", sparsity, 0.0, 1.0, high_inclusive=False)
    _as_scalar("gamma", gamma)
    require_in_range("gamma", gamma, 0.0, 1.0, high_inclusive=False)
    P, r = _random_mdp_arrays(key, n_states, n_actions, sparsity)
    return MDP(P, r, gamma)


@functools.partial(jax.jit, static_argnames=("n_states", "n_actions"))
def _random_mdp_arrays(key, n_states, n_actions, sparsity):
    kP, kr, km = jax.random.split(key, 3)
    P = jax.random.exponential(kP, (n_states, n_actions, n_states))
    mask = jax.random.uniform(km, P.shape) >= sparsity
    mask = mask | (P.max(axis=2, keepdims=True) == P)
    P = jnp.where(mask, P, 0.0)
    P = P / P.sum(axis=2, keepdims=True)
    r = jax.random.uniform(kr, (n_states, n_actions))
    return P, r


def bellman_q(mdp: MDP, V: Float[Array, " S"]) -> Float[Array, "S A"]:
    """``Q(s, a) = r(s, a) + γ Σ_s' P(s'|s, a) V(s')``.

    Args:
      mdp: an :class:`MDP`.
      V: values, shape ``(S,)``, finite.

    Returns:
      ``Q``, shape ``(S, A)``.

    Raises:
      TypeError: ``mdp`` is not an MDP, ``V`` not numeric.
      ValueError: ``V`` has the wrong shape or a NaN/inf.
    """
    _require_mdp(mdp)
    V = as_float_array("V", V, ndim=1)
    require_shape("V", V, (mdp.n_states,))
    return _bellman_q(mdp, V)


def _bellman_q(mdp, V):
    return mdp.r + mdp.gamma * jnp.einsum("sat,t->sa", mdp.P, V, precision=_HI)


def greedy(Q: Float[Array, "S A"]) -> Float[Array, "S A"]:
    """The deterministic greedy policy of ``Q`` as a one-hot ``S × A`` matrix
    (ties broken towards the first action).

    Args:
      Q: action values, shape ``(S, A)`` with ``S, A ≥ 1``, finite.

    Returns:
      A one-hot policy, shape ``(S, A)``, in ``Q``'s floating dtype.

    Raises:
      TypeError: ``Q`` is not numeric. ValueError: wrong shape, empty, NaN/inf.
    """
    Q = as_float_array("Q", Q, ndim=2)
    if 0 in Q.shape:
        raise ValueError(f"Q must have shape (S, A) with S, A >= 1, got {Q.shape}")
    return _greedy(Q)


def _greedy(Q):
    return jax.nn.one_hot(jnp.argmax(Q, axis=1), jnp.shape(Q)[1], dtype=jnp.result_type(Q))


def _check_policy(mdp: MDP, pi, name: str = "pi") -> jax.Array:
    pi = as_float_array(name, pi, ndim=2)
    require_shape(name, pi, (mdp.n_states, mdp.n_actions))
    if is_concrete(pi):
        arr = np.asarray(pi, dtype=np.float64)
        if np.any(arr < 0):
            raise ValueError(f"{name} must have non-negative entries, got a minimum of {arr.min()!r}")
        sums = arr.sum(axis=1)
        if np.any(np.abs(sums - 1) > _row_tol(pi.dtype, mdp.n_actions)):
            s = int(np.argmax(np.abs(sums - 1)))
            raise ValueError(f"each row of {name} must sum to 1; row {s} sums to {sums[s]:.6g}")
    return pi.astype(mdp.P.dtype)


def _p_pi(mdp: MDP, pi):
    return (jnp.einsum("sa,sat->st", pi, mdp.P, precision=_HI), jnp.sum(pi * mdp.r, axis=1))


@jax.jit
def _policy_value(mdp, pi):
    P_pi, r_pi = _p_pi(mdp, pi)
    S = P_pi.shape[0]
    return jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - mdp.gamma * P_pi, r_pi)


@jax.jit
def _occupancy(mdp, pi):
    P_pi, _ = _p_pi(mdp, pi)
    S = P_pi.shape[0]
    dS = jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - mdp.gamma * P_pi.T, mdp.rho)
    return dS[:, None] * pi


def policy_evaluation(mdp: MDP, pi: Float[Array, "S A"]) -> Float[Array, " S"]:
    """``V^π`` by one dense solve of ``(I − γ P_π) V = r_π``.

    Args:
      mdp: an :class:`MDP`.
      pi: a stochastic policy, shape ``(S, A)``, rows on the simplex.

    Returns:
      ``V^π``, shape ``(S,)``.

    Raises:
      TypeError: ``mdp`` is not an MDP, ``pi`` not numeric.
      ValueError: ``pi`` has the wrong shape, a negative entry or a row not summing to 1.
    """
    _require_mdp(mdp)
    pi = _check_policy(mdp, pi)
    return _policy_value(mdp, pi)


def occupancy_measure(mdp: MDP, pi: Float[Array, "S A"]) -> Float[Array, "S A"]:
    """``d_π(s, a) = Σ_t γᵗ Pr(s_t = s, a_t = a)``: solves ``(I − γ P_πᵀ) d_S = ρ``,
    then ``d(s, a) = d_S(s) π(a|s)``. Total mass ``1/(1 − γ)``; ``⟨d_π, r⟩ = ⟨ρ, V^π⟩``.

    Args:
      mdp: an :class:`MDP`.
      pi: a stochastic policy, shape ``(S, A)``.

    Returns:
      ``d_π``, shape ``(S, A)``.

    Raises:
      TypeError, ValueError: as :func:`policy_evaluation`.
    """
    _require_mdp(mdp)
    pi = _check_policy(mdp, pi)
    return _occupancy(mdp, pi)


class ValueIterationOutput(NamedTuple):
    """Result of :func:`value_iteration`; its final point ``params`` is ``V``.

    Attributes:
      V: the final value function, ``(S,)``.
      Q: ``Q = r + γPV``, ``(S, A)``.
      policy: the greedy policy (one-hot), ``(S, A)``.
      errors: ``errors[k] = ‖V_{k+1} − V_k‖∞`` (NaN after the last iteration).
      n_iters: the iterations performed.
      converged: ``γ/(1 − γ) · ‖V_{k+1} − V_k‖∞ ≤ tol``, which bounds ``‖V − V^⋆‖∞``.
    """

    V: Float[Array, " S"]
    Q: Float[Array, "S A"]
    policy: Float[Array, "S A"]
    errors: jax.Array
    n_iters: Int[Array, ""]
    converged: Bool[Array, ""]

    @property
    def params(self) -> jax.Array:
        """The final point: the value function ``V`` the method iterates on."""
        return self.V


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _vi(mdp, V0, tol, num_steps):
    g = mdp.gamma
    thresh = tol * (1 - g) / jnp.maximum(g, 1e-30)
    errs0 = jnp.full((num_steps,), jnp.nan, dtype=V0.dtype)

    def cond(c):
        k, _, err, _ = c
        return (k < num_steps) & (err > thresh)

    def body(c):
        k, V, _, errs = c
        Vn = jnp.max(_bellman_q(mdp, V), axis=1)
        err = jnp.max(jnp.abs(Vn - V))
        return k + 1, Vn, err, errs.at[k].set(err)

    k, V, err, errs = jax.lax.while_loop(cond, body, (0, V0, jnp.asarray(jnp.inf, V0.dtype), errs0))
    Q = _bellman_q(mdp, V)
    return ValueIterationOutput(V, Q, _greedy(Q), errs, k, err <= thresh)


def value_iteration(
    mdp: MDP, *, tol: float = 1e-10, num_steps: int = 10_000, V0: Float[Array, " S"] | None = None
) -> ValueIterationOutput:
    """Value iteration ``V ← max_a r + γ P V`` until ``‖V − V*‖∞ ≤ tol`` is guaranteed.

    Args:
      mdp: an :class:`MDP`.
      tol: positive target accuracy on ``‖V − V*‖∞`` (below the dtype's rounding,
        e.g. 1e-10 in float32, the loop runs to ``num_steps`` and reports
        ``converged=False``).
      num_steps: positive iteration cap (static: one compilation per value).
      V0: start, shape ``(S,)`` (default zeros).

    Returns:
      :class:`ValueIterationOutput`.

    Raises:
      TypeError: ``mdp`` not an MDP, non-integer ``num_steps``, non-numeric ``tol``/``V0``.
      ValueError: ``tol`` not positive, ``num_steps < 1``, ``V0`` of the wrong shape or not finite.
    """
    _require_mdp(mdp)
    _as_scalar("tol", tol)
    require_positive("tol", tol)
    require_int("num_steps", num_steps, minimum=1)
    dt = jnp.result_type(mdp.r)
    V0 = jnp.zeros(mdp.n_states, dtype=dt) if V0 is None else as_float_array("V0", V0, ndim=1)
    require_shape("V0", V0, (mdp.n_states,))
    return _vi(mdp, V0.astype(dt), jnp.asarray(tol, dt), num_steps)


class PolicyIterationOutput(NamedTuple):
    """Result of :func:`policy_iteration`; its final point ``params`` is ``policy``.

    Attributes:
      V: the value of the last evaluated policy, ``(S,)``.
      policy: the final deterministic policy (one-hot), ``(S, A)``.
      n_iters: the evaluation-improvement rounds.
      converged: the policy stopped changing, so it is optimal and ``V = V^⋆``.
    """

    V: Float[Array, " S"]
    policy: Float[Array, "S A"]
    n_iters: Int[Array, ""]
    converged: Bool[Array, ""]

    @property
    def params(self) -> jax.Array:
        """The final point: the policy the method iterates on (one-hot, ``S × A``)."""
        return self.policy


def policy_iteration(mdp: MDP, *, num_steps: int = 100) -> PolicyIterationOutput:
    """Howard's policy iteration: exact evaluation (dense solve), greedy improvement,
    stop when the policy no longer changes (at most ``A^S`` rounds; far fewer in practice).

    Args:
      mdp: an :class:`MDP`.
      num_steps: positive cap on the rounds (static).

    Returns:
      :class:`PolicyIterationOutput`.

    Raises:
      TypeError: ``mdp`` not an MDP or ``num_steps`` not an integer.
      ValueError: ``num_steps < 1``.
    """
    _require_mdp(mdp)
    require_int("num_steps", num_steps, minimum=1)
    return _pi_run(mdp, num_steps)


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _pi_run(mdp, num_steps):
    S, A = mdp.r.shape

    def evaluate(pi):
        P_pi, r_pi = _p_pi(mdp, pi)
        return jnp.linalg.solve(jnp.eye(S, dtype=P_pi.dtype) - mdp.gamma * P_pi, r_pi)

    def cond(c):
        k, _, _, done = c
        return (k < num_steps) & ~done

    def body(c):
        k, a_old, _, _ = c
        V = evaluate(jax.nn.one_hot(a_old, A, dtype=mdp.r.dtype))
        Q = _bellman_q(mdp, V)
        # keep the old action on ties so the loop terminates
        keep = Q[jnp.arange(S), a_old] >= jnp.max(Q, axis=1) - 1e-12 * (1 + jnp.abs(V))
        a_new = jnp.where(keep, a_old, jnp.argmax(Q, axis=1).astype(a_old.dtype))
        return k + 1, a_new, V, jnp.all(a_new == a_old)

    init = (0, jnp.zeros(S, jnp.int32), jnp.zeros(S, mdp.r.dtype), jnp.asarray(False))
    k, a, V, done = jax.lax.while_loop(cond, body, init)
    return PolicyIterationOutput(V, jax.nn.one_hot(a, A, dtype=mdp.r.dtype), k, done)
