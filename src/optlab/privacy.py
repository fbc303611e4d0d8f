r"""Differentially private optimization: DP-SGD with per-example clipping, an RDP
accountant for the Poisson-subsampled Gaussian mechanism, per-sample gradient bounds
of Lipschitz networks (DP without clipping) and DIFF2 (private gradient differences).

Notation (chapter 17).  A dataset of ``n`` examples, per-example loss ``ℓ(θ; z_i)``,
per-example gradient ``g_i = ∇_θ ℓ(θ; z_i)``, clip norm ``C``, noise multiplier ``σ``
(the noise std divided by the ℓ2 sensitivity), sampling rate ``q`` (each example is in
a batch independently with probability ``q``), ``T`` steps, target ``(ε, δ)``.
One DP-SGD step on a batch ``B`` is

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
network way"; Murata & Suzuki (2023) "DIFF2: differential private optimization via
gradient differences for nonconvex distributed learning".
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import special

from . import lipschitz as _lp
from ._checks import (
    require_finite,
    require_in_range,
    require_int,
    require_nonnegative,
    require_positive,
)
from .first_order import gd

__all__ = [
    "per_example_grads",
    "per_example_norms",
    "clip_per_example",
    "DPAggregateState",
    "dp_aggregate",
    "dp_sgd",
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


def _check_noise(noise_multiplier) -> None:
    require_positive("noise_multiplier", noise_multiplier)


def _check_clip(clip_norm) -> None:
    require_positive("clip_norm", clip_norm)


def _check_q(sampling_rate) -> None:
    require_in_range("sampling_rate", sampling_rate, 0.0, 1.0, low_inclusive=False)


def _check_delta(delta) -> None:
    require_in_range("delta", delta, 0.0, 1.0, low_inclusive=False, high_inclusive=False)


def _check_orders(orders) -> np.ndarray:
    arr = np.asarray(orders)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"orders must be a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)) or np.any(arr < 2):
        raise ValueError(f"orders must be integers >= 2, got {list(np.asarray(orders))!r}")
    return arr.astype(np.int64)


def _batch_size(grads, name: str = "grads") -> int:
    leaves = jax.tree_util.tree_leaves(grads)
    if not leaves:
        raise ValueError(f"{name} must be a non-empty pytree of arrays")
    sizes = {jnp.shape(leaf)[0] if jnp.ndim(leaf) >= 1 else None for leaf in leaves}
    if None in sizes:
        raise ValueError(f"every leaf of {name} needs a leading batch axis, got a scalar leaf")
    if len(sizes) != 1:
        raise ValueError(f"every leaf of {name} must have the same batch size (axis 0), got {sorted(sizes)}")
    return sizes.pop()


# ---------------------------------------------------------------------------
# per-example gradients, clipping and the DP aggregate
# ---------------------------------------------------------------------------


def per_example_grads(loss: Callable, params: Any, batch: Any) -> Any:
    """``g_i = ∇_θ loss(θ, z_i)`` for every example, stacked on a new leading axis.

    ``batch`` is a pytree whose leaves share the batch size on axis 0; ``loss(params,
    example)`` sees one example (the leaves without their batch axis).  Written as
    ``vmap(grad(loss), in_axes=(None, 0))``."""
    _batch_size(batch, "batch")
    return jax.vmap(jax.grad(loss), in_axes=(None, 0))(params, batch)


def per_example_norms(grads: Any) -> jax.Array:
    """Global ℓ2 norm ``‖g_i‖`` over all leaves, for each example (shape ``(batch,)``)."""
    _batch_size(grads)
    sq = [jnp.sum(jnp.reshape(g, (g.shape[0], -1)) ** 2, axis=1) for g in jax.tree_util.tree_leaves(grads)]
    return jnp.sqrt(sum(sq))


def clip_per_example(grads: Any, clip_norm) -> tuple[Any, jax.Array]:
    """``clip_C(g_i) = g_i · min(1, C/‖g_i‖)`` for each example; returns the clipped
    per-example gradients and the factors ``min(1, C/‖g_i‖)`` (1 for a zero gradient)."""
    _check_clip(clip_norm)
    norms = per_example_norms(grads)
    factor = jnp.minimum(1.0, clip_norm / jnp.maximum(norms, jnp.finfo(norms.dtype).tiny))
    clipped = jax.tree_util.tree_map(
        lambda g: g * jnp.reshape(factor, (-1,) + (1,) * (g.ndim - 1)).astype(g.dtype), grads)
    return clipped, factor


class DPAggregateState(NamedTuple):
    """The PRNG key for the next step's noise."""

    key: jax.Array


def dp_aggregate(clip_norm, noise_multiplier, key, *, clip: bool = True
                 ) -> optax.GradientTransformationExtraArgs:
    """DP-SGD's private mean of per-example gradients (input leaves ``(batch, ...)``):
    ``(Σ_i clip_C(g_i) + N(0, σ²C² I)) / batch``.

    ``clip=False`` skips clipping: use it only when ``C`` is a *proven* bound on every
    per-example gradient norm (e.g. :func:`mlp_grad_bound` for a Lipschitz network,
    Béthune et al. 2024); the guarantee is then only as good as the bound.  The noise
    key is split exactly like :func:`optax.contrib.differentially_private_aggregate`."""
    _check_clip(clip_norm)
    _check_noise(noise_multiplier)

    def init(params):
        del params
        return DPAggregateState(key=key)

    def update(updates, state, params=None, **extra):
        del params, extra
        bsize = _batch_size(updates, "updates")
        if clip:
            clipped, _ = clip_per_example(updates, clip_norm)
        else:
            clipped = updates
        leaves, treedef = jax.tree_util.tree_flatten(clipped)
        new_key, *keys = jax.random.split(state.key, len(leaves) + 1)
        std = clip_norm * noise_multiplier
        noised = [(jnp.sum(g, axis=0) + std * jax.random.normal(k, g.shape[1:], g.dtype)) / bsize
                  for g, k in zip(leaves, keys)]
        return jax.tree_util.tree_unflatten(treedef, noised), DPAggregateState(key=new_key)

    return optax.GradientTransformationExtraArgs(init, update)


def dp_sgd(learning_rate, clip_norm, noise_multiplier, key, *, clip: bool = True
           ) -> optax.GradientTransformationExtraArgs:
    """DP-SGD (Abadi et al., 2016): :func:`dp_aggregate` then a gradient step
    ``θ ← θ − η g̃``.  Feed it per-example gradients (:func:`per_example_grads`)."""
    return optax.chain(dp_aggregate(clip_norm, noise_multiplier, key, clip=clip), gd(learning_rate))


# ---------------------------------------------------------------------------
# RDP accountant
# ---------------------------------------------------------------------------


def rdp_gaussian(noise_multiplier, orders: Sequence[int] = DEFAULT_ORDERS) -> np.ndarray:
    """RDP ``α/(2σ²)`` of one Gaussian mechanism (no subsampling) at each order."""
    _check_noise(noise_multiplier)
    a = _check_orders(orders).astype(float)
    return a / (2.0 * float(noise_multiplier) ** 2)


def rdp_subsampled_gaussian(sampling_rate, noise_multiplier,
                            orders: Sequence[int] = DEFAULT_ORDERS) -> np.ndarray:
    """RDP of one step of the Poisson-subsampled Gaussian mechanism at integer orders:
    ``log(A_α)/(α−1)`` with the binomial expansion of Mironov, Talwar & Zhang (2019)
    (``q = 1`` is the plain Gaussian ``α/(2σ²)``).  Float64, log-sum-exp throughout."""
    _check_q(sampling_rate)
    _check_noise(noise_multiplier)
    a = _check_orders(orders)
    q, s = float(sampling_rate), float(noise_multiplier)
    if q == 1.0:
        return a.astype(float) / (2.0 * s**2)
    out = np.empty(len(a))
    logq, log1mq = math.log(q), math.log1p(-q)
    for j, alpha in enumerate(a):
        k = np.arange(alpha + 1, dtype=float)
        log_terms = (special.gammaln(alpha + 1) - special.gammaln(k + 1) - special.gammaln(alpha - k + 1)
                     + k * logq + (alpha - k) * log1mq + (k * k - k) / (2.0 * s**2))
        out[j] = special.logsumexp(log_terms) / (alpha - 1)
    return out


def rdp_to_epsilon(orders: Sequence[int], rdp, delta, *, conversion: str = "improved"
                   ) -> tuple[float, int]:
    """Best ``(ε, α)`` for target ``δ`` from RDP values at the given orders.

    ``conversion="improved"``: ``ε = r + log(1−1/α) − log(δα)/(α−1)`` (Balle et al., 2020;
    the bound ``dp_accounting`` uses, including its rule ``ε = 0`` when
    ``δ² + e^{−r} > 1``).  ``"classic"``: ``ε = r + log(1/δ)/(α−1)`` (Mironov, 2017)."""
    a = _check_orders(orders)
    r = np.asarray(rdp, dtype=float)
    if r.shape != a.shape:
        raise ValueError(f"rdp must have the same shape as orders {a.shape}, got {r.shape}")
    require_nonnegative("rdp", r)
    _check_delta(delta)
    if conversion not in ("improved", "classic"):
        raise ValueError(f"conversion must be 'improved' or 'classic', got {conversion!r}")
    af = a.astype(float)
    d = float(delta)
    if conversion == "classic":
        eps = r + math.log(1.0 / d) / (af - 1.0)
    else:
        eps = r + np.log1p(-1.0 / af) - np.log(d * af) / (af - 1.0)
        eps = np.where(d**2 + np.expm1(-r) > 0, 0.0, eps)
    i = int(np.argmin(eps))
    return max(0.0, float(eps[i])), int(a[i])


class PrivacySpent(NamedTuple):
    """``(ε, δ)`` after ``steps`` steps, the order ``α`` attaining ε, and the RDP curve."""

    epsilon: float
    delta: float
    order: int
    orders: np.ndarray
    rdp: np.ndarray


def dp_sgd_privacy(noise_multiplier, sampling_rate, steps: int, delta,
                   orders: Sequence[int] = DEFAULT_ORDERS, *, conversion: str = "improved"
                   ) -> PrivacySpent:
    """``(ε, δ)`` of ``steps`` DP-SGD steps with Poisson sampling rate ``q`` and noise
    multiplier ``σ``: ``steps ×`` :func:`rdp_subsampled_gaussian`, then
    :func:`rdp_to_epsilon`.  Full-batch DP-GD is ``sampling_rate=1``."""
    _check_noise(noise_multiplier)
    _check_q(sampling_rate)
    require_int("steps", steps, minimum=1)
    _check_delta(delta)
    a = _check_orders(orders)
    rdp = steps * rdp_subsampled_gaussian(sampling_rate, noise_multiplier, a)
    eps, order = rdp_to_epsilon(a, rdp, delta, conversion=conversion)
    return PrivacySpent(eps, float(delta), order, a, rdp)


def calibrate_noise(target_epsilon, delta, sampling_rate, steps: int,
                    orders: Sequence[int] = DEFAULT_ORDERS, *, rtol: float = 1e-6) -> float:
    """Smallest noise multiplier ``σ`` (to relative tolerance ``rtol``) whose DP-SGD run
    satisfies ``ε(σ) ≤ target_epsilon``; bisection on ``log σ`` (ε decreases in σ)."""
    require_positive("target_epsilon", target_epsilon)
    _check_delta(delta)
    _check_q(sampling_rate)
    require_int("steps", steps, minimum=1)
    require_positive("rtol", rtol)
    a = _check_orders(orders)

    def eps(s):
        return dp_sgd_privacy(s, sampling_rate, steps, delta, a).epsilon

    lo, hi = 1e-2, 1.0
    while eps(hi) > target_epsilon:
        lo, hi = hi, 2.0 * hi
        if hi > 1e6:
            raise ValueError(f"target_epsilon={target_epsilon} is not reachable with sigma <= 1e6")
    while eps(lo) <= target_epsilon and lo > 1e-6:
        lo /= 2.0
    while hi / lo - 1.0 > rtol:
        mid = math.sqrt(lo * hi)
        if eps(mid) <= target_epsilon:
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------------------
# DP without clipping: per-sample gradient bounds of Lipschitz networks
# ---------------------------------------------------------------------------


def param_grad_bound(layer_norms: Sequence[float], bias_norms: Sequence[float], x_norms,
                     *, loss_lipschitz=1.0) -> jax.Array:
    r"""Bound on ‖∇_θ ℓ(f_θ(x), y)‖ for an MLP ``f = W_L σ(⋯σ(W_1x + b_1)⋯) + b_L``
    with ``σ(0) = 0`` and σ 1-Lipschitz (ReLU, tanh), given ``‖W_l‖₂ ≤ s_l``,
    ``‖b_l‖ ≤ β_l`` and a loss that is ``G``-Lipschitz (ℓ2) in the logits.

    With ``H_0 = ‖x‖``, ``H_l = s_l H_{l−1} + β_l`` (a bound on the layer-``l`` input of the
    next layer) and ``D_l = G ∏_{k>l} s_k`` (a bound on ‖∂ℓ/∂z_l‖), each weight gradient
    is the rank-one ``δ_l h_{l−1}ᵀ``, so

        ‖∇_θ ℓ‖² ≤ Σ_l D_l² (H_{l−1}² + 1)

    (Béthune et al., 2024: the parameter-Lipschitz constant from input-Lipschitz ones).
    ``x_norms`` may be an array (one bound per example)."""
    s = [float(v) for v in layer_norms]
    b = [float(v) for v in bias_norms]
    if len(s) != len(b) or not s:
        raise ValueError(f"layer_norms and bias_norms must be non-empty and of equal length, got {len(s)} and {len(b)}")
    require_nonnegative("layer_norms", np.array(s))
    require_nonnegative("bias_norms", np.array(b))
    require_nonnegative("x_norms", x_norms)
    require_positive("loss_lipschitz", loss_lipschitz)
    H = jnp.asarray(x_norms)
    total = jnp.zeros_like(H, dtype=jnp.result_type(H, float))
    L = len(s)
    for l in range(L):
        D = float(loss_lipschitz) * float(np.prod(s[l + 1:]))
        total = total + D**2 * (H**2 + 1.0)
        H = s[l] * H + b[l]
    return jnp.sqrt(total)


def mlp_grad_bound(params, x_norms, *, loss_lipschitz=1.0, num_iters: int = 10) -> jax.Array:
    """:func:`param_grad_bound` at the current weights of an ``optlab.lipschitz`` MLP
    (list of ``(W, b)``), each ``‖W_l‖₂`` replaced by its Gram-iteration UPPER bound
    (:func:`optlab.lipschitz.gram_iteration`), so the result is a guaranteed bound."""
    _lp._check_params(params)
    require_int("num_iters", num_iters, minimum=0)
    s = [float(_lp.gram_iteration(W, num_iters).sigma) for W, _ in params]
    b = [float(jnp.linalg.norm(bb)) for _, bb in params]
    return param_grad_bound(s, b, x_norms, loss_lipschitz=loss_lipschitz)


def project_mlp(params, max_norm=1.0, max_bias=1.0, *, num_iters: int = 8):
    """Project an MLP onto ``{‖W_l‖₂ ≤ max_norm, ‖b_l‖ ≤ max_bias}``: ``W ← W / max(1, β/max_norm)``
    with β the Gram-iteration UPPER bound on ‖W‖₂, ``b ← b · min(1, max_bias/‖b‖)``.
    A post-processing step, so it costs no privacy; jit-able."""
    require_positive("max_norm", max_norm)
    require_nonnegative("max_bias", max_bias)
    require_int("num_iters", num_iters, minimum=0)
    out = []
    for W, b in params:
        beta = _lp._gram(W, num_iters).sigma
        W = W / jnp.maximum(1.0, beta / max_norm)
        nb = jnp.linalg.norm(b)
        b = b * jnp.minimum(1.0, max_bias / jnp.maximum(nb, jnp.finfo(b.dtype).tiny))
        out.append((W, b))
    return out


# ---------------------------------------------------------------------------
# DIFF2: private gradient differences
# ---------------------------------------------------------------------------


class DIFF2Output(NamedTuple):
    """Final parameters, ``‖∇F(θ_t)‖²`` of the full (non-private) objective at every
    iterate ``t = 0 … T`` and ``F(θ_t)``."""

    params: Any
    grad_norm_sq: jax.Array
    loss: jax.Array


def _tree_norm(t):
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(t)))


def diff2(loss: Callable, params0: Any, batch: Any, *, key, num_steps: int, learning_rate: float,
          clip_norm: float, noise_multiplier_grad: float, noise_multiplier_diff: float,
          smoothness: float, restart_every: int, num_clients: int = 1) -> DIFF2Output:
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
    :func:`diff2_privacy`."""
    n = _batch_size(batch, "batch")
    require_int("num_steps", num_steps, minimum=1)
    require_int("restart_every", restart_every, minimum=1)
    require_int("num_clients", num_clients, minimum=1)
    if n % num_clients:
        raise ValueError(f"the batch size {n} must be divisible by num_clients={num_clients}")
    require_positive("learning_rate", learning_rate)
    _check_clip(clip_norm)
    require_positive("noise_multiplier_grad", noise_multiplier_grad)
    require_positive("noise_multiplier_diff", noise_multiplier_diff)
    require_positive("smoothness", smoothness)
    require_finite("params0", params0)
    return _diff2(loss, params0, batch, key, num_steps, learning_rate, clip_norm,
                  noise_multiplier_grad, noise_multiplier_diff, smoothness, restart_every, num_clients)


def _diff2(loss, params0, batch, key, num_steps, lr, C, sg, sd, beta, R, P):
    n = jax.tree_util.tree_leaves(batch)[0].shape[0]
    pgrad = jax.vmap(jax.grad(loss), in_axes=(None, 0))
    full_loss = lambda p: jnp.mean(jax.vmap(loss, in_axes=(None, 0))(p, batch))  # noqa: E731
    tmap = jax.tree_util.tree_map

    def clients_noise(k, like, std):
        # each of the P clients adds N(0, std²/P); the server sees their sum
        leaves, td = jax.tree_util.tree_flatten(like)
        ks = jax.random.split(k, len(leaves))
        noise = [jnp.sum(jax.random.normal(kk, (P,) + x.shape, x.dtype), 0) * std / jnp.sqrt(P)
                 for kk, x in zip(ks, leaves)]
        return jax.tree_util.tree_unflatten(td, noise)

    def client_sums(g):
        # per-client sums of per-example terms, then the server's sum over clients
        return tmap(lambda x: jnp.sum(jnp.sum(x.reshape((P, n // P) + x.shape[1:]), 1), 0), g)

    def step(carry, t):
        p, p_prev, v, k = carry
        k, kn = jax.random.split(k)

        def restart(_):
            g, _f = clip_per_example(pgrad(p, batch), C)
            noise = clients_noise(kn, p, sg * C)
            return tmap(lambda s, z: (s + z) / n, client_sums(g), noise)

        def difference(_):
            dg = tmap(lambda a, b: a - b, pgrad(p, batch), pgrad(p_prev, batch))
            Ct = beta * _tree_norm(tmap(lambda a, b: a - b, p, p_prev))
            Ct = jnp.maximum(Ct, jnp.finfo(Ct.dtype).tiny)
            dg, _f = clip_per_example(dg, Ct)
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


def diff2_privacy(noise_multiplier_grad, noise_multiplier_diff, num_steps: int, restart_every: int,
                  delta, orders: Sequence[int] = DEFAULT_ORDERS) -> PrivacySpent:
    """``(ε, δ)`` of :func:`diff2`: every round is a full-batch Gaussian mechanism
    (sensitivity ``C`` resp. ``C_t`` of the released sum), so the RDP is
    ``α/2 · (T_g/σ_g² + T_d/σ_d²)`` with ``T_g = ⌈T/R⌉`` restarts and ``T_d = T − T_g``."""
    require_positive("noise_multiplier_grad", noise_multiplier_grad)
    require_positive("noise_multiplier_diff", noise_multiplier_diff)
    require_int("num_steps", num_steps, minimum=1)
    require_int("restart_every", restart_every, minimum=1)
    _check_delta(delta)
    a = _check_orders(orders)
    Tg = -(-num_steps // restart_every)
    Td = num_steps - Tg
    rdp = Tg * rdp_gaussian(noise_multiplier_grad, a) + Td * rdp_gaussian(noise_multiplier_diff, a)
    eps, order = rdp_to_epsilon(a, rdp, delta)
    return PrivacySpent(eps, float(delta), order, a, rdp)
