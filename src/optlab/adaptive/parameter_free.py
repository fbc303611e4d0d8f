"""DoG, a parameter-free step size, as an optax transformation (chapter 4)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from .._types import Array, Int
from ..first_order import (
    _check_flag,
    _check_scalar_or_schedule,
    _require_scalar,
    _tagged,
)
from ._common import _check_nonneg, _sqnorm, _tmap


# --------------------------------------------------------------------------- DoG
class DoGState(NamedTuple):
    """State of :func:`dog`.

    Attributes:
      count: the number of updates so far (optax's field name).
      init_params: the starting point ``x_0``.
      max_dist: ``r̄_k``, the largest distance ``‖x_i − x_0‖`` so far (at least ``r_ε``).
      sum_sq_grads: ``Σ_{i≤k} ‖g_i‖²``.
      last_learning_rate: DoG's step ``r̄_k/√(Σ‖g_i‖² + eps)`` of the last update, before the
        ``learning_rate`` factor.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    init_params: Any
    max_dist: jax.Array  # r̄_k
    sum_sq_grads: jax.Array  # Σ‖g_i‖²
    last_learning_rate: jax.Array


def dog(
    learning_rate: float = 1.0, r_epsilon: float = 1e-6, *, relative: bool = True, eps: float = 1e-8
) -> optax.GradientTransformationExtraArgs:
    """DoG, "Distance over Gradients" (Ivgi, Hinder and Carmon, 2023).

    ``η_k = r̄_k / √(Σ_{i≤k} ‖g_i‖² + ε)`` with ``r̄_k = max(r_ε, max_{i≤k} ‖x_i − x_0‖)``;
    the update is ``−(learning_rate) η_k g_k``.  With ``relative=True`` (the paper's
    choice) ``r_ε = r_epsilon · (1 + ‖x_0‖)``.  Equals
    ``optax.contrib.dog(learning_rate, init_step=("heuristic", r_epsilon))``
    (``("distance", r_epsilon)`` for ``relative=False``).  Needs ``params``.

    Args:
      learning_rate: multiplier ``> 0`` (a number).
      r_epsilon: initial distance scale ``> 0``.
      relative: scale ``r_epsilon`` by ``1 + ‖x_0‖`` (a bool).
      eps: ``≥ 0``, added to the gradient sum.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a non-numeric hyper-parameter or a non-bool ``relative``.
      ValueError: ``learning_rate ≤ 0``, ``r_epsilon ≤ 0`` or ``eps < 0``.
    """
    if callable(learning_rate):
        raise TypeError("learning_rate must be a number for dog, got a callable")
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _require_scalar("r_epsilon", r_epsilon)
    _checks.require_positive("r_epsilon", r_epsilon)
    _check_flag("relative", relative)
    _check_nonneg("eps", eps)

    def init(params):
        dt = jnp.result_type(*jax.tree_util.tree_leaves(params))
        r = r_epsilon * (1 + jnp.sqrt(_sqnorm(params))) if relative else jnp.asarray(r_epsilon)
        return DoGState(
            jnp.zeros([], jnp.int32), params, jnp.asarray(r, dt), jnp.zeros([], dt), jnp.zeros([], dt)
        )

    def update(updates, state, params=None, **extra):
        del extra
        _checks.require_update_params("dog", params)
        dist = jnp.sqrt(_sqnorm(_tmap(jnp.subtract, state.init_params, params)))
        r = jnp.maximum(state.max_dist, dist)
        G = state.sum_sq_grads + _sqnorm(updates)
        eta = r / jnp.sqrt(G + eps)
        new = _tmap(lambda g: (-learning_rate * eta * g).astype(g.dtype), updates)
        return new, DoGState(state.count + 1, state.init_params, r, G, eta)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "dog", learning_rate, r_epsilon, relative, eps
    )
