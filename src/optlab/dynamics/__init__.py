r"""Training dynamics: sharpness-aware minimisation as an optax transformation, the
warmup–stable–decay learning-rate schedule and the SDE of SGD on a quadratic.

Notation (chapter 20).  ``f`` the loss of the parameters ``w``; SAM's radius ``ρ``
(``rho``) and ascent step ``ε = ρ∇f(w)/‖∇f(w)‖``; a schedule ``k ↦ η_k`` with peak ``η_max``,
``T`` steps, ``T_w`` warm-up and ``T_d`` decay steps.  Clipped gradient descent, which the
chapter runs on generalised-smooth functions, is :func:`optlab.stochastic.clipped_sgd`.

One module per topic, every public name re-exported here:

- :mod:`~optlab.dynamics.sharpness_aware`: SAM's ascent step (safe at a zero gradient), the SAM direction
  as a chainable transformation and SAM with gradient descent;
- :mod:`~optlab.dynamics.schedules`: the warmup–stable–decay schedule (linear or cosine decay);
- :mod:`~optlab.dynamics.sde`: the SDE of SGD on a quadratic (an Ornstein–Uhlenbeck process) and the
  exact moments of SGD there;
- :mod:`~optlab.dynamics.recurrent`: one recurrent unit ``x_t = w tanh(x_{t−1}) + b``, backpropagation
  through time written out, its saddle-node bifurcation and the bottleneck wall of its loss;
- :mod:`~optlab.dynamics.stability`: SGD on neighbouring data sets along shared sample paths and the
  uniform-stability bound of convex SGD, with shared heavy-tailed noise if asked;
- :mod:`~optlab.dynamics.heavy_tailed`: symmetric ``a``-stable draws (Chambers–Mallows–Stuck), the noise of
  heavy-tailed SGD;
- :mod:`~optlab.dynamics.scaling_rules`: SGD's linear and Adam's square-root batch-size scaling rules,
  and a regression problem with known gradient noise;
- :mod:`~optlab.dynamics.gradient_subspace`: the fraction of the gradient in the top Hessian
  eigenspace, and the overlap of two subspaces;
- :mod:`~optlab.dynamics.central_flows`: the central flow of gradient descent at the edge of
  stability (one eigenvalue at the edge) and gradient flow on the same time scale.

References: Foret, Kleiner, Mobahi & Neyshabur (2021) "Sharpness-aware minimization for
efficiently improving generalization"; Zhang, He, Sra & Jadbabaie (2020) "Why gradient clipping
accelerates training: a theoretical justification for adaptivity"; Hu et al. (2024) "MiniCPM";
Wen et al. (2024) "Understanding warmup-stable-decay learning rates: a river valley loss
landscape perspective"; Li, Tai & E (2017) "Stochastic modified equations and adaptive stochastic
gradient algorithms"; Pascanu, Mikolov & Bengio (2013) "On the difficulty of training recurrent
neural networks"; Hardt, Recht & Singer (2016) "Train faster, generalize better: stability of
stochastic gradient descent"; Raj, Zhu, Gürbüzbalaban & Şimşekli (2023) "Algorithmic stability of
heavy-tailed SGD with general loss functions";
Malladi, Lyu, Panigrahi & Arora (2022) "On the SDEs and scaling rules for
adaptive gradient algorithms"; Gur-Ari, Roberts & Dyer (2018) "Gradient descent happens in a tiny
subspace"; Cohen, Damian, Talwalkar, Kolter & Lee (2025) "Understanding optimization in deep
learning with central flows".
"""

from __future__ import annotations

from .central_flows import CentralFlow, central_flow, gradient_flow
from .gradient_subspace import (
    HessianSubspace,
    gradient_fraction,
    gradient_subspace_fraction,
    subspace_overlap,
)
from .heavy_tailed import symmetric_stable
from .recurrent import (
    RecurrentSensitivities,
    bottleneck_wall,
    recurrent_unit_bptt,
    recurrent_unit_states,
    saddle_node,
)
from .scaling_rules import AdamHyperparameters, adam_scaling_rule, noisy_regression, sgd_scaling_rule
from .schedules import warmup_stable_decay
from .sde import Moments, sgd_quadratic_moments, sgd_sde_moments
from .sharpness_aware import ascent_direction, sam, scale_by_sam
from .stability import NeighbourRuns, neighbour_divergence, sgd_stability_bound

__all__ = [
    "ascent_direction",
    "scale_by_sam",
    "sam",
    "warmup_stable_decay",
    "Moments",
    "sgd_sde_moments",
    "sgd_quadratic_moments",
    "RecurrentSensitivities",
    "recurrent_unit_states",
    "recurrent_unit_bptt",
    "saddle_node",
    "bottleneck_wall",
    "NeighbourRuns",
    "neighbour_divergence",
    "sgd_stability_bound",
    "symmetric_stable",
    "AdamHyperparameters",
    "adam_scaling_rule",
    "sgd_scaling_rule",
    "noisy_regression",
    "HessianSubspace",
    "gradient_subspace_fraction",
    "gradient_fraction",
    "subspace_overlap",
    "CentralFlow",
    "central_flow",
    "gradient_flow",
]
