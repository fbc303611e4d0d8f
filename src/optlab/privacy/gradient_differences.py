"""DIFF2: differentially private optimization through gradient differences (chapter 17)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from .._checks import (
    require_callable,
    require_int,
    require_key,
)
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import (
    DEFAULT_ORDERS,
    _check_batch,
    _check_delta,
    _check_orders,
    _float_tree,
    _host_positive,
    _jax_scalar,
)
from .accountant import PrivacySpent, rdp_gaussian, rdp_to_epsilon
from .clipping import _clip

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
