r"""Nonsmooth, proximal and composite optimisation: proximal operators and the Moreau
envelope, the subgradient method, proximal gradient (ISTA, FISTA, adaptive restart) and the
lasso, coordinate descent, and fixed-point (MM) iterations for Bradley–Terry rankings.

Notation (chapter 18).  ``F(x) = f(x) + g(x)`` with ``f`` ``L``-smooth and ``g`` closed convex;
``prox_{γg}(v) = argmin_x g(x) + ‖x − v‖²/(2γ)``; the lasso is
``F(x) = ‖Ax − b‖²/(2N) + λ‖x‖₁`` with ``A`` ``N × d`` (one example per row) and ``λ`` the
``reg`` argument (scikit-learn's ``alpha``).

One module per topic, every public name re-exported here:

- :mod:`~optlab.prox.operators`: proxes (ℓ1, ℓ2, box, group lasso, nuclear norm), the
  conjugate's prox, the Moreau envelope and its gradient;
- :mod:`~optlab.prox.proximal_gradient_methods`: ISTA, FISTA and restart; the lasso, its objective,
  duality gap and ``λ_max``;
- :mod:`~optlab.prox.penalties`: the nonconvex SCAD and MCP penalties, their exact proxes and
  penalised least squares by proximal gradient or the nonconvex accelerated gradient method;
- :mod:`~optlab.prox.subgradient`: the subgradient method;
- :mod:`~optlab.prox.coordinate`: cyclic and randomised coordinate descent for the lasso;
- :mod:`~optlab.prox.ranking`: Zermelo's and Newman's iterations for Bradley–Terry;
- :mod:`~optlab.prox.conversion`: online-to-nonconvex conversion (Goldstein stationarity);
- :mod:`~optlab.prox.model_based`: stochastic subgradient, prox-linear and proximal point
  methods for weakly convex absolute-residual losses (robust phase retrieval), and the
  Moreau-envelope gradient that measures their stationarity.

References: Moreau (1965); Beck & Teboulle (2009) "A fast iterative shrinkage-thresholding
algorithm"; O'Donoghue & Candès (2015) "Adaptive restart for accelerated gradient schemes";
Nesterov (2004) "Introductory lectures on convex optimization" (subgradient lower bound);
Nesterov (2012) "Efficiency of coordinate descent methods on huge-scale optimization
problems"; Richtárik & Takáč (2014); Davis & Drusvyatskiy (2019) (the Moreau envelope as a
stationarity measure); Zermelo (1929); Newman (2023) "Efficient computation of rankings from
pairwise comparisons"; Fan & Li (2001) (SCAD); Zhang (2010) (MCP); Ghadimi & Lan (2016)
"Accelerated gradient methods for nonconvex nonlinear and stochastic programming"; Yang,
Asgharian & Bhatnagar "Accelerated gradient methods for sparse statistical learning with
nonconvex penalties"; Cutkosky, Mehta & Orabona (2023) "Optimal stochastic non-smooth
non-convex optimization through online-to-non-convex conversion"; Davis & Drusvyatskiy (2019)
"Stochastic model-based minimization of weakly convex functions".
"""

from __future__ import annotations

from .conversion import ConversionOutput, online_to_nonconvex
from .coordinate import CDOutput, coordinate_lipschitz, lasso_coordinate_descent
from .model_based import (
    ModelBasedOutput,
    absolute_residual_loss,
    composite_moreau_gradient,
    phase_retrieval_residual,
    phase_retrieval_sample_prox,
    stochastic_model_based,
)
from .operators import (
    moreau_envelope,
    moreau_gradient,
    prox_box,
    prox_conjugate,
    prox_group_l2,
    prox_l1,
    prox_l2,
    prox_nuclear,
)
from .penalties import mcp_penalty, nonconvex_regression, prox_mcp, prox_scad, scad_penalty
from .proximal_gradient_methods import (
    ProxGradOutput,
    lasso,
    lasso_duality_gap,
    lasso_objective,
    lasso_reg_max,
    proximal_gradient,
)
from .ranking import RankingOutput, bradley_terry, bradley_terry_loglik
from .subgradient import SubgradientOutput, subgradient_method

__all__ = [
    "prox_l1",
    "prox_l2",
    "prox_box",
    "prox_group_l2",
    "prox_nuclear",
    "prox_conjugate",
    "moreau_envelope",
    "moreau_gradient",
    "ProxGradOutput",
    "proximal_gradient",
    "lasso",
    "lasso_objective",
    "lasso_duality_gap",
    "lasso_reg_max",
    "scad_penalty",
    "mcp_penalty",
    "prox_scad",
    "prox_mcp",
    "nonconvex_regression",
    "SubgradientOutput",
    "subgradient_method",
    "CDOutput",
    "lasso_coordinate_descent",
    "coordinate_lipschitz",
    "ConversionOutput",
    "online_to_nonconvex",
    "ModelBasedOutput",
    "stochastic_model_based",
    "composite_moreau_gradient",
    "absolute_residual_loss",
    "phase_retrieval_residual",
    "phase_retrieval_sample_prox",
    "RankingOutput",
    "bradley_terry",
    "bradley_terry_loglik",
]
