"""Second-order methods and preconditioning: from Newton to Muon.

One module per family, every public name re-exported here (the modules are not named
after the functions they hold, so ``optlab.second_order.newton`` is always the function):
:mod:`~optlab.second_order.newton_methods`, :mod:`~optlab.second_order.curvature` and
:mod:`~optlab.second_order.preconditioners`, :mod:`~optlab.second_order.layerwise_rates`.

Three families, in the order of the chapter (``book/05_second_order``):

1. **Newton and its globalisation** on a scalar objective ``f: Rᵈ → R``:
   :func:`newton` (pure, classical damped ``1/(1+λ)``, AICN, the ``O(k⁻³)`` RN
   schedule or a fixed step), :func:`newton_backtracking` (Armijo), :func:`saddle_free_newton`
   (``−|H|⁻¹g``) and :func:`gradient_regularized_newton`
   (``−(B + √(H‖g‖)·I)⁻¹g`` with an exact or approximate Hessian ``B``).
   Each returns a :class:`NewtonTrace`.
2. **Matrix-free curvature**: :func:`hvp`, Hutchinson's diagonal estimate
   (:func:`hutchinson_samples`, :func:`hutchinson_diagonal`) and the optimiser built on
   it, AdaHessian (:func:`scale_by_adahessian`, :func:`adahessian`), the Gauss–Newton
   direction through the batch-sized Woodbury solve
   (:func:`gauss_newton_direction`), M-FAC inverse-Fisher products, static
   (:func:`mfac_static`, :func:`mfac_ihvp`) and sliding-window
   (:func:`mfac_window_init`, :func:`mfac_window_push`, :func:`mfac_window_ihvp`,
   :func:`scale_by_mfac`), and the K-FAC / MKOR rank-1 inverse update
   (:func:`rank1_ema_inverse_update`).
3. **Shampoo and orthogonalised updates**: :func:`inverse_pth_root`,
   :func:`shampoo_precondition`, :func:`scale_by_shampoo`, the power iteration towards
   the best Kronecker approximation (:func:`kronecker_power_iteration`); the polar factor
   (:func:`polar_factor`), :func:`newton_schulz`, :func:`auon_scale`; and the
   optax transformations :func:`scale_by_muon` / :func:`muon`,
   :func:`scale_by_auon`, :func:`drop_layers` / :func:`drop_muon`; noise-adaptive
   layerwise learning rates (:mod:`~optlab.second_order.layerwise_rates`):
   :func:`nuclear_norm`, :func:`scale_by_layerwise_noise`, :func:`noise_adaptive_muon`.

References: Hanzely et al. (damped Newton), Dauphin et al. 2014 (saddle-free
Newton), Semenov et al. (gradient-normalized smoothness), Frantar et al. 2021
(M-FAC), Mozaffari et al. 2023 (MKOR), Gupta et al. 2018 (Shampoo), Morwani et
al. (Shampoo's preconditioner), Korbit et al. (exact Gauss–Newton), Yao et al.
2021 (AdaHessian), Kovalev 2025 (orthogonalisation as non-Euclidean trust
region), Maity 2025 (AuON), Gruntkowska et al. 2025 (Drop-Muon), Hao et al. 2025 (LANTON).
"""

from __future__ import annotations

from .curvature import (
    AdaHessianState,
    MFACState,
    MFACWindow,
    TNGDResult,
    adahessian,
    empirical_fisher,
    gauss_newton_direction,
    hutchinson_diagonal,
    hutchinson_samples,
    hvp,
    mfac_ihvp,
    mfac_static,
    mfac_window_ihvp,
    mfac_window_init,
    mfac_window_push,
    rank1_ema_inverse_update,
    scale_by_adahessian,
    scale_by_mfac,
    thermodynamic_solve,
)
from .layerwise_rates import (
    LayerwiseNoiseState,
    noise_adaptive_muon,
    nuclear_norm,
    scale_by_layerwise_noise,
)
from .newton_methods import (
    NewtonTrace,
    gradient_regularized_newton,
    newton,
    newton_backtracking,
    newton_decrement,
    saddle_free_newton,
)
from .preconditioners import (
    CUBIC_COEFFS,
    MUON_COEFFS,
    KroneckerTrace,
    auon_scale,
    drop_layers,
    drop_muon,
    inverse_pth_root,
    kronecker_power_iteration,
    muon,
    newton_schulz,
    newton_schulz_iterates,
    polar_factor,
    scale_by_auon,
    scale_by_muon,
    scale_by_shampoo,
    shampoo_precondition,
)

__all__ = [
    # Newton family
    "NewtonTrace",
    "newton",
    "newton_backtracking",
    "saddle_free_newton",
    "gradient_regularized_newton",
    "newton_decrement",
    # matrix-free curvature
    "hvp",
    "hutchinson_samples",
    "hutchinson_diagonal",
    "AdaHessianState",
    "scale_by_adahessian",
    "adahessian",
    "gauss_newton_direction",
    "MFACState",
    "mfac_static",
    "mfac_ihvp",
    "empirical_fisher",
    "MFACWindow",
    "mfac_window_init",
    "mfac_window_push",
    "mfac_window_ihvp",
    "scale_by_mfac",
    "rank1_ema_inverse_update",
    "TNGDResult",
    "thermodynamic_solve",
    # Shampoo and orthogonalised updates
    "inverse_pth_root",
    "shampoo_precondition",
    "scale_by_shampoo",
    "KroneckerTrace",
    "kronecker_power_iteration",
    "polar_factor",
    "newton_schulz",
    "newton_schulz_iterates",
    "CUBIC_COEFFS",
    "MUON_COEFFS",
    "auon_scale",
    "scale_by_muon",
    "muon",
    "scale_by_auon",
    "nuclear_norm",
    "LayerwiseNoiseState",
    "scale_by_layerwise_noise",
    "noise_adaptive_muon",
    "drop_layers",
    "drop_muon",
]
