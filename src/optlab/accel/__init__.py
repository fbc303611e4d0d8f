r"""Accelerated and momentum methods beyond :mod:`optlab.first_order` (Chapter 2).

Gradient descent, heavy ball and Nesterov live in :mod:`optlab.first_order`;
this module adds, as :class:`optax.GradientTransformationExtraArgs` with the
same conventions (``update`` returns ``x_{k+1} − x_k``; ``value=`` extra arg):

- :func:`triple_momentum`: the triple momentum method (Van Scoy, Freeman, Lynch,
  2018), the fastest known rate ``ρ = 1 − 1/√κ`` for L-smooth μ-strongly convex f.
- :func:`nesterov_restart`: Nesterov with ``β_j = j/(j+3)`` and adaptive restart
  (O'Donoghue and Candès, 2015), gradient or function scheme.
- :func:`ogm_g`: OGM-G (Kim and Fessler, 2021), ``‖∇f(x_N)‖ ≤ 2√(L(f(x_0) − f*))/(N+1)``
  after a fixed horizon ``N``; :func:`ogm_g_theta` its parameters.
- :func:`polyak_heavy_ball`: heavy ball with a Polyak-type step size derived for
  momentum (Wang, Johansson and Zhang, 2023).
- :func:`schedule_free_sgd`: Schedule-Free SGD (Defazio et al., 2024).

and the two objects the chapter studies them on:

- :func:`lrp_counterexample`: the 1-D piecewise quadratic (μ = 1, L = 25) on which
  quadratic-tuned heavy ball cycles (Lessard, Recht and Packard, 2016).
- :func:`momentum_ode`: the ODE limits ``ẍ + (3/t) ẋ + ∇f(x) = 0`` (Su, Boyd and
  Candès, 2016) and ``ẍ + 2√μ ẋ + ∇f(x) = 0``, integrated with RK4.

One module per topic, every public name re-exported here:

- :mod:`~optlab.accel.optimal_momentum`: triple momentum, rates on quadratics;
- :mod:`~optlab.accel.restart`: adaptive restart;
- :mod:`~optlab.accel.gradient_norm`: OGM-G;
- :mod:`~optlab.accel.polyak_momentum`: Polyak heavy ball;
- :mod:`~optlab.accel.schedule_free`: schedule-free SGD;
- :mod:`~optlab.accel.counterexamples`: the Lessard–Recht–Packard counterexample;
- :mod:`~optlab.accel.continuous_time`: momentum ODEs.
"""

from __future__ import annotations

from .continuous_time import (
    ODETrace,
    momentum_ode,
)
from .counterexamples import (
    lrp_counterexample,
)
from .gradient_norm import (
    OGMGState,
    ogm_g,
    ogm_g_theta,
)
from .optimal_momentum import (
    TripleMomentumState,
    quadratic_rate,
    triple_momentum,
    triple_momentum_output,
    triple_momentum_params,
)
from .polyak_momentum import (
    PolyakMomentumState,
    polyak_heavy_ball,
)
from .restart import (
    RestartState,
    nesterov_restart,
)
from .schedule_free import (
    ScheduleFreeState,
    schedule_free_eval_params,
    schedule_free_sgd,
)

__all__ = [
    "TripleMomentumState",
    "triple_momentum",
    "triple_momentum_params",
    "triple_momentum_output",
    "RestartState",
    "nesterov_restart",
    "OGMGState",
    "ogm_g",
    "ogm_g_theta",
    "PolyakMomentumState",
    "polyak_heavy_ball",
    "ScheduleFreeState",
    "schedule_free_sgd",
    "schedule_free_eval_params",
    "lrp_counterexample",
    "quadratic_rate",
    "ODETrace",
    "momentum_ode",
]
