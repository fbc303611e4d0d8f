"""The heavy ball with Polyak steps (chapter 2)."""

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
    _check_momentum,
    _check_positive_or_inf,
    _tagged,
)
from ._common import _tmap, _vdot


# --------------------------------------------------------------------------- Polyak + momentum
class PolyakMomentumState(NamedTuple):
    """State of :func:`polyak_heavy_ball`.

    Attributes:
      count: the number of updates so far (optax's field name).
      prev_params: ``x_{k−1}`` (a pytree like the params).
      last_learning_rate: the Polyak-type step ``α_k`` of the last update (0 before the first).
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    prev_params: Any  # x_{k−1}
    last_learning_rate: jax.Array


def polyak_heavy_ball(
    f_star: float = 0.0, momentum: ScalarOrSchedule = 0.9, *, max_learning_rate: float = float("inf")
) -> optax.GradientTransformationExtraArgs:
    """Heavy ball ``x_{k+1} = x_k − α_k g_k + β (x_k − x_{k−1})`` with a Polyak-type step.

    ``α_k = [f(x_k) − f* + β ⟨g_k, x_k − x_{k−1}⟩]_+ / ‖g_k‖²`` minimises the
    convexity upper bound on ``‖x_{k+1} − x*‖²`` over ``α`` (the recipe of Wang,
    Johansson and Zhang, 2023, applied to heavy ball); with ``β = 0`` it is
    Polyak's step.  Needs ``value=f(x_k)`` and ``params``.

    Args:
      f_star: optimal value (or a lower bound), finite.
      momentum: ``β ∈ [0, 1)`` or a schedule.
      max_learning_rate: cap on ``α_k``, ``> 0`` (``inf`` allowed).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar.
      ValueError: ``f_star`` not finite, ``momentum`` outside ``[0, 1)``, ``max_learning_rate ≤ 0``.
    """
    _check_finite_scalar("f_star", f_star)
    _check_momentum(momentum)
    _check_positive_or_inf("max_learning_rate", max_learning_rate)

    def init(params):
        return PolyakMomentumState(jnp.zeros([], jnp.int32), params, jnp.zeros([]))

    def update(updates, state, params=None, *, value=None, **extra):
        del extra
        _checks.require_update_value("polyak_heavy_ball", value)
        _checks.require_update_params("polyak_heavy_ball", params)
        beta = _at(momentum, state.count)
        d = _tmap(jnp.subtract, params, state.prev_params)
        sq = _vdot(updates, updates)
        num = jnp.maximum(value - f_star + beta * _vdot(updates, d), 0.0)
        alpha = jnp.minimum(jnp.where(sq > 0, num / jnp.where(sq > 0, sq, 1.0), 0.0), max_learning_rate)
        out = _tmap(lambda g, di: (-alpha * g + beta * di).astype(g.dtype), updates, d)
        return out, PolyakMomentumState(state.count + 1, params, alpha)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "polyak_heavy_ball",
        f_star,
        momentum,
        max_learning_rate,
    )
