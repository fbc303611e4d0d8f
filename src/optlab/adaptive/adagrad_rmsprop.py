"""AdaGrad, AdaGrad-Norm and RMSProp as optax transformations (chapter 4)."""

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
    _require_scalar,
    _tagged,
)
from ._common import _check_beta, _check_nonneg, _sqnorm, _step, _tmap


# --------------------------------------------------------------------------- AdaGrad
class AdaGradState(NamedTuple):
    """State of :func:`adagrad`.

    Attributes:
      count: the number of updates so far (optax's field name).
      sum_of_squares: the per-coordinate sums of squared gradients (with the initial
        accumulator value), a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    sum_of_squares: Any


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> optax.GradientTransformationExtraArgs:
    """Diagonal AdaGrad (Duchi, Hazan and Singer, 2011), optax's conventions.

    ``s_k = s0 + Σ_{i≤k} g_i²`` per coordinate, ``x_{k+1} = x_k − η g_k / √(s_k + ε)``
    (coordinates with ``s_k = 0`` do not move).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      initial_accumulator_value: ``s0 ≥ 0``.
      eps: ``ε ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.adagrad``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_nonneg("initial_accumulator_value", initial_accumulator_value)
    _check_nonneg("eps", eps)

    def init(params):
        return AdaGradState(
            jnp.zeros([], jnp.int32), _tmap(lambda p: jnp.full_like(p, initial_accumulator_value), params)
        )

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        s = _tmap(lambda g, t: g**2 + t, updates, state.sum_of_squares)
        d = _tmap(lambda g, t: g * jnp.where(t > 0, jax.lax.rsqrt(t + eps), 0.0), updates, s)
        return _tmap(lambda di, g: _step(eta, di, g), d, updates), AdaGradState(state.count + 1, s)

    return _tagged(
        optax.GradientTransformationExtraArgs(init, update),
        "adagrad",
        learning_rate,
        initial_accumulator_value,
        eps,
    )


class AdaGradNormState(NamedTuple):
    """State of :func:`adagrad_norm`.

    Attributes:
      count: the number of updates so far (optax's field name).
      b_squared: ``b_k² = b0² + Σ_{i≤k} ‖g_i‖²``.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    b_squared: jax.Array


def adagrad_norm(learning_rate: ScalarOrSchedule, b0: float = 1e-2) -> optax.GradientTransformationExtraArgs:
    """Scalar ("norm") AdaGrad: ``b_k² = b0² + Σ_{i≤k} ‖g_i‖²``, ``x_{k+1} = x_k − η g_k / b_k``.

    Adapts one step size to the gradient history (Ward, Wu and Bottou, 2019;
    Streeter and McMahan, 2010).  ``b0 > 0`` guards the first step.

    Args:
      learning_rate: ``η > 0`` or a schedule.
      b0: ``b0 > 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _require_scalar("b0", b0)
    _checks.require_positive("b0", b0)

    def init(params):
        dt = jnp.result_type(*jax.tree_util.tree_leaves(params))
        return AdaGradNormState(jnp.zeros([], jnp.int32), jnp.asarray(b0**2, dt))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        b2 = state.b_squared + _sqnorm(updates)
        scale = eta / jnp.sqrt(b2)
        return _tmap(lambda g: (-scale * g).astype(g.dtype), updates), AdaGradNormState(state.count + 1, b2)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "adagrad_norm", learning_rate, b0)


# --------------------------------------------------------------------------- RMSProp
class RMSPropState(NamedTuple):
    """State of :func:`rmsprop`.

    Attributes:
      count: the number of updates so far (optax's field name).
      nu: the exponential moving average of squared gradients, a pytree like the params.
    """

    count: Int[Array, ""]  # type: ignore[assignment]  # optax's field name; shadows tuple.count
    nu: Any


def rmsprop(
    learning_rate: ScalarOrSchedule, decay: float = 0.9, eps: float = 1e-8
) -> optax.GradientTransformationExtraArgs:
    """RMSProp (Tieleman and Hinton, 2012): ``ν_k = ρ ν_{k−1} + (1−ρ) g_k²``,
    ``x_{k+1} = x_k − η g_k / √(ν_k + ε)`` with ``ν_0 = 0`` (optax's defaults).

    Args:
      learning_rate: ``η > 0`` or a schedule.
      decay: ``ρ ∈ [0, 1)``.
      eps: ``ε ≥ 0``.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` (equal to ``optax.rmsprop``).

    Raises:
      TypeError: a hyper-parameter is not a real scalar (or, for ``learning_rate``, a callable).
      ValueError: ``learning_rate ≤ 0``, a beta/decay outside ``[0, 1)``, a negative ``eps``/decay constant.
    """
    _check_scalar_or_schedule("learning_rate", learning_rate)
    _check_beta("decay", decay)
    _check_nonneg("eps", eps)

    def init(params):
        return RMSPropState(jnp.zeros([], jnp.int32), _tmap(jnp.zeros_like, params))

    def update(updates, state, params=None, **extra):
        del params, extra
        eta = _at(learning_rate, state.count)
        nu = _tmap(lambda g, n: (1 - decay) * g**2 + decay * n, updates, state.nu)
        d = _tmap(lambda g, n: g * jax.lax.rsqrt(n + eps), updates, nu)
        return _tmap(lambda di, g: _step(eta, di, g), d, updates), RMSPropState(state.count + 1, nu)

    return _tagged(optax.GradientTransformationExtraArgs(init, update), "rmsprop", learning_rate, decay, eps)
