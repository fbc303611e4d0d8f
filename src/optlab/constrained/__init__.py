r"""Constrained optimisation and duality: projections and linear minimisation
oracles, projected gradient, Frank–Wolfe, dual ascent (auxiliary-loss-free load
balancing), the quadratic penalty against the augmented Lagrangian, the exact
augmented Lagrangian with a randomized sketched Newton–KKT solve, primal–dual
methods for constrained learning and ADMM on the convex reformulation of
two-layer ReLU networks.

Notation (chapter 11).  ``min f(x)`` over a closed convex set ``𝒞`` (sets below),
or subject to equality constraints ``c(x) = 0`` (``c: ℝⁿ → ℝᵐ``) or inequality
constraints ``g(x) ≤ 0``; Lagrangian ``ℒ(x, λ) = f(x) + λᵀc(x)``.

Sets are small pytrees with ``project(x)`` (Euclidean projection),
``lmo(g)`` (a minimiser of ``⟨g, s⟩`` over the set) and ``contains(x, *, tol)``.
Build them with the validating factories :func:`simplex`, :func:`l1_ball`,
:func:`l2_ball`, :func:`box`, :func:`spectral_ball`, :func:`nuclear_ball` or
:func:`ball`, which refuse
non-convex or empty requests (negative radius, ℓp with p < 1, lo > hi).

One module per topic, every public name re-exported here:

- :mod:`~optlab.constrained.sets`: sets, projections, LMOs, feasibility;
- :mod:`~optlab.constrained.projected`: projected gradient;
- :mod:`~optlab.constrained.conditional_gradient`: Frank–Wolfe;
- :mod:`~optlab.constrained.dual_ascent`: auxiliary-loss-free load balancing;
- :mod:`~optlab.constrained.multipliers`: quadratic penalty and augmented Lagrangian;
- :mod:`~optlab.constrained.structure_learning`: NOTEARS structure learning (acyclicity
  constraint) and the topological-swaps search;
- :mod:`~optlab.constrained.sketch`: exact augmented Lagrangian with sketched Newton–KKT solves;
- :mod:`~optlab.constrained.primal_dual_learning`: primal–dual constrained learning;
- :mod:`~optlab.constrained.convex_relu`: convex two-layer ReLU networks and ADMM.

The modules are not named after the functions they hold, so ``optlab.constrained.frank_wolfe``
is always the function.

References: Frank & Wolfe (1956); Jaggi (2013) "Revisiting Frank–Wolfe";
Carderera, Besançon, Pokutta (2021) "Simple steps are all you need";
Duchi, Shalev-Shwartz, Singer, Chandra (2008) (sort-based simplex projection);
"A theoretical framework for auxiliary-loss-free load balancing of sparse MoE"
(2025); Hong, Na, Mahoney, Kolar (2023) "Constrained optimization via exact
augmented Lagrangian and randomized iterative sketching"; Boyd et al. (2011)
(ADMM); Pilanci & Ergen (2020), Bai, Gautam, Sojoudi (2023) (convex two-layer
ReLU training); Elenter, Chamon, Ribeiro (2024) (primal–dual constrained learning);
Zheng, Aragam, Ravikumar, Xing (2018) "DAGs with NO TEARS"; Deng, Bello, Aragam,
Ravikumar (2023) "Optimizing NOTEARS Objectives via Topological Swaps".
"""

from __future__ import annotations

from .conditional_gradient import FWOutput, frank_wolfe
from .convex_relu import (
    ReLUADMMOutput,
    ReLUTrainOutput,
    convex_relu_objective,
    relu_admm,
    relu_from_convex,
    relu_network_objective,
    relu_patterns,
    relu_predict,
    train_relu_nonconvex,
)
from .dual_ascent import LoadBalanceOutput, balanced_assignment_lp, load_balancing, load_balancing_dual
from .multipliers import MultiplierOutput, augmented_lagrangian, quadratic_penalty
from .primal_dual_learning import PrimalDualOutput, primal_dual
from .projected import PGDOutput, projected_gradient
from .sets import (
    Box,
    L1Ball,
    L2Ball,
    NuclearBall,
    Simplex,
    SpectralBall,
    ball,
    box,
    l1_ball,
    l2_ball,
    nuclear_ball,
    project_l1_ball,
    project_simplex,
    require_feasible,
    simplex,
    spectral_ball,
)
from .sketch import ExactALOutput, SketchOutput, exact_al_sketch, kkt_residual, sketch_solve
from .structure_learning import (
    NotearsOutput,
    TopoSwapsOutput,
    acyclicity,
    acyclicity_grad,
    fit_to_order,
    notears,
    structural_hamming_distance,
    structure_score,
    topo_swaps,
    topological_order,
)

__all__ = [
    "Simplex",
    "L1Ball",
    "L2Ball",
    "Box",
    "SpectralBall",
    "NuclearBall",
    "simplex",
    "l1_ball",
    "l2_ball",
    "box",
    "spectral_ball",
    "nuclear_ball",
    "ball",
    "project_simplex",
    "project_l1_ball",
    "require_feasible",
    "PGDOutput",
    "projected_gradient",
    "FWOutput",
    "frank_wolfe",
    "LoadBalanceOutput",
    "load_balancing",
    "load_balancing_dual",
    "balanced_assignment_lp",
    "MultiplierOutput",
    "quadratic_penalty",
    "augmented_lagrangian",
    "NotearsOutput",
    "acyclicity",
    "acyclicity_grad",
    "notears",
    "structural_hamming_distance",
    "TopoSwapsOutput",
    "fit_to_order",
    "structure_score",
    "topo_swaps",
    "topological_order",
    "SketchOutput",
    "ExactALOutput",
    "sketch_solve",
    "exact_al_sketch",
    "kkt_residual",
    "PrimalDualOutput",
    "primal_dual",
    "ReLUADMMOutput",
    "ReLUTrainOutput",
    "relu_patterns",
    "convex_relu_objective",
    "relu_admm",
    "relu_from_convex",
    "relu_network_objective",
    "relu_predict",
    "train_relu_nonconvex",
]
