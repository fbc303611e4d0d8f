r"""Online learning: regret, mirror descent, optimism, parameter-free bets, bandits (Chapter 10).

Notation of the chapter.  At round ``t = 1, …, T`` the learner plays ``x_t``,
the environment reveals a convex loss ``f_t`` and the learner pays
``f_t(x_t)``; it then sees ``g_t = ∇f_t(x_t)``.  The regret against a fixed
comparator ``u`` is ``R_T(u) = Σ_t f_t(x_t) − f_t(u)`` and the regret is
``R_T = max_u R_T(u)``, against the best fixed point in hindsight.

Every learner is a pure function of a whole loss sequence that runs inside
``lax.scan``.  Losses on a set ``X ⊂ ℝᵈ`` are given as ``loss(x, θ_t)`` with
per-round parameters ``thetas`` of shape ``(T, …)`` (e.g. the moving centre
``c_t`` of :func:`logcosh_loss`); expert / bandit losses are a ``(T, n)``
matrix.  Step sizes are traced arguments, so ``jax.vmap`` sweeps them.

- :func:`ogd`: online gradient descent ``x_{t+1} = Π_X(x_t − η_t g_t)``
  (Euclidean online mirror descent; Zinkevich 2003);
- :func:`optimistic_ogd`: optimistic OMD with gradient hints ``M_t``
  (Rakhlin & Sridharan 2013; Chen et al. 2023 for the stochastic/adversarial
  interpolation), ``x_t = Π(y_t − η_t M_t)``, ``y_{t+1} = Π(y_t − η_t g_t)``;
- :func:`adagrad_omd`: diagonal AdaGrad = OMD with the regulariser
  ``½‖x‖²_{H_t}``, ``H_t = diag(√(δ + Σ_{s≤t} g_s²))`` (Duchi et al. 2011);
- :func:`coin_betting`: the per-coordinate Krichevsky–Trofimov bettor,
  parameter-free (Orabona & Pál 2016);
- :func:`hedge`: entropic OMD on the simplex, ``p_t ∝ exp(−η L_{t−1})``,
  and :func:`optimistic_hedge` with a hint vector;
- :func:`exp3`: bandit Hedge on importance-weighted losses (Auer et al. 2002),
  used with :func:`optlab.linear_solvers.sor_cost_table` (the environment) to choose
  SOR's relaxation parameter ω across a sequence of linear systems (Khodak et al. 2024).

Every result carries the whole trace, one row per round, and the last play as ``params``
(``predictions[-1]`` for a learner on ``X``, ``weights[-1]`` for Hedge, ``probs[-1]`` for
EXP3; batch-safe: the round axis is the second to last).

The environment :func:`sea_centers` interpolates between stochastic and
adversarial sequences with a noise level ``σ`` and an adversarial drift
amplitude (the SEA model of Sachs et al. 2022, Chen et al. 2023).

One module per topic, every public name re-exported here:

- :mod:`~optlab.online.results`: run records;
- :mod:`~optlab.online.environments`: losses and environments;
- :mod:`~optlab.online.learners`: OGD, optimistic OGD, AdaGrad-OMD, coin betting;
- :mod:`~optlab.online.regret`: comparators and regret;
- :mod:`~optlab.online.experts`: Hedge and optimistic Hedge;
- :mod:`~optlab.online.bandits`: EXP3.
"""

from __future__ import annotations

from .bandits import (
    exp3,
)
from .environments import (
    logcosh_loss,
    sea_centers,
)
from .experts import (
    hedge,
    hedge_regret_bound,
    optimistic_hedge,
)
from .learners import (
    adagrad_omd,
    coin_betting,
    ogd,
    optimistic_ogd,
)
from .regret import (
    best_fixed,
    regret_at,
)
from .results import (
    BanditResult,
    CoinResult,
    ExpertsResult,
    OnlineResult,
)

__all__ = [
    "OnlineResult",
    "CoinResult",
    "ExpertsResult",
    "BanditResult",
    "logcosh_loss",
    "sea_centers",
    "ogd",
    "optimistic_ogd",
    "adagrad_omd",
    "coin_betting",
    "best_fixed",
    "regret_at",
    "hedge",
    "optimistic_hedge",
    "hedge_regret_bound",
    "exp3",
]
