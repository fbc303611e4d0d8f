"""Schedule-free SGD and its evaluation point (chapter 2)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from .. import _checks
from .._types import Array, Int
from ..first_order import (
    ScalarOrSchedule,
    _at,
    _check_finite_scalar,
    _check_in_unit_interval,
    _check_scalar_or_schedule,
    _tagged,
)
from ._common import _tmap


# --------------------------------------------------------------------------- schedule-free SGD
class ScheduleFreeState(NamedTuple):
    """State of :func:`schedule_free_sgd`.

    Attributes:
      count: the number of updates so far (optax's field name).
      z: the SGD sequence ``z_t``.
      x: the averaged sequence ``x_t``; stored only when ``b1 = 0`` (``None`` otherwise: it is
        recovered from ``y`` and ``z``).
      weight_sum: ``Σ_{i≤t} w_i``, the sum of the averaging weights.
      max_learning_rate: ``max_{i≤t} γ_i``, the largest step so far.
      b1: the interpolation ``β``.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    z: Any  # SGD sequence
    x: Any  # averaged sequence; stored only when b1 = 0 (else recovered from y and z)
    weight_sum: jax.Array
    max_learning_rate: jax.Array
    b1: jax.Array


def schedule_free_sgd(
    learning_rate: ScalarOrSchedule = 1.0, b1: float = 0.9, *, weight_lr_power: float = 2.0
) -> optax.GradientTransformationExtraArgs:
    """Schedule-Free SGD (Defazio et al., 2024, "The Road Less Scheduled").

    Three sequences: gradients are taken at ``y_t = (1−β) z_t + β x_t`` (these are
    the ``params``), ``z_{t+1} = z_t − γ_t ∇f(y_t)``, and the evaluation sequence
    ``x_{t+1} = (1 − c_{t+1}) x_t + c_{t+1} z_{t+1}`` with ``c_{t+1} = w_t / Σ_{i≤t} w_i``,
    ``w_t = (max_{i≤t} γ_i)^p``: uniform averaging ``c = 1/(t+1)`` for a constant step.
    Equals ``optax.contrib.schedule_free_sgd(γ, b1=β, weight_lr_power=p)`` (no warm-up),
    including optax's schedule indexing: step ``k`` moves ``z`` with ``γ(k)`` and
    weights the average with ``γ(k+1)``.  As in optax only ``z`` is stored for
    ``β > 0`` and ``x = (y − (1−β) z)/β`` is recovered (one array less of memory
    traffic); ``β = 0`` (plain averaged SGD) stores ``x``.  Read ``x`` with
    :func:`schedule_free_eval_params`.

    Args:
      learning_rate: ``γ > 0`` or a schedule.
      b1: interpolation ``β ∈ [0, 1)``.
      weight_lr_power: exponent ``p`` of the averaging weights, finite.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar.
      ValueError: ``learning_rate ≤ 0``, ``b1`` outside ``[0, 1)`` or a non-finite ``weight_lr_power``.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    if callable(b1):
        raise TypeError("b1 must be a number, got a callable")
    _check_in_unit_interval("b1", b1)
    _check_finite_scalar("weight_lr_power", weight_lr_power)
    store_x = _checks.is_concrete(b1) and float(b1) == 0.0

    def init(params):
        dt = jnp.result_type(*jax.tree_util.tree_leaves(params))
        return ScheduleFreeState(
            jnp.zeros([], jnp.int32),
            params,
            params if store_x else None,
            jnp.zeros([], dt),
            jnp.zeros([], dt),
            jnp.asarray(b1, dt),
        )

    def update(updates, state, params=None, **extra):
        del extra
        _checks.require_update_params("schedule_free_sgd", params)
        # optax's convention: the SGD step uses γ(k) and the averaging weight γ(k+1)
        # (the wrapper counts from 1, the inner SGD from 0); equal for constant γ.
        lr = _at(learning_rate, state.count)
        max_learning_rate = jnp.maximum(state.max_learning_rate, _at(learning_rate, state.count + 1))
        w = max_learning_rate**weight_lr_power
        total = state.weight_sum + w
        c = jnp.where(total > 0, w / jnp.where(total > 0, total, 1.0), 0.0)
        x_prev = state.x if store_x else _tmap(lambda y, zi: (y - (1 - b1) * zi) / b1, params, state.z)
        z = _tmap(lambda zi, g: zi - lr * g, state.z, updates)
        x = _tmap(lambda xi, zi: (1 - c) * xi + c * zi, x_prev, z)
        y = _tmap(lambda xi, zi: b1 * xi + (1 - b1) * zi, x, z)
        out = _tmap(lambda yn, p: (yn - p).astype(p.dtype), y, params)
        new_state = ScheduleFreeState(
            state.count + 1, z, x if store_x else None, total, max_learning_rate, state.b1
        )
        return out, new_state

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "schedule_free_sgd",
        learning_rate,
        b1,
        weight_lr_power,
    )


def schedule_free_eval_params(state: ScheduleFreeState, params: Any) -> Any:
    """The averaged sequence ``x_t`` of :func:`schedule_free_sgd` (where to evaluate),
    from its state and the current ``params`` ``y_t`` (as ``optax.contrib.schedule_free_eval_params``).

    Args:
      state: a :class:`ScheduleFreeState`.
      params: the current parameters ``y_t``.

    Returns:
      ``x_t``, a pytree like ``params``.

    Raises:
      TypeError: ``state`` is not a ScheduleFreeState.
      ValueError: ``params`` does not match the state's shapes.
    """
    if not isinstance(state, ScheduleFreeState):
        raise TypeError(f"state must be a ScheduleFreeState, got {type(state).__name__}")
    if jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(state.z)):
        params = _checks.as_float_array("params", params)  # one array: lists are converted whole
    else:
        params = jax.tree_util.tree_map(lambda p: _checks.as_float_array("params", p), params)
    _checks.require_same_shape("params", params, "state.z", state.z)
    if state.x is not None:
        return state.x
    b1 = state.b1
    return _tmap(lambda y, zi: (y - (1 - b1) * zi) / b1, params, state.z)
