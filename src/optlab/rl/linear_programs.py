r"""The two linear programs of a finite MDP (chapter 16), solved exactly.

* Occupancy measure of ``π`` (unnormalised): ``d_π(s, a) = Σ_t γᵗ Pr(s_t = s, a_t = a)``.
  The primal LP maximises ``⟨d, r⟩`` over ``d ≥ 0`` subject to the Bellman-flow
  constraints ``Σ_a d(s, a) = ρ(s) + γ Σ_{s', a'} P(s | s', a') d(s', a')``; its
  dual minimises ``⟨ρ, V⟩`` subject to ``V(s) ≥ r(s, a) + γ (P V)(s, a)``.
  Both equal ``⟨ρ, V*⟩`` (Sikchi, Zheng, Zhang, Niekum 2023, "Dual RL").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._types import Float
from .tabular import MDP, _require_mdp

__all__ = [
    "LPOutput",
    "lp_matrices",
    "solve_lp",
]

# Result types that are reports, not runs of an iterative method (the library contract).
_NOT_A_RUN = {
    "LPOutput": "an exact solve of the two linear programs (HiGHS, on the host): no iterates; "
    "it reports the primal and dual optima, their values and the induced policy",
}


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
