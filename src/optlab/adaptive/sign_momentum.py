"""Lion, the sign-momentum optimizer, as an optax transformation (chapter 4)."""

from __future__ import annotations

from typing import Any, NamedTuple

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
from ._common import _check_beta, _check_nonneg, _is_zero, _step, _tmap


# --------------------------------------------------------------------------- Lion
class LionState(NamedTuple):
    """State of :func:`lion`.

    Attributes:
      count: the number of updates so far (optax's field name).
      mu: the momentum ``m_k``, a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    mu: Any


def lion(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.99, weight_decay: float = 1e-3
) -> optax.GradientTransformationExtraArgs:
    """Lion (Chen et al., 2023): ``c = sign(β1 m + (1−β1) g)``, ``m ← β2 m + (1−β2) g``,
    ``x_{k+1} = x_k − η (c + λ x_k)``.

    The sign is steepest descent in ℓ∞ (see :func:`lmo`); with ``λ > 0`` Lion
    solves ``min f`` subject to ``‖x‖_∞ ≤ 1/λ`` (Chen, Liu, Liang and Liu, 2024).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b1, b2: ``∈ [0, 1)``.
      weight_decay: ``λ ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.lion``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_beta("b1", b1)
    _check_beta("b2", b2)
    _check_nonneg("weight_decay", weight_decay)

    no_wd = _is_zero(weight_decay)

    def init(params):
        return LionState(jnp.zeros([], jnp.int32), _tmap(jnp.zeros_like, params))

    def update(updates, state, params=None, **extra):
        del extra
        if not no_wd:
            _checks.require_update_params("lion with weight_decay", params)
        eta = _at(learning_rate, state.count)
        c = _tmap(lambda g, m: jnp.sign(b1 * m + (1 - b1) * g), updates, state.mu)
        mu = _tmap(lambda g, m: b2 * m + (1 - b2) * g, updates, state.mu)
        if not no_wd:
            c = _tmap(lambda ci, p: ci + weight_decay * p, c, params)
        return _tmap(lambda ci, g: _step(eta, ci, g), c, updates), LionState(state.count + 1, mu)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update), "lion", learning_rate, b1, b2, weight_decay
    )
