r"""Differentially private optimization: DP-SGD with per-example clipping, an RDP
accountant for the Poisson-subsampled Gaussian mechanism, ghost clipping / book-keeping
(per-example gradient norms of an MLP without per-example gradients), per-sample gradient
bounds of Lipschitz networks (DP without clipping) and DIFF2 (private gradient differences).

Notation (chapter 17).  A dataset of ``n`` examples, per-example loss ``ℓ(θ; z_i)``,
per-example gradient ``g_i = ∇_θ ℓ(θ; z_i)``, clip norm ``C``, noise multiplier ``σ``
(the noise std divided by the ℓ2 sensitivity), sampling rate ``q`` (each example is in
a batch independently with probability ``q``), ``T`` steps, target ``(ε, δ)``.
One DP-SGD step on a batch ``B`` is::

    g̃ = (Σ_{i∈B} clip_C(g_i) + N(0, σ²C² I)) / |B|,   clip_C(g) = g · min(1, C/‖g‖),

``‖·‖`` the global ℓ2 norm over all leaves of the parameter pytree.

Privacy is accounted in Rényi DP (RDP) of integer orders ``α``: the Gaussian mechanism
is ``(α, α/(2σ²))``-RDP, its Poisson subsample has RDP ``log(A_α)/(α−1)`` with

    A_α = Σ_{k=0}^{α} C(α,k) (1−q)^{α−k} q^k exp((k² − k)/(2σ²))

(Mironov, Talwar & Zhang, 2019), RDP adds over steps, and an ``(α, r)``-RDP guarantee
gives ``(ε, δ)``-DP with ``ε = r + log(1 − 1/α) − (log δ + log α)/(α − 1)``
(Balle et al., 2020; the classic ``r + log(1/δ)/(α−1)`` of Mironov, 2017 is available
with ``conversion="classic"``).  Neighbouring datasets differ by adding or removing one
example, as in ``dp_accounting``'s default.

Papers: Abadi et al. (2016) "Deep learning with differential privacy"; Das, Kale, Xu,
Zhang, Sanghavi (2023) "Beyond uniform Lipschitz condition in differentially private
optimization"; Béthune et al. (2024) "DP-SGD without clipping: the Lipschitz neural
network way"; Goodfellow (2015) "Efficient per-example gradient computations"; Li, Tramèr,
Liang & Hashimoto (2022) "Large language models can be strong differentially private
learners" (ghost clipping of sequences); Bu, Wang, Zha & Karypis (2023) "Differentially
private optimization on large model at small cost" (book-keeping); Murata & Suzuki (2023)
"DIFF2: differential private optimization via gradient differences for nonconvex
distributed learning".

One module per topic, every public name re-exported here:

- :mod:`~optlab.privacy.clipping`: per-example gradients, clipping, the DP aggregate and DP-
  SGD;
- :mod:`~optlab.privacy.ghost_clipping`: per-example norms without per-example gradients
  (ghost clipping, book-keeping);
- :mod:`~optlab.privacy.accountant`: the RDP accountant, conversion to (ε, δ) and noise
  calibration;
- :mod:`~optlab.privacy.lipschitz_bounds`: per-sample gradient bounds of Lipschitz networks
  (DP without clipping);
- :mod:`~optlab.privacy.gradient_differences`: DIFF2, private gradient differences.
"""

from __future__ import annotations

from ._common import (
    DEFAULT_ORDERS,
)
from .accountant import (
    PrivacySpent,
    calibrate_noise,
    dp_sgd_privacy,
    rdp_gaussian,
    rdp_subsampled_gaussian,
    rdp_to_epsilon,
)
from .clipping import (
    DPAggregateState,
    clip_per_example,
    dp_aggregate,
    dp_sgd,
    per_example_grads,
    per_example_norms,
)
from .ghost_clipping import _NOT_A_RUN as _NOT_A_RUN
from .ghost_clipping import (
    GhostClipResult,
    ghost_clip,
    ghost_dp_sgd_step,
    ghost_norms,
)
from .gradient_differences import (
    DIFF2Output,
    diff2,
    diff2_privacy,
)
from .lipschitz_bounds import (
    mlp_grad_bound,
    param_grad_bound,
    project_mlp,
)

__all__ = [
    "per_example_grads",
    "per_example_norms",
    "clip_per_example",
    "DPAggregateState",
    "dp_aggregate",
    "dp_sgd",
    "GhostClipResult",
    "ghost_norms",
    "ghost_clip",
    "ghost_dp_sgd_step",
    "DEFAULT_ORDERS",
    "rdp_gaussian",
    "rdp_subsampled_gaussian",
    "rdp_to_epsilon",
    "PrivacySpent",
    "dp_sgd_privacy",
    "calibrate_noise",
    "param_grad_bound",
    "mlp_grad_bound",
    "project_mlp",
    "DIFF2Output",
    "diff2",
    "diff2_privacy",
]
