"""DP without clipping: per-sample gradient bounds of Lipschitz networks (chapter 17)."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    require_int,
    require_nonnegative,
)
from .._types import Array, Float
from ..lipschitz._common import _check_params
from ..lipschitz.norms import _gram
from ._common import _jax_scalar

# ---------------------------------------------------------------------------
# DP without clipping: per-sample gradient bounds of Lipschitz networks
# ---------------------------------------------------------------------------


def param_grad_bound(
    layer_norms: Float[ArrayLike, " L"],
    bias_norms: Float[ArrayLike, " L"],
    x_norms: Float[ArrayLike, "*N"],
    *,
    loss_lipschitz: Float[ArrayLike, ""] = 1.0,
) -> Float[Array, "*N"]:
    r"""Bound on ‖∇_θ ℓ(f_θ(x), y)‖ for an MLP ``f = W_L σ(⋯σ(W_1x + b_1)⋯) + b_L``
    with ``σ(0) = 0`` and σ 1-Lipschitz (ReLU, tanh), given ``‖W_l‖₂ ≤ s_l``,
    ``‖b_l‖ ≤ β_l`` and a loss that is ``G``-Lipschitz (ℓ2) in the logits.

    With ``H_0 = ‖x‖``, ``H_l = s_l H_{l−1} + β_l`` (a bound on the layer-``l`` input of the
    next layer) and ``D_l = G ∏_{k>l} s_k`` (a bound on ‖∂ℓ/∂z_l‖), each weight gradient
    is the rank-one ``δ_l h_{l−1}ᵀ``, so

        ‖∇_θ ℓ‖² ≤ Σ_l D_l² (H_{l−1}² + 1)

    (Béthune et al., 2024: the parameter-Lipschitz constant from input-Lipschitz ones).
    Tracer-safe (usable inside ``jit``).

    Args:
      layer_norms: ``(s_1, …, s_L)``, non-negative, L ≥ 1.
      bias_norms: ``(β_1, …, β_L)``, non-negative, same length.
      x_norms: ``‖x‖ ≥ 0``, a scalar or an array (one bound per example).
      loss_lipschitz: ``G > 0``.

    Returns:
      The bound, shaped like ``x_norms``.

    Raises:
      TypeError, ValueError: non-numeric, negative or non-finite entries; empty or
        unequal ``layer_norms``/``bias_norms``; non-positive ``loss_lipschitz``.
    """
    s = as_float_array("layer_norms", layer_norms, ndim=1)
    b = as_float_array("bias_norms", bias_norms, ndim=1)
    if s.shape[0] == 0:
        raise ValueError("layer_norms must be non-empty (one entry per layer)")
    if s.shape != b.shape:
        raise ValueError(
            f"layer_norms and bias_norms must be non-empty and of equal length, "
            f"got {s.shape[0]} and {b.shape[0]}"
        )
    require_nonnegative("layer_norms", s)
    require_nonnegative("bias_norms", b)
    H = as_float_array("x_norms", x_norms)
    require_nonnegative("x_norms", H)
    G = _jax_scalar("loss_lipschitz", loss_lipschitz)
    dtype = jnp.result_type(s, b, H, G)
    s, b, H, G = (v.astype(dtype) for v in (s, b, H, G))
    # D_l = G ∏_{k>l} s_k: suffix products
    suffix = jnp.concatenate([jnp.cumprod(s[::-1])[::-1][1:], jnp.ones(1, dtype)])
    total = jnp.zeros_like(H)
    for layer in range(s.shape[0]):  # layer l of the docstring
        total = total + (G * suffix[layer]) ** 2 * (H**2 + 1.0)
        H = s[layer] * H + b[layer]
    return jnp.sqrt(total)


def mlp_grad_bound(
    params: Any,
    x_norms: Float[ArrayLike, "*N"],
    *,
    loss_lipschitz: Float[ArrayLike, ""] = 1.0,
    num_steps: int = 10,
) -> Float[Array, "*N"]:
    """:func:`param_grad_bound` at the current weights of an ``optlab.lipschitz`` MLP
    (list of ``(W, b)``), each ``‖W_l‖₂`` replaced by its Gram-iteration UPPER bound
    (:func:`optlab.lipschitz.gram_iteration`), so the result is a guaranteed bound.
    Tracer-safe.

    Args:
      params: a non-empty list of finite ``(W, b)`` pairs whose shapes chain.
      x_norms, loss_lipschitz: as :func:`param_grad_bound`.
      num_steps: Gram steps ≥ 0.

    Returns:
      The bound, shaped like ``x_norms``.

    Raises:
      TypeError, ValueError: malformed ``params``; as :func:`param_grad_bound`.
    """
    params = _check_params(params)
    require_int("num_steps", num_steps, minimum=0)
    s = jnp.stack([_gram(W, num_steps).sigma for W, _ in params])
    b = jnp.stack([jnp.linalg.norm(bb) for _, bb in params])
    return param_grad_bound(s, b, x_norms, loss_lipschitz=loss_lipschitz)


def project_mlp(
    params: Any,
    max_norm: Float[ArrayLike, ""] = 1.0,
    max_bias: Float[ArrayLike, ""] = 1.0,
    *,
    num_steps: int = 8,
) -> list[tuple[Float[Array, "out in"], Float[Array, " out"]]]:
    """Project an MLP onto ``{‖W_l‖₂ ≤ max_norm, ‖b_l‖ ≤ max_bias}``: ``W ← W / max(1, β/max_norm)``
    with β the Gram-iteration UPPER bound on ‖W‖₂, ``b ← b · min(1, max_bias/‖b‖)``.
    A post-processing step, so it costs no privacy; jit-able.

    Args:
      params: a non-empty list of finite ``(W, b)`` pairs whose shapes chain.
      max_norm: ``> 0``.
      max_bias: ``≥ 0``.
      num_steps: Gram steps ≥ 0.

    Returns:
      The projected parameters, a list of ``(W, b)``.

    Raises:
      TypeError, ValueError: malformed ``params``; bad ``max_norm``, ``max_bias`` or ``num_steps``.
    """
    params = _check_params(params)
    max_norm = _jax_scalar("max_norm", max_norm)
    max_bias = _jax_scalar("max_bias", max_bias, positive=False)
    require_int("num_steps", num_steps, minimum=0)
    out = []
    for W, b in params:
        beta = _gram(W, num_steps).sigma
        W = W / jnp.maximum(1.0, beta / max_norm)
        nb = jnp.linalg.norm(b)
        b = b * jnp.minimum(1.0, max_bias / jnp.maximum(nb, jnp.finfo(b.dtype).tiny))
        out.append((W, b))
    return out
