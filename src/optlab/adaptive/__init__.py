r"""Adaptive, parameter-free and non-Euclidean methods (Chapter 4).

Every method is an :class:`optax.GradientTransformationExtraArgs` with the
conventions of :mod:`optlab.first_order`: ``update(g, state, params)`` returns
``x_{k+1} − x_k``; scalar hyper-parameters may be schedules ``k ↦ η_k`` where
noted.  Where optax has the method the defaults and formulas are optax's, and
``tests/test_adaptive.py`` proves parity to 1e-6:

- ``adagrad(η, s0, ε)``: ``s += g²``; ``−η g / √(s + ε)``; optax: ``optax.adagrad(η, s0, ε)``.
- ``adagrad_norm(η, b0)``: ``b² += ‖g‖²``; ``−η g / b``; optax: none (scalar AdaGrad).
- ``rmsprop(η, ρ, ε)``: ``ν = ρν + (1−ρ)g²``; ``−η g / √(ν + ε)``; optax: ``optax.rmsprop(η, ρ, ε)``.
- ``adam(η, β1, β2, ε)``: ``−η m̂ / (√v̂ + ε)``; optax: ``optax.adam``.
- ``adamw(η, …, λ)``: ``−η (m̂ / (√v̂ + ε) + λ x)``; optax: ``optax.adamw``.
- ``amsgrad(η, β1, β2, ε)``: ``v̂max = max(v̂max, v̂)``; ``−η m̂ / (√v̂max + ε)``; optax: ``optax.amsgrad``.
- ``dog(η, r_ε)``: ``−η (r̄_k / √Σ‖g_i‖²) g``; optax: ``optax.contrib.dog`` (heuristic).
- ``lion(η, β1, β2, λ)``: ``−η (sign(β1 m + (1−β1) g) + λ x)``; optax: ``optax.lion``.
- ``steepest_descent(η, n)``: ``−η · argmax_{‖t‖≤1} ⟨g, t⟩`` (``‖g‖_* ×`` opt.); optax: none.

Note optax's conventions: AdaGrad starts its accumulator at ``s0 = 0.1`` and puts
``ε`` inside the square root; RMSProp puts ``ε`` inside, Adam/AMSGrad outside;
AMSGrad takes the max of the *bias-corrected* ``v̂`` (Reddi et al. take it of
``v`` with no correction; with ``bias_correction=False`` we do the same).

One module per topic, every public name re-exported here:

- :mod:`~optlab.adaptive.adagrad_rmsprop`: AdaGrad, AdaGrad-Norm, RMSProp;
- :mod:`~optlab.adaptive.adam_family`: Adam, AdamW, AMSGrad;
- :mod:`~optlab.adaptive.parameter_free`: DoG;
- :mod:`~optlab.adaptive.sign_momentum`: Lion;
- :mod:`~optlab.adaptive.norm_geometry`: LMOs, dual norms, steepest descent;
- :mod:`~optlab.adaptive.reddi`: Reddi et al.'s online problem.
"""

from __future__ import annotations

from .adagrad_rmsprop import (
    AdaGradNormState,
    AdaGradState,
    RMSPropState,
    adagrad,
    adagrad_norm,
    rmsprop,
)
from .adam_family import (
    AdamState,
    adam,
    adamw,
    amsgrad,
)
from .norm_geometry import (
    dual_norm,
    lmo,
    steepest_descent,
)
from .parameter_free import (
    DoGState,
    dog,
)
from .reddi import (
    OnlineTrace,
    reddi_online,
)
from .sign_momentum import (
    LionState,
    lion,
)

__all__ = [
    "adagrad",
    "adagrad_norm",
    "rmsprop",
    "adam",
    "adamw",
    "amsgrad",
    "dog",
    "lion",
    "steepest_descent",
    "lmo",
    "dual_norm",
    "reddi_online",
    "OnlineTrace",
    "AdaGradState",
    "AdaGradNormState",
    "RMSPropState",
    "AdamState",
    "DoGState",
    "LionState",
]
