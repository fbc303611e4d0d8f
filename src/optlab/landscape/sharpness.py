r"""Hessians of small networks, sharpness and the edge of stability (chapter 13).

Sharpness ``λ_max(∇²L(θ))`` of a loss ``L`` of a parameter pytree ``θ``,
computed densely (``jax.hessian`` on the flattened parameters) or by power
iteration on Hessian-vector products.

Gradient descent with step ``η`` on a loss whose sharpness rises to ``2/η`` and hovers there
is at the edge of stability.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from .._checks import (
    as_float_array,
    require_callable,
    require_int,
    require_key,
    require_loss_params,
    require_positive,
)
from .._types import Array, Float, Int, PRNGKeyArray
from ._common import _scalar

__all__ = [
    "mlp_init",
    "mlp_batch_apply",
    "hessian_matrix",
    "hessian_spectrum",
    "top_eigenvalue",
    "EoSOutput",
    "gd_with_sharpness",
]


def mlp_init(
    sizes: Sequence[int], *, key: PRNGKeyArray, scale: float = 1.0
) -> list[tuple[Float[Array, "out in"], Float[Array, " out"]]]:
    """Weights ``W_l ~ N(0, scale²/fan_in)`` and zero biases for an MLP with layer ``sizes``.

    Args:
      sizes: layer widths ``(in, hidden…, out)``, at least two, each ``>= 1``.
      key: a JAX PRNG key (keyword-only).
      scale: the weight scale, ``> 0``.

    Returns:
      A list of ``(W_l, b_l)`` pairs, ``W_l`` of shape ``(fan_out, fan_in)``.

    Raises:
      TypeError: integer seed, ``sizes`` not a sequence of integers. ValueError: fewer than two
      sizes, a size below 1, ``scale ≤ 0``.
    """
    require_key("key", key)
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer sizes, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {list(sizes)}")
    for s in sizes:
        require_int("sizes[i]", s, minimum=1)
    _scalar("scale", scale)
    require_positive("scale", scale)
    keys = jax.random.split(key, len(sizes) - 1)
    dtype = jnp.result_type(float)
    return [
        (scale * jax.random.normal(k, (m, n), dtype) / jnp.sqrt(n), jnp.zeros(m, dtype))
        for k, n, m in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp_batch_apply(
    params: Sequence[tuple[Float[Array, "out in"], Float[Array, " out"]]],
    x: Float[Array, "N in"],
    activation: Callable[[Array], Array] = jnp.tanh,
) -> Float[Array, "N out"]:
    """Outputs (``N × out``) of the MLP on a batch of inputs ``x`` (``N × in``, one example per
    row), hidden activation a callable (default ``tanh``), linear last layer.
    (:func:`optlab.lipschitz.mlp_apply` evaluates one input vector with a named activation.)

    Args:
      params: a non-empty list of ``(W, b)`` pairs (see :func:`mlp_init`).
      x: inputs ``N × in``, one example per row.
      activation: the hidden activation, a callable.

    Returns:
      The outputs, ``N × out``.

    Raises:
      TypeError: ``params`` not a non-empty sequence of ``(W, b)`` pairs, non-numeric input,
        ``activation`` not callable.
      ValueError: ``x`` not 2-D or its width not the first layer's fan-in, NaN/inf in ``x``.
    """
    if (
        isinstance(params, (str, bytes))
        or not isinstance(params, (list, tuple))
        or not params
        or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in params)
    ):
        raise TypeError("params must be a non-empty list of (W, b) pairs (see mlp_init)")
    require_callable("activation", activation)
    x = as_float_array("x", x, ndim=2)
    W0 = params[0][0]
    if jnp.ndim(W0) != 2 or jnp.shape(W0)[1] != x.shape[1]:
        raise ValueError(f"x must have shape (N, {jnp.shape(W0)[-1]}) for these params, got {x.shape}")
    return _mlp_apply(params, x, activation)


def _mlp_apply(params, x, activation=jnp.tanh):
    h = x
    for W, b in params[:-1]:
        h = activation(h @ W.T + b)
    W, b = params[-1]
    return h @ W.T + b


@functools.partial(jax.jit, static_argnames=("loss_fn",))
def _hessian(loss_fn, params):
    flat, unravel = ravel_pytree(params)
    H = jax.hessian(lambda w: loss_fn(unravel(w)))(flat)
    return 0.5 * (H + H.T)


def hessian_matrix(loss_fn: Callable[[Any], Array], params: Any) -> Float[Array, "P P"]:
    """Dense Hessian of ``loss_fn`` at ``params`` in the flattened coordinates
    (``ravel_pytree`` order), shape ``(P, P)``. For small models only. Compiled once per
    ``loss_fn`` (static, hashed by identity: reuse the same function object) and shape.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.

    Returns:
      The symmetrised Hessian ``∇²L(θ)``, shape ``(P, P)`` with ``P`` the number of parameters.

    Raises:
      TypeError: ``loss_fn`` not callable, ``params`` not floating arrays.
      ValueError: empty ``params`` or a NaN/inf in them.
    """
    require_loss_params(loss_fn, params)
    return _hessian(loss_fn, params)


def hessian_spectrum(loss_fn: Callable[[Any], Array], params: Any) -> Float[Array, " P"]:
    """All Hessian eigenvalues, ascending (``eigvalsh`` of :func:`hessian_matrix`).

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.

    Returns:
      The ``P`` eigenvalues, ascending.

    Raises:
      TypeError, ValueError: as :func:`hessian_matrix`.
    """
    return jnp.linalg.eigvalsh(hessian_matrix(loss_fn, params))


# region: landscape-power-iteration
def _hvp_impl(loss_fn, params, v):
    # ∇²L(θ)v by forward-over-reverse (the public one is optlab.second_order.hvp)
    return jax.jvp(jax.grad(loss_fn), (params,), (v,))[1]


def _power_iteration(loss_fn, params, v0, num_steps):
    flat, unravel = ravel_pytree(params)

    def mv(u):
        return ravel_pytree(_hvp_impl(loss_fn, params, unravel(u)))[0]

    def body(u, _):
        w = mv(u)
        return w / jnp.linalg.norm(w), None

    u = v0 / jnp.linalg.norm(v0)
    u, _ = jax.lax.scan(body, u, None, length=num_steps)
    return jnp.vdot(u, mv(u)), u


# endregion: landscape-power-iteration


def top_eigenvalue(
    loss_fn: Callable[[Any], Array], params: Any, *, key: PRNGKeyArray, num_steps: int = 100
) -> tuple[Float[Array, ""], Float[Array, " P"]]:
    """Power iteration on Hessian-vector products: returns ``(uᵀ∇²L u, u)`` with
    ``u`` the final unit vector (flattened). It converges to the eigenvalue of
    largest *modulus*, which is the sharpness whenever ``λ_max > |λ_min|``.
    Compiled once per ``loss_fn`` (static), shape and ``num_steps`` (power iterations).

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the point ``θ``, a pytree of finite floating arrays.
      key: a JAX PRNG key for the random start (keyword-only).
      num_steps: number of power iterations, ``>= 1``.

    Returns:
      ``(λ, u)``: the Rayleigh quotient ``uᵀ∇²L u`` and the unit vector ``u``, shape ``(P,)``.

    Raises:
      TypeError: ``loss_fn`` not callable, integer seed, non-integer ``num_steps``.
      ValueError: empty or non-finite ``params``, ``num_steps < 1``.
    """
    require_loss_params(loss_fn, params)
    require_key("key", key)
    require_int("num_steps", num_steps, minimum=1)
    return _top_eigenvalue(loss_fn, params, key, num_steps)


@functools.partial(jax.jit, static_argnames=("loss_fn", "num_steps"))
def _top_eigenvalue(loss_fn, params, key, num_steps):
    flat, _ = ravel_pytree(params)
    v0 = jax.random.normal(key, flat.shape, flat.dtype)
    return _power_iteration(loss_fn, params, v0, num_steps)


class EoSOutput(NamedTuple):
    """Full-batch GD with sharpness tracking (:func:`gd_with_sharpness`).

    Attributes:
      params: the final parameters (the pytree of the start).
      losses: ``(num_steps,)`` loss before each step.
      steps: ``(C,)`` steps at which the sharpness was measured (``0, record_every, …``, before
        each block of ``record_every`` steps).
      sharpness: ``(C,)`` top Hessian eigenvalue by power iteration.
    """

    params: Any
    losses: Float[Array, " num_steps"]  # (num_steps,) loss before each step
    steps: Int[Array, " C"]  # (C,) steps at which sharpness was measured
    sharpness: Float[Array, " C"]  # (C,) top Hessian eigenvalue by power iteration


def gd_with_sharpness(
    loss_fn: Callable[[Any], Array],
    params: Any,
    *,
    learning_rate: float,
    num_steps: int,
    key: PRNGKeyArray,
    record_every: int = 10,
    power_num_steps: int = 20,
) -> EoSOutput:
    """Full-batch GD ``θ ← θ − η∇L(θ)`` (``η = learning_rate``); every ``record_every`` steps the
    sharpness is estimated by ``power_num_steps`` power iterations on HVPs, warm-started from the
    previous eigenvector (so a few iterations suffice). ``learning_rate`` may be
    traced (``vmap`` over a grid of step sizes). Compiled once per ``loss_fn`` (static),
    shape and integer configuration.

    Args:
      loss_fn: the scalar loss ``L`` of a parameter pytree.
      params: the start ``θ_0``, a pytree of finite floating arrays.
      learning_rate: the step ``η > 0`` (keyword-only).
      num_steps: number of GD steps, a multiple of ``record_every`` (keyword-only).
      key: a JAX PRNG key for the first power-iteration vector (keyword-only).
      record_every: steps between sharpness measurements, ``>= 1``.
      power_num_steps: power iterations per measurement, ``>= 1``.

    Returns:
      An :class:`EoSOutput`.

    Raises:
      TypeError: ``loss_fn`` not callable, integer seed, non-integer counts.
      ValueError: non-finite/empty ``params``, ``learning_rate ≤ 0``, counts below 1,
        ``num_steps`` not a multiple of ``record_every``.
    """
    require_loss_params(loss_fn, params)
    require_key("key", key)
    _scalar("learning_rate", learning_rate)
    require_positive("learning_rate", learning_rate)
    require_int("num_steps", num_steps, minimum=1)
    require_int("record_every", record_every, minimum=1)
    require_int("power_num_steps", power_num_steps, minimum=1)
    if num_steps % record_every:
        raise ValueError(f"num_steps ({num_steps}) must be a multiple of record_every ({record_every})")
    return _gd_with_sharpness(loss_fn, params, learning_rate, num_steps, key, record_every, power_num_steps)


@functools.partial(jax.jit, static_argnames=("loss_fn", "num_steps", "record_every", "power_num_steps"))
def _gd_with_sharpness(loss_fn, params, learning_rate, num_steps, key, record_every, power_num_steps):
    value_and_grad = jax.value_and_grad(loss_fn)
    flat, _ = ravel_pytree(params)
    u0 = jax.random.normal(key, flat.shape, flat.dtype)

    def step(p, _):
        val, g = value_and_grad(p)
        return jax.tree_util.tree_map(lambda x, gx: x - learning_rate * gx, p, g), val

    def block(carry, _):
        p, u = carry
        lam, u = _power_iteration(loss_fn, p, u, power_num_steps)
        p, vals = jax.lax.scan(step, p, None, length=record_every)
        return (p, u), (vals, lam)

    (params, _), (losses, sharp) = jax.lax.scan(block, (params, u0), None, length=num_steps // record_every)
    steps = record_every * jnp.arange(num_steps // record_every)
    return EoSOutput(params, losses.reshape(-1), steps, sharp)
