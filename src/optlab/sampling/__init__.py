r"""Sampling as optimization: Langevin samplers and Stein variational gradient descent for a
target ``π ∝ exp(−f)``, and the Gaussian closed forms that check them.

Notation (chapter 19).  ``f`` is the potential, ``π ∝ exp(−f)`` the target; ``h`` the step
(the ``learning_rate`` argument); ``C`` independent chains or ``n`` interacting particles in
``R^d``, one per row.  Sampling is the minimisation of ``KL(ρ ‖ π)`` over laws ``ρ``: the
Langevin diffusion is its Wasserstein gradient flow and SVGD its steepest descent in an RKHS.

One module per topic, every public name re-exported here:

- :mod:`~optlab.sampling.langevin`: the unadjusted Langevin algorithm and MALA;
- :mod:`~optlab.sampling.stein`: SVGD, its direction and the median-heuristic bandwidth;
- :mod:`~optlab.sampling.mirrored_stein`: mirrored SVGD on the simplex (entropic mirror map);
- :mod:`~optlab.sampling.particle_descent`: particle gradient descent on ``∫V dμ + ½∬W(x − y) dμ dμ``;
- :mod:`~optlab.sampling.jko`: the JKO scheme (proximal point in ``W_2``) on the line;
- :mod:`~optlab.sampling.diffusion`: score-based diffusion: the Ornstein–Uhlenbeck noising, the
  exact score of a noised Gaussian mixture, denoising score matching, a small Fourier-feature
  score model, and the reverse-time SDE and probability-flow ODE samplers;
- :mod:`~optlab.sampling.schrodinger`: Schrödinger bridges: the Brownian bridge, the Gaussian
  static bridge in closed form, and the Light Schrödinger Bridge solver;
- :mod:`~optlab.sampling.gaussian`: ``W_2`` and the relative entropy between Gaussians, and
  the laws of ULA on a Gaussian target, along the run and at stationarity.

References: Jordan, Kinderlehrer & Otto (1998) "The variational formulation of the
Fokker–Planck equation"; Roberts & Tweedie (1996); Dalalyan (2017); Durmus & Moulines (2017);
Liu & Wang (2016) "Stein variational gradient descent"; Anderson (1982); Vincent (2011);
Song et al. (2021) "Score-based generative modeling through stochastic differential equations".
"""

from __future__ import annotations

from .diffusion import (
    DiffusionOutput,
    dsm_loss,
    fourier_score_init,
    fourier_score_model,
    gaussian_mixture_score,
    ou_noising,
    probability_flow,
    reverse_sde,
)
from .gaussian import _NOT_A_RUN as _NOT_A_RUN
from .gaussian import GaussianLaws, gaussian_kl, gaussian_w2, ula_gaussian_laws, ula_gaussian_stationary
from .jko import JKOOutput, jko_1d
from .langevin import LangevinOutput, mala, unadjusted_langevin
from .mirrored_stein import MirroredSVGDOutput, entropic_dual, entropic_primal, mirrored_svgd
from .particle_descent import ParticleDescentOutput, interaction_energy, particle_gradient_descent
from .schrodinger import (
    BridgeOutput,
    brownian_bridge,
    gaussian_sb_cross_covariance,
    light_sb_drift,
    light_sb_init,
    light_sb_loss,
    light_sb_sample,
    light_sb_sde,
)
from .stein import SVGDOutput, median_bandwidth, svgd, svgd_direction

__all__ = [
    "DiffusionOutput",
    "GaussianLaws",
    "dsm_loss",
    "entropic_dual",
    "entropic_primal",
    "fourier_score_init",
    "fourier_score_model",
    "gaussian_mixture_score",
    "ou_noising",
    "probability_flow",
    "reverse_sde",
    "JKOOutput",
    "BridgeOutput",
    "brownian_bridge",
    "gaussian_sb_cross_covariance",
    "light_sb_drift",
    "light_sb_init",
    "light_sb_loss",
    "light_sb_sample",
    "light_sb_sde",
    "LangevinOutput",
    "MirroredSVGDOutput",
    "ParticleDescentOutput",
    "SVGDOutput",
    "gaussian_kl",
    "gaussian_w2",
    "interaction_energy",
    "jko_1d",
    "mala",
    "median_bandwidth",
    "mirrored_svgd",
    "particle_gradient_descent",
    "svgd",
    "svgd_direction",
    "ula_gaussian_laws",
    "ula_gaussian_stationary",
    "unadjusted_langevin",
]
