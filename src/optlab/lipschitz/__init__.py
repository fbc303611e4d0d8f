"""Lipschitz constants of layers and small networks, and Lipschitz-by-construction layers.

Notation (chapter 7): a layer is a matrix ``W`` (or a circular convolution with
kernel ``K`` of shape ``(c_out, c_in, k, k)`` on an ``n × n`` grid); an MLP is a
list ``params = [(W_1, b_1), ..., (W_L, b_L)]`` with ``f(x) = W_L σ(... σ(W_1 x + b_1) ...) + b_L``
and ``σ`` ∈ {relu, tanh} (slope-restricted to [0, 1]).

Every bound on a Lipschitz constant is returned as a :class:`Bound` that says whether
it is a ``LOWER`` bound, an ``UPPER`` bound or ``EXACT``, for which norm and over
which scope. Only ``UPPER`` (or ``EXACT``) bounds can certify robustness.

Arguments follow the library's policy (:func:`optlab._checks.as_float_array`): lists,
integer and NumPy arrays are converted to floating JAX arrays; strings, ``None``,
complex and ragged input, NaN/inf and wrong shapes raise a ``TypeError``/``ValueError``
naming the argument. Every matrix product runs at ``Precision.HIGHEST``: on NVIDIA GPUs
float32 products otherwise run in TF32 (about 3 significant digits), which is enough to
make a computed "upper" bound fall below the true constant.

Papers: Gram iteration (Delattre et al., 2023), LipSDP (Fazlyab et al., 2019) and its
residual/MaxMin extension (Pauli et al., 2024), local bounds by bound propagation
(Shi et al., 2022), sandwich layers (Wang & Manchester, 2023), block reflector
orthogonal layers (Lai et al., 2025), fast bounds for residual blocks (Hu et al., 2023).

The subpackage holds three topics, each a module: :mod:`optlab.lipschitz.norms` (spectral
norms of matrices and convolutions), :mod:`optlab.lipschitz.networks` (bounds on networks and
the certificates they give) and :mod:`optlab.lipschitz.layers` (Lipschitz layers); every
public name is re-exported here.
"""

from .layers import (
    block_reflector,
    cayley,
    gram_normalize,
    gram_normalize_mlp,
    maxmin,
    maxmin_mlp_apply,
    orthogonality_residual,
    sandwich_apply,
    sandwich_as_mlp,
    sandwich_init,
    spectral_normalize,
)
from .networks import (
    _NOT_A_RUN as _NOT_A_RUN,
)
from .networks import (
    BaBResult,
    Bound,
    IntervalResult,
    interval_jacobian_bound,
    jacobian_norms,
    lipschitz_margin_radius,
    lipsdp,
    lipsdp_residual,
    local_linf_bab,
    lower_bound_gradient_ascent,
    lower_bound_sampled,
    mlp_apply,
    mlp_jacobian,
    upper_bound_product,
)
from .norms import (
    SpectralResult,
    conv_apply,
    conv_dense_matrix,
    conv_gram_iteration,
    conv_power_iteration,
    conv_spectral_norm_exact,
    frobenius_bound,
    gram_iteration,
    power_iteration,
    spectral_norm_exact,
)

__all__ = [
    "Bound",
    "SpectralResult",
    "spectral_norm_exact",
    "power_iteration",
    "gram_iteration",
    "frobenius_bound",
    "conv_apply",
    "conv_dense_matrix",
    "conv_spectral_norm_exact",
    "conv_gram_iteration",
    "conv_power_iteration",
    "mlp_apply",
    "mlp_jacobian",
    "jacobian_norms",
    "lower_bound_sampled",
    "lower_bound_gradient_ascent",
    "upper_bound_product",
    "lipsdp",
    "lipsdp_residual",
    "IntervalResult",
    "interval_jacobian_bound",
    "BaBResult",
    "local_linf_bab",
    "spectral_normalize",
    "gram_normalize",
    "cayley",
    "block_reflector",
    "orthogonality_residual",
    "maxmin",
    "sandwich_init",
    "sandwich_apply",
    "sandwich_as_mlp",
    "gram_normalize_mlp",
    "maxmin_mlp_apply",
    "lipschitz_margin_radius",
]
