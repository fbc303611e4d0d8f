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
  weight ``κ``: ``π_{k+1} ∝ π_k^α exp(Q_k/λ)`` with ``λ = τ + κ``,
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
from typing import Any, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from ._checks import (
    as_float_array,
    is_concrete,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
    require_probability_vector,
    require_shape,
)
from ._types import Array, Bool, Float, Int, PRNGKeyArray

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
    "approximate_value_iteration",
    "NoisyVIOutput",
    "noisy_value_iteration",
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

# Result types that are reports, not runs of an iterative method (the library contract).
_NOT_A_RUN = {
    "LPOutput": "an exact solve of the two linear programs (HiGHS, on the host): no iterates; "
    "it reports the primal and dual optima, their values and the induced policy",
}


# ---------------------------------------------------------------------------
# tabular MDPs
# ---------------------------------------------------------------------------


def _row_tol(dtype, n: int) -> float:
    """Tolerance on a sum of ``n`` probabilities in ``dtype`` (rounding grows with ``n``)."""
    return max(1e-6, 4.0 * float(jnp.finfo(dtype).eps) * n)


def _as_scalar(name: str, x: Any) -> jax.Array:
    """A finite real scalar (the library's conversion policy), refused clearly otherwise."""
    return as_float_array(name, x, ndim=0)


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


_HI = jax.lax.Precision.HIGHEST  # full float32 accuracy on GPUs (no TF32 matmuls)


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


# ---------------------------------------------------------------------------
# the two linear programs
# ---------------------------------------------------------------------------


class LPOutput(NamedTuple):
    """Solutions of the occupancy LP (primal) and the value LP (dual), as NumPy arrays
    (an exact solve, not a run: listed in ``_NOT_A_RUN``).

    Attributes:
      occupancy: the optimal occupancy measure ``d^⋆(s, a)``, ``(S, A)``.
      V: the dual solution, ``(S,)``.
      primal_value: ``max ⟨d, r⟩``.
      dual_value: ``min ⟨ρ, V⟩``.
      policy: ``d^⋆(s, a) / Σ_a d^⋆(s, a)`` (uniform where a state has no mass), ``(S, A)``.
    """

    occupancy: Float[np.ndarray, "S A"]  # d*(s, a), shape (S, A)
    V: Float[np.ndarray, " S"]  # dual solution, shape (S,)
    primal_value: float  # max ⟨d, r⟩
    dual_value: float  # min ⟨ρ, V⟩
    policy: Float[np.ndarray, "S A"]  # d*(s, a) / Σ_a d*(s, a) (uniform where a state has no mass)


def lp_matrices(
    mdp: MDP,
) -> tuple[Float[np.ndarray, " SA"], Float[np.ndarray, "S SA"], Float[np.ndarray, " S"]]:
    """``(c, M, ρ)`` with ``c = vec(r)`` and the flow matrix ``M ∈ ℝ^{S × SA}``,
    ``M[s, (s', a')] = 1{s = s'} − γ P(s | s', a')``:
    primal ``max cᵀd, M d = ρ, d ≥ 0``; dual ``min ρᵀV, Mᵀ V ≥ c``.

    Args:
      mdp: an :class:`MDP` with concrete (not traced) arrays.

    Returns:
      ``(c, M, rho)`` as float64 NumPy arrays.

    Raises:
      TypeError: ``mdp`` is not an MDP.
    """
    _require_mdp(mdp)
    P = np.asarray(mdp.P, dtype=float)
    S, A, _ = P.shape
    E = np.repeat(np.eye(S), A, axis=1)  # E[s, (s', a')] = 1{s = s'}
    M = E - float(mdp.gamma) * P.reshape(S * A, S).T
    return np.asarray(mdp.r, dtype=float).ravel(), M, np.asarray(mdp.rho, dtype=float)


def solve_lp(mdp: MDP) -> LPOutput:
    """Solve both LPs with HiGHS (``scipy.optimize.linprog``) and return them.

    ``primal_value`` and ``dual_value`` both equal ``⟨ρ, V*⟩`` (strong duality);
    ``V`` equals ``V*`` on every state with ``ρ(s) > 0``.

    Args:
      mdp: an :class:`MDP` with concrete arrays.

    Returns:
      :class:`LPOutput` (NumPy, float64).

    Raises:
      TypeError: ``mdp`` is not an MDP.
      RuntimeError: HiGHS fails on either LP.
    """
    _require_mdp(mdp)
    from scipy.optimize import linprog

    c, M, rho = lp_matrices(mdp)
    S, A = mdp.n_states, mdp.n_actions
    opts = dict(
        method="highs", options=dict(primal_feasibility_tolerance=1e-10, dual_feasibility_tolerance=1e-10)
    )
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
    horizon: int | None


class LQR(_LQRFields):
    """Scalar LQR ``x' = a x + b u + w`` with policy ``u ~ N(k x, σ²)``.

    The fields are stored as Python floats (hashable: an ``LQR`` is a static argument of the
    compiled solvers).

    Args:
      a: the dynamics' state coefficient.
      b: the dynamics' action coefficient.
      q: the state cost ``q ≥ 0`` (reward ``−(q x² + R u²)``).
      R: the action cost ``R ≥ 0``.
      sigma: the policy's standard deviation ``σ > 0``.
      noise: the standard deviation of ``w``, ``≥ 0``.
      x0_std: the standard deviation of ``x_0``, ``≥ 0``.
      gamma: the discount ``γ ∈ [0, 1)``.
      horizon: ``H`` (an int ``≥ 1``), or ``None`` for the infinite-horizon discounted
        return.

    Raises:
      TypeError: a non-numeric field, a non-integer ``horizon``.
      ValueError: a NaN/inf, a negative cost or std, ``sigma ≤ 0``, ``gamma`` outside
        ``[0, 1)``, ``horizon < 1``.
    """

    __slots__ = ()

    def __new__(
        cls, a=0.8, b=0.5, q=1.0, R=0.1, sigma=0.5, noise=0.1, x0_std=1.0, gamma=0.9, horizon: int | None = 20
    ):
        vals = {}
        for name, v in (
            ("a", a),
            ("b", b),
            ("q", q),
            ("R", R),
            ("sigma", sigma),
            ("noise", noise),
            ("x0_std", x0_std),
            ("gamma", gamma),
        ):
            if not is_concrete(v):
                raise TypeError(
                    f"{name} must be a concrete number (an LQR is a static configuration), got a traced value"
                )
            vals[name] = float(_as_scalar(name, v))
        for name in ("q", "R", "noise", "x0_std"):
            require_nonnegative(name, vals[name])
        require_positive("sigma", vals["sigma"])
        require_in_range("gamma", vals["gamma"], 0.0, 1.0, high_inclusive=False)
        if horizon is not None:
            require_int("horizon", horizon, minimum=1)
            horizon = int(horizon)
        v = vals
        return super().__new__(
            cls, v["a"], v["b"], v["q"], v["R"], v["sigma"], v["noise"], v["x0_std"], v["gamma"], horizon
        )

    def _replace(self, **kwargs) -> LQR:
        """A copy with some fields replaced, validated again."""
        fields = self._asdict()
        unknown = set(kwargs) - set(fields)
        if unknown:
            raise ValueError(f"LQR has no field(s) {sorted(unknown)}")
        fields.update(kwargs)
        return LQR(**fields)


def _require_lqr(sys: Any) -> None:
    if not isinstance(sys, LQR):
        raise TypeError(f"sys must be an optlab.rl.LQR, got {type(sys).__name__}")


def _moments(k, sys: LQR):
    """``c = (a + bk)²`` and the per-step additive variance ``s = b²σ² + σ_w²``."""
    c = (sys.a + sys.b * k) ** 2
    s = sys.b**2 * sys.sigma**2 + sys.noise**2
    return c, s


def _lqr_return(k, sys):
    c, s = _moments(k, sys)
    g, m0 = sys.gamma, sys.x0_std**2
    w = sys.q + sys.R * k**2
    if sys.horizon is None:
        M = (m0 + g * s / (1 - g)) / (1 - g * c)
        J = -(w * M) - sys.R * sys.sigma**2 / (1 - g)
        return jnp.where(g * c < 1, J, -jnp.inf)

    def step(carry, _):
        m, disc, acc = carry
        acc = acc + disc * (w * m + sys.R * sys.sigma**2)
        return (c * m + s, disc * g, acc), None

    zero = jnp.zeros_like(w)
    (_, _, acc), _ = jax.lax.scan(step, (zero + m0, zero + 1.0, zero), None, length=sys.horizon)
    return -acc


_lqr_return_jit = jax.jit(_lqr_return, static_argnames=("sys",))


def lqr_return(k: Float[ArrayLike, "*shape"], sys: LQR):
    """Exact ``J(k) = E Σ_{t<H} γᵗ (−q x_t² − R u_t²)`` (``H = ∞`` when ``horizon`` is None).

    With ``m_t = E x_t²``: ``m_{t+1} = c m_t + s`` and ``E u_t² = k² m_t + σ²``, so
    ``J = −Σ_t γᵗ [(q + R k²) m_t + R σ²]``. Infinite horizon:
    ``J = −(q + Rk²)(m_0 + γ s/(1 − γ))/(1 − γ c) − Rσ²/(1 − γ)`` for ``γ c < 1``
    (``−inf`` otherwise). Differentiable in ``k``; vectorises over ``k``; compiled
    once per ``sys`` and shape of ``k``.

    Args:
      k: gain(s), any shape, finite.
      sys: an :class:`LQR`.

    Returns:
      ``J(k)``, the shape of ``k``.

    Raises:
      TypeError: ``sys`` is not an LQR or ``k`` is not numeric.
      ValueError: ``k`` has a NaN/inf.
    """
    _require_lqr(sys)
    k = as_float_array("k", k)
    return _lqr_return_jit(k, sys)


@functools.partial(jax.jit, static_argnames=("sys",))
def _lqr_gradient(k, sys):
    if sys.horizon is None:
        c, s = _moments(k, sys)
        g, m0 = sys.gamma, sys.x0_std**2
        M = (m0 + g * s / (1 - g)) / (1 - g * c)
        dM = M * 2 * g * sys.b * (sys.a + sys.b * k) / (1 - g * c)
        return -2 * sys.R * k * M - (sys.q + sys.R * k**2) * dM
    return jnp.vectorize(jax.grad(lambda kk: _lqr_return(kk, sys)))(k)


def lqr_gradient(k: Float[ArrayLike, "*shape"], sys: LQR):
    """Exact ``dJ/dk``. Infinite horizon, by hand: with ``M(k) = (m_0 + γs/(1−γ))/(1 − γc)``,
    ``dM/dk = M · 2γb(a + bk)/(1 − γc)`` and ``dJ/dk = −2Rk M − (q + Rk²) dM/dk``.
    Finite horizon: differentiation of the exact moment recursion.

    Args:
      k: gain(s), any shape, finite.
      sys: an :class:`LQR`.

    Returns:
      ``J'(k)``, the shape of ``k``.

    Raises:
      TypeError, ValueError: as :func:`lqr_return`.
    """
    _require_lqr(sys)
    k = as_float_array("k", k)
    return _lqr_gradient(k, sys)


@functools.partial(jax.jit, static_argnames=("sys",))
def _lqr_newton_step(k, sys):
    f = lambda kk: _lqr_return(kk, sys)  # noqa: E731
    return jax.grad(f)(k) / jax.grad(jax.grad(f))(k)


def lqr_optimal_gain(sys: LQR) -> tuple[float, float]:
    """``(k*, J(k*))``: the best linear gain for the Gaussian policy class.

    Infinite horizon: ``J(k) ∝ −(q + Rk²)/(1 − γ(a + bk)²)`` up to constants, whose
    maximiser is the discounted Riccati gain ``k* = −γabP/(R + γb²P)`` with ``P`` the
    positive root of ``γb²P² + ((1 − γa²)R − γ q b²)P − qR = 0``. Finite horizon:
    Newton's method on the exact ``J`` (in the default float dtype) started from the
    Riccati gain.

    Args:
      sys: an :class:`LQR` with ``b ≠ 0``, ``gamma > 0`` and ``R > 0``.

    Returns:
      ``(k*, J(k*))`` as Python floats.

    Raises:
      TypeError: ``sys`` is not an LQR.
      ValueError: ``b = 0``, ``gamma = 0`` or ``R = 0`` (no unique optimum).
    """
    _require_lqr(sys)
    g, a, b, q, R = sys.gamma, sys.a, sys.b, sys.q, sys.R
    B2, A2 = g * b * b, g * a * a
    if B2 == 0 or R == 0:
        raise ValueError(f"lqr_optimal_gain needs sys with b != 0, gamma > 0 and R > 0, got {sys}")
    lin = (1 - A2) * R - q * B2
    P = (-lin + np.sqrt(lin * lin + 4 * B2 * q * R)) / (2 * B2)
    k = -g * a * b * P / (R + B2 * P)
    if sys.horizon is not None:
        dt = jnp.result_type(float)
        eps = float(jnp.finfo(dt).eps)
        for _ in range(50):
            step = float(_lqr_newton_step(jnp.asarray(k, dt), sys))
            k = k - step
            if abs(step) <= 4 * eps * (1 + abs(k)):
                break
    return float(k), float(_lqr_return_jit(jnp.asarray(k, jnp.result_type(float)), sys))


class Rollouts(NamedTuple):
    """Sampled trajectories, each array of shape ``(n, H)`` (``n`` trajectories of ``H`` steps).

    Attributes:
      x: the states ``x_t``.
      u: the actions ``u_t``.
      r: the rewards ``r_t = −(q x_t² + R u_t²)``.
    """

    x: jax.Array
    u: jax.Array
    r: jax.Array


def _rollout_one(key, k, sys: LQR):
    kx, kt = jax.random.split(key)
    dt = jnp.result_type(k, float)
    x0 = sys.x0_std * jax.random.normal(kx, (), dt)
    keys = jax.random.split(kt, cast(int, sys.horizon))  # callers check _need_horizon(sys)

    def step(x, key_t):
        ku, kw = jax.random.split(key_t)
        u = k * x + sys.sigma * jax.random.normal(ku, (), dt)
        rew = -(sys.q * x * x + sys.R * u * u)
        x_new = sys.a * x + sys.b * u + sys.noise * jax.random.normal(kw, (), dt)
        return x_new, (x, u, rew)

    _, (xs, us, rs) = jax.lax.scan(step, x0, keys)
    return Rollouts(xs, us, rs)


def _need_horizon(sys: LQR):
    _require_lqr(sys)
    if sys.horizon is None:
        raise ValueError("sampling needs a finite horizon: build the LQR sys with horizon=H")


@functools.partial(jax.jit, static_argnames=("sys", "n"))
def _rollouts(key, k, sys, n):
    return jax.vmap(lambda kk: _rollout_one(kk, k, sys))(jax.random.split(key, n))


def lqr_rollouts(k: float | Float[Array, ""], sys: LQR, n: int, *, key: PRNGKeyArray) -> Rollouts:
    """``n`` independent trajectories of length ``H`` under ``u ~ N(k x, σ²)``
    (a ``lax.scan`` over time, ``vmap``-ed over trajectories).

    Args:
      k: the gain, a finite scalar.
      sys: an :class:`LQR` with a finite ``horizon``.
      n: positive number of trajectories (static).
      key: a JAX PRNG key.

    Returns:
      :class:`Rollouts` with arrays of shape ``(n, H)``.

    Raises:
      TypeError: integer seed instead of a key, non-numeric ``k``, ``sys`` not an LQR.
      ValueError: infinite horizon, ``n < 1``, non-scalar or non-finite ``k``.
    """
    require_key("key", key)
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    k = as_float_array("k", k, ndim=0)
    return _rollouts(key, k, sys, n)


def gaussian_log_prob(
    k: Float[ArrayLike, "*shape"],
    x: Float[ArrayLike, "*shape"],
    u: Float[ArrayLike, "*shape"],
    sigma: Float[ArrayLike, ""],
):
    """``log π_k(u | x)`` for ``u ~ N(k x, σ²)``; its ``k``-derivative is ``(u − kx) x / σ²``.

    Args:
      k, x, u: gain, states and actions (broadcastable), finite.
      sigma: policy standard deviation, positive.

    Returns:
      The log-density, broadcast shape of the inputs.

    Raises:
      TypeError: a non-numeric argument. ValueError: a NaN/inf or ``sigma ≤ 0``.
    """
    k = as_float_array("k", k)
    x = as_float_array("x", x)
    u = as_float_array("u", u)
    sigma = as_float_array("sigma", sigma)
    require_positive("sigma", sigma)
    return _gaussian_log_prob(k, x, u, sigma)


def _gaussian_log_prob(k, x, u, sigma):
    return -0.5 * ((u - k * x) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi)


def _discounts(sys, H, dt):
    return sys.gamma ** jnp.arange(H, dtype=dt)


def _check_traj(traj: Any) -> Rollouts:
    if not isinstance(traj, Rollouts):
        raise TypeError(f"traj must be an optlab.rl.Rollouts, got {type(traj).__name__}")
    x = as_float_array("traj.x", traj.x, ndim=1)
    u = as_float_array("traj.u", traj.u, ndim=1)
    r = as_float_array("traj.r", traj.r, ndim=1)
    if not (x.shape == u.shape == r.shape) or x.shape[0] == 0:
        raise ValueError(
            f"traj.x, traj.u and traj.r must be non-empty 1-D arrays of one length (one "
            f"trajectory), got shapes {x.shape}, {u.shape}, {r.shape}"
        )
    return Rollouts(x, u, r)


def _surrogate(k, traj, sys):
    H = traj.r.shape[-1]
    disc = _discounts(sys, H, traj.r.dtype)
    togo = jnp.cumsum((disc * traj.r)[::-1])[::-1]
    return jnp.sum(togo * _gaussian_log_prob(k, traj.x, traj.u, sys.sigma))


def surrogate(k: float | Float[Array, ""], traj: Rollouts, sys: LQR) -> Float[Array, ""]:
    """GPOMDP surrogate of one trajectory, ``Φ(k) = Σ_t (Σ_{h≥t} γʰ r_h) log π_k(u_t|x_t)``
    (the samples held fixed): ``∇Φ`` is the GPOMDP gradient estimate, and
    ``∇²Φ + ∇Φ (∇ log p)ᵀ`` the Hessian estimate of HARPG.

    Args:
      k: the gain, a finite scalar (differentiable).
      traj: one trajectory, :class:`Rollouts` of 1-D arrays of length ``H``.
      sys: the :class:`LQR` that generated it.

    Returns:
      ``Φ(k)``, a scalar.

    Raises:
      TypeError: ``traj`` not Rollouts, ``sys`` not an LQR, non-numeric input.
      ValueError: non-scalar ``k``, mismatched or empty trajectory arrays, NaN/inf.
    """
    _require_lqr(sys)
    k = as_float_array("k", k, ndim=0)
    return _surrogate(k, _check_traj(traj), sys)


def _score_sum(k, traj, sys):
    return jnp.sum(_gaussian_log_prob(k, traj.x, traj.u, sys.sigma))


def reinforce(
    k: float | Float[Array, ""],
    sys: LQR,
    n: int,
    *,
    key: PRNGKeyArray,
    baseline: float | Float[Array, ""] | str | None = None,
    reward_to_go: bool = False,
) -> Float[Array, " n"]:
    """Per-trajectory REINFORCE estimates of ``dJ/dk`` (shape ``(n,)``); their mean is
    unbiased (Williams 1992).

    * ``reward_to_go=False``: ``(Σ_t ∇log π(u_t|x_t)) · (G − b)``, ``G = Σ_t γᵗ r_t``;
    * ``reward_to_go=True`` (GPOMDP): ``Σ_t ∇log π(u_t|x_t) (Σ_{h≥t} γʰ r_h − γᵗ b)``.

    ``baseline``: None (``b = 0``), a number, or ``"loo"`` (leave-one-out mean of the
    other trajectories' returns: still unbiased, needs ``n ≥ 2``).

    Args:
      k: the gain, a finite scalar.
      sys: an :class:`LQR` with a finite horizon.
      n: positive number of trajectories (static).
      key: a JAX PRNG key.
      baseline: ``None``, a finite number or ``"loo"``.
      reward_to_go: use the GPOMDP form (a bool).

    Returns:
      ``(n,)`` gradient estimates.

    Raises:
      TypeError: integer seed, ``sys`` not an LQR, non-numeric ``k``/``baseline``,
        non-bool ``reward_to_go``.
      ValueError: infinite horizon, ``n < 1`` (``n < 2`` with ``"loo"``), an unknown
        baseline string, NaN/inf.
    """
    require_key("key", key)
    _need_horizon(sys)
    require_int("n", n, minimum=1)
    if not isinstance(reward_to_go, (bool, np.bool_)):
        raise TypeError(f"reward_to_go must be a bool, got {type(reward_to_go).__name__}")
    if isinstance(baseline, str):
        if baseline != "loo":
            raise ValueError(f"baseline must be None, a number or 'loo', got {baseline!r}")
        if n < 2:
            raise ValueError("baseline='loo' needs n >= 2 trajectories")
    elif baseline is not None:
        baseline = as_float_array("baseline", baseline, ndim=0)
    kind = "none" if baseline is None else ("loo" if isinstance(baseline, str) else "const")
    b = 0.0 if kind != "const" else baseline
    k = as_float_array("k", k, ndim=0)
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
    scores = (traj.u - k * traj.x) * traj.x / sys.sigma**2  # (n, H)
    if reward_to_go:
        togo = jnp.cumsum((disc * traj.r)[:, ::-1], axis=1)[:, ::-1]
        return jnp.sum(scores * (togo - disc * b[:, None]), axis=1)
    return jnp.sum(scores, axis=1) * (G - b)


def hessian_vector_product(
    k: float | Float[Array, ""], v: float | Float[Array, ""], traj: Rollouts, sys: LQR
) -> Float[Array, ""]:
    """HARPG's Hessian estimate times ``v``:
    ``B v = ∇Φ · (∇ log p(τ|k) · v) + ∇²Φ v`` with ``Φ`` the GPOMDP surrogate, the
    second term by ``jax.jvp`` of ``jax.grad(Φ)`` (Fatkhullin et al. 2023, eq. for
    ``B(τ, θ)``).

    Args:
      k: the gain, a finite scalar.
      v: the direction, a finite scalar.
      traj: one trajectory (:class:`Rollouts` of 1-D arrays).
      sys: the :class:`LQR`.

    Returns:
      ``B v``, a scalar.

    Raises:
      TypeError, ValueError: as :func:`surrogate`, and for ``v``.
    """
    _require_lqr(sys)
    k = as_float_array("k", k, ndim=0)
    v = as_float_array("v", v, ndim=0)
    traj = _check_traj(traj)
    return _hvp(k, v.astype(k.dtype), traj, sys)


@functools.partial(jax.jit, static_argnames=("sys",))
def _hvp(k, v, traj, sys):
    # region: rl-harpg-hvp
    phi = lambda kk: _surrogate(kk, traj, sys)  # noqa: E731
    g, hv = jax.jvp(jax.grad(phi), (k,), (v,))  # ∇Φ and ∇²Φ v: forward over reverse
    _, dlogp_v = jax.jvp(lambda kk: _score_sum(kk, traj, sys), (k,), (v,))  # ∇ log p(τ) · v
    return g * dlogp_v + hv
    # endregion: rl-harpg-hvp


class PGRun(NamedTuple):
    """Result of :func:`policy_gradient_run`; ``params`` is the final gain ``k_T``.

    Attributes:
      iterates: ``iterates[t] = k_t``, the gains, ``t = 0..T`` (``T + 1`` rows).
      trajectories: ``trajectories[t]``, the cumulative number of sampled trajectories.
    """

    iterates: jax.Array
    trajectories: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the last gain ``k_T`` (the last row of ``iterates``)."""
        return self.iterates[..., -1]


@functools.partial(jax.jit, static_argnames=("sys", "method", "num_steps"))
def _pg_run(key, k0, sys, method, num_steps, learning_rate, eta_power, learning_rate_power):
    dt = jnp.result_type(k0, float)
    k0 = jnp.asarray(k0, dt)

    def grad_est(key, k):
        traj = _rollout_one(key, k, sys)
        return jax.grad(_surrogate)(k, traj, sys)

    def sched(t):
        base = 2.0 / (t + 2.0)
        return learning_rate * base**learning_rate_power, base**eta_power

    keys = jax.random.split(key, num_steps + 1)
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
            v = _hvp(k_hat, k_new - k, traj_hat, sys)
            d_new = (1 - eta) * (d + v) + eta * grad_est(k1, k_new)
            return (k_new, d_new), k_new

        init = (k0, d0)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(method)

    ts = jnp.arange(num_steps, dtype=dt)
    _, ks = jax.lax.scan(step, init, (ts, keys[1:]))
    per_iter = 2 if method == "n-harpg" else 1
    first = 0 if method == "reinforce" else 1
    n_traj = first + per_iter * jnp.arange(num_steps + 1)
    return PGRun(jnp.concatenate([k0[None], ks]), n_traj)


_PG_DEFAULTS = {"reinforce": (0.0, 1.0), "n-pg-igt": (0.8, 0.6), "n-harpg": (0.5, 0.5)}


def policy_gradient_run(
    sys: LQR,
    method: str,
    k0: float | Float[Array, ""],
    *,
    key: PRNGKeyArray,
    num_steps: int,
    learning_rate: Float[ArrayLike, ""],
    eta_power: float | None = None,
    learning_rate_power: float | None = None,
) -> PGRun:
    """Stochastic policy-gradient ascent on ``J(k)`` from one trajectory per gradient.

    ``method``:

    * ``"reinforce"``: ``k ← k + η_t g(τ_t, k)`` (GPOMDP estimate ``g = ∇Φ``, 1 trajectory/step);
    * ``"n-pg-igt"`` (normalized PG with implicit gradient transport):
      ``k_{t+1} = k_t + η_t d_t/|d_t|``, ``k̃ = k_{t+1} + (1 − β_t)/β_t (k_{t+1} − k_t)``,
      ``d_{t+1} = (1 − β_t) d_t + β_t g(τ, k̃)`` (1 trajectory/step);
    * ``"n-harpg"`` (normalized Hessian-aided recursive PG): ``k̂ = q k_{t+1} + (1 − q) k_t``,
      ``q ~ U[0, 1]``, ``d_{t+1} = (1 − β_t)(d_t + B(τ̂, k̂)(k_{t+1} − k_t)) + β_t g(τ, k_{t+1})``
      (2 trajectories/step; ``B v`` by :func:`hessian_vector_product`).

    Schedules ``η_t = learning_rate · (2/(t + 2))^learning_rate_power`` (the step size) and
    ``β_t = (2/(t + 2))^eta_power`` (the momentum weight of the two normalized methods; the
    parameter is named after the paper's ``η_t``; the chapter writes ``β_t`` because ``η``
    is the step size and ``γ`` the discount throughout the book).
    Defaults (``learning_rate_power``, ``eta_power``): REINFORCE ``(1, –)``, IGT ``(3/5, 4/5)``,
    HARPG ``(1/2, 1/2)``: polynomially decaying schedules in the spirit of the analysis of
    Fatkhullin et al. (2023), with exponents chosen by us on the chapter's LQR (not the
    paper's constants).

    Args:
      sys: an :class:`LQR` with a finite horizon (static).
      method: ``"reinforce"``, ``"n-pg-igt"`` or ``"n-harpg"`` (static).
      k0: initial gain, a finite scalar.
      key: a JAX PRNG key.
      num_steps: positive number of iterations (static).
      learning_rate: positive base step size (may be traced, e.g. ``vmap`` over a grid).
      eta_power, learning_rate_power: non-negative schedule exponents (defaults per method).

    Returns:
      :class:`PGRun`.

    Raises:
      TypeError: integer seed, ``sys`` not an LQR, non-numeric arguments.
      ValueError: unknown method, infinite horizon, non-positive ``learning_rate``,
        negative exponents, NaN/inf.
    """
    require_key("key", key)
    if not isinstance(method, str) or method not in _PG_DEFAULTS:
        raise ValueError(f"method must be one of {sorted(_PG_DEFAULTS)}, got {method!r}")
    _need_horizon(sys)
    require_int("num_steps", num_steps, minimum=1)
    k0 = as_float_array("k0", k0, ndim=0)
    dt = k0.dtype
    learning_rate = _as_scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    ep: ArrayLike
    sp: ArrayLike
    ep, sp = _PG_DEFAULTS[method]
    ep = ep if eta_power is None else eta_power
    sp = sp if learning_rate_power is None else learning_rate_power
    ep, sp = _as_scalar("eta_power", ep), _as_scalar("learning_rate_power", sp)
    require_nonnegative("eta_power", ep)
    require_nonnegative("learning_rate_power", sp)
    return _pg_run(key, k0, sys, method, num_steps, learning_rate.astype(dt), ep.astype(dt), sp.astype(dt))


class PolyakRun(NamedTuple):
    """Result of :func:`polyak_policy_gradient`; ``params`` is the final gain ``k_T``.

    Attributes:
      iterates: ``iterates[t] = k_t`` (``T + 1`` rows).
      learning_rates: the step sizes used, ``learning_rates[t]`` (``T`` entries).
      values: the returns ``values[t] = J(k_t)`` (``T + 1`` entries).
    """

    iterates: jax.Array
    learning_rates: jax.Array
    values: jax.Array

    @property
    def params(self) -> jax.Array:
        """The final point: the last gain ``k_T`` (the last row of ``iterates``)."""
        return self.iterates[..., -1]


def polyak_policy_gradient(
    k0: float | Float[Array, ""],
    sys: LQR,
    *,
    num_steps: int,
    j_star: Float[ArrayLike, ""],
    learning_rate: Float[ArrayLike, ""] | str = "polyak",
    max_learning_rate: Float[ArrayLike, ""] = np.inf,
) -> PolyakRun:
    """Exact policy-gradient ascent ``k ← k + γ_t ∇J(k)`` with the Polyak step size
    ``γ_t = min((J* − J(k_t))/|∇J(k_t)|², max_learning_rate)`` (Polyak 1987; for policy
    gradient, Li et al. 2024) when ``learning_rate="polyak"``, or a constant
    ``learning_rate`` when it is a number (for comparison). ``j_star`` may be an
    estimate; an overestimate makes the steps larger.

    Args:
      k0: initial gain, a finite scalar.
      sys: an :class:`LQR` (static).
      num_steps: positive number of iterations (static).
      j_star: the (estimated) optimal return, finite.
      learning_rate: ``"polyak"`` (the rule above), or a positive constant step size.
      max_learning_rate: positive cap on the Polyak step size (``inf`` allowed).

    Returns:
      :class:`PolyakRun`.

    Raises:
      TypeError: ``sys`` not an LQR, non-numeric arguments, non-integer ``num_steps``.
      ValueError: NaN/inf, non-positive ``max_learning_rate``/``learning_rate``, a rule
        name other than ``"polyak"``, ``num_steps < 1``.
    """
    _require_lqr(sys)
    require_int("num_steps", num_steps, minimum=1)
    k0 = as_float_array("k0", k0, ndim=0)
    j_star = _as_scalar("j_star", j_star)
    max_lr = as_float_array("max_learning_rate", max_learning_rate, ndim=0, finite=False)
    if is_concrete(max_lr) and (np.isnan(np.asarray(max_lr)) or not np.asarray(max_lr) > 0):
        raise ValueError(f"max_learning_rate must be positive (inf allowed), got {max_learning_rate!r}")
    use_polyak = isinstance(learning_rate, str)
    if use_polyak:
        if learning_rate != "polyak":
            raise ValueError(f"learning_rate must be 'polyak' or a positive number, got {learning_rate!r}")
    else:
        learning_rate = _as_scalar("learning_rate", learning_rate)
        require_positive("learning_rate", learning_rate)
    dt = k0.dtype
    return _polyak(
        k0,
        sys,
        num_steps,
        jnp.asarray(j_star, dt),
        jnp.asarray(max_lr, dt),
        jnp.asarray(0.0 if use_polyak else learning_rate, dt),
        use_polyak,
    )


@functools.partial(jax.jit, static_argnames=("sys", "num_steps", "use_polyak"))
def _polyak(k0, sys, num_steps, j_star, max_learning_rate, learning_rate, use_polyak):
    f = lambda kk: _lqr_return(kk, sys)  # noqa: E731
    vg = jax.value_and_grad(f)

    def step(k, _):
        J, g = vg(k)
        if use_polyak:
            eta = jnp.minimum((j_star - J) / jnp.maximum(g * g, jnp.finfo(g.dtype).tiny), max_learning_rate)
            eta = jnp.maximum(eta, 0.0)
        else:
            eta = learning_rate
        k_new = k + eta * g
        return k_new, (k_new, eta, J)

    kT, (ks, etas, Js) = jax.lax.scan(step, k0, None, length=num_steps)
    return PolyakRun(jnp.concatenate([k0[None], ks]), etas, jnp.concatenate([Js, f(kT)[None]]))
