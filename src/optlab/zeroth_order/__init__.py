r"""Zeroth-order optimisation and gradient estimators.

Notation (chapter 14).  ``f: ℝᵈ → ℝ``, smoothing radius ``μ > 0``, ``m`` random
directions per estimate.

* Gaussian smoothing  ``f_μ(x) = E_u f(x + μu)``, ``u ~ N(0, I_d)``; the one-sided
  estimator ``ĝ = (1/m) Σ_j (f(x + μu_j) − f(x))/μ · u_j`` (``m + 1`` evaluations) and
  its central version ``(f(x + μu) − f(x − μu))/(2μ) · u`` (``2m`` evaluations) are
  unbiased for ``∇f_μ(x)`` (Nesterov & Spokoiny 2017).  On a linear ``f``,
  ``E‖ĝ‖² = (1 + (d + 1)/m) ‖∇f‖²``: the ``(d + 2)`` law for ``m = 1``.
* Two-point sphere estimator ``ĝ = d/(2μ) (f(x + μu) − f(x − μu)) u`` with ``u``
  uniform on the unit sphere, the estimator of Ren, Tang & Li (2023).
* Forward gradient ``ĝ = (∇f(x)·v) v``, ``v ~ N(0, I)``, one ``jax.jvp`` per direction
  (Baydin et al. 2022): unbiased for ``∇f(x)`` with the same ``(d + 2)`` second moment.
* Consensus-based optimisation (CBO, Riedl, Klock, Geldhauser & Fornasier 2023):
  particles drift to the Laplace-weighted consensus
  ``v_α = Σ_i x_i e^{−α f(x_i)} / Σ_i e^{−α f(x_i)}`` with noise ∝ ``x_i − v_α``.
* Discrete latent variables: REINFORCE (score function, Williams 1992),
  straight-through (Bengio et al. 2013; analysed by Liu et al. 2023) and ReinMax
  (Liu et al. 2023) estimators of ``∇_θ E_{z∼p_θ} f(z)`` for Bernoulli and categorical
  ``p_θ``, with exact enumeration as the reference.

Every estimator is a pure function ``(f, x, *, key, num_directions, smoothing) -> ĝ``
(``forward_gradient`` ignores the smoothing), so it can be ``vmap``-ed over keys.

One module per topic, every public name re-exported here:

- :mod:`~optlab.zeroth_order.estimators`: gradient estimators;
- :mod:`~optlab.zeroth_order.descent`: zeroth-order descent;
- :mod:`~optlab.zeroth_order.test_functions`: test functions;
- :mod:`~optlab.zeroth_order.consensus`: consensus-based optimisation;
- :mod:`~optlab.zeroth_order.discrete_gradients`: REINFORCE, straight-through, ReinMax.
"""

from __future__ import annotations

from .consensus import (
    CBOResult,
    cbo,
    consensus_point,
)
from .descent import (
    ZOResult,
    zo_descent,
)
from .discrete_gradients import (
    bernoulli_expectation,
    categorical_expectation,
    reinforce_grad,
    reinmax_grad,
    straight_through_grad,
)
from .estimators import (
    ESTIMATORS,
    coordinate_grad,
    evaluations_per_step,
    forward_gradient,
    gaussian_smoothing_grad,
    sphere_two_point_grad,
)
from .test_functions import (
    rastrigin,
    strict_saddle,
)

__all__ = [
    "gaussian_smoothing_grad",
    "sphere_two_point_grad",
    "forward_gradient",
    "coordinate_grad",
    "ESTIMATORS",
    "evaluations_per_step",
    "ZOResult",
    "zo_descent",
    "rastrigin",
    "strict_saddle",
    "consensus_point",
    "CBOResult",
    "cbo",
    "bernoulli_expectation",
    "categorical_expectation",
    "reinforce_grad",
    "straight_through_grad",
    "reinmax_grad",
]
