"""Nesterov's method with adaptive (function or gradient) restart (chapter 2)."""

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
    _check_scalar_or_schedule,
    _tagged,
)
from ._common import _tmap, _vdot


# --------------------------------------------------------------------------- adaptive restart
class RestartState(NamedTuple):
    """State of :func:`nesterov_restart`.

    Attributes:
      count: the total number of updates (optax's field name).
      since_restart: ``j``, the steps since the last restart (momentum ``β_j = j/(j+3)``).
      x: ``x_k``, the gradient-step sequence (the params are ``y_k``).
      last_value: the objective value passed to the last update (``inf`` before the first, or
        when no value is passed).
      restarts: the number of restarts so far.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # total steps; optax's field name shadows tuple.count
    since_restart: jax.Array  # j, momentum β_j = j/(j+3)
    x: Any  # x_k (the gradient-step sequence); params are y_k
    last_value: jax.Array
    restarts: jax.Array  # number of restarts so far


def nesterov_restart(
    learning_rate: ScalarOrSchedule, restart: str = "gradient"
) -> optax.GradientTransformationExtraArgs:
    """Nesterov's method ``x_{k+1} = y_k − η∇f(y_k)``, ``y_{k+1} = x_{k+1} + β_j (x_{k+1} − x_k)``
    with ``β_j = j/(j+3)`` and adaptive restart (O'Donoghue and Candès, 2015).

    ``j`` counts steps since the last restart; a restart sets ``j = 0`` (no momentum).

    Args:
      learning_rate: ``η`` (use ``1/L``).
      restart: ``"gradient"``: restart when ``⟨∇f(y_k), x_{k+1} − x_k⟩ > 0``
        (the momentum points uphill); ``"function"``: restart when the objective
        at the gradient point increased, ``f(y_k) > f(y_{k−1})`` (needs ``value=``;
        O'Donoghue–Candès test ``f(x_k)``, we test the value the runner supplies);
        ``"none"``: plain Nesterov with ``β_k = k/(k+3)``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (``update`` needs ``params``).

    Raises:
      TypeError: ``learning_rate`` is not a real scalar or a callable.
      ValueError: ``learning_rate ≤ 0`` or an unknown ``restart``.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    if not isinstance(restart, str) or restart not in ("gradient", "function", "none"):
        raise ValueError(f"restart must be 'gradient', 'function' or 'none', got {restart!r}")

    def init(params):
        return RestartState(
            jnp.zeros([], jnp.int32),
            jnp.zeros([], jnp.int32),
            params,
            jnp.asarray(jnp.inf),
            jnp.zeros([], jnp.int32),
        )

    def update(updates, state, params=None, *, value=None, **extra):
        del extra
        _checks.require_update_params("nesterov_restart", params)
        if restart == "function":
            _checks.require_update_value("nesterov_restart with restart='function'", value)
        eta = _at(learning_rate, state.count)
        x_new = _tmap(lambda y, g: y - eta * g, params, updates)
        if restart == "gradient":
            do = _vdot(updates, _tmap(jnp.subtract, x_new, state.x)) > 0
        elif restart == "function":
            do = value > state.last_value
        else:
            do = jnp.asarray(False)
        j = jnp.where(do, 0, state.since_restart)
        beta = j / (j + 3.0)
        y_new = _tmap(lambda xn, x: xn + beta * (xn - x), x_new, state.x)
        out = _tmap(lambda yn, y: (yn - y).astype(y.dtype), y_new, params)
        last = jnp.asarray(value if value is not None else jnp.inf, dtype=jnp.result_type(float))
        return out, RestartState(state.count + 1, j + 1, x_new, last, state.restarts + do.astype(jnp.int32))

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "nesterov_restart", learning_rate, restart
    )
