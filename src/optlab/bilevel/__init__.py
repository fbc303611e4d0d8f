r"""Bilevel optimisation: hypergradients and hyperparameter learning.

Notation (chapter 12). Upper variable ``θ ∈ ℝᵖ`` (a hyperparameter), lower
variable ``w ∈ ℝᵈ``, inner (lower-level) loss ``g(w, θ)``, outer (upper-level)
loss ``f(w, θ)``:

    min_θ F(θ) = f(w*(θ), θ),    w*(θ) = argmin_w g(w, θ).

When ``H = ∇²_ww g(w*, θ)`` is invertible, the implicit function theorem gives
the hypergradient

    ∇F(θ) = ∇_θ f − ∇²_θw g · H⁻¹ ∇_w f        (all at (w*(θ), θ)).

Every estimator here approximates it:

- :func:`implicit_hypergradient` solves ``H q = ∇_w f`` (dense or conjugate
  gradients), :func:`custom_root` packages that as a differentiable solver;
- :func:`neumann_hypergradient` replaces ``H⁻¹`` by ``α Σ_{j<K} (I − αH)^j``;
- :func:`unrolled_hypergradient` back-propagates through ``T`` gradient steps
  on ``g``, optionally only through the last ``K`` (truncated back-propagation);
- :func:`penalty_hypergradient` / :func:`f2sa_hypergradient` are fully
  first-order: ``∇_θ f(y_σ) + (∇_θ g(y_σ) − ∇_θ g(z*))/σ`` with
  ``y_σ = argmin σ f + g`` and ``z* = argmin g`` (bias ``O(σ)``, ``σ = 1/λ``).

Outer loops: :func:`hypergradient_descent` (warm-started inner steps plus an
implicit or F2SA hypergradient, in ``lax.scan``), :func:`hoag` (inexact
solves with a decreasing tolerance) and :func:`adaptive_inexact` (backtracking
on inexact values with the accuracy tightened on demand).

Test problems with closed forms: ridge regression (:func:`ridge_losses`,
:func:`ridge_solution`, :func:`ridge_hypergradient`) and data cleaning by
per-example weights (:func:`data_cleaning_problem`, :func:`weighted_logistic_losses`).

References: Pedregosa (2016) "Hyperparameter optimization with approximate
gradient" (HOAG); Blondel et al. (2022) "Efficient and modular implicit
differentiation"; Lorraine, Vicol, Duvenaud (2020) (Neumann series); Shaban,
Cheng, Hatch, Boots (2019) (truncated back-propagation); Kwon, Kwon, Wright,
Nowak (2023) "A fully first-order method for stochastic bilevel optimization"
(F2SA) and (2024) "On penalty methods for nonconvex bilevel optimization and
first-order stochastic approximation"; Salehi, Mukherjee, Roberts, Ehrhardt
(2023) "An adaptively inexact first-order method for bilevel optimization with
application to hyperparameter learning".

One module per topic, every public name re-exported here:

- :mod:`~optlab.bilevel.inner_problem`: inner-problem checks;
- :mod:`~optlab.bilevel.ridge`: the ridge test problem;
- :mod:`~optlab.bilevel.implicit`: implicit differentiation;
- :mod:`~optlab.bilevel.unrolled`: Neumann series and unrolled back-propagation;
- :mod:`~optlab.bilevel.penalty`: penalty / value-function methods (F2SA);
- :mod:`~optlab.bilevel.outer_loops`: hypergradient descent, HOAG, adaptive inexact methods;
- :mod:`~optlab.bilevel.data_cleaning`: data cleaning.
"""

from __future__ import annotations

from .data_cleaning import (
    CleaningData,
    auc,
    data_cleaning_problem,
    weighted_logistic_losses,
)
from .implicit import (
    custom_root,
    implicit_hypergradient,
)
from .inner_problem import (
    check_inner_hessian,
)
from .outer_loops import (
    BilevelTrace,
    InexactTrace,
    InnerSolveOutput,
    adaptive_inexact,
    hoag,
    hypergradient_descent,
    inner_gd_tol,
)
from .penalty import (
    f2sa_hypergradient,
    penalty_hypergradient,
    penalty_value,
)
from .ridge import (
    ridge_hypergradient,
    ridge_losses,
    ridge_solution,
)
from .unrolled import (
    InnerGDOutput,
    inner_gd,
    neumann_hypergradient,
    unrolled_hypergradient,
)

__all__ = [
    "ridge_losses",
    "ridge_solution",
    "ridge_hypergradient",
    "check_inner_hessian",
    "custom_root",
    "implicit_hypergradient",
    "neumann_hypergradient",
    "unrolled_hypergradient",
    "penalty_hypergradient",
    "f2sa_hypergradient",
    "penalty_value",
    "inner_gd",
    "InnerGDOutput",
    "inner_gd_tol",
    "InnerSolveOutput",
    "hypergradient_descent",
    "BilevelTrace",
    "hoag",
    "adaptive_inexact",
    "InexactTrace",
    "data_cleaning_problem",
    "CleaningData",
    "weighted_logistic_losses",
    "auc",
]
