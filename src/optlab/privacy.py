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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike
from scipy import special

from ._checks import (
    as_float_array,
    require_callable,
    require_in_range,
    require_int,
    require_key,
    require_nonnegative,
    require_positive,
)
from ._types import Array, Float, Int, PRNGKeyArray
from .first_order import gd
from .lipschitz._common import ACTIVATIONS, _check_activation, _check_params
from .lipschitz.norms import _gram

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

#: Integer Rényi orders used by default (2 … 64, then a coarse grid up to 256).
DEFAULT_ORDERS: tuple[int, ...] = tuple(range(2, 65)) + (80, 96, 112, 128, 160, 192, 224, 256)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
#
# Two kinds of arguments.  JAX-side ones (gradients, parameters, clip norms inside a
# training step) follow the library's policy: ``as_float_array`` converts lists and
# integer arrays, refuses strings/None/complex, and value checks are skipped on tracers.
# Host-side ones (the accountant: σ, q, δ, orders, ε) are plain float64 NumPy numbers:
# they must be concrete, and are converted with ``_host_scalar`` / ``_host_numpy``
# (private helpers: ``as_float_array`` would round them to float32 outside x64).


def _host_numpy(name: str, x: Any) -> np.ndarray:
    """``x`` as a real NumPy array (any dtype), or a TypeError naming ``name``."""
    if isinstance(x, jax.core.Tracer):
        raise TypeError(
            f"{name} must be a concrete number, not a traced value: the privacy accountant "
            "runs in float64 on the host, outside jit/vmap/grad"
        )
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be numeric, got {type(x).__name__}")
    try:
        arr = np.asarray(jax.device_get(x))
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must be real-numeric, got dtype {arr.dtype}")
    return arr


def _host_scalar(name: str, x: Any) -> float:
    """A concrete real scalar as a Python float (range checks follow)."""
    arr = _host_numpy(name, x)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def _host_positive(name: str, x: Any) -> float:
    v = _host_scalar(name, x)
    require_positive(name, v)
    return v


def _check_noise(noise_multiplier: Any) -> float:
    return _host_positive("noise_multiplier", noise_multiplier)


def _check_q(sampling_rate: Any) -> float:
    q = _host_scalar("sampling_rate", sampling_rate)
    require_in_range("sampling_rate", q, 0.0, 1.0, low_inclusive=False)
    return q


def _check_delta(delta: Any) -> float:
    d = _host_scalar("delta", delta)
    require_in_range("delta", d, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    return d


def _check_orders(orders: Any) -> np.ndarray:
    try:
        arr = _host_numpy("orders", orders)
    except TypeError as err:
        raise TypeError(f"orders must be a non-empty 1-D sequence of integers >= 2: {err}") from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"orders must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)) or np.any(arr < 2):
        raise ValueError(f"orders must be integers >= 2, got {arr.tolist()!r}")
    return arr.astype(np.int64)


def _jax_scalar(name: str, x: Any, *, positive: bool = True) -> Array:
    """A (possibly traced) real scalar, positive or non-negative when concrete."""
    v = as_float_array(name, x, ndim=0)
    (require_positive if positive else require_nonnegative)(name, v)
    return v


def _check_clip(clip_norm: Any) -> Array:
    return _jax_scalar("clip_norm", clip_norm)


def _float_tree(name: str, tree: Any) -> Any:
    """A non-empty pytree of finite float arrays (lists/ints converted, leaf named on error)."""
    leaves, treedef = jax.tree_util.tree_flatten_with_path(tree)
    if not leaves:
        raise ValueError(f"{name} must be a non-empty pytree of arrays, got {tree!r}")
    out = [as_float_array(f"{name}{jax.tree_util.keystr(path)}", leaf) for path, leaf in leaves]
    return jax.tree_util.tree_unflatten(treedef, out)


def _check_batch(name: str, tree: Any) -> int:
    """A pytree of numeric arrays sharing a leading batch axis of size ≥ 1 (leaves keep
    their dtype: integer labels may be indices); NaN/inf refused when concrete."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        where = f"{name}{jax.tree_util.keystr(path)}"
        if isinstance(leaf, jax.core.Tracer):
            continue
        if leaf is None or isinstance(leaf, (str, bytes)):
            raise TypeError(f"{where} must be a numeric array, got {type(leaf).__name__}")
        arr = np.asarray(jax.device_get(leaf))
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"{where} must be numeric, got dtype {arr.dtype}")
        if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
            raise ValueError(f"{where} contains NaN or infinite values")
    return _batch_size(tree, name)


def _batch_size(grads: Any, name: str = "grads") -> int:
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        raise ValueError(f"{name} must be a non-empty pytree of arrays, got {grads!r}")
    shapes = [jnp.shape(leaf) for leaf in leaves]
    if any(len(s) == 0 for s in shapes):
        raise ValueError(f"every leaf of {name} needs a leading batch axis, got a scalar leaf")
    sizes = {s[0] for s in shapes}
    if len(sizes) != 1:
        raise ValueError(f"every leaf of {name} must have the same batch size (axis 0), got {sorted(sizes)}")
    size = sizes.pop()
    if size == 0:
        raise ValueError(f"{name} must hold at least one example, got a batch axis of size 0")
    return size


def _check_per_example(name: str, grads: Any) -> Any:
    grads = _float_tree(name, grads)
    _batch_size(grads, name)
    return grads


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


# ---------------------------------------------------------------------------
# RDP accountant (float64 NumPy on the host)
# ---------------------------------------------------------------------------


def rdp_gaussian(
    noise_multiplier: float, orders: Sequence[int] | Int[np.ndarray, " n_orders"] = DEFAULT_ORDERS
) -> Float[np.ndarray, " n_orders"]:
    """RDP ``α/(2σ²)`` of one Gaussian mechanism (no subsampling) at each order.

    Args:
      noise_multiplier: ``σ > 0``, a concrete scalar.
      orders: non-empty integers ``α ≥ 2``.

    Returns:
      float64 RDP values, one per order.

    Raises:
      TypeError, ValueError: non-numeric, traced, non-positive or non-finite ``σ``; bad ``orders``.
    """
    s = _check_noise(noise_multiplier)
    a = _check_orders(orders).astype(float)
    return a / (2.0 * s**2)


def rdp_subsampled_gaussian(
    sampling_rate: float,
    noise_multiplier: float,
    orders: Sequence[int] | Int[np.ndarray, " n_orders"] = DEFAULT_ORDERS,
) -> Float[np.ndarray, " n_orders"]:
    """RDP of one step of the Poisson-subsampled Gaussian mechanism at integer orders:
    ``log(A_α)/(α−1)`` with the binomial expansion of Mironov, Talwar & Zhang (2019)
    (``q = 1`` is the plain Gaussian ``α/(2σ²)``).  Float64, log-sum-exp, all orders at
    once (one (orders × (max α + 1)) array).

    Args:
      sampling_rate: ``q ∈ (0, 1]``.
      noise_multiplier: ``σ > 0``.
      orders: non-empty integers ``α ≥ 2``.

    Returns:
      float64 RDP values, one per order.

    Raises:
      TypeError, ValueError: ``q`` outside (0, 1], bad ``σ`` or ``orders``.
    """
    q = _check_q(sampling_rate)
    s = _check_noise(noise_multiplier)
    a = _check_orders(orders)
    if q == 1.0:
        return a.astype(float) / (2.0 * s**2)
    alpha = a.astype(float)[:, None]
    k = np.arange(int(a.max()) + 1, dtype=float)[None, :]
    inside = k <= alpha
    kk = np.where(inside, k, 0.0)  # masked entries are dropped below
    log_terms = (
        special.gammaln(alpha + 1)
        - special.gammaln(kk + 1)
        - special.gammaln(alpha - kk + 1)
        + kk * math.log(q)
        + (alpha - kk) * math.log1p(-q)
        + (kk * kk - kk) / (2.0 * s**2)
    )
    log_terms = np.where(inside, log_terms, -np.inf)
    return special.logsumexp(log_terms, axis=1) / (alpha[:, 0] - 1)


def rdp_to_epsilon(
    orders: Sequence[int] | Int[np.ndarray, " n_orders"],
    rdp: Float[ArrayLike, " n_orders"],
    delta: float,
    *,
    conversion: str = "improved",
) -> tuple[float, int]:
    """Best ``(ε, α)`` for target ``δ`` from RDP values at the given orders.

    ``conversion="improved"``: ``ε = r + log(1−1/α) − log(δα)/(α−1)`` (Balle et al., 2020;
    the bound ``dp_accounting`` uses, including its rule ``ε = 0`` when
    ``δ² + e^{−r} > 1``).  ``"classic"``: ``ε = r + log(1/δ)/(α−1)`` (Mironov, 2017).

    Args:
      orders: non-empty integers ``α ≥ 2``.
      rdp: RDP values ``r ≥ 0`` (``+inf`` allowed), one per order.
      delta: ``δ ∈ (0, 1)``.
      conversion: ``"improved"`` or ``"classic"``.

    Returns:
      ``(ε, α)``: the smallest ε over the orders and the order attaining it.

    Raises:
      TypeError, ValueError: bad ``orders``; ``rdp`` of another shape, negative or NaN;
        ``delta`` outside (0, 1); unknown ``conversion``.
    """
    a = _check_orders(orders)
    r = _host_numpy("rdp", rdp).astype(np.float64)
    if r.shape != a.shape:
        raise ValueError(f"rdp must have the same shape as orders {a.shape}, got {r.shape}")
    if np.any(np.isnan(r)) or np.any(r < 0):
        raise ValueError(f"rdp must be non-negative (and not NaN), got {r.tolist()!r}")
    d = _check_delta(delta)
    if not isinstance(conversion, str) or conversion not in ("improved", "classic"):
        raise ValueError(f"conversion must be 'improved' or 'classic', got {conversion!r}")
    af = a.astype(float)
    with np.errstate(invalid="ignore"):  # r = inf gives ε = inf at that order
        if conversion == "classic":
            eps = r + math.log(1.0 / d) / (af - 1.0)
        else:
            eps = r + np.log1p(-1.0 / af) - np.log(d * af) / (af - 1.0)
            eps = np.where(d**2 + np.expm1(-r) > 0, 0.0, eps)
    i = int(np.argmin(eps))
    return max(0.0, float(eps[i])), int(a[i])


class PrivacySpent(NamedTuple):
    """The privacy spent after ``num_steps`` steps.

    Attributes:
      epsilon: ``ε`` of the ``(ε, δ)`` guarantee.
      delta: ``δ``.
      order: the Rényi order ``α`` attaining ``ε``.
      orders: the Rényi orders tried.
      rdp: the RDP curve: ``ε_RDP(α)`` at each order.
    """

    epsilon: float
    delta: float
    order: int
    orders: np.ndarray
    rdp: np.ndarray


def dp_sgd_privacy(
    noise_multiplier: float,
    sampling_rate: float,
    *,
    num_steps: int,
    delta: float,
    orders: Sequence[int] = DEFAULT_ORDERS,
    conversion: str = "improved",
) -> PrivacySpent:
    """``(ε, δ)`` of ``num_steps`` DP-SGD steps with Poisson sampling rate ``q`` and noise
    multiplier ``σ``: ``num_steps ×`` :func:`rdp_subsampled_gaussian`, then
    :func:`rdp_to_epsilon`.  Full-batch DP-GD is ``sampling_rate=1``.

    Args:
      noise_multiplier: ``σ > 0``.
      sampling_rate: ``q ∈ (0, 1]``.
      num_steps: an integer ``T ≥ 1``.
      delta: ``δ ∈ (0, 1)``.
      orders: non-empty integers ``α ≥ 2``.
      conversion: ``"improved"`` or ``"classic"``.

    Returns:
      A :class:`PrivacySpent`.

    Raises:
      TypeError, ValueError: any argument out of its range, non-numeric or traced.
    """
    _check_noise(noise_multiplier)
    _check_q(sampling_rate)
    require_int("num_steps", num_steps, minimum=1)
    d = _check_delta(delta)
    a = _check_orders(orders)
    if not isinstance(conversion, str) or conversion not in ("improved", "classic"):
        raise ValueError(f"conversion must be 'improved' or 'classic', got {conversion!r}")
    rdp = int(num_steps) * rdp_subsampled_gaussian(sampling_rate, noise_multiplier, a)
    eps, order = rdp_to_epsilon(a, rdp, d, conversion=conversion)
    return PrivacySpent(eps, d, order, a, rdp)


def calibrate_noise(
    target_epsilon: float,
    delta: float,
    sampling_rate: float,
    *,
    num_steps: int,
    orders: Sequence[int] = DEFAULT_ORDERS,
    tol: float = 1e-6,
) -> float:
    """Smallest noise multiplier ``σ`` (to relative tolerance ``tol``) whose DP-SGD run
    satisfies ``ε(σ) ≤ target_epsilon``; bisection on ``log σ`` (ε decreases in σ).

    Args:
      target_epsilon: ``ε > 0``, finite.
      delta, sampling_rate, num_steps, orders: as :func:`dp_sgd_privacy`.
      tol: the bisection's relative stopping tolerance, in ``(0, 1)``.

    Returns:
      σ, with ``ε(σ) ≤ target_epsilon < ε(σ/(1 + tol))``.

    Raises:
      TypeError, ValueError: any argument out of its range; ``target_epsilon`` not
        reachable with ``σ ≤ 1e6``.
    """
    target = _host_positive("target_epsilon", target_epsilon)
    d = _check_delta(delta)
    q = _check_q(sampling_rate)
    require_int("num_steps", num_steps, minimum=1)
    tol = _host_scalar("tol", tol)
    require_in_range("tol", tol, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    a = _check_orders(orders)

    def eps(s):
        return dp_sgd_privacy(s, q, num_steps=num_steps, delta=d, orders=a).epsilon

    lo, hi = 1e-2, 1.0
    while eps(hi) > target:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            raise ValueError(f"target_epsilon={target} is not reachable with sigma <= 1e6")
    while eps(lo) <= target and lo > 1e-6:
        lo /= 2.0
    while hi / lo - 1.0 > tol:
        mid = math.sqrt(lo * hi)
        if eps(mid) <= target:
            hi = mid
        else:
            lo = mid
    return hi


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


# ---------------------------------------------------------------------------
# DIFF2: private gradient differences
# ---------------------------------------------------------------------------


class DIFF2Output(NamedTuple):
    """Result of :func:`diff2`.

    Attributes:
      params: the final parameters ``θ_T``.
      grad_norms_sq: ``‖∇F(θ_t)‖²`` of the full (non-private) objective at every iterate
        ``t = 0 … T``.
      values: ``F(θ_t)``.
    """

    params: Any
    grad_norms_sq: Array
    values: Array


def _tree_norm(t):
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(t)))


def diff2(
    loss: Callable,
    params0: Any,
    batch: Any,
    *,
    key: PRNGKeyArray,
    num_steps: int,
    learning_rate: Float[ArrayLike, ""],
    clip_norm: Float[ArrayLike, ""],
    noise_multiplier_grad: Float[ArrayLike, ""],
    noise_multiplier_diff: Float[ArrayLike, ""],
    smoothness: Float[ArrayLike, ""],
    restart_every: int,
    num_clients: int = 1,
) -> DIFF2Output:
    r"""DIFF2-style private gradient descent (Murata & Suzuki, 2023) on
    ``F(θ) = (1/n) Σ_i loss(θ, z_i)``, the ``n`` examples split over ``num_clients``.

    Every ``restart_every`` rounds (and at ``t = 0``) each client sends its sum of
    clipped per-example gradients plus its share of ``N(0, σ_g²C²)``; the server sets
    ``v_t = (Σ + noise)/n``.  In the other rounds the clients send clipped per-example
    gradient *differences* ``∇ℓ_i(θ_t) − ∇ℓ_i(θ_{t−1})`` with clip level
    ``C_t = smoothness · ‖θ_t − θ_{t−1}‖`` (public: it depends on released iterates
    only; with ``smoothness`` ≥ the per-example smoothness constant nothing is clipped)
    plus noise ``N(0, σ_d²C_t²)``, and ``v_t = v_{t−1} + (Σ + noise)/n``.  Then
    ``θ_{t+1} = θ_t − η v_t``.  ``restart_every = 1`` is DP-GD.  Privacy:
    :func:`diff2_privacy`.  Compiled once per ``loss`` (pass the same function object),
    shapes, ``num_steps`` and ``num_clients``; the scalars are traced.

    Args:
      loss: ``loss(params, example) -> scalar``.
      params0: the start, a non-empty pytree of finite float arrays.
      batch: the ``n`` examples, leaves with a shared leading axis.
      key: a JAX PRNG key.
      num_steps: rounds ``T ≥ 1``.
      learning_rate, clip_norm, noise_multiplier_grad, noise_multiplier_diff, smoothness:
        positive finite scalars.
      restart_every: ``R ≥ 1``.
      num_clients: ``P ≥ 1`` dividing ``n``.

    Returns:
      A :class:`DIFF2Output`.

    Raises:
      TypeError, ValueError: any argument out of its range, malformed or non-finite.
    """
    require_callable("loss", loss)
    require_key("key", key)
    params0 = _float_tree("params0", params0)
    n = _check_batch("batch", batch)
    require_int("num_steps", num_steps, minimum=1)
    require_int("restart_every", restart_every, minimum=1)
    require_int("num_clients", num_clients, minimum=1)
    if n % num_clients:
        raise ValueError(f"the batch size {n} must be divisible by num_clients={num_clients}")
    scalars = [
        _jax_scalar(name, v)
        for name, v in (
            ("learning_rate", learning_rate),
            ("clip_norm", clip_norm),
            ("noise_multiplier_grad", noise_multiplier_grad),
            ("noise_multiplier_diff", noise_multiplier_diff),
            ("smoothness", smoothness),
        )
    ]
    lr, C, sg, sd, beta = scalars
    return _diff2(loss, params0, batch, key, num_steps, lr, C, sg, sd, beta, restart_every, num_clients)


def _diff2(loss, params0, batch, key, num_steps, lr, C, sg, sd, beta, R, P):
    n = jax.tree_util.tree_leaves(batch)[0].shape[0]
    pgrad = jax.vmap(jax.grad(loss), in_axes=(None, 0))
    full_loss = lambda p: jnp.mean(jax.vmap(loss, in_axes=(None, 0))(p, batch))  # noqa: E731
    tmap = jax.tree_util.tree_map

    def clients_noise(k, like, std):
        # each of the P clients adds N(0, std²/P); the server sees their sum
        leaves, td = jax.tree_util.tree_flatten(like)
        ks = jax.random.split(k, len(leaves))
        noise = [
            jnp.sum(jax.random.normal(kk, (P,) + x.shape, x.dtype), 0) * std / jnp.sqrt(P)
            for kk, x in zip(ks, leaves, strict=True)
        ]
        return jax.tree_util.tree_unflatten(td, noise)

    def client_sums(g):
        # per-client sums of per-example terms, then the server's sum over clients
        return tmap(lambda x: jnp.sum(jnp.sum(x.reshape((P, n // P) + x.shape[1:]), 1), 0), g)

    def step(carry, t):
        p, p_prev, v, k = carry
        k, kn = jax.random.split(k)

        def restart(_):
            g, _f = _clip(pgrad(p, batch), C)
            noise = clients_noise(kn, p, sg * C)
            return tmap(lambda s, z: (s + z) / n, client_sums(g), noise)

        def difference(_):
            dg = tmap(lambda a, b: a - b, pgrad(p, batch), pgrad(p_prev, batch))
            Ct = beta * _tree_norm(tmap(lambda a, b: a - b, p, p_prev))
            Ct = jnp.maximum(Ct, jnp.finfo(Ct.dtype).tiny)
            dg, _f = _clip(dg, Ct)
            noise = clients_noise(kn, p, sd * Ct)
            return tmap(lambda vv, s, z: vv + (s + z) / n, v, client_sums(dg), noise)

        v = jax.lax.cond(t % R == 0, restart, difference, None)
        p_new = tmap(lambda a, b: a - lr * b, p, v)
        return (p_new, p, v, k), p_new

    zeros = tmap(jnp.zeros_like, params0)
    (pT, _, _, _), path = jax.lax.scan(step, (params0, params0, zeros, key), jnp.arange(num_steps))
    all_p = tmap(lambda a, b: jnp.concatenate([a[None], b]), params0, path)

    def stats(p):
        val, g = jax.value_and_grad(full_loss)(p)
        return _tree_norm(g) ** 2, val

    gn, fv = jax.lax.map(stats, all_p)
    return DIFF2Output(pT, gn, fv)


_diff2 = jax.jit(_diff2, static_argnums=(0, 4, 11))


def diff2_privacy(
    noise_multiplier_grad: float,
    noise_multiplier_diff: float,
    *,
    num_steps: int,
    restart_every: int,
    delta: float,
    orders: Sequence[int] | Int[np.ndarray, " n_orders"] = DEFAULT_ORDERS,
) -> PrivacySpent:
    """``(ε, δ)`` of :func:`diff2`: every round is a full-batch Gaussian mechanism
    (sensitivity ``C`` resp. ``C_t`` of the released sum), so the RDP is
    ``α/2 · (T_g/σ_g² + T_d/σ_d²)`` with ``T_g = ⌈T/R⌉`` restarts and ``T_d = T − T_g``.

    Args:
      noise_multiplier_grad: ``σ_g > 0`` of the restart rounds.
      noise_multiplier_diff: ``σ_d > 0`` of the difference rounds.
      num_steps: ``T ≥ 1``.
      restart_every: ``R ≥ 1``.
      delta: ``δ ∈ (0, 1)``.
      orders: non-empty integers ``α ≥ 2``.

    Returns:
      A :class:`PrivacySpent`.

    Raises:
      TypeError, ValueError: any argument out of its range, non-numeric or traced.
    """
    sg = _host_positive("noise_multiplier_grad", noise_multiplier_grad)
    sd = _host_positive("noise_multiplier_diff", noise_multiplier_diff)
    require_int("num_steps", num_steps, minimum=1)
    require_int("restart_every", restart_every, minimum=1)
    d = _check_delta(delta)
    a = _check_orders(orders)
    Tg = -(-num_steps // restart_every)
    Td = num_steps - Tg
    rdp = Tg * rdp_gaussian(sg, a) + Td * rdp_gaussian(sd, a)
    eps, order = rdp_to_epsilon(a, rdp, d)
    return PrivacySpent(eps, d, order, a, rdp)
