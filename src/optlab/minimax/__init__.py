r"""Games, min-max problems and monotone operators.

Notation (chapter 9).  A two-player zero-sum game ``min_x max_y f(x, y)`` with
``x ∈ ℝⁿˣ``, ``y ∈ ℝⁿʸ`` is solved through its *game vector field*

    F(z) = (∇ₓ f(x, y), −∇ᵧ f(x, y)),      z = (x, y) ∈ ℝᵈ,  d = nₓ + nᵧ,

and an equilibrium is a zero of ``F``.  ``F`` is *monotone* when
``⟨F(u) − F(v), u − v⟩ ≥ 0`` (convex-concave ``f``) and ``ρ``-*comonotone* when
``⟨F(u) − F(v), u − v⟩ ≥ ρ‖F(u) − F(v)‖²`` (``ρ < 0``: negative comonotonicity).
Every method below is a pure function ``method(F, z0, *, learning_rate, num_steps, ...)``
running inside one ``lax.scan``; it returns a :class:`MinimaxOutput` with the
operator residual ``‖F(z_k)‖`` of every iterate (the computable optimality
measure), and is ``vmap``-able over ``learning_rate``.

Operators are plain callables ``F(z)``; :class:`AffineOperator` (``F(z) = Mz + q``)
adds the things linear algebra gives for free: the equilibrium by a dense solve,
the Lipschitz constant ``‖M‖₂``, the exact resolvent ``(I + ηF)⁻¹`` and the
comonotonicity modulus.

References: Korpelevich (1976) extragradient; Popov (1980) and Hsieh, Iutzeler,
Malick, Mertikopoulos (2019) single-call / past extragradient; Malitsky (2015)
reflected gradient; Rockafellar (1976) proximal point; Halpern (1967) and Yoon & Ryu
(2021) anchoring; Cai & Zheng (2023) accelerated optimistic gradient; Cai, Alacaoglu,
Diakonikolas (2024) variance-reduced Halpern;
Gorbunov, Taylor, Horváth, Gidel (2023) negative comonotonicity; Vyas et al.
competitive gradient optimization; Small-Gain Nash certificates.

One module per topic, every public name re-exported here:

- :mod:`~optlab.minimax.results`: the run record;
- :mod:`~optlab.minimax.operators`: operators and games;
- :mod:`~optlab.minimax.methods`: the methods;
- :mod:`~optlab.minimax.certificates`: the Small-Gain Nash certificate;
- :mod:`~optlab.minimax.rates`: rate fitting.
"""

from __future__ import annotations

from .certificates import (
    SGNCertificate,
    sgn_band,
    sgn_block_margin,
    sgn_certificate,
)
from .methods import (
    accelerated_optimistic_gradient,
    competitive_gradient,
    extra_anchored_gradient,
    extragradient,
    gda,
    halpern,
    halpern_proximal_point,
    optimistic_gradient,
    proximal_point,
    reflected_gradient,
    vr_halpern,
)
from .operators import (
    AffineOperator,
    FiniteSumOperator,
    bilinear_game,
    comonotonicity,
    finite_sum_game,
    quadratic_game,
    resolvent,
    rotation_operator,
)
from .rates import (
    fit_slope,
)
from .results import (
    _NOT_A_RUN as _NOT_A_RUN,
)
from .results import (
    MinimaxOutput,
)

__all__ = [
    "MinimaxOutput",
    "AffineOperator",
    "FiniteSumOperator",
    "bilinear_game",
    "quadratic_game",
    "rotation_operator",
    "finite_sum_game",
    "comonotonicity",
    "resolvent",
    "gda",
    "extragradient",
    "optimistic_gradient",
    "reflected_gradient",
    "proximal_point",
    "halpern",
    "halpern_proximal_point",
    "extra_anchored_gradient",
    "accelerated_optimistic_gradient",
    "vr_halpern",
    "competitive_gradient",
    "SGNCertificate",
    "sgn_certificate",
    "sgn_band",
    "sgn_block_margin",
    "fit_slope",
]
