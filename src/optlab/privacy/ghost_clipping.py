"""Ghost clipping / book-keeping: per-example gradient norms of an MLP without per-example
gradients (chapter 17)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from .._checks import (
    as_float_array,
    require_callable,
    require_key,
)
from .._types import Array, Float, PRNGKeyArray
from ..lipschitz._common import ACTIVATIONS, _check_activation, _check_params
from ._common import _check_batch, _check_clip, _jax_scalar
from .clipping import _noised_mean

# ---------------------------------------------------------------------------
# Book-keeping / ghost clipping: per-example norms without per-example gradients
# ---------------------------------------------------------------------------


class GhostClipResult(NamedTuple):
    """Result of :func:`ghost_clip`.

    Attributes:
      clipped_sum: ``Σ_i clip_C(g_i)``, a list of ``(W, b)`` pairs shaped like the network.
      norms: the per-example gradient norms ``‖g_i‖``, shape ``(batch,)``.
      factors: the clip factors ``min(1, C/‖g_i‖)`` (1 for a zero gradient).
    """

    clipped_sum: list
    norms: Float[Array, " batch"]
    factors: Array


#: Result types that are reports, not runs of an iterative method (library contract).
_NOT_A_RUN = {
    "GhostClipResult": "one clipped sum of per-example gradients and the norms behind it; "
    "nothing is iterated, so there is no final point",
}


def _check_ghost(output_loss, params, batch, activation):
    """Validation shared by the ghost-clipping functions; returns ``(params, inputs, targets)``."""
    require_callable("output_loss", output_loss)
    params = _check_params(params)
    _check_activation(activation)
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"batch must be a pair (inputs, targets), got {type(batch).__name__}")
    inputs = as_float_array("batch[0] (inputs)", batch[0])
    d_in = params[0][0].shape[1]
    if inputs.ndim not in (2, 3) or inputs.shape[-1] != d_in:
        raise ValueError(
            f"batch[0] (inputs) must have shape (batch, {d_in}) or (batch, T, {d_in}) "
            f"(the network has {d_in} inputs), got {tuple(inputs.shape)}"
        )
    n = _check_batch("batch", (inputs, batch[1]))
    del n
    return params, inputs, batch[1]


# region: privacy-ghost-norms
def _ghost_pass(output_loss, activation, params, inputs, targets):
    """One forward and one backward pass of Σ_i ℓ_i: per layer the inputs ``a`` (B, T, in)
    and the output gradients ``g = ∂ℓ_i/∂z_i`` (B, T, out), and the squared norms."""
    sig = ACTIVATIONS[activation]
    seq = inputs.ndim == 3
    x = inputs if seq else inputs[:, None, :]  # (B, T, in), T = 1 for plain inputs
    bsize, steps = x.shape[0], x.shape[1]
    hi = jax.lax.Precision.HIGHEST

    def total(zeros):
        h, acts = x, []
        for layer, ((W, b), e) in enumerate(zip(params, zeros, strict=True)):
            acts.append(h)
            z = jnp.einsum("bti,oi->bto", h, W, precision=hi) + b + e  # e = 0: ∂/∂e = ∂ℓ/∂z
            h = sig(z) if layer < len(params) - 1 else z
        out = h if seq else h[:, 0, :]
        return jnp.sum(jax.vmap(output_loss)(out, targets)), acts

    zeros = [jnp.zeros((bsize, steps, W.shape[0]), x.dtype) for W, _ in params]
    grads, acts = jax.grad(total, has_aux=True)(zeros)
    sq = jnp.zeros(bsize, x.dtype)
    for a, g in zip(acts, grads, strict=True):
        # ‖Σ_t g_t a_tᵀ‖_F² = ⟨G Gᵀ, A Aᵀ⟩ (T × T Gram matrices; ‖g‖²‖a‖² when T = 1)
        gram_g = jnp.einsum("bto,bso->bts", g, g, precision=hi)
        gram_a = jnp.einsum("bti,bsi->bts", a, a, precision=hi)
        sq = sq + jnp.sum(gram_g * gram_a, axis=(1, 2)) + jnp.sum(jnp.sum(g, axis=1) ** 2, axis=1)
    return acts, grads, jnp.sqrt(sq)


def _ghost_norms(output_loss, activation, params, inputs, targets):
    return _ghost_pass(output_loss, activation, params, inputs, targets)[2]


def _ghost_clip(output_loss, activation, params, inputs, targets, clip_norm):
    acts, grads, norms = _ghost_pass(output_loss, activation, params, inputs, targets)
    c = jnp.minimum(1.0, clip_norm / jnp.maximum(norms, jnp.finfo(norms.dtype).tiny)).astype(norms.dtype)
    hi = jax.lax.Precision.HIGHEST
    # book-keeping: Σ_i c_i ∇_{W} ℓ_i = Σ_{i,t} c_i g_{i,t} a_{i,t}ᵀ, from the stored a and g
    summed = [
        (jnp.einsum("bto,bti,b->oi", g, a, c, precision=hi), jnp.einsum("bto,b->o", g, c, precision=hi))
        for a, g in zip(acts, grads, strict=True)
    ]
    return GhostClipResult(summed, norms, c)


# endregion: privacy-ghost-norms


def _ghost_step(output_loss, activation, params, inputs, targets, lr, clip_norm, sigma, key):
    summed = _ghost_clip(output_loss, activation, params, inputs, targets, clip_norm).clipped_sum
    noised = _noised_mean(jax.tree_util.tree_leaves(summed), key, clip_norm * sigma, inputs.shape[0])[0]
    noised = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(summed), noised)
    return [(W - lr * gW, b - lr * gb) for (W, b), (gW, gb) in zip(params, noised, strict=True)]


_ghost_norms = jax.jit(_ghost_norms, static_argnums=(0, 1))
_ghost_clip = jax.jit(_ghost_clip, static_argnums=(0, 1))
_ghost_step = jax.jit(_ghost_step, static_argnums=(0, 1))


def ghost_norms(
    output_loss: Callable,
    params: Any,
    batch: tuple[Float[Array, "B *T d_in"], Any],
    *,
    activation: str = "relu",
) -> Float[Array, " B"]:
    r"""Per-example gradient norms ``‖∇_θ ℓ_i‖`` of an MLP without per-example gradients
    (ghost norms: Goodfellow, 2015; Li et al., 2022; book-keeping, Bu et al., 2023).

    The network is ``f = W_L σ(⋯σ(W_1x + b_1)⋯) + b_L`` (as :func:`optlab.lipschitz.mlp_apply`),
    applied to each row of ``x`` (or to each of the ``T`` positions of a sequence) and
    ``ℓ_i = output_loss(f(x_i), y_i)``.  One backward pass of ``Σ_i ℓ_i`` gives, per layer
    ``l``, the inputs ``a_{i,t}`` and the output gradients ``g_{i,t} = ∂ℓ_i/∂z_{i,t}``; then
    ``∇_{W_l} ℓ_i = Σ_t g_{i,t} a_{i,t}ᵀ`` and ``∇_{b_l} ℓ_i = Σ_t g_{i,t}`` give

        ‖∇_θ ℓ_i‖² = Σ_l ⟨G_i G_iᵀ, A_i A_iᵀ⟩ + ‖Σ_t g_{i,t}‖²,

    with the ``T × T`` Gram matrices of the rows of ``G_i`` and ``A_i``; for ``T = 1`` the
    first term is ``‖g_i‖²‖a_i‖²``.  Memory: ``O(B T (d_in + d_out) + B T²)`` per layer
    instead of the ``O(B d_in d_out)`` of the per-example gradients.  Equal to
    :func:`per_example_norms` of :func:`per_example_grads` to rounding.  Compiled once per
    ``output_loss``, ``activation`` and shapes.

    Args:
      output_loss: ``output_loss(out, y) -> scalar``; ``out`` is ``f(x_i)`` of shape
        ``(d_out,)``, or ``(T, d_out)`` for sequences.
      params: a non-empty list of finite ``(W, b)`` pairs whose shapes chain.
      batch: ``(inputs, targets)``: inputs ``(B, d_in)`` or ``(B, T, d_in)``, targets a
        pytree with leading axis ``B ≥ 1``.
      activation: ``"relu"`` or ``"tanh"``.

    Returns:
      ``(B,)`` norms.

    Raises:
      TypeError, ValueError: ``output_loss`` not callable; malformed ``params``; ``batch``
        not a pair, inputs of the wrong shape, non-finite or mismatched batch sizes;
        unknown ``activation``.
    """
    params, inputs, targets = _check_ghost(output_loss, params, batch, activation)
    return _ghost_norms(output_loss, activation, params, inputs, targets)


def ghost_clip(
    output_loss: Callable,
    params: Any,
    batch: Any,
    clip_norm: Float[ArrayLike, ""],
    *,
    activation: str = "relu",
) -> GhostClipResult:
    r"""``Σ_i clip_C(∇_θ ℓ_i)`` for an MLP by book-keeping (Bu et al., 2023): the norms of
    :func:`ghost_norms`, then the weighted sums ``Σ_{i,t} c_i g_{i,t} a_{i,t}ᵀ`` (weights)
    and ``Σ_{i,t} c_i g_{i,t}`` (biases) from the stored ``a`` and ``g`` with
    ``c_i = min(1, C/‖∇_θ ℓ_i‖)``: no per-example gradient and no second backward pass.
    Equal to the sum of :func:`clip_per_example` to rounding.

    Args:
      output_loss, params, batch, activation: as :func:`ghost_norms`.
      clip_norm: ``C > 0``, a scalar (may be traced).

    Returns:
      A :class:`GhostClipResult` (clipped sum, norms, factors).

    Raises:
      TypeError, ValueError: as :func:`ghost_norms`; ``clip_norm`` not a positive finite scalar.
    """
    params, inputs, targets = _check_ghost(output_loss, params, batch, activation)
    clip_norm = _check_clip(clip_norm)
    return _ghost_clip(output_loss, activation, params, inputs, targets, clip_norm)


def ghost_dp_sgd_step(
    output_loss: Callable,
    params: Any,
    batch: Any,
    *,
    learning_rate: Float[ArrayLike, ""],
    clip_norm: Float[ArrayLike, ""],
    noise_multiplier: Float[ArrayLike, ""],
    key: PRNGKeyArray,
    activation: str = "relu",
) -> list[tuple[Float[Array, "out in"], Float[Array, " out"]]]:
    r"""One DP-SGD step ``θ ← θ − η (Σ_i clip_C(g_i) + N(0, σ²C² I)) / B`` (Abadi et al., 2016)
    with the clipped sum of :func:`ghost_clip`.  The noise is drawn exactly as
    :func:`dp_aggregate` draws it from a state holding ``key``, so the step equals
    ``dp_sgd(learning_rate, clip_norm, noise_multiplier, key=key)`` fed the per-example
    gradients, to rounding.

    Args:
      output_loss, params, batch, activation: as :func:`ghost_norms`.
      learning_rate: ``η > 0``.
      clip_norm: ``C > 0``.
      noise_multiplier: ``σ > 0``.
      key: a JAX PRNG key.

    Returns:
      The new parameters, a list of ``(W, b)``.

    Raises:
      TypeError, ValueError: as :func:`ghost_clip`; non-positive ``learning_rate`` or
        ``noise_multiplier``; ``key`` not a PRNG key.
    """
    params, inputs, targets = _check_ghost(output_loss, params, batch, activation)
    lr = _jax_scalar("learning_rate", learning_rate)
    clip_norm = _check_clip(clip_norm)
    sigma = _jax_scalar("noise_multiplier", noise_multiplier)
    require_key("key", key)
    return _ghost_step(output_loss, activation, params, inputs, targets, lr, clip_norm, sigma, key)
