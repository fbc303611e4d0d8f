"""DP-SGD: per-example gradients, per-example clipping and the noised aggregate (chapter 17)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from .._checks import (
    require_callable,
    require_key,
)
from .._types import Array, Float, PRNGKeyArray
from ..first_order import gd
from ._common import _batch_size, _check_batch, _check_clip, _check_per_example, _float_tree, _jax_scalar

# ---------------------------------------------------------------------------
# per-example gradients, clipping and the DP aggregate
# ---------------------------------------------------------------------------


def per_example_grads(loss: Callable, params: Any, batch: Any) -> Any:
    """``g_i = ∇_θ loss(θ, z_i)`` for every example, stacked on a new leading axis.

    Written as ``vmap(grad(loss), in_axes=(None, 0))``; meant to be called inside the
    caller's ``jit`` (a training step), where the checks run once at trace time.

    Args:
      loss: ``loss(params, example) -> scalar``; it sees one example (the leaves of
        ``batch`` without their batch axis).
      params: a non-empty pytree of finite float arrays (integer arrays are converted).
      batch: a pytree of numeric arrays sharing the batch size (≥ 1) on axis 0.

    Returns:
      A pytree like ``params`` with a leading batch axis on every leaf.

    Raises:
      TypeError: ``loss`` not callable; non-numeric leaves.
      ValueError: empty ``params``; NaN/inf; scalar leaves, mismatched or empty batch.
    """
    require_callable("loss", loss)
    params = _float_tree("params", params)
    _check_batch("batch", batch)
    return jax.vmap(jax.grad(loss), in_axes=(None, 0))(params, batch)


def per_example_norms(grads: Any) -> Float[Array, " batch"]:
    """Global ℓ2 norm ``‖g_i‖`` over all leaves, for each example.

    Args:
      grads: per-example gradients, leaves ``(batch, ...)`` (finite, batch ≥ 1).

    Returns:
      ``(batch,)`` norms.

    Raises:
      TypeError, ValueError: non-numeric or non-finite leaves, no batch axis,
        mismatched or empty batch.
    """
    return _norms(_check_per_example("grads", grads))


def _norms(grads):
    sq = [jnp.sum(jnp.reshape(g, (g.shape[0], -1)) ** 2, axis=1) for g in jax.tree_util.tree_leaves(grads)]
    return jnp.sqrt(sum(sq))


def clip_per_example(grads: Any, clip_norm: Float[ArrayLike, ""]) -> tuple[Any, Float[Array, " batch"]]:
    """``clip_C(g_i) = g_i · min(1, C/‖g_i‖)`` for each example.

    Args:
      grads: per-example gradients, as :func:`per_example_norms`.
      clip_norm: ``C > 0``, a scalar (may be traced).

    Returns:
      The clipped per-example gradients and the factors ``min(1, C/‖g_i‖)`` (1 for a
      zero gradient).

    Raises:
      TypeError, ValueError: as :func:`per_example_norms`; ``clip_norm`` not a positive
        finite scalar.
    """
    clip_norm = _check_clip(clip_norm)
    return _clip(_check_per_example("grads", grads), clip_norm)


def _clip(grads, clip_norm):
    norms = _norms(grads)
    factor = jnp.minimum(1.0, clip_norm / jnp.maximum(norms, jnp.finfo(norms.dtype).tiny))
    clipped = jax.tree_util.tree_map(
        lambda g: g * jnp.reshape(factor, (-1,) + (1,) * (g.ndim - 1)).astype(g.dtype), grads
    )
    return clipped, factor


def _noised_mean(sums, key, std, bsize):
    """``(s + N(0, std² I)) / bsize`` for each summed leaf, the key split as optax.contrib's
    DP aggregate splits it; returns the noised leaves and the next key."""
    new_key, *keys = jax.random.split(key, len(sums) + 1)
    noised = [
        (s + (std * jax.random.normal(k, s.shape, s.dtype)).astype(s.dtype)) / bsize
        for s, k in zip(sums, keys, strict=True)
    ]
    return noised, new_key


class DPAggregateState(NamedTuple):
    """State of :func:`dp_aggregate`.

    Attributes:
      key: the PRNG key for the next step's noise.
    """

    key: PRNGKeyArray


def dp_aggregate(
    clip_norm: Float[ArrayLike, ""],
    noise_multiplier: Float[ArrayLike, ""],
    *,
    key: PRNGKeyArray,
    clip: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """DP-SGD's private mean of per-example gradients (input leaves ``(batch, ...)``):
    ``(Σ_i clip_C(g_i) + N(0, σ²C² I)) / batch``.

    ``clip=False`` skips clipping: use it only when ``C`` is a *proven* bound on every
    per-example gradient norm (e.g. :func:`mlp_grad_bound` for a Lipschitz network,
    Béthune et al. 2024); the guarantee is then only as good as the bound.  The noise
    key is split exactly like :func:`optax.contrib.differentially_private_aggregate`.

    Args:
      clip_norm: ``C > 0``.
      noise_multiplier: ``σ > 0`` (noise std / C).
      key: a JAX PRNG key (``jax.random.key(seed)``), not an integer seed.
      clip: clip per-example gradients (True) or trust ``C`` as a bound (False).

    Returns:
      An optax transformation; its ``update`` checks the per-example ``updates`` like
      :func:`per_example_norms`.

    Raises:
      TypeError, ValueError: non-positive or non-scalar ``clip_norm``/``noise_multiplier``,
        ``key`` not a PRNG key, ``clip`` not a bool.
    """
    clip_norm = _check_clip(clip_norm)
    noise_multiplier = _jax_scalar("noise_multiplier", noise_multiplier)
    require_key("key", key)
    if not isinstance(clip, (bool, np.bool_)):
        raise TypeError(f"clip must be True or False, got {clip!r}")

    def init(params):
        del params
        return DPAggregateState(key=key)

    def update(updates, state, params=None, **extra):
        del params, extra
        updates = _check_per_example("updates", updates)
        bsize = _batch_size(updates, "updates")
        clipped = _clip(updates, clip_norm)[0] if clip else updates
        leaves, treedef = jax.tree_util.tree_flatten(clipped)
        sums = [jnp.sum(g, axis=0) for g in leaves]
        noised, new_key = _noised_mean(sums, state.key, clip_norm * noise_multiplier, bsize)
        return jax.tree_util.tree_unflatten(treedef, noised), DPAggregateState(key=new_key)

    return optax.GradientTransformationExtraArgs(init, update)


def dp_sgd(
    learning_rate: Any,
    clip_norm: Float[ArrayLike, ""],
    noise_multiplier: Float[ArrayLike, ""],
    *,
    key: PRNGKeyArray,
    clip: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """DP-SGD (Abadi et al., 2016): :func:`dp_aggregate` then a gradient step
    ``θ ← θ − η g̃``.  Feed it per-example gradients (:func:`per_example_grads`).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      clip_norm, noise_multiplier, key, clip: as :func:`dp_aggregate`.

    Returns:
      An optax transformation.

    Raises:
      TypeError, ValueError: as :func:`dp_aggregate`; a non-positive ``learning_rate``.
    """
    return optax.chain(dp_aggregate(clip_norm, noise_multiplier, key=key, clip=clip), gd(learning_rate))
