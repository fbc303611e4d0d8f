"""Noise-adaptive layerwise learning rates for geometry-aware (LMO) updates (chapter 5):
after the noise-adaptive layerwise rates (LANTON) of Hao et al. (2025), on top of Muon's
spectral-norm LMO. The rule's exact form is this implementation's, following the paper's
description; it has not been checked against the paper's algorithm."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import _checks
from .._types import Array, Float, Int
from ._common import _check_learning_rate, _check_transformation, _in_range, _nonnegative, _positive
from .preconditioners import MUON_COEFFS, _require_2d_tree, _scale_by_width, scale_by_muon

__all__ = [
    "LayerwiseNoiseState",
    "noise_adaptive_muon",
    "nuclear_norm",
    "scale_by_layerwise_noise",
]


def nuclear_norm(G: Float[Array, "m n"]) -> Float[Array, ""]:
    """``‖G‖_* = Σᵢ σᵢ(G)``, the dual of the spectral norm (the norm of Muon's LMO).

    Args:
      G: a matrix, shape ``(m, n)`` (lists and integers converted).

    Returns:
      The sum of the singular values of ``G``, a scalar.

    Raises:
      TypeError: ``G`` not numeric.
      ValueError: ``G`` not a non-empty 2-D array, or not finite.
    """
    G = _checks.as_float_array("G", G, ndim=2)
    if 0 in G.shape:
        raise ValueError(f"G must be a non-empty 2-D array, got shape {G.shape}")
    return _nuclear(G)


def _nuclear(G: Array) -> Array:
    return jnp.sum(jnp.linalg.svd(G, compute_uv=False))


class LayerwiseNoiseState(NamedTuple):
    """State of :func:`scale_by_layerwise_noise`.

    Attributes:
      count: steps taken ``t``.
      prev_grads: the previous stochastic gradient ``G_{t−1}`` (pytree like the params).
      noise: ``H_t``, one entry per layer (leaf): the moving average of
        ``½‖G_t − G_{t−1}‖_*²``, shape ``(L,)``.
      rates: the last step's learning-rate factors ``η_t^ℓ/η`` in (0, 1], shape ``(L,)``.
      inner: the state of the LMO direction.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # a field named like tuple.count
    prev_grads: Any
    noise: Float[Array, " L"]
    rates: Float[Array, " L"]
    inner: Any


def _check_groups(groups: Any) -> np.ndarray | None:
    if groups is None:
        return None
    if isinstance(groups, jax.core.Tracer):
        raise TypeError("groups must be concrete integers, not traced")
    if isinstance(groups, (str, bytes)) or not isinstance(groups, (Sequence, np.ndarray)):
        raise TypeError(f"groups must be a sequence of integers (one per layer), got {type(groups).__name__}")
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"groups must be a non-empty 1-D sequence of integers, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        raise TypeError(f"groups must hold integers, got dtype {arr.dtype}")
    if arr.min() < 0:
        raise ValueError(f"groups must be non-negative integers, got {arr.tolist()}")
    return arr.astype(np.int32)


def scale_by_layerwise_noise(
    inner: optax.GradientTransformation,
    beta2: float = 0.9,
    noise_floor: float = 1e-3,
    groups: Sequence[int] | None = None,
) -> optax.GradientTransformation:
    """Noise-adaptive layerwise learning-rate factors (after Hao et al. 2025) around an
    LMO direction ``inner`` (e.g. :func:`scale_by_muon`) for 2-D weights.

    Each layer ``ℓ`` (a leaf) estimates its gradient noise in the dual norm of the
    spectral LMO, the nuclear norm, from two consecutive stochastic gradients,
    ``H_t^ℓ = β₂H_{t−1}^ℓ + (1−β₂)·½‖G_t^ℓ − G_{t−1}^ℓ‖_*²`` (``t ≥ 2``, bias-corrected as
    ``Ĥ_t^ℓ = H_t^ℓ/(1−β₂^{t−1})``; ``Ĥ_1 = 0``), and scales the LMO direction by

        ``r_t^ℓ = √((α² + min_{j∈g(ℓ)} Ĥ_t^j) / (α² + Ĥ_t^ℓ))  ∈ (0, 1]``,

    with ``α`` = ``noise_floor`` and ``g(ℓ)`` the group of layer ``ℓ``: within a group the
    quietest layer keeps the base learning rate and a layer with ``k²`` times more noise
    is slowed by about ``1/k``.  ``inner`` receives the raw gradients; the factors multiply
    its output leaf by leaf.  The paper's idea is the dual-norm noise estimate and
    per-layer rates within a group; the consecutive-difference estimator, the factor ½
    and the normalisation by the quietest layer are this implementation's choices.

    Args:
      inner: the direction, an ``optax.GradientTransformation`` on the same pytree of
        2-D weights (for Muon: ``optax.chain(scale_by_muon(), ...)``).
      beta2: ``β₂`` in [0, 1), the averaging of the noise estimate.
      noise_floor: ``α > 0``, the noise level below which layers are not told apart.
      groups: one non-negative integer per leaf (``jax.tree.leaves`` order) naming its
        group; layers share a base rate within a group.  ``None``: one group.

    Returns:
      An ``optax.GradientTransformation`` with a :class:`LayerwiseNoiseState`; the last
      factors are ``state.rates``.

    Raises:
      TypeError: ``inner`` not a transformation, ``groups`` not integers, a non-numeric
        hyper-parameter.
      ValueError: ``beta2`` outside [0, 1), ``noise_floor <= 0``, negative ``groups``; at
        ``init``, leaves that are not 2-D or a ``groups`` length that is not one per leaf;
        at ``update``, non-finite or non-2-D gradients.
    """
    _check_transformation("inner", inner)
    _in_range("beta2", beta2, 0.0, 1.0, high_inclusive=False)
    _positive("noise_floor", noise_floor)
    group_ids = _check_groups(groups)

    def _groups_for(n_leaves):
        if group_ids is None:
            return np.zeros(n_leaves, np.int32)
        if group_ids.size != n_leaves:
            raise ValueError(f"groups must have one entry per leaf ({n_leaves}), got {group_ids.size}")
        return group_ids

    def init_fn(params):
        _require_2d_tree("params", params)
        leaves = jax.tree.leaves(params)
        _groups_for(len(leaves))
        dtype = jax.dtypes.canonicalize_dtype(jnp.result_type(*leaves))
        return LayerwiseNoiseState(
            jnp.zeros([], jnp.int32),
            jax.tree.map(jnp.zeros_like, params),
            jnp.zeros(len(leaves), dtype),
            jnp.ones(len(leaves), dtype),
            inner.init(params),
        )

    def update_fn(updates, state, params=None):
        _require_2d_tree("updates", updates)
        _checks.require_finite("updates", updates)
        leaves, treedef = jax.tree.flatten(updates)
        gid = _groups_for(len(leaves))
        prev = jax.tree.leaves(state.prev_grads)
        dtype = state.noise.dtype
        sample = jnp.stack([0.5 * _nuclear(g - p) ** 2 for g, p in zip(leaves, prev, strict=True)]).astype(
            dtype
        )
        first = state.count == 0
        noise = jnp.where(first, state.noise, beta2 * state.noise + (1 - beta2) * sample)
        n_samples = jnp.maximum(state.count, 1).astype(dtype)  # noise samples so far: t − 1
        noise_hat = jnp.where(first, 0.0, noise / (1 - jnp.asarray(beta2, dtype) ** n_samples))
        floor2 = jnp.asarray(noise_floor, dtype) ** 2
        quietest = jax.ops.segment_min(noise_hat, jnp.asarray(gid), num_segments=int(gid.max()) + 1)
        quiet = quietest[gid]
        # the quietest layer of each group keeps exactly the base rate (XLA may round the ratio)
        rates = jnp.where(noise_hat <= quiet, 1.0, jnp.sqrt((floor2 + quiet) / (floor2 + noise_hat)))
        directions, inner_state = inner.update(updates, state.inner, params)
        dir_leaves = jax.tree.leaves(directions)
        out = [rates[i].astype(jax.dtypes.canonicalize_dtype(u.dtype)) * u for i, u in enumerate(dir_leaves)]
        new_state = LayerwiseNoiseState(state.count + 1, updates, noise, rates, inner_state)
        return jax.tree.unflatten(treedef, out), new_state

    return optax.GradientTransformation(init_fn, update_fn)


def noise_adaptive_muon(
    learning_rate: float | Callable[[Array], Array],
    beta: float = 0.95,
    beta2: float = 0.9,
    noise_floor: float = 1e-3,
    groups: Sequence[int] | None = None,
    *,
    ns_steps: int = 5,
    ns_coeffs: Sequence[float] = MUON_COEFFS,
    nesterov: bool = True,
    weight_decay: float = 0.0,
) -> optax.GradientTransformation:
    """Noise-adaptive layerwise rates on Muon (after Hao et al. 2025): :func:`muon` whose
    per-layer learning rates are set by :func:`scale_by_layerwise_noise`, ``W^ℓ ← W^ℓ − η·r_t^ℓ·LMO(B_t^ℓ)``.

    With ``r_t^ℓ ≡ 1`` (every layer equally noisy) this is exactly :func:`muon`.

    Args:
      learning_rate: the base rate ``η > 0`` of a group, or an optax schedule.
      beta: Muon's momentum ``β`` in [0, 1).
      beta2: ``β₂`` in [0, 1), the averaging of the noise estimate.
      noise_floor: ``α > 0`` (see :func:`scale_by_layerwise_noise`).
      groups: one group id per leaf, or ``None`` for one group.
      ns_steps: Newton–Schulz iterations, ``>= 0``.
      ns_coeffs: the Newton–Schulz coefficients ``(a, b, c)``.
      nesterov: Nesterov momentum (see :func:`scale_by_muon`).
      weight_decay: decoupled weight decay ``>= 0``.

    Returns:
      An ``optax.GradientTransformation`` (a chain whose first state is a
      :class:`LayerwiseNoiseState`).

    Raises:
      TypeError, ValueError: a non-positive ``learning_rate`` (when not a schedule), a
        negative ``weight_decay``, and the errors of :func:`scale_by_muon` and
        :func:`scale_by_layerwise_noise`.
    """
    _check_learning_rate(learning_rate)
    _nonnegative("weight_decay", weight_decay)
    direction = optax.chain(scale_by_muon(beta, ns_steps, ns_coeffs, nesterov=nesterov), _scale_by_width())
    return optax.chain(
        scale_by_layerwise_noise(direction, beta2, noise_floor, groups),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )
