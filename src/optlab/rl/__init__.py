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

One module per topic, every public name re-exported here:

- :mod:`~optlab.rl.tabular`: finite MDPs, Bellman operators, policy evaluation, occupancy
  measures, value and policy iteration;
- :mod:`~optlab.rl.linear_programs`: the primal (occupancy) and dual (value) linear programs;
- :mod:`~optlab.rl.regularized`: KL-regularized (mirror-descent), Munchausen, approximate
  and noisy value iteration;
- :mod:`~optlab.rl.policy_gradient`: the scalar LQR, its closed-form return and gradient,
  rollouts, REINFORCE / GPOMDP, N-PG-IGT, N-HARPG and the Polyak step;
- :mod:`~optlab.rl.temporal_difference`: TD(0) and SARSA with linear function approximation,
  Q-learning and double Q-learning, the projected Bellman equation and the stationary
  distribution (chapter 21);
- :mod:`~optlab.rl.preference`: the KL-regularised optimum, Bradley–Terry preference pairs,
  DPO and iterative (online) DPO (chapter 21);
- :mod:`~optlab.rl.trust_region`: the exact KL-constrained policy step and PPO's clipped
  surrogate on a tabular policy (chapter 21);
- :mod:`~optlab.rl.policy_gradient_tabular`: the softmax policy, its exact gradient (policy
  gradient theorem), sampled episodes, REINFORCE with a baseline and exact softmax
  policy-gradient ascent (chapter 21);
- :mod:`~optlab.rl.advantage`: returns-to-go and generalized advantage estimation (chapter 21);
- :mod:`~optlab.rl.natural_gradient`: the natural policy gradient for the softmax policy
  (chapter 21);
- :mod:`~optlab.rl.actor_critic_lqr`: actor–critic and natural actor–critic on the scalar LQR, with a
  TD(0) critic in quadratic features (chapter 21).
"""

from __future__ import annotations

from .actor_critic_lqr import ActorCriticOutput, actor_critic, actor_critic_gradient, lqr_td_critic
from .advantage import gae, returns_to_go
from .linear_programs import _NOT_A_RUN as _NOT_A_RUN
from .linear_programs import (
    LPOutput,
    lp_matrices,
    solve_lp,
)
from .natural_gradient import NPGOutput, natural_policy_gradient
from .policy_gradient import (
    LQR,
    PGRun,
    PolyakRun,
    Rollouts,
    gaussian_log_prob,
    hessian_vector_product,
    lqr_gradient,
    lqr_optimal_gain,
    lqr_return,
    lqr_rollouts,
    policy_gradient_run,
    polyak_policy_gradient,
    reinforce,
    surrogate,
)
from .policy_gradient_tabular import (
    Episodes,
    SoftmaxPGOutput,
    sample_episodes,
    score_function_gradient,
    softmax_policy,
    softmax_policy_gradient,
    softmax_policy_gradient_ascent,
    softmax_reinforce,
    softmax_value,
)
from .preference import (
    DPOOutput,
    IterativeDPOOutput,
    Preferences,
    dpo,
    dpo_loss,
    iterative_dpo,
    kl_regularized_objective,
    kl_regularized_policy,
    preference_counts,
    sample_preferences,
)
from .regularized import (
    NoisyVIOutput,
    RegularizedVIOutput,
    approximate_value_iteration,
    kl_value_iteration,
    munchausen_value_iteration,
    noisy_value_iteration,
)
from .tabular import (
    MDP,
    PolicyIterationOutput,
    ValueIterationOutput,
    bellman_q,
    greedy,
    gridworld,
    occupancy_measure,
    policy_evaluation,
    policy_iteration,
    random_mdp,
    value_iteration,
)
from .temporal_difference import (
    QLearningOutput,
    SARSAOutput,
    TDOutput,
    projected_bellman_solution,
    q_learning,
    sarsa_linear,
    stationary_distribution,
    td0_linear,
)
from .trust_region import (
    KLStepOutput,
    PPOOutput,
    kl_constrained_step,
    ppo,
    ppo_clip_objective,
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
    "stationary_distribution",
    "projected_bellman_solution",
    "TDOutput",
    "td0_linear",
    "SARSAOutput",
    "sarsa_linear",
    "QLearningOutput",
    "q_learning",
    "kl_regularized_policy",
    "kl_regularized_objective",
    "Preferences",
    "sample_preferences",
    "preference_counts",
    "dpo_loss",
    "DPOOutput",
    "dpo",
    "IterativeDPOOutput",
    "iterative_dpo",
    "KLStepOutput",
    "kl_constrained_step",
    "ppo_clip_objective",
    "PPOOutput",
    "ppo",
    "softmax_policy",
    "softmax_value",
    "softmax_policy_gradient",
    "Episodes",
    "sample_episodes",
    "score_function_gradient",
    "softmax_reinforce",
    "SoftmaxPGOutput",
    "softmax_policy_gradient_ascent",
    "returns_to_go",
    "gae",
    "NPGOutput",
    "natural_policy_gradient",
    "ActorCriticOutput",
    "actor_critic",
    "lqr_td_critic",
    "actor_critic_gradient",
]
